#include "cmd/cmd.h"

int sb_cmd_unlock(struct sb_vault **out, const char *path,
		  const struct sb_pass_src *src)
{
	struct sb_vault *v;
	char *pass = NULL;
	size_t len = 0;
	int rc;

	if ((rc = sb_vault_open(&v, path)))
		return sb_error("%s", sb_err_msg(rc));
	if ((rc = sb_pass_read(&pass, &len, src, "Passphrase: ", 0))) {
		sb_vault_free(v);
		return rc;
	}
	rc = sb_vault_unlock(v, pass, len);
	sb_pass_free(pass, len);
	if (rc) {
		sb_error("%s", sb_err_msg(rc));
		sb_vault_free(v);
		return 1;
	}
	*out = v;
	return 0;
}

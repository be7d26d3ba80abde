#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/fileio.h"
#include "cmd/keys.h"
#include "crypto/crypto.h"
#include "crypto/recovery.h"
#include "crypto/sign.h"

void sb_keys_kdf_params(struct sb_kdf_params *p)
{
	const char *env = getenv("SEALBOX_KDF");

	sb_kdf_default(p);
	if (env && !strcmp(env, "min")) {
		p->time = SB_KDF_MIN_TIME;
		p->mem_kib = SB_KDF_MIN_MEM_KIB;
		p->lanes = 1;
	}
}

int sb_keys_store(const char *vault, const struct sb_device_keys *dev,
		  const char *pass, size_t passlen, int replace)
{
	struct sb_kdf_params kdf;
	char dir[PATH_MAX], path[PATH_MAX];
	uint8_t *sealed = NULL;
	size_t len;
	int rc;

	snprintf(dir, sizeof(dir), "%s/" SB_VAULT_STATE, vault);
	snprintf(path, sizeof(path), "%s/" SB_VAULT_KEYFILE, vault);
	if ((rc = sb_mkdirs(dir, 0700)) || (chmod(dir, 0700) && (rc = -errno)))
		return rc;
	sb_keys_kdf_params(&kdf);
	if ((rc = sb_keyfile_seal(&sealed, &len, dev, &kdf, pass, passlen)))
		return rc;
	rc = replace ? sb_file_replace(path, sealed, len, 0600)
		     : sb_file_create(path, sealed, len, 0600);
	free(sealed);
	return rc;
}

static int sign_cb(char **armor, const void *buf, size_t len, void *ctx)
{
	const struct sb_device_keys *dev = ctx;

	return sb_sshsig_sign(armor, dev->sign, "git", buf, len);
}

int sb_keys_commit(struct sb_repo *repo, char oid[SB_OID_HEX],
		   const char *message, const struct sb_device_keys *dev)
{
	char email[SB_DEVICE_NAME_MAX + 16];

	snprintf(email, sizeof(email), "%s@sealbox", dev->name);
	return sb_repo_commit_all(repo, oid, message, dev->name, email,
				  sign_cb, (void *)dev);
}

static const char keep_safe[] =
	"Keep this recovery key safe and offline (print it, store it in a\n"
	"password manager). It enrols new devices and recovers the vault if\n"
	"every device is lost. It is shown only once.\n";

int sb_recovery_show(const uint8_t *secret, const char *file,
		     const char *vault)
{
	char text[SB_RECOVERY_TEXT + 2];
	int rc = 0;

	sb_recovery_format(text, secret);
	if (file) {
		size_t n = strlen(text);

		text[n] = '\n';
		if ((rc = sb_file_create(file, text, n + 1, 0600)))
			rc = sb_error("cannot write the recovery key: %s",
				      sb_err_msg(rc));
		else
			fprintf(stderr, "Created %s.\nThe recovery key is in %s.\n%s",
				vault, file, keep_safe);
	} else {
		fprintf(stderr, "Created %s.\n\nRecovery key:\n\n    %s\n\n%s",
			vault, text, keep_safe);
	}
	sb_wipe(text, sizeof(text));
	return rc;
}

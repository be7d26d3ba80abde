#include <getopt.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/keys.h"

static const char passwd_usage[] =
	"passwd [--passphrase-file OLD | --passphrase-fd N] "
	"[--new-passphrase-file NEW | --new-passphrase-fd N] VAULT";

static int parse(int argc, char **argv, struct sb_pass_src *old,
		 struct sb_pass_src *new, const char **vault)
{
	static const struct option longopts[] = {
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "new-passphrase-file", required_argument, NULL, 'n' },
		{ "new-passphrase-fd", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': old->file = optarg; break;
		case 'n': new->file = optarg; break;
		case 'P':
			if (sb_parse_fd(&old->fd, optarg))
				return 2;
			break;
		case 'N':
			if (sb_parse_fd(&new->fd, optarg))
				return 2;
			break;
		default: return sb_usage(passwd_usage);
		}
	}
	if (optind != argc - 1)
		return sb_usage(passwd_usage);
	*vault = argv[optind];
	return 0;
}

int sb_cmd_passwd(int argc, char **argv)
{
	struct sb_pass_src old = SB_PASS_SRC_INIT, new = SB_PASS_SRC_INIT;
	struct sb_vault *v = NULL;
	const char *vault = NULL;
	char *pass = NULL;
	size_t len = 0;
	int rc;

	if ((rc = parse(argc, argv, &old, &new, &vault)))
		return rc;
	if ((rc = sb_cmd_unlock(&v, vault, &old)))
		return rc;
	if ((rc = sb_pass_read(&pass, &len, &new, "New passphrase: ", 1)))
		goto out;
	/* Only the key file changes: the same keys, sealed again. */
	if ((rc = sb_keys_store(v->path, v->keys, pass, len, 1)))
		rc = sb_error("cannot change the passphrase: %s; the old "
			      "passphrase still works", sb_err_msg(rc));
	else
		fprintf(stderr, "Passphrase changed for device %s of %s.\n",
			v->keys->name, v->path);
out:
	sb_pass_free(pass, len);
	sb_vault_free(v);
	return rc ? 1 : 0;
}

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/fileio.h"
#include "cmd/keys.h"
#include "crypto/crypto.h"
#include "crypto/recovery.h"
#include "crypto/sign.h"
#include "crypto/wrap.h"
#include "fs/store.h"
#include "sync/policy.h"
#include "sync/remote.h"
#include "sync/repo.h"

static const char init_usage[] =
	"init [--device NAME] [--remote URL] [--passphrase-file FILE | "
	"--passphrase-fd N] [--recovery-file FILE] VAULT";

/* The folders every vault starts with (a Maildir and two vdir roots). */
static const char *const top_dirs[] = {
	"mail", "mail/cur", "mail/new", "mail/tmp", "calendars", "contacts",
};

struct init_opts {
	const char *device;
	const char *remote;
	const char *recovery_file;
	const char *vault;
	struct sb_pass_src pass;
};

struct init_state {
	struct sb_device_keys *dev;
	struct sb_secrets *secrets;
	uint8_t *recovery;
	struct sb_policy *policy;
	char path[PATH_MAX];
};

static int parse_opts(struct init_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "remote", required_argument, NULL, 'r' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "recovery-file", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->device = optarg; break;
		case 'r': o->remote = optarg; break;
		case 'p': o->pass.file = optarg; break;
		case 'P':
			if (sb_parse_fd(&o->pass.fd, optarg))
				return sb_usage(init_usage);
			break;
		case 'R': o->recovery_file = optarg; break;
		default: return sb_usage(init_usage);
		}
	}
	if (optind != argc - 1)
		return sb_usage(init_usage);
	o->vault = argv[optind];
	return 0;
}

/* VAULT must not exist, or be an empty directory. */
static int check_target(const char *path, int *created)
{
	struct stat st;
	int rc;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return sb_error("%s exists and is not a directory", path);
		if (!sb_dir_empty(path))
			return sb_error("%s exists and is not empty; choose a new "
					"folder for the vault", path);
		*created = 0;
		return 0;
	}
	if (errno != ENOENT)
		return sb_error("cannot use %s: %s", path, strerror(errno));
	if ((rc = sb_mkdirs(path, 0700)))
		return sb_error("%s", sb_err_msg(rc));
	*created = 1;
	return 0;
}

static int write_meta(const char *vault, const char *rel, const void *buf,
		      size_t len, mode_t mode)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", vault, rel) >=
	    sizeof(path))
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", vault);
	return sb_file_create(path, buf, len, mode);
}

static int write_wrap(const char *vault, const char *who,
		      const uint8_t box_pub[SB_X25519_LEN],
		      const struct sb_secrets *s)
{
	uint8_t *plain = NULL, *wrapped = NULL;
	size_t plen = 0, wlen;
	char rel[PATH_MAX];
	int rc;

	if ((rc = sb_secrets_serialize(&plain, &plen, s)))
		return rc;
	rc = sb_wrap(&wrapped, &wlen, box_pub, plain, plen);
	sb_secure_free(plain, plen);
	if (rc)
		return rc;
	snprintf(rel, sizeof(rel), ".sealbox/keys/%s.wrap", who);
	rc = write_meta(vault, rel, wrapped, wlen, 0644);
	free(wrapped);
	return rc;
}

static int write_policy(const char *vault, const struct sb_policy *p)
{
	char *text = NULL, *signers = NULL;
	int rc;

	if ((rc = sb_policy_format(&text, p)) ||
	    (rc = sb_policy_allowed_signers(&signers, p)))
		goto out;
	if ((rc = write_meta(vault, ".sealbox/policy", text, strlen(text),
			     0644)) ||
	    (rc = write_meta(vault, ".sealbox/allowed_signers", signers,
			     strlen(signers), 0644)))
		goto out;
	rc = write_meta(vault, ".sealbox/version", SB_VAULT_VERSION_TEXT,
			strlen(SB_VAULT_VERSION_TEXT), 0644);
out:
	free(text);
	free(signers);
	return rc;
}

static int make_keys(struct init_state *st, const char *device)
{
	struct sb_signkey *rsign = NULL;
	struct sb_boxkey *rbox = NULL;
	int rc;

	if ((rc = sb_device_keys_generate(&st->dev, device)) ||
	    (rc = sb_secrets_generate(&st->secrets)) ||
	    (rc = sb_recovery_generate(&st->recovery)) ||
	    (rc = sb_recovery_signkey(&rsign, st->recovery)) ||
	    (rc = sb_recovery_boxkey(&rbox, st->recovery)))
		goto out;
	if ((rc = sb_policy_new(&st->policy, rsign->pub, rbox->pub)))
		goto out;
	rc = sb_policy_add_device(st->policy, device, 1, st->dev->sign->pub,
				  st->dev->box->pub);
out:
	sb_signkey_free(rsign);
	sb_boxkey_free(rbox);
	return rc;
}

static int write_public(const struct init_state *st, const char *vault)
{
	char dir[PATH_MAX];
	int rc;

	snprintf(dir, sizeof(dir), "%s/.sealbox/keys", vault);
	if ((rc = sb_mkdirs(dir, 0755)) || (rc = write_policy(vault, st->policy)))
		return rc;
	if ((rc = write_wrap(vault, st->dev->name, st->dev->box->pub,
			     st->secrets)))
		return rc;
	return write_wrap(vault, "recovery", st->policy->recovery_box,
			  st->secrets);
}

static int write_store(const struct init_state *st, const char *vault)
{
	struct sb_store *store;
	size_t i;
	int rc = sb_store_open(&store, vault, st->secrets);

	for (i = 0; !rc && i < sizeof(top_dirs) / sizeof(top_dirs[0]); i++)
		rc = sb_store_mkdir(store, top_dirs[i], 0700);
	sb_store_free(store);
	return rc;
}

static int recovery_sign_cb(char **armor, const void *buf, size_t len,
			    void *ctx)
{
	return sb_sshsig_sign(armor, ctx, "git", buf, len);
}

/*
 * The first commit is signed by the recovery key: a device that clones
 * with the recovery key then knows the vault is the one this key made,
 * not a look-alike whose policy merely names the key's public halves
 * (public in every copy of the policy) with someone else's secrets.
 */
static int first_commit(struct sb_repo *repo, const struct init_state *st,
			const char *remote)
{
	struct sb_remote_config rcfg = { .url = (char *)remote };
	struct sb_signkey *rsign = NULL;
	char oid[SB_OID_HEX], msg[256];
	int rc;

	if (remote && (rc = sb_remote_config_save(repo, &rcfg)))
		return rc;
	if ((rc = sb_recovery_signkey(&rsign, st->recovery)))
		return rc;
	snprintf(msg, sizeof(msg), "sealbox: create vault\n\nFirst device: %s\n",
		 st->dev->name);
	rc = sb_repo_commit_all(repo, oid, msg, "recovery", "recovery@sealbox",
				recovery_sign_cb, rsign);
	sb_signkey_free(rsign);
	return rc;
}

static int create(struct init_state *st, const struct init_opts *o,
		  const char *pass, size_t passlen)
{
	struct sb_repo *repo = NULL;
	int rc;

	if ((rc = make_keys(st, o->device)) ||
	    (rc = sb_repo_init(&repo, o->vault)) ||
	    (rc = sb_keys_store(o->vault, st->dev, pass, passlen, 0)) ||
	    (rc = write_public(st, o->vault)) ||
	    (rc = write_store(st, o->vault)) ||
	    (rc = first_commit(repo, st, o->remote))) {
		sb_repo_free(repo);
		return sb_error("cannot create %s: %s", o->vault, sb_err_msg(rc));
	}
	sb_repo_free(repo);
	return sb_recovery_show(st->recovery, o->recovery_file, o->vault);
}

static void state_release(struct init_state *st)
{
	sb_device_keys_free(st->dev);
	sb_secrets_free(st->secrets);
	sb_secure_free(st->recovery, SB_RECOVERY_LEN);
	sb_policy_free(st->policy);
}

int sb_cmd_init(int argc, char **argv)
{
	struct init_opts o = { .pass = SB_PASS_SRC_INIT };
	struct init_state st = { 0 };
	char host[SB_DEVICE_NAME_MAX + 1];
	char *pass = NULL;
	size_t passlen;
	int created = 0, rc;

	if ((rc = parse_opts(&o, argc, argv)))
		return rc;
	if (!o.device)
		o.device = sb_default_device_name(host, sizeof(host));
	if (!sb_device_name_valid(o.device))
		return sb_error("invalid device name \"%s\": use letters, digits, "
				"'.', '_' and '-' (at most 64)", o.device);
	if (o.recovery_file && access(o.recovery_file, F_OK) == 0)
		return sb_error("%s exists; the recovery key is written to a new "
				"file only", o.recovery_file);
	if ((rc = check_target(o.vault, &created)))
		return rc;
	if ((rc = sb_pass_read(&pass, &passlen, &o.pass,
			       "Passphrase for this device: ", 1)))
		goto out;
	rc = create(&st, &o, pass, passlen);
out:
	sb_pass_free(pass, passlen);
	state_release(&st);
	if (rc && created)
		sb_remove_tree(o.vault);
	return rc;
}

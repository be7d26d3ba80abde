#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/enrol.h"
#include "cmd/fileio.h"
#include "cmd/keys.h"
#include "crypto/crypto.h"
#include "crypto/recovery.h"
#include "crypto/wrap.h"
#include "fs/store.h"
#include "sync/checkout.h"
#include "sync/policy.h"
#include "sync/remote.h"
#include "sync/repo.h"
#include "sync/state.h"
#include "sync/statcache.h"
#include "sync/verify.h"

#define MAIN_REF "refs/heads/main"
#define RECOVERY_FILE_MAX 4096
#define PROGRESS_EVERY 512
/* Present while a clone is being made: a rerun may start it again. */
#define INCOMPLETE SB_VAULT_STATE "/clone-incomplete"

static const char clone_usage[] =
	"clone [--device NAME] [--admin] [--passphrase-file FILE | "
	"--passphrase-fd N] --recovery-file FILE URL VAULT";

struct clone_opts {
	const char *device;
	const char *recovery_file;
	const char *url;
	const char *vault;
	int admin;
	struct sb_pass_src pass;
};

struct clone_state {
	const struct clone_opts *o;
	int tty;			/* progress lines on stderr */
	uint8_t *recovery;
	struct sb_signkey *rsign;
	struct sb_boxkey *rbox;
	struct sb_repo *repo;
	struct sb_remote_config remote;
	struct sb_secrets *secrets;
	struct sb_store *store;
	struct sb_statcache *sc;
	struct sb_device_keys *dev;
	char head[SB_OID_HEX];		/* the remote's verified main */
	char enrolled[SB_OID_HEX];	/* the enrolment commit */
	size_t ncommits;
	size_t progress;		/* checkout paths seen */
};

static int parse_opts(struct clone_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "admin", no_argument, NULL, 'a' },
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
		case 'a': o->admin = 1; break;
		case 'p': o->pass.file = optarg; break;
		case 'P':
			if (sb_parse_fd(&o->pass.fd, optarg))
				return sb_usage(clone_usage);
			break;
		case 'R': o->recovery_file = optarg; break;
		default: return sb_usage(clone_usage);
		}
	}
	if (optind != argc - 2 || !o->recovery_file)
		return sb_usage(clone_usage);
	o->url = argv[optind];
	o->vault = argv[optind + 1];
	return 0;
}

static void progress(const struct clone_state *st, const char *fmt, ...)
	SB_PRINTF(2, 3);

static void progress(const struct clone_state *st, const char *fmt, ...)
{
	va_list ap;

	if (!st->tty)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* The short host name ("laptop" of "laptop.example.org"). */
static const char *default_device(char *buf, size_t size)
{
	char *dot;

	sb_default_device_name(buf, size);
	if ((dot = strchr(buf, '.')) && dot != buf)
		*dot = '\0';
	return buf;
}

/* 1 when path holds a clone that was interrupted (killed, power loss). */
static int interrupted(const char *path)
{
	char marker[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(marker, sizeof(marker), "%s/" INCOMPLETE, path) >=
	    sizeof(marker))
		return 0;
	return lstat(marker, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * VAULT must not exist, be an empty directory, or hold an interrupted
 * clone (removed, to start again).
 */
static int check_target(const char *path, int *created)
{
	struct stat st;
	int rc;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return sb_error("%s exists and is not a directory", path);
		if (interrupted(path)) {
			fprintf(stderr, "%s holds an interrupted clone; starting "
				"again\n", path);
			if ((rc = sb_remove_tree(path)))
				return sb_error("cannot remove %s: %s", path,
						sb_err_msg(rc));
			goto make;
		}
		if (!sb_dir_empty(path))
			return sb_error("%s exists and is not empty; choose a new "
					"folder for the vault", path);
		*created = 0;
		return 0;
	}
	if (errno != ENOENT)
		return sb_error("cannot use %s: %s", path, strerror(errno));
make:
	if ((rc = sb_mkdirs(path, 0700)))
		return sb_error("%s", sb_err_msg(rc));
	*created = 1;
	return 0;
}

/* Parses the recovery key file and derives its two keys. */
static int read_recovery(struct clone_state *st, const char *file)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = sb_file_read(file, &buf, &len, RECOVERY_FILE_MAX);

	if (rc)
		return sb_error("cannot read the recovery key from %s: %s", file,
				sb_err_msg(rc));
	rc = sb_recovery_parse(&st->recovery, (const char *)buf);
	sb_wipe(buf, len);
	free(buf);
	if (rc)
		return sb_error("%s: %s", file, sb_err_msg(rc));
	if ((rc = sb_recovery_signkey(&st->rsign, st->recovery)) ||
	    (rc = sb_recovery_boxkey(&st->rbox, st->recovery)))
		return sb_error("%s", sb_err_msg(rc));
	return 0;
}

/* The local state folder (0700) and the interrupted-clone marker in it. */
static int mark(const char *vault, const char *url)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/" SB_VAULT_STATE, vault);
	if ((rc = sb_mkdirs(path, 0700)) || (chmod(path, 0700) && (rc = -errno)))
		return rc;
	snprintf(path, sizeof(path), "%s/" INCOMPLETE, vault);
	return sb_file_create(path, url, strlen(url), 0600);
}

/* The vault is complete: a rerun must not take it for an interrupted one. */
static int unmark(const char *vault)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" INCOMPLETE, vault);
	if (unlink(path))
		return sb_err_set(-errno, "cannot remove %s: %s", path,
				  strerror(errno));
	return 0;
}

/* Creates the repository, stores the URL and fetches the remote's main. */
static int fetch(struct clone_state *st)
{
	const struct clone_opts *o = st->o;
	int rc;

	if ((rc = sb_repo_init(&st->repo, o->vault)) ||
	    (rc = mark(o->vault, o->url)))
		return rc;
	if (!(st->remote.url = strdup(o->url)))
		return -ENOMEM;
	if ((rc = sb_remote_config_save(st->repo, &st->remote)))
		return rc;
	st->remote.progress = st->tty;
	progress(st, "Fetching %s\n", o->url);
	rc = sb_remote_fetch(st->repo, &st->remote, st->head);
	if (rc == -ENOENT)
		rc = sb_err_set(-ENOENT, "the remote is empty, there is no "
				"vault to clone (the first device creates it "
				"with `sealbox init --remote URL`)");
	return rc;
}

/*
 * The whole history, from its first commit, anchored to this recovery
 * key; only then does main point at it.
 */
static int verify(struct clone_state *st)
{
	struct sb_verify_result vr;
	int rc;

	memset(&vr, 0, sizeof(vr));
	progress(st, "Verifying the history\n");
	rc = sb_verify_range(&vr, st->repo, NULL, st->head, st->rsign->pub);
	if (rc)
		return rc;
	st->ncommits = vr.verified;
	progress(st, "Verified %zu commit%s up to %.12s\n", vr.verified,
		 vr.verified == 1 ? "" : "s", st->head);
	return sb_repo_set_ref(st->repo, MAIN_REF, st->head, "",
			       "sealbox: clone");
}

/* The device name must be new to the verified policy. */
static int check_device(struct clone_state *st)
{
	struct sb_policy *p = NULL;
	int rc = sb_enrol_head_policy(st->repo, &p);

	if (!rc && sb_policy_device(p, st->o->device))
		rc = sb_err_set(-EEXIST, "the vault already has a device named "
				"\"%s\"; choose another name with --device",
				st->o->device);
	sb_policy_free(p);
	return rc;
}

/* The vault secrets from the verified head's recovery.wrap. */
static int unwrap(struct clone_state *st)
{
	void *wrapped = NULL;
	uint8_t *plain = NULL;
	size_t wlen = 0, plen = 0;
	int rc = sb_repo_head_file(st->repo, ".sealbox/keys/recovery.wrap",
				   &wrapped, &wlen);

	if (rc)
		return sb_err_set(rc == -ENOENT ? SB_EFORMAT : rc, "the vault "
				  "has no .sealbox/keys/recovery.wrap");
	if ((rc = sb_unwrap(&plain, &plen, st->rbox, wrapped, wlen))) {
		rc = sb_err_set(rc, ".sealbox/keys/recovery.wrap: %s",
				sb_err_msg(rc));
		goto out;
	}
	rc = sb_secrets_parse(&st->secrets, plain, plen);
	sb_secure_free(plain, plen);
out:
	free(wrapped);
	return rc;
}

static void checkout_seen(const char *plain_path, void *ctx)
{
	struct clone_state *st = ctx;

	(void)plain_path;
	if (++st->progress % PROGRESS_EVERY == 0)
		progress(st, "\rChecking out: %zu paths", st->progress);
}

/* Writes every file of the verified head into the new store. */
static int checkout(struct clone_state *st)
{
	struct sb_checkout_result res = { 0, 0, 0 };
	char path[PATH_MAX];
	const char *vault = st->o->vault;
	int rc;

	snprintf(path, sizeof(path), "%s/" SB_VAULT_STATE "/statcache", vault);
	if ((rc = sb_statcache_open(&st->sc, path)) ||
	    (rc = sb_store_open(&st->store, vault, st->secrets)))
		return rc;
	progress(st, "Checking out %.12s\n", st->head);
	rc = sb_checkout(&res, st->repo, st->store, st->sc, NULL, st->head,
			 checkout_seen, st);
	if (st->progress >= PROGRESS_EVERY)
		progress(st, "\n");
	if (rc)
		return rc;
	progress(st, "Checked out: %zu file%s written\n", res.written,
		 res.written == 1 ? "" : "s");
	return sb_statcache_save(st->sc);
}

/* New device keys, sealed under the passphrase, enrolled by the recovery key. */
static int enrol(struct clone_state *st, const char *pass, size_t passlen)
{
	struct sb_enrol e;
	int rc;

	if ((rc = sb_device_keys_generate(&st->dev, st->o->device)) ||
	    (rc = sb_keys_store(st->o->vault, st->dev, pass, passlen, 0)))
		return rc;
	memset(&e, 0, sizeof(e));
	e.vault = st->o->vault;
	e.repo = st->repo;
	e.store = st->store;
	e.sc = st->sc;
	e.secrets = st->secrets;
	e.name = st->dev->name;
	e.admin = st->o->admin;
	e.sign_pub = st->dev->sign->pub;
	e.box_pub = st->dev->box->pub;
	e.signer = st->rsign;
	e.signer_name = "recovery";
	progress(st, "Enrolling %s (%s)\n", e.name, e.admin ? "admin" : "member");
	return sb_enrol_device(&e, st->enrolled);
}

/* Records what the remote holds (verified) and what it accepted. */
static int save_state(struct clone_state *st, int pushed)
{
	struct sb_state s;
	int rc = sb_state_load(&s, st->o->vault);

	if (rc)
		return rc;
	snprintf(s.verified, SB_OID_HEX, "%s", pushed ? st->enrolled : st->head);
	snprintf(s.pushed, SB_OID_HEX, "%s", pushed ? st->enrolled : "");
	s.last_attempt = time(NULL);
	if (pushed)
		s.last_sync = s.last_attempt;
	rc = sb_state_save(&s, st->o->vault);
	sb_state_clear(&s);
	return rc;
}

/*
 * Pushes the enrolment. A rejection (another device pushed meanwhile) or
 * an unreachable remote leaves a working vault whose enrolment commit
 * waits for `sealbox sync`: a warning, not a failure (returns 1).
 */
static int push(struct clone_state *st)
{
	int rc;

	progress(st, "Pushing the enrolment %.12s\n", st->enrolled);
	rc = sb_remote_push(st->repo, &st->remote, st->enrolled);
	if (rc == SB_EREJECT || rc == SB_ENET) {
		fprintf(stderr, "sealbox: %s; the enrolment commit stays local: "
			"run `sealbox sync %s`\n", rc == SB_EREJECT ?
			"another device pushed meanwhile" : sb_err_msg(rc),
			st->o->vault);
		return (rc = save_state(st, 0)) ? rc : 1;
	}
	if (rc)
		return rc;
	return save_state(st, 1);
}

static int run(struct clone_state *st, const char *pass, size_t passlen)
{
	int rc;

	if ((rc = fetch(st)) || (rc = verify(st)) || (rc = check_device(st)) ||
	    (rc = unwrap(st)) || (rc = checkout(st)) ||
	    (rc = enrol(st, pass, passlen)) || (rc = unmark(st->o->vault)))
		return rc;
	return push(st);
}

static void state_release(struct clone_state *st)
{
	sb_device_keys_free(st->dev);
	sb_statcache_free(st->sc);
	sb_store_free(st->store);
	sb_secrets_free(st->secrets);
	sb_remote_config_clear(&st->remote);
	sb_repo_free(st->repo);
	sb_signkey_free(st->rsign);
	sb_boxkey_free(st->rbox);
	if (st->recovery)
		sb_secure_free(st->recovery, SB_RECOVERY_LEN);
	memset(st, 0, sizeof(*st));
}

/* Empties VAULT again after a failure (removes it when we created it). */
static void undo(const char *vault, int created)
{
	sb_remove_tree(vault);
	if (!created && mkdir(vault, 0700) && errno != EEXIST)
		sb_error("cannot recreate the empty folder %s: %s", vault,
			 strerror(errno));
}

static int report(const struct clone_state *st, int pushed)
{
	fprintf(stderr, "Cloned %s into %s: %zu commit%s verified, device %s "
		"(%s) enrolled as %.12s%s.\n", st->o->url, st->o->vault,
		st->ncommits, st->ncommits == 1 ? "" : "s", st->dev->name,
		st->o->admin ? "admin" : "member", st->enrolled,
		pushed ? " and pushed" : " (not pushed yet)");
	return 0;
}

int sb_cmd_clone(int argc, char **argv)
{
	struct clone_opts o = { .pass = SB_PASS_SRC_INIT };
	struct clone_state st;
	char host[SB_DEVICE_NAME_MAX + 1];
	char *pass = NULL;
	size_t passlen = 0;
	int created = 0, rc;

	memset(&st, 0, sizeof(st));
	if ((rc = parse_opts(&o, argc, argv)))
		return rc;
	if (!o.device)
		o.device = default_device(host, sizeof(host));
	if (!sb_device_name_valid(o.device) || !strcmp(o.device, "recovery"))
		return sb_error("invalid device name \"%s\": use letters, digits, "
				"'.', '_' and '-' (at most 64)", o.device);
	st.o = &o;
	st.tty = isatty(STDERR_FILENO);
	if ((rc = read_recovery(&st, o.recovery_file)) ||
	    (rc = check_target(o.vault, &created)))
		goto out;
	if ((rc = sb_pass_read(&pass, &passlen, &o.pass,
			       "Passphrase for this device: ", 1)))
		goto fail;
	rc = run(&st, pass, passlen);
	if (rc < 0) {
		rc = sb_error("cannot clone %s: %s", o.url, sb_err_msg(rc));
		goto fail;
	}
	rc = report(&st, rc == 0);
	goto out;
fail:
	state_release(&st);
	undo(o.vault, created);
out:
	sb_pass_free(pass, passlen);
	state_release(&st);
	return rc;
}

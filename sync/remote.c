#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "crypto/base64.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/localpush.h"
#include "sync/remote.h"
#include "sync/repo_git.h"

#define MAIN_REF "refs/heads/main"
#define PUSH_REF "refs/sealbox/push"
#define DEFAULT_ATTEMPTS 3
#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define SYSTEM_CA_DIR "/etc/ssl/certs"

/* What one fetch or push knows about its remote, and what went wrong. */
struct remote_ctx {
	const struct sb_remote_config *c;
	char url[1024];		/* without password */
	char password[256];	/* scrubbed from messages */
	char user[256];		/* ssh: from the URL, else the local user */
	char host[256];
	int port;
	int ssh, https, local;
	int tries;		/* credential attempts made */
	char tried[1024];	/* which keys were offered */
	int err;		/* an SB_E* recorded by a callback */
	int rejected;		/* push_update_reference reported a refusal */
	unsigned last_pct;
};

int sb_remote_home_file(char *out, size_t size, const char *rel)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if ((!home || !*home) && (pw = getpwuid(getuid())))
		home = pw->pw_dir;
	if (!home || (size_t)snprintf(out, size, "%s/%s", home, rel) >= size)
		return sb_err_set(-ENOENT, "cannot find the home directory");
	return 0;
}

/* ---- URLs ---- */

void sb_remote_url_redact(char *out, size_t size, const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at, *colon;

	if (!auth) {
		snprintf(out, size, "%s", url);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/");
	at = memchr(auth, '@', end - auth);
	colon = at ? memchr(auth, ':', at - auth) : NULL;
	if (!colon)
		snprintf(out, size, "%s", url);
	else
		snprintf(out, size, "%.*s%s", (int)(colon - url), url, at);
}

static int prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Copies s[0..n) into a fixed buffer; 0, or -1 when it does not fit. */
static int copy_part(char *out, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* user[:password]@host[:port] of a URL's authority (or scp-like "u@h"). */
static int parse_authority(struct remote_ctx *x, const char *a, size_t len)
{
	const char *at = NULL, *colon, *end = a + len, *h;
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] == '@')
			at = a + i;
	if (at) {
		colon = memchr(a, ':', at - a);
		if (copy_part(x->user, sizeof(x->user), a,
			      (colon ? colon : at) - a) ||
		    (colon && copy_part(x->password, sizeof(x->password),
					colon + 1, at - colon - 1)))
			return -1;
		a = at + 1;
	}
	h = a;
	if (*h == '[' && (colon = memchr(h, ']', end - h))) {
		if (copy_part(x->host, sizeof(x->host), h + 1, colon - h - 1))
			return -1;
		colon++;
	} else {
		colon = memchr(h, ':', end - h);
		if (copy_part(x->host, sizeof(x->host), h,
			      (colon ? colon : end) - h))
			return -1;
	}
	if (colon && colon < end && *colon == ':')
		x->port = atoi(colon + 1);
	return x->host[0] ? 0 : -1;
}

static int parse_url(struct remote_ctx *x, const char *url)
{
	const char *scheme_end = strstr(url, "://"), *a, *slash, *colon;

	x->port = 0;
	if (!scheme_end) {
		colon = strchr(url, ':');
		slash = strchr(url, '/');
		if (!colon || (slash && slash < colon)) {
			x->local = 1;
			return 0;
		}
		x->ssh = 1;	/* scp-like [user@]host:path */
		x->port = 22;
		return parse_authority(x, url, colon - url);
	}
	if (prefix(url, "file://")) {
		x->local = 1;
		return 0;
	}
	a = scheme_end + 3;
	slash = a + strcspn(a, "/");
	if (prefix(url, "ssh://") || prefix(url, "ssh+git://") ||
	    prefix(url, "git+ssh://")) {
		x->ssh = 1;
		x->port = 22;
	} else if (prefix(url, "https://")) {
		x->https = 1;
		x->port = 443;
	} else if (!prefix(url, "git://") && !prefix(url, "http://")) {
		return -1;
	}
	return parse_authority(x, a, slash - a);
}

/* Copies msg to out with every copy of the URL's password as "***". */
static void scrub(const struct remote_ctx *x, char *out, size_t size,
		  const char *msg)
{
	size_t plen = strlen(x->password), n = 0;

	while (*msg && n + 4 < size) {
		if (plen && !strncmp(msg, x->password, plen)) {
			memcpy(out + n, "***", 3);
			n += 3;
			msg += plen;
		} else {
			out[n++] = *msg++;
		}
	}
	out[n] = '\0';
}

static int ctx_init(struct remote_ctx *x, const struct sb_remote_config *c)
{
	struct passwd *pw;

	memset(x, 0, sizeof(*x));
	x->c = c;
	x->last_pct = UINT_MAX;
	if (!c || !c->url || !*c->url)
		return sb_err_set(-ENOENT, "no remote is configured; set one "
				  "with sealbox remote set URL VAULT");
	sb_remote_url_redact(x->url, sizeof(x->url), c->url);
	if (parse_url(x, c->url))
		return sb_err_set(-EINVAL, "%s: not a URL sealbox can use "
				  "(file://, ssh://, https://, git://)",
				  x->url);
	if (x->ssh && !x->user[0] && (pw = getpwuid(getuid())))
		snprintf(x->user, sizeof(x->user), "%s", pw->pw_name);
	return 0;
}

static void ctx_release(struct remote_ctx *x)
{
	sb_wipe(x->password, sizeof(x->password));
}

/* ---- callbacks ---- */

static int cert_check(git_cert *cert, int valid, const char *host,
		      void *payload)
{
	struct remote_ctx *x = payload;
	const git_cert_hostkey *k = (const git_cert_hostkey *)cert;
	int rc;

	if (cert->cert_type == GIT_CERT_X509)
		return valid ? 0 : GIT_PASSTHROUGH;
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2 ||
	    !(k->type & (GIT_CERT_SSH_RAW | GIT_CERT_SSH_SHA256))) {
		x->err = sb_err_set(SB_EAUTH, "ssh: %s sent no host key sealbox "
				    "can check; refusing to connect", host);
		return GIT_ECERTIFICATE;
	}
	rc = sb_remote_hostkey_check(x->c->known_hosts, x->c->host_key,
				     x->host, x->port,
				     k->type & GIT_CERT_SSH_RAW ? k->hostkey
								: NULL,
				     k->hostkey_len, k->hash_sha256);
	if (!rc)
		return 0;
	x->err = rc;
	return GIT_ECERTIFICATE;
}

static void tried_add(struct remote_ctx *x, const char *what)
{
	size_t n = strlen(x->tried);

	snprintf(x->tried + n, sizeof(x->tried) - n, "%s%s", n ? ", " : "",
		 what);
}

static int cred_refuse(struct remote_ctx *x, const char *user)
{
	x->err = sb_err_set(SB_EAUTH, "%s: %s@%s refused %s; check the key "
			    "in the server's authorized_keys, or set one with "
			    "sealbox remote set --ssh-key FILE", x->url, user,
			    x->host, x->tried[0] ? x->tried : "every key");
	return GIT_EAUTH;
}

/*
 * 1 when a private key file needs a passphrase (OpenSSH format with a
 * cipher other than "none", or an encrypted PEM key): sealbox asks for
 * none, such keys belong in ssh-agent.
 */
static int key_encrypted(const char *path)
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	char text[4096], b64[64];
	uint8_t raw[48];
	size_t n, i, j, len = sizeof(raw);
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (strstr(text, "ENCRYPTED"))
		return 1;
	if (strncmp(text, begin, sizeof(begin) - 1))
		return 0;
	for (i = sizeof(begin) - 1, j = 0; text[i] && j < sizeof(b64); i++)
		if (!isspace((unsigned char)text[i]))
			b64[j++] = text[i];
	/* "openssh-key-v1\0", then the cipher name as an ssh string */
	if (j < sizeof(b64) || sb_base64_decode(raw, &len, b64, j) ||
	    len < 23 || memcmp(raw, "openssh-key-v1", 15))
		return 0;
	return sb_get_be32(raw + 15) != 4 || memcmp(raw + 19, "none", 4);
}

static int key_cred(git_credential **out, struct remote_ctx *x,
		    const char *user, const char *key)
{
	char pub[PATH_MAX + 4];

	if (key_encrypted(key)) {
		x->err = sb_err_set(SB_EAUTH, "ssh: the key file %s is "
				    "protected by a passphrase; add it to "
				    "ssh-agent (ssh-add) and leave --ssh-key "
				    "unset", key);
		return GIT_EAUTH;
	}
	snprintf(pub, sizeof(pub), "%s.pub", key);
	tried_add(x, key);
	return git_credential_ssh_key_new(out, user,
					  access(pub, R_OK) ? NULL : pub, key,
					  NULL);
}

/* The key file for this attempt: step 0 agent, then ~/.ssh/id_ed25519. */
static int cred_default(git_credential **out, struct remote_ctx *x,
			const char *user, int step)
{
	char key[PATH_MAX];

	if (step == 0 && getenv("SSH_AUTH_SOCK")) {
		tried_add(x, "the ssh-agent's keys");
		return git_credential_ssh_key_from_agent(out, user);
	}
	if (step > 1 || sb_remote_home_file(key, sizeof(key), ".ssh/id_ed25519") ||
	    access(key, R_OK))
		return cred_refuse(x, user);
	return key_cred(out, x, user, key);
}

static int cred_key_file(git_credential **out, struct remote_ctx *x,
			 const char *user)
{
	const char *key = x->c->ssh_key;

	if (x->tries > 1)
		return cred_refuse(x, user);	/* the same key again is futile */
	if (access(key, R_OK)) {
		x->err = sb_err_set(SB_EAUTH, "ssh: cannot read the key file "
				    "%s: %s", key, strerror(errno));
		return GIT_EAUTH;
	}
	return key_cred(out, x, user, key);
}

static int credentials(git_credential **out, const char *url,
		       const char *user_from_url, unsigned int allowed,
		       void *payload)
{
	struct remote_ctx *x = payload;
	const char *user = user_from_url ? user_from_url : x->user;
	int max = x->c->attempts > 0 ? x->c->attempts : DEFAULT_ATTEMPTS;

	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, x->user);
	if (!(allowed & GIT_CREDENTIAL_SSH_KEY)) {
		x->err = sb_err_set(SB_EAUTH, "%s: the server asks for a "
				    "password; sealbox uses keys only (ssh) or "
				    "the user and password in the URL (https)",
				    x->url);
		return GIT_EAUTH;
	}
	if (x->tries >= max)
		return cred_refuse(x, user);
	x->tries++;
	if (x->c->ssh_key)
		return cred_key_file(out, x, user);
	return cred_default(out, x, user, x->tries - 1 +
			    (getenv("SSH_AUTH_SOCK") ? 0 : 1));
}

static int push_ref_update(const char *ref, const char *status, void *payload)
{
	struct remote_ctx *x = payload;

	if (status && !x->rejected) {
		x->rejected = 1;
		x->err = sb_err_set(SB_EREJECT, "%s refused the update of %s: "
				    "%s; fetch, merge and push again", x->url,
				    ref, status);
	}
	return 0;
}

static int show_progress(const struct remote_ctx *x)
{
	return x->c->progress && isatty(STDERR_FILENO);
}

static int fetch_progress(const git_indexer_progress *p, void *payload)
{
	struct remote_ctx *x = payload;
	unsigned pct = p->total_objects ?
		100u * p->received_objects / p->total_objects : 0;

	if (!show_progress(x) || pct == x->last_pct)
		return 0;
	x->last_pct = pct;
	fprintf(stderr, "\rsealbox: receiving objects: %3u%% (%u/%u), "
		"%zu KiB%s", pct, p->received_objects, p->total_objects,
		p->received_bytes / 1024,
		p->received_objects == p->total_objects ? "\n" : "");
	return 0;
}

static int push_progress(unsigned int cur, unsigned int total, size_t bytes,
			 void *payload)
{
	struct remote_ctx *x = payload;
	unsigned pct = total ? 100u * cur / total : 0;

	if (!show_progress(x) || pct == x->last_pct)
		return 0;
	x->last_pct = pct;
	fprintf(stderr, "\rsealbox: sending objects: %3u%% (%u/%u), %zu KiB%s",
		pct, cur, total, bytes / 1024, cur == total ? "\n" : "");
	return 0;
}

static void callbacks_set(git_remote_callbacks *cb, struct remote_ctx *x)
{
	cb->certificate_check = cert_check;
	cb->credentials = credentials;
	cb->transfer_progress = fetch_progress;
	cb->push_transfer_progress = push_progress;
	cb->push_update_reference = push_ref_update;
	cb->payload = x;
}

/* ---- errors ---- */

static int is_net_class(int klass)
{
	return klass == GIT_ERROR_NET || klass == GIT_ERROR_OS ||
	       klass == GIT_ERROR_SSH || klass == GIT_ERROR_HTTP ||
	       klass == GIT_ERROR_SSL;
}

static int map_error(struct remote_ctx *x, int e, const char *what)
{
	const git_error *ge = git_error_last();
	const char *m = ge && ge->message ? ge->message : "unknown error";
	char msg[512];
	int rc;

	if (x->err)
		return x->err;	/* a callback said why */
	scrub(x, msg, sizeof(msg), m);
	if (e == GIT_ECERTIFICATE)
		rc = sb_err_set(SB_EAUTH, "%s: the server's certificate is not "
				"trusted (%s; trusted CAs: %s); set the CA with "
				"sealbox remote set --ca-file", x->url, msg,
				x->c->ca_file ? x->c->ca_file
					      : "the system store");
	else if (e == GIT_EAUTH || (x->tries && strstr(msg, "authenticat")))
		rc = sb_err_set(SB_EAUTH, "%s: authentication failed: %s",
				x->url, msg);
	else if (e == GIT_ENONFASTFORWARD)
		rc = sb_err_set(SB_EREJECT, "%s has commits this vault does not "
				"have; fetch, merge and push again", x->url);
	else if ((ge && is_net_class(ge->klass)) ||
		 (x->local && e == GIT_ENOTFOUND))
		rc = sb_err_set(SB_ENET, "cannot %s %s: %s; the remote cannot "
				"be reached, sync again later", what, x->url,
				msg);
	else
		rc = sb_err_set(SB_EGIT, "cannot %s %s: %s", what, x->url, msg);
	return rc;
}

/* The process-wide CA store libgit2 uses for https (mbedTLS replaces it). */
static int ca_select(struct remote_ctx *x)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char current[PATH_MAX];
	const char *want = x->c->ca_file;
	int rc = 0, e = 0;

	if (!x->https)
		return 0;
	pthread_mutex_lock(&lock);
	if (want && strcmp(current, want)) {
		if (!(e = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, want,
					   NULL)))
			snprintf(current, sizeof(current), "%s", want);
	} else if (!want && current[0]) {
		e = access(SYSTEM_CA_FILE, R_OK) ?
			git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, NULL,
					 SYSTEM_CA_DIR) :
			git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS,
					 SYSTEM_CA_FILE, NULL);
		if (!e)
			current[0] = '\0';
	}
	pthread_mutex_unlock(&lock);
	if (e)
		rc = sb_err_set(SB_EAUTH, "cannot load the CA file %s: %s",
				want ? want : SYSTEM_CA_FILE,
				git_error_last() ? git_error_last()->message
						 : "unknown error");
	return rc;
}

/* ---- fetch and push ---- */

static int remote_open(git_remote **out, struct sb_repo *r,
		       struct remote_ctx *x, const struct sb_remote_config *c)
{
	git_remote_create_options o;
	int rc;

	if ((rc = ctx_init(x, c)) || (rc = ca_select(x)))
		return rc;
	/*
	 * Anonymous: no configured refspecs, so no other ref is touched. The
	 * URL is used as configured, without url.*.insteadOf rewriting
	 * (whose regex match also leaks in libgit2 1.5).
	 */
	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	o.repository = sb_repo_git(r);
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		  GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(out, c->url, &o))
		return map_error(x, -1, "use");
	return 0;
}

static int remote_main(git_remote *rem, git_oid *oid)
{
	const git_remote_head **heads;
	size_t n, i;

	if (git_remote_ls(&heads, &n, rem))
		return -1;
	for (i = 0; i < n; i++) {
		if (!strcmp(heads[i]->name, MAIN_REF)) {
			git_oid_cpy(oid, &heads[i]->oid);
			return 0;
		}
	}
	return GIT_ENOTFOUND;
}

static int fetch_main(git_remote *rem, struct sb_repo *r,
		      struct remote_ctx *x, git_oid *oid)
{
	git_fetch_options fo;
	char *spec = MAIN_REF;
	git_strarray specs = { &spec, 1 };
	git_odb *odb = NULL;
	int e, have;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	callbacks_set(&fo.callbacks, x);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	if ((e = git_remote_connect(rem, GIT_DIRECTION_FETCH, &fo.callbacks,
				    &fo.proxy_opts, NULL)))
		return map_error(x, e, "fetch from");
	if ((e = remote_main(rem, oid)) == GIT_ENOTFOUND)
		return sb_err_set(-ENOENT, "%s has no main branch yet",
				  x->url);
	if (e)
		return map_error(x, e, "fetch from");
	if (git_repository_odb(&odb, sb_repo_git(r)))
		return sb_repo_git_fail("cannot open the object database");
	have = git_odb_exists(odb, oid);
	git_odb_free(odb);
	if (!have && (e = git_remote_download(rem, &specs, &fo)))
		return map_error(x, e, "fetch from");
	return 0;
}

int sb_remote_fetch(struct sb_repo *r, const struct sb_remote_config *c,
		    char head[SB_OID_HEX])
{
	struct remote_ctx x;
	git_remote *rem = NULL;
	git_reference *ref = NULL;
	git_oid oid;
	int rc;

	if ((rc = remote_open(&rem, r, &x, c)) ||
	    (rc = fetch_main(rem, r, &x, &oid)))
		goto out;
	if (git_reference_create(&ref, sb_repo_git(r), SB_FETCHED_REF, &oid, 1,
				 "sealbox: fetch")) {
		rc = sb_repo_git_fail("cannot set " SB_FETCHED_REF);
		goto out;
	}
	git_oid_tostr(head, SB_OID_HEX, &oid);
out:
	git_reference_free(ref);
	if (rem)
		git_remote_disconnect(rem);
	git_remote_free(rem);
	ctx_release(&x);
	return rc;
}

static int push_ref(struct sb_repo *r, const char *oid_hex)
{
	git_reference *ref = NULL;
	git_oid oid;

	if (git_oid_fromstrn(&oid, oid_hex, strlen(oid_hex)) ||
	    git_reference_create(&ref, sb_repo_git(r), PUSH_REF, &oid, 1,
				 "sealbox: push"))
		return sb_repo_git_fail("cannot prepare the push");
	git_reference_free(ref);
	return 0;
}

/* A repository on this machine: sync/localpush.h says why. */
static int push_local(struct sb_repo *r, struct remote_ctx *x,
		      const char *oid_hex)
{
	git_oid oid;

	if (git_oid_fromstrn(&oid, oid_hex, strlen(oid_hex)))
		return sb_err_set(-EINVAL, "bad commit id %s", oid_hex);
	return sb_localpush(sb_repo_git(r), x->c->url, MAIN_REF, &oid,
			    push_progress, x);
}

int sb_remote_push(struct sb_repo *r, const struct sb_remote_config *c,
		   const char *oid)
{
	git_push_options po;
	char *spec = PUSH_REF ":" MAIN_REF;
	git_strarray specs = { &spec, 1 };
	struct remote_ctx x;
	git_remote *rem = NULL;
	int rc, e;

	if ((rc = remote_open(&rem, r, &x, c)))
		goto out;
	if (x.local) {
		rc = push_local(r, &x, oid);
		goto out;
	}
	if ((rc = push_ref(r, oid)))
		goto out;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	po.pb_parallelism = 0;	/* delta search on every CPU, not one */
	callbacks_set(&po.callbacks, &x);
	if ((e = git_remote_push(rem, &specs, &po)))
		rc = map_error(&x, e, "push to");
	else if (x.rejected)
		rc = x.err;
	git_reference_remove(sb_repo_git(r), PUSH_REF);
out:
	git_remote_free(rem);
	ctx_release(&x);
	return rc;
}

/* ---- configuration ---- */

static const struct {
	const char *key;
	size_t off;
} cfg_keys[] = {
	{ "sealbox.knownHosts", offsetof(struct sb_remote_config, known_hosts) },
	{ "sealbox.hostKey", offsetof(struct sb_remote_config, host_key) },
	{ "sealbox.sshKey", offsetof(struct sb_remote_config, ssh_key) },
	{ "sealbox.caFile", offsetof(struct sb_remote_config, ca_file) },
};

#define NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static char **cfg_field(struct sb_remote_config *c, size_t i)
{
	return (char **)((char *)c + cfg_keys[i].off);
}

/* A string setting (malloc'd), or NULL in *out when unset. */
static int cfg_string(git_config *cfg, const char *key, char **out)
{
	git_buf b = { 0 };
	int e = git_config_get_string_buf(&b, cfg, key);

	if (e == GIT_ENOTFOUND)
		return 0;
	if (e)
		return sb_repo_git_fail("cannot read the remote settings");
	*out = strdup(b.ptr);
	git_buf_dispose(&b);
	return *out ? 0 : -ENOMEM;
}

static int cfg_read(git_config *cfg, struct sb_remote_config *c)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < NKEYS; i++)
		rc = cfg_string(cfg, cfg_keys[i].key, cfg_field(c, i));
	return rc;
}

int sb_remote_config_load(struct sb_repo *r, struct sb_remote_config *c)
{
	git_config *cfg = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	if (git_repository_config_snapshot(&cfg, sb_repo_git(r))) {
		rc = sb_repo_git_fail("cannot read the repository config");
		goto out;
	}
	/* Not git_remote_lookup: its regex match leaks in libgit2 1.5. */
	if ((rc = cfg_string(cfg, "remote.origin.url", &c->url)) ||
	    (rc = cfg_read(cfg, c)))
		goto out;
	c->attempts = sb_repo_config_int(r, "sealbox.attempts", 0);
out:
	git_config_free(cfg);
	if (rc)
		sb_remote_config_clear(c);
	return rc;
}

static int local_config(git_config **out, struct sb_repo *r)
{
	git_config *cfg = NULL;
	int e;

	if (git_repository_config(&cfg, sb_repo_git(r)))
		return sb_repo_git_fail("cannot open the repository config");
	e = git_config_open_level(out, cfg, GIT_CONFIG_LEVEL_LOCAL);
	git_config_free(cfg);
	return e ? sb_repo_git_fail("cannot open the repository config") : 0;
}

/*
 * remote.origin.url (and the default fetch refspec of a new remote),
 * through the local config: libgit2 1.5's git_remote_create and
 * git_remote_set_url go through a regex match that leaks on no match.
 */
static int set_url(git_config *cfg, const char *url)
{
	git_config_entry *e = NULL;
	int found = !git_config_get_entry(&e, cfg, "remote.origin.fetch");

	git_config_entry_free(e);
	if (git_config_set_string(cfg, "remote.origin.url", url) ||
	    (!found && git_config_set_string(cfg, "remote.origin.fetch",
					     "+refs/heads/*:refs/remotes/origin/*")))
		return sb_repo_git_fail("cannot set the remote");
	return 0;
}

int sb_remote_config_save(struct sb_repo *r, const struct sb_remote_config *c)
{
	git_config *cfg = NULL;
	size_t i;
	int rc;

	if ((rc = local_config(&cfg, r)))
		return rc;
	if (c->url)
		rc = set_url(cfg, c->url);
	for (i = 0; !rc && i < NKEYS; i++) {
		const char *v = *cfg_field((struct sb_remote_config *)c, i);

		if (v && git_config_set_string(cfg, cfg_keys[i].key, v))
			rc = sb_repo_git_fail("cannot save the remote settings");
	}
	if (!rc && c->attempts > 0 &&
	    git_config_set_int32(cfg, "sealbox.attempts", c->attempts))
		rc = sb_repo_git_fail("cannot save the remote settings");
	git_config_free(cfg);
	return rc;
}

void sb_remote_config_clear(struct sb_remote_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->url);
	for (i = 0; i < NKEYS; i++)
		free(*cfg_field(c, i));
	memset(c, 0, sizeof(*c));
}

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/enrol.h"
#include "cmd/fileio.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/changes.h"
#include "sync/commit.h"

#define POLICY_FILE ".sealbox/policy"
#define SIGNERS_FILE ".sealbox/allowed_signers"
#define KEYS_DIR ".sealbox/keys"

int sb_enrol_head_policy(struct sb_repo *repo, struct sb_policy **out)
{
	void *buf = NULL;
	size_t len;
	int rc = sb_repo_head_file(repo, POLICY_FILE, &buf, &len);

	if (rc)
		return sb_err_set(rc == -ENOENT ? SB_EFORMAT : rc,
				  "the newest commit has no readable "
				  POLICY_FILE ": %s", sb_err_msg(rc));
	if ((rc = sb_policy_parse(out, buf, len)))
		rc = sb_err_set(rc, POLICY_FILE " of the newest commit: %s",
				sb_err_msg(rc));
	free(buf);
	return rc;
}

static int write_rel(const char *vault, const char *rel, const void *buf,
		     size_t len)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", vault, rel) >=
	    sizeof(path))
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", vault);
	return sb_file_replace(path, buf, len, 0644);
}

int sb_enrol_write_wrap(const char *vault, const char *who,
			const uint8_t box_pub[SB_X25519_LEN],
			const struct sb_secrets *s)
{
	uint8_t *plain = NULL, *wrapped = NULL;
	size_t plen = 0, wlen = 0;
	char rel[PATH_MAX], dir[PATH_MAX];
	int rc;

	snprintf(rel, sizeof(rel), KEYS_DIR "/%s.wrap", who);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/" KEYS_DIR, vault) >=
	    sizeof(dir))
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", vault);
	if ((rc = sb_mkdirs(dir, 0755)) ||
	    (rc = sb_secrets_serialize(&plain, &plen, s)))
		goto out;
	if ((rc = sb_wrap(&wrapped, &wlen, box_pub, plain, plen)))
		goto out;
	rc = write_rel(vault, rel, wrapped, wlen);
out:
	if (plain)
		sb_secure_free(plain, plen);
	free(wrapped);
	return rc;
}

int sb_enrol_write_policy(const char *vault, const struct sb_policy *p)
{
	char *text = NULL, *signers = NULL;
	int rc;

	if ((rc = sb_policy_format(&text, p)) ||
	    (rc = sb_policy_allowed_signers(&signers, p)))
		goto out;
	if (!(rc = write_rel(vault, POLICY_FILE, text, strlen(text))))
		rc = write_rel(vault, SIGNERS_FILE, signers, strlen(signers));
out:
	free(text);
	free(signers);
	return rc;
}

/* The approving key must be the recovery key or an admin of p. */
static int check_signer(const struct sb_enrol *e, const struct sb_policy *p)
{
	const struct sb_policy_device *d;

	if (!memcmp(p->recovery_sign, e->signer->pub, SB_ED25519_LEN))
		return 0;
	d = sb_policy_signer(p, e->signer->pub);
	if (d && d->admin && !strcmp(d->name, e->signer_name))
		return 0;
	return sb_err_set(SB_EPOLICY, "%s may not enrol devices: only the "
			  "recovery key or an admin device may", e->signer_name);
}

static int check_new(const struct sb_enrol *e, const struct sb_policy *p)
{
	if (sb_policy_device(p, e->name))
		return sb_err_set(-EEXIST, "the vault already has a device named "
				  "\"%s\"; choose another name with --device",
				  e->name);
	if (sb_policy_signer(p, e->sign_pub) ||
	    !memcmp(p->recovery_sign, e->sign_pub, SB_ED25519_LEN))
		return sb_err_set(-EEXIST, "this signing key is already enrolled");
	return 0;
}

static int sign_cb(char **armor, const void *buf, size_t len, void *ctx)
{
	const struct sb_signkey *k = ctx;

	return sb_sshsig_sign(armor, k, "git", buf, len);
}

static int commit(const struct sb_enrol *e, char oid[SB_OID_HEX])
{
	struct sb_commit_opts o;
	struct sb_changes *c = NULL;
	char rel[PATH_MAX], email[SB_DEVICE_NAME_MAX + 16];
	char msg[SB_DEVICE_NAME_MAX * 2 + 128];
	int rc;

	snprintf(rel, sizeof(rel), KEYS_DIR "/%s.wrap", e->name);
	snprintf(email, sizeof(email), "%s@sealbox", e->signer_name);
	snprintf(msg, sizeof(msg), "sealbox: enrol device %s\n\n"
		 "Device: %s (%s)\nApproved by: %s\n", e->name, e->name,
		 e->admin ? "admin" : "member", e->signer_name);
	memset(&o, 0, sizeof(o));
	o.message = msg;
	o.name = e->signer_name;
	o.email = email;
	o.sign = sign_cb;
	o.sign_ctx = (void *)e->signer;
	if ((rc = sb_changes_new(&c)))
		return rc;
	if ((rc = sb_changes_add(c, POLICY_FILE)) ||
	    (rc = sb_changes_add(c, SIGNERS_FILE)) ||
	    (rc = sb_changes_add(c, rel)))
		goto out;
	rc = sb_commit_changes(e->repo, e->store, e->sc, c, &o, oid);
	if (rc > 0)
		rc = sb_err_set(SB_EFORMAT, "enrolling %s changed nothing",
				e->name);
out:
	sb_changes_free(c);
	return rc;
}

int sb_enrol_device(const struct sb_enrol *e, char oid[SB_OID_HEX])
{
	struct sb_policy *p = NULL;
	int rc;

	if ((rc = sb_enrol_head_policy(e->repo, &p)) ||
	    (rc = check_signer(e, p)) || (rc = check_new(e, p)))
		goto out;
	if ((rc = sb_policy_add_device(p, e->name, e->admin, e->sign_pub,
				       e->box_pub)))
		goto out;
	if ((rc = sb_enrol_write_wrap(e->vault, e->name, e->box_pub,
				      e->secrets)) ||
	    (rc = sb_enrol_write_policy(e->vault, p)))
		goto out;
	rc = commit(e, oid);
out:
	sb_policy_free(p);
	return rc;
}

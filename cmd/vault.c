#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/fileio.h"
#include "cmd/vault.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sign.h"
#include "crypto/wrap.h"
#include "sync/commitsig.h"
#include "sync/repo.h"

#define META_MAX (1 << 20)

int sb_vault_path(char *buf, const struct sb_vault *v, const char *rel)
{
	if ((size_t)snprintf(buf, PATH_MAX, "%s/%s", v->path, rel) >= PATH_MAX)
		return sb_err_set(-ENAMETOOLONG, "%s/%s: path too long", v->path,
				  rel);
	return 0;
}

void sb_vault_free(struct sb_vault *v)
{
	if (!v)
		return;
	sb_secrets_free(v->secrets);
	sb_device_keys_free(v->keys);
	sb_policy_free(v->policy);
	free(v->keyfile);
	free(v->path);
	free(v);
}

static int read_meta(const struct sb_vault *v, const char *rel,
		     uint8_t **buf, size_t *len)
{
	char path[PATH_MAX];
	int rc = sb_vault_path(path, v, rel);

	if (!rc && (rc = sb_file_read(path, buf, len, META_MAX)))
		rc = sb_err_set(rc, "%s is missing or unreadable (%s); restore it "
				"with: git -C %s checkout HEAD -- .sealbox",
				path, strerror(-rc), v->path);
	return rc;
}

static int check_version(const struct sb_vault *v)
{
	uint8_t *buf;
	size_t len;
	unsigned ver;
	int rc = read_meta(v, ".sealbox/version", &buf, &len);

	if (rc)
		return rc;
	if (len == strlen(SB_VAULT_VERSION_TEXT) &&
	    !memcmp(buf, SB_VAULT_VERSION_TEXT, len))
		rc = 0;
	else if (sscanf((char *)buf, "sealbox-vault %u\n", &ver) == 1 &&
		 ver != SB_VAULT_FORMAT)
		rc = sb_err_set(SB_EVERSION, "%s uses vault format %u; this "
				"sealbox reads format %d only: upgrade sealbox",
				v->path, ver, SB_VAULT_FORMAT);
	else
		rc = sb_err_set(SB_EFORMAT, "%s/.sealbox/version is damaged",
				v->path);
	free(buf);
	return rc;
}

/* A committed metadata file must equal its copy in the signed HEAD. */
static int check_committed(const struct sb_vault *v, struct sb_repo *repo,
			   const char *rel, uint8_t **keep, size_t *keeplen)
{
	uint8_t *disk = NULL;
	void *head = NULL;
	size_t dlen, hlen;
	int rc = read_meta(v, rel, &disk, &dlen);

	if (rc)
		return rc;
	if (sb_repo_head_file(repo, rel, &head, &hlen) || hlen != dlen ||
	    memcmp(head, disk, dlen))
		rc = sb_err_set(SB_EAUTH, "%s/%s is damaged: it differs from the "
				"signed history; restore it with: git -C %s "
				"checkout HEAD -- %s", v->path, rel, v->path, rel);
	free(head);
	if (!rc && keep) {
		*keep = disk;
		*keeplen = dlen;
		return 0;
	}
	free(disk);
	return rc;
}

static int verify_head(struct sb_vault *v, struct sb_repo *repo)
{
	char *raw = NULL, *pay = NULL, *sig = NULL;
	size_t rlen, plen, slen;
	uint8_t signer[SB_ED25519_LEN];
	int rc;

	if ((rc = sb_repo_head(repo, v->head)) ||
	    (rc = sb_repo_commit_raw(repo, v->head, &raw, &rlen)) ||
	    (rc = sb_commitsig_split(raw, rlen, &pay, &plen, &sig, &slen)) ||
	    (rc = sb_sshsig_verify(signer, sig, slen, "git", pay, plen)))
		goto out;
	if (!sb_policy_signer(v->policy, signer) &&
	    memcmp(signer, v->policy->recovery_sign, SB_ED25519_LEN))
		rc = sb_err_set(SB_EPOLICY, "the newest commit of %s is signed by "
				"a key the policy does not know", v->path);
out:
	if (rc && rc != SB_EPOLICY)
		rc = sb_err_set(rc, "the newest commit of %s does not verify: %s",
				v->path, sb_err_msg(rc));
	free(raw);
	free(pay);
	free(sig);
	return rc;
}

static int check_signers(const struct sb_vault *v, const uint8_t *as,
			 size_t len)
{
	char *want = NULL;
	int rc = sb_policy_allowed_signers(&want, v->policy);

	if (!rc && (strlen(want) != len || memcmp(want, as, len)))
		rc = sb_err_set(SB_EFORMAT, "%s/.sealbox/allowed_signers does not "
				"match the policy", v->path);
	free(want);
	return rc;
}

static int check_wraps(const struct sb_vault *v, struct sb_repo *repo)
{
	char rel[PATH_MAX];
	int rc;

	snprintf(rel, sizeof(rel), ".sealbox/keys/%s.wrap", v->info.name);
	if ((rc = check_committed(v, repo, rel, NULL, NULL)))
		return rc;
	return check_committed(v, repo, ".sealbox/keys/recovery.wrap", NULL,
			       NULL);
}

static int check_metadata(struct sb_vault *v)
{
	struct sb_repo *repo = NULL;
	uint8_t *pol = NULL, *as = NULL;
	size_t plen, alen;
	int rc;

	if ((rc = sb_repo_open(&repo, v->path)))
		return sb_err_set(rc, "%s is not a sealbox vault (no repository)",
				  v->path);
	if ((rc = check_committed(v, repo, ".sealbox/version", NULL, NULL)) ||
	    (rc = check_committed(v, repo, ".sealbox/policy", &pol, &plen)) ||
	    (rc = check_committed(v, repo, ".sealbox/allowed_signers", &as,
				  &alen)))
		goto out;
	if ((rc = sb_policy_parse(&v->policy, (char *)pol, plen))) {
		rc = sb_err_set(rc, "%s/.sealbox/policy: %s", v->path,
				sb_err_msg(rc));
		goto out;
	}
	if (!(rc = check_signers(v, as, alen)) && !(rc = check_wraps(v, repo)))
		rc = verify_head(v, repo);
out:
	free(pol);
	free(as);
	sb_repo_free(repo);
	return rc;
}

static int read_keyinfo(struct sb_vault *v)
{
	uint8_t *buf;
	size_t len;
	int rc = sb_file_read(v->keyfile, &buf, &len, META_MAX);

	if (rc)
		return sb_err_set(rc, "this device's key file %s is missing or "
				  "unreadable: %s", v->keyfile, strerror(-rc));
	if ((rc = sb_keyfile_info(&v->info, buf, len)))
		rc = sb_err_set(rc, "key file %s is damaged: %s", v->keyfile,
				sb_err_msg(rc));
	free(buf);
	return rc;
}

static int vault_alloc(struct sb_vault **out, const char *path)
{
	char real[PATH_MAX], key[PATH_MAX];
	struct sb_vault *v;

	if (!realpath(path, real))
		return sb_err_set(-errno, "cannot open vault %s: %s", path,
				  strerror(errno));
	if (!(v = calloc(1, sizeof(*v))) || !(v->path = strdup(real))) {
		free(v);
		return -ENOMEM;
	}
	if (sb_vault_path(key, v, SB_VAULT_KEYFILE) ||
	    !(v->keyfile = strdup(key))) {
		sb_vault_free(v);
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

int sb_vault_open(struct sb_vault **out, const char *path)
{
	struct sb_vault *v;
	int rc = vault_alloc(&v, path);

	if (rc)
		return rc;
	if ((rc = check_version(v)) || (rc = read_keyinfo(v)) ||
	    (rc = check_metadata(v))) {
		sb_vault_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

static int unwrap_secrets(struct sb_vault *v)
{
	char rel[PATH_MAX];
	uint8_t *wrapped = NULL, *plain = NULL;
	size_t wlen, plen;
	int rc;

	snprintf(rel, sizeof(rel), ".sealbox/keys/%s.wrap", v->keys->name);
	if ((rc = read_meta(v, rel, &wrapped, &wlen)))
		return rc;
	if ((rc = sb_unwrap(&plain, &plen, v->keys->box, wrapped, wlen)))
		rc = sb_err_set(rc, "%s/%s is damaged: %s", v->path, rel,
				sb_err_msg(rc));
	else if ((rc = sb_secrets_parse(&v->secrets, plain, plen)))
		rc = sb_err_set(rc, "%s/%s: %s", v->path, rel, sb_err_msg(rc));
	sb_secure_free(plain, plen);
	free(wrapped);
	return rc;
}

static int check_device(const struct sb_vault *v)
{
	const struct sb_policy_device *d = sb_policy_device(v->policy,
							    v->keys->name);

	if (!d)
		return sb_err_set(SB_EPOLICY, "device %s is not authorized in %s "
				  "(revoked?)", v->keys->name, v->path);
	if (memcmp(d->sign_pub, v->keys->sign->pub, SB_ED25519_LEN) ||
	    memcmp(d->box_pub, v->keys->box->pub, SB_X25519_LEN))
		return sb_err_set(SB_EPOLICY, "the policy of %s lists other keys "
				  "for device %s", v->path, v->keys->name);
	return 0;
}

int sb_vault_unlock(struct sb_vault *v, const char *pass, size_t passlen)
{
	uint8_t *buf;
	size_t len;
	int rc = sb_file_read(v->keyfile, &buf, &len, META_MAX);

	if (rc)
		return rc;
	rc = sb_keyfile_open(&v->keys, buf, len, pass, passlen);
	free(buf);
	if (rc == SB_EPASS)
		return sb_err_set(rc, "wrong passphrase for %s", v->path);
	if (rc)
		return sb_err_set(rc, "key file %s is damaged: %s", v->keyfile,
				  sb_err_msg(rc));
	if ((rc = check_device(v)) || (rc = unwrap_secrets(v))) {
		sb_device_keys_free(v->keys);
		v->keys = NULL;
	}
	return rc;
}

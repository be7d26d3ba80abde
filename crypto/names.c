#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "crypto/base64.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"
#include "crypto/names.h"

#define SIV_TAG 16
#define SIV_KEY 64
#define DIRID_KEY 32

static const char target_ad[] = "sealbox v1 symlink";

/*
 * Keys in secure memory. AES-SIV handles are not thread-safe and a key
 * schedule costs more than a name, so a small pool of keyed handles is
 * shared under a mutex; a thread that finds the pool empty opens its own.
 */
#define POOL 8

struct sb_names {
	uint8_t *siv_key;	/* SIV_KEY bytes, secure */
	uint8_t *dirid_key;	/* DIRID_KEY bytes, secure */
	pthread_mutex_t lock;
	gcry_cipher_hd_t pool[POOL];
	int npool;
};

int sb_names_new(struct sb_names **out, const struct sb_secrets *s)
{
	struct sb_names *n = calloc(1, sizeof(*n));
	int rc = -ENOMEM;

	if (!n)
		return rc;
	pthread_mutex_init(&n->lock, NULL);
	n->siv_key = sb_secure_alloc(SIV_KEY);
	n->dirid_key = sb_secure_alloc(DIRID_KEY);
	if (!n->siv_key || !n->dirid_key)
		goto fail;
	if ((rc = sb_secrets_names_key(n->siv_key, s)) ||
	    (rc = sb_secrets_dirid_key(n->dirid_key, s)))
		goto fail;
	*out = n;
	return 0;
fail:
	sb_names_free(n);
	return rc;
}

void sb_names_free(struct sb_names *n)
{
	int i;

	if (!n)
		return;
	for (i = 0; i < n->npool; i++)
		gcry_cipher_close(n->pool[i]);
	pthread_mutex_destroy(&n->lock);
	sb_secure_free(n->siv_key, SIV_KEY);
	sb_secure_free(n->dirid_key, DIRID_KEY);
	free(n);
}

static int siv_get(const struct sb_names *cn, gcry_cipher_hd_t *h)
{
	struct sb_names *n = (struct sb_names *)cn;

	pthread_mutex_lock(&n->lock);
	if (n->npool) {
		*h = n->pool[--n->npool];
		pthread_mutex_unlock(&n->lock);
		return 0;
	}
	pthread_mutex_unlock(&n->lock);
	if (gcry_cipher_open(h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_SIV,
			     GCRY_CIPHER_SECURE))
		return sb_err_set(SB_ECRYPTO, "cannot open AES-SIV");
	if (gcry_cipher_setkey(*h, n->siv_key, SIV_KEY)) {
		gcry_cipher_close(*h);
		return sb_err_set(SB_ECRYPTO, "cannot key AES-SIV");
	}
	return 0;
}

static void siv_put(const struct sb_names *cn, gcry_cipher_hd_t h)
{
	struct sb_names *n = (struct sb_names *)cn;

	pthread_mutex_lock(&n->lock);
	if (n->npool < POOL && !gcry_cipher_reset(h)) {
		n->pool[n->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&n->lock);
	if (h)
		gcry_cipher_close(h);
}

/* out = tag(16) || AES-SIV(ad, in); out has room for len + SIV_TAG. */
static int siv_seal(const struct sb_names *n, uint8_t *out, const void *ad,
		    size_t adlen, const void *in, size_t len)
{
	gcry_cipher_hd_t h;
	int rc = siv_get(n, &h);

	if (rc)
		return rc;
	if (gcry_cipher_authenticate(h, ad, adlen) ||
	    gcry_cipher_encrypt(h, out + SIV_TAG, len, in, len) ||
	    gcry_cipher_gettag(h, out, SIV_TAG))
		rc = sb_err_set(SB_ECRYPTO, "AES-SIV encryption failed");
	siv_put(n, h);
	return rc;
}

/* in = tag || ciphertext; out gets inlen - SIV_TAG bytes, wiped on failure. */
static int siv_open(const struct sb_names *n, uint8_t *out, const void *ad,
		    size_t adlen, const uint8_t *in, size_t inlen)
{
	size_t len = inlen - SIV_TAG;
	gcry_cipher_hd_t h;
	int rc = siv_get(n, &h);

	if (rc)
		return rc;
	if (gcry_cipher_set_decryption_tag(h, in, SIV_TAG) ||
	    gcry_cipher_authenticate(h, ad, adlen) ||
	    gcry_cipher_decrypt(h, out, len, in + SIV_TAG, len)) {
		sb_wipe(out, len);
		rc = sb_err_set(SB_EAUTH, "encrypted name does not authenticate");
	}
	siv_put(n, h);
	return rc;
}

void sb_names_root_id(uint8_t out[SB_DIRID_LEN])
{
	memset(out, 0, SB_DIRID_LEN);
}

int sb_names_dirid(const struct sb_names *n, uint8_t out[SB_DIRID_LEN],
		   const uint8_t parent[SB_DIRID_LEN], const char *name,
		   size_t len)
{
	uint8_t buf[SB_DIRID_LEN + SB_NAME_MAX];

	if (len == 0 || len > SB_NAME_MAX)
		return sb_err_set(-EINVAL, "bad directory name length %zu", len);
	memcpy(buf, parent, SB_DIRID_LEN);
	memcpy(buf + SB_DIRID_LEN, name, len);
	return sb_hmac_sha256(out, n->dirid_key, DIRID_KEY, buf,
			      SB_DIRID_LEN + len);
}

static int name_valid(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return len > SB_NAME_MAX ? -ENAMETOOLONG : 0;
}

int sb_names_encrypt(const struct sb_names *n, char *enc,
		     const uint8_t dirid[SB_DIRID_LEN], const char *name,
		     size_t len)
{
	uint8_t raw[SIV_TAG + SB_NAME_MAX];
	int rc = name_valid(name, len);

	if (rc)
		return sb_err_set(rc, "invalid file name");
	if ((rc = siv_seal(n, raw, dirid, SB_DIRID_LEN, name, len)))
		return rc;
	sb_base64url_encode(enc, raw, SIV_TAG + len);
	return 0;
}

/* Decodes base64url text of a SIV output of 1..max plaintext bytes. */
static int decode(uint8_t *raw, size_t *rawlen, const char *enc,
		  size_t enclen, size_t max)
{
	if (enclen < sb_base64url_len(SIV_TAG + 1) ||
	    enclen > sb_base64url_len(SIV_TAG + max))
		return sb_err_set(SB_EFORMAT, "not an encrypted name (length)");
	if (sb_base64url_decode(raw, rawlen, enc, enclen))
		return sb_err_set(SB_EFORMAT, "not an encrypted name");
	return 0;
}

int sb_names_decrypt(const struct sb_names *n, char *name, size_t *len,
		     const uint8_t dirid[SB_DIRID_LEN], const char *enc,
		     size_t enclen)
{
	uint8_t raw[SIV_TAG + SB_NAME_MAX + 3];
	size_t rawlen;
	int rc = decode(raw, &rawlen, enc, enclen, SB_NAME_MAX);

	if (rc)
		return rc;
	if ((rc = siv_open(n, (uint8_t *)name, dirid, SB_DIRID_LEN, raw,
			   rawlen)))
		return rc;
	*len = rawlen - SIV_TAG;
	name[*len] = '\0';
	if (name_valid(name, *len)) {
		sb_wipe(name, *len);
		return sb_err_set(SB_EFORMAT, "decrypted name is not valid");
	}
	return 0;
}

int sb_names_backing(char *backing, const char *enc)
{
	size_t len = strlen(enc);
	uint8_t h[32];

	if (len <= SB_NAMES_SHORT_MAX) {
		memcpy(backing, enc, len + 1);
		return 0;
	}
	sb_sha256(h, enc, len);
	backing[0] = '~';
	sb_base64url_encode(backing + 1, h, sizeof(h));
	return 1;
}

static int all_b64url(const char *s, size_t n)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789-_";

	return n && strspn(s, alpha) >= n;
}

enum sb_name_kind sb_names_kind(const char *backing)
{
	size_t len = strlen(backing);

	if (backing[0] == '.')
		return SB_NAME_INTERNAL;
	if (backing[0] == '~') {
		if (len == SB_NAMES_LONG_LEN && all_b64url(backing + 1, len - 1))
			return SB_NAME_LONG;
		if (len == SB_NAMES_LONG_LEN + 2 && !strcmp(backing + len - 2, ".n") &&
		    all_b64url(backing + 1, SB_NAMES_LONG_LEN - 1))
			return SB_NAME_SIDECAR;
		return SB_NAME_INVALID;
	}
	if (len <= SB_NAMES_SHORT_MAX && all_b64url(backing, len))
		return SB_NAME_SHORT;
	return SB_NAME_INVALID;
}

int sb_names_check_long(const char *backing, const char *enc, size_t enclen)
{
	char want[SB_NAMES_ENC_MAX];
	char copy[SB_NAMES_ENC_MAX];

	if (enclen <= SB_NAMES_SHORT_MAX || enclen >= sizeof(copy))
		return sb_err_set(SB_EAUTH, "long-name sidecar has a bad length");
	memcpy(copy, enc, enclen);
	copy[enclen] = '\0';
	sb_names_backing(want, copy);
	if (strcmp(want, backing))
		return sb_err_set(SB_EAUTH, "long-name sidecar does not match %s",
				  backing);
	return 0;
}

int sb_names_encrypt_target(const struct sb_names *n, char *enc,
			    const char *target, size_t len)
{
	uint8_t *raw;
	int rc;

	if (len == 0 || memchr(target, '\0', len))
		return sb_err_set(-EINVAL, "invalid symlink target");
	if (len > SB_SYMLINK_MAX)
		return sb_err_set(-ENAMETOOLONG, "symlink target too long");
	if (!(raw = malloc(SIV_TAG + len)))
		return -ENOMEM;
	rc = siv_seal(n, raw, target_ad, sizeof(target_ad) - 1, target, len);
	if (!rc)
		sb_base64url_encode(enc, raw, SIV_TAG + len);
	free(raw);
	return rc;
}

int sb_names_decrypt_target(const struct sb_names *n, char *target,
			    size_t *len, const char *enc, size_t enclen)
{
	uint8_t *raw = malloc(enclen);
	size_t rawlen;
	int rc;

	if (!raw)
		return -ENOMEM;
	rc = decode(raw, &rawlen, enc, enclen, SB_SYMLINK_MAX);
	if (!rc)
		rc = siv_open(n, (uint8_t *)target, target_ad,
			      sizeof(target_ad) - 1, raw, rawlen);
	if (!rc) {
		*len = rawlen - SIV_TAG;
		target[*len] = '\0';
	}
	free(raw);
	return rc;
}

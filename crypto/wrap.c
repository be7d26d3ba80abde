#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"
#include "crypto/wrap.h"

#define WRAP_MAGIC	"SBXW"
#define WRAP_VERSION	1
#define WRAP_EPH	5
#define WRAP_RCPT	(WRAP_EPH + SB_X25519_LEN)
#define WRAP_NONCE	(WRAP_RCPT + SB_X25519_LEN)	/* = AAD length */
#define WRAP_NONCE_LEN	12
#define WRAP_TAG	16
#define WRAP_BODY	(WRAP_NONCE + WRAP_NONCE_LEN)
#define WRAP_OVERHEAD	(WRAP_BODY + WRAP_TAG)
#define WRAP_KEY	32
#define WRAP_MAX	65536	/* plaintext bytes: vault secrets are at most 32805 */

static const char wrap_info[] = "sealbox v1 wrap";
static const uint8_t x25519_base[SB_X25519_LEN] = { 9 };

/* RFC 7748 decodeScalar25519, kept in the key so it is what we store. */
static void x25519_clamp(uint8_t s[SB_X25519_LEN])
{
	s[0] &= 248;
	s[31] &= 127;
	s[31] |= 64;
}

static int x25519_is_zero(const uint8_t v[SB_X25519_LEN])
{
	static const uint8_t zero[SB_X25519_LEN];

	return sb_memeq(v, zero, SB_X25519_LEN);
}

/*
 * out = X25519(scalar, point), RFC 7748 byte strings (little-endian, as
 * gcry_ecc_mul_point takes and returns them for Curve25519; it clamps
 * the scalar and masks the point's top bit itself). A low-order point
 * gives zero, which libgcrypt does not treat as an error: we do.
 */
static int x25519(uint8_t out[SB_X25519_LEN], const uint8_t scalar[SB_X25519_LEN],
		  const uint8_t point[SB_X25519_LEN])
{
	gcry_error_t err = gcry_ecc_mul_point(GCRY_ECC_CURVE25519, out,
					      scalar, point);

	if (err)
		return sb_err_set(SB_ECRYPTO, "X25519 failed: %s",
				  gcry_strerror(err));
	if (x25519_is_zero(out))
		return sb_err_set(SB_EFORMAT,
				  "X25519 public key is a low-order point");
	return 0;
}

void sb_boxkey_free(struct sb_boxkey *k)
{
	sb_secure_free(k, sizeof(*k));
}

int sb_boxkey_from_secret(struct sb_boxkey **out,
			  const uint8_t secret[SB_X25519_LEN])
{
	struct sb_boxkey *k = sb_secure_alloc(sizeof(*k));
	int rc;

	if (!k)
		return -ENOMEM;
	memcpy(k->secret, secret, SB_X25519_LEN);
	x25519_clamp(k->secret);
	if ((rc = x25519(k->pub, k->secret, x25519_base))) {
		sb_boxkey_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int sb_boxkey_generate(struct sb_boxkey **out)
{
	uint8_t *secret = sb_secure_alloc(SB_X25519_LEN);
	int rc;

	if (!secret)
		return -ENOMEM;
	sb_random_key(secret, SB_X25519_LEN);
	rc = sb_boxkey_from_secret(out, secret);
	sb_secure_free(secret, SB_X25519_LEN);
	return rc;
}

/* The AES key of one wrapped blob; hdr is the blob's first WRAP_NONCE bytes. */
static int wrap_key(uint8_t key[WRAP_KEY], const uint8_t *scalar,
		    const uint8_t *point, const uint8_t *hdr)
{
	uint8_t *shared = sb_secure_alloc(SB_X25519_LEN);
	int rc;

	if (!shared)
		return -ENOMEM;
	if (!(rc = x25519(shared, scalar, point)))
		rc = sb_hkdf_sha256(key, WRAP_KEY, shared, SB_X25519_LEN,
				    hdr + WRAP_EPH, 2 * SB_X25519_LEN,
				    wrap_info, sizeof(wrap_info) - 1);
	sb_secure_free(shared, SB_X25519_LEN);
	return rc;
}

static int gcm_open(gcry_cipher_hd_t *h, const uint8_t key[WRAP_KEY],
		    const uint8_t *nonce, const uint8_t *aad)
{
	if (gcry_cipher_open(h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM,
			     GCRY_CIPHER_SECURE))
		return sb_err_set(SB_ECRYPTO, "cannot open AES-256-GCM");
	if (gcry_cipher_setkey(*h, key, WRAP_KEY) ||
	    gcry_cipher_setiv(*h, nonce, WRAP_NONCE_LEN) ||
	    gcry_cipher_authenticate(*h, aad, WRAP_NONCE)) {
		gcry_cipher_close(*h);
		return sb_err_set(SB_ECRYPTO, "cannot key AES-256-GCM");
	}
	return 0;
}

/* Encrypts plain into blob's body and writes the tag after it. */
static int wrap_seal(uint8_t *blob, const uint8_t key[WRAP_KEY],
		     const uint8_t *plain, size_t len)
{
	gcry_cipher_hd_t h;
	int rc;

	if ((rc = gcm_open(&h, key, blob + WRAP_NONCE, blob)))
		return rc;
	gcry_cipher_final(h);
	if (gcry_cipher_encrypt(h, blob + WRAP_BODY, len, plain, len) ||
	    gcry_cipher_gettag(h, blob + WRAP_BODY + len, WRAP_TAG))
		rc = sb_err_set(SB_ECRYPTO, "AES-256-GCM encryption failed");
	gcry_cipher_close(h);
	return rc;
}

/* Decrypts the body of blob (len bytes of ciphertext) into plain. */
static int wrap_unseal(uint8_t *plain, const uint8_t key[WRAP_KEY],
		       const uint8_t *blob, size_t len)
{
	gcry_cipher_hd_t h;
	int rc;

	if ((rc = gcm_open(&h, key, blob + WRAP_NONCE, blob)))
		return rc;
	gcry_cipher_final(h);
	if (gcry_cipher_decrypt(h, plain, len, blob + WRAP_BODY, len))
		rc = sb_err_set(SB_ECRYPTO, "AES-256-GCM decryption failed");
	else if (gcry_cipher_checktag(h, blob + WRAP_BODY + len, WRAP_TAG))
		rc = sb_err_set(SB_EAUTH,
				"wrapped secrets fail authentication");
	gcry_cipher_close(h);
	return rc;
}

static int wrap_header(uint8_t *blob, struct sb_boxkey **eph,
		       const uint8_t recipient[SB_X25519_LEN])
{
	int rc = sb_boxkey_generate(eph);

	if (rc)
		return rc;
	memcpy(blob, WRAP_MAGIC, 4);
	blob[4] = WRAP_VERSION;
	memcpy(blob + WRAP_EPH, (*eph)->pub, SB_X25519_LEN);
	memcpy(blob + WRAP_RCPT, recipient, SB_X25519_LEN);
	sb_random_nonce(blob + WRAP_NONCE, WRAP_NONCE_LEN);
	return 0;
}

int sb_wrap(uint8_t **out, size_t *outlen,
	    const uint8_t recipient[SB_X25519_LEN],
	    const uint8_t *plain, size_t len)
{
	size_t total = WRAP_OVERHEAD + len;
	struct sb_boxkey *eph = NULL;
	uint8_t *blob, *key = NULL;
	int rc;

	if (len > WRAP_MAX)
		return sb_err_set(-EINVAL, "%zu bytes are too many to wrap",
				  len);
	if (!(blob = malloc(total)))
		return -ENOMEM;
	if (!(key = sb_secure_alloc(WRAP_KEY))) {
		rc = -ENOMEM;
		goto out_free_blob;
	}
	if ((rc = wrap_header(blob, &eph, recipient)))
		goto out_free_blob;
	if ((rc = wrap_key(key, eph->secret, recipient, blob)))
		goto out_free_blob;
	if ((rc = wrap_seal(blob, key, plain, len)))
		goto out_free_blob;
	*out = blob;
	*outlen = total;
	blob = NULL;
out_free_blob:
	free(blob);
	sb_boxkey_free(eph);
	sb_secure_free(key, WRAP_KEY);
	return rc;
}

static int wrap_parse(const struct sb_boxkey *k, const uint8_t *in,
		      size_t inlen)
{
	if (inlen < WRAP_EPH || memcmp(in, WRAP_MAGIC, 4))
		return sb_err_set(SB_EFORMAT, "not wrapped secrets");
	if (in[4] != WRAP_VERSION)
		return sb_err_set(SB_EVERSION,
				  "wrapped secrets version %u unknown", in[4]);
	if (inlen < WRAP_OVERHEAD)
		return sb_err_set(SB_EFORMAT, "wrapped secrets truncated");
	if (inlen - WRAP_OVERHEAD > WRAP_MAX)
		return sb_err_set(SB_EFORMAT, "wrapped secrets too large");
	if (!sb_memeq(in + WRAP_RCPT, k->pub, SB_X25519_LEN))
		return sb_err_set(SB_EAUTH,
				  "secrets are wrapped for another key");
	return 0;
}

int sb_unwrap(uint8_t **plain, size_t *len, const struct sb_boxkey *k,
	      const uint8_t *in, size_t inlen)
{
	uint8_t *key = NULL, *p = NULL;
	size_t n;
	int rc;

	if ((rc = wrap_parse(k, in, inlen)))
		return rc;
	n = inlen - WRAP_OVERHEAD;
	if (!(key = sb_secure_alloc(WRAP_KEY)) || !(p = sb_secure_alloc(n))) {
		rc = -ENOMEM;
		goto out_free;
	}
	if ((rc = wrap_key(key, k->secret, in + WRAP_EPH, in)))
		goto out_free;
	if ((rc = wrap_unseal(p, key, in, n)))
		goto out_free;
	*plain = p;
	*len = n;
	p = NULL;
out_free:
	sb_secure_free(p, n);
	sb_secure_free(key, WRAP_KEY);
	return rc;
}

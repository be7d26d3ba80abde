#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/keyfile.h"

/*
 * Layout (crypto/FORMAT.md "Device key file"); n is the name length.
 * Offsets after the name are relative to kf_pubs(n).
 */
#define KF_MAGIC	"SBXK"
#define KF_VERSION	1
#define KF_PARAMS	5	/* time, mem_kib, lanes: be32 each */
#define KF_SALT		17
#define KF_NAMELEN	(KF_SALT + SB_KDF_SALT)
#define KF_NAME		(KF_NAMELEN + 1)
#define KF_NONCE_LEN	12
#define KF_TAG		16
#define KF_HASH		32
#define KF_KEY		32
#define KF_PLAIN	(SB_ED25519_LEN + SB_X25519_LEN)
/* From the public keys to the end of the file. */
#define KF_TAIL		(SB_ED25519_LEN + SB_X25519_LEN + KF_NONCE_LEN + \
			 KF_PLAIN + KF_TAG + KF_HASH)
#define KF_MIN		(KF_NAME + 1 + KF_TAIL)

/* Offset of the public keys; everything before the nonce is the AAD. */
static size_t kf_pubs(size_t n)
{
	return KF_NAME + n;
}

static size_t kf_nonce(size_t n)
{
	return kf_pubs(n) + SB_ED25519_LEN + SB_X25519_LEN;
}

static size_t kf_body(size_t n)
{
	return kf_nonce(n) + KF_NONCE_LEN + KF_PLAIN + KF_TAG;
}

int sb_device_name_valid(const char *name)
{
	size_t i, n = strnlen(name, SB_DEVICE_NAME_MAX + 1);

	if (n == 0 || n > SB_DEVICE_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

static int name_invalid(void)
{
	return sb_err_set(-EINVAL, "invalid device name: use 1 to %d of "
			  "A-Z a-z 0-9 . _ -, not starting with '.'",
			  SB_DEVICE_NAME_MAX);
}

void sb_device_keys_free(struct sb_device_keys *k)
{
	if (!k)
		return;
	sb_signkey_free(k->sign);
	sb_boxkey_free(k->box);
	free(k);
}

static int device_keys_new(struct sb_device_keys **out, const char *name)
{
	struct sb_device_keys *k;

	if (!sb_device_name_valid(name))
		return name_invalid();
	if (!(k = calloc(1, sizeof(*k))))
		return -ENOMEM;
	memcpy(k->name, name, strlen(name) + 1);
	*out = k;
	return 0;
}

int sb_device_keys_generate(struct sb_device_keys **out, const char *name)
{
	struct sb_device_keys *k;
	int rc;

	if ((rc = device_keys_new(&k, name)))
		return rc;
	if ((rc = sb_signkey_generate(&k->sign)) ||
	    (rc = sb_boxkey_generate(&k->box))) {
		sb_device_keys_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

static int gcm_open(gcry_cipher_hd_t *h, const uint8_t *key,
		    const uint8_t *buf, size_t n)
{
	if (gcry_cipher_open(h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM,
			     GCRY_CIPHER_SECURE))
		return sb_err_set(SB_ECRYPTO, "cannot open AES-256-GCM");
	if (gcry_cipher_setkey(*h, key, KF_KEY) ||
	    gcry_cipher_setiv(*h, buf + kf_nonce(n), KF_NONCE_LEN) ||
	    gcry_cipher_authenticate(*h, buf, kf_nonce(n))) {
		gcry_cipher_close(*h);
		return sb_err_set(SB_ECRYPTO, "cannot key AES-256-GCM");
	}
	gcry_cipher_final(*h);
	return 0;
}

/* Encrypts plain into buf after its nonce, with the tag after it. */
static int kf_encrypt(uint8_t *buf, size_t n, const uint8_t *key,
		      const uint8_t *plain)
{
	uint8_t *ct = buf + kf_nonce(n) + KF_NONCE_LEN;
	gcry_cipher_hd_t h;
	int rc;

	if ((rc = gcm_open(&h, key, buf, n)))
		return rc;
	if (gcry_cipher_encrypt(h, ct, KF_PLAIN, plain, KF_PLAIN) ||
	    gcry_cipher_gettag(h, ct + KF_PLAIN, KF_TAG))
		rc = sb_err_set(SB_ECRYPTO, "AES-256-GCM encryption failed");
	gcry_cipher_close(h);
	return rc;
}

/* plain (secure) = the decrypted secrets, or SB_EPASS. */
static int kf_decrypt(uint8_t *plain, const uint8_t *buf, size_t n,
		      const uint8_t *key)
{
	const uint8_t *ct = buf + kf_nonce(n) + KF_NONCE_LEN;
	gcry_cipher_hd_t h;
	int rc;

	if ((rc = gcm_open(&h, key, buf, n)))
		return rc;
	if (gcry_cipher_decrypt(h, plain, KF_PLAIN, ct, KF_PLAIN))
		rc = sb_err_set(SB_ECRYPTO, "AES-256-GCM decryption failed");
	else if (gcry_cipher_checktag(h, ct + KF_PLAIN, KF_TAG))
		rc = sb_err_set(SB_EPASS, "wrong passphrase for the key file");
	gcry_cipher_close(h);
	return rc;
}

/* Everything but the encrypted part: header, name, public keys. */
static void kf_put_public(uint8_t *buf, const struct sb_device_keys *k,
			  const struct sb_kdf_params *p, size_t n)
{
	memcpy(buf, KF_MAGIC, 4);
	buf[4] = KF_VERSION;
	sb_put_be32(buf + KF_PARAMS, p->time);
	sb_put_be32(buf + KF_PARAMS + 4, p->mem_kib);
	sb_put_be32(buf + KF_PARAMS + 8, p->lanes);
	sb_random_id(buf + KF_SALT, SB_KDF_SALT);
	buf[KF_NAMELEN] = (uint8_t)n;
	memcpy(buf + KF_NAME, k->name, n);
	memcpy(buf + kf_pubs(n), k->sign->pub, SB_ED25519_LEN);
	memcpy(buf + kf_pubs(n) + SB_ED25519_LEN, k->box->pub, SB_X25519_LEN);
	sb_random_nonce(buf + kf_nonce(n), KF_NONCE_LEN);
}

static int kf_seal_check(const struct sb_device_keys *k,
			 const struct sb_kdf_params *p, size_t passlen)
{
	if (!sb_device_name_valid(k->name))
		return name_invalid();
	if (passlen == 0)
		return sb_err_set(-EINVAL, "empty passphrase");
	return sb_kdf_check(p);
}

int sb_keyfile_seal(uint8_t **out, size_t *outlen,
		    const struct sb_device_keys *k,
		    const struct sb_kdf_params *p,
		    const char *pass, size_t passlen)
{
	uint8_t *buf = NULL, *key = NULL, *plain = NULL;
	size_t n, len;
	int rc;

	if ((rc = kf_seal_check(k, p, passlen)))
		return rc;
	n = strlen(k->name);
	len = kf_body(n) + KF_HASH;
	if (!(buf = malloc(len)) || !(key = sb_secure_alloc(KF_KEY)) ||
	    !(plain = sb_secure_alloc(KF_PLAIN))) {
		rc = -ENOMEM;
		goto out_free;
	}
	kf_put_public(buf, k, p, n);
	memcpy(plain, k->sign->seed, SB_ED25519_LEN);
	memcpy(plain + SB_ED25519_LEN, k->box->secret, SB_X25519_LEN);
	if ((rc = sb_kdf_derive(key, p, buf + KF_SALT, pass, passlen)) ||
	    (rc = kf_encrypt(buf, n, key, plain)))
		goto out_free;
	sb_sha256(buf + kf_body(n), buf, kf_body(n));
	*out = buf;
	*outlen = len;
	buf = NULL;
out_free:
	free(buf);
	sb_secure_free(plain, KF_PLAIN);
	sb_secure_free(key, KF_KEY);
	return rc;
}

/*
 * Checks the framing and the trailing hash and fills info; *namelen
 * receives n. The KDF parameters are reported as stored, not judged.
 */
static int kf_parse(struct sb_keyfile_info *info, size_t *namelen,
		    const uint8_t *buf, size_t len)
{
	uint8_t hash[KF_HASH];
	size_t n;

	if (len < KF_PARAMS || memcmp(buf, KF_MAGIC, 4))
		return sb_err_set(SB_EFORMAT, "not a sealbox key file");
	if (buf[4] != KF_VERSION)
		return sb_err_set(SB_EVERSION, "key file version %u unknown",
				  buf[4]);
	if (len < KF_MIN || (n = buf[KF_NAMELEN]) == 0 ||
	    n > SB_DEVICE_NAME_MAX || len != kf_body(n) + KF_HASH)
		return sb_err_set(SB_EFORMAT, "key file truncated or malformed");
	sb_sha256(hash, buf, kf_body(n));
	if (!sb_memeq(hash, buf + kf_body(n), KF_HASH))
		return sb_err_set(SB_EFORMAT,
				  "key file damaged (checksum mismatch)");
	memcpy(info->name, buf + KF_NAME, n);
	info->name[n] = '\0';
	if (!sb_device_name_valid(info->name))
		return sb_err_set(SB_EFORMAT, "key file has an invalid device name");
	info->kdf.time = sb_get_be32(buf + KF_PARAMS);
	info->kdf.mem_kib = sb_get_be32(buf + KF_PARAMS + 4);
	info->kdf.lanes = sb_get_be32(buf + KF_PARAMS + 8);
	memcpy(info->sign_pub, buf + kf_pubs(n), SB_ED25519_LEN);
	memcpy(info->box_pub, buf + kf_pubs(n) + SB_ED25519_LEN, SB_X25519_LEN);
	*namelen = n;
	return 0;
}

int sb_keyfile_info(struct sb_keyfile_info *info,
		    const uint8_t *buf, size_t len)
{
	struct sb_keyfile_info tmp;
	size_t n;
	int rc = kf_parse(&tmp, &n, buf, len);

	if (!rc)
		*info = tmp;
	return rc;
}

/* The keys from the decrypted secrets, which must match the public keys. */
static int kf_keys(struct sb_device_keys **out,
		   const struct sb_keyfile_info *info, const uint8_t *plain)
{
	struct sb_device_keys *k;
	int rc;

	if ((rc = device_keys_new(&k, info->name)))
		return rc;
	if ((rc = sb_signkey_from_seed(&k->sign, plain)) ||
	    (rc = sb_boxkey_from_secret(&k->box, plain + SB_ED25519_LEN)))
		goto out_free;
	if (!sb_memeq(k->sign->pub, info->sign_pub, SB_ED25519_LEN) ||
	    !sb_memeq(k->box->pub, info->box_pub, SB_X25519_LEN)) {
		rc = sb_err_set(SB_EFORMAT, "key file public keys do not "
				"match its secret keys");
		goto out_free;
	}
	*out = k;
	k = NULL;
out_free:
	sb_device_keys_free(k);
	return rc;
}

int sb_keyfile_open(struct sb_device_keys **out,
		    const uint8_t *buf, size_t len,
		    const char *pass, size_t passlen)
{
	struct sb_keyfile_info info;
	uint8_t *key = NULL, *plain = NULL;
	size_t n;
	int rc;

	if ((rc = kf_parse(&info, &n, buf, len)) ||
	    (rc = sb_kdf_check(&info.kdf)))
		return rc;
	if (passlen == 0)
		return sb_err_set(SB_EPASS, "wrong passphrase for the key file");
	if (!(key = sb_secure_alloc(KF_KEY)) ||
	    !(plain = sb_secure_alloc(KF_PLAIN))) {
		rc = -ENOMEM;
		goto out_free;
	}
	if ((rc = sb_kdf_derive(key, &info.kdf, buf + KF_SALT, pass, passlen)) ||
	    (rc = kf_decrypt(plain, buf, n, key)))
		goto out_free;
	rc = kf_keys(out, &info, plain);
out_free:
	sb_secure_free(plain, KF_PLAIN);
	sb_secure_free(key, KF_KEY);
	return rc;
}

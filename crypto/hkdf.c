#include <string.h>

#include <gcrypt.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"

static int hmac_open(gcry_mac_hd_t *h, const void *key, size_t keylen)
{
	if (gcry_mac_open(h, GCRY_MAC_HMAC_SHA256, GCRY_MAC_FLAG_SECURE, NULL))
		return sb_err_set(SB_ECRYPTO, "cannot open HMAC-SHA256");
	if (gcry_mac_setkey(*h, key, keylen)) {
		gcry_mac_close(*h);
		return sb_err_set(SB_ECRYPTO, "cannot key HMAC-SHA256");
	}
	return 0;
}

static int hmac_finish(gcry_mac_hd_t h, uint8_t out[32])
{
	size_t len = 32;
	int rc = gcry_mac_read(h, out, &len) ? SB_ECRYPTO : 0;

	gcry_mac_close(h);
	return rc;
}

int sb_hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
		   const void *data, size_t len)
{
	gcry_mac_hd_t h;
	int rc = hmac_open(&h, key, keylen);

	if (rc)
		return rc;
	gcry_mac_write(h, data, len);
	return hmac_finish(h, out);
}

static int hkdf_expand(uint8_t *out, size_t outlen, const uint8_t prk[32],
		       const void *info, size_t infolen)
{
	uint8_t *t = sb_secure_alloc(32);
	uint8_t counter;
	size_t done = 0, tlen = 0;
	gcry_mac_hd_t h;
	int rc = 0;

	if (!t)
		return -ENOMEM;
	for (counter = 1; done < outlen; counter++) {
		size_t n = outlen - done < 32 ? outlen - done : 32;

		if ((rc = hmac_open(&h, prk, 32)))
			break;
		gcry_mac_write(h, t, tlen);
		gcry_mac_write(h, info, infolen);
		gcry_mac_write(h, &counter, 1);
		if ((rc = hmac_finish(h, t)))
			break;
		tlen = 32;
		memcpy(out + done, t, n);
		done += n;
	}
	sb_secure_free(t, 32);
	return rc;
}

int sb_hkdf_sha256(uint8_t *out, size_t outlen,
		   const void *ikm, size_t ikmlen,
		   const void *salt, size_t saltlen,
		   const void *info, size_t infolen)
{
	static const uint8_t zeros[32];
	uint8_t *prk;
	int rc;

	if (outlen == 0 || outlen > 255 * 32)
		return sb_err_set(-EINVAL, "HKDF output length %zu out of range",
				  outlen);
	if (!salt || !saltlen) {
		salt = zeros;
		saltlen = sizeof(zeros);
	}
	if (!(prk = sb_secure_alloc(32)))
		return -ENOMEM;
	rc = sb_hmac_sha256(prk, salt, saltlen, ikm, ikmlen);
	if (!rc)
		rc = hkdf_expand(out, outlen, prk, info, infolen);
	sb_secure_free(prk, 32);
	return rc;
}

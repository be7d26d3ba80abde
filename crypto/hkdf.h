#ifndef SB_HKDF_H
#define SB_HKDF_H

/*
 * HMAC-SHA256 and HKDF-SHA256 (RFC 5869), our own code over libgcrypt's
 * HMAC since libgcrypt 1.10 has no HKDF.
 */

#include <stddef.h>
#include <stdint.h>

/* out = HMAC-SHA256(key, data). Returns 0 or SB_ECRYPTO. */
int sb_hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
		   const void *data, size_t len);

/*
 * HKDF-SHA256: extract with salt (NULL/0 means 32 zero bytes) then expand
 * with info to outlen bytes (at most 255 * 32). out may be secure memory;
 * intermediate keys are wiped. Returns 0, -EINVAL or SB_ECRYPTO.
 */
int sb_hkdf_sha256(uint8_t *out, size_t outlen,
		   const void *ikm, size_t ikmlen,
		   const void *salt, size_t saltlen,
		   const void *info, size_t infolen);

#endif

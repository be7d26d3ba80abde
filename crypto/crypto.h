#ifndef SB_CRYPTO_H
#define SB_CRYPTO_H

/*
 * Library set-up and the primitives every other crypto module uses:
 * secure memory, randomness, wiping and constant-time comparison.
 * Only crypto/ includes gcrypt.h; everything above sees these.
 */

#include <stddef.h>
#include <stdint.h>

/*
 * Initialises libgcrypt with secure memory (a pool of pool_size bytes,
 * 0 for the default). Must be called once, before threads start and
 * before any other sb_* crypto function. Returns 0 or SB_ECRYPTO.
 */
int sb_crypto_init(size_t pool_size);

/*
 * Secure (non-swappable, wiped on free) memory. sb_secure_alloc returns
 * zeroed memory or NULL. sb_secure_free wipes n bytes (pass the size
 * allocated) and frees; NULL-safe.
 */
void *sb_secure_alloc(size_t n);
void sb_secure_free(void *p, size_t n);

/* Overwrites n bytes in a way the compiler cannot drop. */
void sb_wipe(void *p, size_t n);

/* Constant-time comparison: 1 when equal, 0 otherwise. */
int sb_memeq(const void *a, const void *b, size_t n);

/* Key-grade randomness (GCRY_VERY_STRONG_RANDOM). */
void sb_random_key(void *buf, size_t n);
/* Random identifiers (GCRY_STRONG_RANDOM). */
void sb_random_id(void *buf, size_t n);
/* Nonces (gcry_create_nonce). */
void sb_random_nonce(void *buf, size_t n);

/* SHA-256 and SHA-512 of a buffer. */
void sb_sha256(uint8_t out[32], const void *data, size_t len);
void sb_sha512(uint8_t out[64], const void *data, size_t len);

/* Big-endian helpers used by every on-disk format. */
static inline void sb_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static inline uint32_t sb_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void sb_put_be64(uint8_t *p, uint64_t v)
{
	sb_put_be32(p, v >> 32);
	sb_put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t sb_get_be64(const uint8_t *p)
{
	return (uint64_t)sb_get_be32(p) << 32 | sb_get_be32(p + 4);
}

#endif

#ifndef SB_SHA1_H
#define SB_SHA1_H

/*
 * SHA-1, for the names git gives objects and packs that this process
 * writes itself (sync/packwrite.c): ciphertext it produced, never bytes
 * from elsewhere. Whatever arrives from a remote is named and checked by
 * libgit2's indexer with its collision-detecting SHA-1, not by this.
 * HMAC-SHA1 is OpenSSH's hashing of known_hosts names
 * (sync/knownhosts.c), nothing more.
 *
 * Ownership: sb_sha1_init() -> sb_sha1_final() or sb_sha1_free().
 */

#include <stddef.h>
#include <stdint.h>

#define SB_SHA1_LEN 20

struct sb_sha1 {
	void *hd;		/* libgcrypt's handle */
};

/* 0, or SB_ECRYPTO when libgcrypt cannot open SHA-1. */
int sb_sha1_init(struct sb_sha1 *s);
void sb_sha1_update(struct sb_sha1 *s, const void *p, size_t n);
/* Writes the digest and frees the state. */
void sb_sha1_final(struct sb_sha1 *s, uint8_t out[SB_SHA1_LEN]);
/* Frees the state without a digest; NULL handle safe. */
void sb_sha1_free(struct sb_sha1 *s);

/* The digest of the concatenation of two buffers. */
void sb_sha1_2(uint8_t out[SB_SHA1_LEN], const void *a, size_t alen,
	       const void *b, size_t blen);

/* HMAC-SHA1 of msg under key; 0 or SB_ECRYPTO. */
int sb_hmac_sha1(uint8_t out[SB_SHA1_LEN], const void *key, size_t keylen,
		 const void *msg, size_t len);

#endif

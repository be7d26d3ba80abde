#ifndef SB_WRAP_H
#define SB_WRAP_H

/*
 * X25519 key wrapping of the vault secrets for a device or for the
 * recovery key (crypto/FORMAT.md "Wrapped secrets").
 *
 *   "SBXW" | version u8 = 1 | ephemeral public (32) | recipient public (32)
 *   | nonce (12) | AES-256-GCM ciphertext | tag (16)
 *   key = HKDF-SHA256(X25519(eph, recipient), salt = eph pub || recipient
 *   pub, info = "sealbox v1 wrap"); AAD = everything before the nonce.
 *
 * Ownership: struct sb_boxkey in secure memory, sb_boxkey_free().
 */

#include <stddef.h>
#include <stdint.h>

#define SB_X25519_LEN 32

struct sb_boxkey {
	uint8_t secret[SB_X25519_LEN];	/* clamped scalar */
	uint8_t pub[SB_X25519_LEN];
};

int sb_boxkey_generate(struct sb_boxkey **out);
/* From 32 secret bytes (clamped here). */
int sb_boxkey_from_secret(struct sb_boxkey **out,
			  const uint8_t secret[SB_X25519_LEN]);
void sb_boxkey_free(struct sb_boxkey *k);

/* *out is malloc'd (it is public). */
int sb_wrap(uint8_t **out, size_t *outlen,
	    const uint8_t recipient[SB_X25519_LEN],
	    const uint8_t *plain, size_t len);

/*
 * *plain is secure memory: free with sb_secure_free(*plain, *len).
 * Returns 0, SB_EFORMAT, SB_EVERSION, SB_EAUTH (tampered or not ours).
 */
int sb_unwrap(uint8_t **plain, size_t *len, const struct sb_boxkey *k,
	      const uint8_t *in, size_t inlen);

#endif

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
 * X25519 is RFC 7748's function on 32-byte little-endian strings. A
 * public key of low order (shared secret all zero) is refused with
 * SB_EFORMAT, whether it is the recipient's (sb_wrap) or the ephemeral
 * key in a blob (sb_unwrap). Wrapped plaintexts are at most 64 KiB.
 *
 * Ownership: struct sb_boxkey in secure memory, sb_boxkey_free().
 */

#include <stddef.h>
#include <stdint.h>

#define SB_X25519_LEN 32

struct sb_boxkey {
	uint8_t secret[SB_X25519_LEN];	/* clamped scalar */
	uint8_t pub[SB_X25519_LEN];	/* X25519(secret, 9) */
};

/* A random key. Returns 0, -ENOMEM or SB_ECRYPTO. */
int sb_boxkey_generate(struct sb_boxkey **out);
/* From 32 secret bytes (clamped here; secret itself is not changed). */
int sb_boxkey_from_secret(struct sb_boxkey **out,
			  const uint8_t secret[SB_X25519_LEN]);
/* Wipes and frees; NULL-safe. */
void sb_boxkey_free(struct sb_boxkey *k);

/*
 * Wraps len bytes of plain for recipient with a fresh ephemeral key and
 * nonce. *out is malloc'd (it is public; free()). Returns 0, -EINVAL
 * (more than 64 KiB), SB_EFORMAT (low-order recipient), -ENOMEM or
 * SB_ECRYPTO.
 */
int sb_wrap(uint8_t **out, size_t *outlen,
	    const uint8_t recipient[SB_X25519_LEN],
	    const uint8_t *plain, size_t len);

/*
 * Unwraps a blob made for k. *plain is secure memory: free with
 * sb_secure_free(*plain, *len). Returns 0, SB_EFORMAT (not a wrapped
 * blob, truncated, low-order ephemeral key), SB_EVERSION, SB_EAUTH
 * (wrapped for another key: "secrets are wrapped for another key";
 * tampered: "wrapped secrets fail authentication"), -ENOMEM or
 * SB_ECRYPTO. On failure *plain is untouched and anything decrypted has
 * been wiped.
 */
int sb_unwrap(uint8_t **plain, size_t *len, const struct sb_boxkey *k,
	      const uint8_t *in, size_t inlen);

#endif

#ifndef SB_SECRETS_H
#define SB_SECRETS_H

/*
 * The vault secrets and the keys derived from them (DESIGN sec. 7).
 *
 * A vault has one random 32-byte base secret (names and directory IDs) and
 * one random 32-byte content secret per key epoch (epoch 0 at creation; a
 * revocation adds one). Every working key is HKDF-SHA256 of a secret with
 * one label per purpose (crypto/FORMAT.md lists them). The serialized form
 * is what crypto/wrap.h wraps for each device and for the recovery key.
 *
 * Ownership: struct sb_secrets lives in secure memory; create with
 * sb_secrets_generate() or sb_secrets_parse(), free with sb_secrets_free().
 */

#include <stddef.h>
#include <stdint.h>

#define SB_SECRET_LEN 32
#define SB_MAX_EPOCHS 1024

struct sb_secrets {
	uint8_t base[SB_SECRET_LEN];
	uint32_t nepochs;		/* epochs 0 .. nepochs - 1 */
	uint8_t (*content)[SB_SECRET_LEN];	/* nepochs entries, secure */
};

/* A new vault: random base secret and content secret for epoch 0. */
int sb_secrets_generate(struct sb_secrets **out);

/* Adds a random content secret for a new epoch; returns its number in *epoch. */
int sb_secrets_add_epoch(struct sb_secrets *s, uint32_t *epoch);

/*
 * Serialization: "version(1)=1 || nepochs(be32) || base || content[0..]".
 * sb_secrets_serialize allocates *out in secure memory (free it with
 * sb_secure_free(*out, *outlen)).
 */
int sb_secrets_serialize(uint8_t **out, size_t *outlen,
			 const struct sb_secrets *s);
int sb_secrets_parse(struct sb_secrets **out, const uint8_t *buf, size_t len);

void sb_secrets_free(struct sb_secrets *s);

/*
 * Derived keys, written into caller-provided (secure) buffers:
 * content key of an epoch (32 bytes), names key (64 bytes, AES-256-SIV),
 * directory-ID key (32 bytes, HMAC-SHA256).
 */
int sb_secrets_content_key(uint8_t out[32], const struct sb_secrets *s,
			   uint32_t epoch);
int sb_secrets_names_key(uint8_t out[64], const struct sb_secrets *s);
int sb_secrets_dirid_key(uint8_t out[32], const struct sb_secrets *s);

#endif

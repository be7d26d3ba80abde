#ifndef SB_KEYFILE_H
#define SB_KEYFILE_H

/*
 * This device's private keys, stored locally under the passphrase
 * (crypto/FORMAT.md "Device key file"). Public parts are readable without
 * the passphrase (for `sealbox info`) and authenticated as AAD.
 *
 *   body = "SBXK" | version u8 = 1 | kdf time be32 | mem_kib be32 |
 *          lanes be32 | salt (16) | name length u8 | name |
 *          ed25519 public (32) | x25519 public (32) |
 *          nonce (12) | AES-256-GCM(ed25519 seed || x25519 secret) | tag
 *   file = body | SHA-256(body)
 *
 * The AES key is Argon2id(passphrase, salt, kdf params) (crypto/kdf.h),
 * the AAD everything before the nonce, so the parameters, name and
 * public keys cannot be changed without the passphrase.
 *
 * The trailing hash tells a damaged file (SB_EFORMAT) from a wrong
 * passphrase (SB_EPASS). It is not a MAC: a file rewritten with a
 * recomputed hash fails authentication (SB_EPASS) instead.
 *
 * Ownership: struct sb_device_keys is malloc'd, its keys are in secure
 * memory; sb_device_keys_free() frees all three. The passphrase-derived
 * key and the decrypted secrets only ever live in secure memory and are
 * wiped on every path.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto/kdf.h"
#include "crypto/sign.h"
#include "crypto/wrap.h"

#define SB_DEVICE_NAME_MAX 64

struct sb_device_keys {
	char name[SB_DEVICE_NAME_MAX + 1];
	struct sb_signkey *sign;
	struct sb_boxkey *box;
};

/* Public view of a key file. */
struct sb_keyfile_info {
	char name[SB_DEVICE_NAME_MAX + 1];
	struct sb_kdf_params kdf;
	uint8_t sign_pub[SB_ED25519_LEN];
	uint8_t box_pub[SB_X25519_LEN];
};

/* 1 when name is a valid device name: [A-Za-z0-9._-], 1..64, no leading '.'. */
int sb_device_name_valid(const char *name);

/*
 * New random keys for a device. Free with sb_device_keys_free() (NULL-safe).
 * Returns 0, -EINVAL (invalid name), -ENOMEM or SB_ECRYPTO.
 */
int sb_device_keys_generate(struct sb_device_keys **out, const char *name);
void sb_device_keys_free(struct sb_device_keys *k);

/*
 * Encrypts the keys under pass with a fresh salt and nonce; *out is
 * malloc'd (no secret in clear; free()). Returns 0, -EINVAL (invalid
 * name, empty passphrase), SB_EFORMAT (parameters refused by
 * sb_kdf_check), -ENOMEM or SB_ECRYPTO. k's public keys are trusted to
 * match its secrets (sb_device_keys_generate and _open guarantee it).
 */
int sb_keyfile_seal(uint8_t **out, size_t *outlen,
		    const struct sb_device_keys *k,
		    const struct sb_kdf_params *p,
		    const char *pass, size_t passlen);

/*
 * Public parts only, no passphrase needed. Checks the framing, the
 * trailing hash and the name; reports the KDF parameters as stored
 * without judging them. Returns 0, SB_EFORMAT, SB_EVERSION.
 */
int sb_keyfile_info(struct sb_keyfile_info *info,
		    const uint8_t *buf, size_t len);

/*
 * Decrypts. Checks as sb_keyfile_info, then refuses KDF parameters
 * outside sb_kdf_check (SB_EFORMAT) before deriving, then checks that
 * the stored public keys derive from the decrypted secrets (SB_EFORMAT).
 * Returns 0, SB_EFORMAT, SB_EVERSION, SB_EPASS (wrong or empty
 * passphrase, or public parts altered), -ENOMEM or SB_ECRYPTO.
 */
int sb_keyfile_open(struct sb_device_keys **out,
		    const uint8_t *buf, size_t len,
		    const char *pass, size_t passlen);

#endif

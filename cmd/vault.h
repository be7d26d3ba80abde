#ifndef SB_VAULT_H
#define SB_VAULT_H

/*
 * A vault on this machine (crypto/FORMAT.md "Vault layout"):
 *
 *   VAULT/                      the store root and a git work tree
 *   VAULT/.git/                 the repository (sync/ owns it)
 *   VAULT/.git/sealbox/         local-only state, never committed (0700)
 *   VAULT/.git/sealbox/device.key   this device's keys (crypto/keyfile.h)
 *   VAULT/.sealbox/             committed public metadata:
 *       version, policy, allowed_signers, keys/<device>.wrap,
 *       keys/recovery.wrap
 *   VAULT/<encrypted names>     the encrypted tree (fs/store.h)
 *
 * Ownership: sb_vault_open() returns a vault to free with sb_vault_free();
 * everything it points to is owned by it.
 */

#include <stddef.h>

#include "crypto/keyfile.h"
#include "crypto/secrets.h"
#include "sync/policy.h"

#define SB_VAULT_FORMAT 1

struct sb_vault {
	char *path;			/* VAULT, absolute */
	char *keyfile;			/* VAULT/.git/sealbox/device.key */
	struct sb_keyfile_info info;	/* public part of the key file */
	struct sb_policy *policy;	/* .sealbox/policy, checked against HEAD */
	char head[41];			/* HEAD commit, signature verified */
	struct sb_device_keys *keys;	/* NULL until unlocked */
	struct sb_secrets *secrets;	/* NULL until unlocked */
};

/*
 * Opens VAULT without the passphrase: checks the format version and reads
 * the public part of the key file. Errors name the damaged file.
 */
int sb_vault_open(struct sb_vault **out, const char *path);

/* Writes VAULT/rel into buf (PATH_MAX); -ENAMETOOLONG if it does not fit. */
int sb_vault_path(char *buf, const struct sb_vault *v, const char *rel);

/* Local-state directory and key file locations under a vault path. */
#define SB_VAULT_STATE ".git/sealbox"
#define SB_VAULT_KEYFILE ".git/sealbox/device.key"
#define SB_VAULT_VERSION_TEXT "sealbox-vault 1\n"

/* Decrypts the device keys and unwraps the vault secrets. SB_EPASS. */
int sb_vault_unlock(struct sb_vault *v, const char *pass, size_t passlen);

void sb_vault_free(struct sb_vault *v);

#endif

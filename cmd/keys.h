#ifndef SB_KEYS_H
#define SB_KEYS_H

/*
 * This device's keys as the commands use them: the local key file, commit
 * signing, and handing the recovery key to the person.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto/keyfile.h"
#include "sync/repo.h"

/*
 * KDF parameters for new key files: the default, or the enforced minimum
 * when the environment has SEALBOX_KDF=min (tests; still 64 MiB, t = 2).
 */
void sb_keys_kdf_params(struct sb_kdf_params *p);

/*
 * Seals dev under pass into VAULT/.git/sealbox/device.key (0600, its
 * directory 0700). replace = 0 creates it exclusively; replace = 1
 * replaces an existing file atomically (the old or the new file is there
 * after a crash, never neither).
 */
int sb_keys_store(const char *vault, const struct sb_device_keys *dev,
		  const char *pass, size_t passlen, int replace);

/* Commits the work tree signed by dev (author "<name> <name@sealbox>"). */
int sb_keys_commit(struct sb_repo *repo, char oid[SB_OID_HEX],
		   const char *message, const struct sb_device_keys *dev);

/*
 * Writes the recovery key to file (0600, created exclusively) or shows it
 * on the terminal, with an instruction to keep it safe. Returns 0 or
 * prints the error and returns 1.
 */
int sb_recovery_show(const uint8_t *secret, const char *file,
		     const char *vault);

#endif

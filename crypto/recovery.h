#ifndef SB_RECOVERY_H
#define SB_RECOVERY_H

/*
 * The recovery key (crypto/FORMAT.md "Recovery key"): 32 random bytes a
 * person keeps on paper. From it derive an Ed25519 signing key (to
 * authorize devices and policy changes) and an X25519 key (the vault
 * secrets are wrapped for it).
 *
 * Text form: "SBXR1-" then base32 (RFC 4648 alphabet, no padding) of the
 * 32 bytes and the first 3 bytes of their SHA-256, in groups of 5 joined
 * by '-'. Parsing ignores case, spaces and dashes, and checks the
 * checksum, so a typo is reported as such.
 */

#include <stdint.h>

#include "crypto/sign.h"
#include "crypto/wrap.h"

#define SB_RECOVERY_LEN 32
#define SB_RECOVERY_TEXT 80	/* room for the text form and NUL */

/* *out: secure memory, SB_RECOVERY_LEN bytes; free with sb_secure_free. */
int sb_recovery_generate(uint8_t **out);
void sb_recovery_format(char out[SB_RECOVERY_TEXT],
			const uint8_t secret[SB_RECOVERY_LEN]);
/* *out as for generate. SB_EFORMAT for a malformed or mistyped key. */
int sb_recovery_parse(uint8_t **out, const char *text);

int sb_recovery_signkey(struct sb_signkey **out,
			const uint8_t secret[SB_RECOVERY_LEN]);
int sb_recovery_boxkey(struct sb_boxkey **out,
		       const uint8_t secret[SB_RECOVERY_LEN]);

#endif

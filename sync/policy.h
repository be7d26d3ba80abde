#ifndef SB_POLICY_H
#define SB_POLICY_H

/*
 * The vault policy, .sealbox/policy (crypto/FORMAT.md "Policy"): which
 * devices may sign commits, which of them are admins, the recovery key and
 * the current key epoch. Text, one item per line:
 *
 *   sealbox-policy 1
 *   epoch <n>
 *   recovery <ed25519 public, base64> <x25519 public, base64>
 *   device <name> admin|member <ed25519 public> <x25519 public>
 *
 * Lines starting with "#" are comments. The parser is strict: unknown
 * keywords, repeated devices or keys, bad base64 are SB_EFORMAT, another
 * version SB_EVERSION. .sealbox/allowed_signers is derived from the
 * policy (sb_policy_allowed_signers) and must match it byte for byte.
 *
 * Ownership: sb_policy_parse/sb_policy_new return a policy to free with
 * sb_policy_free(); strings returned through char ** are malloc'd.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto/keyfile.h"

#define SB_POLICY_VERSION 1
#define SB_POLICY_MAX_DEVICES 4096

struct sb_policy_device {
	char name[SB_DEVICE_NAME_MAX + 1];
	int admin;
	uint8_t sign_pub[SB_ED25519_LEN];
	uint8_t box_pub[SB_X25519_LEN];
};

struct sb_policy {
	uint32_t epoch;
	uint8_t recovery_sign[SB_ED25519_LEN];
	uint8_t recovery_box[SB_X25519_LEN];
	size_t ndevices;
	struct sb_policy_device *devices;
};

int sb_policy_new(struct sb_policy **out, const uint8_t rsign[SB_ED25519_LEN],
		  const uint8_t rbox[SB_X25519_LEN]);
int sb_policy_add_device(struct sb_policy *p, const char *name, int admin,
			 const uint8_t sign_pub[SB_ED25519_LEN],
			 const uint8_t box_pub[SB_X25519_LEN]);
int sb_policy_parse(struct sb_policy **out, const char *buf, size_t len);
int sb_policy_format(char **out, const struct sb_policy *p);
void sb_policy_free(struct sb_policy *p);

/* The device with this name or signing key, or NULL. */
const struct sb_policy_device *sb_policy_device(const struct sb_policy *p,
						const char *name);
const struct sb_policy_device *sb_policy_signer(const struct sb_policy *p,
						const uint8_t pub[SB_ED25519_LEN]);

/* allowed_signers text: "<device>@sealbox" per device, "recovery@sealbox". */
int sb_policy_allowed_signers(char **out, const struct sb_policy *p);

#endif

#ifndef SB_TEST_UTIL_H
#define SB_TEST_UTIL_H

/*
 * Helpers the unit tests share. Include after <cmocka.h> (and the
 * headers cmocka needs before it).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto/secrets.h"
#include "crypto/sign.h"

/*
 * Vault secrets, version 1, one epoch: every byte of the first key is a,
 * every byte of the content key of epoch 0 is b.
 */
static inline struct sb_secrets *keyed_secrets(uint8_t a, uint8_t b)
{
	uint8_t buf[37 + 32];
	struct sb_secrets *s = NULL;

	buf[0] = 1;
	buf[1] = buf[2] = buf[3] = 0;
	buf[4] = 1;
	memset(buf + 5, a, 32);
	memset(buf + 37, b, 32);
	assert_int_equal(sb_secrets_parse(&s, buf, sizeof(buf)), 0);
	return s;
}

/* Vault secrets with fixed keys (0x11..., 0x22...), version 1, epoch 1. */
static inline struct sb_secrets *fixed_secrets(void)
{
	return keyed_secrets(0x11, 0x22);
}

/* An sb_repo_sign_fn signing commits with the key ctx (namespace git). */
static inline int sign_cb(char **armor, const void *buf, size_t len,
			  void *ctx)
{
	return sb_sshsig_sign(armor, ctx, "git", buf, len);
}

#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"
#include "crypto/secrets.h"

static void test_roundtrip_and_epochs(void **state)
{
	struct sb_secrets *s, *t;
	uint8_t *buf;
	size_t len;
	uint32_t e;

	assert_int_equal(sb_secrets_generate(&s), 0);
	assert_int_equal(s->nepochs, 1);
	assert_int_equal(sb_secrets_add_epoch(s, &e), 0);
	assert_int_equal(e, 1);
	assert_int_equal(sb_secrets_serialize(&buf, &len, s), 0);
	assert_int_equal(len, 1 + 4 + 32 + 2 * 32);
	assert_int_equal(sb_secrets_parse(&t, buf, len), 0);
	assert_memory_equal(t->base, s->base, 32);
	assert_memory_equal(t->content[1], s->content[1], 32);
	assert_memory_not_equal(t->content[0], t->content[1], 32);
	sb_secure_free(buf, len);
	sb_secrets_free(s);
	sb_secrets_free(t);
}

static void test_malformed(void **state)
{
	uint8_t buf[1 + 4 + 32 + 3 * 32] = { 1, 0, 0, 0, 2 };
	struct sb_secrets *s;
	size_t n;

	/* every length but the right one */
	for (n = 0; n < sizeof(buf); n++)
		if (n != 1 + 4 + 32 + 2 * 32)
			assert_int_equal(sb_secrets_parse(&s, buf, n), SB_EFORMAT);
	assert_int_equal(sb_secrets_parse(&s, buf, 1 + 4 + 32 + 2 * 32), 0);
	sb_secrets_free(s);
	buf[0] = 2;
	assert_int_equal(sb_secrets_parse(&s, buf, 101), SB_EVERSION);
	buf[0] = 1;
	buf[4] = 0;	/* no epoch */
	assert_int_equal(sb_secrets_parse(&s, buf, 37), SB_EFORMAT);
	buf[1] = 0xff;	/* absurd epoch count */
	assert_int_equal(sb_secrets_parse(&s, buf, sizeof(buf)), SB_EFORMAT);
}

/* Derived keys follow FORMAT.md: HKDF-SHA256, no salt, one label each. */
static void test_derivation(void **state)
{
	uint8_t buf[1 + 4 + 32 + 32] = { 1, 0, 0, 0, 1 };
	uint8_t k[64], want[64];
	struct sb_secrets *s;

	memset(buf + 5, 0x11, 32);
	memset(buf + 37, 0x22, 32);
	assert_int_equal(sb_secrets_parse(&s, buf, sizeof(buf)), 0);
	assert_int_equal(sb_secrets_content_key(k, s, 0), 0);
	sb_hkdf_sha256(want, 32, buf + 37, 32, NULL, 0, "sealbox v1 content key", 22);
	assert_memory_equal(k, want, 32);
	assert_int_equal(sb_secrets_names_key(k, s), 0);
	sb_hkdf_sha256(want, 64, buf + 5, 32, NULL, 0, "sealbox v1 names key", 20);
	assert_memory_equal(k, want, 64);
	assert_int_equal(sb_secrets_dirid_key(k, s), 0);
	sb_hkdf_sha256(want, 32, buf + 5, 32, NULL, 0, "sealbox v1 dirid key", 20);
	assert_memory_equal(k, want, 32);
	assert_int_equal(sb_secrets_content_key(k, s, 1), SB_EAUTH);
	sb_secrets_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_epochs),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_derivation),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

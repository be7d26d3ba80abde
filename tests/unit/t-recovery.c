#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/recovery.h"

static void test_roundtrip(void **state)
{
	char text[SB_RECOVERY_TEXT], messy[SB_RECOVERY_TEXT * 2];
	uint8_t *secret, *back;
	size_t i, o = 0;

	assert_int_equal(sb_recovery_generate(&secret), 0);
	sb_recovery_format(text, secret);
	assert_int_equal(strncmp(text, "SBXR1-", 6), 0);
	assert_int_equal(strlen(text), 6 + 56 + 11);
	assert_int_equal(sb_recovery_parse(&back, text), 0);
	assert_memory_equal(back, secret, SB_RECOVERY_LEN);
	sb_secure_free(back, SB_RECOVERY_LEN);
	/* lower case, spaces instead of dashes, surrounding blanks */
	messy[o++] = ' ';
	for (i = 0; text[i]; i++)
		messy[o++] = text[i] == '-' && i > 5 ? ' '
			     : (char)tolower((unsigned char)text[i]);
	messy[o++] = '\n';
	messy[o] = '\0';
	assert_int_equal(sb_recovery_parse(&back, messy), 0);
	assert_memory_equal(back, secret, SB_RECOVERY_LEN);
	sb_secure_free(back, SB_RECOVERY_LEN);
	sb_secure_free(secret, SB_RECOVERY_LEN);
}

/* Every single-character typo is caught by the checksum or the alphabet. */
static void test_typos(void **state)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char text[SB_RECOVERY_TEXT];
	uint8_t *secret, *back;
	size_t i, caught = 0, tried = 0;

	assert_int_equal(sb_recovery_generate(&secret), 0);
	sb_recovery_format(text, secret);
	for (i = 6; text[i]; i++) {
		char keep = text[i];

		if (keep == '-')
			continue;
		text[i] = alpha[(strchr(alpha, keep) - alpha + 1) % 32];
		tried++;
		if (sb_recovery_parse(&back, text) == SB_EFORMAT)
			caught++;
		else
			sb_secure_free(back, SB_RECOVERY_LEN);
		text[i] = keep;
	}
	assert_int_equal(caught, tried);
	sb_secure_free(secret, SB_RECOVERY_LEN);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "SBXR1-", "SBXR2-AAAAA", "hello",
		"SBXR1-AAAAA-AAAAA",
		"SBXR1-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-A1",
		"SBXR1-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AA",
	};
	uint8_t *back;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(sb_recovery_parse(&back, bad[i]), SB_EFORMAT);
}

/* The derived keys are fixed by the secret (pinned: a change breaks vaults). */
static void test_derivation_kat(void **state)
{
	static const uint8_t secret[SB_RECOVERY_LEN] = { 1, 2, 3 };
	static const uint8_t pub[32] = {
		0xac, 0x58, 0xb5, 0x38, 0x49, 0x3d, 0x80, 0xd1, 0x7e, 0x82, 0x6d,
		0xed, 0x92, 0xd7, 0x68, 0x03, 0x1f, 0xf4, 0x65, 0xae, 0x08, 0xed,
		0x0f, 0xc5, 0xf0, 0x56, 0xf3, 0x13, 0x98, 0xdb, 0x27, 0x58,
	};
	struct sb_signkey *s1, *s2;
	struct sb_boxkey *b1;
	char text[SB_RECOVERY_TEXT];

	sb_recovery_format(text, secret);
	/* Same as Python: base64.b32encode(s + sha256(s)[:3]), grouped. */
	assert_string_equal(text, "SBXR1-AEBAG-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-"
			    "AAAAA-AAAAA-AAAAA-AAAAA-ABVQX-R");
	assert_int_equal(sb_recovery_signkey(&s1, secret), 0);
	assert_int_equal(sb_recovery_signkey(&s2, secret), 0);
	assert_memory_equal(s1->pub, s2->pub, 32);
	/* Checked independently: HKDF in Python, public key by ssh-keygen -y. */
	assert_memory_equal(s1->pub, pub, 32);
	assert_int_equal(sb_recovery_boxkey(&b1, secret), 0);
	assert_memory_not_equal(s1->seed, b1->secret, 32);
	sb_signkey_free(s1);
	sb_signkey_free(s2);
	sb_boxkey_free(b1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_typos),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_derivation_kat),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

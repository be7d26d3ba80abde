#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/base64.h"
#include "crypto/crypto.h"
#include "crypto/err.h"

/* RFC 4648 section 10 vectors. */
static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba",
				     "foobar" };
static const char *const std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
				   "Zm9vYmE=", "Zm9vYmFy" };
static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg",
				   "Zm9vYmE", "Zm9vYmFy" };

static void test_rfc4648(void **state)
{
	char out[32];
	uint8_t dec[32];
	size_t i, n;

	for (i = 0; i < 7; i++) {
		size_t len = strlen(plain[i]);

		assert_int_equal(sb_base64_encode(out, plain[i], len),
				 strlen(std[i]));
		assert_string_equal(out, std[i]);
		assert_int_equal(sb_base64_len(len), strlen(std[i]));
		sb_base64url_encode(out, plain[i], len);
		assert_string_equal(out, url[i]);
		assert_int_equal(sb_base64url_len(len), strlen(url[i]));
		assert_int_equal(sb_base64_decode(dec, &n, std[i],
						  strlen(std[i])), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, plain[i], len);
		assert_int_equal(sb_base64url_decode(dec, &n, url[i],
						     strlen(url[i])), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, plain[i], len);
	}
}

static void test_malformed(void **state)
{
	static const char *const bad_std[] = {
		"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm8 ", "Zm-v", "Zm_v",
		"=Zm9", "Zm9vY===", "Zg==Zg==", "Zm\n9v",
	};
	static const char *const bad_url[] = {
		"Z", "Zh", "Zm9", "Zm+v", "Zm/v", "Zg==", "Zm9vY", "Zm.v",
	};
	uint8_t dec[32];
	size_t i, n;

	for (i = 0; i < sizeof(bad_std) / sizeof(*bad_std); i++)
		assert_int_equal(sb_base64_decode(dec, &n, bad_std[i],
						  strlen(bad_std[i])), SB_EFORMAT);
	for (i = 0; i < sizeof(bad_url) / sizeof(*bad_url); i++) {
		/* "Zm9" has non-zero trailing bits: "fo" is "Zm8". */
		assert_int_equal(sb_base64url_decode(dec, &n, bad_url[i],
						     strlen(bad_url[i])),
				 SB_EFORMAT);
	}
}

static void test_roundtrip_all_lengths(void **state)
{
	uint8_t in[64], dec[64];
	char enc[100];
	size_t len, n;

	for (len = 0; len < sizeof(in); len++) {
		sb_random_id(in, len);
		sb_base64url_encode(enc, in, len);
		assert_int_equal(sb_base64url_decode(dec, &n, enc, strlen(enc)), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
		sb_base64_encode(enc, in, len);
		assert_int_equal(sb_base64_decode(dec, &n, enc, strlen(enc)), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_roundtrip_all_lengths),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * HMAC-SHA256 and HKDF-SHA256 (crypto/hkdf.c) against RFC 5869,
 * appendix A, test cases 1 to 3 (the SHA-256 ones), and the output
 * length bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"

struct rfc5869_case {
	const char *ikm, *salt, *info, *prk, *okm;
};

static const struct rfc5869_case cases[] = {
	{	/* A.1: basic */
		"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		"000102030405060708090a0b0c",
		"f0f1f2f3f4f5f6f7f8f9",
		"077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
		"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
		"34007208d5b887185865",
	},
	{	/* A.2: longer inputs and outputs */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
		"404142434445464748494a4b4c4d4e4f",
		"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
		"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
		"b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
		"d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
		"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
		"06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
		"b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
		"59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
		"cc30c58179ec3e87c14c01d5c1f3434f1d87",
	},
	{	/* A.3: zero-length salt and info */
		"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		"",
		"",
		"19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
		"8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
		"9d201395faa4b61a96c8",
	},
};

struct bytes {
	uint8_t b[256];
	size_t n;
};

static void unhex(struct bytes *out, const char *hex)
{
	size_t i, n = strlen(hex) / 2;
	char pair[3] = { 0 };

	assert_true(n <= sizeof(out->b));
	for (i = 0; i < n; i++) {
		memcpy(pair, hex + 2 * i, 2);
		out->b[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
	out->n = n;
}

static void check_case(const struct rfc5869_case *c)
{
	static const uint8_t zeros[32];
	struct bytes ikm, salt, info, prk, okm;
	uint8_t got[256];

	unhex(&ikm, c->ikm);
	unhex(&salt, c->salt);
	unhex(&info, c->info);
	unhex(&prk, c->prk);
	unhex(&okm, c->okm);

	/* Extract is HMAC(salt, IKM); an absent salt is 32 zero bytes. */
	assert_int_equal(sb_hmac_sha256(got, salt.n ? salt.b : zeros,
					salt.n ? salt.n : sizeof(zeros),
					ikm.b, ikm.n), 0);
	assert_memory_equal(got, prk.b, 32);

	memset(got, 0xaa, sizeof(got));
	assert_int_equal(sb_hkdf_sha256(got, okm.n, ikm.b, ikm.n,
					salt.b, salt.n, info.b, info.n), 0);
	assert_memory_equal(got, okm.b, okm.n);
	/* Nothing written past outlen. */
	assert_int_equal(got[okm.n], 0xaa);
}

static void test_case1(void **state)
{
	check_case(&cases[0]);
}

static void test_case2(void **state)
{
	check_case(&cases[1]);
}

static void test_case3(void **state)
{
	struct bytes ikm, okm;
	uint8_t got[64];

	check_case(&cases[2]);
	/* A NULL salt means the same as an empty one. */
	unhex(&ikm, cases[2].ikm);
	unhex(&okm, cases[2].okm);
	assert_int_equal(sb_hkdf_sha256(got, okm.n, ikm.b, ikm.n, NULL, 0,
					NULL, 0), 0);
	assert_memory_equal(got, okm.b, okm.n);
}

/* Output into secure memory, and shorter outputs are prefixes. */
static void test_secure_and_prefix(void **state)
{
	struct bytes ikm, salt, info, okm;
	uint8_t *out = sb_secure_alloc(82);
	size_t len;

	assert_non_null(out);
	unhex(&ikm, cases[1].ikm);
	unhex(&salt, cases[1].salt);
	unhex(&info, cases[1].info);
	unhex(&okm, cases[1].okm);
	for (len = 1; len <= okm.n; len++) {
		memset(out, 0, 82);
		assert_int_equal(sb_hkdf_sha256(out, len, ikm.b, ikm.n,
						salt.b, salt.n,
						info.b, info.n), 0);
		assert_memory_equal(out, okm.b, len);
	}
	sb_secure_free(out, 82);
}

static void test_length_bounds(void **state)
{
	size_t max = 255 * 32;
	uint8_t *out = malloc(max + 1);
	uint8_t head[32];

	assert_non_null(out);
	assert_int_equal(sb_hkdf_sha256(out, 0, "k", 1, NULL, 0, NULL, 0),
			 -EINVAL);
	assert_int_equal(sb_hkdf_sha256(out, max + 1, "k", 1, NULL, 0,
					NULL, 0), -EINVAL);
	assert_string_equal(sb_err_msg(-EINVAL),
			    "HKDF output length 8161 out of range");
	assert_int_equal(sb_hkdf_sha256(out, max, "k", 1, NULL, 0, NULL, 0),
			 0);
	assert_int_equal(sb_hkdf_sha256(head, 32, "k", 1, NULL, 0, NULL, 0),
			 0);
	assert_memory_equal(out, head, 32);
	/* The last block (counter 255) differs from the first. */
	assert_memory_not_equal(out + max - 32, head, 32);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case1),
		cmocka_unit_test(test_case2),
		cmocka_unit_test(test_case3),
		cmocka_unit_test(test_secure_and_prefix),
		cmocka_unit_test(test_length_bounds),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Ed25519 (crypto/sign.c): RFC 8032 section 7.1 tests 1-3 (public key
 * from seed, signature, verification), every flipped bit of signature,
 * message and public key rejected, S + L and small-order or
 * non-canonical public keys rejected (libgcrypt alone accepts them),
 * keys on which libgcrypt 1.10 aborts the process refused first, seeds with leading zero bytes (known answers made with
 * another implementation), generated keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sign.h"

struct vector {
	const char *seed, *pub, *msg, *sig;
};

/* RFC 8032 section 7.1, TEST 1, 2 and 3. */
static const struct vector rfc8032[] = {
	{
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		"",
		"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		"5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
	},
	{
		"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
		"72",
		"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
		"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
	},
	{
		"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
		"af82",
		"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
		"18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
	},
};

/*
 * Seeds that start with zero bytes, which an MPI-based library can lose;
 * message "sealbox" (73 65 61 6c 62 6f 78). Answers from Python's
 * cryptography package (OpenSSL).
 */
static const struct vector zeros[] = {
	{
		"0000000000000000000000000000000000000000000000000000000000000001",
		"4cb5abf6ad79fbf5abbccafcc269d85cd2651ed4b885b5869f241aedf0a5ba29",
		"7365616c626f78",
		"dd62a0f79182bef12ac709ef4a653a5825a8c4c31771e44d901a0f16dad1eda1"
		"ccdc99f3af10442aa2b999747cf1b9746961dfab1fdf606d36dad1a2d896ee0b",
	},
	{
		"000000030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"0f86f2961b030d3665f1ad4f6aa25905f361ab04ba2d948b5b05d96d308795c1",
		"7365616c626f78",
		"23c1c8be72480983048a360a9c9c0a23e56943700baf951e090fffe8e2850efe"
		"9e386a9823ce7599b4cb2ba86a5dfed9ec21d9016a05b5dd32659b66aff9b506",
	},
};

/* The group order L, little-endian. */
static const char order_l[] =
	"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

static size_t unhex(uint8_t *out, const char *hex)
{
	char pair[3] = { 0 };
	size_t i, n = strlen(hex) / 2;

	for (i = 0; i < n; i++) {
		memcpy(pair, hex + 2 * i, 2);
		out[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
	return n;
}

struct loaded {
	uint8_t seed[SB_ED25519_LEN], pub[SB_ED25519_LEN];
	uint8_t sig[SB_ED25519_SIG], msg[64];
	size_t msglen;
};

static void load(struct loaded *l, const struct vector *v)
{
	unhex(l->seed, v->seed);
	unhex(l->pub, v->pub);
	unhex(l->sig, v->sig);
	l->msglen = unhex(l->msg, v->msg);
}

static void check_vector(const struct vector *v)
{
	struct sb_signkey *k = NULL;
	uint8_t sig[SB_ED25519_SIG];
	struct loaded l;

	load(&l, v);
	assert_int_equal(sb_signkey_from_seed(&k, l.seed), 0);
	assert_memory_equal(k->seed, l.seed, SB_ED25519_LEN);
	assert_memory_equal(k->pub, l.pub, SB_ED25519_LEN);
	assert_int_equal(sb_ed25519_sign(sig, k, l.msg, l.msglen), 0);
	assert_memory_equal(sig, l.sig, SB_ED25519_SIG);
	assert_int_equal(sb_ed25519_verify(l.pub, l.sig, l.msg, l.msglen), 0);
	sb_signkey_free(k);
}

static void test_rfc8032(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++)
		check_vector(&rfc8032[i]);
}

static void test_leading_zero_seeds(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++)
		check_vector(&zeros[i]);
}

/* An empty message may come as NULL. */
static void test_null_empty_message(void **state)
{
	struct sb_signkey *k = NULL;
	uint8_t sig[SB_ED25519_SIG];
	struct loaded l;

	load(&l, &rfc8032[0]);
	assert_int_equal(sb_signkey_from_seed(&k, l.seed), 0);
	assert_int_equal(sb_ed25519_sign(sig, k, NULL, 0), 0);
	assert_memory_equal(sig, l.sig, SB_ED25519_SIG);
	assert_int_equal(sb_ed25519_verify(l.pub, sig, NULL, 0), 0);
	sb_signkey_free(k);
}

static void test_flipped_sig_bits(void **state)
{
	struct loaded l;
	size_t i, bit;

	for (i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		load(&l, &rfc8032[i]);
		for (bit = 0; bit < 8 * SB_ED25519_SIG; bit++) {
			l.sig[bit / 8] ^= 1u << (bit % 8);
			assert_int_equal(sb_ed25519_verify(l.pub, l.sig, l.msg,
							   l.msglen), SB_ESIG);
			l.sig[bit / 8] ^= 1u << (bit % 8);
		}
		assert_int_equal(sb_ed25519_verify(l.pub, l.sig, l.msg,
						   l.msglen), 0);
	}
}

static void test_flipped_pub_bits(void **state)
{
	struct loaded l;
	size_t i, bit;

	for (i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		load(&l, &rfc8032[i]);
		for (bit = 0; bit < 8 * SB_ED25519_LEN; bit++) {
			l.pub[bit / 8] ^= 1u << (bit % 8);
			assert_int_equal(sb_ed25519_verify(l.pub, l.sig, l.msg,
							   l.msglen), SB_ESIG);
			l.pub[bit / 8] ^= 1u << (bit % 8);
		}
	}
}

static void test_flipped_msg_bits(void **state)
{
	struct loaded l;
	size_t i, bit;

	for (i = 1; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		load(&l, &rfc8032[i]);
		for (bit = 0; bit < 8 * l.msglen; bit++) {
			l.msg[bit / 8] ^= 1u << (bit % 8);
			assert_int_equal(sb_ed25519_verify(l.pub, l.sig, l.msg,
							   l.msglen), SB_ESIG);
			l.msg[bit / 8] ^= 1u << (bit % 8);
		}
		/* One byte more or less is another message too. */
		assert_int_equal(sb_ed25519_verify(l.pub, l.sig, l.msg,
						   l.msglen - 1), SB_ESIG);
		assert_int_equal(sb_ed25519_verify(l.pub, l.sig, l.msg,
						   l.msglen + 1), SB_ESIG);
	}
}

/* S + L verifies in the group equation; RFC 8032 requires S < L. */
static void test_s_plus_l_rejected(void **state)
{
	uint8_t l_le[32];
	struct loaded l;
	unsigned carry = 0;
	size_t i;

	load(&l, &rfc8032[0]);
	unhex(l_le, order_l);
	for (i = 0; i < 32; i++) {
		carry += l.sig[32 + i] + l_le[i];
		l.sig[32 + i] = (uint8_t)carry;
		carry >>= 8;
	}
	assert_int_equal(carry, 0);
	assert_int_equal(sb_ed25519_verify(l.pub, l.sig, l.msg, l.msglen),
			 SB_ESIG);
	assert_non_null(strstr(sb_err_msg(SB_ESIG), "S >= L"));
}

/*
 * A small-order key A "signs" every message with R = B, S = 1: then
 * [S]B = R + [k]A for any k. libgcrypt accepts that; we refuse such keys,
 * and non-canonical encodings of any key (y + p for y < 19).
 */
static void test_weak_keys_rejected(void **state)
{
	static const char *const weak[] = {
		"0100000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000080",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	};
	static const char forged[] =
		"5866666666666666666666666666666666666666666666666666666666666666"
		"0100000000000000000000000000000000000000000000000000000000000000";
	uint8_t pub[32], sig[64];
	size_t i;

	unhex(sig, forged);
	for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		unhex(pub, weak[i]);
		assert_int_equal(sb_ed25519_verify(pub, sig, "any", 3), SB_ESIG);
		assert_non_null(strstr(sb_err_msg(SB_ESIG), "public key"));
	}
}

/*
 * libgcrypt 1.10 aborts the process on public keys with a coordinate
 * below 2^192 (y = 3, y = 4, a small x) and on some encodings that are
 * no point (y = 2): a forged signature must not take sealbox down.
 */
static void test_libgcrypt_abort_keys(void **state)
{
	static const char *const keys[] = {
		"0300000000000000000000000000000000000000000000000000000000000000",
		"0400000000000000000000000000000000000000000000000000000000000000",
		"3126711e11ef574692935381d2cd2bbab5dd113c4010f91fd7c4dd7b12bf431a",
		"0200000000000000000000000000000000000000000000000000000000000000",
	};
	uint8_t pub[32], sig[64];
	struct loaded l;
	size_t i;

	load(&l, &rfc8032[0]);
	memcpy(sig, l.sig, sizeof(sig));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		unhex(pub, keys[i]);
		assert_int_equal(sb_ed25519_verify(pub, sig, "any", 3), SB_ESIG);
	}
	assert_non_null(strstr(sb_err_msg(SB_ESIG), "not a point"));
}

static void test_generate(void **state)
{
	struct sb_signkey *a = NULL, *b = NULL, *c = NULL;
	uint8_t sig[SB_ED25519_SIG];
	static const char msg[] = "a commit";

	assert_int_equal(sb_signkey_generate(&a), 0);
	assert_int_equal(sb_signkey_generate(&b), 0);
	assert_memory_not_equal(a->seed, b->seed, SB_ED25519_LEN);
	assert_memory_not_equal(a->pub, b->pub, SB_ED25519_LEN);
	assert_int_equal(sb_signkey_from_seed(&c, a->seed), 0);
	assert_memory_equal(c->pub, a->pub, SB_ED25519_LEN);
	assert_int_equal(sb_ed25519_sign(sig, a, msg, sizeof(msg)), 0);
	assert_int_equal(sb_ed25519_verify(a->pub, sig, msg, sizeof(msg)), 0);
	assert_int_equal(sb_ed25519_verify(b->pub, sig, msg, sizeof(msg)),
			 SB_ESIG);
	sb_signkey_free(a);
	sb_signkey_free(b);
	sb_signkey_free(c);
	sb_signkey_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_leading_zero_seeds),
		cmocka_unit_test(test_null_empty_message),
		cmocka_unit_test(test_flipped_sig_bits),
		cmocka_unit_test(test_flipped_pub_bits),
		cmocka_unit_test(test_flipped_msg_bits),
		cmocka_unit_test(test_s_plus_l_rejected),
		cmocka_unit_test(test_weak_keys_rejected),
		cmocka_unit_test(test_libgcrypt_abort_keys),
		cmocka_unit_test(test_generate),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

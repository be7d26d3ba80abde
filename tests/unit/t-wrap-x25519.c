/*
 * X25519 key wrapping (crypto/wrap.c): RFC 7748 vectors, round trips,
 * every flipped bit and every truncation of a wrapped blob, the wrong
 * recipient, low-order public keys, and the known-answer file
 * tests/kat/wrap-v1.bin (wrapped once for RFC 7748's Bob, so blobs
 * written by version 1 stay readable).
 *
 * SB_KAT_WRITE=1 regenerates tests/kat/wrap-v1.bin under $SB_SRC (or
 * the current directory) instead of reading it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gcrypt.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/secrets.h"
#include "crypto/wrap.h"

#define HDR 69			/* magic .. recipient: the AAD */
#define OVERHEAD (HDR + 12 + 16)
#define WRAP_MAX 65536

/* RFC 7748 section 6.1 */
static const char alice_priv[] =
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub[] =
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char bob_priv[] =
	"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char bob_pub[] =
	"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char shared_k[] =
	"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

/* Points of order dividing 8 (and non-canonical encodings of them). */
static const char *const low_order[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
};

static void unhex(uint8_t *out, const char *hex, size_t n)
{
	char pair[3] = { 0 };
	size_t i;

	assert_int_equal(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		memcpy(pair, hex + 2 * i, 2);
		out[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
}

static struct sb_boxkey *key_from_hex(const char *hex)
{
	uint8_t secret[32];
	struct sb_boxkey *k = NULL;

	unhex(secret, hex, 32);
	assert_int_equal(sb_boxkey_from_secret(&k, secret), 0);
	assert_non_null(k);
	return k;
}

/* The fixed plaintext of the KAT: vault secrets, one epoch. */
static void kat_plain(uint8_t p[69])
{
	p[0] = 1;
	sb_put_be32(p + 1, 1);
	memset(p + 5, 0x11, 32);
	memset(p + 37, 0x22, 32);
}

static void test_rfc7748_section5(void **state)
{
	uint8_t k[32], u[32], want[32], out[32];

	/* Unclamped scalar, u with its top bit set: libgcrypt clamps and
	 * masks as RFC 7748 says, on little-endian strings. */
	unhex(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", 32);
	unhex(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", 32);
	unhex(want, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552", 32);
	assert_int_equal(gcry_ecc_mul_point(GCRY_ECC_CURVE25519, out, k, u), 0);
	assert_memory_equal(out, want, 32);
	unhex(k, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", 32);
	unhex(u, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", 32);
	unhex(want, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957", 32);
	assert_int_equal(gcry_ecc_mul_point(GCRY_ECC_CURVE25519, out, k, u), 0);
	assert_memory_equal(out, want, 32);
}

static void test_rfc7748_section6(void **state)
{
	struct sb_boxkey *a = key_from_hex(alice_priv);
	struct sb_boxkey *b = key_from_hex(bob_priv);
	uint8_t want[32], ab[32], ba[32];

	unhex(want, alice_pub, 32);
	assert_memory_equal(a->pub, want, 32);
	unhex(want, bob_pub, 32);
	assert_memory_equal(b->pub, want, 32);
	/* The stored secret is the clamped scalar. */
	assert_int_equal(a->secret[0], 0x70);
	assert_int_equal(a->secret[31], 0x6a);
	assert_int_equal(a->secret[1], 0x07);
	/* Both sides agree on K, also from the stored (clamped) secrets. */
	unhex(want, shared_k, 32);
	assert_int_equal(gcry_ecc_mul_point(GCRY_ECC_CURVE25519, ab,
					    a->secret, b->pub), 0);
	assert_int_equal(gcry_ecc_mul_point(GCRY_ECC_CURVE25519, ba,
					    b->secret, a->pub), 0);
	assert_memory_equal(ab, want, 32);
	assert_memory_equal(ba, want, 32);
	sb_boxkey_free(a);
	sb_boxkey_free(b);
}

static void test_generate(void **state)
{
	static const uint8_t nine[32] = { 9 };
	struct sb_boxkey *a = NULL, *b = NULL;
	uint8_t pub[32];

	assert_int_equal(sb_boxkey_generate(&a), 0);
	assert_int_equal(sb_boxkey_generate(&b), 0);
	assert_true(gcry_is_secure(a));
	assert_memory_not_equal(a->secret, b->secret, 32);
	assert_int_equal(a->secret[0] & 7, 0);
	assert_int_equal(a->secret[31] & 0xc0, 0x40);
	assert_int_equal(gcry_ecc_mul_point(GCRY_ECC_CURVE25519, pub,
					    a->secret, nine), 0);
	assert_memory_equal(a->pub, pub, 32);
	sb_boxkey_free(a);
	sb_boxkey_free(b);
	sb_boxkey_free(NULL);
}

static void round_trip(const struct sb_boxkey *k, size_t len)
{
	uint8_t *plain = malloc(len ? len : 1), *blob = NULL, *out = NULL;
	size_t bloblen = 0, outlen = 0;

	assert_non_null(plain);
	sb_random_id(plain, len);
	assert_int_equal(sb_wrap(&blob, &bloblen, k->pub, plain, len), 0);
	assert_int_equal(bloblen, OVERHEAD + len);
	assert_memory_equal(blob, "SBXW\1", 5);
	assert_memory_equal(blob + 37, k->pub, 32);
	assert_int_equal(sb_unwrap(&out, &outlen, k, blob, bloblen), 0);
	assert_int_equal(outlen, len);
	assert_true(gcry_is_secure(out));
	if (len)
		assert_memory_equal(out, plain, len);
	sb_secure_free(out, outlen);
	free(blob);
	free(plain);
}

static void test_round_trip(void **state)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 69, 32805, WRAP_MAX };
	struct sb_boxkey *k = NULL;
	uint8_t *blob = (uint8_t *)"x";
	size_t i, bloblen = 7;

	assert_int_equal(sb_boxkey_generate(&k), 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		round_trip(k, lens[i]);
	assert_int_equal(sb_wrap(&blob, &bloblen, k->pub, (uint8_t *)k,
				 WRAP_MAX + 1), -EINVAL);
	assert_ptr_equal(blob, (uint8_t *)"x");
	sb_boxkey_free(k);
}

/* Two wraps of the same plaintext share nothing but the recipient. */
static void test_fresh_randomness(void **state)
{
	struct sb_boxkey *k = key_from_hex(bob_priv);
	uint8_t p[69], *x = NULL, *y = NULL;
	size_t xl, yl;

	kat_plain(p);
	assert_int_equal(sb_wrap(&x, &xl, k->pub, p, sizeof(p)), 0);
	assert_int_equal(sb_wrap(&y, &yl, k->pub, p, sizeof(p)), 0);
	assert_memory_not_equal(x + 5, y + 5, 32);
	assert_memory_not_equal(x + HDR, y + HDR, 12);
	assert_memory_not_equal(x + HDR + 12, y + HDR + 12, sizeof(p));
	free(x);
	free(y);
	sb_boxkey_free(k);
}

static int unwrap_rc(const struct sb_boxkey *k, const uint8_t *in,
		     size_t len)
{
	uint8_t *out = (uint8_t *)"untouched";
	size_t outlen = 12345;
	int rc;

	sb_err_clear();
	rc = sb_unwrap(&out, &outlen, k, in, len);
	if (rc) {
		assert_ptr_equal(out, (uint8_t *)"untouched");
		assert_int_equal(outlen, 12345);
	} else {
		sb_secure_free(out, outlen);
	}
	return rc;
}

static void test_every_bit_flipped(void **state)
{
	struct sb_boxkey *k = key_from_hex(bob_priv);
	uint8_t p[69], *blob = NULL;
	size_t len, bit;

	kat_plain(p);
	assert_int_equal(sb_wrap(&blob, &len, k->pub, p, sizeof(p)), 0);
	assert_int_equal(unwrap_rc(k, blob, len), 0);
	for (bit = 0; bit < len * 8; bit++) {
		size_t byte = bit / 8;
		int rc;

		blob[byte] ^= 1u << (bit % 8);
		rc = unwrap_rc(k, blob, len);
		if (byte < 4) {
			assert_int_equal(rc, SB_EFORMAT);
			assert_string_equal(sb_err_msg(rc),
					    "not wrapped secrets");
		} else if (byte == 4) {
			assert_int_equal(rc, SB_EVERSION);
		} else if (byte >= 37 && byte < HDR) {
			assert_int_equal(rc, SB_EAUTH);
			assert_string_equal(sb_err_msg(rc),
				"secrets are wrapped for another key");
		} else {
			/* Ephemeral key (even its ignored top bit: it is
			 * in the HKDF salt and the AAD), nonce,
			 * ciphertext, tag. */
			assert_int_equal(rc, SB_EAUTH);
			assert_string_equal(sb_err_msg(rc),
				"wrapped secrets fail authentication");
		}
		blob[byte] ^= 1u << (bit % 8);
	}
	assert_int_equal(unwrap_rc(k, blob, len), 0);
	free(blob);
	sb_boxkey_free(k);
}

static void test_truncations(void **state)
{
	struct sb_boxkey *k = key_from_hex(bob_priv);
	uint8_t p[69], *blob = NULL, *longer;
	size_t len, n;

	kat_plain(p);
	assert_int_equal(sb_wrap(&blob, &len, k->pub, p, sizeof(p)), 0);
	for (n = 0; n < len; n++) {
		int rc = unwrap_rc(k, blob, n);

		if (n < 5) {
			assert_int_equal(rc, SB_EFORMAT);
			assert_string_equal(sb_err_msg(rc),
					    "not wrapped secrets");
		} else if (n < OVERHEAD) {
			assert_int_equal(rc, SB_EFORMAT);
			assert_string_equal(sb_err_msg(rc),
					    "wrapped secrets truncated");
		} else {
			assert_int_equal(rc, SB_EAUTH);
		}
	}
	/* One byte more is no better. */
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, blob, len);
	longer[len] = 0;
	assert_int_equal(unwrap_rc(k, longer, len + 1), SB_EAUTH);
	free(longer);
	free(blob);
	sb_boxkey_free(k);
}

static void test_wrong_recipient(void **state)
{
	struct sb_boxkey *a = key_from_hex(alice_priv);
	struct sb_boxkey *b = key_from_hex(bob_priv);
	uint8_t p[69], *blob = NULL;
	size_t len;

	kat_plain(p);
	assert_int_equal(sb_wrap(&blob, &len, b->pub, p, sizeof(p)), 0);
	assert_int_equal(unwrap_rc(a, blob, len), SB_EAUTH);
	assert_string_equal(sb_err_msg(SB_EAUTH),
			    "secrets are wrapped for another key");
	/* Relabelled for Alice, it still is not hers. */
	memcpy(blob + 37, a->pub, 32);
	assert_int_equal(unwrap_rc(a, blob, len), SB_EAUTH);
	assert_string_equal(sb_err_msg(SB_EAUTH),
			    "wrapped secrets fail authentication");
	free(blob);
	sb_boxkey_free(a);
	sb_boxkey_free(b);
}

static void test_low_order(void **state)
{
	struct sb_boxkey *k = key_from_hex(bob_priv);
	uint8_t p[69], point[32], *blob = NULL, *x;
	size_t len, xl, i;

	kat_plain(p);
	assert_int_equal(sb_wrap(&blob, &len, k->pub, p, sizeof(p)), 0);
	for (i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		unhex(point, low_order[i], 32);
		x = (uint8_t *)"untouched";
		assert_int_equal(sb_wrap(&x, &xl, point, p, sizeof(p)),
				 SB_EFORMAT);
		assert_string_equal(sb_err_msg(SB_EFORMAT),
				    "X25519 public key is a low-order point");
		assert_ptr_equal(x, (uint8_t *)"untouched");
		/* A blob whose ephemeral key is of low order. */
		memcpy(blob + 5, point, 32);
		assert_int_equal(unwrap_rc(k, blob, len), SB_EFORMAT);
		assert_string_equal(sb_err_msg(SB_EFORMAT),
				    "X25519 public key is a low-order point");
	}
	free(blob);
	sb_boxkey_free(k);
}

static char *kat_path(void)
{
	const char *src = getenv("SB_SRC");
	char *path = malloc(4096);

	assert_non_null(path);
	snprintf(path, 4096, "%s/tests/kat/wrap-v1.bin", src ? src : ".");
	return path;
}

static void kat_write(const char *path)
{
	struct sb_boxkey *k = key_from_hex(bob_priv);
	uint8_t p[69], *blob = NULL;
	size_t len;
	FILE *f;

	kat_plain(p);
	assert_int_equal(sb_wrap(&blob, &len, k->pub, p, sizeof(p)), 0);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(blob, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(blob);
	sb_boxkey_free(k);
}

static void test_kat_file(void **state)
{
	struct sb_boxkey *bob, *alice;
	struct sb_secrets *s = NULL;
	uint8_t buf[512], p[69], want[32], *out = NULL;
	char *path = kat_path();
	size_t len, outlen;
	FILE *f;

	if (getenv("SB_KAT_WRITE"))
		kat_write(path);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(len, OVERHEAD + 69);
	assert_memory_equal(buf, "SBXW\1", 5);
	unhex(want, bob_pub, 32);
	assert_memory_equal(buf + 37, want, 32);

	bob = key_from_hex(bob_priv);
	alice = key_from_hex(alice_priv);
	assert_int_equal(sb_unwrap(&out, &outlen, bob, buf, len), 0);
	kat_plain(p);
	assert_int_equal(outlen, sizeof(p));
	assert_memory_equal(out, p, sizeof(p));
	assert_int_equal(sb_secrets_parse(&s, out, outlen), 0);
	assert_int_equal(s->nepochs, 1);
	assert_int_equal(s->base[0], 0x11);
	assert_int_equal(unwrap_rc(alice, buf, len), SB_EAUTH);
	sb_secrets_free(s);
	sb_secure_free(out, outlen);
	sb_boxkey_free(bob);
	sb_boxkey_free(alice);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7748_section5),
		cmocka_unit_test(test_rfc7748_section6),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fresh_randomness),
		cmocka_unit_test(test_every_bit_flipped),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_wrong_recipient),
		cmocka_unit_test(test_low_order),
		cmocka_unit_test(test_kat_file),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The device key file (crypto/keyfile.c): round trip, wrong passphrase,
 * damage (every flipped byte, every truncation), tampering with a
 * recomputed trailing hash, versions, the public view, KDF minimums,
 * and the known-answer file tests/kat/keyfile-v1.bin (RFC 8032 test 1
 * seed, RFC 7748 Alice's X25519 secret, passphrase "correct horse"), so
 * key files written by version 1 stay readable.
 *
 * SB_KAT_WRITE=1 regenerates tests/kat/keyfile-v1.bin under $SB_SRC (or
 * the current directory) instead of reading it. The tests use the
 * minimum KDF parameters to stay fast.
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
#include "crypto/keyfile.h"

#define PASS "correct horse"
#define PASSLEN (sizeof(PASS) - 1)

/* Offsets in a file whose name is n bytes long. */
#define O_VERSION	4
#define O_TIME		5
#define O_MEM		9
#define O_LANES		13
#define O_SALT		17
#define O_NAMELEN	33
#define O_NAME		34
#define O_SIGNPUB(n)	(34 + (n))
#define O_BOXPUB(n)	(66 + (n))
#define O_NONCE(n)	(98 + (n))
#define O_CT(n)		(110 + (n))
#define O_TAG(n)	(174 + (n))
#define O_HASH(n)	(190 + (n))
#define FILE_LEN(n)	(222 + (n))

static const struct sb_kdf_params min_kdf = { SB_KDF_MIN_TIME,
					      SB_KDF_MIN_MEM_KIB, 1 };

static const char rfc8032_seed[] =
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc8032_pub[] =
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc7748_alice[] =
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char rfc7748_alice_pub[] =
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

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

struct sealed {
	uint8_t *buf;
	size_t len;
	size_t n;		/* name length */
	struct sb_device_keys *keys;
};

static void seal_new(struct sealed *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(sb_device_keys_generate(&s->keys, name), 0);
	assert_int_equal(sb_keyfile_seal(&s->buf, &s->len, s->keys, &min_kdf,
					 PASS, PASSLEN), 0);
	s->n = strlen(name);
	assert_int_equal(s->len, FILE_LEN(s->n));
}

static void seal_free(struct sealed *s)
{
	free(s->buf);
	sb_device_keys_free(s->keys);
}

static void rehash(uint8_t *buf, size_t len)
{
	sb_sha256(buf + len - 32, buf, len - 32);
}

static int open_rc(const uint8_t *buf, size_t len, const char *pass)
{
	struct sb_device_keys *k = (struct sb_device_keys *)"untouched";
	int rc;

	sb_err_clear();
	rc = sb_keyfile_open(&k, buf, len, pass, strlen(pass));
	if (rc)
		assert_ptr_equal(k, (struct sb_device_keys *)"untouched");
	else
		sb_device_keys_free(k);
	return rc;
}

static int info_rc(const uint8_t *buf, size_t len)
{
	struct sb_keyfile_info info;

	sb_err_clear();
	return sb_keyfile_info(&info, buf, len);
}

static void assert_same_keys(const struct sb_device_keys *a,
			     const struct sb_device_keys *b)
{
	assert_string_equal(a->name, b->name);
	assert_memory_equal(a->sign->seed, b->sign->seed, SB_ED25519_LEN);
	assert_memory_equal(a->sign->pub, b->sign->pub, SB_ED25519_LEN);
	assert_memory_equal(a->box->secret, b->box->secret, SB_X25519_LEN);
	assert_memory_equal(a->box->pub, b->box->pub, SB_X25519_LEN);
}

static void test_device_names(void **state)
{
	static const char *const good[] = {
		"a", "laptop", "work-laptop_2", "x.y", "A-Z.0-9_",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};
	static const char *const bad[] = {
		"", ".hidden", "..", "with space", "slash/name", "tab\t",
		"ümlaut", "new\nline", "colon:", "01234567890123456789012345678901"
		"234567890123456789012345678901234",
	};
	struct sb_device_keys *k = (struct sb_device_keys *)"untouched";
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(sb_device_name_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(sb_device_name_valid(bad[i]));
		assert_int_equal(sb_device_keys_generate(&k, bad[i]), -EINVAL);
		assert_ptr_equal(k, (struct sb_device_keys *)"untouched");
	}
	sb_device_keys_free(NULL);
}

static void test_round_trip(void **state)
{
	struct sb_keyfile_info info;
	struct sb_device_keys *k = NULL;
	struct sealed s;

	seal_new(&s, "laptop");
	assert_int_equal(sb_keyfile_info(&info, s.buf, s.len), 0);
	assert_string_equal(info.name, "laptop");
	assert_int_equal(info.kdf.time, min_kdf.time);
	assert_int_equal(info.kdf.mem_kib, min_kdf.mem_kib);
	assert_int_equal(info.kdf.lanes, min_kdf.lanes);
	assert_memory_equal(info.sign_pub, s.keys->sign->pub, SB_ED25519_LEN);
	assert_memory_equal(info.box_pub, s.keys->box->pub, SB_X25519_LEN);

	assert_int_equal(sb_keyfile_open(&k, s.buf, s.len, PASS, PASSLEN), 0);
	assert_same_keys(k, s.keys);
	assert_true(gcry_is_secure(k->sign));
	assert_true(gcry_is_secure(k->box));
	sb_device_keys_free(k);

	/* No secret appears in the file. */
	assert_null(memmem(s.buf, s.len, s.keys->sign->seed, 8));
	assert_null(memmem(s.buf, s.len, s.keys->box->secret, 8));
	seal_free(&s);
}

/* Sealing twice: fresh salt and nonce, same public part otherwise. */
static void test_reseal(void **state)
{
	struct sealed s;
	uint8_t *again = NULL;
	size_t len;

	seal_new(&s, "pc");
	assert_int_equal(sb_keyfile_seal(&again, &len, s.keys, &min_kdf,
					 "another passphrase", 18), 0);
	assert_int_equal(len, s.len);
	assert_memory_equal(again, s.buf, O_SALT);
	assert_memory_not_equal(again + O_SALT, s.buf + O_SALT, 16);
	assert_memory_equal(again + O_NAMELEN, s.buf + O_NAMELEN,
			    O_NONCE(s.n) - O_NAMELEN);
	assert_memory_not_equal(again + O_NONCE(s.n), s.buf + O_NONCE(s.n), 12);
	assert_int_equal(open_rc(again, len, PASS), SB_EPASS);
	assert_int_equal(open_rc(again, len, "another passphrase"), 0);
	free(again);
	seal_free(&s);
}

static void test_wrong_passphrase(void **state)
{
	struct sb_device_keys *k = (struct sb_device_keys *)"untouched";
	struct sealed s;

	seal_new(&s, "laptop");
	assert_int_equal(open_rc(s.buf, s.len, "correct horsf"), SB_EPASS);
	assert_string_equal(sb_err_msg(SB_EPASS),
			    "wrong passphrase for the key file");
	assert_int_equal(open_rc(s.buf, s.len, "correct horse "), SB_EPASS);
	assert_int_equal(sb_keyfile_open(&k, s.buf, s.len, PASS, 0), SB_EPASS);
	assert_ptr_equal(k, (struct sb_device_keys *)"untouched");
	seal_free(&s);
}

static void test_every_byte_flipped(void **state)
{
	struct sealed s;
	size_t i;

	seal_new(&s, "laptop");
	for (i = 0; i < s.len; i++) {
		int want = i == O_VERSION ? SB_EVERSION : SB_EFORMAT;

		s.buf[i] ^= 0x01;
		assert_int_equal(info_rc(s.buf, s.len), want);
		assert_int_equal(open_rc(s.buf, s.len, PASS), want);
		if (i >= O_TIME && i != O_NAMELEN)
			assert_string_equal(sb_err_msg(want),
				"key file damaged (checksum mismatch)");
		s.buf[i] ^= 0x01 ^ 0x80;
		assert_int_equal(open_rc(s.buf, s.len, PASS), want);
		s.buf[i] ^= 0x80;
	}
	assert_int_equal(open_rc(s.buf, s.len, PASS), 0);
	seal_free(&s);
}

static void test_truncations(void **state)
{
	struct sealed s;
	uint8_t *longer;
	size_t n;

	seal_new(&s, "laptop");
	for (n = 0; n < s.len; n++) {
		assert_int_equal(info_rc(s.buf, n), SB_EFORMAT);
		assert_string_equal(sb_err_msg(SB_EFORMAT), n < 5 ?
				    "not a sealbox key file" :
				    "key file truncated or malformed");
		assert_int_equal(open_rc(s.buf, n, PASS), SB_EFORMAT);
	}
	longer = calloc(1, s.len + 1);
	assert_non_null(longer);
	memcpy(longer, s.buf, s.len);
	assert_int_equal(open_rc(longer, s.len + 1, PASS), SB_EFORMAT);
	rehash(longer, s.len + 1);
	assert_int_equal(open_rc(longer, s.len + 1, PASS), SB_EFORMAT);
	free(longer);
	seal_free(&s);
}

static void test_versions(void **state)
{
	struct sealed s;

	seal_new(&s, "laptop");
	s.buf[O_VERSION] = 2;
	rehash(s.buf, s.len);
	assert_int_equal(info_rc(s.buf, s.len), SB_EVERSION);
	assert_string_equal(sb_err_msg(SB_EVERSION),
			    "key file version 2 unknown");
	assert_int_equal(open_rc(s.buf, s.len, PASS), SB_EVERSION);
	s.buf[O_VERSION] = 0;
	assert_int_equal(open_rc(s.buf, s.len, PASS), SB_EVERSION);
	/* A future version may be shorter than any version 1 file. */
	assert_int_equal(info_rc(s.buf, 5), SB_EVERSION);
	seal_free(&s);
}

/* Alters one byte, recomputes the trailing hash, expects want. */
static void tamper(const struct sealed *s, size_t off, uint8_t x, int want)
{
	uint8_t *b = malloc(s->len);

	assert_non_null(b);
	memcpy(b, s->buf, s->len);
	b[off] ^= x;
	rehash(b, s->len);
	assert_int_equal(open_rc(b, s->len, PASS), want);
	free(b);
}

static void test_tampered_with_hash(void **state)
{
	struct sealed s;

	seal_new(&s, "laptop");
	/* Parameters in range: a different key, so the tag fails. */
	tamper(&s, O_TIME + 3, 0x01, SB_EPASS);		/* t = 3 */
	tamper(&s, O_MEM + 3, 0x01, SB_EPASS);		/* 65537 KiB */
	tamper(&s, O_LANES + 3, 0x03, SB_EPASS);	/* 2 lanes */
	tamper(&s, O_SALT + 7, 0x40, SB_EPASS);
	/* Public parts are AAD. */
	tamper(&s, O_NAME + 5, 'p' ^ 'q', SB_EPASS);	/* "laptoq" */
	tamper(&s, O_SIGNPUB(s.n), 0x01, SB_EPASS);
	tamper(&s, O_SIGNPUB(s.n) + 31, 0x80, SB_EPASS);
	tamper(&s, O_BOXPUB(s.n) + 17, 0x10, SB_EPASS);
	tamper(&s, O_NONCE(s.n), 0x01, SB_EPASS);
	tamper(&s, O_CT(s.n), 0x01, SB_EPASS);
	tamper(&s, O_CT(s.n) + 63, 0x80, SB_EPASS);
	tamper(&s, O_TAG(s.n) + 15, 0x01, SB_EPASS);
	/* Malformed even with a good hash. */
	tamper(&s, O_NAME, 'l' ^ '.', SB_EFORMAT);	/* ".aptop" */
	assert_string_equal(sb_err_msg(SB_EFORMAT),
			    "key file has an invalid device name");
	tamper(&s, O_NAME + 2, 'p' ^ '/', SB_EFORMAT);
	tamper(&s, O_NAMELEN, 0x01, SB_EFORMAT);	/* length 7 */
	tamper(&s, O_TIME + 3, 0x03, SB_EFORMAT);	/* t = 1 */
	assert_string_equal(sb_err_msg(SB_EFORMAT),
			    "Argon2id time cost 1 out of range 2..64");
	seal_free(&s);
}

/* A longer name spliced in, everything after it shifted, hash redone. */
static void test_renamed_with_hash(void **state)
{
	struct sealed s;
	uint8_t *b;
	size_t len;

	seal_new(&s, "laptop");
	len = s.len + 1;
	assert_non_null(b = malloc(len));
	memcpy(b, s.buf, O_NAME + s.n);
	b[O_NAMELEN] = (uint8_t)(s.n + 1);
	b[O_NAME + s.n] = '2';
	memcpy(b + O_NAME + s.n + 1, s.buf + O_NAME + s.n,
	       s.len - O_NAME - s.n);
	rehash(b, len);
	assert_int_equal(info_rc(b, len), 0);
	assert_int_equal(open_rc(b, len, PASS), SB_EPASS);
	free(b);
	seal_free(&s);
}

static void test_info_without_passphrase(void **state)
{
	struct sb_keyfile_info info, untouched;
	struct sealed s;

	seal_new(&s, "a");
	memset(&info, 0, sizeof(info));
	assert_int_equal(sb_keyfile_info(&info, s.buf, s.len), 0);
	assert_string_equal(info.name, "a");
	assert_memory_equal(info.sign_pub, s.keys->sign->pub, SB_ED25519_LEN);
	assert_memory_equal(info.box_pub, s.keys->box->pub, SB_X25519_LEN);
	/* Weak parameters are reported, not judged, by info. */
	s.buf[O_TIME + 3] = 1;
	rehash(s.buf, s.len);
	assert_int_equal(sb_keyfile_info(&info, s.buf, s.len), 0);
	assert_int_equal(info.kdf.time, 1);
	assert_int_equal(open_rc(s.buf, s.len, PASS), SB_EFORMAT);
	/* On failure info is left alone. */
	memset(&untouched, 0x5a, sizeof(untouched));
	memcpy(&info, &untouched, sizeof(info));
	assert_int_equal(sb_keyfile_info(&info, s.buf, s.len - 1), SB_EFORMAT);
	assert_memory_equal(&info, &untouched, sizeof(info));
	seal_free(&s);
}

static void expect_seal_refused(const struct sb_device_keys *k,
				uint32_t t, uint32_t m, uint32_t l,
				const char *msg)
{
	const struct sb_kdf_params p = { t, m, l };
	uint8_t *buf = (uint8_t *)"untouched";
	size_t len = 0;

	assert_int_equal(sb_keyfile_seal(&buf, &len, k, &p, PASS, PASSLEN),
			 SB_EFORMAT);
	assert_string_equal(sb_err_msg(SB_EFORMAT), msg);
	assert_ptr_equal(buf, (uint8_t *)"untouched");
}

static void test_minimums(void **state)
{
	struct sb_device_keys *k = NULL;
	uint8_t *buf = (uint8_t *)"untouched";
	size_t len;

	assert_int_equal(sb_device_keys_generate(&k, "laptop"), 0);
	expect_seal_refused(k, 1, 65536, 1,
			    "Argon2id time cost 1 out of range 2..64");
	expect_seal_refused(k, 2, 65535, 1, "Argon2id memory 65535 KiB out "
			    "of range 65536..2097152 KiB");
	expect_seal_refused(k, 2, 65536, 0,
			    "Argon2id lanes 0 out of range 1..16");
	expect_seal_refused(k, 2, 65536, 17,
			    "Argon2id lanes 17 out of range 1..16");
	assert_int_equal(sb_keyfile_seal(&buf, &len, k, &min_kdf, "", 0),
			 -EINVAL);
	assert_ptr_equal(buf, (uint8_t *)"untouched");
	sb_device_keys_free(k);
}

/* Written files whose public keys do not derive from their secrets. */
static void test_mismatched_public_keys(void **state)
{
	struct sb_device_keys *k = NULL;
	uint8_t *buf = NULL;
	size_t len;

	assert_int_equal(sb_device_keys_generate(&k, "laptop"), 0);
	k->box->pub[3] ^= 0x20;
	assert_int_equal(sb_keyfile_seal(&buf, &len, k, &min_kdf, PASS,
					 PASSLEN), 0);
	assert_int_equal(open_rc(buf, len, PASS), SB_EFORMAT);
	assert_string_equal(sb_err_msg(SB_EFORMAT),
			    "key file public keys do not match its secret keys");
	free(buf);
	k->box->pub[3] ^= 0x20;
	k->sign->pub[30] ^= 0x01;
	assert_int_equal(sb_keyfile_seal(&buf, &len, k, &min_kdf, PASS,
					 PASSLEN), 0);
	assert_int_equal(open_rc(buf, len, PASS), SB_EFORMAT);
	free(buf);
	sb_device_keys_free(k);
}

static struct sb_device_keys *kat_keys(void)
{
	struct sb_device_keys *k = calloc(1, sizeof(*k));
	uint8_t seed[32], secret[32];

	assert_non_null(k);
	memcpy(k->name, "kat-device", 11);
	unhex(seed, rfc8032_seed, 32);
	unhex(secret, rfc7748_alice, 32);
	assert_int_equal(sb_signkey_from_seed(&k->sign, seed), 0);
	assert_int_equal(sb_boxkey_from_secret(&k->box, secret), 0);
	return k;
}

static char *kat_path(void)
{
	const char *src = getenv("SB_SRC");
	char *path = malloc(4096);

	assert_non_null(path);
	snprintf(path, 4096, "%s/tests/kat/keyfile-v1.bin", src ? src : ".");
	return path;
}

static void kat_write(const char *path)
{
	struct sb_device_keys *k = kat_keys();
	uint8_t *buf = NULL;
	size_t len;
	FILE *f;

	assert_int_equal(sb_keyfile_seal(&buf, &len, k, &min_kdf, PASS,
					 PASSLEN), 0);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(buf);
	sb_device_keys_free(k);
}

static void test_kat_file(void **state)
{
	struct sb_device_keys *want = kat_keys(), *k = NULL;
	struct sb_keyfile_info info;
	uint8_t buf[512], pub[32];
	char *path = kat_path();
	size_t len;
	FILE *f;

	if (getenv("SB_KAT_WRITE"))
		kat_write(path);
	if (!(f = fopen(path, "rb")))
		fail_msg("cannot read %s", path);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(len, FILE_LEN(10));

	assert_int_equal(sb_keyfile_info(&info, buf, len), 0);
	assert_string_equal(info.name, "kat-device");
	assert_int_equal(info.kdf.time, 2);
	assert_int_equal(info.kdf.mem_kib, 65536);
	assert_int_equal(info.kdf.lanes, 1);
	unhex(pub, rfc8032_pub, 32);
	assert_memory_equal(info.sign_pub, pub, 32);
	unhex(pub, rfc7748_alice_pub, 32);
	assert_memory_equal(info.box_pub, pub, 32);

	assert_int_equal(sb_keyfile_open(&k, buf, len, PASS, PASSLEN), 0);
	assert_same_keys(k, want);
	sb_device_keys_free(k);
	assert_int_equal(open_rc(buf, len, "Correct horse"), SB_EPASS);
	sb_device_keys_free(want);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reseal),
		cmocka_unit_test(test_wrong_passphrase),
		cmocka_unit_test(test_every_byte_flipped),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_tampered_with_hash),
		cmocka_unit_test(test_renamed_with_hash),
		cmocka_unit_test(test_info_without_passphrase),
		cmocka_unit_test(test_minimums),
		cmocka_unit_test(test_mismatched_public_keys),
		cmocka_unit_test(test_kat_file),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

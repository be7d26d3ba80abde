/*
 * Content file format (crypto/content.c): round trips of the sizes at
 * block edges and of 1 MiB, the header's fixed fields, random-access
 * block rewrites and appends through struct sb_cfile, metadata updates,
 * epochs, argument checks, and the plaintext <-> ciphertext size mapping
 * both ways (exhaustively near zero, and its invalid sizes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/content.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/secrets.h"

#define HDR SB_CONTENT_HEADER
#define CB SB_CONTENT_CBLOCK
#define OV SB_CONTENT_OVERHEAD
#define BS SB_CONTENT_BLOCK

/* Keys from fixed secrets: nepochs epochs, bytes derived from seed. */
static struct sb_content_keys *keys_make(uint32_t nepochs, uint8_t seed)
{
	uint8_t buf[37 + 32 * 4];
	size_t len = 37 + 32 * (size_t)nepochs;
	struct sb_content_keys *k = NULL;
	struct sb_secrets *s = NULL;
	uint32_t e;

	assert_true(nepochs >= 1 && nepochs <= 4);
	buf[0] = 1;
	sb_put_be32(buf + 1, nepochs);
	memset(buf + 5, seed, 32);
	for (e = 0; e < nepochs; e++)
		memset(buf + 37 + 32 * e, seed + 1 + e, 32);
	assert_int_equal(sb_secrets_parse(&s, buf, len), 0);
	assert_int_equal(sb_content_keys_new(&k, s), 0);
	sb_secrets_free(s);
	return k;
}

static uint8_t *pattern(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

static const struct sb_meta meta1 = { 1700000000, 123456789 };

static void check_unseal(const struct sb_content_keys *k, const uint8_t *c,
			 size_t clen, const uint8_t *want, size_t wantlen,
			 const struct sb_meta *wantm)
{
	struct sb_meta m = { 0, 0 };
	uint8_t *out = NULL;
	size_t outlen = 1234;

	assert_int_equal(sb_content_unseal(&out, &outlen, &m, k, c, clen), 0);
	assert_non_null(out);
	assert_int_equal(outlen, wantlen);
	if (wantlen)
		assert_memory_equal(out, want, wantlen);
	assert_int_equal(m.mtime_sec, wantm->mtime_sec);
	assert_int_equal(m.mtime_nsec, wantm->mtime_nsec);
	free(out);
}

static void test_roundtrip_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 8192,
					1 << 20 };
	struct sb_content_keys *k = keys_make(1, 0x10);
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = pattern(sizes[i], (uint32_t)i), *c = NULL;
		size_t clen = 0;

		assert_int_equal(sb_content_seal(&c, &clen, k, &meta1, p,
						 sizes[i]), 0);
		assert_int_equal(clen, sb_content_cipher_size(sizes[i]));
		check_unseal(k, c, clen, p, sizes[i], &meta1);
		/* No plaintext block shows through. */
		if (sizes[i] >= 64)
			assert_null(memmem(c, clen, p, 64));
		free(c);
		free(p);
	}
	sb_content_keys_free(k);
}

static void test_empty_plain_null(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x10);
	uint8_t *c = NULL;
	size_t clen = 0;

	assert_int_equal(sb_content_seal(&c, &clen, k, &meta1, NULL, 0), 0);
	assert_int_equal(clen, HDR + OV);
	check_unseal(k, c, clen, NULL, 0, &meta1);
	free(c);
	sb_content_keys_free(k);
}

static void test_header_fields(void **state)
{
	static const uint8_t fixed[12] = { 'S', 'B', 'X', 'C', 1, 12, 0, 0,
					   0, 0, 0, 2 };
	struct sb_content_keys *k = keys_make(3, 0x20);
	uint8_t *a = NULL, *b = NULL, p[10] = "same bytes";
	size_t alen, blen;

	assert_int_equal(sb_content_keys_epoch(k), 2);
	assert_int_equal(sb_content_seal(&a, &alen, k, &meta1, p, 10), 0);
	assert_int_equal(sb_content_seal(&b, &blen, k, &meta1, p, 10), 0);
	assert_int_equal(alen, HDR + OV + 10);
	assert_memory_equal(a, fixed, sizeof(fixed));
	assert_memory_equal(b, fixed, sizeof(fixed));
	/* Fresh file ID, meta nonce and block nonce every time. */
	assert_memory_not_equal(a + 12, b + 12, SB_CONTENT_FILE_ID);
	assert_memory_not_equal(a + 28, b + 28, SB_CONTENT_NONCE);
	assert_memory_not_equal(a + HDR, b + HDR, SB_CONTENT_NONCE);
	assert_memory_not_equal(a + HDR + 12, b + HDR + 12, 10);
	free(a);
	free(b);
	sb_content_keys_free(k);
}

static void test_old_epoch_readable(void **state)
{
	struct sb_content_keys *k1 = keys_make(1, 0x30);
	struct sb_content_keys *k3 = keys_make(3, 0x30);
	uint8_t *c = NULL, *p = pattern(5000, 7);
	size_t clen;

	assert_int_equal(sb_content_seal(&c, &clen, k1, &meta1, p, 5000), 0);
	assert_int_equal(sb_get_be32(c + 8), 0);
	sb_content_keys_free(k1);
	check_unseal(k3, c, clen, p, 5000, &meta1);
	free(c);
	free(p);
	sb_content_keys_free(k3);
}

static void test_blocks_at_offsets(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x40);
	uint8_t *p = pattern(2 * BS + 100, 3), *c = NULL, out[BS];
	struct sb_cfile *f = NULL;
	struct sb_meta m;
	size_t clen;
	uint64_t i;

	assert_int_equal(sb_content_seal(&c, &clen, k, &meta1, p, 2 * BS + 100),
			 0);
	assert_int_equal(sb_content_block_offset(0), HDR);
	assert_int_equal(sb_content_block_offset(2), HDR + 2 * CB);
	assert_int_equal(sb_cfile_open(&f, k, c, &m), 0);
	assert_int_equal(m.mtime_sec, meta1.mtime_sec);
	for (i = 0; i < 2; i++) {
		assert_int_equal(sb_cfile_decrypt_block(f, i, 0,
				 c + sb_content_block_offset(i), CB, out), 0);
		assert_memory_equal(out, p + i * BS, BS);
	}
	assert_int_equal(sb_cfile_decrypt_block(f, 2, 1,
			 c + sb_content_block_offset(2), 100 + OV, out), 0);
	assert_memory_equal(out, p + 2 * BS, 100);
	/* Random access: a block read twice, out of order, still reads. */
	assert_int_equal(sb_cfile_decrypt_block(f, 0, 0, c + HDR, CB, out), 0);
	assert_memory_equal(out, p, BS);
	sb_cfile_free(f);
	sb_cfile_free(NULL);
	free(c);
	free(p);
	sb_content_keys_free(k);
}

static void test_rewrite_block(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x50);
	size_t len = 3 * BS + 5, clen;
	uint8_t *p = pattern(len, 4), *c = NULL, *old, *fresh = pattern(BS, 5);
	struct sb_cfile *f = NULL;
	uint64_t off = sb_content_block_offset(1);

	assert_int_equal(sb_content_seal(&c, &clen, k, &meta1, p, len), 0);
	assert_non_null(old = malloc(clen));
	memcpy(old, c, clen);
	assert_int_equal(sb_cfile_open(&f, k, c, NULL), 0);
	assert_int_equal(sb_cfile_encrypt_block(f, 1, 0, fresh, BS, c + off),
			 0);
	sb_cfile_free(f);
	/* Only block 1 changed on disk. */
	assert_memory_equal(c, old, off);
	assert_memory_equal(c + off + CB, old + off + CB, clen - off - CB);
	assert_memory_not_equal(c + off, old + off, SB_CONTENT_NONCE);
	memcpy(p + BS, fresh, BS);
	check_unseal(k, c, clen, p, len, &meta1);
	free(old);
	free(fresh);
	free(c);
	free(p);
	sb_content_keys_free(k);
}

/* Appending re-encrypts the old last block as an inner one. */
static void test_append(void **state)
{
	struct sb_content_keys *k = keys_make(2, 0x60);
	uint8_t *p = pattern(5000, 6), *c = NULL, *big;
	struct sb_cfile *f = NULL;
	size_t clen, biglen = sb_content_cipher_size(5000);

	assert_int_equal(sb_content_seal(&c, &clen, k, &meta1, p, 100), 0);
	assert_non_null(big = malloc(biglen));
	memcpy(big, c, HDR);
	assert_int_equal(sb_cfile_open(&f, k, big, NULL), 0);
	assert_int_equal(sb_cfile_encrypt_block(f, 0, 0, p, BS, big + HDR), 0);
	assert_int_equal(sb_cfile_encrypt_block(f, 1, 1, p + BS, 5000 - BS,
						big + HDR + CB), 0);
	sb_cfile_free(f);
	check_unseal(k, big, biglen, p, 5000, &meta1);
	free(big);
	free(c);
	free(p);
	sb_content_keys_free(k);
}

static void test_set_meta(void **state)
{
	static const struct sb_meta m2 = { -86400, 999999999 };
	struct sb_content_keys *k = keys_make(1, 0x70);
	uint8_t *p = pattern(BS + 1, 8), *c = NULL, hdr[HDR];
	struct sb_cfile *f = NULL;
	size_t clen;

	assert_int_equal(sb_content_seal(&c, &clen, k, &meta1, p, BS + 1), 0);
	assert_int_equal(sb_cfile_open(&f, k, c, NULL), 0);
	memset(hdr, 0xee, sizeof(hdr));
	assert_int_equal(sb_cfile_set_meta(f, &m2, hdr), 0);
	sb_cfile_free(f);
	/* The prefix is unchanged; the meta nonce is fresh. */
	assert_memory_equal(hdr, c, SB_CONTENT_PREFIX);
	assert_memory_not_equal(hdr + 28, c + 28, SB_CONTENT_NONCE);
	memcpy(c, hdr, HDR);
	check_unseal(k, c, clen, p, BS + 1, &m2);
	free(c);
	free(p);
	sb_content_keys_free(k);
}

static void test_meta_values(void **state)
{
	static const struct sb_meta ms[] = {
		{ 0, 0 }, { -1, 1 }, { INT64_MIN, 0 }, { INT64_MAX, 999999999 },
	};
	struct sb_content_keys *k = keys_make(1, 0x80);
	struct sb_meta bad = { 5, 1000000000 };
	struct sb_cfile *f = NULL;
	uint8_t *c = NULL, hdr[HDR];
	size_t i, clen = 7;

	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		assert_int_equal(sb_content_seal(&c, &clen, k, &ms[i], NULL, 0),
				 0);
		check_unseal(k, c, clen, NULL, 0, &ms[i]);
		free(c);
	}
	c = NULL;
	assert_int_equal(sb_content_seal(&c, &clen, k, &bad, NULL, 0), -EINVAL);
	assert_null(c);
	assert_int_equal(sb_cfile_create(&f, k, &bad, hdr), -EINVAL);
	assert_null(f);
	assert_int_equal(sb_cfile_create(&f, k, &meta1, hdr), 0);
	assert_int_equal(sb_cfile_set_meta(f, &bad, hdr), -EINVAL);
	sb_cfile_free(f);
	sb_content_keys_free(k);
}

static void test_block_args(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x90);
	uint8_t hdr[HDR], in[CB + 1], out[CB + 1];
	struct sb_cfile *f = NULL;

	memset(in, 0x5a, sizeof(in));
	assert_int_equal(sb_cfile_create(&f, k, &meta1, hdr), 0);
	/* Inner blocks are full; a last block holds 1..4096, 0 only as 0. */
	assert_int_equal(sb_cfile_encrypt_block(f, 0, 0, in, BS - 1, out),
			 -EINVAL);
	assert_int_equal(sb_cfile_encrypt_block(f, 0, 1, in, BS + 1, out),
			 -EINVAL);
	assert_int_equal(sb_cfile_encrypt_block(f, 1, 1, in, 0, out), -EINVAL);
	assert_int_equal(sb_cfile_encrypt_block(f, 0, 0, in, 0, out), -EINVAL);
	assert_int_equal(sb_cfile_encrypt_block(f, 0, 1, in, 0, out), 0);
	assert_int_equal(sb_cfile_encrypt_block(f, 7, 1, in, 1, out), 0);
	assert_int_equal(sb_cfile_encrypt_block(f, 7, 0, in, BS, out), 0);
	/* The same rules for ciphertext lengths. */
	assert_int_equal(sb_cfile_decrypt_block(f, 0, 1, in, OV - 1, out),
			 SB_EFORMAT);
	assert_int_equal(sb_cfile_decrypt_block(f, 0, 1, in, 0, out),
			 SB_EFORMAT);
	assert_int_equal(sb_cfile_decrypt_block(f, 0, 1, in, CB + 1, out),
			 SB_EFORMAT);
	assert_int_equal(sb_cfile_decrypt_block(f, 0, 0, in, CB - 1, out),
			 SB_EFORMAT);
	assert_int_equal(sb_cfile_decrypt_block(f, 3, 1, in, OV, out),
			 SB_EFORMAT);
	sb_cfile_free(f);
	sb_content_keys_free(k);
}

static int cmp_nonce(const void *a, const void *b)
{
	return memcmp(a, b, SB_CONTENT_NONCE);
}

/* Every encryption takes a new nonce, across the handle's batches. */
static void test_nonces_distinct(void **state)
{
	enum { N = 300 };
	struct sb_content_keys *k = keys_make(1, 0xa0);
	uint8_t hdr[HDR], (*n)[SB_CONTENT_NONCE];
	struct sb_cfile *f = NULL;
	size_t i;

	assert_non_null(n = calloc(N + 1, SB_CONTENT_NONCE));
	assert_int_equal(sb_cfile_create(&f, k, &meta1, hdr), 0);
	memcpy(n[N], hdr + SB_CONTENT_PREFIX, SB_CONTENT_NONCE);
	/* The same block again and again: only the nonce differs. */
	for (i = 0; i < N; i++) {
		uint8_t in = 0x42, out[OV + 1];

		assert_int_equal(sb_cfile_encrypt_block(f, 0, 1, &in, 1, out),
				 0);
		memcpy(n[i], out, SB_CONTENT_NONCE);
	}
	qsort(n, N + 1, SB_CONTENT_NONCE, cmp_nonce);
	for (i = 0; i < N; i++)
		assert_memory_not_equal(n[i], n[i + 1], SB_CONTENT_NONCE);
	sb_cfile_free(f);
	free(n);
	sb_content_keys_free(k);
}

static void test_size_table(void **state)
{
	static const uint64_t t[][2] = {
		{ 0, 116 }, { 1, 117 }, { 4095, 4211 }, { 4096, 4212 },
		{ 4097, 4241 }, { 8192, 8336 }, { 8193, 8365 },
		{ 1 << 20, 88 + 256 * 4124 },
	};
	uint64_t plain;
	size_t i;

	assert_int_equal(HDR, 88);
	assert_int_equal(CB, 4124);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(sb_content_cipher_size(t[i][0]), t[i][1]);
		assert_int_equal(sb_content_plain_size(&plain, t[i][1]), 0);
		assert_int_equal(plain, t[i][0]);
	}
}

static void test_size_invalid(void **state)
{
	static const uint64_t bad[] = {
		/* shorter than a header and one empty block */
		0, 1, 87, 88, 115,
		/* a last block too short for its tag */
		88 + CB + 1, 88 + CB + 27, 88 + 5 * CB + 13,
		/* an empty last block after data */
		88 + CB + 28, 88 + 5 * CB + 28,
		/* plaintext beyond INT64_MAX */
		UINT64_MAX,
	};
	uint64_t plain = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_err_clear();
		assert_int_equal(sb_content_plain_size(&plain, bad[i]),
				 SB_EFORMAT);
		assert_int_equal(plain, 42);
		assert_non_null(strstr(sb_err_msg(SB_EFORMAT), "content file"));
	}
}

/* Both ways, every size near zero: the mapping is a bijection. */
static void test_size_exhaustive(void **state)
{
	uint64_t c, p, got, valid = 0;

	for (p = 0; p <= 5 * BS + 1; p++) {
		assert_int_equal(sb_content_plain_size(&got,
				 sb_content_cipher_size(p)), 0);
		assert_int_equal(got, p);
	}
	for (c = 0; c <= HDR + 5 * CB + 1; c++) {
		if (sb_content_plain_size(&got, c))
			continue;
		valid++;
		assert_int_equal(sb_content_cipher_size(got), c);
	}
	/* Valid sizes: one for each plaintext size 0 .. 5 * 4096. */
	assert_int_equal(valid, 5 * BS + 1);
}

static void test_size_large(void **state)
{
	uint64_t got, c = sb_content_cipher_size(INT64_MAX);

	assert_true(c > (uint64_t)INT64_MAX && c != UINT64_MAX);
	assert_int_equal(sb_content_plain_size(&got, c), 0);
	assert_int_equal(got, INT64_MAX);
	assert_int_equal(sb_content_cipher_size((uint64_t)INT64_MAX + 1),
			 UINT64_MAX);
	assert_int_equal(sb_content_cipher_size(UINT64_MAX), UINT64_MAX);
	/* The next valid-looking size would hold INT64_MAX + 1 bytes. */
	assert_int_equal(sb_content_plain_size(&got, c + 1), SB_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_empty_plain_null),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_old_epoch_readable),
		cmocka_unit_test(test_blocks_at_offsets),
		cmocka_unit_test(test_rewrite_block),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_set_meta),
		cmocka_unit_test(test_meta_values),
		cmocka_unit_test(test_block_args),
		cmocka_unit_test(test_nonces_distinct),
		cmocka_unit_test(test_size_table),
		cmocka_unit_test(test_size_invalid),
		cmocka_unit_test(test_size_exhaustive),
		cmocka_unit_test(test_size_large),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

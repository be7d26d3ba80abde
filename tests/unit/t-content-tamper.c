/*
 * Content file tampering (crypto/content.c): every flipped bit of the
 * header and of a small file's body, blocks swapped within a file and
 * between files, truncation inside a block and at a block boundary,
 * extension, an epoch the keys lack, the wrong key, and malformed
 * headers. Every failure must give the exact code and no plaintext.
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

static const struct sb_meta meta1 = { 1700000000, 123456789 };

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

static uint8_t *pattern(size_t n, uint8_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
	return p;
}

static uint8_t *seal(const struct sb_content_keys *k, size_t len,
		     uint8_t seed, size_t *clen)
{
	uint8_t *p = pattern(len, seed), *c = NULL;

	assert_int_equal(sb_content_seal(&c, clen, k, &meta1, p, len), 0);
	free(p);
	return c;
}

/* Unseals and checks that nothing came out when it failed. */
static int unseal_rc(const struct sb_content_keys *k, const uint8_t *c,
		     size_t clen)
{
	struct sb_meta m = { 77, 77 };
	uint8_t *out = NULL;
	size_t outlen = 77;
	int rc = sb_content_unseal(&out, &outlen, &m, k, c, clen);

	if (rc) {
		assert_null(out);
		assert_int_equal(outlen, 77);
		assert_int_equal(m.mtime_sec, 77);
		assert_int_equal(m.mtime_nsec, 77);
	}
	free(out);
	return rc;
}

static int open_rc(const struct sb_content_keys *k, const uint8_t *hdr)
{
	struct sb_meta m = { 77, 77 };
	struct sb_cfile *f = NULL;
	int rc = sb_cfile_open(&f, k, hdr, &m);

	if (rc) {
		assert_null(f);
		assert_int_equal(m.mtime_sec, 77);
	}
	sb_cfile_free(f);
	return rc;
}

/* What a flipped bit at header offset off must give. */
static int header_expect(size_t off)
{
	if (off == 4)
		return SB_EVERSION;
	if (off < 8)
		return SB_EFORMAT;	/* magic, block size, flags */
	return SB_EAUTH;		/* epoch, file ID, meta */
}

static void test_header_bits(void **state)
{
	struct sb_content_keys *k = keys_make(2, 0x11);
	size_t clen, bit;
	uint8_t *c = seal(k, 100, 1, &clen);

	assert_int_equal(unseal_rc(k, c, clen), 0);
	for (bit = 0; bit < HDR * 8; bit++) {
		int want = header_expect(bit / 8);

		c[bit / 8] ^= 1u << (bit % 8);
		if (unseal_rc(k, c, clen) != want ||
		    open_rc(k, c) != want)
			fail_msg("header bit %zu: %d, want %d", bit,
				 unseal_rc(k, c, clen), want);
		c[bit / 8] ^= 1u << (bit % 8);
	}
	assert_int_equal(unseal_rc(k, c, clen), 0);
	free(c);
	sb_content_keys_free(k);
}

static void test_body_bits(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x12);
	size_t clen, bit;
	uint8_t *c = seal(k, 100, 2, &clen);

	assert_int_equal(clen, HDR + OV + 100);
	for (bit = HDR * 8; bit < clen * 8; bit++) {
		c[bit / 8] ^= 1u << (bit % 8);
		sb_err_clear();
		if (unseal_rc(k, c, clen) != SB_EAUTH)
			fail_msg("body bit %zu not detected", bit);
		assert_string_equal(sb_err_msg(SB_EAUTH),
				    "content block 0 fails authentication");
		c[bit / 8] ^= 1u << (bit % 8);
	}
	assert_int_equal(unseal_rc(k, c, clen), 0);
	free(c);
	sb_content_keys_free(k);
}

/* One flipped bit in each block of a bigger file. */
static void test_block_bits(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x13);
	size_t clen, i;
	uint8_t *c = seal(k, 3 * BS + 10, 3, &clen);
	static const size_t at[] = { 0, 11, 12, 100, CB - 17, CB - 16, CB - 1 };

	for (i = 0; i < 3 * 7; i++) {
		size_t off = sb_content_block_offset(i / 7) + at[i % 7];

		c[off] ^= 0x80;
		assert_int_equal(unseal_rc(k, c, clen), SB_EAUTH);
		c[off] ^= 0x80;
	}
	c[clen - 1] ^= 1;
	assert_int_equal(unseal_rc(k, c, clen), SB_EAUTH);
	free(c);
	sb_content_keys_free(k);
}

/* A failed block leaves zeros, not the plaintext libgcrypt decrypted. */
static void test_failed_block_wiped(void **state)
{
	static const uint8_t zero[BS];
	struct sb_content_keys *k = keys_make(1, 0x14);
	size_t clen;
	uint8_t *c = seal(k, 2 * BS, 4, &clen), plain[BS];
	struct sb_cfile *f = NULL;

	assert_int_equal(sb_cfile_open(&f, k, c, NULL), 0);
	c[HDR + CB - 1] ^= 1;			/* tag of block 0 */
	memset(plain, 0xaa, sizeof(plain));
	assert_int_equal(sb_cfile_decrypt_block(f, 0, 0, c + HDR, CB, plain),
			 SB_EAUTH);
	assert_memory_equal(plain, zero, BS);
	c[HDR + CB - 1] ^= 1;
	/* Right block, wrong index or last flag: also wiped. */
	memset(plain, 0xaa, sizeof(plain));
	assert_int_equal(sb_cfile_decrypt_block(f, 1, 0, c + HDR, CB, plain),
			 SB_EAUTH);
	assert_memory_equal(plain, zero, BS);
	assert_int_equal(sb_cfile_decrypt_block(f, 0, 1, c + HDR, CB, plain),
			 SB_EAUTH);
	assert_memory_equal(plain, zero, BS);
	assert_int_equal(sb_cfile_decrypt_block(f, 0, 0, c + HDR, CB, plain),
			 0);
	sb_cfile_free(f);
	free(c);
	sb_content_keys_free(k);
}

static void swap_blocks(uint8_t *c, uint64_t a, uint64_t b)
{
	uint8_t tmp[CB];

	memcpy(tmp, c + sb_content_block_offset(a), CB);
	memcpy(c + sb_content_block_offset(a), c + sb_content_block_offset(b),
	       CB);
	memcpy(c + sb_content_block_offset(b), tmp, CB);
}

static void test_swap_within(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x15);
	size_t clen;
	uint8_t *c = seal(k, 3 * BS + 100, 5, &clen);

	swap_blocks(c, 0, 1);
	assert_int_equal(unseal_rc(k, c, clen), SB_EAUTH);
	swap_blocks(c, 0, 1);
	swap_blocks(c, 1, 2);
	assert_int_equal(unseal_rc(k, c, clen), SB_EAUTH);
	swap_blocks(c, 1, 2);
	/* A block repeated in place of another. */
	memcpy(c + sb_content_block_offset(2), c + sb_content_block_offset(0),
	       CB);
	assert_int_equal(unseal_rc(k, c, clen), SB_EAUTH);
	free(c);
	sb_content_keys_free(k);
}

static void test_swap_between(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x16);
	size_t alen, blen;
	uint8_t *a = seal(k, 2 * BS + 100, 6, &alen);
	uint8_t *b = seal(k, 2 * BS + 100, 6, &blen), *x;

	assert_int_equal(alen, blen);
	assert_non_null(x = malloc(alen));
	/* B's block 1 in A, same index and size: another file's key. */
	memcpy(x, a, alen);
	memcpy(x + sb_content_block_offset(1), b + sb_content_block_offset(1),
	       CB);
	assert_int_equal(unseal_rc(k, x, alen), SB_EAUTH);
	/* B's last block in A. */
	memcpy(x, a, alen);
	memcpy(x + sb_content_block_offset(2), b + sb_content_block_offset(2),
	       100 + OV);
	assert_int_equal(unseal_rc(k, x, alen), SB_EAUTH);
	/* B's header on A's body. */
	memcpy(x, a, alen);
	memcpy(x, b, HDR);
	assert_int_equal(unseal_rc(k, x, alen), SB_EAUTH);
	/* B's metadata under A's file ID. */
	memcpy(x, a, alen);
	memcpy(x + SB_CONTENT_PREFIX, b + SB_CONTENT_PREFIX,
	       HDR - SB_CONTENT_PREFIX);
	assert_int_equal(unseal_rc(k, x, alen), SB_EAUTH);
	assert_int_equal(open_rc(k, x), SB_EAUTH);
	/* Both intact. */
	assert_int_equal(unseal_rc(k, a, alen), 0);
	assert_int_equal(unseal_rc(k, b, blen), 0);
	free(x);
	free(a);
	free(b);
	sb_content_keys_free(k);
}

/* Every shorter length fails: SB_EFORMAT where no plaintext size maps
 * to it, else SB_EAUTH (the new last block was not written as last). */
static void test_truncate_every_length(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x17);
	size_t clen, n;
	uint8_t *c = seal(k, 2 * BS + 1000, 7, &clen);
	uint64_t plain;

	for (n = 0; n < clen; n++) {
		int want = n < HDR || sb_content_plain_size(&plain, n) ?
			   SB_EFORMAT : SB_EAUTH;

		if (unseal_rc(k, c, n) != want)
			fail_msg("cut at %zu: %d, want %d", n,
				 unseal_rc(k, c, n), want);
	}
	free(c);
	sb_content_keys_free(k);
}

static void test_truncate_inside_block(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x18);
	size_t clen;
	uint8_t *c = seal(k, 2 * BS + 1000, 8, &clen);

	assert_int_equal(unseal_rc(k, c, clen - 1), SB_EAUTH);
	assert_int_equal(unseal_rc(k, c, clen - 900), SB_EAUTH);
	/* 1..27 bytes left of the last block: not even a tag. */
	assert_int_equal(unseal_rc(k, c, HDR + 2 * CB + 27), SB_EFORMAT);
	assert_int_equal(unseal_rc(k, c, HDR + 2 * CB + 1), SB_EFORMAT);
	/* An empty last block after data. */
	assert_int_equal(unseal_rc(k, c, HDR + 2 * CB + 28), SB_EFORMAT);
	/* Cut inside a full block. */
	assert_int_equal(unseal_rc(k, c, HDR + CB + 2000), SB_EAUTH);
	free(c);
	sb_content_keys_free(k);
}

static void test_truncate_at_boundary(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x19);
	size_t clen;
	uint8_t *c = seal(k, 2 * BS + 1000, 9, &clen);

	/* Drop the partial last block: block 1 was not written as last. */
	sb_err_clear();
	assert_int_equal(unseal_rc(k, c, HDR + 2 * CB), SB_EAUTH);
	assert_string_equal(sb_err_msg(SB_EAUTH),
			    "content block 1 fails authentication");
	assert_int_equal(unseal_rc(k, c, HDR + CB), SB_EAUTH);
	free(c);
	/* Whole blocks only: drop the last whole block. */
	c = seal(k, 3 * BS, 9, &clen);
	assert_int_equal(clen, HDR + 3 * CB);
	assert_int_equal(unseal_rc(k, c, HDR + 2 * CB), SB_EAUTH);
	/* Down to the header alone. */
	assert_int_equal(unseal_rc(k, c, HDR), SB_EFORMAT);
	free(c);
	sb_content_keys_free(k);
}

static void test_extend(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x1a);
	size_t clen;
	uint8_t *c = seal(k, 2 * BS, 10, &clen), *x;

	assert_non_null(x = malloc(clen + CB));
	memcpy(x, c, clen);
	/* Block 1 again as a third block. */
	memcpy(x + clen, c + sb_content_block_offset(1), CB);
	assert_int_equal(unseal_rc(k, x, clen + CB), SB_EAUTH);
	/* A stray empty block after the data (size refused). */
	assert_int_equal(unseal_rc(k, x, clen + OV), SB_EFORMAT);
	free(x);
	free(c);
	sb_content_keys_free(k);
}

static void test_epoch_missing(void **state)
{
	struct sb_content_keys *k2 = keys_make(2, 0x1b);
	struct sb_content_keys *k1 = keys_make(1, 0x1b);
	size_t clen;
	uint8_t *c = seal(k2, 100, 11, &clen);

	assert_int_equal(sb_get_be32(c + 8), 1);
	sb_err_clear();
	assert_int_equal(unseal_rc(k1, c, clen), SB_EAUTH);
	assert_string_equal(sb_err_msg(SB_EAUTH), "no content key for epoch 1");
	assert_int_equal(open_rc(k1, c), SB_EAUTH);
	/* Epoch set to one the keys have: that epoch's key is wrong. */
	sb_put_be32(c + 8, 0);
	assert_int_equal(unseal_rc(k2, c, clen), SB_EAUTH);
	sb_put_be32(c + 8, UINT32_MAX);
	assert_int_equal(unseal_rc(k2, c, clen), SB_EAUTH);
	free(c);
	sb_content_keys_free(k1);
	sb_content_keys_free(k2);
}

static void test_wrong_key(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x1c);
	struct sb_content_keys *other = keys_make(1, 0x2c);
	size_t clen;
	uint8_t *c = seal(k, 5000, 12, &clen);

	sb_err_clear();
	assert_int_equal(unseal_rc(other, c, clen), SB_EAUTH);
	assert_string_equal(sb_err_msg(SB_EAUTH),
			    "content file header fails authentication");
	assert_int_equal(open_rc(other, c), SB_EAUTH);
	assert_int_equal(unseal_rc(k, c, clen), 0);
	free(c);
	sb_content_keys_free(k);
	sb_content_keys_free(other);
}

static void expect_msg(const struct sb_content_keys *k, const uint8_t *c,
		       size_t clen, int want, const char *msg)
{
	sb_err_clear();
	assert_int_equal(unseal_rc(k, c, clen), want);
	assert_string_equal(sb_err_msg(want), msg);
}

static void test_malformed_header(void **state)
{
	struct sb_content_keys *k = keys_make(1, 0x1d);
	size_t clen, n;
	uint8_t *c = seal(k, 100, 13, &clen);

	for (n = 0; n < 5; n++)
		expect_msg(k, c, n, SB_EFORMAT, "not a content file");
	for (n = 5; n < HDR; n++)
		expect_msg(k, c, n, SB_EFORMAT,
			   "content file header truncated");
	expect_msg(k, c, HDR, SB_EFORMAT,
		   "content file of 88 bytes is too short");
	expect_msg(k, c, HDR + 27, SB_EFORMAT,
		   "content file of 115 bytes is too short");
	memcpy(c, "SBXW", 4);
	expect_msg(k, c, clen, SB_EFORMAT, "not a content file");
	assert_int_equal(open_rc(k, c), SB_EFORMAT);
	memcpy(c, "SBXC", 4);
	c[4] = 2;
	expect_msg(k, c, clen, SB_EVERSION, "content file version 2 unknown");
	assert_int_equal(open_rc(k, c), SB_EVERSION);
	/* The version is checked before the length. */
	expect_msg(k, c, 5, SB_EVERSION, "content file version 2 unknown");
	c[4] = 0;
	expect_msg(k, c, clen, SB_EVERSION, "content file version 0 unknown");
	c[4] = 1;
	c[5] = 13;
	expect_msg(k, c, clen, SB_EFORMAT,
		   "content block size exponent 13 unsupported");
	assert_int_equal(open_rc(k, c), SB_EFORMAT);
	c[5] = 12;
	c[7] = 1;
	expect_msg(k, c, clen, SB_EFORMAT, "content file flags 0x1 unknown");
	assert_int_equal(open_rc(k, c), SB_EFORMAT);
	c[7] = 0;
	assert_int_equal(unseal_rc(k, c, clen), 0);
	free(c);
	sb_content_keys_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_bits),
		cmocka_unit_test(test_body_bits),
		cmocka_unit_test(test_block_bits),
		cmocka_unit_test(test_failed_block_wiped),
		cmocka_unit_test(test_swap_within),
		cmocka_unit_test(test_swap_between),
		cmocka_unit_test(test_truncate_every_length),
		cmocka_unit_test(test_truncate_inside_block),
		cmocka_unit_test(test_truncate_at_boundary),
		cmocka_unit_test(test_extend),
		cmocka_unit_test(test_epoch_missing),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_malformed_header),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

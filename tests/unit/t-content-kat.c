/*
 * Content file known answer (crypto/content.c): tests/kat/content-v1.bin
 * was sealed once by version 1 and must stay readable. It is also decoded
 * here a second time straight from crypto/FORMAT.md with libgcrypt, and
 * files encoded from FORMAT.md (with chosen file ID and nonces) must be
 * read by sb_content_unseal, so the code and the document agree.
 *
 * The KAT: vault secrets version 1 with two epochs (base = 32 x 0x11,
 * content[0] = 32 x 0x22, content[1] = 32 x 0x33), sealed under epoch 1;
 * plaintext 2 * 4096 + 1000 bytes, byte i = i mod 251; mtime
 * 1700000000.123456789.
 *
 * SB_KAT_WRITE=1 regenerates tests/kat/content-v1.bin under $SB_SRC (or
 * the current directory) instead of only reading it.
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

#include "crypto/content.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"
#include "crypto/secrets.h"

#define HDR SB_CONTENT_HEADER
#define CB SB_CONTENT_CBLOCK
#define OV SB_CONTENT_OVERHEAD
#define BS SB_CONTENT_BLOCK
#define KAT_PLAIN (2 * BS + 1000)
#define KAT_LEN (HDR + 2 * CB + 1000 + OV)
#define SECRETS_LEN (37 + 2 * 32)

static const struct sb_meta kat_meta = { 1700000000, 123456789 };

static struct sb_secrets *kat_secrets(void)
{
	uint8_t buf[SECRETS_LEN];
	struct sb_secrets *s = NULL;

	buf[0] = 1;
	sb_put_be32(buf + 1, 2);
	memset(buf + 5, 0x11, 32);
	memset(buf + 37, 0x22, 32);
	memset(buf + 69, 0x33, 32);
	assert_int_equal(sb_secrets_parse(&s, buf, sizeof(buf)), 0);
	return s;
}

static struct sb_content_keys *kat_keys(void)
{
	struct sb_secrets *s = kat_secrets();
	struct sb_content_keys *k = NULL;

	assert_int_equal(sb_content_keys_new(&k, s), 0);
	sb_secrets_free(s);
	return k;
}

static uint8_t *kat_plain(size_t n)
{
	uint8_t *p = malloc(n);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i % 251);
	return p;
}

static char *kat_path(void)
{
	const char *src = getenv("SB_SRC");
	char *path = malloc(4096);

	assert_non_null(path);
	snprintf(path, 4096, "%s/tests/kat/content-v1.bin", src ? src : ".");
	return path;
}

static void kat_write(const char *path)
{
	struct sb_content_keys *k = kat_keys();
	uint8_t *p = kat_plain(KAT_PLAIN), *c = NULL;
	size_t clen;
	FILE *f;

	assert_int_equal(sb_content_seal(&c, &clen, k, &kat_meta, p,
					 KAT_PLAIN), 0);
	assert_int_equal(clen, KAT_LEN);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(c, 1, clen, f), clen);
	assert_int_equal(fclose(f), 0);
	free(c);
	free(p);
	sb_content_keys_free(k);
}

static uint8_t *kat_read(size_t *len)
{
	static int written;
	char *path = kat_path();
	uint8_t *buf = malloc(KAT_LEN + 1);
	FILE *f;

	assert_non_null(buf);
	if (getenv("SB_KAT_WRITE") && !written++)
		kat_write(path);
	if (!(f = fopen(path, "rb")))
		fail_msg("cannot read %s", path);
	*len = fread(buf, 1, KAT_LEN + 1, f);
	fclose(f);
	free(path);
	return buf;
}

static void test_kat_unseal(void **state)
{
	static const uint8_t fixed[12] = { 'S', 'B', 'X', 'C', 1, 12, 0, 0,
					   0, 0, 0, 1 };
	struct sb_content_keys *k = kat_keys();
	uint8_t *c, *p = kat_plain(KAT_PLAIN), *out = NULL;
	struct sb_meta m;
	size_t clen, outlen;
	uint64_t plain;

	c = kat_read(&clen);
	assert_int_equal(clen, KAT_LEN);
	assert_memory_equal(c, fixed, sizeof(fixed));
	assert_int_equal(sb_content_plain_size(&plain, clen), 0);
	assert_int_equal(plain, KAT_PLAIN);
	assert_int_equal(sb_content_unseal(&out, &outlen, &m, k, c, clen), 0);
	assert_int_equal(outlen, KAT_PLAIN);
	assert_memory_equal(out, p, KAT_PLAIN);
	assert_int_equal(m.mtime_sec, kat_meta.mtime_sec);
	assert_int_equal(m.mtime_nsec, kat_meta.mtime_nsec);
	free(out);
	free(c);
	free(p);
	sb_content_keys_free(k);
}

/* FORMAT.md, "Content file": the per-file key of a header. */
static void spec_file_key(uint8_t key[32], const uint8_t *hdr)
{
	struct sb_secrets *s = kat_secrets();
	uint8_t ck[32];

	assert_int_equal(sb_secrets_content_key(ck, s, sb_get_be32(hdr + 8)),
			 0);
	assert_int_equal(sb_hkdf_sha256(key, 32, ck, 32, hdr + 12, 16,
					"sealbox v1 file key", 19), 0);
	sb_wipe(ck, sizeof(ck));
	sb_secrets_free(s);
}

/* AES-256-GCM, keyed, with nonce set and aad authenticated. */
static gcry_cipher_hd_t spec_gcm(const uint8_t key[32], const uint8_t *nonce,
				 const uint8_t *aad, size_t aadlen)
{
	gcry_cipher_hd_t h;

	assert_int_equal(gcry_cipher_open(&h, GCRY_CIPHER_AES256,
					  GCRY_CIPHER_MODE_GCM, 0), 0);
	assert_int_equal(gcry_cipher_setkey(h, key, 32), 0);
	assert_int_equal(gcry_cipher_setiv(h, nonce, 12), 0);
	assert_int_equal(gcry_cipher_authenticate(h, aad, aadlen), 0);
	return h;
}

/* out = ciphertext of in (len bytes), then the tag. */
static void spec_seal(const uint8_t key[32], const uint8_t *nonce,
		      const uint8_t *aad, size_t aadlen, const uint8_t *in,
		      size_t len, uint8_t *out)
{
	gcry_cipher_hd_t h = spec_gcm(key, nonce, aad, aadlen);

	assert_int_equal(gcry_cipher_encrypt(h, out, len, in, len), 0);
	assert_int_equal(gcry_cipher_gettag(h, out + len, 16), 0);
	gcry_cipher_close(h);
}

/* in = ciphertext (len bytes) then the tag; the tag must verify. */
static void spec_open(const uint8_t key[32], const uint8_t *nonce,
		      const uint8_t *aad, size_t aadlen, const uint8_t *in,
		      size_t len, uint8_t *out)
{
	gcry_cipher_hd_t h = spec_gcm(key, nonce, aad, aadlen);

	assert_int_equal(gcry_cipher_decrypt(h, out, len, in, len), 0);
	assert_int_equal(gcry_cipher_checktag(h, in + len, 16), 0);
	gcry_cipher_close(h);
}

static void spec_block_aad(uint8_t aad[26], const uint8_t *hdr,
			   uint64_t index, int last)
{
	aad[0] = 1;
	memcpy(aad + 1, hdr + 12, 16);
	sb_put_be64(aad + 17, index);
	aad[25] = (uint8_t)last;
}

static void test_kat_spec_decode(void **state)
{
	uint8_t key[32], aad[26], meta[32], *c, *p = kat_plain(KAT_PLAIN);
	uint8_t out[BS];
	size_t clen, i, len;

	c = kat_read(&clen);
	spec_file_key(key, c);
	spec_open(key, c + 28, c, 28, c + 40, 32, meta);
	assert_int_equal(sb_get_be64(meta), 1700000000);
	assert_int_equal(sb_get_be32(meta + 8), 123456789);
	for (i = 12; i < 32; i++)
		assert_int_equal(meta[i], 0);
	for (i = 0; i < 3; i++) {
		const uint8_t *b = c + HDR + i * CB;

		len = i < 2 ? BS : 1000;
		spec_block_aad(aad, c, i, i == 2);
		spec_open(key, b, aad, 26, b + 12, len, out);
		assert_memory_equal(out, p + i * BS, len);
	}
	free(c);
	free(p);
}

/*
 * A file encoded from FORMAT.md alone: file ID and nonces chosen here,
 * block i marked last when lastmask has bit i, meta given as bytes.
 */
static uint8_t *spec_encode(size_t plen, unsigned lastmask,
			    const uint8_t meta[32], size_t *clen)
{
	size_t n = plen ? (plen + BS - 1) / BS : 1, i;
	uint8_t *c, *p = kat_plain(plen ? plen : 1), key[32], aad[26];

	*clen = HDR + n * OV + plen;
	assert_non_null(c = malloc(*clen));
	memcpy(c, "SBXC\x01\x0c\x00\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < 16; i++)
		c[12 + i] = (uint8_t)(0xa0 + i);
	memset(c + 28, 0x5c, 12);
	spec_file_key(key, c);
	spec_seal(key, c + 28, c, 28, meta, 32, c + 40);
	for (i = 0; i < n; i++) {
		uint8_t *b = c + HDR + i * CB;
		size_t len = i < n - 1 ? BS : plen - i * BS;

		memset(b, (int)(0x60 + i), 12);
		spec_block_aad(aad, c, i, (lastmask >> i) & 1);
		spec_seal(key, b, aad, 26, p + i * BS, len, b + 12);
	}
	free(p);
	return c;
}

static void spec_meta(uint8_t meta[32], int64_t sec, uint32_t nsec)
{
	memset(meta, 0, 32);
	sb_put_be64(meta, (uint64_t)sec);
	sb_put_be32(meta + 8, nsec);
}

static int unseal_spec(const struct sb_content_keys *k, const uint8_t *c,
		       size_t clen, size_t plen)
{
	uint8_t *out = NULL, *p = kat_plain(plen ? plen : 1);
	struct sb_meta m;
	size_t outlen;
	int rc = sb_content_unseal(&out, &outlen, &m, k, c, clen);

	if (!rc) {
		assert_int_equal(outlen, plen);
		if (plen)
			assert_memory_equal(out, p, plen);
		assert_int_equal(m.mtime_sec, -5);
		assert_int_equal(m.mtime_nsec, 999999999);
	} else {
		assert_null(out);
	}
	free(out);
	free(p);
	return rc;
}

static void test_spec_encode_read(void **state)
{
	struct sb_content_keys *k = kat_keys();
	uint8_t meta[32], *c;
	size_t clen;

	spec_meta(meta, -5, 999999999);
	c = spec_encode(2 * BS + 7, 4, meta, &clen);
	assert_int_equal(unseal_spec(k, c, clen, 2 * BS + 7), 0);
	free(c);
	c = spec_encode(0, 1, meta, &clen);
	assert_int_equal(unseal_spec(k, c, clen, 0), 0);
	free(c);
	c = spec_encode(BS, 1, meta, &clen);
	assert_int_equal(unseal_spec(k, c, clen, BS), 0);
	free(c);
	sb_content_keys_free(k);
}

/* Valid tags, wrong last flags: unseal checks which block is last. */
static void test_spec_last_flags(void **state)
{
	static const unsigned masks[] = { 0, 1, 2, 3, 5, 6, 7 };
	struct sb_content_keys *k = kat_keys();
	uint8_t meta[32], *c;
	size_t clen, i;

	spec_meta(meta, -5, 999999999);
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		c = spec_encode(2 * BS + 7, masks[i], meta, &clen);
		assert_int_equal(unseal_spec(k, c, clen, 2 * BS + 7), SB_EAUTH);
		free(c);
	}
	c = spec_encode(0, 0, meta, &clen);
	assert_int_equal(unseal_spec(k, c, clen, 0), SB_EAUTH);
	free(c);
	sb_content_keys_free(k);
}

/* Authentic metadata that breaks the layout is refused. */
static void test_spec_meta_malformed(void **state)
{
	struct sb_content_keys *k = kat_keys();
	uint8_t meta[32], *c;
	size_t clen, i;

	spec_meta(meta, -5, 1000000000);
	c = spec_encode(10, 1, meta, &clen);
	sb_err_clear();
	assert_int_equal(unseal_spec(k, c, clen, 10), SB_EFORMAT);
	assert_string_equal(sb_err_msg(SB_EFORMAT),
			    "content metadata malformed");
	free(c);
	for (i = 12; i < 32; i += 19) {
		spec_meta(meta, -5, 999999999);
		meta[i] = 1;
		c = spec_encode(10, 1, meta, &clen);
		assert_int_equal(unseal_spec(k, c, clen, 10), SB_EFORMAT);
		free(c);
	}
	sb_content_keys_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_unseal),
		cmocka_unit_test(test_kat_spec_decode),
		cmocka_unit_test(test_spec_encode_read),
		cmocka_unit_test(test_spec_last_flags),
		cmocka_unit_test(test_spec_meta_malformed),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

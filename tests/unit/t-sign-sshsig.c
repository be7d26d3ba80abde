/*
 * SSHSIG (crypto/sign.c): known answers made by OpenSSH 9.2's
 * `ssh-keygen -Y sign` (sha512 and sha256), round trips, and rejection
 * of malformed armor and blobs: truncation at every length, bad magic,
 * versions 0 and 2, wrong namespace, trailing bytes, non-empty reserved
 * field, bad key or signature types and lengths, bad base64, and every
 * flipped byte of the decoded blob.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/base64.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sign.h"

#define BLOB_MAX 4096
#define TEXT_MAX 8192

/* RFC 8032 TEST 1 key; its public key is d75a9801...f707511a. */
static const uint8_t seed1[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
	0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

static const char hello[] = "hello\n";

/* ssh-keygen -Y sign -n git -f KEY (KEY: seed1), message "hello\n". */
static const char kat_sha512[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg11qYAYKxCrfVS/7TyWQHOg7hcv\n"
	"PapiMlrwIaaPcHURoAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5\n"
	"AAAAQBBIxKwUuTCM+bMoo/FbmT8wlY2B/RuJivxDe3gsE3AyyMg0Ma5OfzHDjHqwYV0+ls\n"
	"kH5U2kGgkpcJpbLPjVPwY=\n"
	"-----END SSH SIGNATURE-----\n";

/* The same with -O hashalg=sha256. */
static const char kat_sha256[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg11qYAYKxCrfVS/7TyWQHOg7hcv\n"
	"PapiMlrwIaaPcHURoAAAADZ2l0AAAAAAAAAAZzaGEyNTYAAABTAAAAC3NzaC1lZDI1NTE5\n"
	"AAAAQOeiOvgjZ+1rxeP+fzKD6YNejjCc15fg7vw4eG9VMi6g2sHtfgXMHxQdbGEtsAN6cJ\n"
	"BrZ0pbMKplVqAZ02s/4gM=\n"
	"-----END SSH SIGNATURE-----\n";

static const char begin[] = "-----BEGIN SSH SIGNATURE-----\n";
static const char end[] = "-----END SSH SIGNATURE-----\n";

static struct sb_signkey *key1(void)
{
	struct sb_signkey *k = NULL;

	assert_int_equal(sb_signkey_from_seed(&k, seed1), 0);
	return k;
}

static int verify(const char *armor, size_t len, const char *ns,
		  const void *msg, size_t msglen)
{
	uint8_t signer[SB_ED25519_LEN];

	return sb_sshsig_verify(signer, armor, len, ns, msg, msglen);
}

static int verify_hello(const char *armor, size_t len)
{
	return verify(armor, len, "git", hello, strlen(hello));
}

/* Decodes an armor this test made or trusts; returns the blob length. */
static size_t unarmor(uint8_t *blob, const char *armor)
{
	char b64[TEXT_MAX];
	const char *p = armor + strlen(begin);
	const char *stop = strstr(armor, "-----END");
	size_t n = 0, len;

	for (; p < stop; p++) {
		if (*p != '\n')
			b64[n++] = *p;
	}
	assert_int_equal(sb_base64_decode(blob, &len, b64, n), 0);
	return len;
}

/* Armors blob with base64 lines of cols characters. */
static size_t armor_cols(char *out, const uint8_t *blob, size_t n,
			 size_t cols)
{
	char b64[TEXT_MAX];
	size_t b = sb_base64_encode(b64, blob, n), i, o;

	o = (size_t)snprintf(out, TEXT_MAX, "%s", begin);
	for (i = 0; i < b; i += cols) {
		size_t l = b - i < cols ? b - i : cols;

		memcpy(out + o, b64 + i, l);
		o += l;
		out[o++] = '\n';
	}
	o += (size_t)snprintf(out + o, TEXT_MAX - o, "%s", end);
	return o;
}

static int verify_blob(const uint8_t *blob, size_t n)
{
	char text[TEXT_MAX];
	size_t len = armor_cols(text, blob, n, 70);

	return verify_hello(text, len);
}

/* An SSHSIG blob put together field by field, so one can be made wrong. */
struct fields {
	const char *magic;
	uint32_t version;
	const char *keytype, *ns, *reserved, *hash, *sigtype;
	size_t publen, siglen;
	int pub_extra, sig_extra, extra;
	const uint8_t *pub;	/* NULL: the signer's */
};

static const struct fields good = {
	"SSHSIG", 1, "ssh-ed25519", "git", "", "sha512", "ssh-ed25519",
	32, 64, 0, 0, 0, NULL,
};

struct wr {
	uint8_t *p;
	size_t n;
};

static void w_raw(struct wr *w, const void *d, size_t n)
{
	assert_true(w->n + n <= BLOB_MAX);
	memcpy(w->p + w->n, d, n);
	w->n += n;
}

static void w_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4];

	sb_put_be32(b, v);
	w_raw(w, b, 4);
}

static void w_str(struct wr *w, const void *d, size_t n)
{
	w_u32(w, (uint32_t)n);
	w_raw(w, d, n);
}

static void w_cstr(struct wr *w, const char *s)
{
	w_str(w, s, strlen(s));
}

/* Signs "hello\n" as OpenSSH does (reserved empty in the signed data). */
static void sign_fields(uint8_t sig[64], const struct fields *f,
			const struct sb_signkey *k)
{
	uint8_t h[64], tosign[512];
	struct wr w = { tosign, 0 };
	size_t hlen = 64;

	if (!strcmp(f->hash, "sha256")) {
		sb_sha256(h, hello, strlen(hello));
		hlen = 32;
	} else {
		sb_sha512(h, hello, strlen(hello));
	}
	w_raw(&w, "SSHSIG", 6);
	w_cstr(&w, f->ns);
	w_cstr(&w, "");
	w_cstr(&w, f->hash);
	w_str(&w, h, hlen);
	assert_int_equal(sb_ed25519_sign(sig, k, tosign, w.n), 0);
}

static size_t build(uint8_t *blob, const struct fields *f)
{
	struct sb_signkey *k = key1();
	uint8_t sig[64], zero[80] = { 0 }, inner[256];
	struct wr w = { blob, 0 }, in = { inner, 0 };
	const uint8_t *pub = f->pub ? f->pub : k->pub;

	sign_fields(sig, f, k);
	w_raw(&w, f->magic, strlen(f->magic));
	w_u32(&w, f->version);
	w_cstr(&in, f->keytype);
	w_str(&in, f->publen <= 32 ? pub : zero, f->publen);
	w_raw(&in, zero, (size_t)f->pub_extra);
	w_str(&w, inner, in.n);
	w_cstr(&w, f->ns);
	w_cstr(&w, f->reserved);
	w_cstr(&w, f->hash);
	in.n = 0;
	w_cstr(&in, f->sigtype);
	w_str(&in, f->siglen <= 64 ? sig : zero, f->siglen);
	w_raw(&in, zero, (size_t)f->sig_extra);
	w_str(&w, inner, in.n);
	w_raw(&w, zero, (size_t)f->extra);
	sb_signkey_free(k);
	return w.n;
}

static void test_kat_sign(void **state)
{
	struct sb_signkey *k = key1();
	char *armor = NULL;

	assert_int_equal(sb_sshsig_sign(&armor, k, "git", hello,
					strlen(hello)), 0);
	assert_string_equal(armor, kat_sha512);
	free(armor);
	sb_signkey_free(k);
}

static void test_kat_verify(void **state)
{
	struct sb_signkey *k = key1();
	uint8_t signer[SB_ED25519_LEN];

	assert_int_equal(sb_sshsig_verify(signer, kat_sha512,
					  strlen(kat_sha512), "git", hello,
					  strlen(hello)), 0);
	assert_memory_equal(signer, k->pub, SB_ED25519_LEN);
	memset(signer, 0, sizeof(signer));
	assert_int_equal(sb_sshsig_verify(signer, kat_sha256,
					  strlen(kat_sha256), "git", hello,
					  strlen(hello)), 0);
	assert_memory_equal(signer, k->pub, SB_ED25519_LEN);
	/* As git stores it in a commit header: no final newline. */
	assert_int_equal(verify_hello(kat_sha512, strlen(kat_sha512) - 1), 0);
	assert_int_equal(verify_hello(kat_sha256, strlen(kat_sha256) - 1), 0);
	sb_signkey_free(k);
}

static void test_round_trip(void **state)
{
	struct sb_signkey *k = NULL;
	uint8_t signer[SB_ED25519_LEN], *msg = malloc(100000);
	char *armor = NULL, *line;
	size_t len;

	assert_non_null(msg);
	sb_random_id(msg, 100000);
	assert_int_equal(sb_signkey_generate(&k), 0);
	assert_int_equal(sb_sshsig_sign(&armor, k, "git", msg, 100000), 0);
	len = strlen(armor);
	assert_int_equal(sb_sshsig_verify(signer, armor, len, "git", msg,
					  100000), 0);
	assert_memory_equal(signer, k->pub, SB_ED25519_LEN);
	/* The armor is ssh-keygen's: lines of 70, final newline. */
	assert_int_equal(strncmp(armor, begin, strlen(begin)), 0);
	assert_string_equal(armor + len - strlen(end), end);
	for (line = armor; *line; line = strchr(line, '\n') + 1)
		assert_true(strcspn(line, "\n") <= 70);
	msg[99999] ^= 1;
	assert_int_equal(verify(armor, len, "git", msg, 100000), SB_ESIG);
	msg[99999] ^= 1;
	assert_int_equal(verify(armor, len, "git", msg, 99999), SB_ESIG);
	assert_int_equal(verify(armor, len, "file", msg, 100000), SB_ESIG);
	assert_int_equal(verify(armor, len, "gi", msg, 100000), SB_ESIG);
	assert_int_equal(verify(armor, len, "gitx", msg, 100000), SB_ESIG);
	free(armor);
	/* An empty message, also as NULL. */
	assert_int_equal(sb_sshsig_sign(&armor, k, "file", NULL, 0), 0);
	assert_int_equal(verify(armor, strlen(armor), "file", "", 0), 0);
	assert_int_equal(verify(armor, strlen(armor), "file", NULL, 0), 0);
	assert_int_equal(verify(armor, strlen(armor), "file", "x", 1),
			 SB_ESIG);
	free(armor);
	free(msg);
	sb_signkey_free(k);
}

static void test_failure_leaves_signer(void **state)
{
	uint8_t signer[SB_ED25519_LEN], want[SB_ED25519_LEN];

	memset(signer, 0xaa, sizeof(signer));
	memset(want, 0xaa, sizeof(want));
	assert_int_equal(sb_sshsig_verify(signer, kat_sha512,
					  strlen(kat_sha512), "file", hello,
					  strlen(hello)), SB_ESIG);
	assert_memory_equal(signer, want, sizeof(want));
}

static void test_bad_arguments(void **state)
{
	struct sb_signkey *k = key1();
	char *armor = NULL;

	assert_int_equal(sb_sshsig_sign(&armor, k, "", hello, 6), -EINVAL);
	assert_int_equal(sb_sshsig_sign(&armor, k, NULL, hello, 6), -EINVAL);
	assert_null(armor);
	assert_int_equal(verify(kat_sha512, strlen(kat_sha512), "", hello, 6),
			 -EINVAL);
	sb_signkey_free(k);
}

static void test_truncated_armor(void **state)
{
	size_t n = strlen(kat_sha512), i;

	for (i = 0; i + 1 < n; i++)
		assert_int_equal(verify_hello(kat_sha512, i), SB_EFORMAT);
	assert_int_equal(verify_hello(kat_sha512, n - 1), 0);
	assert_int_equal(verify_hello(kat_sha512, n), 0);
}

static void test_truncated_blob(void **state)
{
	uint8_t blob[BLOB_MAX];
	size_t n = unarmor(blob, kat_sha512), i;

	assert_int_equal(verify_blob(blob, n), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(verify_blob(blob, i), SB_EFORMAT);
}

static void test_flipped_bytes(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	uint8_t blob[BLOB_MAX];
	size_t n = unarmor(blob, kat_sha512), i, m;
	int seen_format = 0, seen_sig = 0, rc;

	for (i = 0; i < n; i++) {
		for (m = 0; m < sizeof(masks); m++) {
			blob[i] ^= masks[m];
			rc = verify_blob(blob, n);
			blob[i] ^= masks[m];
			if (rc != SB_EFORMAT && rc != SB_ESIG)
				fail_msg("byte %zu ^ 0x%02x: %d", i, masks[m], rc);
			seen_format |= rc == SB_EFORMAT;
			seen_sig |= rc == SB_ESIG;
		}
	}
	assert_true(seen_format && seen_sig);
	assert_int_equal(verify_blob(blob, n), 0);
}

static void test_builder_is_faithful(void **state)
{
	uint8_t blob[BLOB_MAX], kat[BLOB_MAX];
	size_t n = build(blob, &good);

	assert_int_equal(n, unarmor(kat, kat_sha512));
	assert_memory_equal(blob, kat, n);
	assert_int_equal(verify_blob(blob, n), 0);
}

static void expect_fields(const struct fields *f, int want, const char *msg)
{
	uint8_t blob[BLOB_MAX];
	size_t n = build(blob, f);
	int rc = verify_blob(blob, n);

	if (rc != want)
		fail_msg("%s: got %d (%s), want %d", msg, rc, sb_err_msg(rc),
			 want);
}

static void test_malformed_fields(void **state)
{
	uint8_t other[32];
	struct fields f;

#define CASE(field, value, want) \
	do { \
		f = good; \
		f.field = value; \
		expect_fields(&f, want, #field " = " #value); \
	} while (0)

	CASE(magic, "SSHSIH", SB_EFORMAT);
	CASE(magic, "sshsig", SB_EFORMAT);
	CASE(version, 2, SB_EFORMAT);
	CASE(version, 0, SB_EFORMAT);
	CASE(version, 0x01000000, SB_EFORMAT);
	CASE(keytype, "ssh-rsa", SB_EFORMAT);
	CASE(keytype, "ssh-ed25519-cert-v01@openssh.com", SB_EFORMAT);
	CASE(publen, 31, SB_EFORMAT);
	CASE(publen, 33, SB_EFORMAT);
	CASE(pub_extra, 1, SB_EFORMAT);
	CASE(ns, "file", SB_ESIG);
	CASE(ns, "", SB_ESIG);
	CASE(reserved, "x", SB_EFORMAT);
	CASE(hash, "sha384", SB_EFORMAT);
	CASE(hash, "SHA512", SB_EFORMAT);
	CASE(hash, "sha256", 0);
	CASE(sigtype, "ssh-ed448", SB_EFORMAT);
	CASE(sigtype, "rsa-sha2-512", SB_EFORMAT);
	CASE(siglen, 63, SB_EFORMAT);
	CASE(siglen, 65, SB_EFORMAT);
	CASE(sig_extra, 1, SB_EFORMAT);
	CASE(extra, 1, SB_EFORMAT);
	CASE(extra, 64, SB_EFORMAT);
	/* Signed by seed1, claiming another key. */
	memset(other, 0x42, sizeof(other));
	CASE(pub, other, SB_ESIG);
	/* A key (y = 3) on which libgcrypt 1.10 would abort the process. */
	memset(other, 0, sizeof(other));
	other[0] = 3;
	CASE(pub, other, SB_ESIG);
#undef CASE
}

static void expect_text(const char *text, int want, const char *what)
{
	int rc = verify_hello(text, strlen(text));

	if (rc != want)
		fail_msg("%s: got %d (%s), want %d", what, rc, sb_err_msg(rc),
			 want);
}

/* kat_sha512 with the first occurrence of from replaced by to. */
static void replaced(char *out, const char *from, const char *to)
{
	const char *p = strstr(kat_sha512, from);

	assert_non_null(p);
	snprintf(out, TEXT_MAX, "%.*s%s%s", (int)(p - kat_sha512), kat_sha512,
		 to, p + strlen(from));
}

static void test_bad_armor(void **state)
{
	char text[TEXT_MAX];
	uint8_t blob[BLOB_MAX];
	size_t n = unarmor(blob, kat_sha512);

	expect_text("", SB_EFORMAT, "empty");
	snprintf(text, sizeof(text), "%s%s", begin, end);
	expect_text(text, SB_EFORMAT, "no body");
	snprintf(text, sizeof(text), "x%s", kat_sha512);
	expect_text(text, SB_EFORMAT, "text before BEGIN");
	snprintf(text, sizeof(text), "%sx", kat_sha512);
	expect_text(text, SB_EFORMAT, "text after END");
	snprintf(text, sizeof(text), "%s\n", kat_sha512);
	expect_text(text, SB_EFORMAT, "two final newlines");
	replaced(text, "BEGIN SSH", "BEGIN SSh");
	expect_text(text, SB_EFORMAT, "bad BEGIN line");
	replaced(text, "END SSH", "END SSh");
	expect_text(text, SB_EFORMAT, "bad END line");
	replaced(text, "Z2l0", "Z2l*");
	expect_text(text, SB_EFORMAT, "bad base64 character");
	replaced(text, "PwY=", "PwZ=");
	expect_text(text, SB_EFORMAT, "non-canonical base64");
	replaced(text, "PwY=", "PwY");
	expect_text(text, SB_EFORMAT, "base64 padding missing");
	replaced(text, "U1NI", "U1N=");
	expect_text(text, SB_EFORMAT, "padding inside the base64");
	replaced(text, "hcv\n", "hcv\n\n");
	expect_text(text, SB_EFORMAT, "empty line");
	replaced(text, "hcv\n", "hcv\r\n");
	expect_text(text, SB_EFORMAT, "CRLF");
	replaced(text, "hcv\n", "hcv \n");
	expect_text(text, SB_EFORMAT, "space in the body");
	replaced(text, "----\nU1NI", "----\n\nU1NI");
	expect_text(text, SB_EFORMAT, "empty first line");
	/* Other line widths are the same base64. */
	armor_cols(text, blob, n, 64);
	expect_text(text, 0, "lines of 64");
	armor_cols(text, blob, n, 1000);
	expect_text(text, 0, "one line");
	/* A NUL inside the armor is not the end of it. */
	memcpy(text, kat_sha512, strlen(kat_sha512) + 1);
	text[40] = '\0';
	assert_int_equal(verify_hello(text, strlen(kat_sha512)), SB_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_sign),
		cmocka_unit_test(test_kat_verify),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_failure_leaves_signer),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_truncated_armor),
		cmocka_unit_test(test_truncated_blob),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_builder_is_faithful),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_bad_armor),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

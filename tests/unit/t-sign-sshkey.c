/*
 * OpenSSH key texts (crypto/sign.c): public key lines, SHA256
 * fingerprints and allowed_signers lines against what OpenSSH 9.2's
 * ssh-keygen prints; openssh-key-v1 private key files: ours equal
 * ssh-keygen's byte for byte but for the random check words, a key
 * ssh-keygen wrote parses, an encrypted one is refused, and every
 * truncation and (outside the free-text comment) every flipped byte of
 * a key file is refused.
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
#define CHECK_OFF 98	/* the check words in an ssh-ed25519 key file */

/* RFC 8032 TEST 1 seed. */
static const uint8_t seed1[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
	0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

/* ssh-keygen -y and -lf for a key file holding seed1. */
static const char pub1[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
static const char fpr1[] = "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8";

/*
 * A throw-away test key from `ssh-keygen -t ed25519 -N '' -C gen@test`,
 * its .pub file, `ssh-keygen -lf` of it, and its seed.
 */
static const char gen_key[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACAY8K4Q6bAZi8CifndbXJT9qhCbB0RdWRgcRhMKcdT1FAAAAJCp0vQaqdL0\n"
	"GgAAAAtzc2gtZWQyNTUxOQAAACAY8K4Q6bAZi8CifndbXJT9qhCbB0RdWRgcRhMKcdT1FA\n"
	"AAAEBmJw08fnhKxIicsljKlG1Tw8fLyUadIUDIV3/65mLLlxjwrhDpsBmLwKJ+d1tclP2q\n"
	"EJsHRF1ZGBxGEwpx1PUUAAAACGdlbkB0ZXN0AQIDBAU=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char gen_pub[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBjwrhDpsBmLwKJ+d1tclP2qEJsHRF1ZGBxGEwpx1PUU gen@test\n";
static const char gen_fpr[] = "SHA256:C/4o0l73+jDeuPKdklX5rZA3QX+G6F0nR9bsJG2F1KM";
static const uint8_t gen_seed[32] = {
	0x66, 0x27, 0x0d, 0x3c, 0x7e, 0x78, 0x4a, 0xc4,
	0x88, 0x9c, 0xb2, 0x58, 0xca, 0x94, 0x6d, 0x53,
	0xc3, 0xc7, 0xcb, 0xc9, 0x46, 0x9d, 0x21, 0x40,
	0xc8, 0x57, 0x7f, 0xfa, 0xe6, 0x62, 0xcb, 0x97,
};

/* The same kind of key with passphrase "secret" (aes256-ctr, bcrypt). */
static const char enc_key[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABAHmtqDEa\n"
	"fUBOlNfz4ZYvoiAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIHYEHPVp5BqPLiT/\n"
	"YA/GS/J1lKOROd9vAc8Ta6VRgp4+AAAAkEaappcL/ePNmqtqNc1ihhbrm54xnk2bH2zEGg\n"
	"MEHpBTDnAS9IC0wrv09g84phySHLzO0XLuWDZq96LpUxBnSKxqP7bQHd5qz7Om1HSV4KRy\n"
	"jpUj++AOzbexfQvUHTeZpAnFnK6tGX+N+6EemiMwGzuc867k2cjtgqW0slzCE/RBRUbiqY\n"
	"CzyKow354atVbqNw==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

static const char kbegin[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
static const char kend[] = "-----END OPENSSH PRIVATE KEY-----\n";

static struct sb_signkey *from_seed(const uint8_t *seed)
{
	struct sb_signkey *k = NULL;

	assert_int_equal(sb_signkey_from_seed(&k, seed), 0);
	return k;
}

static size_t unarmor(uint8_t *blob, const char *text)
{
	char b64[TEXT_MAX];
	const char *p = text + strlen(kbegin);
	const char *stop = strstr(text, "-----END");
	size_t n = 0, len;

	for (; p < stop; p++) {
		if (*p != '\n')
			b64[n++] = *p;
	}
	assert_int_equal(sb_base64_decode(blob, &len, b64, n), 0);
	return len;
}

static size_t armor(char *out, const uint8_t *blob, size_t n)
{
	char b64[TEXT_MAX];
	size_t b = sb_base64_encode(b64, blob, n), i, o;

	o = (size_t)snprintf(out, TEXT_MAX, "%s", kbegin);
	for (i = 0; i < b; i += 70) {
		size_t l = b - i < 70 ? b - i : 70;

		memcpy(out + o, b64 + i, l);
		o += l;
		out[o++] = '\n';
	}
	o += (size_t)snprintf(out + o, TEXT_MAX - o, "%s", kend);
	return o;
}

static int parse_blob(const uint8_t *blob, size_t n)
{
	struct sb_signkey *k = NULL;
	char text[TEXT_MAX];
	size_t len = armor(text, blob, n);
	int rc = sb_ssh_privkey_parse(&k, text, len);

	sb_signkey_free(k);
	return rc;
}

static void test_pubkey_format(void **state)
{
	struct sb_signkey *k = from_seed(seed1);
	char *s = NULL;

	assert_int_equal(sb_ssh_pubkey_format(&s, k->pub, NULL), 0);
	assert_string_equal(s, pub1);
	free(s);
	assert_int_equal(sb_ssh_pubkey_format(&s, k->pub, ""), 0);
	assert_string_equal(s, pub1);
	free(s);
	assert_int_equal(sb_ssh_pubkey_format(&s, k->pub, "dev@sealbox"), 0);
	assert_string_equal(s + strlen(pub1), " dev@sealbox");
	free(s);
	s = NULL;
	assert_int_equal(sb_ssh_pubkey_format(&s, k->pub, "a\nb"), -EINVAL);
	assert_null(s);
	sb_signkey_free(k);
}

static int parse_pub(const char *text, uint8_t *pub)
{
	return sb_ssh_pubkey_parse(pub, text, strlen(text));
}

static void test_pubkey_parse(void **state)
{
	struct sb_signkey *k = from_seed(seed1), *g = from_seed(gen_seed);
	uint8_t pub[SB_ED25519_LEN];
	char text[512];

	assert_int_equal(parse_pub(pub1, pub), 0);
	assert_memory_equal(pub, k->pub, SB_ED25519_LEN);
	assert_int_equal(parse_pub(gen_pub, pub), 0);
	assert_memory_equal(pub, g->pub, SB_ED25519_LEN);
	snprintf(text, sizeof(text), "%s\n", pub1);
	assert_int_equal(parse_pub(text, pub), 0);
	snprintf(text, sizeof(text), "ssh-ed25519\t%s any comment", pub1 + 12);
	assert_int_equal(parse_pub(text, pub), 0);
	assert_memory_equal(pub, k->pub, SB_ED25519_LEN);

	assert_int_equal(parse_pub("", pub), SB_EFORMAT);
	assert_int_equal(parse_pub("ssh-ed25519", pub), SB_EFORMAT);
	assert_int_equal(parse_pub("ssh-ed25519 ", pub), SB_EFORMAT);
	snprintf(text, sizeof(text), "ssh-rsa %s", pub1 + 12);
	assert_int_equal(parse_pub(text, pub), SB_EFORMAT);
	snprintf(text, sizeof(text), "ssh-ed25519x %s", pub1 + 12);
	assert_int_equal(parse_pub(text, pub), SB_EFORMAT);
	snprintf(text, sizeof(text), "%s\n%s\n", pub1, pub1);
	assert_int_equal(parse_pub(text, pub), SB_EFORMAT);
	snprintf(text, sizeof(text), "%s\n\n", pub1);
	assert_int_equal(parse_pub(text, pub), SB_EFORMAT);
	/* Base64 cut short (not a multiple of 4) and of a shorter blob. */
	snprintf(text, sizeof(text), "%.*s", (int)strlen(pub1) - 1, pub1);
	assert_int_equal(parse_pub(text, pub), SB_EFORMAT);
	snprintf(text, sizeof(text), "%.*s", (int)strlen(pub1) - 4, pub1);
	assert_int_equal(parse_pub(text, pub), SB_EFORMAT);
	/* A blob of another type under an ssh-ed25519 label. */
	assert_int_equal(parse_pub("ssh-ed25519 AAAAB3NzaC1yc2EAAAAgAAECAwQFBg"
				   "cICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", pub),
			 SB_EFORMAT);
	assert_string_equal(sb_err_msg(SB_EFORMAT),
			    "not an ssh-ed25519 public key");
	/* A byte after the key inside the blob. */
	assert_int_equal(parse_pub("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAg"
				   "MEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fAA==",
				   pub), SB_EFORMAT);
	assert_string_equal(sb_err_msg(SB_EFORMAT),
			    "malformed ssh-ed25519 public key");
	sb_signkey_free(k);
	sb_signkey_free(g);
}

static void test_fingerprint(void **state)
{
	struct sb_signkey *k = from_seed(seed1), *g = from_seed(gen_seed);
	char fpr[SB_FPR_LEN];

	sb_ssh_fingerprint(fpr, k->pub);
	assert_string_equal(fpr, fpr1);
	assert_int_equal(strlen(fpr), SB_FPR_LEN - 1);
	sb_ssh_fingerprint(fpr, g->pub);
	assert_string_equal(fpr, gen_fpr);
	sb_signkey_free(k);
	sb_signkey_free(g);
}

static void test_allowed_signers(void **state)
{
	static const char *const bad[] = {
		"", "a b", "#dev", "a\"b", "a,b", "*", "a\tb", "dev\n", "!dev",
	};
	struct sb_signkey *k = from_seed(seed1);
	char want[256], *line = NULL;
	size_t i;

	assert_int_equal(sb_allowed_signers_line(&line, "laptop@sealbox",
						 k->pub), 0);
	snprintf(want, sizeof(want), "laptop@sealbox namespaces=\"git\" %s\n",
		 pub1);
	assert_string_equal(line, want);
	free(line);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		line = NULL;
		assert_int_equal(sb_allowed_signers_line(&line, bad[i], k->pub),
				 -EINVAL);
		assert_null(line);
	}
	sb_signkey_free(k);
}

/* Ours equals ssh-keygen's but for the random check words. */
static void test_privkey_format_as_ssh_keygen(void **state)
{
	struct sb_signkey *g = from_seed(gen_seed);
	uint8_t ours[BLOB_MAX], theirs[BLOB_MAX];
	char *text = NULL, *line;
	size_t n, m;

	assert_int_equal(sb_ssh_privkey_format(&text, g, "gen@test"), 0);
	for (line = text; *line; line = strchr(line, '\n') + 1)
		assert_true(strcspn(line, "\n") <= 70);
	assert_int_equal(strncmp(text, kbegin, strlen(kbegin)), 0);
	assert_string_equal(text + strlen(text) - strlen(kend), kend);
	n = unarmor(ours, text);
	m = unarmor(theirs, gen_key);
	assert_int_equal(n, m);
	/* Two equal check words. */
	assert_memory_equal(ours + CHECK_OFF, ours + CHECK_OFF + 4, 4);
	memcpy(ours + CHECK_OFF, theirs + CHECK_OFF, 8);
	assert_memory_equal(ours, theirs, n);
	sb_secure_free(text, strlen(text) + 1);
	sb_signkey_free(g);
}

static void test_privkey_round_trip(void **state)
{
	static const char *const comments[] = { NULL, "", "a", "dev@sealbox",
						"1234567", "12345678" };
	struct sb_signkey *k = from_seed(seed1), *p = NULL;
	char *a = NULL, *b = NULL;
	size_t i;

	for (i = 0; i < sizeof(comments) / sizeof(comments[0]); i++) {
		assert_int_equal(sb_ssh_privkey_format(&a, k, comments[i]), 0);
		assert_int_equal(sb_ssh_privkey_parse(&p, a, strlen(a)), 0);
		assert_memory_equal(p->seed, k->seed, SB_ED25519_LEN);
		assert_memory_equal(p->pub, k->pub, SB_ED25519_LEN);
		sb_signkey_free(p);
		/* Without the final newline too. */
		assert_int_equal(sb_ssh_privkey_parse(&p, a, strlen(a) - 1), 0);
		sb_signkey_free(p);
		sb_secure_free(a, strlen(a) + 1);
	}
	/* Fresh check words each time. */
	assert_int_equal(sb_ssh_privkey_format(&a, k, NULL), 0);
	assert_int_equal(sb_ssh_privkey_format(&b, k, NULL), 0);
	assert_string_not_equal(a, b);
	sb_secure_free(a, strlen(a) + 1);
	sb_secure_free(b, strlen(b) + 1);
	sb_signkey_free(k);
}

static void test_privkey_parse_ssh_keygen(void **state)
{
	struct sb_signkey *k = NULL;
	uint8_t pub[SB_ED25519_LEN];

	assert_int_equal(sb_ssh_privkey_parse(&k, gen_key, strlen(gen_key)), 0);
	assert_memory_equal(k->seed, gen_seed, SB_ED25519_LEN);
	assert_int_equal(parse_pub(gen_pub, pub), 0);
	assert_memory_equal(k->pub, pub, SB_ED25519_LEN);
	sb_signkey_free(k);
}

static void test_privkey_encrypted(void **state)
{
	struct sb_signkey *k = NULL;

	assert_int_equal(sb_ssh_privkey_parse(&k, enc_key, strlen(enc_key)),
			 SB_EFORMAT);
	assert_null(k);
	assert_non_null(strstr(sb_err_msg(SB_EFORMAT), "encrypted"));
}

static void test_privkey_truncated(void **state)
{
	uint8_t blob[BLOB_MAX];
	struct sb_signkey *k = NULL;
	size_t n = unarmor(blob, gen_key), i;

	assert_int_equal(parse_blob(blob, n), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(parse_blob(blob, i), SB_EFORMAT);
	for (i = 0; i + 1 < strlen(gen_key); i++)
		assert_int_equal(sb_ssh_privkey_parse(&k, gen_key, i),
				 SB_EFORMAT);
	assert_null(k);
}

static void test_privkey_flipped(void **state)
{
	uint8_t blob[BLOB_MAX];
	size_t n = unarmor(blob, gen_key), i;
	const uint8_t *c = memmem(blob, n, "gen@test", 8);
	size_t coff;
	int rc;

	assert_non_null(c);
	coff = (size_t)(c - blob);
	for (i = 0; i < n; i++) {
		blob[i] ^= 0x01;
		rc = parse_blob(blob, n);
		blob[i] ^= 0x01;
		if (i >= coff && i < coff + 8)
			assert_int_equal(rc, 0);	/* free text */
		else if (rc != SB_EFORMAT)
			fail_msg("byte %zu: got %d, want SB_EFORMAT", i, rc);
	}
}

static void test_privkey_bad_text(void **state)
{
	struct sb_signkey *k = NULL;
	char text[TEXT_MAX], *big;
	const size_t bigsize = 20000;

	snprintf(text, sizeof(text), "%s\n", gen_key);
	assert_int_equal(sb_ssh_privkey_parse(&k, text, strlen(text)),
			 SB_EFORMAT);
	snprintf(text, sizeof(text), " %s", gen_key);
	assert_int_equal(sb_ssh_privkey_parse(&k, text, strlen(text)),
			 SB_EFORMAT);
	snprintf(text, sizeof(text), "%s", gen_key);
	*strstr(text, "\nQyNT") = '\r';
	assert_int_equal(sb_ssh_privkey_parse(&k, text, strlen(text)),
			 SB_EFORMAT);
	/* A signature is not a key. */
	snprintf(text, sizeof(text), "%s", gen_key);
	memcpy(strstr(text, "OPENSSH PRIVATE KEY"), "SSH SIGNATURE", 13);
	assert_int_equal(sb_ssh_privkey_parse(&k, text, strlen(text)),
			 SB_EFORMAT);
	big = malloc(bigsize);
	assert_non_null(big);
	memset(big, 'A', bigsize);
	memcpy(big, kbegin, strlen(kbegin));
	assert_int_equal(sb_ssh_privkey_parse(&k, big, bigsize), SB_EFORMAT);
	free(big);
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pubkey_format),
		cmocka_unit_test(test_pubkey_parse),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_allowed_signers),
		cmocka_unit_test(test_privkey_format_as_ssh_keygen),
		cmocka_unit_test(test_privkey_round_trip),
		cmocka_unit_test(test_privkey_parse_ssh_keygen),
		cmocka_unit_test(test_privkey_encrypted),
		cmocka_unit_test(test_privkey_truncated),
		cmocka_unit_test(test_privkey_flipped),
		cmocka_unit_test(test_privkey_bad_text),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

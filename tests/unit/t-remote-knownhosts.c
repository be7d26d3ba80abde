#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/base64.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/remote.h"

/*
 * sb_remote_hostkey_check: known_hosts as OpenSSH writes it (plain,
 * hashed, [host]:port, patterns, markers) and the pinned key; and
 * sb_remote_url_redact. Keys are synthetic blobs ("ssh-ed25519" + 32
 * bytes), as libssh2 hands them to libgit2's certificate callback.
 */

/* Hashed entries for "example.org" and "[127.0.0.1]:2222", salt 01..14,
 * computed with Python's hmac (HMAC-SHA1) as ssh-keygen -H does. */
#define HASHED_EXAMPLE "|1|AQIDBAUGBwgJCgsMDQ4PEBESExQ=|WEaXkXzYUk1n8xPf4kupwu8t2kc="
#define HASHED_PORT "|1|AQIDBAUGBwgJCgsMDQ4PEBESExQ=|6nwC5rG6k7vxYwKIoAwPZGhI1VE="

struct key {
	uint8_t blob[64];
	size_t len;
	char line[128];		/* "TYPE BASE64" */
};

static struct key key_a, key_b, key_rsa;
static char path[64];

static void make_key(struct key *k, const char *type, uint8_t fill)
{
	size_t tl = strlen(type), n;

	sb_put_be32(k->blob, (uint32_t)tl);
	memcpy(k->blob + 4, type, tl);
	sb_put_be32(k->blob + 4 + tl, 32);
	memset(k->blob + 8 + tl, fill, 32);
	k->len = 8 + tl + 32;
	n = (size_t)snprintf(k->line, sizeof(k->line), "%s ", type);
	n += sb_base64_encode(k->line + n, k->blob, k->len);
	k->line[n] = '\0';
}

static void write_kh(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int check(const char *host, int port, const struct key *k)
{
	sb_err_clear();
	return sb_remote_hostkey_check(path, NULL, host, port, k->blob, k->len,
				       NULL);
}

static void expect_msg(const char *part)
{
	const char *m = sb_err_msg(SB_EAUTH);

	if (!strstr(m, part))
		fail_msg("message \"%s\" lacks \"%s\"", m, part);
}

static int setup(void **state)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/t-remote-kh.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	make_key(&key_a, "ssh-ed25519", 0xaa);
	make_key(&key_b, "ssh-ed25519", 0xbb);
	make_key(&key_rsa, "ssh-rsa", 0xcc);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static void test_plain(void **state)
{
	char kh[512];

	snprintf(kh, sizeof(kh), "# comment\n\nexample.org %s a comment\n",
		 key_a.line);
	write_kh(kh);
	assert_int_equal(check("example.org", 22, &key_a), 0);
	assert_int_equal(check("EXAMPLE.org", 22, &key_a), 0);
	/* a plain entry is for port 22 only, as in OpenSSH */
	assert_int_equal(check("example.org", 2222, &key_a), SB_EAUTH);
	expect_msg("[example.org]:2222 is not a known host");
	expect_msg(path);
	assert_int_equal(check("other.org", 22, &key_a), SB_EAUTH);
	expect_msg("other.org is not a known host");
}

static void test_port(void **state)
{
	char kh[512];

	snprintf(kh, sizeof(kh), "[127.0.0.1]:2222 %s\n", key_a.line);
	write_kh(kh);
	assert_int_equal(check("127.0.0.1", 2222, &key_a), 0);
	assert_int_equal(check("127.0.0.1", 22, &key_a), SB_EAUTH);
	assert_int_equal(check("127.0.0.1", 2223, &key_a), SB_EAUTH);
}

static void test_mismatch(void **state)
{
	char kh[512];

	snprintf(kh, sizeof(kh), "other.org %s\nexample.org %s\n", key_a.line,
		 key_a.line);
	write_kh(kh);
	assert_int_equal(check("example.org", 22, &key_b), SB_EAUTH);
	expect_msg("the host key of example.org (SHA256:");
	expect_msg("does not match");
	expect_msg("line 2");
	/* an entry of another key type is not a mismatch, only unknown */
	assert_int_equal(check("example.org", 22, &key_rsa), SB_EAUTH);
	expect_msg("is not a known host");
}

static void test_hashed(void **state)
{
	char kh[512];

	snprintf(kh, sizeof(kh), "%s %s\n%s %s\n", HASHED_EXAMPLE, key_a.line,
		 HASHED_PORT, key_b.line);
	write_kh(kh);
	assert_int_equal(check("example.org", 22, &key_a), 0);
	assert_int_equal(check("127.0.0.1", 2222, &key_b), 0);
	assert_int_equal(check("127.0.0.1", 2222, &key_a), SB_EAUTH);
	expect_msg("does not match");
	assert_int_equal(check("example.com", 22, &key_a), SB_EAUTH);
	expect_msg("is not a known host");
}

static void test_patterns(void **state)
{
	char kh[512];

	snprintf(kh, sizeof(kh), "a.org,*.example.org,!bad.example.org %s\n"
		 "host?.net %s\n", key_a.line, key_b.line);
	write_kh(kh);
	assert_int_equal(check("a.org", 22, &key_a), 0);
	assert_int_equal(check("git.example.org", 22, &key_a), 0);
	assert_int_equal(check("bad.example.org", 22, &key_a), SB_EAUTH);
	assert_int_equal(check("host1.net", 22, &key_b), 0);
	assert_int_equal(check("host12.net", 22, &key_b), SB_EAUTH);
}

static void test_markers(void **state)
{
	char kh[512];

	snprintf(kh, sizeof(kh), "@cert-authority *.org %s\n"
		 "@revoked * %s\nexample.org %s\n", key_a.line, key_b.line,
		 key_b.line);
	write_kh(kh);
	/* a CA key is not a host key */
	assert_int_equal(check("x.org", 22, &key_a), SB_EAUTH);
	expect_msg("is not a known host");
	/* revoked beats a matching line */
	assert_int_equal(check("example.org", 22, &key_b), SB_EAUTH);
	expect_msg("@revoked");
}

static void test_sha256_only(void **state)
{
	uint8_t h[32];
	char kh[512];

	snprintf(kh, sizeof(kh), "example.org %s\n", key_a.line);
	write_kh(kh);
	sb_sha256(h, key_a.blob, key_a.len);
	assert_int_equal(sb_remote_hostkey_check(path, NULL, "example.org", 22,
						 NULL, 0, h), 0);
	sb_sha256(h, key_b.blob, key_b.len);
	assert_int_equal(sb_remote_hostkey_check(path, NULL, "example.org", 22,
						 NULL, 0, h), SB_EAUTH);
	expect_msg("does not match");
}

static void test_pinned(void **state)
{
	write_kh("");
	assert_int_equal(sb_remote_hostkey_check(path, key_a.line, "h", 2222,
						 key_a.blob, key_a.len, NULL),
			 0);
	assert_int_equal(sb_remote_hostkey_check(NULL, key_a.line, "h", 22,
						 key_b.blob, key_b.len, NULL),
			 SB_EAUTH);
	expect_msg("is not the pinned key");
	expect_msg("sealbox.hostKey");
}

static void test_missing_file(void **state)
{
	assert_int_equal(sb_remote_hostkey_check("/nonexistent/known_hosts",
						 NULL, "h", 22, key_a.blob,
						 key_a.len, NULL),
			 SB_EAUTH);
	expect_msg("h is not a known host (no key in /nonexistent/known_hosts)");
}

static void test_garbage(void **state)
{
	char kh[512];

	snprintf(kh, sizeof(kh), "example.org\nexample.org ssh-ed25519\n"
		 "example.org ssh-ed25519 !!!notbase64\n|1|x|y %s\n"
		 "example.org %s\n", key_b.line, key_a.line);
	write_kh(kh);
	assert_int_equal(check("example.org", 22, &key_a), 0);
}

static void test_redact(void **state)
{
	char out[128];

	sb_remote_url_redact(out, sizeof(out),
			     "https://user:secret@host:443/r.git");
	assert_string_equal(out, "https://user@host:443/r.git");
	sb_remote_url_redact(out, sizeof(out), "ssh://git@host/p:x@y");
	assert_string_equal(out, "ssh://git@host/p:x@y");
	sb_remote_url_redact(out, sizeof(out), "https://host/a:b@c");
	assert_string_equal(out, "https://host/a:b@c");
	sb_remote_url_redact(out, sizeof(out), "/srv/vault.git");
	assert_string_equal(out, "/srv/vault.git");
	sb_remote_url_redact(out, 10, "https://u:p@h/x");
	assert_string_equal(out, "https://u");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_hashed),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_markers),
		cmocka_unit_test(test_sha256_only),
		cmocka_unit_test(test_pinned),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_redact),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}

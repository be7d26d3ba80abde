#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/commitsig.h"

static const char signed_commit[] =
	"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
	"author a <a@sealbox> 1700000000 +0000\n"
	"committer a <a@sealbox> 1700000000 +0000\n"
	"gpgsig -----BEGIN SSH SIGNATURE-----\n"
	" U1NIU0lHAAAAAQ==\n"
	" -----END SSH SIGNATURE-----\n"
	"\n"
	"message\n";

static const char payload[] =
	"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
	"author a <a@sealbox> 1700000000 +0000\n"
	"committer a <a@sealbox> 1700000000 +0000\n"
	"\n"
	"message\n";

static const char armor[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQ==\n"
	"-----END SSH SIGNATURE-----\n";

static int split(const char *raw, char **p, char **s)
{
	size_t pl, sl;

	return sb_commitsig_split(raw, strlen(raw), p, &pl, s, &sl);
}

static void test_split(void **state)
{
	char *p, *s;

	assert_int_equal(split(signed_commit, &p, &s), 0);
	assert_string_equal(p, payload);
	assert_string_equal(s, armor);
	free(p);
	free(s);
}

/* A "gpgsig" line in the message body is not a signature (git's rule). */
static void test_body_is_not_header(void **state)
{
	static const char forged[] =
		"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
		"author a <a@sealbox> 1700000000 +0000\n"
		"committer a <a@sealbox> 1700000000 +0000\n"
		"\n"
		"gpgsig -----BEGIN SSH SIGNATURE-----\n"
		" U1NIU0lHAAAAAQ==\n"
		" -----END SSH SIGNATURE-----\n";
	char *p = NULL, *s = NULL;

	assert_int_equal(split(forged, &p, &s), SB_ESIG);
	assert_null(p);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		/* no separator line */
		"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n",
		/* unterminated header */
		"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
		/* two signatures */
		"tree x\ngpgsig a\n b\ngpgsig c\n\nm\n",
		/* sha256 signature header */
		"tree x\ngpgsig-sha256 a\n\nm\n",
		"",
	};
	char *p, *s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(split(bad[i], &p, &s), SB_EFORMAT);
	assert_int_equal(split("tree x\n\nm\n", &p, &s), SB_ESIG);
}

/* Every truncation of a signed commit fails or yields a prefix payload. */
static void test_truncations(void **state)
{
	size_t n, len = strlen(signed_commit);
	char *p, *s, buf[sizeof(signed_commit)];
	size_t pl, sl;

	for (n = 0; n < len; n++) {
		int rc;

		memcpy(buf, signed_commit, n);
		rc = sb_commitsig_split(buf, n, &p, &pl, &s, &sl);
		if (rc == 0) {
			assert_true(n >= strlen(signed_commit) -
					  strlen("message\n"));
			free(p);
			free(s);
		} else {
			assert_true(rc == SB_EFORMAT || rc == SB_ESIG);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_body_is_not_header),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncations),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

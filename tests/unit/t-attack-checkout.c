#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/names.h"
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "fs/store.h"
#include "sync/checkout.h"
#include "sync/repo.h"
#include "sync/statcache.h"

/*
 * Trees that passed verification (signed by an authorized device) but
 * that a stolen or malicious device built by hand: sb_checkout() must
 * refuse them with one line naming the path, before the store changes,
 * and never write outside the store or into its local state.
 *
 * Device A (repository and store a/) commits a sound state c1; device B
 * (store b/ under top/) checks it out. Each test then builds a tree with
 * `git hash-object -t tree --literally` (names git mktree refuses),
 * commits it signed by A's authorized key and checks B out to it.
 */

#include "tests/unit/attack-fixture.h"

/*
 * Checks B out from c1 to a commit of tree: refused with a message that
 * holds want, and nothing changed under top/.
 */
static void refused(struct fix *f, const char *tree, const char *want)
{
	struct sb_checkout_result res;
	char evil[SB_OID_HEX], *now;
	int rc;

	commit_tree(f, evil, tree);
	rc = sb_checkout(&res, f->r, f->sb, f->sc, f->c1, evil, NULL, NULL);
	now = snapshot(f);
	if (strcmp(now, f->snap))
		fail_msg("the store changed:\n%s\nwas:\n%s", now, f->snap);
	free(now);
	if (rc == 0)
		fail_msg("checkout of %.12s succeeded", evil);
	if (!strstr(sb_err_msg(rc), want))
		fail_msg("message \"%s\" lacks \"%s\"", sb_err_msg(rc), want);
	if (strchr(sb_err_msg(rc), '\n'))
		fail_msg("message of more than one line");
	assert_int_equal(rc, SB_EFORMAT);
}

/* A blob at a tree path (see put_entry) on top of c1's tree. */
static void evil_at(struct fix *f, const char *path, const char *mode,
		    const char *blob, const char *want)
{
	char tree[SB_OID_HEX];

	put_entry(f, tree, f->t1, path, mode, blob, 0);
	refused(f, tree, want);
}

static void test_dotdot(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "escaped\n");
	/* store path "../escaped": top/escaped */
	evil_at(f, "..|escaped", "100644", blob, "..");
}

static void test_dotdot_in_name(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "escaped\n");
	evil_at(f, "x/../../escaped", "100644", blob, "../escaped");
}

static void test_absolute_name(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[200];

	raw_blob(f, blob, "escaped\n");
	snprintf(path, sizeof(path), "%s/escaped-abs", f->top);
	evil_at(f, path, "100644", blob, "escaped-abs");
}

static void test_git_dir(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "not a key\n");
	evil_at(f, ".|.git|sealbox|device.key", "100644", blob, ".git");
}

static void test_git_dir_plain(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "not a key\n");
	evil_at(f, ".git|sealbox|device.key", "100644", blob, ".git");
}

static void test_symlink_target(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX];

	raw_blob(f, blob, "/etc");
	tpath_of(f, path, "mail/evil");
	evil_at(f, path, "120000", blob, "symlink");
}

static void test_symlink_relative(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX];

	raw_blob(f, blob, "../../../.git/sealbox");
	tpath_of(f, path, "evil");
	evil_at(f, path, "120000", blob, "symlink");
}

static void test_gitlink(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX];

	tpath_of(f, path, "mail/sub");
	evil_at(f, path, "160000", f->c1, "160000");
}

static void test_fanout_mismatch(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], *p;

	content_blob(f, blob, "misplaced\n");
	tpath_of(f, path, "misplaced");
	/* "E[0]|E[1]|E" -> "E[1]|E[0]|E" */
	p = path;
	p[0] ^= p[2];
	p[2] ^= p[0];
	p[0] ^= p[2];
	if (p[0] == p[2])
		skip();
	evil_at(f, path, "100644", blob, "fan-out");
}

static void test_unfanned(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX];

	content_blob(f, blob, "at the root\n");
	tpath_of(f, path, "unfanned");
	evil_at(f, path + 4, "100644", blob, "fan-out");
}

static void test_marker_tree(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], p2[PATH_MAX + 32];

	content_blob(f, blob, "");
	tpath_of(f, path, "mail/cur");
	snprintf(p2, sizeof(p2), "%s|.sbdir|x", path);
	evil_at(f, p2, "100644", blob, ".sbdir");
}

static void test_sbtmp(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], p2[PATH_MAX + 32];

	content_blob(f, blob, "");
	tpath_of(f, path, "mail/cur");
	snprintf(p2, sizeof(p2), "%s|.sbtmp.0123456789abcdef|x", path);
	evil_at(f, p2, "100644", blob, ".sbtmp.");
}

static void test_sbtmp_file(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], p2[PATH_MAX + 32];

	content_blob(f, blob, "");
	tpath_of(f, path, "mail/cur");
	snprintf(p2, sizeof(p2), "%s|.sbtmp.0123456789abcdef", path);
	evil_at(f, p2, "100644", blob, ".sbtmp.");
}

static void test_marker_at_root(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	content_blob(f, blob, "");
	evil_at(f, ".sbdir", "100644", blob, ".sbdir");
}

static void test_duplicate(void **state)
{
	struct fix *f = *state;
	char b1[SB_OID_HEX], b2[SB_OID_HEX], path[PATH_MAX];
	char t[SB_OID_HEX], t2[SB_OID_HEX];

	content_blob(f, b1, "one\n");
	content_blob(f, b2, "two\n");
	tpath_of(f, path, "mail/cur/dup");
	put_entry(f, t, f->t1, path, "100644", b1, 0);
	put_entry(f, t2, t, path, "100644", b2, 1);
	refused(f, t2, "twice");
}

static void test_file_and_dir(void **state)
{
	struct fix *f = *state;
	char b1[SB_OID_HEX], link[SB_OID_HEX], path[PATH_MAX];
	char enc[SB_SYMLINK_ENC_MAX], p2[PATH_MAX + 64];
	char t[SB_OID_HEX], t2[SB_OID_HEX];

	/* "sub" a symlink and a directory at once */
	assert_int_equal(sb_names_encrypt_target(f->names, enc, "cur", 3), 0);
	raw_blob(f, link, enc);
	content_blob(f, b1, "inside\n");
	tpath_of(f, path, "mail/sub");
	put_entry(f, t, f->t1, path, "120000", link, 0);
	snprintf(p2, sizeof(p2), "%s|.sbdir", path);
	put_entry(f, t2, t, p2, "100644", b1, 1);
	refused(f, t2, "twice");
}

static void test_long_path(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], *name = malloc(14000);

	raw_blob(f, blob, "long\n");
	memset(name, 'A', 13999);
	name[13999] = '\0';
	evil_at(f, name, "100644", blob, "too long");
	free(name);
}

/* A nesting deeper than any store path can be. */
static void test_deep(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], *path = malloc(3 * 3000 + 8);
	size_t i;

	raw_blob(f, blob, "deep\n");
	for (i = 0; i < 3000; i++)
		memcpy(path + 3 * i, ".d|", 3);
	memcpy(path + 3 * i, ".x", 3);
	evil_at(f, path, "100644", blob, "too long");
	free(path);
}

/*
 * A symlink whose target is a sibling's backing name (base64url, but not
 * an encrypted target): through it, "mail/sub/x" would be "mail/cur/x".
 */
static void test_symlink_sibling(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], b[PATH_MAX];

	assert_int_equal(sb_store_backing_path(f->sa, b, sizeof(b), "mail/cur"),
			 0);
	raw_blob(f, blob, strrchr(b, '/') + 1);
	tpath_of(f, path, "mail/sub");
	evil_at(f, path, "120000", blob, "symlink");
}

/*
 * A symlink in one commit, a directory of the same name in the next:
 * the symlink goes, the directory is made, nothing is written through
 * the symlink.
 */
static void test_symlink_then_dir(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;
	char link[SB_OID_HEX], blob[SB_OID_HEX], mark[SB_OID_HEX];
	char enc[SB_SYMLINK_ENC_MAX], path[PATH_MAX], p2[PATH_MAX + 16];
	char t2[SB_OID_HEX], t3[SB_OID_HEX], t3b[SB_OID_HEX];
	char c2[SB_OID_HEX], c3[SB_OID_HEX];
	const char *parents[1];
	uint8_t *buf = NULL;
	size_t len;
	struct stat sb;

	assert_int_equal(sb_names_encrypt_target(f->names, enc, "cur", 3), 0);
	raw_blob(f, link, enc);
	tpath_of(f, path, "mail/sub");
	put_entry(f, t2, f->t1, path, "120000", link, 0);
	commit_tree(f, c2, t2);
	assert_int_equal(sb_checkout(&res, f->r, f->sb, f->sc, f->c1, c2, NULL,
				     NULL), 0);
	assert_int_equal(sb_store_stat(f->sb, "mail/sub", &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));

	content_blob(f, mark, "");
	content_blob(f, blob, "inside\n");
	snprintf(p2, sizeof(p2), "%s|.sbdir", path);
	put_entry(f, t3, f->t1, p2, "100644", mark, 0);
	tpath_of(f, path, "mail/sub/x");
	put_entry(f, t3b, t3, path, "100644", blob, 0);
	parents[0] = c2;
	assert_int_equal(sb_repo_commit_tree(f->r, c3, t3b, parents, 1, "c3",
					     "laptop", "laptop@sealbox",
					     sign_cb, f->key), 0);
	assert_int_equal(sb_checkout(&res, f->r, f->sb, f->sc, c2, c3, NULL,
				     NULL), 0);
	assert_int_equal(sb_store_stat(f->sb, "mail/sub", &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb_store_read_file(f->sb, "mail/sub/x", &buf, &len,
					    NULL), 0);
	assert_string_equal((char *)buf, "inside\n");
	free(buf);
	assert_int_equal(sb_store_stat(f->sb, "mail/cur/x", &sb), -ENOENT);
}

/* .sealbox/ holds files only. */
static void test_symlink_meta(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "/etc/passwd");
	evil_at(f, ".sealbox|policy", "120000", blob, "symlink");
}

/* A name that would break the error message's line. */
static void test_newline_name(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "x\n");
	evil_at(f, "evil\nline", "100644", blob, "evil?line");
}

/* A blob the fetch did not bring (a server that withholds it). */
static void test_missing_blob(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX];

	tpath_of(f, path, "newdir/x");
	evil_at(f, path, "100644", "0123456789012345678901234567890123456789",
		"missing");
}

/* What a sound device does is still checked out. */
static void test_sound(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;
	char blob[SB_OID_HEX], link[SB_OID_HEX], path[PATH_MAX];
	char enc[SB_SYMLINK_ENC_MAX], t[SB_OID_HEX], t2[SB_OID_HEX];
	char c[SB_OID_HEX];
	uint8_t *buf = NULL;
	size_t len;

	content_blob(f, blob, "sound\n");
	tpath_of(f, path, "mail/cur/2.host:2,");
	put_entry(f, t, f->t1, path, "100644", blob, 0);
	assert_int_equal(sb_names_encrypt_target(f->names, enc, "cur", 3), 0);
	raw_blob(f, link, enc);
	tpath_of(f, path, "mail/link");
	put_entry(f, t2, t, path, "120000", link, 0);
	commit_tree(f, c, t2);
	assert_int_equal(sb_checkout(&res, f->r, f->sb, f->sc, f->c1, c, NULL,
				     NULL), 0);
	assert_int_equal(res.written, 2);
	assert_int_equal(sb_store_read_file(f->sb, "mail/cur/2.host:2,", &buf,
					    &len, NULL), 0);
	assert_string_equal((char *)buf, "sound\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_sound),
		T(test_dotdot),
		T(test_dotdot_in_name),
		T(test_absolute_name),
		T(test_git_dir),
		T(test_git_dir_plain),
		T(test_symlink_target),
		T(test_symlink_relative),
		T(test_gitlink),
		T(test_fanout_mismatch),
		T(test_unfanned),
		T(test_marker_tree),
		T(test_sbtmp),
		T(test_sbtmp_file),
		T(test_marker_at_root),
		T(test_duplicate),
		T(test_file_and_dir),
		T(test_long_path),
		T(test_deep),
		T(test_missing_blob),
		T(test_symlink_sibling),
		T(test_symlink_then_dir),
		T(test_symlink_meta),
		T(test_newline_name),
#undef T
	};

	sb_crypto_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

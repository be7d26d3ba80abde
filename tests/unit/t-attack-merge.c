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
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/names.h"
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "fs/store.h"
#include "sync/checkout.h"
#include "sync/merge.h"
#include "sync/repo.h"
#include "sync/statcache.h"

/*
 * Merge inputs that are not what sync/merge.c assumes, from a device
 * whose key signs them (verification passed): sb_merge_trees() of ours
 * (c1 and a sound change) with theirs (c1 and a tree built by hand)
 * must fail with one line naming the path, never crash or build a
 * tree from them. The fixture is t-attack-checkout.c's.
 */

#include "tests/unit/attack-fixture.h"


/* Ours: c1 and a new message; theirs: a commit of tree on c1. */
static int merge_with(struct fix *f, const char *tree,
		      struct sb_merge_report **rep, char out[SB_OID_HEX])
{
	struct timespec ts = { 1700000100, 0 };
	char ours[SB_OID_HEX], theirs[SB_OID_HEX];

	assert_int_equal(sb_store_write_file(f->sa, "mail/cur/2.host:2,",
					     "ours\n", 5, 0600, &ts), 0);
	assert_int_equal(sb_repo_commit_all(f->r, ours, "ours", "laptop",
					    "laptop@sealbox", sign_cb, f->key),
			 0);
	commit_tree(f, theirs, tree);
	return sb_merge_trees(rep, out, f->r, f->sa, f->c1, ours, theirs,
			      "laptop", "phone");
}

static void merge_refused(struct fix *f, const char *tree, int code,
			  const char *want)
{
	struct sb_merge_report *rep = NULL;
	char out[SB_OID_HEX];
	int rc = merge_with(f, tree, &rep, out);

	sb_merge_report_free(rep);
	if (rc == 0)
		fail_msg("merge succeeded");
	if (!strstr(sb_err_msg(rc), want))
		fail_msg("message \"%s\" lacks \"%s\"", sb_err_msg(rc), want);
	if (strchr(sb_err_msg(rc), '\n'))
		fail_msg("message of more than one line");
	assert_int_equal(rc, code);
}

static void test_long_path(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], tree[SB_OID_HEX], *name = malloc(14000);

	raw_blob(f, blob, "long\n");
	memset(name, 'A', 13999);
	name[13999] = '\0';
	{
		/* fanned as a sound name is: "A/A/AAAA..." */
		char *p = malloc(14100);

		snprintf(p, 14100, "A|A|%s", name);
		put_entry(f, tree, f->t1, p, "100644", blob, 0);
		free(p);
	}
	merge_refused(f, tree, SB_EFORMAT, "too long");
	free(name);
}

/* A name that does not decrypt (a valid encoding under another key). */
static void test_name_undecryptable(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], tree[SB_OID_HEX], path[PATH_MAX];

	content_blob(f, blob, "x\n");
	snprintf(path, sizeof(path), "Q|W|QWERTYUIOPASDFGHJKLZXCVBNMqwerty");
	put_entry(f, tree, f->t1, path, "100644", blob, 0);
	merge_refused(f, tree, SB_EAUTH, "QWERTYUIOPASDFGHJKLZXCVBNMqwerty");
}

/* A long name whose sidecar holds another name than its hash says. */
static void test_sidecar_lies(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], side[SB_OID_HEX], t[SB_OID_HEX];
	char tree[SB_OID_HEX], name[64], path[128];

	content_blob(f, blob, "x\n");
	snprintf(name, sizeof(name), "~%s",
		 "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE");
	assert_int_equal(strlen(name), 44);
	raw_blob(f, side, "QWERTYUIOPASDFGHJKLZXCVBNMqwerty");
	snprintf(path, sizeof(path), "~|A|%s", name);
	put_entry(f, t, f->t1, path, "100644", blob, 0);
	snprintf(path, sizeof(path), "~|A|%s.n", name);
	put_entry(f, tree, t, path, "100644", side, 0);
	merge_refused(f, tree, SB_EAUTH, name);
}

/* A directory name that would break the error message's line. */
static void test_newline_name(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], tree[SB_OID_HEX];

	content_blob(f, blob, "");
	put_entry(f, tree, f->t1, "Q|W|QW\nx|.sbdir", "100644", blob, 0);
	merge_refused(f, tree, SB_EFORMAT, "QW?x");
}

/* A .vcf changed on both sides, theirs not a content file. */
static void test_pim_not_content(void **state)
{
	struct fix *f = *state;
	struct timespec ts = { 1700000000, 0 };
	char blob[SB_OID_HEX], tree[SB_OID_HEX], path[PATH_MAX];
	const char *v1 = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:A\r\n"
			 "END:VCARD\r\n";
	const char *v2 = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:B\r\n"
			 "END:VCARD\r\n";

	/* c1 gets the card: redo the fixture's first commit */
	assert_int_equal(sb_store_mkdir(f->sa, "contacts", 0700), 0);
	assert_int_equal(sb_store_write_file(f->sa, "contacts/x.vcf", v1,
					     strlen(v1), 0600, &ts), 0);
	assert_int_equal(sb_repo_commit_all(f->r, f->c1, "c1b", "laptop",
					    "laptop@sealbox", sign_cb, f->key),
			 0);
	assert_int_equal(sb_repo_commit_tree_id(f->r, f->c1, f->t1), 0);
	assert_int_equal(sb_store_write_file(f->sa, "contacts/x.vcf", v2,
					     strlen(v2), 0600, &ts), 0);
	raw_blob(f, blob, "BEGIN:VCARD\r\nUID:x\r\nFN:plain\r\nEND:VCARD\r\n");
	tpath_of(f, path, "contacts/x.vcf");
	put_entry(f, tree, f->t1, path, "100644", blob, 0);
	merge_refused(f, tree, SB_EFORMAT, "contacts/x.vcf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_long_path),
		T(test_name_undecryptable),
		T(test_pim_not_content),
		T(test_sidecar_lies),
		T(test_newline_name),
#undef T
	};

	sb_crypto_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

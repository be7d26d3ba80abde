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
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "fs/store.h"
#include "sync/checkout.h"
#include "sync/conflicts.h"
#include "sync/merge.h"
#include "sync/repo.h"
#include "sync/statcache.h"
#include "tests/unit/util.h"

/*
 * Kept versions from a real merge: two sides change the same vCard
 * property (TITLE, one value) and the same note; sb_merge_trees() reports both conflicts,
 * the merged tree is checked out, the report is recorded, and each kept
 * version is restored into the store.
 */

struct fix {
	char root[64], dir[PATH_MAX], cache[PATH_MAX];
	struct sb_repo *r;
	struct sb_store *st;
	struct sb_statcache *sc;
	struct sb_signkey *key;
	char base[SB_OID_HEX], ours[SB_OID_HEX], theirs[SB_OID_HEX];
};

static void put(struct fix *f, const char *path, const char *text)
{
	assert_int_equal(sb_store_write_file(f->st, path, text, strlen(text),
					     0600, NULL), 0);
}

static void commit(struct fix *f, char oid[SB_OID_HEX])
{
	assert_int_equal(sb_repo_commit_all(f->r, oid, "c", "laptop",
					    "laptop@sealbox", sign_cb, f->key),
			 0);
}

#define CARD(title, rev) \
	"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:alice\r\nFN:Alice\r\n" \
	"TITLE;LANGUAGE=en:" title "\r\nREV:" rev "\r\nEND:VCARD\r\n"

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sb_secrets *s = fixed_secrets();
	uint8_t seed[SB_ED25519_LEN];

	snprintf(f->root, sizeof(f->root), "/tmp/t-cmerge.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/.git/sealbox/conflicts", f->root);
	snprintf(f->cache, sizeof(f->cache), "%s/.git/statcache-test",
		 f->root);
	assert_int_equal(sb_repo_init(&f->r, f->root), 0);
	assert_int_equal(sb_store_open(&f->st, f->root, s), 0);
	sb_secrets_free(s);
	memset(seed, 0x5a, sizeof(seed));
	assert_int_equal(sb_signkey_from_seed(&f->key, seed), 0);

	assert_int_equal(sb_store_mkdir(f->st, "contacts/default", 0700), 0);
	put(f, "contacts/default/alice.vcf", CARD("Base", "20260101"));
	put(f, "notes.txt", "base\n");
	commit(f, f->base);
	put(f, "contacts/default/alice.vcf", CARD("Ours", "20260102"));
	put(f, "notes.txt", "ours\n");
	commit(f, f->ours);
	/* theirs: from the base again, later REV */
	assert_int_equal(sb_repo_set_ref(f->r, "refs/heads/main", f->base,
					 NULL, "test"), 0);
	put(f, "contacts/default/alice.vcf",
	    CARD("Theirs", "20260103"));
	put(f, "notes.txt", "theirs\n");
	commit(f, f->theirs);
	assert_int_equal(sb_statcache_open(&f->sc, f->cache), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	sb_statcache_free(f->sc);
	sb_store_free(f->st);
	sb_signkey_free(f->key);
	sb_repo_free(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

static void expect(struct fix *f, const char *path, const char *text)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(sb_store_read_file(f->st, path, &buf, &len, NULL), 0);
	assert_string_equal((char *)buf, text);
	free(buf);
}

static const struct sb_conflict_rec *find(const struct sb_conflict_list *l,
					  int kept)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!!l->recs[i].c.kept == kept)
			return &l->recs[i];
	fail_msg("no %s record", kept ? "kept-copy" : "property");
	return NULL;
}

static void test_merge_record_restore(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep = NULL;
	struct sb_checkout_result res;
	struct sb_conflict_list *l = NULL;
	const struct sb_conflict_rec *pr, *kr;
	char tree[SB_OID_HEX];
	unsigned pid, kid;

	/* ours is this device (laptop), theirs came from the phone */
	assert_int_equal(sb_merge_trees(&rep, tree, f->r, f->st, f->base,
					f->ours, f->theirs, "laptop", "phone"),
			 0);
	assert_int_equal(rep->nconflicts, 2);
	/* the store holds theirs now: bring it to the merged tree */
	assert_int_equal(sb_checkout(&res, f->r, f->st, f->sc, f->theirs, tree,
				     NULL, NULL), 0);
	assert_int_equal(sb_conflicts_record(f->st, f->dir, rep, f->theirs,
					     (int64_t)time(NULL)), 0);
	sb_merge_report_free(rep);

	/* the later REV won; ours is kept */
	expect(f, "contacts/default/alice.vcf",
	       CARD("Theirs", "20260103"));
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->n, 2);
	pr = find(l, 0);
	kr = find(l, 1);
	assert_string_equal(pr->c.path, "contacts/default/alice.vcf");
	assert_string_equal(pr->c.where, "VCARD UID=alice");
	assert_string_equal(pr->c.what, "TITLE;LANGUAGE=en");
	assert_string_equal(pr->c.line, "TITLE;LANGUAGE=en:Ours");
	assert_string_equal(pr->c.loser, "laptop");
	assert_string_equal(kr->c.path, "notes.txt");
	pid = pr->id;
	kid = kr->id;
	expect(f, kr->c.kept, "theirs\n");
	expect(f, "notes.txt", "ours\n");
	sb_conflicts_list_free(l);

	assert_int_equal(sb_conflicts_restore(f->st, f->r, f->dir, pid), 0);
	expect(f, "contacts/default/alice.vcf",
	       CARD("Ours", "20260103"));
	assert_int_equal(sb_conflicts_restore(f->st, f->r, f->dir, kid), 0);
	expect(f, "notes.txt", "theirs\n");

	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->recs[0].restored + l->recs[1].restored, 2);
	sb_conflicts_list_free(l);
	assert_int_equal(sb_conflicts_drop(f->dir, pid), 0);
	assert_int_equal(sb_conflicts_drop(f->dir, kid), 0);
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->n, 0);
	sb_conflicts_list_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge_record_restore,
						setup, teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

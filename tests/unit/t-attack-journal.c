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
#include "sync/engine.h"
#include "sync/repo.h"
#include "sync/state.h"
#include "sync/statcache.h"

/*
 * The sync journal (crypto/FORMAT.md "Sync state"): an `applying` line
 * survives every crash between the steps of the engine's apply, also
 * for a first checkout ("applying - <to>"); and the engine applies only
 * what this device verified: a journal naming another commit (a fetched
 * one that was refused, say) is refused and the store stays as it was.
 * The fixture is t-attack-checkout.c's; the engine runs on device A's
 * vault (a/), without a remote.
 */

#include "tests/unit/attack-fixture.h"


static void write_state(struct fix *f, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.git/sealbox", f->a);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.git/sealbox/sync-state", f->a);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static struct sb_sync *engine(struct fix *f, struct sb_statcache **sc)
{
	struct sb_sync_cfg cfg;
	struct sb_sync *s = NULL;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/statcache-a", f->top);
	assert_int_equal(sb_statcache_open(sc, path), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.vault = f->a;
	cfg.repo = f->r;
	cfg.store = f->sa;
	cfg.sc = *sc;
	cfg.device = "laptop";
	cfg.sign = sign_cb;
	cfg.sign_ctx = f->key;
	assert_int_equal(sb_sync_new(&s, &cfg), 0);
	return s;
}

/* c1 and one more message, as a commit on c1. */
static void next_commit(struct fix *f, char out[SB_OID_HEX], const char *text)
{
	char blob[SB_OID_HEX], tree[SB_OID_HEX], path[PATH_MAX];

	content_blob(f, blob, text);
	tpath_of(f, path, "mail/cur/2.host:2,");
	put_entry(f, tree, f->t1, path, "100644", blob, 0);
	commit_tree(f, out, tree);
}

static void test_state_first_checkout(void **state)
{
	struct fix *f = *state;
	struct sb_state st;

	memset(&st, 0, sizeof(st));
	snprintf(st.apply_to, SB_OID_HEX, "%s", f->c1);
	write_state(f, "");
	assert_int_equal(sb_state_save(&st, f->a), 0);
	assert_int_equal(sb_state_load(&st, f->a), 0);
	assert_string_equal(st.apply_from, "");
	assert_string_equal(st.apply_to, f->c1);
	sb_state_clear(&st);
}

static void test_unverified_journal(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc = NULL;
	struct sb_sync *s;
	char evil[SB_OID_HEX], other[SB_OID_HEX], head[SB_OID_HEX];
	char text[256];
	struct stat sb;
	int rc;

	next_commit(f, evil, "never verified\n");
	next_commit(f, other, "verified\n");
	snprintf(text, sizeof(text), "verified %s\napplying %s %s\n", other,
		 f->c1, evil);
	write_state(f, text);
	s = engine(f, &sc);
	rc = sb_sync_recover(s);
	sb_sync_free(s);
	sb_statcache_free(sc);
	assert_int_equal(sb_store_stat(f->sa, "mail/cur/2.host:2,", &sb),
			 -ENOENT);
	assert_int_equal(sb_repo_ref(f->r, "refs/heads/main", head), 0);
	assert_string_equal(head, f->c1);
	if (rc != SB_EPOLICY)
		fail_msg("recover: %d %s", rc, rc ? sb_err_msg(rc) : "");
	snprintf(text, sizeof(text), "%.12s", evil);
	assert_non_null(strstr(sb_err_msg(rc), text));
}

/* The same journal naming the verified commit is redone. */
static void test_verified_journal(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc = NULL;
	struct sb_sync *s;
	char next[SB_OID_HEX], head[SB_OID_HEX], text[256];
	struct sb_state st;
	uint8_t *buf = NULL;
	size_t len;

	next_commit(f, next, "verified\n");
	snprintf(text, sizeof(text), "verified %s\napplying %s %s\n", next,
		 f->c1, next);
	write_state(f, text);
	s = engine(f, &sc);
	assert_int_equal(sb_sync_recover(s), 0);
	sb_sync_free(s);
	sb_statcache_free(sc);
	assert_int_equal(sb_store_read_file(f->sa, "mail/cur/2.host:2,", &buf,
					    &len, NULL), 0);
	assert_string_equal((char *)buf, "verified\n");
	free(buf);
	assert_int_equal(sb_repo_ref(f->r, "refs/heads/main", head), 0);
	assert_string_equal(head, next);
	assert_int_equal(sb_state_load(&st, f->a), 0);
	assert_string_equal(st.apply_to, "");
	sb_state_clear(&st);
}

/*
 * A verified commit whose tree checkout refuses (a malicious device's
 * "..", say): the refusal changes nothing, so the journal is dropped and
 * the commit recorded as refused; local commits go on.
 */
static void test_refused_checkout(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc = NULL;
	struct sb_sync_report rep;
	struct sb_sync *s;
	struct sb_state st;
	struct timespec ts = { 1700000000, 0 };
	char blob[SB_OID_HEX], tree[SB_OID_HEX], evil[SB_OID_HEX];
	char head[SB_OID_HEX], text[256];
	int rc;

	content_blob(f, blob, "x\n");
	put_entry(f, tree, f->t1, "..|escaped", "100644", blob, 0);
	commit_tree(f, evil, tree);
	snprintf(text, sizeof(text), "verified %s\napplying %s %s\n", evil,
		 f->c1, evil);
	write_state(f, text);
	s = engine(f, &sc);
	rc = sb_sync_recover(s);
	assert_int_equal(rc, SB_EFORMAT);
	assert_non_null(strstr(sb_err_msg(rc), "escaped"));
	assert_int_equal(sb_repo_ref(f->r, "refs/heads/main", head), 0);
	assert_string_equal(head, f->c1);
	assert_int_equal(sb_state_load(&st, f->a), 0);
	assert_string_equal(st.apply_to, "");
	assert_string_equal(st.refused, evil);
	assert_non_null(strstr(st.refused_why, "escaped"));
	sb_state_clear(&st);
	/* local changes are committed again */
	assert_int_equal(sb_store_write_file(f->sa, "mail/cur/3.host:2,",
					     "local\n", 6, 0600, &ts), 0);
	assert_int_equal(sb_sync_commit(s, NULL, &rep), 0);
	assert_int_equal(rep.committed, 1);
	sb_sync_free(s);
	sb_statcache_free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_state_first_checkout),
		T(test_unverified_journal),
		T(test_verified_journal),
		T(test_refused_checkout),
#undef T
	};

	sb_crypto_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

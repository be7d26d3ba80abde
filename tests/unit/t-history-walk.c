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
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "fs/store.h"
#include "sync/history.h"
#include "sync/repo.h"
#include "tests/unit/util.h"

/*
 * History of a real repository: first-parent walk, changed paths
 * decrypted (directories from their markers, sidecars left out, long
 * names through the sidecars in the trees, "?" for names that do not
 * decrypt), summaries, counts, ahead/behind.
 */

struct fix {
	char root[64];
	struct sb_repo *r;
	struct sb_store *st;
	struct sb_signkey *key;
	char c[4][SB_OID_HEX];
};

static void put(struct fix *f, const char *path)
{
	assert_int_equal(sb_store_write_file(f->st, path, path, strlen(path),
					     0600, NULL), 0);
}

static void commit(struct fix *f, int i, const char *msg)
{
	assert_int_equal(sb_repo_commit_all(f->r, f->c[i], msg, "laptop",
					    "laptop@sealbox", sign_cb, f->key),
			 0);
}

static void mv(struct fix *f, const char *from, const char *to)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(sb_store_read_file(f->st, from, &buf, &len, NULL), 0);
	assert_int_equal(sb_store_write_file(f->st, to, buf, len, 0600, NULL),
			 0);
	assert_int_equal(sb_store_unlink(f->st, from), 0);
	free(buf);
}

#define LONG "a-very-long-name-" \
	"0123456789012345678901234567890123456789012345678901234567890123" \
	"0123456789012345678901234567890123456789012345678901234567890123" \
	"0123456789012345678901234567890123456789"

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sb_secrets *s = fixed_secrets();
	uint8_t seed[SB_ED25519_LEN];

	snprintf(f->root, sizeof(f->root), "/tmp/t-history.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(sb_repo_init(&f->r, f->root), 0);
	assert_int_equal(sb_store_open(&f->st, f->root, s), 0);
	sb_secrets_free(s);
	memset(seed, 0x5a, sizeof(seed));
	assert_int_equal(sb_signkey_from_seed(&f->key, seed), 0);

	assert_int_equal(sb_store_mkdir(f->st, "mail/INBOX/cur", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->st, "mail/INBOX/new", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->st, "mail/INBOX/tmp", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->st, "contacts/default", 0700), 0);
	put(f, "mail/INBOX/new/a.host");
	put(f, "mail/INBOX/new/b.host");
	put(f, "mail/INBOX/cur/c.host:2,S");
	put(f, "contacts/default/x.vcf");
	put(f, "notes.txt");
	commit(f, 0, "first\n");

	mv(f, "mail/INBOX/new/a.host", "mail/INBOX/cur/a.host:2,S");
	mv(f, "mail/INBOX/cur/c.host:2,S", "mail/INBOX/cur/c.host:2,FS");
	assert_int_equal(sb_store_unlink(f->st, "mail/INBOX/new/b.host"), 0);
	put(f, "mail/INBOX/new/d.host");
	assert_int_equal(sb_store_write_file(f->st, "contacts/default/x.vcf",
					     "new", 3, 0600, NULL), 0);
	put(f, "contacts/default/y.vcf");
	assert_int_equal(sb_store_mkdir(f->st, "mail/Archive/cur", 0700), 0);
	commit(f, 1, "second\n");

	put(f, "contacts/default/" LONG ".vcf");
	commit(f, 2, "third\n");
	assert_int_equal(sb_store_unlink(f->st, "contacts/default/" LONG
					 ".vcf"), 0);
	commit(f, 3, "fourth\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	sb_store_free(f->st);
	sb_signkey_free(f->key);
	sb_repo_free(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

static void test_walk(void **state)
{
	struct fix *f = *state;
	struct sb_history *h = NULL;
	struct sb_history_commit c;
	const char *msgs[] = { "fourth\n", "third\n", "second\n", "first\n" };
	int i;

	assert_int_equal(sb_history_open(&h, f->r, f->c[3]), 0);
	for (i = 3; i >= 0; i--) {
		assert_int_equal(sb_history_next(h, &c), 1);
		assert_string_equal(c.oid, f->c[i]);
		assert_string_equal(c.message, msgs[3 - i]);
		assert_int_equal(c.nparents, i ? 1 : 0);
		if (i)
			assert_string_equal(c.parents[0], f->c[i - 1]);
		assert_true(c.time > 1700000000);
		sb_history_commit_clear(&c);
	}
	assert_int_equal(sb_history_next(h, &c), 0);
	assert_int_equal(sb_history_next(h, &c), 0);
	sb_history_free(h);
	assert_int_equal(sb_history_open(&h, f->r, "nonsense"), SB_EFORMAT);
}

static void test_counts(void **state)
{
	struct fix *f = *state;
	size_t n = 0, ahead = 9, behind = 9;

	assert_int_equal(sb_history_count(f->r, f->c[3], 100, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(sb_history_count(f->r, f->c[3], 2, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(sb_history_ahead_behind(f->r, f->c[3], f->c[1],
						 &ahead, &behind), 0);
	assert_int_equal(ahead, 2);
	assert_int_equal(behind, 0);
	assert_int_equal(sb_history_ahead_behind(f->r, f->c[0], f->c[2],
						 &ahead, &behind), 0);
	assert_int_equal(ahead, 0);
	assert_int_equal(behind, 2);
}

static void changes(struct fix *f, int i, const char *want_paths,
		    const char *want_summary)
{
	struct sb_history_changes *ch = NULL;
	struct sb_history_summary *s = NULL;
	char got[4096] = "", line[512];
	size_t k;

	assert_int_equal(sb_history_changes(&ch, f->r, f->st, f->c[i]), 0);
	for (k = 0; k < ch->n; k++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
			 "%c %s%s\n", ch->c[k].status, ch->c[k].path,
			 (ch->c[k].mode & S_IFMT) == S_IFDIR ? "/" : "");
	assert_string_equal(got, want_paths);
	assert_int_equal(sb_history_summarize(&s, ch), 0);
	got[0] = '\0';
	for (k = 0; k < s->n; k++) {
		sb_history_folder_line(line, sizeof(line), &s->f[k]);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s\n",
			 line);
	}
	assert_string_equal(got, want_summary);
	sb_history_summary_free(s);
	sb_history_changes_free(ch);
}

static void test_changes(void **state)
{
	struct fix *f = *state;

	changes(f, 0,
		"A contacts/\n"
		"A contacts/default/\n"
		"A contacts/default/x.vcf\n"
		"A mail/\n"
		"A mail/INBOX/\n"
		"A mail/INBOX/cur/\n"
		"A mail/INBOX/cur/c.host:2,S\n"
		"A mail/INBOX/new/\n"
		"A mail/INBOX/new/a.host\n"
		"A mail/INBOX/new/b.host\n"
		"A mail/INBOX/tmp/\n"
		"A notes.txt\n",
		".: +1 file\n"
		"contacts: created\n"
		"contacts/default: created, +1 contact\n"
		"mail: created\n"
		"mail/INBOX: created, +3 messages\n");
	changes(f, 1,
		"M contacts/default/x.vcf\n"
		"A contacts/default/y.vcf\n"
		"A mail/Archive/\n"
		"A mail/Archive/cur/\n"
		"A mail/INBOX/cur/a.host:2,S\n"
		"A mail/INBOX/cur/c.host:2,FS\n"
		"D mail/INBOX/cur/c.host:2,S\n"
		"D mail/INBOX/new/a.host\n"
		"D mail/INBOX/new/b.host\n"
		"A mail/INBOX/new/d.host\n",
		"contacts/default: +1 contact, 1 changed\n"
		"mail/Archive: created\n"
		"mail/INBOX: +1 message, -1 message, 2 flag changes, "
		"1 moved\n");
	/* gone from disk with its sidecar: read from the trees */
	changes(f, 2, "A contacts/default/" LONG ".vcf\n",
		"contacts/default: +1 contact\n");
	changes(f, 3, "D contacts/default/" LONG ".vcf\n",
		"contacts/default: -1 contact\n");
}

/* Names that do not decrypt (another vault's keys) show as "?". */
static void test_other_keys(void **state)
{
	struct fix *f = *state;
	struct sb_store *mine = f->st;
	struct sb_secrets *s = keyed_secrets(0x33, 0x44);

	assert_int_equal(sb_store_open(&f->st, f->root, s), 0);
	sb_secrets_free(s);
	changes(f, 2, "A ?\n", ".: +1 file\n");
	sb_store_free(f->st);
	f->st = mine;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_other_keys),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "sync/history.h"

/* Per-folder summaries of crafted change lists (no repository). */

struct item {
	char status;
	uint32_t mode;
	const char *path;
};

/* Summarizes items and compares the lines, joined by "\n". */
static void check(const struct item *it, size_t n, const char *want)
{
	struct sb_history_changes ch;
	struct sb_history_summary *s = NULL;
	char got[4096] = "", line[512];
	size_t i;

	ch.n = n;
	ch.c = calloc(n ? n : 1, sizeof(*ch.c));
	assert_non_null(ch.c);
	for (i = 0; i < n; i++) {
		ch.c[i].status = it[i].status;
		ch.c[i].mode = it[i].mode;
		ch.c[i].path = (char *)it[i].path;
		ch.c[i].store_path = (char *)"x";
	}
	assert_int_equal(sb_history_summarize(&s, &ch), 0);
	for (i = 0; i < s->n; i++) {
		assert_true(sb_history_folder_line(line, sizeof(line),
						   &s->f[i]) <
			    (int)sizeof(line));
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			 i ? "\n" : "", line);
	}
	assert_string_equal(got, want);
	sb_history_summary_free(s);
	free(ch.c);
}

#define F S_IFREG
#define D S_IFDIR

static void test_maildir(void **state)
{
	const struct item it[] = {
		{ 'A', F, "mail/INBOX/new/1.host" },
		{ 'A', F, "mail/INBOX/new/2.host" },
		{ 'A', F, "mail/INBOX/new/3.host" },
		/* flags changed in place */
		{ 'D', F, "mail/INBOX/cur/4.host:2,S" },
		{ 'A', F, "mail/INBOX/cur/4.host:2,FS" },
		{ 'D', F, "mail/INBOX/cur/5.host:2," },
		{ 'A', F, "mail/INBOX/cur/5.host:2,R" },
		/* new/ -> cur/ is a move */
		{ 'D', F, "mail/INBOX/new/6.host" },
		{ 'A', F, "mail/INBOX/cur/6.host:2," },
		{ 'D', F, "mail/INBOX/cur/7.host:2,S" },
	};

	(void)state;
	check(it, sizeof(it) / sizeof(it[0]),
	      "mail/INBOX: +3 messages, -1 message, 2 flag changes, 1 moved");
}

static void test_folder_moves(void **state)
{
	const struct item it[] = {
		{ 'D', D, "mail/Old" },
		{ 'D', F, "mail/Old/cur/1.h:2,S" },
		{ 'D', F, "mail/Old/cur/2.h:2,S" },
		{ 'A', D, "mail/New" },
		{ 'A', D, "mail/New/cur" },
		{ 'A', D, "mail/New/new" },
		{ 'A', D, "mail/New/tmp" },
		{ 'A', F, "mail/New/cur/1.h:2,S" },
		{ 'A', F, "mail/New/cur/2.h:2,RS" },	/* moved and flagged */
		{ 'M', F, "mail/New/cur/3.h:2,S" },	/* content changed */
		{ 'A', F, "mail/New/dovecot-keywords" },
	};

	(void)state;
	check(it, sizeof(it) / sizeof(it[0]),
	      "mail/New: created, +1 file, 1 changed, 1 flag change, "
	      "2 moved\n"
	      "mail/Old: removed");
}

static void test_pim(void **state)
{
	const struct item it[] = {
		{ 'A', F, "calendars/home/a.ics" },
		{ 'A', F, "calendars/home/b.ICS" },
		{ 'M', F, "calendars/home/c.ics" },
		{ 'D', F, "calendars/work/d.ics" },
		{ 'A', F, "contacts/default/x.vcf" },
		{ 'D', F, "contacts/default/y.vcf" },
		{ 'D', F, "contacts/default/z.vcf" },
		{ 'A', F, "notes.txt" },
		{ 'A', S_IFLNK, "link" },
		{ 'D', F, "old.txt" },
		{ 'M', F, ".sealbox/policy" },
	};

	(void)state;
	check(it, sizeof(it) / sizeof(it[0]),
	      ".: +2 files, -1 file\n"
	      ".sealbox: 1 changed\n"
	      "calendars/home: +2 events, 1 changed\n"
	      "calendars/work: -1 event\n"
	      "contacts/default: +1 contact, -2 contacts");
}

static void test_edges(void **state)
{
	const struct item it[] = {
		{ 'A', F, "cur/1.h:2,S" },		/* top-level Maildir */
		{ 'A', F, "mail/x/?" },			/* undecryptable */
		{ 'A', F, "new" },			/* a file named new */
		{ 'D', F, "mail/a/cur/9.h:2,S" },	/* one name twice */
		{ 'D', F, "mail/b/cur/9.h:2,S" },
		{ 'A', F, "mail/c/cur/9.h:2,S" },
	};
	char small[8];
	struct sb_history_folder f = { "mail/INBOX", { 0 } };

	(void)state;
	check(it, sizeof(it) / sizeof(it[0]),
	      ".: +1 message, +1 file\n"
	      "mail/b: -1 message\n"
	      "mail/c: 1 moved\n"
	      "mail/x: +1 file");
	check(NULL, 0, "");
	/* truncation reports the length needed, as snprintf */
	f.count[SB_HC_MSG_ADDED] = 12;
	assert_int_equal(sb_history_folder_line(small, sizeof(small), &f),
			 (int)strlen("mail/INBOX: +12 messages"));
	assert_string_equal(small, "mail/IN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir),
		cmocka_unit_test(test_folder_moves),
		cmocka_unit_test(test_pim),
		cmocka_unit_test(test_edges),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

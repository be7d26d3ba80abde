#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "crypto/crypto.h"
#include "sync/ignore.h"

/* Per-machine state by plaintext path (DESIGN sec. 6). */

struct row {
	const char *path;
	int ignored;
};

static void check(const struct row *r)
{
	for (; r->path; r++) {
		if (sb_ignore_plain(r->path) != r->ignored)
			fail_msg("%s: expected %s", r->path,
				 r->ignored ? "ignored" : "committed");
	}
}

static void test_maildir_tmp(void **state)
{
	static const struct row rows[] = {
		{ "mail/tmp", 0 },		/* the directory is kept */
		{ "mail/tmp/", 0 },
		{ "mail/tmp/1700000000.M1P2.host", 1 },
		{ "mail/.Sent/tmp", 0 },
		{ "mail/.Sent/tmp/1700000000.M1P2.host", 1 },
		{ "mail/.Sent/tmp/sub/x", 1 },
		{ "mail/cur/1700000000.M1P2.host:2,S", 0 },
		{ "mail/new/1700000000.M1P2.host", 0 },
		{ "mail/.Sent/cur/1700000000.M1P2.host:2,", 0 },
		{ "mail/tmpx/a", 0 },
		{ "mail/xtmp/a", 0 },
		{ "mail/cur/tmp", 0 },		/* a message called tmp */
		/* vdir collections are named by the user */
		{ "calendars/tmp/abc.ics", 0 },
		{ "contacts/tmp/abc.vcf", 0 },
		{ NULL, 0 },
	};

	(void)state;
	check(rows);
}

static void test_local_names(void **state)
{
	static const struct row rows[] = {
		{ "mail/.uidvalidity", 1 },
		{ "mail/.uidvalidityx", 0 },
		{ "mail/.mbsyncstate", 1 },
		{ "mail/.Sent/.mbsyncstate.journal", 1 },
		{ "mail/.mbsyncstate.new", 1 },
		{ "mail/dovecot-uidlist", 1 },
		{ "mail/dovecot-uidlist.lock", 1 },
		{ "mail/dovecot-uidvalidity", 1 },
		{ "mail/dovecot-uidvalidity.65a1b2c3", 1 },
		{ "mail/dovecot.index", 1 },
		{ "mail/dovecot.index.cache", 1 },
		{ "mail/dovecot.index.log.2", 1 },
		{ "mail/dovecot-keywords", 1 },
		{ "mail/dovecot.list.index.log", 1 },
		{ "mail/dovecot-keywordsx", 0 },
		{ "mail/x.lock", 1 },
		{ "mail/lock", 0 },
		{ "mail/.fuse_hidden0000000100000001", 1 },
		{ "calendars/work/.abc.ics.tmp", 1 },
		{ "calendars/work/abc.ics.tmp", 0 },
		{ "calendars/work/.tmp", 0 },
		{ "contacts/home/abc.vcf~", 1 },
		{ "contacts/home/.abc.vcf.swp", 1 },
		{ "contacts/home/abc.vcf.swp", 0 },
		{ "notes/.sealbox-restore.1", 1 },
		{ "notes/a.txt.sealbox-conflict-laptop", 0 },	/* kept copy */
		{ "dovecot.index.cache/x", 1 },	/* below an ignored name */
		{ "mail/cur/1700000000.M1P2.host:2,S", 0 },
		{ "calendars/work/abc.ics", 0 },
		{ "~", 0 },
		{ "", 0 },
		{ NULL, 0 },
	};

	(void)state;
	check(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir_tmp),
		cmocka_unit_test(test_local_names),
	};

	sb_crypto_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

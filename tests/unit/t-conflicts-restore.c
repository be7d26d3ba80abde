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
#include "fs/store.h"
#include "sync/conflicts.h"
#include "tests/unit/util.h"

/* Kept versions: sealed records, ids, list, drop, restore of a property
 * (vCard / iCalendar, folding) and of a kept copy. */

#define MERGE "0123456789abcdef0123456789abcdef01234567"
#define BLOB "89abcdef0123456789abcdef0123456789abcdef"

struct fix {
	char root[64];
	char dir[PATH_MAX];
	struct sb_store *st;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sb_secrets *s = fixed_secrets();

	snprintf(f->root, sizeof(f->root), "/tmp/t-conflicts.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/conflicts", f->root);
	assert_int_equal(sb_store_open(&f->st, f->root, s), 0);
	sb_secrets_free(s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	sb_store_free(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

static struct sb_merge_conflict prop(const char *path, const char *where,
				     const char *what, const char *line)
{
	struct sb_merge_conflict c;

	memset(&c, 0, sizeof(c));
	c.path = (char *)path;
	c.where = (char *)where;
	c.what = (char *)what;
	c.line = (char *)line;
	c.loser = (char *)"laptop";
	snprintf(c.old_blob, sizeof(c.old_blob), "%s", BLOB);
	return c;
}

static void record(struct fix *f, struct sb_merge_conflict *c, size_t n,
		   int64_t when)
{
	struct sb_merge_report rep;

	memset(&rep, 0, sizeof(rep));
	rep.conflicts = c;
	rep.nconflicts = n;
	assert_int_equal(sb_conflicts_record(f->st, f->dir, &rep, MERGE, when),
			 0);
}

static void put(struct fix *f, const char *path, const char *text)
{
	assert_int_equal(sb_store_write_file(f->st, path, text, strlen(text),
					     0640, NULL), 0);
}

static void expect(struct fix *f, const char *path, const char *text)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(sb_store_read_file(f->st, path, &buf, &len, NULL), 0);
	assert_string_equal((char *)buf, text);
	free(buf);
}

static int file_has(const char *path, const char *needle)
{
	char buf[65536];
	size_t n;
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void test_record_list(void **state)
{
	struct fix *f = *state;
	struct sb_merge_conflict c[2];
	struct sb_conflict_list *l = NULL;
	char path[PATH_MAX + 16];
	struct stat sb;

	c[0] = prop("contacts/default/alice.vcf", "VCARD UID=alice",
		    "EMAIL;TYPE=work", "EMAIL;TYPE=work:alice@old.example");
	memset(&c[1], 0, sizeof(c[1]));
	c[1].path = "notes/todo.txt";
	c[1].kept = "notes/todo.txt.sealbox-conflict-laptop";
	c[1].loser = "laptop";
	record(f, c, 2, 1700000000);

	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/1", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* sealed: no plaintext on disk */
	assert_false(file_has(path, "alice"));
	assert_false(file_has(path, "EMAIL"));

	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->recs[0].id, 1);
	assert_int_equal(l->recs[1].id, 2);
	assert_int_equal(l->recs[0].when, 1700000000);
	assert_string_equal(l->recs[0].merge, MERGE);
	assert_string_equal(l->recs[0].c.path, "contacts/default/alice.vcf");
	assert_string_equal(l->recs[0].c.where, "VCARD UID=alice");
	assert_string_equal(l->recs[0].c.what, "EMAIL;TYPE=work");
	assert_string_equal(l->recs[0].c.line,
			    "EMAIL;TYPE=work:alice@old.example");
	assert_string_equal(l->recs[0].c.loser, "laptop");
	assert_string_equal(l->recs[0].c.old_blob, BLOB);
	assert_null(l->recs[0].c.kept);
	assert_int_equal(l->recs[0].restored, 0);
	assert_string_equal(l->recs[1].c.kept,
			    "notes/todo.txt.sealbox-conflict-laptop");
	assert_null(l->recs[1].c.where);
	assert_null(l->recs[1].c.line);
	assert_string_equal(l->recs[1].c.old_blob, "");
	sb_conflicts_list_free(l);
}

static void test_ids_drop(void **state)
{
	struct fix *f = *state;
	struct sb_merge_conflict c = prop("a.vcf", "VCARD UID=a", "FN",
					  "FN:A");
	struct sb_conflict_list *l = NULL;

	/* no directory yet: an empty list */
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->n, 0);
	sb_conflicts_list_free(l);

	struct sb_merge_report rep;

	record(f, &c, 1, 1);
	record(f, &c, 1, 2);
	/* no merge commit named */
	memset(&rep, 0, sizeof(rep));
	rep.conflicts = &c;
	rep.nconflicts = 1;
	assert_int_equal(sb_conflicts_record(f->st, f->dir, &rep, NULL, 3), 0);
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->recs[2].merge, "");
	sb_conflicts_list_free(l);
	assert_int_equal(sb_conflicts_drop(f->dir, 2), 0);
	assert_int_equal(sb_conflicts_drop(f->dir, 2), -ENOENT);
	assert_int_equal(sb_conflicts_drop(f->dir, 0), -ENOENT);
	assert_int_equal(sb_conflicts_drop(f->dir, 3), 0);
	record(f, &c, 1, 4);	/* the next id after the largest left */
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->recs[0].id, 1);
	assert_int_equal(l->recs[1].id, 2);
	assert_int_equal(l->recs[1].when, 4);
	sb_conflicts_list_free(l);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 9),
			 -ENOENT);
	assert_string_equal(sb_err_msg(-ENOENT), "no kept version 9");
}

static void test_tampered(void **state)
{
	struct fix *f = *state;
	struct sb_merge_conflict c = prop("a.vcf", "VCARD UID=a", "FN",
					  "FN:A");
	struct sb_conflict_list *l = NULL;
	char a[PATH_MAX + 16], b[PATH_MAX + 16];
	FILE *fp;
	int ch;

	record(f, &c, 1, 1);
	record(f, &c, 1, 2);
	/* a record moved to another number does not pass for it */
	snprintf(a, sizeof(a), "%s/1", f->dir);
	snprintf(b, sizeof(b), "%s/7", f->dir);
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), SB_EFORMAT);
	assert_int_equal(rename(b, a), 0);
	/* a flipped byte does not decrypt */
	fp = fopen(a, "r+b");
	assert_non_null(fp);
	fseek(fp, 100, SEEK_SET);
	ch = fgetc(fp);
	fseek(fp, 100, SEEK_SET);
	fputc(ch ^ 1, fp);
	fclose(fp);
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), SB_EAUTH);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 1),
			 SB_EAUTH);
}

#define VCARD_NOW \
	"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:alice\r\nFN:Alice\r\n" \
	"EMAIL;TYPE=work:alice@new.example\r\nEMAIL;TYPE=home:a@home\r\n" \
	"NOTE:this note is long enough to be folded by the writer that wrot" \
	"\r\n e it first\r\nEND:VCARD\r\n"

static void test_restore_vcard(void **state)
{
	struct fix *f = *state;
	struct sb_merge_conflict c = prop("c/alice.vcf", "VCARD UID=alice",
					  "EMAIL;TYPE=work",
					  "email;TYPE=work:alice@old.example");
	struct sb_conflict_list *l = NULL;

	assert_int_equal(sb_store_mkdir(f->st, "c", 0700), 0);
	put(f, "c/alice.vcf", VCARD_NOW);
	record(f, &c, 1, 5);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 1), 0);
	expect(f, "c/alice.vcf",
	       "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:alice\r\nFN:Alice\r\n"
	       "email;TYPE=work:alice@old.example\r\nEMAIL;TYPE=home:a@home\r\n"
	       "NOTE:this note is long enough to be folded by the writer that "
	       "wrote it firs\r\n t\r\nEND:VCARD\r\n");
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->recs[0].restored, 1);
	sb_conflicts_list_free(l);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 1),
			 -EALREADY);
}

#define ICS_NOW \
	"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:ev\n" \
	"SUMMARY:series\nEND:VEVENT\nBEGIN:VEVENT\nUID:ev\n" \
	"RECURRENCE-ID:20261201T100000Z\nSUMMARY:moved\nBEGIN:VALARM\n" \
	"ACTION:DISPLAY\nSUMMARY:alarm\nEND:VALARM\nEND:VEVENT\n" \
	"END:VCALENDAR\n"

static void test_restore_instance(void **state)
{
	struct fix *f = *state;
	struct sb_merge_conflict c[3];

	c[0] = prop("cal.ics", "VEVENT UID=ev RECURRENCE-ID=20261201T100000Z",
		    "SUMMARY", "SUMMARY:the old title");
	/* the winner deleted LOCATION: it comes back before the VALARM */
	c[1] = prop("cal.ics", "VEVENT UID=ev RECURRENCE-ID=20261201T100000Z",
		    "LOCATION", "LOCATION:room 1");
	/* the loser had deleted it: restoring removes it */
	c[2] = prop("cal.ics", "VEVENT UID=ev", "SUMMARY", NULL);
	put(f, "cal.ics", ICS_NOW);
	record(f, c, 3, 5);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 1), 0);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 2), 0);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 3), 0);
	expect(f, "cal.ics",
	       "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ev\r\n"
	       "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:ev\r\n"
	       "RECURRENCE-ID:20261201T100000Z\r\nSUMMARY:the old title\r\n"
	       "LOCATION:room 1\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n"
	       "SUMMARY:alarm\r\nEND:VALARM\r\nEND:VEVENT\r\n"
	       "END:VCALENDAR\r\n");
}

static void test_restore_gone(void **state)
{
	struct fix *f = *state;
	struct sb_merge_conflict c = prop("cal.ics", "VEVENT UID=other",
					  "SUMMARY", "SUMMARY:x");
	struct sb_conflict_list *l = NULL;

	put(f, "cal.ics", ICS_NOW);
	record(f, &c, 1, 5);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 1),
			 -ENOENT);
	assert_string_equal(sb_err_msg(-ENOENT),
			    "the item no longer holds VEVENT UID=other");
	expect(f, "cal.ics", ICS_NOW);
	assert_int_equal(sb_conflicts_list(&l, f->st, f->dir), 0);
	assert_int_equal(l->recs[0].restored, 0);
	sb_conflicts_list_free(l);
}

/* Every physical line at most 75 octets, never cut inside UTF-8, and
 * unfolding gives the logical line back. */
static void test_fold_utf8(void **state)
{
	struct fix *f = *state;
	char line[400], want[400];
	struct sb_merge_conflict c;
	uint8_t *buf = NULL;
	size_t len = 0, i, n, w = 0;
	const char *p, *e;

	n = (size_t)snprintf(line, sizeof(line), "NOTE:");
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\xc3\xa9x");
	c = prop("u.vcf", "VCARD UID=u", "NOTE", line);
	put(f, "u.vcf", "BEGIN:VCARD\r\nUID:u\r\nNOTE:x\r\nEND:VCARD\r\n");
	record(f, &c, 1, 5);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 1), 0);
	assert_int_equal(sb_store_read_file(f->st, "u.vcf", &buf, &len, NULL),
			 0);
	for (p = (char *)buf; *p; p = e + 2) {
		e = strstr(p, "\r\n");
		assert_non_null(e);
		assert_true(e - p <= 75);
		if (e > p)
			assert_true(((unsigned char)e[-1] & 0xc0) != 0xc0);
		if (*p == ' ') {
			memcpy(want + w, p + 1, (size_t)(e - p - 1));
			w += (size_t)(e - p - 1);
		} else if (!strncmp(p, "NOTE:", 5)) {
			memcpy(want, p, (size_t)(e - p));
			w = (size_t)(e - p);
		}
	}
	want[w] = '\0';
	assert_string_equal(want, line);
	free(buf);
}

static void test_restore_kept(void **state)
{
	struct fix *f = *state;
	struct timespec old = { 1600000000, 123456789 };
	struct sb_merge_conflict c;
	struct stat sb;
	struct sb_meta meta;
	uint8_t *buf = NULL;
	size_t len = 0;

	memset(&c, 0, sizeof(c));
	c.path = "notes/todo.txt";
	c.kept = "notes/todo.txt.sealbox-conflict-laptop";
	c.loser = "laptop";
	assert_int_equal(sb_store_mkdir(f->st, "notes", 0700), 0);
	put(f, "notes/todo.txt", "ours\n");
	assert_int_equal(sb_store_write_file(f->st, c.kept, "theirs\n", 7,
					     0600, &old), 0);
	record(f, &c, 1, 5);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 1), 0);
	assert_int_equal(sb_store_read_file(f->st, "notes/todo.txt", &buf,
					    &len, &meta), 0);
	assert_string_equal((char *)buf, "theirs\n");
	assert_int_equal(meta.mtime_sec, 1600000000);
	assert_int_equal(meta.mtime_nsec, 123456789);
	free(buf);
	assert_int_equal(sb_store_stat(f->st, c.kept, &sb), -ENOENT);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 1),
			 -EALREADY);

	/* the folder went meanwhile: it comes back */
	assert_int_equal(sb_store_mkdir(f->st, "x", 0700), 0);
	c.path = "gone/f";
	c.kept = "x/f.sealbox-conflict-laptop";
	put(f, c.kept, "kept\n");
	record(f, &c, 1, 6);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 2), 0);
	expect(f, "gone/f", "kept\n");

	/* the kept copy was removed by hand */
	c.kept = "x/nothing";
	record(f, &c, 1, 7);
	assert_int_equal(sb_conflicts_restore(f->st, NULL, f->dir, 3),
			 -ENOENT);
	assert_string_equal(sb_err_msg(-ENOENT), "x/nothing is gone");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_list, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ids_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_vcard, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore_instance, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore_gone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fold_utf8, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore_kept, setup,
						teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

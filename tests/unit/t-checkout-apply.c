#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
#include "tests/unit/util.h"

/*
 * sb_checkout(): device A commits its store (sb_repo_commit_all), device
 * B (another store with the same secrets) is checked out from A's
 * commits; B's plaintext tree then equals A's, with the same file mtimes
 * and executable bits; directories appear and go; B's own changes are
 * kept and counted; a second run changes nothing; a run killed halfway
 * is finished by the next one.
 */

struct fix {
	char top[64], a[96], b[96], cache[128];
	struct sb_repo *r;
	struct sb_store *sa, *sb;
	struct sb_statcache *sc;
	struct sb_names *names;
	struct sb_signkey *key;
	char c1[SB_OID_HEX], c2[SB_OID_HEX];
	char seen[64][PATH_MAX];
	size_t nseen;
	int die_after;
};

static void open_b(struct fix *f)
{
	struct sb_secrets *s = fixed_secrets();

	assert_int_equal(sb_store_open(&f->sb, f->b, s), 0);
	sb_secrets_free(s);
	assert_int_equal(sb_statcache_open(&f->sc, f->cache), 0);
}

static void close_b(struct fix *f)
{
	sb_statcache_free(f->sc);
	sb_store_free(f->sb);
	f->sc = NULL;
	f->sb = NULL;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sb_secrets *s = fixed_secrets();
	uint8_t seed[SB_ED25519_LEN];

	snprintf(f->top, sizeof(f->top), "/tmp/t-checkout.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	snprintf(f->a, sizeof(f->a), "%s/a", f->top);
	snprintf(f->b, sizeof(f->b), "%s/b", f->top);
	snprintf(f->cache, sizeof(f->cache), "%s/statcache-b", f->top);
	assert_int_equal(mkdir(f->a, 0700), 0);
	assert_int_equal(mkdir(f->b, 0700), 0);
	assert_int_equal(sb_repo_init(&f->r, f->a), 0);
	assert_int_equal(sb_store_open(&f->sa, f->a, s), 0);
	assert_int_equal(sb_names_new(&f->names, s), 0);
	sb_secrets_free(s);
	open_b(f);
	memset(seed, 0x5a, sizeof(seed));
	assert_int_equal(sb_signkey_from_seed(&f->key, seed), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	close_b(f);
	sb_store_free(f->sa);
	sb_names_free(f->names);
	sb_signkey_free(f->key);
	sb_repo_free(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

/* Device A's side. */

static void put_at(struct sb_store *st, const char *plain, const char *text,
		   mode_t mode, time_t when)
{
	struct timespec ts = { when, 123456789 };

	assert_int_equal(sb_store_write_file(st, plain, text, strlen(text),
					     mode, when ? &ts : NULL), 0);
}

static void put(struct fix *f, const char *plain, const char *text,
		time_t when)
{
	put_at(f->sa, plain, text, 0600, when);
}

static void mklink(struct fix *f, const char *plain, const char *target)
{
	char enc[SB_SYMLINK_ENC_MAX], bpath[PATH_MAX], path[PATH_MAX * 2];

	assert_int_equal(sb_names_encrypt_target(f->names, enc, target,
						 strlen(target)), 0);
	assert_int_equal(sb_store_backing_path(f->sa, bpath, sizeof(bpath),
					       plain), 0);
	snprintf(path, sizeof(path), "%s/%s", f->a, bpath);
	assert_int_equal(symlink(enc, path), 0);
}

static void meta_file(struct fix *f, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.sealbox", f->a);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.sealbox/policy", f->a);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void commit(struct fix *f, char oid[SB_OID_HEX])
{
	assert_int_equal(sb_repo_commit_all(f->r, oid, "test", "laptop",
					    "laptop@sealbox", sign_cb, f->key),
			 0);
}

static char *long_name(char *buf, size_t size, char c)
{
	memset(buf, c, size - 1);
	buf[size - 1] = '\0';
	return buf;
}

/* The first state: every kind of entry. */
static void state1(struct fix *f)
{
	char name[230], path[300];

	assert_int_equal(sb_store_mkdir(f->sa, "mail/cur", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->sa, "mail/new", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->sa, "mail/tmp", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->sa, "mail/.Archive/cur", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->sa, "contacts/work", 0700), 0);
	put(f, "mail/cur/1700.M1.host:2,S", "From: a\n\nhello\n", 1700000000);
	put(f, "mail/cur/1700.M2.host:2,", "From: b\n\nsecond\n", 1700000100);
	put(f, "mail/.Archive/cur/1600.M9.host:2,S", "old\n", 1600000000);
	put(f, "contacts/work/x.vcf", "BEGIN:VCARD\r\nUID:x\r\nEND:VCARD\r\n",
	    1700000200);
	put_at(f->sa, "bin-tool", "#!/bin/sh\necho hi\n", 0700, 1700000300);
	snprintf(path, sizeof(path), "notes/%s",
		 long_name(name, sizeof(name), 'n'));
	assert_int_equal(sb_store_mkdir(f->sa, "notes", 0700), 0);
	put(f, path, "a file with a long name\n", 1700000400);
	snprintf(path, sizeof(path), "%s/x",
		 long_name(name, sizeof(name), 'd'));
	assert_int_equal(sb_store_mkdir(f->sa, name, 0700), 0);
	put(f, path, "in a long-named directory\n", 1700000500);
	mklink(f, "link", "mail/cur");
	meta_file(f, "policy v1\n");
	commit(f, f->c1);
}

/* The second: changed, removed, moved, added, a directory gone. */
static void state2(struct fix *f)
{
	char name[230], path[300];

	put(f, "contacts/work/x.vcf",
	    "BEGIN:VCARD\r\nUID:x\r\nFN:X\r\nEND:VCARD\r\n", 1700001000);
	assert_int_equal(sb_store_unlink(f->sa, "mail/cur/1700.M2.host:2,"), 0);
	assert_int_equal(sb_store_unlink(f->sa,
					 "mail/.Archive/cur/1600.M9.host:2,S"),
			 0);
	assert_int_equal(sb_store_rmdir(f->sa, "mail/.Archive/cur"), 0);
	assert_int_equal(sb_store_rmdir(f->sa, "mail/.Archive"), 0);
	put(f, "mail/cur/1700.M1.host:2,RS", "From: a\n\nhello\n", 1700000000);
	assert_int_equal(sb_store_unlink(f->sa, "mail/cur/1700.M1.host:2,S"),
			 0);
	assert_int_equal(sb_store_mkdir(f->sa, "calendars/home", 0700), 0);
	put(f, "calendars/home/e.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
	    1700002000);
	snprintf(path, sizeof(path), "notes/%s",
		 long_name(name, sizeof(name), 'n'));
	assert_int_equal(sb_store_unlink(f->sa, path), 0);
	snprintf(path, sizeof(path), "notes/%s",
		 long_name(name, sizeof(name), 'm'));
	put(f, path, "another long name\n", 1700000600);
	meta_file(f, "policy v2\n");
	commit(f, f->c2);
}

/* Plaintext trees. */

struct list {
	struct sb_store *st;
	const char *root;
	char **line;
	size_t n;
};

static int list_fn(const struct sb_store_entry *e, void *arg)
{
	struct list *l = arg;
	char line[PATH_MAX * 3], target[PATH_MAX], bpath[PATH_MAX * 2];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat sb;
	ssize_t n;

	if (e->error)
		fail_msg("damaged: %s (%s)", e->path, e->what ? e->what : "");
	assert_int_equal(sb_store_stat(l->st, e->path, &sb), 0);
	if (e->type == S_IFREG) {
		assert_int_equal(sb_store_read_file(l->st, e->path, &buf, &len,
						    NULL), 0);
		snprintf(line, sizeof(line), "F %s x%o m%lld.%09ld %s", e->path,
			 (unsigned)(sb.st_mode & 0100),
			 (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec,
			 (char *)buf);
		free(buf);
	} else if (e->type == S_IFLNK) {
		snprintf(bpath, sizeof(bpath), "%s/%s", l->root, e->backing);
		n = readlink(bpath, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		snprintf(line, sizeof(line), "L %s %s", e->path, target);
	} else {
		snprintf(line, sizeof(line), "D %s", e->path);
	}
	l->line = realloc(l->line, (l->n + 1) * sizeof(*l->line));
	l->line[l->n++] = strdup(line);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_store(struct list *l, struct sb_store *st, const char *root)
{
	memset(l, 0, sizeof(*l));
	l->st = st;
	l->root = root;
	assert_int_equal(sb_store_walk(st, 1, list_fn, l), 0);
	qsort(l->line, l->n, sizeof(*l->line), cmp_str);
}

static void list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->line[i]);
	free(l->line);
}

static void read_meta(const char *root, char *buf, size_t size)
{
	char path[PATH_MAX];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/.sealbox/policy", root);
	assert_non_null(fp = fopen(path, "r"));
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

static void same_trees(struct fix *f)
{
	struct list la, lb;
	char ma[64], mb[64];
	size_t i;

	list_store(&la, f->sa, f->a);
	list_store(&lb, f->sb, f->b);
	for (i = 0; i < la.n && i < lb.n; i++)
		assert_string_equal(la.line[i], lb.line[i]);
	assert_int_equal(la.n, lb.n);
	list_free(&la);
	list_free(&lb);
	read_meta(f->a, ma, sizeof(ma));
	read_meta(f->b, mb, sizeof(mb));
	assert_string_equal(ma, mb);
}

static void seen_cb(const char *plain, void *ctx)
{
	struct fix *f = ctx;

	if (f->nseen < 64)
		snprintf(f->seen[f->nseen++], PATH_MAX, "%s", plain);
	if (f->die_after && (int)f->nseen >= f->die_after)
		_exit(0);
}

static int was_seen(struct fix *f, const char *plain)
{
	size_t i;

	for (i = 0; i < f->nseen; i++)
		if (!strcmp(f->seen[i], plain))
			return 1;
	return 0;
}

static void checkout(struct fix *f, struct sb_checkout_result *res,
		     const char *from, const char *to)
{
	f->nseen = 0;
	assert_int_equal(sb_checkout(res, f->r, f->sb, f->sc, from, to, seen_cb,
				     f), 0);
}

/* Tests. */

static void test_fresh(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;

	state1(f);
	checkout(f, &res, NULL, f->c1);
	same_trees(f);
	/* 7 files of the user, the symlink, .sealbox/policy */
	assert_int_equal(res.written, 9);
	assert_int_equal(res.removed, 0);
	assert_int_equal(res.kept, 0);
	assert_true(was_seen(f, "mail/cur/1700.M1.host:2,S"));
	assert_true(was_seen(f, "mail/cur"));
	assert_true(was_seen(f, "mail/tmp"));
	assert_true(was_seen(f, ""));
	assert_false(was_seen(f, ".sealbox/policy"));
}

static void test_update(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;
	struct stat sb;

	state1(f);
	checkout(f, &res, NULL, f->c1);
	state2(f);
	checkout(f, &res, f->c1, f->c2);
	same_trees(f);
	assert_int_equal(res.written, 5);
	assert_int_equal(res.removed, 4);
	assert_int_equal(res.kept, 0);
	assert_int_equal(sb_store_stat(f->sb, "mail/.Archive", &sb), -ENOENT);
	assert_int_equal(sb_store_stat(f->sb, "calendars/home", &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_true(was_seen(f, "mail/.Archive"));
	assert_true(was_seen(f, "mail/cur/1700.M1.host:2,S"));
	assert_true(was_seen(f, "mail/cur/1700.M1.host:2,RS"));
	assert_true(was_seen(f, "calendars/home/e.ics"));
	assert_true(was_seen(f, "calendars"));
	/* and back */
	checkout(f, &res, f->c2, f->c1);
	assert_int_equal(res.kept, 0);
	assert_int_equal(sb_store_stat(f->sb, "mail/.Archive/cur", &sb), 0);
	assert_int_equal(sb_store_stat(f->sb, "calendars", &sb), -ENOENT);
}

static void test_idempotent(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;

	state1(f);
	checkout(f, &res, NULL, f->c1);
	state2(f);
	checkout(f, &res, f->c1, f->c2);
	checkout(f, &res, f->c1, f->c2);
	assert_int_equal(res.written, 0);
	assert_int_equal(res.removed, 0);
	assert_int_equal(res.kept, 0);
	same_trees(f);
	/* a fresh cache: files are hashed, nothing is written */
	close_b(f);
	unlink(f->cache);
	open_b(f);
	checkout(f, &res, f->c1, f->c2);
	assert_int_equal(res.written + res.removed + res.kept, 0);
	same_trees(f);
}

static void test_local_change_kept(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;
	uint8_t *buf;
	size_t len;

	state1(f);
	checkout(f, &res, NULL, f->c1);
	/* B changes a file A changes, and adds one where A adds one */
	put_at(f->sb, "contacts/work/x.vcf", "mine\n", 0600, 0);
	assert_int_equal(sb_store_mkdir(f->sb, "calendars/home", 0700), 0);
	put_at(f->sb, "calendars/home/e.ics", "mine too\n", 0600, 0);
	/* and removes one A removes, and one A leaves */
	assert_int_equal(sb_store_unlink(f->sb, "mail/cur/1700.M2.host:2,"), 0);
	state2(f);
	checkout(f, &res, f->c1, f->c2);
	assert_int_equal(res.kept, 2);
	assert_int_equal(sb_store_read_file(f->sb, "contacts/work/x.vcf", &buf,
					    &len, NULL), 0);
	assert_string_equal((char *)buf, "mine\n");
	free(buf);
	assert_int_equal(sb_store_read_file(f->sb, "calendars/home/e.ics",
					    &buf, &len, NULL), 0);
	assert_string_equal((char *)buf, "mine too\n");
	free(buf);
	assert_int_equal(sb_store_read_file(f->sb, "mail/cur/1700.M1.host:2,RS",
					    &buf, &len, NULL), 0);
	free(buf);
}

static void test_dir_with_local_file_kept(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;
	struct stat sb;

	state1(f);
	checkout(f, &res, NULL, f->c1);
	put_at(f->sb, "mail/.Archive/cur/new-here", "local\n", 0600, 0);
	state2(f);
	checkout(f, &res, f->c1, f->c2);
	/* the new file, and its two directories */
	assert_int_equal(res.kept, 2);
	assert_int_equal(sb_store_stat(f->sb, "mail/.Archive/cur/new-here",
				       &sb), 0);
	assert_int_equal(sb_store_stat(f->sb,
				       "mail/.Archive/cur/1600.M9.host:2,S",
				       &sb), -ENOENT);
}

/* Per-machine state does not keep a removed directory alive. */
static void test_dir_local_state_dropped(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;
	struct stat sb;

	state1(f);
	checkout(f, &res, NULL, f->c1);
	put_at(f->sb, "mail/.Archive/dovecot-uidlist", "3 V1 N2\n", 0600, 0);
	put_at(f->sb, "mail/.Archive/cur/x.lock", "", 0600, 0);
	state2(f);
	checkout(f, &res, f->c1, f->c2);
	assert_int_equal(res.kept, 0);
	assert_int_equal(sb_store_stat(f->sb, "mail/.Archive", &sb), -ENOENT);
	same_trees(f);
}

/* Killed after n files, then run again from the start. */
static void crash_at(struct fix *f, int n)
{
	struct sb_checkout_result res;
	char cmd[512];
	pid_t pid;
	int status;

	close_b(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' && mkdir '%s'", f->b,
		 f->cache, f->b);
	assert_int_equal(system(cmd), 0);
	open_b(f);
	checkout(f, &res, NULL, f->c1);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		f->die_after = n;
		checkout(f, &res, f->c1, f->c2);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	/* 0: killed in the callback; 3: it ended before */
	assert_true(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
	close_b(f);
	open_b(f);
	checkout(f, &res, f->c1, f->c2);
	assert_int_equal(res.kept, 0);
	same_trees(f);
}

static void test_crash_halfway(void **state)
{
	struct fix *f = *state;
	int n;

	state1(f);
	state2(f);
	for (n = 1; n <= 14; n++)
		crash_at(f, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_local_change_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dir_with_local_file_kept,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_local_state_dropped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_halfway, setup,
						teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

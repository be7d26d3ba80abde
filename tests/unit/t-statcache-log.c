#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "sync/statcache.h"

/* The stat cache: lookups, prefix removal, the log, its damage, its size. */

#define OID_A "0123456789abcdef0123456789abcdef01234567"
#define OID_B "89abcdef0123456789abcdef0123456789abcdef"

struct fix {
	char dir[64];
	char file[96];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/t-statcache.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/statcache", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

static struct stat fake_stat(uint64_t ino, int64_t t)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_ino = (ino_t)ino;
	st.st_size = (off_t)(ino * 3);
	st.st_mtim.tv_sec = t;
	st.st_mtim.tv_nsec = 123456789;
	st.st_ctim.tv_sec = t + 1;
	st.st_ctim.tv_nsec = 987654321;
	st.st_mode = S_IFREG | 0600;
	return st;
}

static off_t file_size(const char *file)
{
	struct stat st;

	assert_int_equal(stat(file, &st), 0);
	return st.st_size;
}

static void test_get_put_fresh(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc;
	struct sb_statcache_ent e;
	struct stat st = fake_stat(7, 1700000000), other;
	char bad[SB_OID_HEX] = "0123456789abcdef0123456789abcdef0123456z";

	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	assert_int_equal(sb_statcache_get(sc, "a/b", &e), -ENOENT);
	assert_int_equal(sb_statcache_put(sc, "a/b", &st, OID_A), 0);
	assert_int_equal(sb_statcache_get(sc, "a/b", &e), 0);
	assert_string_equal(e.oid, OID_A);
	assert_true(sb_statcache_fresh(&e, &st));
	other = st;
	other.st_ctim.tv_nsec++;
	assert_false(sb_statcache_fresh(&e, &other));
	other = st;
	other.st_mtim.tv_nsec++;
	assert_false(sb_statcache_fresh(&e, &other));
	other = st;
	other.st_ino++;
	assert_false(sb_statcache_fresh(&e, &other));
	other = st;
	other.st_size++;
	assert_false(sb_statcache_fresh(&e, &other));
	other = st;
	other.st_mode |= 0100;
	assert_false(sb_statcache_fresh(&e, &other));
	assert_int_equal(sb_statcache_put(sc, "a/b", &st, bad), -EINVAL);
	assert_int_equal(sb_statcache_put(sc, "a/b", &st, OID_B), 0);
	assert_int_equal(sb_statcache_get(sc, "a/b", &e), 0);
	assert_string_equal(e.oid, OID_B);
	sb_statcache_free(sc);
}

struct collect {
	char buf[512];
};

static int collect_fn(const char *path, const struct sb_statcache_ent *e,
		      void *arg)
{
	struct collect *c = arg;
	size_t n = strlen(c->buf);

	(void)e;
	snprintf(c->buf + n, sizeof(c->buf) - n, "%s;", path);
	return 0;
}

static void put_paths(struct sb_statcache *sc, const char *const *p)
{
	struct stat st = fake_stat(1, 1);

	for (; *p; p++)
		assert_int_equal(sb_statcache_put(sc, *p, &st, OID_A), 0);
}

static void test_del_prefix_and_order(void **state)
{
	static const char *const paths[] = {
		"m/cur/x", "m/cur/y", "m/new/z", "m/cur.x", "m/cu", "n/a", "m/cur",
		NULL
	};
	struct fix *f = *state;
	struct sb_statcache *sc;
	struct collect c = { "" };

	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	put_paths(sc, paths + 1);
	assert_int_equal(sb_statcache_put(sc, "m/cur/x",
					  &(struct stat){ .st_ino = 2 }, OID_B),
			 0);
	assert_int_equal(sb_statcache_each(sc, collect_fn, &c), 0);
	assert_string_equal(c.buf,
			    "m/cu;m/cur;m/cur.x;m/cur/x;m/cur/y;m/new/z;n/a;");
	/* an exact entry goes alone; a directory prefix takes what is below */
	assert_int_equal(sb_statcache_del(sc, "m/cur"), 0);
	c.buf[0] = '\0';
	assert_int_equal(sb_statcache_each(sc, collect_fn, &c), 0);
	assert_string_equal(c.buf, "m/cu;m/cur.x;m/cur/x;m/cur/y;m/new/z;n/a;");
	assert_int_equal(sb_statcache_del(sc, "m/cur"), 0);
	c.buf[0] = '\0';
	assert_int_equal(sb_statcache_each(sc, collect_fn, &c), 0);
	assert_string_equal(c.buf, "m/cu;m/cur.x;m/new/z;n/a;");
	assert_int_equal(sb_statcache_save(sc), 0);
	sb_statcache_free(sc);

	/* the log replays to the same set */
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	c.buf[0] = '\0';
	assert_int_equal(sb_statcache_each(sc, collect_fn, &c), 0);
	assert_string_equal(c.buf, "m/cu;m/cur.x;m/new/z;n/a;");
	assert_int_equal(sb_statcache_del(sc, "m"), 0);
	assert_int_equal(sb_statcache_save(sc), 0);
	sb_statcache_free(sc);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	c.buf[0] = '\0';
	assert_int_equal(sb_statcache_each(sc, collect_fn, &c), 0);
	assert_string_equal(c.buf, "n/a;");
	sb_statcache_free(sc);
}

/* Many deletions in a full table (backward shifts across the wrap). */
static void test_del_many(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc;
	struct sb_statcache_ent e;
	struct stat st = fake_stat(5, 5);
	char p[64];
	int i;

	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	for (i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "%s/%d", i % 3 ? "keep" : "drop", i);
		assert_int_equal(sb_statcache_put(sc, p, &st, OID_A), 0);
	}
	assert_int_equal(sb_statcache_del(sc, "drop"), 0);
	for (i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "%s/%d", i % 3 ? "keep" : "drop", i);
		assert_int_equal(sb_statcache_get(sc, p, &e),
				 i % 3 ? 0 : -ENOENT);
	}
	for (i = 1; i < 5000; i += 3) {
		snprintf(p, sizeof(p), "keep/%d", i);
		assert_int_equal(sb_statcache_del(sc, p), 0);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "%s/%d", i % 3 ? "keep" : "drop", i);
		assert_int_equal(sb_statcache_get(sc, p, &e),
				 i % 3 == 2 ? 0 : -ENOENT);
	}
	sb_statcache_free(sc);
}

static void test_save_is_append(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc;
	struct stat st = fake_stat(3, 3);
	off_t before, after;
	char p[64];
	int i;

	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	for (i = 0; i < 2000; i++) {
		snprintf(p, sizeof(p), "dir/file-%04d", i);
		assert_int_equal(sb_statcache_put(sc, p, &st, OID_A), 0);
	}
	assert_int_equal(sb_statcache_save(sc), 0);
	before = file_size(f->file);
	/* nothing changed: nothing written */
	assert_int_equal(sb_statcache_save(sc), 0);
	assert_int_equal(file_size(f->file), before);
	/* one change: one record appended */
	assert_int_equal(sb_statcache_put(sc, "dir/file-0001", &st, OID_B), 0);
	assert_int_equal(sb_statcache_save(sc), 0);
	after = file_size(f->file);
	assert_true(after > before && after - before < 200);
	sb_statcache_free(sc);
	assert_int_equal(access(f->file, F_OK), 0);
	{
		struct stat fs;

		assert_int_equal(stat(f->file, &fs), 0);
		assert_int_equal(fs.st_mode & 0777, 0600);
	}
}

/* Rewriting the same entries over and over keeps the file bounded. */
static void test_compaction(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc;
	struct sb_statcache_ent e;
	struct stat st;
	off_t one, max = 0;
	char p[128];
	int round, i;

	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	for (round = 0; round < 200; round++) {
		st = fake_stat((uint64_t)round + 1, round);
		for (i = 0; i < 100; i++) {
			snprintf(p, sizeof(p), "d/%d", i);
			assert_int_equal(sb_statcache_put(sc, p, &st,
							  round & 1 ? OID_A : OID_B),
					 0);
		}
		assert_int_equal(sb_statcache_save(sc), 0);
		if (file_size(f->file) > max)
			max = file_size(f->file);
	}
	sb_statcache_free(sc);
	/* 100 live records are about 10 KiB; 200 rounds appended 2 MiB */
	one = 100 * 120;
	assert_true(max < 2 * one + 65536 + one);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	assert_int_equal(sb_statcache_get(sc, "d/42", &e), 0);
	assert_int_equal(e.ino, 200);
	assert_string_equal(e.oid, OID_A);
	sb_statcache_free(sc);
	/* no temporary left behind */
	snprintf(p, sizeof(p), "%s.tmp", f->file);
	assert_int_equal(access(p, F_OK), -1);
}

static void append_bytes(const char *file, const void *buf, size_t n)
{
	int fd = open(file, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);
}

static void make_log(const char *file, int n)
{
	struct sb_statcache *sc;
	struct stat st = fake_stat(9, 9);
	char p[64];
	int i;

	assert_int_equal(sb_statcache_open(&sc, file), 0);
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "x/%d", i);
		assert_int_equal(sb_statcache_put(sc, p, &st, OID_A), 0);
		assert_int_equal(sb_statcache_save(sc), 0);
	}
	sb_statcache_free(sc);
}

static int count_fn(const char *path, const struct sb_statcache_ent *e,
		    void *arg)
{
	(void)path;
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static int count(struct sb_statcache *sc)
{
	int n = 0;

	assert_int_equal(sb_statcache_each(sc, count_fn, &n), 0);
	return n;
}

/* A torn last record is dropped; later saves do not build on it. */
static void test_torn_tail(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc;
	struct sb_statcache_ent e;
	struct stat st = fake_stat(11, 11);
	off_t full;

	make_log(f->file, 10);
	full = file_size(f->file);
	assert_int_equal(truncate(f->file, full - 5), 0);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	assert_int_equal(count(sc), 9);
	assert_int_equal(sb_statcache_get(sc, "x/9", &e), -ENOENT);
	assert_int_equal(sb_statcache_get(sc, "x/8", &e), 0);
	assert_int_equal(sb_statcache_put(sc, "y", &st, OID_B), 0);
	assert_int_equal(sb_statcache_save(sc), 0);
	sb_statcache_free(sc);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	assert_int_equal(count(sc), 10);
	assert_int_equal(sb_statcache_get(sc, "y", &e), 0);
	assert_string_equal(e.oid, OID_B);
	sb_statcache_free(sc);
}

/* A damaged record ends the log there: it and everything after it. */
static void test_garbled(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc;
	off_t full;
	char c;
	int fd;

	make_log(f->file, 10);
	full = file_size(f->file);
	/* a byte in the 6th of 10 equal-size records */
	fd = open(f->file, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, 8 + (full - 8) / 10 * 5 + 20), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, 8 + (full - 8) / 10 * 5 + 20), 1);
	close(fd);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	assert_int_equal(count(sc), 5);
	sb_statcache_free(sc);

	/* garbage appended after a good log */
	unlink(f->file);
	make_log(f->file, 3);
	append_bytes(f->file, "\x10\x00\x00\x00garbage-garbage", 19);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	assert_int_equal(count(sc), 3);
	sb_statcache_free(sc);

	/* not a stat cache at all: empty */
	unlink(f->file);
	fd = open(f->file, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "hello, world\n", 13), 13);
	close(fd);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	assert_int_equal(count(sc), 0);
	sb_statcache_free(sc);
}

static void test_reset(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc;

	make_log(f->file, 5);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	sb_statcache_reset(sc);
	assert_int_equal(count(sc), 0);
	assert_int_equal(sb_statcache_save(sc), 0);
	sb_statcache_free(sc);
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	assert_int_equal(count(sc), 0);
	sb_statcache_free(sc);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 100,000 entries (Maildir-like paths) load well under a second. */
static void test_load_100k(void **state)
{
	struct fix *f = *state;
	struct sb_statcache *sc;
	struct sb_statcache_ent e;
	struct stat st = fake_stat(1, 1700000000);
	char p[160];
	double t;
	int i;

	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	for (i = 0; i < 100000; i++) {
		snprintf(p, sizeof(p),
			 "Kq3vX1bT9sQ-mZ8rW2yN4hL6jP0dF5gC7aE/"
			 "Tr5uY7iO9pA1sD3fG5hJ7kL9zX1cV3bN5mQ%06d", i);
		st.st_ino = (ino_t)i + 1;
		assert_int_equal(sb_statcache_put(sc, p, &st, OID_A), 0);
	}
	assert_int_equal(sb_statcache_save(sc), 0);
	sb_statcache_free(sc);
	t = now();
	assert_int_equal(sb_statcache_open(&sc, f->file), 0);
	t = now() - t;
	print_message("# 100000 entries (%ld bytes) loaded in %.3f s\n",
		      (long)file_size(f->file), t);
	assert_true(t < 0.5);
	assert_int_equal(count(sc), 100000);
	snprintf(p, sizeof(p),
		 "Kq3vX1bT9sQ-mZ8rW2yN4hL6jP0dF5gC7aE/"
		 "Tr5uY7iO9pA1sD3fG5hJ7kL9zX1cV3bN5mQ%06d", 77777);
	assert_int_equal(sb_statcache_get(sc, p, &e), 0);
	assert_int_equal(e.ino, 77778);
	sb_statcache_free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_put_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_prefix_and_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_del_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_is_append, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_100k, setup, teardown),
	};

	sb_crypto_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

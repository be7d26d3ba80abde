#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "fs/store.h"
#include "sync/changes.h"
#include "sync/watch.h"

/*
 * The store watcher: every kind of change gives its store path, store
 * temporaries and .git/ are skipped, new and renamed directories are
 * watched, batches are due after quiet_ms or max_ms, an overflow asks for
 * a scan, one watcher per process, stop wakes a waiter.
 */

/*
 * A directory moved out of the store and back in makes libinotifytools
 * allocate a watch record it never frees (inotify_add_watch returns the
 * wd it already has): a known leak of the library, not ours.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:create_watch\n";
}

#define QUIET 150
#define MAX 600

struct fix {
	char top[64];		/* holds root/ and out/ (outside the store) */
	char root[96];
	struct sb_watch *w;
	struct sb_changes *c;
};

static void pathf(char *buf, size_t size, const char *base, const char *rel)
{
	assert_true(snprintf(buf, size, "%s/%s", base, rel) < (int)size);
}

static void mk(struct fix *f, const char *rel)
{
	char p[PATH_MAX];

	pathf(p, sizeof(p), f->root, rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void put(struct fix *f, const char *rel, const char *text)
{
	char p[PATH_MAX];
	int fd;

	pathf(p, sizeof(p), f->root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void mv(struct fix *f, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	pathf(a, sizeof(a), f->root, from);
	pathf(b, sizeof(b), f->root, to);
	assert_int_equal(rename(a, b), 0);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int start_fix(struct fix *f, unsigned quiet, unsigned max)
{
	struct sb_watch_opts o = { quiet, max };

	return sb_watch_start(&f->w, f->root, &o);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	snprintf(f->top, sizeof(f->top), "/tmp/t-watch.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	pathf(f->root, sizeof(f->root), f->top, "root");
	assert_int_equal(mkdir(f->root, 0700), 0);
	mk(f, ".git");
	mk(f, "d");
	mk(f, "d/e");
	put(f, "d/a", "a");
	put(f, "top", "t");
	assert_int_equal(sb_changes_new(&f->c), 0);
	assert_int_equal(start_fix(f, QUIET, MAX), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	sb_watch_stop(f->w);
	sb_changes_free(f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

/* Waits for the batch and takes it, sorted. */
static void take(struct fix *f)
{
	sb_changes_clear(f->c);
	assert_int_equal(sb_watch_wait(f->w, 3000), 1);
	assert_int_equal(sb_watch_take(f->w, f->c), 0);
	sb_changes_sort(f->c);
}

static int has(const struct fix *f, const char *path)
{
	size_t i;

	for (i = 0; i < f->c->n; i++)
		if (!strcmp(f->c->paths[i], path))
			return 1;
	return 0;
}

/* Exactly these paths (NULL-terminated), no scan asked. */
static void expect(struct fix *f, ...)
{
	const char *p;
	size_t n = 0;
	va_list ap;

	take(f);
	va_start(ap, f);
	while ((p = va_arg(ap, const char *))) {
		if (!has(f, p))
			fail_msg("missing %s (%zu paths, first %s)", p,
				 f->c->n, f->c->n ? f->c->paths[0] : "-");
		n++;
	}
	va_end(ap);
	assert_int_equal(f->c->n, n);
	assert_int_equal(f->c->all, 0);
}

static void test_create_write(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX];
	int fd;

	put(f, "d/new", "hello");
	expect(f, "d/new", NULL);
	pathf(p, sizeof(p), f->root, "d/a");
	fd = open(p, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "more", 4), 4);
	assert_int_equal(close(fd), 0);
	expect(f, "d/a", NULL);
	put(f, "top", "x");
	expect(f, "top", NULL);

	/* opened for writing, only read (as the mount does): no change */
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, p, 4), 4);
	assert_int_equal(close(fd), 0);
	assert_int_equal(sb_watch_wait(f->w, QUIET + 300), 0);
}

static void test_rename_link_unlink(void **state)
{
	struct fix *f = *state;
	char a[PATH_MAX], b[PATH_MAX];

	mv(f, "d/a", "d/e/b");
	expect(f, "d/a", "d/e/b", NULL);
	pathf(a, sizeof(a), f->root, "d/e/b");
	pathf(b, sizeof(b), f->root, "d/l");
	assert_int_equal(link(a, b), 0);
	expect(f, "d/l", NULL);
	assert_int_equal(unlink(a), 0);
	expect(f, "d/e/b", NULL);
}

static void test_mkdir_rmdir(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX];

	mk(f, "d/x");
	expect(f, "d/x", NULL);
	pathf(p, sizeof(p), f->root, "d/x");
	assert_int_equal(rmdir(p), 0);
	expect(f, "d/x", NULL);
	/* the same name again gets a new watch */
	mk(f, "d/x");
	expect(f, "d/x", NULL);
	put(f, "d/x/m", "m");
	expect(f, "d/x/m", NULL);
}

static void test_attrs(void **state)
{
	struct fix *f = *state;
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char p[PATH_MAX];

	pathf(p, sizeof(p), f->root, "d/a");
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	expect(f, "d/a", NULL);
	assert_int_equal(chmod(p, 0640), 0);
	expect(f, "d/a", NULL);
	pathf(p, sizeof(p), f->root, "d/e");
	assert_int_equal(chmod(p, 0750), 0);
	expect(f, "d/e", NULL);
}

static void test_tmp_skipped(void **state)
{
	struct fix *f = *state;

	put(f, "d/" SB_STORE_TMP "0011", "draft");
	put(f, "d/e/" SB_STORE_TMP "0022", "draft");
	mv(f, "d/e/" SB_STORE_TMP "0022", "d/e/final");
	mv(f, "d/" SB_STORE_TMP "0011", "d/a");
	expect(f, "d/a", "d/e/final", NULL);
	/* a temporary directory renamed into place */
	mk(f, "d/" SB_STORE_TMP "0033");
	put(f, "d/" SB_STORE_TMP "0033/in", "x");
	mv(f, "d/" SB_STORE_TMP "0033", "d/t");
	expect(f, "d/t", NULL);
	put(f, "d/t/in2", "x");
	expect(f, "d/t/in2", NULL);
}

static void test_git_ignored(void **state)
{
	struct fix *f = *state;

	put(f, ".git/index", "x");
	mk(f, ".git/objects");
	put(f, ".git/objects/o", "x");
	assert_int_equal(sb_watch_wait(f->w, 2 * QUIET), 0);
	assert_int_equal(sb_watch_take(f->w, f->c), 0);
	assert_int_equal(f->c->n, 0);
	assert_int_equal(f->c->all, 0);
}

static void test_new_dirs(void **state)
{
	struct fix *f = *state;

	/* created faster than the watcher can add watches */
	mk(f, "n1");
	mk(f, "n1/n2");
	mk(f, "n1/n2/n3");
	put(f, "n1/n2/n3/f", "f");
	take(f);
	assert_true(has(f, "n1"));
	put(f, "n1/n2/n3/g", "g");
	expect(f, "n1/n2/n3/g", NULL);

	/* renamed: the watches below follow */
	mv(f, "n1", "d/m1");
	expect(f, "n1", "d/m1", NULL);
	put(f, "d/m1/n2/n3/h", "h");
	expect(f, "d/m1/n2/n3/h", NULL);
}

static void test_moved_out_and_in(void **state)
{
	struct fix *f = *state;
	char a[PATH_MAX], b[PATH_MAX];

	mk(f, "d/e/sub");
	expect(f, "d/e/sub", NULL);
	pathf(a, sizeof(a), f->root, "d/e");
	pathf(b, sizeof(b), f->top, "out");
	assert_int_equal(rename(a, b), 0);
	expect(f, "d/e", NULL);
	/* outside the store: not ours */
	pathf(a, sizeof(a), f->top, "out/sub/x");
	assert_int_equal(close(open(a, O_WRONLY | O_CREAT, 0600)), 0);
	assert_int_equal(sb_watch_wait(f->w, 1500), 0);
	/* back in under another name */
	pathf(a, sizeof(a), f->root, "back");
	assert_int_equal(rename(b, a), 0);
	expect(f, "back", NULL);
	put(f, "back/sub/y", "y");
	expect(f, "back/sub/y", NULL);
	/* a tree that was never watched, moved in */
	pathf(a, sizeof(a), f->top, "fresh");
	assert_int_equal(mkdir(a, 0700), 0);
	pathf(a, sizeof(a), f->top, "fresh/a");
	assert_int_equal(mkdir(a, 0700), 0);
	pathf(a, sizeof(a), f->top, "fresh/a/b");
	assert_int_equal(mkdir(a, 0700), 0);
	pathf(a, sizeof(a), f->top, "fresh");
	pathf(b, sizeof(b), f->root, "d/fresh");
	assert_int_equal(rename(a, b), 0);
	expect(f, "d/fresh", NULL);
	put(f, "d/fresh/a/b/z", "z");
	expect(f, "d/fresh/a/b/z", NULL);
}

static void test_quiet(void **state)
{
	struct fix *f = *state;
	uint64_t t0, dt;

	assert_int_equal(sb_watch_wait(f->w, 50), 0);
	assert_int_equal(sb_watch_busy(f->w), 0);
	t0 = ms_now();
	put(f, "d/a", "q");
	/* busy from the change on (what the sync service's fetch tick
	 * waits for), until the batch is taken */
	assert_int_equal(sb_watch_catch_up(f->w, 5000), 0);
	assert_int_equal(sb_watch_busy(f->w), 1);
	assert_int_equal(sb_watch_wait(f->w, -1), 1);
	dt = ms_now() - t0;
	assert_true(dt >= QUIET - 5);
	assert_true(dt < QUIET + 250);
	/* still due until taken */
	assert_int_equal(sb_watch_wait(f->w, 0), 1);
	assert_int_equal(sb_watch_busy(f->w), 1);
	assert_int_equal(sb_watch_take(f->w, f->c), 0);
	assert_int_equal(sb_watch_wait(f->w, 0), 0);
	assert_int_equal(sb_watch_busy(f->w), 0);
}

struct writer {
	struct fix *f;
	unsigned ms, every;
};

static void *write_loop(void *arg)
{
	struct writer *wr = arg;
	uint64_t end = ms_now() + wr->ms;
	char p[PATH_MAX];
	int fd;

	pathf(p, sizeof(p), wr->f->root, "d/a");
	fd = open(p, O_WRONLY | O_APPEND);
	while (fd >= 0 && ms_now() < end) {
		if (write(fd, "w", 1) != 1)
			break;
		sleep_ms(wr->every);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void test_max_under_writes(void **state)
{
	struct fix *f = *state;
	struct writer wr = { f, 3 * MAX, 50 };
	pthread_t t;
	uint64_t t0, dt;

	t0 = ms_now();
	assert_int_equal(pthread_create(&t, NULL, write_loop, &wr), 0);
	assert_int_equal(sb_watch_wait(f->w, 5000), 1);
	dt = ms_now() - t0;
	assert_int_equal(sb_watch_take(f->w, f->c), 0);
	sb_changes_sort(f->c);
	pthread_join(t, NULL);
	if (dt < MAX - 5 || dt > MAX + 300)
		fail_msg("batch due after %llu ms, want about %u",
			 (unsigned long long)dt, MAX);
	assert_int_equal(f->c->n, 1);
	assert_string_equal(f->c->paths[0], "d/a");
}

static void test_kick_timeout(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = ms_now();

	assert_int_equal(sb_watch_wait(f->w, 100), 0);
	assert_true(ms_now() - t0 >= 95);
	sb_watch_kick(f->w);
	assert_int_equal(sb_watch_wait(f->w, -1), 1);
	assert_int_equal(sb_watch_wait(f->w, 0), 0);
}

static void test_one_per_process(void **state)
{
	struct fix *f = *state;
	struct sb_watch *w2 = NULL;
	struct sb_watch_opts o = { 0, 0 };

	sb_err_clear();
	assert_int_equal(sb_watch_start(&w2, f->top, &o), -EBUSY);
	assert_null(w2);
	assert_non_null(strstr(sb_err_msg(-EBUSY), "already"));
	/* and a new one once the first stopped */
	sb_watch_stop(f->w);
	f->w = NULL;
	assert_int_equal(start_fix(f, QUIET, MAX), 0);
	put(f, "d/a", "again");
	expect(f, "d/a", NULL);
}

struct waiter {
	struct sb_watch *w;
	int rc;
};

static void *wait_thread(void *arg)
{
	struct waiter *wt = arg;

	wt->rc = sb_watch_wait(wt->w, -1);
	return NULL;
}

static void test_stop_while_waiting(void **state)
{
	struct fix *f = *state;
	struct waiter wt = { f->w, 0 };
	pthread_t t;
	uint64_t t0;

	assert_int_equal(pthread_create(&t, NULL, wait_thread, &wt), 0);
	sleep_ms(100);
	t0 = ms_now();
	sb_watch_stop(f->w);
	f->w = NULL;
	pthread_join(t, NULL);
	assert_int_equal(wt.rc, -ECANCELED);
	/* the wake pipe stops the thread without waiting out its timeout */
	assert_true(ms_now() - t0 < 500);
}

#define QUEUE_MAX "/proc/sys/fs/inotify/max_queued_events"

static int read_int(const char *path, int *v)
{
	FILE *fp = fopen(path, "r");
	int ok;

	if (!fp)
		return -1;
	ok = fscanf(fp, "%d", v) == 1;
	fclose(fp);
	return ok ? 0 : -1;
}

static int write_int(const char *path, int v)
{
	FILE *fp = fopen(path, "w");
	int ok;

	if (!fp)
		return -1;
	ok = fprintf(fp, "%d\n", v) > 0;
	return fclose(fp) || !ok ? -1 : 0;
}

static void test_overflow(void **state)
{
	struct fix *f = *state;
	char name[32], prev[32] = "d/a";
	int old, i, rc;

	if (geteuid() || read_int(QUEUE_MAX, &old)) {
		skip();	/* needs root to lower the queue limit */
		return;
	}
	sb_watch_stop(f->w);
	f->w = NULL;
	/*
	 * The limit is read when the inotify instance is created. With room
	 * for one event, a rename's MOVED_TO (queued right after its
	 * MOVED_FROM, within the same call) overflows the queue.
	 */
	if (write_int(QUEUE_MAX, 1)) {
		skip();
		return;
	}
	rc = start_fix(f, QUIET, MAX);
	if (write_int(QUEUE_MAX, old))
		fail_msg("could not restore " QUEUE_MAX " to %d", old);
	assert_int_equal(rc, 0);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "d/o%d", i);
		mv(f, prev, name);
		memcpy(prev, name, sizeof(prev));
	}
	take(f);
	assert_int_equal(f->c->all, 1);
}

/*
 * The watcher reads events in batches after a pause: a change made just
 * before sb_watch_catch_up() must be in the next take without waiting,
 * also with catch-ups from several threads at once.
 */
static void *catch_up_loop(void *arg)
{
	struct fix *f = arg;
	int i;

	for (i = 0; i < 50; i++)
		if (sb_watch_catch_up(f->w, 5000))
			return (void *)1;
	return NULL;
}

static void test_catch_up(void **state)
{
	struct fix *f = *state;
	char name[32];
	pthread_t th;
	void *bad;
	int i;

	assert_int_equal(pthread_create(&th, NULL, catch_up_loop, f), 0);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "d/c%d", i);
		put(f, name, "x");
		assert_int_equal(sb_watch_catch_up(f->w, 5000), 0);
		sb_changes_clear(f->c);
		assert_int_equal(sb_watch_take(f->w, f->c), 0);
		if (!has(f, name))
			fail_msg("%s missing after the catch-up (round %d)",
				 name, i);
	}
	assert_int_equal(pthread_join(th, &bad), 0);
	assert_null(bad);
}

/* Sorting a set: unique, and nothing below a path of the set. */
static void test_sort_prunes(void **state)
{
	static const char *in[] = { "d/a/x", "d/a", "d-b/c", "d/a", "e",
				    "d/ab/c", "d/a/y/z", "f/g", "/e/h" };
	static const char *out[] = { "d-b/c", "d/a", "d/ab/c", "e", "f/g" };
	struct sb_changes *c;
	size_t i;

	(void)state;
	assert_int_equal(sb_changes_new(&c), 0);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(sb_changes_add(c, in[i]), 0);
	sb_changes_sort(c);
	assert_int_equal(c->n, sizeof(out) / sizeof(out[0]));
	for (i = 0; i < c->n; i++)
		assert_string_equal(c->paths[i], out[i]);

	/* the root ("/" or "") stands for everything */
	assert_int_equal(sb_changes_add(c, "/"), 0);
	sb_changes_sort(c);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->paths[0], "");
	sb_changes_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rename_link_unlink, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_rmdir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_git_ignored, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_new_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_out_and_in, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_under_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kick_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_one_per_process, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_waiting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_up, setup, teardown),
		cmocka_unit_test(test_sort_prunes),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

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
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/secrets.h"
#include "fs/fs.h"
#include "fs/store.h"

/*
 * The mount in this process (a serving thread): the store seen through
 * FUSE, directory renames re-encrypting a subtree, long names, and
 * sb_fs_invalidate() making changes written to the store underneath
 * visible at once despite long cache timeouts. Needs /dev/fuse and root
 * (skipped otherwise).
 */

struct fix {
	char root[64];
	char mnt[64];
	struct sb_store *st;
	struct sb_fs *fs;
	pthread_t thread;
};

static struct fix fx;

static void *serve(void *arg)
{
	sb_fs_run(arg);
	return NULL;
}

static int setup(void **state)
{
	uint8_t buf[37 + 32] = { 1, 0, 0, 0, 1 };
	struct sb_secrets *s = NULL;

	memset(buf + 5, 0x11, 32);
	memset(buf + 37, 0x22, 32);
	if (access("/dev/fuse", R_OK | W_OK) || geteuid() != 0)
		return -1;
	snprintf(fx.root, sizeof(fx.root), "/tmp/t-fs-store.XXXXXX");
	snprintf(fx.mnt, sizeof(fx.mnt), "/tmp/t-fs-mnt.XXXXXX");
	if (!mkdtemp(fx.root) || !mkdtemp(fx.mnt) ||
	    sb_secrets_parse(&s, buf, sizeof(buf)) ||
	    sb_store_open(&fx.st, fx.root, s))
		return -1;
	sb_secrets_free(s);
	if (sb_store_mkdir(fx.st, "mail/cur", 0700) ||
	    sb_fs_new(&fx.fs, fx.st, fx.mnt, "timeout=3600,threads=4", NULL) ||
	    pthread_create(&fx.thread, NULL, serve, fx.fs))
		return -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	umount2(fx.mnt, MNT_DETACH);
	pthread_join(fx.thread, NULL);
	sb_fs_free(fx.fs);
	sb_store_free(fx.st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", fx.root, fx.mnt);
	return system(cmd) ? -1 : 0;
}

static const char *mp(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", fx.mnt, rel);
	return b;
}

static void put(const char *rel, const char *s)
{
	int fd = open(mp(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	assert_int_equal(close(fd), 0);
}

static void expect(const char *rel, const char *s)
{
	char buf[256];
	int fd = open(mp(rel), O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)strlen(s));
	assert_memory_equal(buf, s, n);
}

static void test_store_through_mount(void **state)
{
	uint8_t *out;
	size_t len;
	struct stat sb;

	assert_int_equal(stat(mp("mail/cur"), &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	put("mail/cur/m1", "hello");
	expect("mail/cur/m1", "hello");
	/* What the mount wrote, the store reads (and the reverse). */
	assert_int_equal(sb_store_read_file(fx.st, "mail/cur/m1", &out, &len,
					    NULL), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
}

static void test_dir_rename(void **state)
{
	char name[256];
	char path[PATH_MAX];
	struct stat sb;

	memset(name, 'L', 255);
	name[255] = '\0';
	assert_int_equal(mkdir(mp("f1"), 0755), 0);
	assert_int_equal(mkdir(mp("f1/sub"), 0755), 0);
	put("f1/sub/deep", "deep");
	snprintf(path, sizeof(path), "f1/%s", name);
	put(path, "long");
	assert_int_equal(rename(mp("f1"), mp("mail/f2")), 0);
	assert_int_equal(stat(mp("f1"), &sb), -1);
	assert_int_equal(errno, ENOENT);
	expect("mail/f2/sub/deep", "deep");
	snprintf(path, sizeof(path), "mail/f2/%s", name);
	expect(path, "long");
	assert_int_equal(stat(mp("mail/f2/sub"), &sb), 0);
	assert_int_equal(sb.st_nlink, 2);
	/* The store agrees, by plaintext path. */
	assert_int_equal(sb_store_stat(fx.st, "mail/f2/sub/deep", &sb), 0);
	assert_int_equal(sb.st_size, 4);
}

static void test_invalidate(void **state)
{
	struct stat sb;

	/* Cached as absent, then written underneath (as sync does). */
	assert_int_equal(stat(mp("mail/cur/new1"), &sb), -1);
	expect("mail/cur/m1", "hello");
	assert_int_equal(sb_store_write_file(fx.st, "mail/cur/new1", "new", 3,
					     0644, NULL), 0);
	assert_int_equal(sb_store_write_file(fx.st, "mail/cur/m1", "changed",
					     7, 0644, NULL), 0);
	sb_fs_invalidate(fx.fs, "mail/cur/new1");
	sb_fs_invalidate(fx.fs, "mail/cur/m1");
	expect("mail/cur/new1", "new");
	expect("mail/cur/m1", "changed");
	assert_int_equal(sb_store_unlink(fx.st, "mail/cur/new1"), 0);
	sb_fs_invalidate(fx.fs, "mail/cur/new1");
	assert_int_equal(stat(mp("mail/cur/new1"), &sb), -1);
	assert_int_equal(errno, ENOENT);
}

/* Whether rel's header (what sync carries) gets the mtime want. */
static int header_mtime_is(const char *rel, const struct timespec *want)
{
	struct sb_meta meta;
	uint8_t *out;
	size_t len;
	int i;

	for (i = 0; i < 300; i++) {	/* RELEASE is not waited for */
		if (!sb_store_read_file(fx.st, rel, &out, &len, &meta)) {
			free(out);
			if (meta.mtime_sec == want->tv_sec &&
			    meta.mtime_nsec == (uint32_t)want->tv_nsec)
				return 1;
		}
		usleep(10000);
	}
	return 0;
}

/* The header's mtime follows the file's: set while open, appends, set
 * on a closed file. */
static void test_header_mtime(void **state)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1500000000, 123456789 } };
	struct stat sb;
	int fd, i;

	fd = open(mp("mail/cur/t1"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(futimens(fd, ts), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(stat(mp("mail/cur/t1"), &sb), 0);
	assert_int_equal(sb.st_mtim.tv_sec, ts[1].tv_sec);
	assert_int_equal(sb.st_mtim.tv_nsec, ts[1].tv_nsec);
	assert_true(header_mtime_is("mail/cur/t1", &ts[1]));

	for (i = 0; i < 50; i++) {
		fd = open(mp("mail/cur/t1"), O_WRONLY | O_APPEND);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "x", 1), 1);
		assert_int_equal(close(fd), 0);
	}
	assert_int_equal(stat(mp("mail/cur/t1"), &sb), 0);
	assert_int_equal(sb.st_size, 53);
	assert_true(sb.st_mtim.tv_sec > ts[1].tv_sec);
	assert_true(header_mtime_is("mail/cur/t1", &sb.st_mtim));

	ts[1].tv_sec = 1400000000;
	assert_int_equal(utimensat(AT_FDCWD, mp("mail/cur/t1"), ts, 0), 0);
	assert_true(header_mtime_is("mail/cur/t1", &ts[1]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_through_mount),
		cmocka_unit_test(test_dir_rename),
		cmocka_unit_test(test_invalidate),
		cmocka_unit_test(test_header_mtime),
	};

	if (sb_crypto_init(0))
		return 1;
	if (access("/dev/fuse", R_OK | W_OK) || geteuid() != 0) {
		printf("1..0 # SKIP needs /dev/fuse and root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "tests/unit/util.h"

/* The store API: mkdir -p, atomic writes, reads, paths, walk/damage. */

#define MARK "PLAINTEXT-MARKER-7f3a"

struct fix {
	char root[64];
	struct sb_store *st;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sb_secrets *s = fixed_secrets();

	snprintf(f->root, sizeof(f->root), "/tmp/t-store.XXXXXX");
	assert_non_null(mkdtemp(f->root));
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

static void test_mkdir_p(void **state)
{
	struct fix *f = *state;
	struct stat sb;

	assert_int_equal(sb_store_mkdir(f->st, "mail/cur", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->st, "mail/cur", 0700), 0);
	assert_int_equal(sb_store_mkdir(f->st, "/mail//new/", 0700), 0);
	assert_int_equal(sb_store_stat(f->st, "mail/cur", &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb_store_stat(f->st, "mail", &sb), 0);
	assert_int_equal(sb.st_nlink, 4);
	assert_int_equal(sb_store_stat(f->st, "nope", &sb), -ENOENT);
	assert_int_equal(sb_store_mkdir(f->st, "a/../b", 0700), -EINVAL);
}

static void test_write_read(void **state)
{
	struct fix *f = *state;
	struct timespec mt = { 1500000000, 123456789 };
	size_t sizes[] = { 0, 1, 4095, 4096, 4097, 100000 };
	struct sb_meta meta;
	struct stat sb;
	uint8_t *in, *out;
	size_t i, len;

	assert_int_equal(sb_store_mkdir(f->st, "d", 0755), 0);
	in = malloc(100000);
	for (i = 0; i < 100000; i++)
		in[i] = (uint8_t)(i * 7);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(sb_store_write_file(f->st, "d/f", in, sizes[i],
						     0640, &mt), 0);
		assert_int_equal(sb_store_read_file(f->st, "d/f", &out, &len,
						    &meta), 0);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(out, in, len);
		assert_int_equal(meta.mtime_sec, mt.tv_sec);
		assert_int_equal(meta.mtime_nsec, mt.tv_nsec);
		free(out);
		assert_int_equal(sb_store_stat(f->st, "d/f", &sb), 0);
		assert_int_equal(sb.st_size, sizes[i]);
		assert_int_equal(sb.st_mtim.tv_sec, mt.tv_sec);
		assert_int_equal(sb.st_mtim.tv_nsec, mt.tv_nsec);
		assert_int_equal(sb.st_mode & 07777, 0640);
	}
	free(in);
	assert_int_equal(sb_store_write_file(f->st, "nodir/f", "x", 1, 0644,
					     NULL), -ENOENT);
}

/* Names up to 255 bytes (sidecars), 256 refused, paths both ways. */
static void test_names(void **state)
{
	struct fix *f = *state;
	char name[300], path[PATH_MAX], back[PATH_MAX], plain[PATH_MAX];
	uint8_t *out;
	size_t len;

	memset(name, 'n', 255);
	name[255] = '\0';
	assert_int_equal(sb_store_mkdir(f->st, name, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s", name, "msg:2,S!=;#+@");
	assert_int_equal(sb_store_write_file(f->st, path, "hi", 2, 0644,
					     NULL), 0);
	assert_int_equal(sb_store_read_file(f->st, path, &out, &len, NULL), 0);
	assert_int_equal(len, 2);
	free(out);
	assert_int_equal(sb_store_backing_path(f->st, back, sizeof(back),
					       path), 0);
	assert_null(strstr(back, "msg"));
	assert_int_equal(sb_store_plain_path(f->st, plain, sizeof(plain),
					     back), 0);
	assert_string_equal(plain, path);
	name[255] = 'x';
	name[256] = '\0';
	assert_int_equal(sb_store_mkdir(f->st, name, 0755), -ENAMETOOLONG);
}

static void test_unlink_rmdir(void **state)
{
	struct fix *f = *state;
	struct stat sb;

	assert_int_equal(sb_store_mkdir(f->st, "x/y", 0755), 0);
	assert_int_equal(sb_store_write_file(f->st, "x/y/z", "z", 1, 0644,
					     NULL), 0);
	assert_int_equal(sb_store_rmdir(f->st, "x/y"), -ENOTEMPTY);
	assert_int_equal(sb_store_unlink(f->st, "x/y"), -EISDIR);
	assert_int_equal(sb_store_unlink(f->st, "x/y/z"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "x/y"), 0);
	assert_int_equal(sb_store_stat(f->st, "x/y", &sb), -ENOENT);
	assert_int_equal(sb_store_stat(f->st, "x", &sb), 0);
	assert_int_equal(sb.st_nlink, 2);
}

/* Greps every backing file for needle (a minimal grep -r). */
static int tree_has(const char *dir, const char *needle)
{
	char path[PATH_MAX], buf[1 << 16];
	struct dirent *de;
	int found = 0, fd;
	ssize_t n;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strstr(de->d_name, needle))
			found = 1;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			found = tree_has(path, needle);
			continue;
		}
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			found = memmem(buf, (size_t)n, needle,
				       strlen(needle)) != NULL;
		}
		close(fd);
	}
	closedir(d);
	return found;
}

static void test_no_plaintext(void **state)
{
	struct fix *f = *state;

	assert_int_equal(sb_store_mkdir(f->st, MARK "-dir", 0755), 0);
	assert_int_equal(sb_store_write_file(f->st, MARK "-dir/" MARK,
					     MARK, strlen(MARK), 0644,
					     NULL), 0);
	assert_false(tree_has(f->root, MARK));
	assert_false(tree_has(f->root, "PLAINTEXT"));
}

struct seen {
	int entries;
	int damaged;
	char last[PATH_MAX];
};

static int count(const struct sb_store_entry *e, void *arg)
{
	struct seen *s = arg;

	s->entries++;
	if (e->error) {
		s->damaged++;
		snprintf(s->last, sizeof(s->last), "%s", e->path);
	}
	return 0;
}

static void flip(const char *root, const char *backing, off_t off)
{
	char path[PATH_MAX + 64];
	uint8_t c;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, backing);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void test_walk_damage(void **state)
{
	struct fix *f = *state;
	char back[PATH_MAX];
	struct seen s = { 0, 0, "" };
	uint8_t *big = calloc(1, 20000), *out;
	size_t len;

	assert_int_equal(sb_store_mkdir(f->st, "w/sub", 0755), 0);
	assert_int_equal(sb_store_write_file(f->st, "w/sub/a", big, 20000,
					     0644, NULL), 0);
	assert_int_equal(sb_store_write_file(f->st, "w/b", "b", 1, 0644,
					     NULL), 0);
	assert_int_equal(sb_store_walk(f->st, 1, count, &s), 0);
	assert_int_equal(s.entries, 4);
	assert_int_equal(s.damaged, 0);
	assert_int_equal(sb_store_backing_path(f->st, back, sizeof(back),
					       "w/sub/a"), 0);
	flip(f->root, back, 5000);
	memset(&s, 0, sizeof(s));
	assert_int_equal(sb_store_walk(f->st, 1, count, &s), 0);
	assert_int_equal(s.damaged, 1);
	assert_string_equal(s.last, "w/sub/a");
	assert_int_equal(sb_store_read_file(f->st, "w/sub/a", &out, &len,
					    NULL), SB_EAUTH);
	assert_int_equal(sb_store_read_file(f->st, "w/b", &out, &len, NULL),
			 0);
	free(out);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_rmdir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_walk_damage, setup,
						teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

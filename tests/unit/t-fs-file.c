#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/secrets.h"
#include "fs/backing.h"
#include "fs/file.h"

/*
 * Block I/O of an open content file (fs/file.c), against a plain buffer:
 * writes at any offset (partial blocks, across blocks, past the end with
 * a zero-filled gap), appends, truncates both ways, reads, and damage;
 * writes with blocks sealed ahead (sb_ofile_write_begin), also when the
 * file changed between sealing and writing and from several threads;
 * writes in flight taking the lock in file order.
 */

#define MAXSZ (8 * 1024 * 1024)

struct fix {
	char root[64];
	struct sb_store *st;
	struct sb_ofile of;
	uint8_t *mirror;
	uint64_t size;
};

static int setup(void **state)
{
	uint8_t buf[37 + 32] = { 1, 0, 0, 0, 1 };
	struct fix *f = calloc(1, sizeof(*f));
	struct sb_secrets *s = NULL;
	struct sb_meta meta = { 1, 2 };
	char path[128];
	int fd;

	memset(buf + 5, 0x11, 32);
	memset(buf + 37, 0x22, 32);
	snprintf(f->root, sizeof(f->root), "/tmp/t-fs-file.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(sb_secrets_parse(&s, buf, sizeof(buf)), 0);
	assert_int_equal(sb_store_open(&f->st, f->root, s), 0);
	sb_secrets_free(s);
	snprintf(path, sizeof(path), "%s/file", f->root);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(sb_ofile_create(&f->of, f->st, fd, &meta), 0);
	f->mirror = calloc(1, MAXSZ);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	sb_ofile_release(&f->of);
	sb_store_free(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	free(f->mirror);
	free(f);
	return system(cmd) ? -1 : 0;
}

/* The whole file reads back as the mirror, and its backing size fits. */
static void check(struct fix *f)
{
	const uint8_t *p;
	uint64_t off = 0, plain, bad;
	struct stat sb;
	size_t n;

	assert_int_equal(f->of.size, f->size);
	while (off < f->size) {
		assert_int_equal(sb_ofile_read(&f->of, &p, &n, 65536, off), 0);
		assert_true(n > 0);
		assert_memory_equal(p, f->mirror + off, n);
		off += n;
	}
	assert_int_equal(sb_ofile_read(&f->of, &p, &n, 10, f->size), 0);
	assert_int_equal(n, 0);
	assert_int_equal(fstat(f->of.fd, &sb), 0);
	assert_int_equal(sb_content_plain_size(&plain, (uint64_t)sb.st_size),
			 0);
	assert_int_equal(plain, f->size);
	assert_int_equal(sb_ofile_verify(&f->of, &bad), 0);
}

static void put(struct fix *f, uint64_t off, size_t len, uint8_t seed)
{
	uint8_t *data = malloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(seed + i * 13);
	assert_int_equal(sb_ofile_write(&f->of, data, len, off), 0);
	memcpy(f->mirror + off, data, len);
	if (off + len > f->size)
		f->size = off + len;
	free(data);
	check(f);
}

static uint8_t *pattern(size_t len, uint8_t seed)
{
	uint8_t *data = malloc(len);
	size_t i;

	assert_non_null(data);
	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(seed + i * 7 + (i >> 12));
	return data;
}

static void note(struct fix *f, const uint8_t *data, size_t len,
		 uint64_t off)
{
	memcpy(f->mirror + off, data, len);
	if (off + len > f->size)
		f->size = off + len;
}

/* A write sealed ahead of n blocks (0: none), written as it comes. */
static void put_sealed(struct fix *f, uint64_t off, size_t len, uint8_t seed,
		       size_t n)
{
	uint8_t *data = pattern(len, seed);
	struct sb_owrite ow;

	assert_int_equal(sb_ofile_write_begin(&f->of, &ow, data, len, off), 0);
	assert_int_equal(ow.n, n);
	assert_int_equal(sb_ofile_write_sealed(&f->of, &ow, data, len, off),
			 0);
	sb_ofile_write_end(&f->of, &ow);
	assert_null(ow.c);
	assert_null(f->of.writes);
	note(f, data, len, off);
	free(data);
	check(f);
}

static void cut(struct fix *f, uint64_t size)
{
	assert_int_equal(sb_ofile_truncate(&f->of, size), 0);
	if (size < f->size)
		memset(f->mirror + size, 0, f->size - size);
	f->size = size;
	check(f);
}

static void test_writes(void **state)
{
	struct fix *f = *state;

	check(f);
	put(f, 0, 10, 1);		/* inside the empty last block */
	put(f, 10, 4086, 2);		/* fills block 0 exactly */
	put(f, 4096, 1, 3);		/* append: block 0 stops being last */
	put(f, 100, 9000, 4);		/* across blocks, growing */
	put(f, 50000, 123, 5);		/* past the end: a gap of zeros */
	put(f, 4095, 2, 6);		/* across a block boundary in place */
	put(f, 20000, 70000, 7);	/* 17 blocks, one pwrite */
	put(f, 0, 150000, 8);		/* over 64 blocks: two pwrites */
}

static void test_truncate(void **state)
{
	struct fix *f = *state;

	put(f, 0, 20000, 9);
	cut(f, 12288);			/* to a block boundary */
	cut(f, 5000);			/* into a block */
	cut(f, 30000);			/* up: zeros */
	cut(f, 0);
	cut(f, 4096);
	put(f, 4096, 10, 10);
	cut(f, 1);
}

static void test_sealed(void **state)
{
	struct fix *f = *state;
	uint8_t *x, *y;
	struct sb_owrite ax, ay;

	put_sealed(f, 0, 300000, 1, 73);	/* blocks 0..72; 73 is last */
	put_sealed(f, 5000, 200000, 2, 48);	/* in place, unaligned */
	put_sealed(f, 300000, 131072, 3, 31);	/* append, unaligned */
	put_sealed(f, 434176, 131072, 4, 31);	/* gap, then aligned */
	put_sealed(f, 565248, 65536, 5, 0);	/* 15 inner blocks: too few */
	put_sealed(f, 630784, 1572864, 6, 256);	/* the rest under the lock */
	put_sealed(f, 4096, 1048576, 7, 255);	/* ends at a block's end */
	/* sealed for one size, written after the file changed: the later
	 * range first, so that the earlier one lands inside the file */
	x = pattern(524288, 8);
	y = pattern(524288, 9);
	assert_int_equal(sb_ofile_write_begin(&f->of, &ax, x, 524288,
					      3145728), 0);
	assert_int_equal(sb_ofile_write_begin(&f->of, &ay, y, 524288,
					      3670016), 0);
	assert_int_equal(sb_ofile_write_sealed(&f->of, &ay, y, 524288,
					       3670016), 0);
	note(f, y, 524288, 3670016);
	check(f);
	assert_int_equal(sb_ofile_write_sealed(&f->of, &ax, x, 524288,
					       3145728), 0);
	note(f, x, 524288, 3145728);
	check(f);
	/* sealed for another range: not used */
	assert_int_equal(sb_ofile_write_sealed(&f->of, &ax, y, 524288,
					       1000000), 0);
	note(f, y, 524288, 1000000);
	check(f);
	sb_ofile_write_end(&f->of, &ax);
	sb_ofile_write_end(&f->of, &ay);
	assert_null(f->of.writes);
	free(x);
	free(y);
}

#define WRITERS 20	/* more than the shared buffers (16) */

struct writer {
	struct fix *f;
	uint64_t off;
	size_t len;
	uint8_t *data;
	int rc;
	uint64_t seen;		/* the file's size when it had the lock */
};

/* As the file system's write: seal without the lock, write under it. */
static void *writer_run(void *arg)
{
	struct writer *w = arg;
	struct sb_owrite ow;

	w->rc = sb_ofile_write_begin(&w->f->of, &ow, w->data, w->len, w->off);
	sb_ofile_write_lock(&w->f->of, &ow);
	w->seen = w->f->of.size;
	if (!w->rc)
		w->rc = sb_ofile_write_sealed(&w->f->of, &ow, w->data, w->len,
					      w->off);
	pthread_rwlock_unlock(&w->f->of.lock);
	sb_ofile_write_end(&w->f->of, &ow);
	return NULL;
}

/* More writers than shared buffers, on neighbouring ranges of a growing
 * file, in whatever order the threads run. */
static void test_sealed_threads(void **state)
{
	struct fix *f = *state;
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	int i, round;

	for (round = 0; round < 4; round++) {
		for (i = 0; i < WRITERS; i++) {
			w[i] = (struct writer){ f, 0, 0, NULL, 0, 0 };
			w[i].len = 262144 + (size_t)round * 1000;
			w[i].off = (uint64_t)i * w[i].len + (uint64_t)round * 7;
			w[i].data = pattern(w[i].len, (uint8_t)(round * 16 + i));
			assert_int_equal(pthread_create(&th[i], NULL,
							writer_run, &w[i]), 0);
		}
		for (i = 0; i < WRITERS; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(w[i].rc, 0);
		}
		for (i = 0; i < WRITERS; i++) {
			note(f, w[i].data, w[i].len, w[i].off);
			free(w[i].data);
		}
		check(f);
	}
}

/* Waits at most 10 s for th; 0 when it ended. */
static int join_within(pthread_t th)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	return pthread_timedjoin_np(th, NULL, &ts);
}

/*
 * A write past the end waits for a write in flight that fills its gap,
 * and only for such a write: the lower one is not waiting for its buffer
 * (it holds it), and one inside the file or starting higher does not
 * count.
 */
static void test_write_order(void **state)
{
	struct fix *f = *state;
	uint8_t *x = pattern(262144, 21), *y = pattern(262144, 22);
	struct writer wy = { f, 262144, 262144, y, 0, 0 };
	struct writer wz = { f, 2097152, 100, x, 0, 0 };
	struct sb_owrite ox, oi;
	pthread_t th;

	/* y past the end of the empty file, x before it: y goes second */
	assert_int_equal(sb_ofile_write_begin(&f->of, &ox, x, 262144, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, writer_run, &wy), 0);
	usleep(100000);
	sb_ofile_write_lock(&f->of, &ox);
	assert_int_equal(f->of.size, 0);
	assert_int_equal(sb_ofile_write_sealed(&f->of, &ox, x, 262144, 0), 0);
	pthread_rwlock_unlock(&f->of.lock);
	sb_ofile_write_end(&f->of, &ox);
	assert_int_equal(join_within(th), 0);
	assert_int_equal(wy.rc, 0);
	assert_int_equal(wy.seen, 262144);
	note(f, x, 262144, 0);
	note(f, y, 262144, 262144);
	check(f);

	/* a write in flight inside the file does not hold up one past
	 * the end, which fills its gap with zeros */
	assert_int_equal(sb_ofile_write_begin(&f->of, &oi, y, 100, 1000), 0);
	assert_int_equal(pthread_create(&th, NULL, writer_run, &wz), 0);
	assert_int_equal(join_within(th), 0);
	assert_int_equal(wz.rc, 0);
	assert_int_equal(wz.seen, 524288);
	sb_ofile_write_lock(&f->of, &oi);
	assert_int_equal(sb_ofile_write_sealed(&f->of, &oi, y, 100, 1000), 0);
	pthread_rwlock_unlock(&f->of.lock);
	sb_ofile_write_end(&f->of, &oi);
	note(f, x, 100, 2097152);
	note(f, y, 100, 1000);
	check(f);
	assert_null(f->of.writes);
	free(x);
	free(y);
}

static void test_damage(void **state)
{
	struct fix *f = *state;
	const uint8_t *p;
	uint64_t bad = 0;
	uint8_t c;
	size_t n;
	off_t off;

	put(f, 0, 3 * 4096 + 10, 11);
	off = (off_t)sb_content_block_offset(1) + 100;
	assert_int_equal(pread(f->of.fd, &c, 1, off), 1);
	c ^= 1;
	assert_int_equal(pwrite(f->of.fd, &c, 1, off), 1);
	assert_int_equal(sb_ofile_verify(&f->of, &bad), SB_EAUTH);
	assert_int_equal(bad, 1);
	assert_int_equal(sb_ofile_read(&f->of, &p, &n, 100, 4096 + 5),
			 SB_EAUTH);
	assert_int_equal(sb_ofile_read(&f->of, &p, &n, 100, 0), 0);
	assert_memory_equal(p, f->mirror, 100);
	assert_int_equal(sb_ofile_read(&f->of, &p, &n, 100, 8192), 0);
	assert_memory_equal(p, f->mirror + 8192, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_threads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_order, setup,
						teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

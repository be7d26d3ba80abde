/*
 * sb_cfile_decrypt_shared (crypto/content.c): threads decrypting blocks of
 * the same files at once, each with its own cipher handle, must get the
 * same plaintext as sb_cfile_decrypt_block; a thread moving between files
 * must re-key (also when a freed file's memory is reused by the next);
 * tampering must fail as it does for sb_cfile_decrypt_block.
 * sb_cfile_encrypt_shared: blocks sealed by several threads at once open
 * with the file's own handle, bound to their index and last flag, under
 * nonces that never repeat (also across fork()).
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/content.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/secrets.h"
#include "tests/unit/util.h"

#define HDR SB_CONTENT_HEADER
#define CB SB_CONTENT_CBLOCK
#define OV SB_CONTENT_OVERHEAD
#define BS SB_CONTENT_BLOCK
#define NBLOCKS 48
#define NFILES 3
#define NTHREADS 4
#define ROUNDS 40

static const struct sb_meta meta1 = { 1700000000, 5 };

/* One sealed file: NBLOCKS full blocks, the last one 100 bytes. */
struct sealed {
	struct sb_cfile *cf;
	uint8_t *plain;
	size_t plen;
	uint8_t *cipher;	/* body only: NBLOCKS ciphertext blocks */
};

static struct sb_content_keys *keys_make(uint8_t seed)
{
	struct sb_content_keys *k = NULL;
	struct sb_secrets *s = keyed_secrets(seed, (uint8_t)(seed + 1));

	assert_int_equal(sb_content_keys_new(&k, s), 0);
	sb_secrets_free(s);
	return k;
}

static size_t blen(const struct sealed *f, uint64_t b)
{
	size_t start = (size_t)b * BS;

	return f->plen - start < BS ? f->plen - start : BS;
}

static size_t coff(uint64_t b)
{
	return (size_t)b * CB;
}

static void sealed_make(struct sealed *f, const struct sb_content_keys *k,
			uint8_t seed)
{
	uint8_t header[HDR];
	size_t i;
	uint64_t b;

	f->plen = (NBLOCKS - 1) * (size_t)BS + 100;
	f->plain = malloc(f->plen);
	f->cipher = malloc(NBLOCKS * (size_t)CB);
	assert_non_null(f->plain);
	assert_non_null(f->cipher);
	for (i = 0; i < f->plen; i++)
		f->plain[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
	assert_int_equal(sb_cfile_create(&f->cf, k, &meta1, header), 0);
	for (b = 0; b < NBLOCKS; b++)
		assert_int_equal(sb_cfile_encrypt_block(f->cf, b,
							b == NBLOCKS - 1,
							f->plain + b * BS,
							blen(f, b),
							f->cipher + coff(b)),
				 0);
}

static void sealed_free(struct sealed *f)
{
	sb_cfile_free(f->cf);
	free(f->plain);
	free(f->cipher);
}

/* Decrypts block b of f with the shared call and compares. */
static int check_block(const struct sealed *f, uint64_t b, uint8_t *out)
{
	size_t len = blen(f, b);
	int rc = sb_cfile_decrypt_shared(f->cf, b, b == NBLOCKS - 1,
					 f->cipher + coff(b), len + OV, out);

	if (rc)
		return rc;
	return memcmp(out, f->plain + b * BS, len) ? -1 : 0;
}

struct job {
	struct sealed *files;
	unsigned seed;
	int bad;
};

/* Runs of blocks from changing files: every switch re-keys. */
static void *job_run(void *arg)
{
	struct job *j = arg;
	uint8_t out[BS];
	unsigned r, x = j->seed;
	uint64_t b;

	for (r = 0; r < ROUNDS; r++) {
		struct sealed *f = &j->files[(r + j->seed) % NFILES];

		x = x * 1103515245u + 12345u;
		for (b = x % 8; b < NBLOCKS; b += 1 + (x >> 16) % 5)
			if (check_block(f, b, out))
				j->bad++;
	}
	return NULL;
}

static void test_threads_same_files(void **state)
{
	struct sb_content_keys *k = keys_make(3);
	struct sealed files[NFILES];
	struct job jobs[NTHREADS];
	pthread_t th[NTHREADS];
	int i;

	(void)state;
	for (i = 0; i < NFILES; i++)
		sealed_make(&files[i], k, (uint8_t)(i + 1));
	for (i = 0; i < NTHREADS; i++) {
		jobs[i].files = files;
		jobs[i].seed = (unsigned)i + 1;
		jobs[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, job_run,
						&jobs[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].bad, 0);
	}
	for (i = 0; i < NFILES; i++)
		sealed_free(&files[i]);
	sb_content_keys_free(k);
}

/* The same thread on a new file after the old one was freed: the new
 * one must be decrypted with its own key, not the handle's last one. */
static void test_rekey_after_free(void **state)
{
	struct sb_content_keys *k = keys_make(9);
	uint8_t out[BS];
	struct sealed a, b;
	int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		sealed_make(&a, k, (uint8_t)(2 * i));
		assert_int_equal(check_block(&a, 1, out), 0);
		sealed_free(&a);
		sealed_make(&b, k, (uint8_t)(2 * i + 1));
		assert_int_equal(check_block(&b, 1, out), 0);
		assert_int_equal(check_block(&b, NBLOCKS - 1, out), 0);
		sealed_free(&b);
	}
	sb_content_keys_free(k);
}

static void test_tamper(void **state)
{
	struct sb_content_keys *k = keys_make(20);
	struct sealed f, g;
	uint8_t out[BS];
	size_t i;

	(void)state;
	sealed_make(&f, k, 1);
	sealed_make(&g, k, 2);
	/* a flipped bit in nonce, body and tag: refused and wiped */
	for (i = 0; i < CB; i += 97) {
		f.cipher[coff(2) + i] ^= 0x10;
		memset(out, 0xa5, sizeof(out));
		assert_int_equal(check_block(&f, 2, out), SB_EAUTH);
		assert_true(out[0] == 0 && out[BS - 1] == 0);
		f.cipher[coff(2) + i] ^= 0x10;
	}
	assert_int_equal(check_block(&f, 2, out), 0);
	/* the block at another index, as the last block, or of another
	 * file with the same index */
	assert_int_equal(sb_cfile_decrypt_shared(f.cf, 3, 0, f.cipher + coff(2),
						 CB, out), SB_EAUTH);
	assert_int_equal(sb_cfile_decrypt_shared(f.cf, 2, 1, f.cipher + coff(2),
						 CB, out), SB_EAUTH);
	assert_int_equal(sb_cfile_decrypt_shared(f.cf, 2, 0, g.cipher + coff(2),
						 CB, out), SB_EAUTH);
	/* a length no block can have */
	assert_int_equal(sb_cfile_decrypt_shared(f.cf, 2, 0, f.cipher + coff(2),
						 CB - 1, out), SB_EFORMAT);
	assert_int_equal(sb_cfile_decrypt_shared(f.cf, 2, 0, f.cipher,
						 OV - 1, out), SB_EFORMAT);
	sealed_free(&f);
	sealed_free(&g);
	sb_content_keys_free(k);
}

struct seal_job {
	const struct sealed *f;
	uint64_t first;			/* this thread's blocks: first + i * 4 */
	uint8_t *out;			/* f's cipher layout */
	int rc;
};

static void *seal_run(void *arg)
{
	struct seal_job *j = arg;
	uint64_t b;

	for (b = j->first; b < NBLOCKS && !j->rc; b += NTHREADS)
		j->rc = sb_cfile_encrypt_shared(j->f->cf, b, b == NBLOCKS - 1,
						j->f->plain + b * BS,
						blen(j->f, b),
						j->out + coff(b));
	return NULL;
}

static int nonce_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SB_CONTENT_NONCE);
}

/* Threads sealing one file's blocks at once, twice over: every block opens
 * with the file's own handle, only at its index and flag, and no nonce
 * repeats (the file's and each thread's are drawn apart). */
static void test_encrypt_threads(void **state)
{
	struct sb_content_keys *k = keys_make(30);
	uint8_t nonces[3 * NBLOCKS][SB_CONTENT_NONCE], out[BS], *c[2];
	struct seal_job jobs[NTHREADS];
	pthread_t th[NTHREADS];
	struct sealed f;
	uint64_t b;
	int i, r;

	(void)state;
	sealed_make(&f, k, 3);
	for (r = 0; r < 2; r++) {
		c[r] = malloc(NBLOCKS * (size_t)CB);
		assert_non_null(c[r]);
		for (i = 0; i < NTHREADS; i++) {
			jobs[i] = (struct seal_job){ &f, (uint64_t)i, c[r], 0 };
			assert_int_equal(pthread_create(&th[i], NULL, seal_run,
							&jobs[i]), 0);
		}
		for (i = 0; i < NTHREADS; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(jobs[i].rc, 0);
		}
		for (b = 0; b < NBLOCKS; b++) {
			size_t len = blen(&f, b);
			int last = b == NBLOCKS - 1;

			assert_int_equal(sb_cfile_decrypt_block(f.cf, b, last,
					 c[r] + coff(b), len + OV, out), 0);
			assert_memory_equal(out, f.plain + b * BS, len);
			assert_int_equal(sb_cfile_decrypt_block(f.cf, b + 1,
					 last, c[r] + coff(b), len + OV, out),
					 SB_EAUTH);
			/* (a short block cannot be an inner one at all) */
			assert_int_equal(sb_cfile_decrypt_block(f.cf, b, !last,
					 c[r] + coff(b), len + OV, out),
					 len == BS ? SB_EAUTH : SB_EFORMAT);
			memcpy(nonces[r * NBLOCKS + b], c[r] + coff(b),
			       SB_CONTENT_NONCE);
			memcpy(nonces[2 * NBLOCKS + b], f.cipher + coff(b),
			       SB_CONTENT_NONCE);
		}
	}
	qsort(nonces, 3 * NBLOCKS, SB_CONTENT_NONCE, nonce_cmp);
	for (i = 1; i < 3 * NBLOCKS; i++)
		assert_true(memcmp(nonces[i - 1], nonces[i],
				   SB_CONTENT_NONCE) != 0);
	/* the rules on lengths hold as for sb_cfile_encrypt_block */
	assert_int_equal(sb_cfile_encrypt_shared(f.cf, 0, 0, f.plain, BS - 1,
						 c[0]), -EINVAL);
	assert_int_equal(sb_cfile_encrypt_shared(f.cf, 0, 1, f.plain, BS + 1,
						 c[0]), -EINVAL);
	free(c[0]);
	free(c[1]);
	sealed_free(&f);
	sb_content_keys_free(k);
}

/* A child of fork() sealing next must not use the nonce its parent's
 * thread uses next: the same nonce twice under one key would give away
 * the XOR of two plaintexts and the GHASH key. */
static void test_encrypt_fork(void **state)
{
	struct sb_content_keys *k = keys_make(31);
	uint8_t mine[CB], theirs[CB];
	struct sealed f;
	int p[2], st;
	pid_t pid;

	(void)state;
	sealed_make(&f, k, 4);
	/* fill this thread's nonces, so that the next one is pooled */
	assert_int_equal(sb_cfile_encrypt_shared(f.cf, 0, 0, f.plain, BS,
						 mine), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = sb_cfile_encrypt_shared(f.cf, 1, 0, f.plain + BS, BS,
						 theirs);

		_exit(rc || write(p[1], theirs, CB) != CB);
	}
	close(p[1]);
	assert_int_equal(read(p[0], theirs, CB), CB);
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(sb_cfile_encrypt_shared(f.cf, 1, 0, f.plain + BS, BS,
						 mine), 0);
	assert_true(memcmp(mine, theirs, SB_CONTENT_NONCE) != 0);
	sealed_free(&f);
	sb_content_keys_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_same_files),
		cmocka_unit_test(test_rekey_after_free),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_encrypt_threads),
		cmocka_unit_test(test_encrypt_fork),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

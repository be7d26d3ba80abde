/*
 * sb_cfile_decrypt_shared (crypto/content.c): threads decrypting blocks of
 * the same files at once, each with its own cipher handle, must get the
 * same plaintext as sb_cfile_decrypt_block; a thread moving between files
 * must re-key (also when a freed file's memory is reused by the next);
 * tampering must fail as it does for sb_cfile_decrypt_block.
 */
#include <pthread.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_same_files),
		cmocka_unit_test(test_rekey_after_free),
		cmocka_unit_test(test_tamper),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

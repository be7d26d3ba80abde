/*
 * Content block throughput: sb_cfile_encrypt_block / decrypt_block over
 * a 64 MiB buffer in 4 KiB blocks, next to libgcrypt's AES-256-GCM driven
 * directly the same way (setiv + authenticate + encrypt + gettag per
 * block, same AAD length, counter nonces). The ratio is our cost over the
 * cipher's: nonce generation, argument checks, the AAD update.
 *
 *   bench-content [MiB [passes]]     (defaults 64 and 5)
 *
 * MB/s are 10^6 plaintext bytes per second of this thread's CPU time
 * (the machine is shared, so CPU time is steadier than wall time); the
 * best of the passes is kept, ours and raw alternating.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gcrypt.h>

#include "crypto/content.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/secrets.h"

#define BS SB_CONTENT_BLOCK
#define CB SB_CONTENT_CBLOCK
#define AAD_LEN 26		/* version | file ID | index | last */
#define TARGET 0.8

struct bench {
	size_t nblocks;
	uint8_t *plain, *cipher, *out;
	struct sb_cfile *f;
	gcry_cipher_hd_t raw;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ours_encrypt(struct bench *b)
{
	size_t i;

	for (i = 0; i < b->nblocks; i++)
		if (sb_cfile_encrypt_block(b->f, i, i == b->nblocks - 1,
					   b->plain + i * BS, BS,
					   b->cipher + i * CB))
			return -1;
	return 0;
}

static int ours_decrypt(struct bench *b)
{
	size_t i;

	for (i = 0; i < b->nblocks; i++)
		if (sb_cfile_decrypt_block(b->f, i, i == b->nblocks - 1,
					   b->cipher + i * CB, CB,
					   b->out + i * BS))
			return -1;
	return 0;
}

static void raw_start(struct bench *b, size_t i, uint8_t *nonce)
{
	uint8_t aad[AAD_LEN] = { 1 };

	memset(nonce, 0, 4);
	sb_put_be64(nonce + 4, i);
	sb_put_be64(aad + 17, i);
	aad[25] = i == b->nblocks - 1;
	gcry_cipher_setiv(b->raw, nonce, 12);
	gcry_cipher_authenticate(b->raw, aad, AAD_LEN);
}

static int raw_encrypt(struct bench *b)
{
	size_t i;

	for (i = 0; i < b->nblocks; i++) {
		uint8_t *c = b->cipher + i * CB;

		raw_start(b, i, c);
		if (gcry_cipher_encrypt(b->raw, c + 12, BS, b->plain + i * BS,
					BS) ||
		    gcry_cipher_gettag(b->raw, c + 12 + BS, 16))
			return -1;
	}
	return 0;
}

static int raw_decrypt(struct bench *b)
{
	uint8_t nonce[12];
	size_t i;

	for (i = 0; i < b->nblocks; i++) {
		const uint8_t *c = b->cipher + i * CB;

		raw_start(b, i, nonce);
		if (gcry_cipher_decrypt(b->raw, b->out + i * BS, BS, c + 12,
					BS) ||
		    gcry_cipher_checktag(b->raw, c + 12 + BS, 16))
			return -1;
	}
	return 0;
}

/* CPU seconds of one timed pass; a decryption pass first encrypts
 * (untimed) with the same code and checks the result. */
static double pass(struct bench *b, int (*enc)(struct bench *),
		   int (*dec)(struct bench *), int decrypt)
{
	double t;

	if (decrypt && enc(b))
		return -1;
	t = now();
	if ((decrypt ? dec : enc)(b))
		return -1;
	t = now() - t;
	if (decrypt && memcmp(b->out, b->plain, b->nblocks * BS))
		return -1;
	return t;
}

/* Fastest of passes for ours and raw, alternating so both see the same
 * machine load. */
static int best(struct bench *b, int decrypt, int passes, double t[2])
{
	int p;

	t[0] = t[1] = 1e30;
	for (p = 0; p < passes; p++) {
		double o = pass(b, ours_encrypt, ours_decrypt, decrypt);
		double r = pass(b, raw_encrypt, raw_decrypt, decrypt);

		if (o < 0 || r < 0)
			return -1;
		t[0] = o < t[0] ? o : t[0];
		t[1] = r < t[1] ? r : t[1];
	}
	return 0;
}

static int bench_init(struct bench *b, size_t mib)
{
	static const struct sb_meta meta = { 0, 0 };
	struct sb_content_keys *k = NULL;
	struct sb_secrets *s = NULL;
	uint8_t hdr[SB_CONTENT_HEADER], key[32];
	int rc;

	b->nblocks = mib * 1024 * 1024 / BS;
	b->plain = malloc(b->nblocks * BS);
	b->out = malloc(b->nblocks * BS);
	b->cipher = malloc(b->nblocks * CB);
	if (!b->plain || !b->out || !b->cipher)
		return -1;
	gcry_randomize(b->plain, b->nblocks * BS, GCRY_WEAK_RANDOM);
	if ((rc = sb_secrets_generate(&s)) ||
	    (rc = sb_content_keys_new(&k, s)) ||
	    (rc = sb_cfile_create(&b->f, k, &meta, hdr)))
		return rc;
	sb_content_keys_free(k);
	sb_secrets_free(s);
	sb_random_key(key, sizeof(key));
	if (gcry_cipher_open(&b->raw, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM,
			     GCRY_CIPHER_SECURE) ||
	    gcry_cipher_setkey(b->raw, key, sizeof(key)))
		return -1;
	sb_wipe(key, sizeof(key));
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const ops[] = { "encrypt", "decrypt" };
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	int passes = argc > 2 ? atoi(argv[2]) : 5, op, low = 0;
	struct bench b = { 0 };

	if (sb_crypto_init(0) || !mib || passes < 1 ||
	    bench_init(&b, mib)) {
		fprintf(stderr, "bench-content: set-up failed: %s\n",
			sb_err_msg(SB_ECRYPTO));
		return 1;
	}
	printf("content blocks: %zu MiB in %d-byte blocks, AES-256-GCM, "
	       "best of %d, MB/s = 10^6 B per CPU second\n", mib, BS, passes);
	printf("%-8s %10s %10s %7s\n", "op", "sealbox", "raw", "ratio");
	for (op = 0; op < 2; op++) {
		double mb = b.nblocks * (double)BS / 1e6, t[2];

		if (best(&b, op, passes, t)) {
			fprintf(stderr, "bench-content: %s failed\n", ops[op]);
			return 1;
		}
		printf("%-8s %10.1f %10.1f %7.3f\n", ops[op], mb / t[0],
		       mb / t[1], t[1] / t[0]);
		low |= t[1] / t[0] < TARGET;
	}
	printf("target ratio >= %.1f: %s\n", TARGET, low ? "MISSED" : "met");
	sb_cfile_free(b.f);
	gcry_cipher_close(b.raw);
	free(b.plain);
	free(b.out);
	free(b.cipher);
	return 0;
}

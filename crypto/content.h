#ifndef SB_CONTENT_H
#define SB_CONTENT_H

/*
 * The content file format (DESIGN sec. 4, crypto/FORMAT.md "Content file").
 *
 *   header (SB_CONTENT_HEADER = 88 bytes):
 *     magic "SBXC" | version u8 = 1 | block-size exponent u8 = 12 |
 *     flags be16 = 0 | epoch be32 | file ID (16) |
 *     meta nonce (12) | encrypted meta (SB_META_LEN) | meta tag (16)
 *   meta plaintext: mtime_sec be64 (two's complement) |
 *     mtime_nsec be32 (< 10^9) | 20 zero bytes
 *   body: blocks, each nonce(12) || AES-256-GCM ciphertext || tag(16),
 *     4096 plaintext bytes except the last (0..4096; 0 only when the file
 *     is empty: an empty file is one empty last block).
 *     AAD = version u8 | file ID | block index be64 | last-block flag u8.
 *
 * Per-file key = HKDF-SHA256(content key of the epoch, salt = file ID,
 * info = "sealbox v1 file key"). The meta block uses the same key with
 * the header's first 28 bytes as AAD.
 *
 * Contents never depend on the file's name: a rename rewrites nothing.
 *
 * Thread safety: a struct sb_cfile is used by one thread at a time (the
 * caller locks), except for the sb_cfile_*_shared calls; struct
 * sb_content_keys is read-only after creation and may be shared.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto/secrets.h"

#define SB_CONTENT_BLOCK	4096
#define SB_CONTENT_NONCE	12
#define SB_CONTENT_TAG		16
#define SB_CONTENT_OVERHEAD	(SB_CONTENT_NONCE + SB_CONTENT_TAG)
#define SB_CONTENT_CBLOCK	(SB_CONTENT_BLOCK + SB_CONTENT_OVERHEAD)
#define SB_CONTENT_FILE_ID	16
#define SB_META_LEN		32
#define SB_CONTENT_PREFIX	28	/* magic .. file ID */
#define SB_CONTENT_HEADER	(SB_CONTENT_PREFIX + SB_CONTENT_NONCE + \
				 SB_META_LEN + SB_CONTENT_TAG)

/* Plaintext metadata carried in the header (encrypted). mtime_nsec is
 * below 10^9 (UTIME_NOW / UTIME_OMIT must be resolved by the caller). */
struct sb_meta {
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

/*
 * Content keys of every epoch, derived from the secrets. Secure memory.
 * sb_content_keys_new does not keep s; free *out with
 * sb_content_keys_free() (NULL-safe). Returns 0, -ENOMEM, SB_ECRYPTO.
 */
struct sb_content_keys;

int sb_content_keys_new(struct sb_content_keys **out,
			const struct sb_secrets *s);
void sb_content_keys_free(struct sb_content_keys *k);
/* The epoch new files are written under (the newest). */
uint32_t sb_content_keys_epoch(const struct sb_content_keys *k);

/*
 * One file's crypto state: the per-file key (secure memory, and inside an
 * open cipher handle), and a batch of unused nonces. It does not refer
 * to the struct sb_content_keys it was made from, which may be freed
 * first. Do not use one in both processes after fork(): both would take
 * the same nonces from the batch.
 */
struct sb_cfile;

/*
 * Starts a new file under the current epoch with a random file ID and
 * writes its header. Free *out with sb_cfile_free() (NULL-safe).
 * Returns 0, -EINVAL (mtime_nsec out of range), -ENOMEM, SB_ECRYPTO.
 */
int sb_cfile_create(struct sb_cfile **out, const struct sb_content_keys *k,
		    const struct sb_meta *meta,
		    uint8_t header[SB_CONTENT_HEADER]);

/*
 * Parses and authenticates a header. Fills *meta when non-NULL.
 * Returns 0, SB_EFORMAT (not a content file: magic, block size, flags,
 * or metadata malformed), SB_EVERSION, SB_EAUTH (tampered, or an epoch
 * this vault lacks), -ENOMEM, SB_ECRYPTO.
 */
int sb_cfile_open(struct sb_cfile **out, const struct sb_content_keys *k,
		  const uint8_t header[SB_CONTENT_HEADER],
		  struct sb_meta *meta);

/* Re-encrypts the metadata (fresh nonce) and writes the whole header
 * (the file's unchanged first SB_CONTENT_PREFIX bytes included). */
int sb_cfile_set_meta(struct sb_cfile *f, const struct sb_meta *meta,
		      uint8_t header[SB_CONTENT_HEADER]);

void sb_cfile_free(struct sb_cfile *f);

/*
 * One block. index counts from 0; last is 1 for the file's final block.
 * A block that is not last holds exactly SB_CONTENT_BLOCK bytes; the
 * last holds 1..SB_CONTENT_BLOCK, or 0 when it is block 0 (empty file).
 * encrypt: out receives len + SB_CONTENT_OVERHEAD bytes (fresh nonce);
 *   -EINVAL when len breaks the rule above.
 * decrypt: plain receives inlen - SB_CONTENT_OVERHEAD bytes; SB_EFORMAT
 *   when inlen breaks the rule, SB_EAUTH on any tampering (wrong index,
 *   last flag, file or key included), and then plain holds nothing
 *   usable (it is wiped).
 * plain may be NULL when len is 0; plain and out/in must not overlap.
 * Neither allocates.
 */
int sb_cfile_encrypt_block(struct sb_cfile *f, uint64_t index, int last,
			   const uint8_t *plain, size_t len, uint8_t *out);
int sb_cfile_decrypt_block(struct sb_cfile *f, uint64_t index, int last,
			   const uint8_t *in, size_t inlen, uint8_t *plain);

/*
 * sb_cfile_decrypt_block and sb_cfile_encrypt_block for threads that
 * share f: any number of threads may call them on one f at once (and
 * with sb_cfile_decrypt_block or sb_cfile_encrypt_block running on f
 * under the caller's lock, which leave f's key alone). Each thread uses
 * a cipher handle of its own (secure memory, freed when the thread
 * exits), keyed again only when the thread moves to another file, and
 * nonces of its own (a child of fork() drops the ones its thread had).
 * f must outlive the call.
 */
int sb_cfile_decrypt_shared(const struct sb_cfile *f, uint64_t index,
			    int last, const uint8_t *in, size_t inlen,
			    uint8_t *plain);
int sb_cfile_encrypt_shared(const struct sb_cfile *f, uint64_t index,
			    int last, const uint8_t *plain, size_t len,
			    uint8_t *out);

/*
 * Sizes: backing (whole file, header included) <-> plaintext. They are
 * inverse: every plain_size up to INT64_MAX maps to one cipher size
 * (larger ones give UINT64_MAX, which maps back to nothing), and
 * sb_content_plain_size accepts exactly the cipher sizes of those.
 */
uint64_t sb_content_cipher_size(uint64_t plain_size);
/* Returns 0, or SB_EFORMAT when no plaintext size maps to cipher_size. */
int sb_content_plain_size(uint64_t *plain_size, uint64_t cipher_size);
/* Offset of block index in the backing file. */
static inline uint64_t sb_content_block_offset(uint64_t index)
{
	return SB_CONTENT_HEADER + index * (uint64_t)SB_CONTENT_CBLOCK;
}

/*
 * Whole-buffer helpers for small files (keys, markers, tests).
 * sb_content_seal: *out (malloc, free()) holds header and body,
 *   *outlen = sb_content_cipher_size(len); plain may be NULL when len
 *   is 0. Returns 0, -EINVAL (mtime_nsec), -ENOMEM, SB_ECRYPTO.
 * sb_content_unseal: *out (malloc, free()) holds the plaintext (never
 *   NULL, also for an empty file); *meta is filled when non-NULL.
 *   Returns the codes of sb_cfile_open, and SB_EFORMAT for a length
 *   sb_content_plain_size refuses, SB_EAUTH for any block that fails
 *   (truncated, reordered, from another file). Nothing is returned on
 *   error; partial plaintext is wiped.
 */
int sb_content_seal(uint8_t **out, size_t *outlen,
		    const struct sb_content_keys *k, const struct sb_meta *meta,
		    const uint8_t *plain, size_t len);
int sb_content_unseal(uint8_t **out, size_t *outlen, struct sb_meta *meta,
		      const struct sb_content_keys *k,
		      const uint8_t *in, size_t inlen);

#endif

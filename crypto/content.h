#ifndef SB_CONTENT_H
#define SB_CONTENT_H

/*
 * The content file format (DESIGN sec. 4, crypto/FORMAT.md "Content file").
 *
 *   header (SB_CONTENT_HEADER bytes):
 *     magic "SBXC" | version u8 = 1 | block-size exponent u8 = 12 |
 *     flags be16 = 0 | epoch be32 | file ID (16) |
 *     meta nonce (12) | encrypted meta (SB_META_LEN) | meta tag (16)
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
 * caller locks); struct sb_content_keys is read-only after creation and
 * may be shared.
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

/* Plaintext metadata carried in the header (encrypted). */
struct sb_meta {
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

/* Content keys of every epoch, derived from the secrets. Secure memory. */
struct sb_content_keys;

int sb_content_keys_new(struct sb_content_keys **out,
			const struct sb_secrets *s);
void sb_content_keys_free(struct sb_content_keys *k);
/* The epoch new files are written under (the newest). */
uint32_t sb_content_keys_epoch(const struct sb_content_keys *k);

/* One file's crypto state: per-file key in an open cipher handle. */
struct sb_cfile;

/*
 * Starts a new file under the current epoch with a random file ID and
 * writes its header. Free *out with sb_cfile_free().
 */
int sb_cfile_create(struct sb_cfile **out, const struct sb_content_keys *k,
		    const struct sb_meta *meta,
		    uint8_t header[SB_CONTENT_HEADER]);

/*
 * Parses and authenticates a header. Fills *meta when non-NULL.
 * Returns 0, SB_EFORMAT (not a content file), SB_EVERSION, SB_EAUTH
 * (tampered, or an epoch this vault lacks).
 */
int sb_cfile_open(struct sb_cfile **out, const struct sb_content_keys *k,
		  const uint8_t header[SB_CONTENT_HEADER],
		  struct sb_meta *meta);

/* Re-encrypts the metadata (fresh nonce) into header. */
int sb_cfile_set_meta(struct sb_cfile *f, const struct sb_meta *meta,
		      uint8_t header[SB_CONTENT_HEADER]);

void sb_cfile_free(struct sb_cfile *f);

/*
 * One block. index counts from 0; last is 1 for the file's final block.
 * encrypt: len <= SB_CONTENT_BLOCK (0 only for an empty file's block),
 *   out receives len + SB_CONTENT_OVERHEAD bytes.
 * decrypt: inlen in [SB_CONTENT_OVERHEAD, SB_CONTENT_CBLOCK], plain
 *   receives inlen - SB_CONTENT_OVERHEAD bytes; SB_EAUTH on any tampering,
 *   and then plain holds nothing usable (it is wiped).
 * Neither allocates.
 */
int sb_cfile_encrypt_block(struct sb_cfile *f, uint64_t index, int last,
			   const uint8_t *plain, size_t len, uint8_t *out);
int sb_cfile_decrypt_block(struct sb_cfile *f, uint64_t index, int last,
			   const uint8_t *in, size_t inlen, uint8_t *plain);

/* Sizes: backing (whole file, header included) <-> plaintext. */
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
 * sb_content_seal: *out (malloc) holds header and body.
 * sb_content_unseal: *out (malloc) holds the plaintext; SB_EAUTH etc.
 */
int sb_content_seal(uint8_t **out, size_t *outlen,
		    const struct sb_content_keys *k, const struct sb_meta *meta,
		    const uint8_t *plain, size_t len);
int sb_content_unseal(uint8_t **out, size_t *outlen, struct sb_meta *meta,
		      const struct sb_content_keys *k,
		      const uint8_t *in, size_t inlen);

#endif

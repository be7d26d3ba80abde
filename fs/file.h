#ifndef SB_FILE_H
#define SB_FILE_H

/*
 * Block I/O on one open content file (crypto/content.h): reads decrypt
 * whole blocks, writes re-encrypt every block they touch (decrypting a
 * partially overwritten one first) and go to the backing file as one
 * pwrite of whole ciphertext blocks per chunk; appending re-encrypts the
 * old last block in the same pwrite. Gaps are filled with encrypted zeros.
 *
 * Buffers are per thread (allocated on a thread's first request, grown
 * only when a request is larger than any before), so the read and write
 * paths allocate nothing per request.
 *
 * Thread safety: the caller holds of->lock around every call but
 * sb_ofile_create / sb_ofile_load / sb_ofile_release /
 * sb_ofile_seal_ahead / sb_ofile_ahead_done: shared (read) for
 * sb_ofile_read, which decrypts with the calling thread's own cipher
 * handle so that the kernel's readahead requests on one file decrypt in
 * parallel; exclusive (write) for every other call.
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "crypto/content.h"
#include "fs/backing.h"

struct sb_ofile {
	pthread_rwlock_t lock;	/* readers share it (sb_ofile_read) */
	int fd;			/* backing file, O_RDWR when allowed */
	int rdonly;		/* fd is O_RDONLY (no write permission) */
	struct sb_cfile *cf;
	uint64_t size;		/* plaintext size */
	int dirty;		/* written or mtime set since the header
				 * was: sb_ofile_refresh_meta() */
	int damaged;		/* SB_EAUTH seen (logged once) */
	uint8_t header[SB_CONTENT_HEADER];
};

/*
 * Starts a new, empty content file on fd (header and one empty last block)
 * with meta, and sets up of. of->fd = fd on success.
 */
int sb_ofile_create(struct sb_ofile *of, const struct sb_store *st, int fd,
		    const struct sb_meta *meta);

/*
 * Reads and authenticates the header of fd, whose stat is sb, and sets up
 * of (fd owned by of on success).
 */
int sb_ofile_load(struct sb_ofile *of, const struct sb_store *st, int fd,
		  const struct stat *sb);

/* Frees the crypto state and closes fd; also gives back all but one of
 * the buffers of sealing ahead (below) unless a write is using one. */
void sb_ofile_release(struct sb_ofile *of);

/*
 * Reads up to size bytes at off; *out points into a per-thread buffer
 * valid until the thread's next call, *n is the count (0 at or past EOF).
 */
int sb_ofile_read(struct sb_ofile *of, const uint8_t **out, size_t *n,
		  size_t size, uint64_t off);

/* Writes len bytes of data (NULL: zeros) at off. */
int sb_ofile_write(struct sb_ofile *of, const void *data, size_t len,
		   uint64_t off);

/*
 * Sealing ahead, so that concurrent writes (the kernel's writeback sends
 * several) encrypt in parallel and only the pwrite waits for the lock:
 * sb_ofile_seal_ahead(), called WITHOUT of->lock, encrypts the blocks of
 * a large write that its data covers whole and that end before its last
 * block (none of them can become the file's last block, which is the
 * only thing a block's ciphertext depends on besides its index and
 * data). sb_ofile_write_sealed(), under the lock as sb_ofile_write, then
 * writes those as they are and does the rest (partial and last blocks,
 * the old last block, gaps) as sb_ofile_write does. a->n is 0 for small
 * writes and without memory; then the write does everything under the
 * lock. There are a few shared buffers; a thread waits for one while all
 * are in use. Release a with sb_ofile_ahead_done() after the write, also
 * on error.
 */
struct sb_ahead {
	uint64_t off;		/* the write: len bytes at off */
	size_t len;
	uint64_t first;		/* sealed blocks: [first, first + n) */
	size_t n;
	uint8_t *c;		/* their ciphertext (a shared buffer) */
};

int sb_ofile_seal_ahead(const struct sb_ofile *of, struct sb_ahead *a,
			const void *data, size_t len, uint64_t off);
int sb_ofile_write_sealed(struct sb_ofile *of, const struct sb_ahead *a,
			  const void *data, size_t len, uint64_t off);
void sb_ofile_ahead_done(struct sb_ahead *a);

/* Sets the plaintext size (shrinks or extends with zeros). */
int sb_ofile_truncate(struct sb_ofile *of, uint64_t size);

/*
 * Writes the backing file's mtime into the header's metadata and restores
 * that mtime afterwards (writing the header changed it).
 */
int sb_ofile_refresh_meta(struct sb_ofile *of);

/* Checks every block (fsck): 0, SB_EAUTH with *bad the failing block. */
int sb_ofile_verify(struct sb_ofile *of, uint64_t *bad);

/* Plaintext size of a backing file of size cipher (0 when invalid). */
uint64_t sb_file_plain_size(uint64_t cipher);

#endif

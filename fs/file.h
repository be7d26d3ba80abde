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
 * sb_ofile_write_begin / sb_ofile_write_lock (which takes it) /
 * sb_ofile_write_end: shared (read) for
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
	/* writes in flight, sb_ofile_write_begin() to _end() */
	pthread_mutex_t wlock;	/* guards writes and wgen; taken
				 * after lock when both are */
	pthread_cond_t wdone;	/* broadcast when one ends */
	struct sb_owrite *writes;
	unsigned wgen;		/* counts the ends */
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
 * A write in flight, as the file system does one (the kernel's writeback
 * sends several WRITEs of a file at once):
 *
 *   sb_ofile_write_begin()	WITHOUT of->lock: registers the write with
 *				of and seals ahead (below); may wait for a
 *				buffer
 *   sb_ofile_write_lock()	takes of->lock exclusive, in file order
 *				(below)
 *   sb_ofile_write_sealed()	the write, as sb_ofile_write
 *   pthread_rwlock_unlock(&of->lock)
 *   sb_ofile_write_end()	WITHOUT of->lock: unregisters it and gives
 *				the buffer back; also after an error. The
 *				struct must live until then.
 *
 * Sealing ahead: sb_ofile_write_begin() encrypts the blocks of a large
 * write that its data covers whole and that end before its last block
 * (none of them can become the file's last block, which is the only thing
 * a block's ciphertext depends on besides its index and data), so that
 * concurrent writes encrypt in parallel and only the pwrite waits for the
 * lock. sb_ofile_write_sealed() writes those as they are and does the
 * rest (partial and last blocks, the old last block, gaps) as
 * sb_ofile_write does. ow->n is 0 for small writes and without memory;
 * then the write does everything under the lock. There are as many
 * shared buffers as the file system's largest default thread count; a
 * thread waits for one while all are in use.
 *
 * File order: a write that starts past the end of the file fills the gap
 * with encrypted zeros. When a write in flight that starts lower would
 * fill some of that gap, sb_ofile_write_lock() waits for it to end first,
 * so that streamed data is encrypted and written once (workers reach the
 * lock in any order: half of a 1 GiB `dd` was written twice before).
 * Only registered writes count, and a write is registered once it holds
 * its buffer, so the lowest write in flight never waits.
 */
struct sb_owrite {
	struct sb_owrite *next;	/* of->writes */
	uint64_t off;		/* the write: len bytes at off */
	size_t len;
	uint64_t first;		/* sealed blocks: [first, first + n) */
	size_t n;
	uint8_t *c;		/* their ciphertext (a shared buffer) */
};

int sb_ofile_write_begin(struct sb_ofile *of, struct sb_owrite *ow,
			 const void *data, size_t len, uint64_t off);
void sb_ofile_write_lock(struct sb_ofile *of, const struct sb_owrite *ow);
int sb_ofile_write_sealed(struct sb_ofile *of, const struct sb_owrite *ow,
			  const void *data, size_t len, uint64_t off);
void sb_ofile_write_end(struct sb_ofile *of, struct sb_owrite *ow);

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

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"
#include "fs/file.h"

#define B SB_CONTENT_BLOCK
#define CB SB_CONTENT_CBLOCK
/* Blocks per pwrite when a write spans many (gap filling, big writes). */
#define CHUNK 64
/* Sealing ahead: writes of at least AHEAD_MIN inner blocks; at most
 * AHEAD_MAX of them (FUSE's largest write, 1 MiB) in each of AHEAD_BUFS
 * buffers, shared by all threads: one per worker of the largest default
 * count (fs/fs.c), so that by default no write waits for one. */
#define AHEAD_MIN 16
#define AHEAD_MAX 256
#define AHEAD_BUFS 16
#define AHEAD_SIZE ((size_t)AHEAD_MAX * CB)

/* Per-thread buffers: ciphertext, plaintext, one block. */
struct tbuf {
	uint8_t *c;
	size_t cblocks;
	uint8_t *p;
	size_t pblocks;
	uint8_t blk[B];
	uint8_t save[CB];
};

static pthread_key_t tbuf_key;
static pthread_once_t tbuf_once = PTHREAD_ONCE_INIT;

static void tbuf_free(void *v)
{
	struct tbuf *t = v;

	if (!t)
		return;
	free(t->c);
	free(t->p);
	free(t);
}

static void tbuf_init(void)
{
	pthread_key_create(&tbuf_key, tbuf_free);
}

static int grow(uint8_t **buf, size_t *have, size_t blocks, size_t unit)
{
	uint8_t *p;

	if (*have >= blocks)
		return 0;
	p = realloc(*buf, blocks * unit);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*have = blocks;
	return 0;
}

/* The calling thread's buffers with room for nblocks blocks. */
static struct tbuf *tbuf_get(size_t cblocks, size_t pblocks)
{
	struct tbuf *t;

	pthread_once(&tbuf_once, tbuf_init);
	t = pthread_getspecific(tbuf_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || pthread_setspecific(tbuf_key, t)) {
			free(t);
			return NULL;
		}
	}
	if (grow(&t->c, &t->cblocks, cblocks, CB) ||
	    grow(&t->p, &t->pblocks, pblocks, B))
		return NULL;
	return t;
}

/*
 * The buffers for sealing ahead, allocated when needed. A file's release
 * frees all but the first unless one is in use: the requests of a
 * streamed file reuse them, a large write to the next file finds one,
 * and the others do not stay resident once the writing is over.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	uint8_t *buf[AHEAD_BUFS];	/* AHEAD_SIZE bytes, or NULL */
	int used[AHEAD_BUFS];
	int nused;
} ahead_pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER, .freed = PTHREAD_COND_INITIALIZER
};

/*
 * Mapped, not malloc'ed: freed memory of that size would stay in the
 * arena of whichever worker thread allocated it (7 MiB more resident
 * after a copy, measured with tests/bench/memory.sh).
 */
static uint8_t *ahead_alloc(void)
{
	void *p = mmap(NULL, AHEAD_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * A buffer of the pool, or NULL without memory. Waits while all are in
 * use: their holders wait for nothing but a file's lock, whose holder
 * does not wait for a buffer.
 */
static uint8_t *ahead_get(void)
{
	uint8_t *buf;
	int i;

	pthread_mutex_lock(&ahead_pool.lock);
	while (ahead_pool.nused == AHEAD_BUFS)
		pthread_cond_wait(&ahead_pool.freed, &ahead_pool.lock);
	for (i = 0; ahead_pool.used[i]; i++)
		;
	if (!ahead_pool.buf[i])
		ahead_pool.buf[i] = ahead_alloc();
	buf = ahead_pool.buf[i];
	if (buf) {
		ahead_pool.used[i] = 1;
		ahead_pool.nused++;
	}
	pthread_mutex_unlock(&ahead_pool.lock);
	return buf;
}

static void ahead_put(uint8_t *buf)
{
	int i;

	pthread_mutex_lock(&ahead_pool.lock);
	for (i = 0; ahead_pool.buf[i] != buf; i++)
		;
	ahead_pool.used[i] = 0;
	ahead_pool.nused--;
	pthread_cond_signal(&ahead_pool.freed);
	pthread_mutex_unlock(&ahead_pool.lock);
}

static void ahead_trim(void)
{
	int i;

	pthread_mutex_lock(&ahead_pool.lock);
	for (i = 1; i < AHEAD_BUFS && !ahead_pool.nused; i++) {
		if (ahead_pool.buf[i])
			munmap(ahead_pool.buf[i], AHEAD_SIZE);
		ahead_pool.buf[i] = NULL;
	}
	pthread_mutex_unlock(&ahead_pool.lock);
}

uint64_t sb_file_plain_size(uint64_t cipher)
{
	uint64_t plain;

	if (sb_content_plain_size(&plain, cipher))
		return 0;
	return plain;
}

static uint64_t last_index(uint64_t size)
{
	return size ? (size - 1) / B : 0;
}

/* Plaintext length of block b in a file of size. */
static size_t block_len(uint64_t size, uint64_t b)
{
	uint64_t start = b * B;

	if (start >= size)
		return 0;
	return size - start < B ? (size_t)(size - start) : B;
}

static int full_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; a short file is damage (SB_EAUTH). */
static int full_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return sb_err_set(SB_EAUTH, "file shorter than its blocks");
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void of_init_locks(struct sb_ofile *of)
{
	pthread_rwlock_init(&of->lock, NULL);
	pthread_mutex_init(&of->wlock, NULL);
	pthread_cond_init(&of->wdone, NULL);
}

int sb_ofile_create(struct sb_ofile *of, const struct sb_store *st, int fd,
		    const struct sb_meta *meta)
{
	uint8_t buf[SB_CONTENT_HEADER + SB_CONTENT_OVERHEAD];
	int rc;

	memset(of, 0, sizeof(*of));
	rc = sb_cfile_create(&of->cf, st->keys, meta, of->header);
	if (rc)
		return rc;
	memcpy(buf, of->header, SB_CONTENT_HEADER);
	rc = sb_cfile_encrypt_block(of->cf, 0, 1, NULL, 0,
				    buf + SB_CONTENT_HEADER);
	if (!rc)
		rc = full_pwrite(fd, buf, sizeof(buf), 0);
	if (!rc && ftruncate(fd, sizeof(buf)))
		rc = -errno;
	if (rc) {
		sb_cfile_free(of->cf);
		of->cf = NULL;
		return rc;
	}
	of_init_locks(of);
	of->fd = fd;
	return 0;
}

int sb_ofile_load(struct sb_ofile *of, const struct sb_store *st, int fd,
		  const struct stat *sb)
{
	int rc;

	memset(of, 0, sizeof(*of));
	rc = sb_content_plain_size(&of->size, (uint64_t)sb->st_size);
	if (rc)
		return sb_err_set(SB_EAUTH, "backing size %lld fits no content",
				  (long long)sb->st_size);
	rc = full_pread(fd, of->header, SB_CONTENT_HEADER, 0);
	if (!rc)
		rc = sb_cfile_open(&of->cf, st->keys, of->header, NULL);
	if (rc)
		return rc == SB_EFORMAT || rc == SB_EVERSION ? SB_EAUTH : rc;
	of_init_locks(of);
	of->fd = fd;
	return 0;
}

void sb_ofile_release(struct sb_ofile *of)
{
	ahead_trim();
	sb_cfile_free(of->cf);
	of->cf = NULL;
	if (of->fd >= 0)
		close(of->fd);
	of->fd = -1;
	pthread_rwlock_destroy(&of->lock);
	pthread_mutex_destroy(&of->wlock);
	pthread_cond_destroy(&of->wdone);
}

/* Decrypts block b of the file of size into plain (block_len bytes). */
static int read_block(struct sb_ofile *of, uint8_t *cbuf, uint8_t *plain,
		      uint64_t b, uint64_t size)
{
	size_t len = block_len(size, b);
	int last = b == last_index(size);
	int rc;

	rc = full_pread(of->fd, cbuf, len + SB_CONTENT_OVERHEAD,
			sb_content_block_offset(b));
	if (!rc)
		rc = sb_cfile_decrypt_block(of->cf, b, last, cbuf,
					    len + SB_CONTENT_OVERHEAD, plain);
	return rc;
}

int sb_ofile_read(struct sb_ofile *of, const uint8_t **out, size_t *n,
		  size_t size, uint64_t off)
{
	uint64_t first, last, b, coff = 0, clen = 0;
	struct tbuf *t;
	size_t len;
	int rc;

	*n = 0;
	if (off >= of->size || !size)
		return 0;
	if (size > of->size - off)
		size = (size_t)(of->size - off);
	first = off / B;
	last = (off + size - 1) / B;
	t = tbuf_get(last - first + 1, last - first + 1);
	if (!t)
		return -ENOMEM;
	for (b = first; b <= last; b++)
		clen += block_len(of->size, b) + SB_CONTENT_OVERHEAD;
	rc = full_pread(of->fd, t->c, clen, sb_content_block_offset(first));
	for (b = first; !rc && b <= last; b++) {
		len = block_len(of->size, b) + SB_CONTENT_OVERHEAD;
		rc = sb_cfile_decrypt_shared(of->cf, b,
					     b == last_index(of->size),
					     t->c + coff,
					     len, t->p + (b - first) * B);
		coff += len;
	}
	if (rc)
		return rc;
	*out = t->p + (off - first * B);
	*n = size;
	return 0;
}

/* The range of a write: [off, end) of data in a file growing to nsize. */
struct wrange {
	const uint8_t *data;	/* NULL: zeros */
	uint64_t off, end, osize, nsize;
	const uint8_t *saved;	/* ciphertext of the old last block, or NULL */
};

/* Plaintext of block b after the write, into t->blk unless data covers
 * it whole; *src points at it. */
static int new_block(struct sb_ofile *of, struct tbuf *t,
		     const struct wrange *w, uint64_t b, size_t blen,
		     const uint8_t **src)
{
	uint64_t bs = b * B, lo, hi;
	int rc;

	if (w->data && bs >= w->off && bs + blen <= w->end) {
		*src = w->data + (bs - w->off);
		return 0;
	}
	memset(t->blk, 0, B);
	if (w->saved && b == last_index(w->osize))
		rc = sb_cfile_decrypt_block(of->cf, b, 1, w->saved,
					    block_len(w->osize, b) +
					    SB_CONTENT_OVERHEAD, t->blk);
	else if (bs < w->osize)
		rc = read_block(of, t->c + (size_t)CHUNK * CB, t->blk, b,
				w->osize);
	else
		rc = 0;
	if (rc)
		return rc;
	lo = w->off > bs ? w->off : bs;
	hi = w->end < bs + blen ? w->end : bs + blen;
	if (lo < hi) {
		if (w->data)
			memcpy(t->blk + (lo - bs), w->data + (lo - w->off),
			       hi - lo);
		else
			memset(t->blk + (lo - bs), 0, hi - lo);
	}
	*src = t->blk;
	return 0;
}

/* Encrypts and writes blocks [first, last] (at most CHUNK). */
static int write_chunk(struct sb_ofile *of, struct tbuf *t,
		       const struct wrange *w, uint64_t first, uint64_t last)
{
	uint64_t nlast = last_index(w->nsize), b;
	const uint8_t *src;
	size_t coff = 0, blen;
	int rc = 0;

	for (b = first; !rc && b <= last; b++) {
		blen = block_len(w->nsize, b);
		rc = new_block(of, t, w, b, blen, &src);
		if (!rc)
			rc = sb_cfile_encrypt_block(of->cf, b, b == nlast, src,
						    blen, t->c + coff);
		coff += blen + SB_CONTENT_OVERHEAD;
	}
	if (!rc)
		rc = full_pwrite(of->fd, t->c, coff,
				 sb_content_block_offset(first));
	return rc;
}

/*
 * A growing file rewrites its old last block (flag, length) in the same
 * pwrite as the new blocks. Should that fail (a full disk), the saved
 * ciphertext of the old last block is put back and the file cut to its old
 * size, so data written before stays readable.
 */
static int save_last(struct sb_ofile *of, struct tbuf *t, uint64_t osize)
{
	uint64_t b = last_index(osize);

	return full_pread(of->fd, t->save,
			  block_len(osize, b) + SB_CONTENT_OVERHEAD,
			  sb_content_block_offset(b));
}

static void restore_last(struct sb_ofile *of, struct tbuf *t, uint64_t osize)
{
	uint64_t b = last_index(osize);

	full_pwrite(of->fd, t->save, block_len(osize, b) + SB_CONTENT_OVERHEAD,
		    sb_content_block_offset(b));
	if (ftruncate(of->fd, (off_t)sb_content_cipher_size(osize)))
		return;
}

/* Registers ow with of; takes of->wlock. */
static void writes_add(struct sb_ofile *of, struct sb_owrite *ow)
{
	pthread_mutex_lock(&of->wlock);
	ow->next = of->writes;
	of->writes = ow;
	pthread_mutex_unlock(&of->wlock);
}

int sb_ofile_write_begin(struct sb_ofile *of, struct sb_owrite *ow,
			 const void *data, size_t len, uint64_t off)
{
	uint64_t first = (off + B - 1) / B, end = (off + len - 1) / B, b;
	const uint8_t *p = data;
	int rc = 0;

	memset(ow, 0, sizeof(*ow));
	ow->off = off;
	ow->len = len;
	/* The buffer first: a registered write waits for nothing but
	 * the lock and lower writes (sb_ofile_write_lock). The blocks
	 * sealed are those of [off, off + len) that the data covers whole
	 * and that end before its last block: none of them can be the
	 * file's last block, whatever size the file has at the lock. */
	if (data && len && end >= first + AHEAD_MIN)
		ow->c = ahead_get();
	writes_add(of, ow);
	if (!ow->c)
		return 0;
	if (end - first > AHEAD_MAX)
		end = first + AHEAD_MAX;
	for (b = first; !rc && b < end; b++)
		rc = sb_cfile_encrypt_shared(of->cf, b, 0, p + (b * B - off),
					     B, ow->c + (b - first) * CB);
	if (rc)
		return rc;
	ow->first = first;
	ow->n = (size_t)(end - first);
	return 0;
}

/* Whether a write in flight that starts before ow would fill part of the
 * gap ow leaves in a file of size. Under of->wlock. */
static int lower_fills_gap(const struct sb_ofile *of,
			   const struct sb_owrite *ow, uint64_t size)
{
	const struct sb_owrite *w;

	if (ow->off <= size)
		return 0;
	for (w = of->writes; w; w = w->next)
		if (w->off < ow->off && w->off + w->len > size)
			return 1;
	return 0;
}

void sb_ofile_write_lock(struct sb_ofile *of, const struct sb_owrite *ow)
{
	unsigned gen;
	int wait;

	for (;;) {
		pthread_rwlock_wrlock(&of->lock);
		pthread_mutex_lock(&of->wlock);
		wait = lower_fills_gap(of, ow, of->size);
		gen = of->wgen;
		pthread_mutex_unlock(&of->wlock);
		if (!wait)
			return;
		/* until some write ends; then look again */
		pthread_rwlock_unlock(&of->lock);
		pthread_mutex_lock(&of->wlock);
		while (of->wgen == gen)
			pthread_cond_wait(&of->wdone, &of->wlock);
		pthread_mutex_unlock(&of->wlock);
	}
}

void sb_ofile_write_end(struct sb_ofile *of, struct sb_owrite *ow)
{
	struct sb_owrite **pp;

	pthread_mutex_lock(&of->wlock);
	for (pp = &of->writes; *pp && *pp != ow; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = ow->next;
	of->wgen++;
	pthread_cond_broadcast(&of->wdone);
	pthread_mutex_unlock(&of->wlock);
	if (ow->c)
		ahead_put(ow->c);
	ow->c = NULL;
	ow->n = 0;
}

int sb_ofile_write(struct sb_ofile *of, const void *data, size_t len,
		   uint64_t off)
{
	return sb_ofile_write_sealed(of, NULL, data, len, off);
}

int sb_ofile_write_sealed(struct sb_ofile *of, const struct sb_owrite *ow,
			  const void *data, size_t len, uint64_t off)
{
	struct wrange w = { data, off, off + len, of->size, of->size, NULL };
	uint64_t start = off, first, last, b, next;
	struct tbuf *t;
	int rc = 0;

	if (!len)
		return 0;
	if (ow && (!ow->n || ow->off != off || ow->len != len || !data))
		ow = NULL;
	if (w.end > w.nsize) {
		w.nsize = w.end;
		/* The old last block changes its flag (and maybe grows). */
		if (last_index(w.osize) * B < start)
			start = last_index(w.osize) * B;
	}
	t = tbuf_get(CHUNK + 1, 0);
	if (!t)
		return -ENOMEM;
	first = start / B;
	last = (w.end - 1) / B;
	if (w.nsize > w.osize && !(rc = save_last(of, t, w.osize)))
		w.saved = t->save;
	for (b = first; !rc && b <= last; b = next) {
		if (ow && b == ow->first) {
			/* first <= off / B <= ow->first; ow ends before last */
			rc = full_pwrite(of->fd, ow->c, ow->n * CB,
					 sb_content_block_offset(b));
			next = b + ow->n;
			continue;
		}
		next = last - b < CHUNK ? last + 1 : b + CHUNK;
		if (ow && b < ow->first && next > ow->first)
			next = ow->first;
		rc = write_chunk(of, t, &w, b, next - 1);
	}
	if (rc && w.nsize > w.osize)
		restore_last(of, t, w.osize);
	if (!rc)
		of->size = w.nsize;
	of->dirty = 1;
	return rc;
}

static int shrink(struct sb_ofile *of, uint64_t size)
{
	uint64_t b = last_index(size);
	size_t blen = block_len(size, b);
	struct tbuf *t = tbuf_get(2, 0);
	int rc;

	if (!t)
		return -ENOMEM;
	rc = read_block(of, t->c, t->blk, b, of->size);
	if (!rc)
		rc = sb_cfile_encrypt_block(of->cf, b, 1, t->blk, blen,
					    t->c + CB);
	if (!rc)
		rc = full_pwrite(of->fd, t->c + CB, blen + SB_CONTENT_OVERHEAD,
				 sb_content_block_offset(b));
	if (!rc && ftruncate(of->fd, (off_t)sb_content_cipher_size(size)))
		rc = -errno;
	if (!rc)
		of->size = size;
	of->dirty = 1;
	return rc;
}

int sb_ofile_truncate(struct sb_ofile *of, uint64_t size)
{
	if (size == of->size)
		return 0;
	if (size > of->size)
		return sb_ofile_write(of, NULL, size - of->size, of->size);
	return shrink(of, size);
}

int sb_ofile_refresh_meta(struct sb_ofile *of)
{
	struct timespec ts[2];
	struct sb_meta meta;
	struct stat sb;
	int rc;

	if (fstat(of->fd, &sb))
		return -errno;
	meta.mtime_sec = sb.st_mtim.tv_sec;
	meta.mtime_nsec = (uint32_t)sb.st_mtim.tv_nsec;
	rc = sb_cfile_set_meta(of->cf, &meta, of->header);
	if (!rc)
		rc = full_pwrite(of->fd, of->header, SB_CONTENT_HEADER, 0);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = sb.st_mtim;
	if (!rc && futimens(of->fd, ts))
		rc = -errno;
	of->dirty = 0;
	return rc;
}

int sb_ofile_verify(struct sb_ofile *of, uint64_t *bad)
{
	uint64_t b, last = last_index(of->size);
	struct tbuf *t = tbuf_get(2, 1);
	int rc = 0;

	if (!t)
		return -ENOMEM;
	for (b = 0; !rc && b <= last; b++) {
		rc = read_block(of, t->c, t->p, b, of->size);
		if (rc)
			*bad = b;
	}
	return rc;
}

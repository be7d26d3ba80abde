#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <zlib.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sha1.h"
#include "sync/packwrite.h"
#include "sync/repo_git.h"

/* Bytes gathered before one write(). */
#define BUF_SIZE (256u << 10)
/* The largest stored deflate block. */
#define STORED_MAX 65535u
/* Pack offsets from here on go to the index's 64-bit table. */
#define OFF31 0x80000000u
/* A temporary pack untouched this long was left by a process that died. */
#define SWEEP_AGE 3600

struct entry {
	git_oid id;
	uint64_t off;
	uint32_t crc;
};

struct sb_packwrite {
	char dir[PATH_MAX];
	char tmp_pack[PATH_MAX];
	char tmp_idx[PATH_MAX];
	int fd;
	struct sb_sha1 sum;	/* of every byte of the pack (not a spool's) */
	int spool;		/* count unknown until the commit */
	int broken;		/* a spool that could not take an object back */
	uint32_t count, added;	/* a spool's count: the room in e */
	uint64_t off;		/* bytes of the pack so far */
	uint32_t crc;		/* of the entry being written */
	struct entry *e;
	size_t used;
	uint8_t buf[BUF_SIZE];
};

static int io_fail(const char *what, const char *path)
{
	return sb_err_set(errno == ENOSPC ? -ENOSPC : -EIO,
			  "cannot %s %s: %s", what, path, strerror(errno));
}

static int write_all(int fd, const void *p, size_t n, const char *path)
{
	const uint8_t *s = p;
	ssize_t k;

	while (n) {
		k = write(fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return io_fail("write", path);
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

static int drain(struct sb_packwrite *w)
{
	int rc = write_all(w->fd, w->buf, w->used, w->tmp_pack);

	w->used = 0;
	return rc;
}

/* Appends to the pack: checksum, the entry's CRC-32, the offset. */
static int put(struct sb_packwrite *w, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t k;
	int rc;

	if (!w->spool)
		sb_sha1_update(&w->sum, p, n);
	w->crc = (uint32_t)crc32_z(w->crc, p, n);
	w->off += n;
	while (n) {
		if (w->used == sizeof(w->buf) && (rc = drain(w)))
			return rc;
		k = sizeof(w->buf) - w->used;
		if (k > n)
			k = n;
		memcpy(w->buf + w->used, s, k);
		w->used += k;
		s += k;
		n -= k;
	}
	return 0;
}

/* Type and size, as a pack entry starts: 4 bits, then 7 per byte. */
static int put_header(struct sb_packwrite *w, git_object_t type, size_t len)
{
	uint8_t h[16];
	size_t n = 0;

	h[n] = (uint8_t)((unsigned)type << 4 | (len & 0x0f));
	len >>= 4;
	while (len) {
		h[n++] |= 0x80;
		h[n] = len & 0x7f;
		len >>= 7;
	}
	return put(w, h, n + 1);
}

/* A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 3.2.4). */
static int put_zhead(struct sb_packwrite *w)
{
	static const uint8_t zhead[2] = { 0x78, 0x01 };

	return put(w, zhead, sizeof(zhead));
}

/* One stored block of k <= STORED_MAX bytes. */
static int put_block(struct sb_packwrite *w, const uint8_t *p, size_t k,
		     int final)
{
	uint8_t h[5];
	int rc;

	h[0] = final != 0;	/* BFINAL, BTYPE 00 */
	h[1] = k & 0xff;
	h[2] = k >> 8;
	h[3] = ~k & 0xff;
	h[4] = (~k >> 8) & 0xff;
	if ((rc = put(w, h, sizeof(h))))
		return rc;
	return put(w, p, k);
}

static int put_adler(struct sb_packwrite *w, uint32_t adler)
{
	uint8_t sum[4];

	sb_put_be32(sum, adler);
	return put(w, sum, sizeof(sum));
}

static int put_stored(struct sb_packwrite *w, const uint8_t *p, size_t len)
{
	uint32_t adler = (uint32_t)adler32_z(1, p, len);
	size_t k;
	int rc = put_zhead(w);

	do {
		k = len < STORED_MAX ? len : STORED_MAX;
		if (!rc)
			rc = put_block(w, p, k, k == len);
		p += k;
		len -= k;
	} while (!rc && len);
	return rc ? rc : put_adler(w, adler);
}

static int tmp_name(char *out, size_t size, const char *dir, const char *ext)
{
	if ((size_t)snprintf(out, size, "%s/tmp_sealbox_%s_XXXXXX", dir,
			     ext) >= size)
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", dir);
	return 0;
}

static int open_pack(struct sb_packwrite **out, const char *pack_dir,
		     uint32_t count, int spool)
{
	struct sb_packwrite *w = malloc(sizeof(*w));
	uint8_t head[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 };
	int rc;

	if (!w)
		return -ENOMEM;
	memset(w, 0, offsetof(struct sb_packwrite, buf));
	w->fd = -1;
	w->count = count;
	w->spool = spool;
	if ((size_t)snprintf(w->dir, sizeof(w->dir), "%s", pack_dir) >=
	    sizeof(w->dir) ||
	    (rc = tmp_name(w->tmp_pack, sizeof(w->tmp_pack), pack_dir, "pack"))) {
		free(w);
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", pack_dir);
	}
	if ((rc = sb_sha1_init(&w->sum))) {
		free(w);
		return rc;
	}
	if (!(w->e = calloc(count ? count : 1, sizeof(*w->e)))) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((w->fd = mkostemp(w->tmp_pack, O_CLOEXEC)) < 0) {
		w->tmp_pack[0] = '\0';
		rc = io_fail("create a pack in", pack_dir);
		goto fail;
	}
	sb_put_be32(head + 8, count);
	if ((rc = put(w, head, sizeof(head))))
		goto fail;
	*out = w;
	return 0;
fail:
	sb_packwrite_free(w);
	return rc;
}

int sb_packwrite_open(struct sb_packwrite **out, const char *pack_dir,
		      uint32_t count)
{
	return open_pack(out, pack_dir, count, 0);
}

int sb_packwrite_open_spool(struct sb_packwrite **out, const char *pack_dir)
{
	return open_pack(out, pack_dir, 64, 1);
}

/* The next entry; a spool grows its table, a pack has a fixed count. */
static int next_entry(struct sb_packwrite *w, struct entry **out)
{
	struct entry *e;

	if (w->added == w->count) {
		if (!w->spool || w->count > UINT32_MAX / 2)
			return sb_err_set(-EINVAL,
					  "more objects than the pack holds");
		if (!(e = realloc(w->e, 2 * (size_t)w->count * sizeof(*e))))
			return -ENOMEM;
		w->e = e;
		w->count *= 2;
	}
	*out = &w->e[w->added];
	return 0;
}

int sb_packwrite_add(struct sb_packwrite *w, const git_oid *id,
		     git_object_t type, const void *buf, size_t len)
{
	struct entry *e;
	int rc = next_entry(w, &e);

	if (rc)
		return rc;
	git_oid_cpy(&e->id, id);
	e->off = w->off;
	w->crc = (uint32_t)crc32_z(0, NULL, 0);
	if ((rc = put_header(w, type, len)) ||
	    (rc = put_stored(w, buf, len)))
		return rc;
	e->crc = w->crc;
	w->added++;
	return 0;
}

/* A spool forgets everything from start on (start <= w->off). */
static int rewind_to(struct sb_packwrite *w, uint64_t start)
{
	uint64_t flushed = w->off - w->used;

	if (start >= flushed) {
		w->used -= (size_t)(w->off - start);
	} else {
		w->used = 0;
		if (ftruncate(w->fd, (off_t)start) ||
		    lseek(w->fd, (off_t)start, SEEK_SET) < 0)
			return io_fail("truncate", w->tmp_pack);
	}
	w->off = start;
	return 0;
}

int sb_packwrite_drop_last(struct sb_packwrite *w)
{
	int rc;

	if (!w->spool || !w->added)
		return sb_err_set(-EINVAL, "no object to take back");
	if ((rc = rewind_to(w, w->e[w->added - 1].off)))
		w->broken = 1;
	else
		w->added--;
	return rc;
}

/* Reads exactly n bytes; -EAGAIN when the file ends first (it shrank). */
static int read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EAGAIN;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int sb_packwrite_add_fd(struct sb_packwrite *w, int fd, size_t len,
			git_oid *id)
{
	struct sb_sha1 h;
	struct entry *e;
	uint8_t chunk[STORED_MAX];
	char head[32];
	uLong adler = adler32_z(0, NULL, 0);
	size_t k;
	int n, rc;

	if ((rc = next_entry(w, &e)) || (rc = sb_sha1_init(&h)))
		return rc;
	n = snprintf(head, sizeof(head), "blob %zu", len);
	sb_sha1_update(&h, head, (size_t)n + 1);
	e->off = w->off;
	w->crc = (uint32_t)crc32_z(0, NULL, 0);
	rc = put_header(w, GIT_OBJECT_BLOB, len);
	if (!rc)
		rc = put_zhead(w);
	do {
		k = len < sizeof(chunk) ? len : sizeof(chunk);
		if (!rc)
			rc = read_full(fd, chunk, k);
		if (!rc)
			rc = put_block(w, chunk, k, k == len);
		if (!rc) {
			sb_sha1_update(&h, chunk, k);
			adler = adler32_z(adler, chunk, k);
		}
		len -= k;
	} while (!rc && len);
	if (!rc)
		rc = put_adler(w, (uint32_t)adler);
	if (rc) {
		sb_sha1_free(&h);
		if (w->spool && rewind_to(w, e->off))
			w->broken = 1;
		return rc;
	}
	sb_sha1_final(&h, e->id.id);
	git_oid_cpy(id, &e->id);
	e->crc = w->crc;
	w->added++;
	return 0;
}

int sb_packwrite_blob_fd(git_repository *repo, int fd, size_t len,
			 git_oid *id)
{
	struct sb_packwrite *w = NULL;
	git_odb *odb = NULL;
	char dir[PATH_MAX];
	int rc;

	if ((rc = sb_packwrite_dir(repo, dir, sizeof(dir))) ||
	    (rc = sb_packwrite_open(&w, dir, 1)))
		return rc;
	if ((rc = sb_packwrite_add_fd(w, fd, len, id)))
		goto out;
	if (git_repository_odb(&odb, repo)) {
		rc = sb_repo_git_fail("cannot open the object database");
		goto out;
	}
	/* the same bytes stored already: no second copy */
	if (!git_odb_exists(odb, id))
		rc = sb_packwrite_commit(w, NULL);
	if (!rc && git_odb_refresh(odb))
		rc = sb_repo_git_fail("cannot reload the packs");
out:
	git_odb_free(odb);
	sb_packwrite_free(w);
	return rc;
}

static int entry_order(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return git_oid_cmp(&x->id, &y->id);
}

static size_t idx_size(const struct sb_packwrite *w, size_t nlarge)
{
	return 8 + 256 * 4 + (size_t)w->count * (20 + 4 + 4) + nlarge * 8 +
	       2 * SB_SHA1_LEN;
}

/* The index (version 2) of the sorted entries, in memory. */
static int idx_build(struct sb_packwrite *w, const uint8_t packsum[20],
		     uint8_t **out, size_t *outlen)
{
	static const uint8_t magic[8] = { 0xff, 't', 'O', 'c', 0, 0, 0, 2 };
	size_t i, nlarge = 0, len;
	uint8_t *p, *q;
	uint32_t fan[256] = { 0 };

	for (i = 0; i < w->count; i++) {
		if (i && git_oid_equal(&w->e[i - 1].id, &w->e[i].id))
			return sb_err_set(-EINVAL, "an object twice in a pack");
		nlarge += w->e[i].off >= OFF31;
		fan[w->e[i].id.id[0]]++;
	}
	len = idx_size(w, nlarge);
	if (!(p = malloc(len)))
		return -ENOMEM;
	memcpy(p, magic, sizeof(magic));
	q = p + sizeof(magic);
	for (i = 1; i < 256; i++)
		fan[i] += fan[i - 1];
	for (i = 0; i < 256; i++, q += 4)
		sb_put_be32(q, fan[i]);
	for (i = 0; i < w->count; i++, q += 20)
		memcpy(q, w->e[i].id.id, 20);
	for (i = 0; i < w->count; i++, q += 4)
		sb_put_be32(q, w->e[i].crc);
	for (i = 0, nlarge = 0; i < w->count; i++, q += 4)
		sb_put_be32(q, w->e[i].off < OFF31 ? (uint32_t)w->e[i].off :
			    OFF31 | (uint32_t)nlarge++);
	for (i = 0; i < w->count; i++)
		if (w->e[i].off >= OFF31) {
			sb_put_be64(q, w->e[i].off);
			q += 8;
		}
	memcpy(q, packsum, 20);
	q += 20;
	sb_sha1_2(q, p, (size_t)(q - p), "", 0);
	*out = p;
	*outlen = len;
	return 0;
}

static int write_idx(struct sb_packwrite *w, const uint8_t *p, size_t len)
{
	int fd, rc;

	if ((rc = tmp_name(w->tmp_idx, sizeof(w->tmp_idx), w->dir, "idx")))
		return rc;
	if ((fd = mkostemp(w->tmp_idx, O_CLOEXEC)) < 0) {
		w->tmp_idx[0] = '\0';
		return io_fail("create an index in", w->dir);
	}
	rc = write_all(fd, p, len, w->tmp_idx);
	if (!rc && (fchmod(fd, 0444) || fsync(fd)))
		rc = io_fail("write", w->tmp_idx);
	close(fd);
	return rc;
}

/* pack-NAME.pack, then pack-NAME.idx: the index makes it visible. */
static int move_into_place(struct sb_packwrite *w, const uint8_t sum[20])
{
	char hex[41], path[PATH_MAX + 64];
	git_oid id;

	memcpy(id.id, sum, 20);
	git_oid_tostr(hex, sizeof(hex), &id);
	snprintf(path, sizeof(path), "%s/pack-%s.pack", w->dir, hex);
	if (rename(w->tmp_pack, path))
		return io_fail("rename", w->tmp_pack);
	w->tmp_pack[0] = '\0';
	snprintf(path, sizeof(path), "%s/pack-%s.idx", w->dir, hex);
	if (rename(w->tmp_idx, path))
		return io_fail("rename", w->tmp_idx);
	w->tmp_idx[0] = '\0';
	return 0;
}

/*
 * A spool's header gets its count only now, so its checksum is taken by
 * reading the pack back (from the page cache, in the buffer's pieces).
 */
static int spool_sum(struct sb_packwrite *w, uint8_t sum[SB_SHA1_LEN])
{
	uint8_t count[4];
	uint64_t off = 0;
	size_t k;
	ssize_t n;
	int rc;

	if (w->broken)
		return sb_err_set(-EIO, "%s: an object could not be taken back",
				  w->tmp_pack);
	if ((rc = drain(w)))
		return rc;
	w->count = w->added;
	sb_put_be32(count, w->count);
	if (pwrite(w->fd, count, sizeof(count), 8) != sizeof(count))
		return io_fail("write", w->tmp_pack);
	while (off < w->off) {
		k = w->off - off < sizeof(w->buf) ? (size_t)(w->off - off)
						  : sizeof(w->buf);
		n = pread(w->fd, w->buf, k, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_fail("read back", w->tmp_pack);
		if (n == 0)
			return sb_err_set(-EIO, "%s: shorter than written",
					  w->tmp_pack);
		sb_sha1_update(&w->sum, w->buf, (size_t)n);
		off += (uint64_t)n;
	}
	sb_sha1_final(&w->sum, sum);
	return 0;
}

int sb_packwrite_commit(struct sb_packwrite *w, git_oid *name)
{
	uint8_t sum[SB_SHA1_LEN], *idx = NULL;
	size_t idxlen;
	int rc;

	if (w->spool)
		rc = spool_sum(w, sum);
	else if (w->added != w->count)
		return sb_err_set(-EINVAL, "fewer objects than the pack holds");
	else {
		sb_sha1_final(&w->sum, sum);
		rc = drain(w);
	}
	if (rc || (rc = write_all(w->fd, sum, sizeof(sum), w->tmp_pack)))
		return rc;
	if (fchmod(w->fd, 0444) || fsync(w->fd))
		return io_fail("write", w->tmp_pack);
	qsort(w->e, w->count, sizeof(*w->e), entry_order);
	if ((rc = idx_build(w, sum, &idx, &idxlen)))
		return rc;
	rc = write_idx(w, idx, idxlen);
	free(idx);
	if (!rc)
		rc = move_into_place(w, sum);
	if (!rc && name)
		memcpy(name->id, sum, 20);
	return rc;
}

void sb_packwrite_free(struct sb_packwrite *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_pack[0])
		unlink(w->tmp_pack);
	if (w->tmp_idx[0])
		unlink(w->tmp_idx);
	sb_sha1_free(&w->sum);
	free(w->e);
	free(w);
}

void sb_packwrite_id(git_oid *out, git_object_t type, const void *buf,
		     size_t len)
{
	char head[48];
	int n = snprintf(head, sizeof(head), "%s %zu",
			 git_object_type2string(type), len);

	sb_sha1_2(out->id, head, (size_t)n + 1, buf, len);
}

int sb_packwrite_dir(git_repository *repo, char *out, size_t size)
{
	git_buf b = GIT_BUF_INIT;
	int rc = 0;

	if (git_repository_item_path(&b, repo, GIT_REPOSITORY_ITEM_OBJECTS))
		return sb_repo_git_fail("cannot find the object directory");
	if ((size_t)snprintf(out, size, "%s%spack", b.ptr,
			     b.size && b.ptr[b.size - 1] == '/' ? "" : "/") >=
	    size)
		rc = sb_err_set(-ENAMETOOLONG, "%s: path too long", b.ptr);
	git_buf_dispose(&b);
	return rc;
}

void sb_packwrite_sweep(git_repository *repo)
{
	char dir[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	time_t now = time(NULL);
	DIR *d;

	if (sb_packwrite_dir(repo, dir, sizeof(dir)) || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "tmp_sealbox_", 12) &&
		    !fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) &&
		    S_ISREG(sb.st_mode) && now - sb.st_mtime > SWEEP_AGE)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

int sb_oids_push(struct sb_oids *l, const git_oid *id)
{
	size_t alloc = l->alloc ? 2 * l->alloc : 256;
	git_oid *n;

	if (l->n == l->alloc) {
		if (!(n = realloc(l->v, alloc * sizeof(*n))))
			return -ENOMEM;
		l->v = n;
		l->alloc = alloc;
	}
	git_oid_cpy(&l->v[l->n++], id);
	return 0;
}

static int oid_order(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

void sb_oids_unique(struct sb_oids *l)
{
	size_t i, n = 0;

	if (!l->n)
		return;
	qsort(l->v, l->n, sizeof(*l->v), oid_order);
	for (i = 0; i < l->n; i++)
		if (!n || !git_oid_equal(&l->v[n - 1], &l->v[i]))
			git_oid_cpy(&l->v[n++], &l->v[i]);
	l->n = n;
}

uint32_t sb_packwrite_count(const struct sb_packwrite *w)
{
	return w->added;
}

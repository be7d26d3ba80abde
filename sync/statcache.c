#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"
#include "sync/statcache.h"

/*
 * File: MAGIC, then records. A record is
 *   u32 crc32 (of everything after it), u32 body length, body
 *   body: u8 'P' | 'D', u16 path length, path,
 *         'P' only: u64 ino, size; i64 mtime, ctime; u32 mtime_nsec,
 *         ctime_nsec, mode; 20 bytes blob id
 * all little-endian. 'D' deletes like sb_statcache_del(). Replaying the
 * records in order gives the live set; the first record that does not
 * check out ends the log (the rest is a torn or damaged tail).
 */
#define MAGIC "SBSTAT1\n"
#define MAGIC_LEN 8
#define OID_RAW 20
#define REC_HEAD 8
#define PUT_FIXED (1 + 2 + 8 * 4 + 4 * 3 + OID_RAW)
#define DEL_FIXED (1 + 2)
#define PATH_MAXLEN 0xffff
/* Compaction slack: a small log is never rewritten. */
#define COMPACT_MIN 65536

struct node {
	struct sb_statcache_ent e;
	uint64_t hash;
	size_t len;
	char path[];
};

struct sb_statcache {
	char *file;
	struct node **slot;
	size_t cap, n;
	uint8_t *log;		/* records not yet saved */
	size_t loglen, logcap;
	uint64_t filebytes;	/* bytes in the file (valid prefix) */
	uint64_t livebytes;	/* bytes a compacted file would need */
	int rewrite;		/* the file must be rewritten */
};

/* CRC-32 (IEEE 802.3, reflected). */
static uint32_t crc_tab[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	uint32_t c, i, k;

	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_tab[i] = c;
	}
}

static uint32_t sc_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--)
		c = crc_tab[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static uint64_t hash_path(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--) {
		h ^= (uint8_t)*p++;
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int oid_to_raw(uint8_t *raw, const char *hex)
{
	int i, hi, lo;

	for (i = 0; i < OID_RAW; i++) {
		hi = hexval(hex[2 * i]);
		lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * OID_RAW] ? -EINVAL : 0;
}

static void oid_to_hex(char *hex, const uint8_t *raw)
{
	static const char dig[] = "0123456789abcdef";
	int i;

	for (i = 0; i < OID_RAW; i++) {
		hex[2 * i] = dig[raw[i] >> 4];
		hex[2 * i + 1] = dig[raw[i] & 15];
	}
	hex[2 * OID_RAW] = '\0';
}

static size_t put_size(size_t len)
{
	return REC_HEAD + PUT_FIXED + len;
}

/* Hash table: open addressing, linear probing, backward-shift delete. */

static size_t find_slot(const struct sb_statcache *sc, const char *path,
			size_t len, uint64_t h)
{
	size_t i = h & (sc->cap - 1);
	struct node *n;

	while ((n = sc->slot[i])) {
		if (n->hash == h && n->len == len && !memcmp(n->path, path, len))
			break;
		i = (i + 1) & (sc->cap - 1);
	}
	return i;
}

static int grow(struct sb_statcache *sc)
{
	size_t cap = sc->cap ? sc->cap * 2 : 1024, i, j;
	struct node **old = sc->slot, **nw = calloc(cap, sizeof(*nw));

	if (!nw)
		return -ENOMEM;
	for (i = 0; i < sc->cap; i++) {
		if (!old[i])
			continue;
		for (j = old[i]->hash & (cap - 1); nw[j]; j = (j + 1) & (cap - 1))
			;
		nw[j] = old[i];
	}
	free(old);
	sc->slot = nw;
	sc->cap = cap;
	return 0;
}

static void remove_slot(struct sb_statcache *sc, size_t i)
{
	size_t mask = sc->cap - 1, j = i, want;

	sc->livebytes -= put_size(sc->slot[i]->len);
	free(sc->slot[i]);
	sc->slot[i] = NULL;
	sc->n--;
	for (;;) {
		j = (j + 1) & mask;
		if (!sc->slot[j])
			break;
		want = sc->slot[j]->hash & mask;
		/* move j back into the hole unless its home lies in (i, j] */
		if (((j - want) & mask) >= ((j - i) & mask)) {
			sc->slot[i] = sc->slot[j];
			sc->slot[j] = NULL;
			i = j;
		}
	}
}

static int mem_put(struct sb_statcache *sc, const char *path, size_t len,
		   const struct sb_statcache_ent *e)
{
	uint64_t h = hash_path(path, len);
	struct node *n;
	size_t i;

	if ((sc->n + 1) * 2 > sc->cap && grow(sc))
		return -ENOMEM;
	i = find_slot(sc, path, len, h);
	if (sc->slot[i]) {
		sc->slot[i]->e = *e;
		return 0;
	}
	if (!(n = malloc(sizeof(*n) + len + 1)))
		return -ENOMEM;
	n->e = *e;
	n->hash = h;
	n->len = len;
	memcpy(n->path, path, len);
	n->path[len] = '\0';
	sc->slot[i] = n;
	sc->n++;
	sc->livebytes += put_size(len);
	return 0;
}

static int under(const struct node *n, const char *path, size_t len)
{
	return n->len > len && n->path[len] == '/' &&
	       !memcmp(n->path, path, len);
}

/* A cached file has nothing below it; otherwise scan for the prefix. */
static void mem_del(struct sb_statcache *sc, const char *path, size_t len)
{
	size_t i;

	if (!sc->cap)
		return;
	i = find_slot(sc, path, len, hash_path(path, len));
	if (sc->slot[i]) {
		remove_slot(sc, i);
		return;
	}
	/*
	 * A backward shift only moves a node into the hole being visited
	 * or into a slot not visited yet (or, past the wrap, one visited
	 * node into another), so one pass finds every match.
	 */
	for (i = 0; i < sc->cap;) {
		if (sc->slot[i] && under(sc->slot[i], path, len))
			remove_slot(sc, i);
		else
			i++;
	}
}

/* The log (records in memory until sb_statcache_save()). */

static int log_room(struct sb_statcache *sc, size_t need)
{
	size_t cap = sc->logcap ? sc->logcap : 4096;
	uint8_t *p;

	if (sc->loglen + need <= sc->logcap)
		return 0;
	while (cap < sc->loglen + need)
		cap *= 2;
	if (!(p = realloc(sc->log, cap)))
		return -ENOMEM;
	sc->log = p;
	sc->logcap = cap;
	return 0;
}

static size_t rec_encode(uint8_t *p, int type, const char *path, size_t len,
			 const struct sb_statcache_ent *e)
{
	size_t body = (type == 'P' ? PUT_FIXED : DEL_FIXED) + len;
	uint8_t *b = p + REC_HEAD;

	b[0] = (uint8_t)type;
	put_le(b + 1, len, 2);
	memcpy(b + 3, path, len);
	if (type == 'P') {
		b += 3 + len;
		put_le(b, e->ino, 8);
		put_le(b + 8, e->size, 8);
		put_le(b + 16, (uint64_t)e->mtime_sec, 8);
		put_le(b + 24, (uint64_t)e->ctime_sec, 8);
		put_le(b + 32, e->mtime_nsec, 4);
		put_le(b + 36, e->ctime_nsec, 4);
		put_le(b + 40, e->mode, 4);
		oid_to_raw(b + 44, e->oid);
	}
	put_le(p + 4, body, 4);
	put_le(p, sc_crc32(p + 4, 4 + body), 4);
	return REC_HEAD + body;
}

/*
 * Unsaved records past this go to the file before more are added, so the
 * log stays small: the commit of 20,000 renamed messages grew it to
 * 8 MiB. Records stand alone and name blobs already stored, so saving
 * some early is as good as saving them all at the end.
 */
#define LOG_FLUSH (512u << 10)

static int log_add(struct sb_statcache *sc, int type, const char *path,
		   size_t len, const struct sb_statcache_ent *e)
{
	int rc = 0;

	if (sc->loglen && sc->loglen + put_size(len) > LOG_FLUSH)
		rc = sb_statcache_save(sc);
	if (!rc)
		rc = log_room(sc, put_size(len));

	if (!rc)
		sc->loglen += rec_encode(sc->log + sc->loglen, type, path, len, e);
	return rc;
}

/* Loading. */

static int rec_apply(struct sb_statcache *sc, const uint8_t *b, size_t body)
{
	struct sb_statcache_ent e;
	size_t len;

	if (body < DEL_FIXED)
		return -EINVAL;
	len = (size_t)get_le(b + 1, 2);
	if (!len || memchr(b + 3, '\0', len))
		return -EINVAL;
	if (b[0] == 'D' && body == DEL_FIXED + len) {
		mem_del(sc, (const char *)b + 3, len);
		return 0;
	}
	if (b[0] != 'P' || body != PUT_FIXED + len)
		return -EINVAL;
	b += 3 + len;
	e.ino = get_le(b, 8);
	e.size = get_le(b + 8, 8);
	e.mtime_sec = (int64_t)get_le(b + 16, 8);
	e.ctime_sec = (int64_t)get_le(b + 24, 8);
	e.mtime_nsec = (uint32_t)get_le(b + 32, 4);
	e.ctime_nsec = (uint32_t)get_le(b + 36, 4);
	e.mode = (uint32_t)get_le(b + 40, 4);
	oid_to_hex(e.oid, b + 44);
	return mem_put(sc, (const char *)b - len, len, &e) ? -ENOMEM : 0;
}

/* Replays buf; returns the length of the valid prefix, or -ENOMEM. */
static int64_t replay(struct sb_statcache *sc, const uint8_t *buf, size_t n)
{
	size_t off = MAGIC_LEN, body;
	int rc;

	if (n < MAGIC_LEN || memcmp(buf, MAGIC, MAGIC_LEN))
		return 0;
	while (n - off >= REC_HEAD) {
		body = (size_t)get_le(buf + off + 4, 4);
		if (body > n - off - REC_HEAD ||
		    body > PUT_FIXED + PATH_MAXLEN ||
		    sc_crc32(buf + off + 4, 4 + body) != get_le(buf + off, 4))
			break;
		rc = rec_apply(sc, buf + off + REC_HEAD, body);
		if (rc == -ENOMEM)
			return rc;
		if (rc)
			break;
		off += REC_HEAD + body;
	}
	return (int64_t)off;
}

static int read_whole(const char *file, uint8_t **buf, size_t *n)
{
	struct stat st;
	ssize_t r;
	size_t got = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	*buf = NULL;
	*n = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (!(*buf = malloc((size_t)st.st_size + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size &&
	       (r = read(fd, *buf + got, (size_t)st.st_size - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		got += (size_t)r;
	}
	*n = got;
out:
	close(fd);
	return rc;
}

int sb_statcache_open(struct sb_statcache **out, const char *file)
{
	struct sb_statcache *sc = calloc(1, sizeof(*sc));
	uint8_t *buf = NULL;
	int64_t valid;
	size_t n;
	int rc;

	pthread_once(&crc_once, crc_init);
	if (!sc || !(sc->file = strdup(file))) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = read_whole(file, &buf, &n)))
		goto fail_io;
	if ((rc = grow(sc)))
		goto fail;
	if ((valid = replay(sc, buf, n)) < 0) {
		rc = (int)valid;
		goto fail;
	}
	sc->filebytes = (uint64_t)valid;
	sc->rewrite = (size_t)valid != n || !valid;
	free(buf);
	*out = sc;
	return 0;
fail_io:
	rc = sb_err_set(rc, "%s: %s", file, strerror(-rc));
fail:
	free(buf);
	sb_statcache_free(sc);
	return rc;
}

static void clear_nodes(struct sb_statcache *sc)
{
	size_t i;

	for (i = 0; i < sc->cap; i++) {
		free(sc->slot[i]);
		sc->slot[i] = NULL;
	}
	sc->n = 0;
	sc->livebytes = 0;
}

void sb_statcache_free(struct sb_statcache *sc)
{
	if (!sc)
		return;
	clear_nodes(sc);
	free(sc->slot);
	free(sc->log);
	free(sc->file);
	free(sc);
}

int sb_statcache_get(struct sb_statcache *sc, const char *path,
		     struct sb_statcache_ent *e)
{
	size_t len = strlen(path), i;

	if (!sc->n)
		return -ENOENT;
	i = find_slot(sc, path, len, hash_path(path, len));
	if (!sc->slot[i])
		return -ENOENT;
	*e = sc->slot[i]->e;
	return 0;
}

static void ent_from_stat(struct sb_statcache_ent *e, const struct stat *st)
{
	e->ino = (uint64_t)st->st_ino;
	e->size = (uint64_t)st->st_size;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	e->ctime_sec = st->st_ctim.tv_sec;
	e->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	e->mode = st->st_mode;
}

int sb_statcache_put(struct sb_statcache *sc, const char *path,
		     const struct stat *st, const char oid[SB_OID_HEX])
{
	struct sb_statcache_ent e;
	uint8_t raw[OID_RAW];
	size_t len = strlen(path);
	int rc;

	if (!len || len > PATH_MAXLEN)
		return sb_err_set(-EINVAL, "stat cache: bad path length");
	if (oid_to_raw(raw, oid))
		return sb_err_set(-EINVAL, "stat cache: bad object id");
	ent_from_stat(&e, st);
	memcpy(e.oid, oid, SB_OID_HEX - 1);
	e.oid[SB_OID_HEX - 1] = '\0';
	if ((rc = log_add(sc, 'P', path, len, &e)))
		return rc;
	if ((rc = mem_put(sc, path, len, &e)))
		sc->loglen -= put_size(len);
	return rc;
}

int sb_statcache_del(struct sb_statcache *sc, const char *path)
{
	size_t len = strlen(path);
	int rc;

	if (!len || len > PATH_MAXLEN)
		return sb_err_set(-EINVAL, "stat cache: bad path length");
	if ((rc = log_add(sc, 'D', path, len, NULL)))
		return rc;
	mem_del(sc, path, len);
	return 0;
}

int sb_statcache_fresh(const struct sb_statcache_ent *e,
		       const struct stat *st)
{
	return e->ino == (uint64_t)st->st_ino &&
	       e->size == (uint64_t)st->st_size &&
	       e->mtime_sec == st->st_mtim.tv_sec &&
	       e->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec &&
	       e->ctime_sec == st->st_ctim.tv_sec &&
	       e->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec &&
	       e->mode == (uint32_t)st->st_mode;
}

static int cmp_node(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a;
	const struct node *y = *(struct node *const *)b;

	return strcmp(x->path, y->path);
}

/* The live nodes, sorted by path; *v malloc'd. */
static int sorted_nodes(struct sb_statcache *sc, struct node ***v)
{
	size_t i, k = 0;

	if (!(*v = malloc((sc->n ? sc->n : 1) * sizeof(**v))))
		return -ENOMEM;
	for (i = 0; i < sc->cap; i++)
		if (sc->slot[i])
			(*v)[k++] = sc->slot[i];
	qsort(*v, k, sizeof(**v), cmp_node);
	return 0;
}

int sb_statcache_each(struct sb_statcache *sc, sb_statcache_fn fn,
		      void *arg)
{
	struct node **v;
	size_t i, n = sc->n;
	int rc = sorted_nodes(sc, &v);

	for (i = 0; !rc && i < n; i++)
		rc = fn(v[i]->path, &v[i]->e, arg);
	free(v);
	return rc;
}

void sb_statcache_reset(struct sb_statcache *sc)
{
	clear_nodes(sc);
	sc->loglen = 0;
	sc->rewrite = 1;
}

/* Saving. */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_parent(const char *file)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	int fd, rc = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - file) >= sizeof(dir))
		return -ENAMETOOLONG;
	else
		snprintf(dir, sizeof(dir), "%.*s",
			 slash == file ? 1 : (int)(slash - file), file);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

static int compact_buf(struct sb_statcache *sc, uint8_t **out, size_t *n)
{
	struct node **v;
	uint8_t *buf;
	size_t i, off = MAGIC_LEN;
	int rc = sorted_nodes(sc, &v);

	if (rc)
		return rc;
	if (!(buf = malloc(MAGIC_LEN + sc->livebytes))) {
		free(v);
		return -ENOMEM;
	}
	memcpy(buf, MAGIC, MAGIC_LEN);
	for (i = 0; i < sc->n; i++)
		off += rec_encode(buf + off, 'P', v[i]->path, v[i]->len,
				  &v[i]->e);
	free(v);
	*out = buf;
	*n = off;
	return 0;
}

/* Writes the live set to file.tmp, fsyncs, renames over file. */
static int save_compact(struct sb_statcache *sc)
{
	char tmp[PATH_MAX];
	uint8_t *buf = NULL;
	size_t n;
	int fd = -1, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", sc->file) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	if ((rc = compact_buf(sc, &buf, &n)))
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || (rc = write_all(fd, buf, n)) || fsync(fd) ||
	    rename(tmp, sc->file))
		rc = rc ? rc : -errno;
	if (fd >= 0)
		close(fd);
	if (!rc)
		rc = fsync_parent(sc->file);
	else
		unlink(tmp);
	free(buf);
	if (!rc) {
		sc->filebytes = n;
		sc->rewrite = 0;
	}
	return rc;
}

static int save_append(struct sb_statcache *sc)
{
	int fd = open(sc->file, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write_all(fd, sc->log, sc->loglen);
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (rc)
		sc->rewrite = 1;	/* a partial append may follow */
	else
		sc->filebytes += sc->loglen;
	return rc;
}

int sb_statcache_save(struct sb_statcache *sc)
{
	uint64_t total = sc->filebytes + sc->loglen;
	int rc;

	if (!sc->loglen && !sc->rewrite)
		return 0;
	if (sc->rewrite || total > 2 * sc->livebytes + COMPACT_MIN)
		rc = save_compact(sc);
	else
		rc = save_append(sc);
	if (rc)
		return sb_err_set(rc, "%s: cannot save the stat cache: %s",
				  sc->file, strerror(-rc));
	sc->loglen = 0;
	return 0;
}

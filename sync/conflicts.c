#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/content.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/conflicts.h"
#include "sync/pim_edit.h"
#include "sync/textbuf.h"

/*
 * A record, before sealing: "sealbox-conflict 1\n", then one field per
 * line pair "<key> <length>\n<bytes>\n" (paths may hold any byte but NUL,
 * so every value carries its length). Absent values are left out.
 */

#define REC_MAGIC "sealbox-conflict 1\n"
#define REC_MAX (1u << 20)

static void put_field(struct sb_textbuf *b, const char *key, const char *v)
{
	char head[64];

	if (!v)
		return;
	snprintf(head, sizeof(head), "%s %zu\n", key, strlen(v));
	sb_textbuf_str(b, head);
	sb_textbuf_str(b, v);
	sb_textbuf_str(b, "\n");
}

static void put_num(struct sb_textbuf *b, const char *key, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, v);
	put_field(b, key, num);
}

static int rec_encode(struct sb_textbuf *b, const struct sb_conflict_rec *r)
{
	sb_textbuf_str(b, REC_MAGIC);
	put_num(b, "id", r->id);
	put_num(b, "when", r->when);
	put_field(b, "merge", r->merge[0] ? r->merge : NULL);
	put_field(b, "path", r->c.path);
	put_field(b, "kept", r->c.kept);
	put_field(b, "where", r->c.where);
	put_field(b, "what", r->c.what);
	put_field(b, "line", r->c.line);
	put_field(b, "loser", r->c.loser);
	put_field(b, "old-blob", r->c.old_blob[0] ? r->c.old_blob : NULL);
	put_num(b, "restored", r->restored);
	return b->oom ? -ENOMEM : 0;
}

static void rec_clear(struct sb_conflict_rec *r)
{
	char **s[] = { &r->c.path, &r->c.kept, &r->c.where, &r->c.what,
		       &r->c.line, &r->c.loser };
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (*s[i])
			sb_wipe(*s[i], strlen(*s[i]));
		free(*s[i]);
	}
	memset(r, 0, sizeof(*r));
}

static int set_field(struct sb_conflict_rec *r, const char *key,
		     const char *v, size_t n)
{
	char **dst = NULL, *end;

	if (!strcmp(key, "id"))
		r->id = (unsigned)strtoul(v, &end, 10);
	else if (!strcmp(key, "when"))
		r->when = strtoll(v, &end, 10);
	else if (!strcmp(key, "restored"))
		r->restored = (int)strtol(v, &end, 10);
	else if (!strcmp(key, "merge") || !strcmp(key, "old-blob")) {
		if (n != SB_OID_HEX - 1)
			return SB_EFORMAT;
		memcpy(*key == 'm' ? r->merge : r->c.old_blob, v, n + 1);
		return 0;
	} else if (!strcmp(key, "path"))
		dst = &r->c.path;
	else if (!strcmp(key, "kept"))
		dst = &r->c.kept;
	else if (!strcmp(key, "where"))
		dst = &r->c.where;
	else if (!strcmp(key, "what"))
		dst = &r->c.what;
	else if (!strcmp(key, "line"))
		dst = &r->c.line;
	else if (!strcmp(key, "loser"))
		dst = &r->c.loser;
	else
		return 0;	/* a newer version's field */
	if (!dst)
		return *end ? SB_EFORMAT : 0;
	if (*dst || memchr(v, '\0', n))
		return SB_EFORMAT;
	*dst = strndup(v, n);
	return *dst ? 0 : -ENOMEM;
}

/* Parses "<key> <length>\n" at buf[*off] (not NUL-terminated). */
static int field_head(const char *buf, size_t len, size_t *off, char *key,
		      size_t *n)
{
	size_t i = *off, k = 0;

	while (i < len && buf[i] != ' ' && k < 31)
		key[k++] = buf[i++];
	key[k] = '\0';
	if (!k || i >= len || buf[i++] != ' ' || i >= len ||
	    buf[i] < '0' || buf[i] > '9')
		return SB_EFORMAT;
	for (*n = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (*n > REC_MAX)
			return SB_EFORMAT;
		*n = *n * 10 + (size_t)(buf[i] - '0');
	}
	if (i >= len || buf[i] != '\n')
		return SB_EFORMAT;
	*off = i + 1;
	return 0;
}

/* Parses a record of len bytes. */
static int rec_decode(struct sb_conflict_rec *r, char *buf, size_t len)
{
	size_t mlen = strlen(REC_MAGIC), n, off = mlen;
	char key[32];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (len < mlen || memcmp(buf, REC_MAGIC, mlen))
		return SB_EFORMAT;
	while (!rc && off < len) {
		if ((rc = field_head(buf, len, &off, key, &n)))
			return rc;
		if (n >= len - off || buf[off + n] != '\n')
			return SB_EFORMAT;
		buf[off + n] = '\0';
		rc = set_field(r, key, buf + off, n);
		buf[off + n] = '\n';
		off += n + 1;
	}
	if (!rc && !r->c.path)
		rc = SB_EFORMAT;
	return rc;
}

/* Sealing with the store's content keys (fs/store.h, for sync/). */
static int rec_seal(struct sb_store *st, uint8_t **out, size_t *outlen,
		    const struct sb_textbuf *b, int64_t when)
{
	struct sb_meta meta = { when, 0 };

	return sb_store_seal(st, out, outlen, &meta, b->p, b->len);
}

static int rec_unseal(struct sb_store *st, uint8_t **out, size_t *outlen,
		      const uint8_t *in, size_t inlen)
{
	return sb_store_unseal(st, out, outlen, NULL, in, inlen);
}

/* ---- record files ---- */

static int join(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The id a record file name stands for, or 0 for anything else. */
static unsigned name_id(const char *name)
{
	unsigned long v;
	char *end;

	if (*name < '1' || *name > '9' || strlen(name) > 9)
		return 0;
	v = strtoul(name, &end, 10);
	return *end ? 0 : (unsigned)v;
}

/* mkdir -p dir, 0700 (local state is private). */
static int ensure_dir(const char *dir)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n >= sizeof(buf))
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", dir);
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return sb_err_set(-errno, "cannot create %s: %s", buf,
					  strerror(errno));
		buf[i] = dir[i];
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

/* Writes a sealed record to a new temporary file in dir, named into tmp. */
static int write_tmp(char tmp[PATH_MAX], const char *dir, const uint8_t *buf,
		     size_t len)
{
	char name[64];
	ssize_t w;
	int fd, rc;

	snprintf(name, sizeof(name), ".tmp.%ld.%lx", (long)getpid(),
		 (unsigned long)random());
	if ((rc = join(tmp, dir, name)))
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return sb_err_set(-errno, "cannot create %s: %s", tmp,
				  strerror(errno));
	w = write(fd, buf, len);
	rc = w == (ssize_t)len && !fsync(fd) ? 0 : -(errno ? errno : EIO);
	if (close(fd) && !rc)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		sb_err_set(rc, "cannot write %s: %s", tmp, strerror(-rc));
	}
	return rc;
}

static int seal_rec(struct sb_store *st, uint8_t **out, size_t *outlen,
		    const struct sb_conflict_rec *r)
{
	struct sb_textbuf b = { 0 };
	int rc = rec_encode(&b, r);

	if (!rc)
		rc = rec_seal(st, out, outlen, &b, r->when);
	sb_textbuf_free(&b);
	return rc;
}

/* The largest record id in dir (0 when none). */
static int max_id(const char *dir, unsigned *max)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	unsigned id;

	*max = 0;
	if (!d)
		return errno == ENOENT ? 0 : sb_err_set(-errno, "cannot read "
				"%s: %s", dir, strerror(errno));
	while ((de = readdir(d)))
		if ((id = name_id(de->d_name)) > *max)
			*max = id;
	closedir(d);
	return 0;
}

/* Writes a new record under the next free id (r->id is set). */
static int add_rec(struct sb_store *st, const char *dir,
		   struct sb_conflict_rec *r)
{
	char tmp[PATH_MAX], path[PATH_MAX], name[16];
	uint8_t *sealed = NULL;
	size_t len = 0;
	unsigned id;
	int rc, tries;

	if ((rc = max_id(dir, &id)))
		return rc;
	for (tries = 0; tries < 100; tries++) {
		r->id = ++id;
		if ((rc = seal_rec(st, &sealed, &len, r)) ||
		    (rc = write_tmp(tmp, dir, sealed, len)))
			break;
		free(sealed);
		sealed = NULL;
		snprintf(name, sizeof(name), "%u", r->id);
		if ((rc = join(path, dir, name)))
			break;
		/* link() never replaces: a concurrent writer takes another id */
		rc = link(tmp, path) ? -errno : 0;
		unlink(tmp);
		if (rc != -EEXIST)
			break;
	}
	free(sealed);
	if (rc && rc != -ENOMEM && rc > SB_EBASE)
		sb_err_set(rc, "cannot record a conflict in %s: %s", dir,
			   strerror(-rc));
	return rc ? rc : fsync_dir(dir);
}

/* Replaces the record file of r->id with r. */
static int put_rec(struct sb_store *st, const char *dir,
		   const struct sb_conflict_rec *r)
{
	char tmp[PATH_MAX], path[PATH_MAX], name[16];
	uint8_t *sealed = NULL;
	size_t len = 0;
	int rc;

	snprintf(name, sizeof(name), "%u", r->id);
	if ((rc = join(path, dir, name)) ||
	    (rc = seal_rec(st, &sealed, &len, r)) ||
	    (rc = write_tmp(tmp, dir, sealed, len)))
		goto out;
	if (rename(tmp, path)) {
		rc = sb_err_set(-errno, "cannot replace %s: %s", path,
				strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = fsync_dir(dir);
out:
	free(sealed);
	return rc;
}

static int read_all(const char *path, uint8_t **buf, size_t *len)
{
	struct stat sb;
	uint8_t *p = NULL;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > sb_content_cipher_size(REC_MAX)) {
		rc = sb_err_set(SB_EFORMAT, "%s is not a conflict record",
				path);
		goto out;
	}
	p = malloc((size_t)sb.st_size + 1);
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	n = read(fd, p, (size_t)sb.st_size);
	if (n != sb.st_size) {
		rc = sb_err_set(-EIO, "cannot read %s", path);
		free(p);
		goto out;
	}
	*buf = p;
	*len = (size_t)n;
out:
	close(fd);
	return rc;
}

/* Reads and unseals the record id; -ENOENT when there is none. */
static int get_rec(struct sb_store *st, const char *dir, unsigned id,
		   struct sb_conflict_rec *r)
{
	char path[PATH_MAX], name[16];
	uint8_t *sealed = NULL, *plain = NULL;
	size_t slen = 0, plen = 0;
	int rc;

	snprintf(name, sizeof(name), "%u", id);
	if ((rc = join(path, dir, name)))
		return rc;
	rc = read_all(path, &sealed, &slen);
	if (rc == -ENOENT)
		return sb_err_set(-ENOENT, "no kept version %u", id);
	if (rc)
		return rc;
	rc = rec_unseal(st, &plain, &plen, sealed, slen);
	free(sealed);
	if (rc)
		return sb_err_set(rc, "%s does not decrypt: %s", path,
				  sb_err_str(rc));
	rc = rec_decode(r, (char *)plain, plen);
	sb_wipe(plain, plen);
	free(plain);
	if (!rc && r->id != id)
		rc = SB_EFORMAT;
	if (rc) {
		rec_clear(r);
		if (rc == SB_EFORMAT)
			sb_err_set(rc, "%s is not a conflict record", path);
	}
	return rc;
}

/* ---- the public API ---- */

int sb_conflicts_record(struct sb_store *st, const char *dir,
			const struct sb_merge_report *rep, const char *merge,
			int64_t when)
{
	struct sb_conflict_rec r;
	size_t i;
	int rc = 0;

	if (!rep->nconflicts)
		return 0;
	if ((rc = ensure_dir(dir)))
		return rc;
	for (i = 0; !rc && i < rep->nconflicts; i++) {
		memset(&r, 0, sizeof(r));
		r.when = when;
		snprintf(r.merge, sizeof(r.merge), "%s", merge ? merge : "");
		r.c = rep->conflicts[i];	/* borrowed: not cleared */
		if (!r.c.path)
			rc = sb_err_set(-EINVAL, "a conflict without a path");
		else
			rc = add_rec(st, dir, &r);
	}
	return rc;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct sb_conflict_rec *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int list_add(struct sb_conflict_list *l, size_t *cap,
		    const struct sb_conflict_rec *r)
{
	struct sb_conflict_rec *p;

	if (l->n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		p = realloc(l->recs, *cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->recs = p;
	}
	l->recs[l->n++] = *r;
	return 0;
}

static int list_dir(struct sb_conflict_list *l, struct sb_store *st,
		    const char *dir, DIR *d)
{
	struct sb_conflict_rec r;
	struct dirent *de;
	size_t cap = 0;
	unsigned id;
	int rc = 0;

	while (!rc && (de = readdir(d))) {
		if (!(id = name_id(de->d_name)))
			continue;
		rc = get_rec(st, dir, id, &r);
		if (rc == -ENOENT) {	/* dropped meanwhile */
			rc = 0;
			continue;
		}
		if (!rc && (rc = list_add(l, &cap, &r)))
			rec_clear(&r);
	}
	return rc;
}

int sb_conflicts_list(struct sb_conflict_list **out, struct sb_store *st,
		      const char *dir)
{
	struct sb_conflict_list *l = calloc(1, sizeof(*l));
	DIR *d;
	int rc = 0;

	if (!l)
		return -ENOMEM;
	d = opendir(dir);
	if (d) {
		rc = list_dir(l, st, dir, d);
		closedir(d);
	} else if (errno != ENOENT) {
		rc = sb_err_set(-errno, "cannot read %s: %s", dir,
				strerror(errno));
	}
	if (rc) {
		sb_conflicts_list_free(l);
		return rc;
	}
	if (l->n)
		qsort(l->recs, l->n, sizeof(*l->recs), rec_cmp);
	*out = l;
	return 0;
}

void sb_conflicts_list_free(struct sb_conflict_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		rec_clear(&l->recs[i]);
	free(l->recs);
	free(l);
}

int sb_conflicts_drop(const char *dir, unsigned id)
{
	char path[PATH_MAX], name[16];
	int rc;

	snprintf(name, sizeof(name), "%u", id);
	if (!id || (rc = join(path, dir, name)))
		return sb_err_set(-ENOENT, "no kept version %u", id);
	if (unlink(path))
		return errno == ENOENT ? sb_err_set(-ENOENT, "no kept version "
						    "%u", id)
				       : sb_err_set(-errno, "cannot remove %s: "
						    "%s", path, strerror(errno));
	return fsync_dir(dir);
}

/* ---- restoring ---- */

static int restore_prop(struct sb_store *st, const struct sb_merge_conflict *c)
{
	struct stat sb;
	uint8_t *buf = NULL;
	char *text = NULL;
	size_t len = 0, tlen = 0;
	int rc;

	if ((rc = sb_store_stat(st, c->path, &sb)) ||
	    (rc = sb_store_read_file(st, c->path, &buf, &len, NULL)))
		goto out;
	rc = sb_pim_replace_prop(&text, &tlen, (const char *)buf, len,
				 c->where, c->what, c->line);
	if (!rc)
		rc = sb_store_write_file(st, c->path, text, tlen,
					 sb.st_mode & 07777, NULL);
out:
	if (buf)
		sb_wipe(buf, len);
	if (text)
		sb_wipe(text, tlen);
	free(buf);
	free(text);
	return rc;
}

/* The directory part of a plaintext path ("" for a top-level name). */
static void parent_of(char *buf, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(buf, path, n);
	buf[n] = '\0';
}

static int restore_kept(struct sb_store *st, const struct sb_merge_conflict *c)
{
	char dir[PATH_MAX];
	struct sb_meta meta;
	struct timespec ts;
	struct stat sb;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = sb_store_stat(st, c->kept, &sb)) ||
	    (rc = sb_store_read_file(st, c->kept, &buf, &len, &meta)))
		goto out;
	ts.tv_sec = (time_t)meta.mtime_sec;
	ts.tv_nsec = (long)meta.mtime_nsec;
	rc = sb_store_write_file(st, c->path, buf, len, sb.st_mode & 07777,
				 &ts);
	if (rc == -ENOENT) {	/* its folder went meanwhile */
		parent_of(dir, sizeof(dir), c->path);
		if (!(rc = sb_store_mkdir(st, dir, 0700)))
			rc = sb_store_write_file(st, c->path, buf, len,
						 sb.st_mode & 07777, &ts);
	}
	if (!rc)
		rc = sb_store_unlink(st, c->kept);
out:
	if (buf)
		sb_wipe(buf, len);
	free(buf);
	if (rc == -ENOENT)
		sb_err_set(rc, "%s is gone", c->kept);
	return rc;
}

int sb_conflicts_restore(struct sb_store *st, struct sb_repo *r,
			 const char *dir, unsigned id)
{
	struct sb_conflict_rec rec;
	int rc;

	(void)r;
	if ((rc = get_rec(st, dir, id, &rec)))
		return rc;
	if (rec.restored)
		rc = sb_err_set(-EALREADY, "kept version %u was restored "
				"already", id);
	else if (rec.c.kept)
		rc = restore_kept(st, &rec.c);
	else if (rec.c.where && rec.c.what)
		rc = restore_prop(st, &rec.c);
	else
		rc = sb_err_set(SB_EFORMAT, "kept version %u holds nothing to "
				"restore", id);
	if (!rc) {
		rec.restored = 1;
		rc = put_rec(st, dir, &rec);
	}
	rec_clear(&rec);
	return rc;
}

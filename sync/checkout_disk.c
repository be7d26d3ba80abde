#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/names.h"
#include "sync/checkout.h"
#include "sync/checkout_disk.h"
#include "sync/ignore.h"
#include "sync/repo_git.h"

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

/* Writing. */

static int full_write(int fd, const void *p, size_t len)
{
	const char *b = p;
	ssize_t n;

	while (len) {
		n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int tmp_path(char *buf, size_t size, const char *spath)
{
	char dir[PATH_MAX];
	uint8_t rnd[8];
	int n;

	sb_checkout_dirname_of(dir, sizeof(dir), spath);
	sb_random_id(rnd, sizeof(rnd));
	n = snprintf(buf, size, "%s/" SB_STORE_TMP
		     "%02x%02x%02x%02x%02x%02x%02x%02x", dir, rnd[0], rnd[1],
		     rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

static mode_t file_perm(const struct op *o, const struct stat *old, int had)
{
	mode_t exec = o->mode == GIT_FILEMODE_BLOB_EXECUTABLE;
	mode_t base;

	if (had && S_ISREG(old->st_mode))
		base = old->st_mode & 0666;
	else
		base = o->kind == K_META ? 0644 : 0600;
	return exec ? base | ((base & 0444) >> 2) : base;
}

/* The blob's bytes to a new temporary file, with the header's mtime. */
static int write_tmp(struct co *c, const struct op *o, const char *tmp,
		     const void *buf, size_t len, mode_t perm)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	struct sb_meta meta;
	int fd, rc;

	fd = openat(c->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, perm);
	if (fd < 0)
		return -errno;
	rc = full_write(fd, buf, len);
	/* a blob that does not decrypt keeps the time of writing */
	if (!rc && o->kind == K_ENTRY &&
	    !sb_store_header_meta(c->st, &meta, buf, len)) {
		ts[1].tv_sec = (time_t)meta.mtime_sec;
		ts[1].tv_nsec = (long)meta.mtime_nsec;
		if (futimens(fd, ts))
			rc = -errno;
	}
	if (!rc && fchmod(fd, perm))
		rc = -errno;
	close(fd);
	return rc;
}

static int put_cache(struct co *c, const struct op *o)
{
	char hex[SB_OID_HEX];
	struct stat st;

	if (fstatat(c->rootfd, o->spath, &st, AT_SYMLINK_NOFOLLOW))
		return sb_err_set(-errno, "%s: %s", o->spath, strerror(errno));
	git_oid_tostr(hex, sizeof(hex), &o->to);
	return sb_statcache_put(c->sc, o->spath, &st, hex);
}

/* 1 when what is at spath is still what sb_checkout_classify() saw. */
static int unchanged_since(struct co *c, const struct pend *p)
{
	struct stat st;

	if (fstatat(c->rootfd, p->o->spath, &st, AT_SYMLINK_NOFOLLOW))
		return !p->had;
	return p->had && st.st_ino == p->pre.st_ino &&
	       st.st_size == p->pre.st_size &&
	       st.st_mtim.tv_sec == p->pre.st_mtim.tv_sec &&
	       st.st_mtim.tv_nsec == p->pre.st_mtim.tv_nsec &&
	       st.st_ctim.tv_sec == p->pre.st_ctim.tv_sec &&
	       st.st_ctim.tv_nsec == p->pre.st_ctim.tv_nsec;
}

static int rename_one(struct co *c, struct pend *p)
{
	struct op *o = p->o;
	int rc;

	o->done = 1;
	if (o->kind != K_MARKER && o->kind != K_SIDECAR &&
	    !unchanged_since(c, p)) {
		unlinkat(c->rootfd, p->tmp, 0);
		c->res.kept++;	/* changed meanwhile */
		return 0;
	}
	if (renameat(c->rootfd, p->tmp, c->rootfd, o->spath)) {
		rc = -errno;
		unlinkat(c->rootfd, p->tmp, 0);
		return sb_err_set(rc, "cannot check out %s: %s", o->spath,
				  strerror(-rc));
	}
	if ((rc = put_cache(c, o)) ||
	    (rc = sb_checkout_parent_changed(c, o->spath)))
		return rc;
	if (o->kind == K_ENTRY || o->kind == K_META)
		c->res.written++;
	if (o->kind == K_ENTRY)
		sb_checkout_notify(c, o->spath);
	return 0;
}

/* The batch: durable, then renamed in order. */
static int flush(struct co *c)
{
	size_t i;
	int rc = 0;

	if (!c->npend)
		return 0;
	if (syncfs(c->rootfd))
		rc = sb_err_set(-errno, "cannot sync the store: %s",
				strerror(errno));
	for (i = 0; !rc && i < c->npend; i++)
		rc = rename_one(c, &c->pend[i]);
	for (; i < c->npend; i++)
		unlinkat(c->rootfd, c->pend[i].tmp, 0);
	c->npend = 0;
	return rc;
}

static int write_blob(struct co *c, struct op *o, const struct stat *old,
		      int had)
{
	struct pend *p;
	git_blob *b = NULL;
	const void *buf;
	size_t len;
	int rc;

	if (!c->pend && !(c->pend = malloc(BATCH * sizeof(*c->pend))))
		return -ENOMEM;
	p = &c->pend[c->npend];
	p->o = o;
	p->had = had;
	if (had)
		p->pre = *old;
	if (git_blob_lookup(&b, c->g, &o->to))
		return fail("cannot read a blob to check out");
	buf = git_blob_rawcontent(b);
	len = (size_t)git_blob_rawsize(b);
	rc = tmp_path(p->tmp, sizeof(p->tmp), o->spath);
	if (!rc && o->mode == GIT_FILEMODE_LINK) {
		char *target = strndup(buf, len);

		rc = !target ? -ENOMEM
		     : symlinkat(target, c->rootfd, p->tmp) ? -errno : 0;
		free(target);
	} else if (!rc) {
		rc = write_tmp(c, o, p->tmp, buf, len, file_perm(o, old, had));
	}
	git_blob_free(b);
	if (rc) {
		unlinkat(c->rootfd, p->tmp, 0);
		return sb_err_set(rc, "cannot check out %s: %s", o->spath,
				  sb_err_str(rc));
	}
	o->done = 1;
	if (++c->npend == BATCH)
		return flush(c);
	return 0;
}

static int do_write(struct co *c, struct op *o);
static int do_remove(struct co *c, struct op *o);

/* A blob of to at spath that is no op of ours (a directory's marker). */
static int write_aux(struct co *c, const char *spath)
{
	struct op *o = sb_checkout_find_op(c, spath);

	if (!o || !o->has_to || o->done)
		return 0;
	return do_write(c, o);
}

/* Creates the backing directory dir: sidecar, directory, marker. */
static int make_dir(struct co *c, const char *dir)
{
	char aux[PATH_MAX + 8];
	int rc = 0;

	if (sb_checkout_kind_of(dir) == K_ENTRY) {
		snprintf(aux, sizeof(aux), "%s.n", dir);
		rc = write_aux(c, aux);
	}
	/* a directory appears after its sidecar, before its marker */
	if (!rc)
		rc = flush(c);
	if (!rc && mkdirat(c->rootfd, dir, dir[0] == '.' ? 0755 : 0700) &&
	    errno != EEXIST)
		rc = sb_err_set(-errno, "cannot create %s: %s", dir,
				strerror(errno));
	if (rc || dir[0] == '.')
		return rc;
	snprintf(aux, sizeof(aux), "%s/" SB_STORE_MARKER, dir);
	if (!(rc = write_aux(c, aux)) &&
	    !(rc = sb_checkout_parent_changed(c, dir)))
		rc = sb_checkout_dir_changed(c, dir);
	return rc;
}

/*
 * The directories above spath, from the top: created when missing; a
 * file of from in the way is removed first. 1 when something of the
 * user's is in the way (the write waits for the removals).
 */
static int make_parents(struct co *c, const char *spath)
{
	char dir[PATH_MAX];
	const char *p = spath;
	struct stat st;
	struct op *o;
	int rc = 0;

	while (!rc && (p = strchr(p, '/'))) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(p++ - spath), spath);
		if (!fstatat(c->rootfd, dir, &st, AT_SYMLINK_NOFOLLOW)) {
			if (S_ISDIR(st.st_mode))
				continue;
			o = sb_checkout_find_op(c, dir);
			if (!o || o->has_to || !o->has_from)
				return 1;
			if ((rc = do_remove(c, o)))
				return rc;
			if (!fstatat(c->rootfd, dir, &st, AT_SYMLINK_NOFOLLOW))
				return 1;	/* kept: a local change */
		} else if (errno != ENOENT) {
			return sb_err_set(-errno, "%s: %s", dir,
					  strerror(errno));
		}
		rc = make_dir(c, dir);
	}
	return rc;
}

static int long_name(const char *spath)
{
	const char *base = strrchr(spath, '/');

	return sb_names_kind(base ? base + 1 : spath) == SB_NAME_LONG;
}

static int do_write(struct co *c, struct op *o)
{
	char aux[PATH_MAX + 8];
	enum state s;
	struct stat st;
	int rc;

	if ((rc = make_parents(c, o->spath)) == 1) {
		o->blocked = 1;
		return 0;
	}
	if (rc || (rc = sb_checkout_classify(c, o, &st, &s)))
		return rc;
	if (s == S_TO) {
		o->done = 1;
		return put_cache(c, o);
	}
	if (s == S_DIR) {
		o->blocked = 1;
		return 0;
	}
	/* the store's own files follow to; the user's wait for a commit */
	if (o->kind == K_ENTRY || o->kind == K_META) {
		if (s == S_LOCAL || (s == S_ABSENT && o->has_from)) {
			o->done = 1;
			c->res.kept++;
			return 0;
		}
	}
	if (o->kind == K_ENTRY && long_name(o->spath)) {
		snprintf(aux, sizeof(aux), "%s.n", o->spath);
		if ((rc = write_aux(c, aux)))
			return rc;
	}
	return write_blob(c, o, &st, s != S_ABSENT);
}

/* Removing. */

static int do_remove(struct co *c, struct op *o)
{
	enum state s;
	struct stat st;
	int rc;

	o->done = 1;
	if ((rc = sb_checkout_classify(c, o, &st, &s)))
		return rc;
	if (s == S_ABSENT)
		return sb_statcache_del(c->sc, o->spath);
	if (s != S_FROM) {
		c->res.kept++;
		return 0;
	}
	sb_checkout_notify(c, o->spath);
	if (unlinkat(c->rootfd, o->spath, 0) && errno != ENOENT)
		return sb_err_set(-errno, "cannot remove %s: %s", o->spath,
				  strerror(errno));
	c->res.removed++;
	if ((rc = sb_statcache_del(c->sc, o->spath)))
		return rc;
	return sb_checkout_parent_changed(c, o->spath);
}

/* 1 when the backing entry dir/name is per-machine state (sync/ignore.h). */
static int local_state(struct co *c, const char *dir, const char *name)
{
	char path[PATH_MAX], plain[PATH_MAX];
	struct stat st;

	if (sb_names_kind(name) != SB_NAME_SHORT &&
	    sb_names_kind(name) != SB_NAME_LONG)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path) ||
	    fstatat(c->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) ||
	    S_ISDIR(st.st_mode))
		return 0;
	return !sb_store_plain_path(c->st, plain, sizeof(plain), path) &&
	       sb_ignore_plain(plain);
}

/*
 * A directory removed elsewhere takes this machine's state for it along
 * (a Maildir folder's dovecot-uidlist, .mbsyncstate, tmp/ files): that is
 * not the user's content, and it would keep the directory alive.
 */
static void drop_local_state(struct co *c, const char *dir)
{
	char path[PATH_MAX], sc[PATH_MAX + 4];
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(c->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (!local_state(c, dir, de->d_name))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) >= sizeof(path) ||
		    (size_t)snprintf(sc, sizeof(sc), "%s.n", path) >=
		    sizeof(sc))
			continue;
		if (!unlinkat(c->rootfd, path, 0))
			unlinkat(c->rootfd, sc, 0);
	}
	closedir(d);
}

/*
 * A directory whose marker went: removed with it unless something of the
 * user's is inside; then it stays, and its marker is forgotten by the
 * stat cache so that the next scan commits it again with what is inside.
 */
static int remove_dir(struct co *c, struct op *o)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc;

	o->done = 1;
	sb_checkout_dirname_of(dir, sizeof(dir), o->spath);
	if (fstatat(c->rootfd, dir, &st, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISDIR(st.st_mode))
		return sb_statcache_del(c->sc, o->spath);
	rc = sb_store_rmdir_backing(c->st, dir);
	if (rc == -ENOTEMPTY) {
		drop_local_state(c, dir);
		rc = sb_store_rmdir_backing(c->st, dir);
	}
	if (rc == -ENOTEMPTY) {
		c->res.kept++;
		return sb_statcache_del(c->sc, o->spath);
	}
	if (rc)
		return sb_err_set(rc, "cannot remove %s: %s", dir,
				  sb_err_str(rc));
	sb_checkout_notify(c, dir);
	if (!(rc = sb_statcache_del(c->sc, dir)))
		rc = sb_checkout_parent_changed(c, dir);
	return rc;
}

/* A sidecar whose entry is gone. */
static int remove_sidecar(struct co *c, struct op *o)
{
	char owner[PATH_MAX];
	struct stat st;
	size_t len = strlen(o->spath);

	o->done = 1;
	snprintf(owner, sizeof(owner), "%.*s", (int)(len - 2), o->spath);
	if (!fstatat(c->rootfd, owner, &st, AT_SYMLINK_NOFOLLOW))
		return 0;
	if (unlinkat(c->rootfd, o->spath, 0) && errno != ENOENT)
		return sb_err_set(-errno, "cannot remove %s: %s", o->spath,
				  strerror(errno));
	return sb_statcache_del(c->sc, o->spath);
}

static size_t depth(const char *p)
{
	size_t n = 0;

	for (; *p; p++)
		n += *p == '/';
	return n;
}

static int cmp_depth(const void *a, const void *b)
{
	const struct op *x = *(struct op *const *)a;
	const struct op *y = *(struct op *const *)b;
	size_t dx = depth(x->spath), dy = depth(y->spath);

	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strcmp(x->spath, y->spath);
}

/* Markers deepest first, so that a directory goes after its children. */
static int remove_dirs(struct co *c)
{
	struct op **v;
	size_t i, k = 0;
	int rc = 0;

	if (!(v = malloc((c->n ? c->n : 1) * sizeof(*v))))
		return -ENOMEM;
	for (i = 0; i < c->n; i++)
		if (c->ops[i].kind == K_MARKER && !c->ops[i].has_to &&
		    !c->ops[i].done)
			v[k++] = &c->ops[i];
	qsort(v, k, sizeof(*v), cmp_depth);
	for (i = 0; !rc && i < k; i++)
		rc = remove_dir(c, v[i]);
	free(v);
	return rc;
}

int sb_checkout_disk_removals(struct co *c)
{
	size_t i;
	int rc = 0;

	for (i = c->n; !rc && i-- > 0;) {
		struct op *o = &c->ops[i];

		if (!o->done && !o->has_to &&
		    (o->kind == K_ENTRY || o->kind == K_META))
			rc = do_remove(c, o);
	}
	if (!rc)
		rc = remove_dirs(c);
	for (i = 0; !rc && i < c->n; i++)
		if (!c->ops[i].done && !c->ops[i].has_to &&
		    c->ops[i].kind == K_SIDECAR)
			rc = remove_sidecar(c, &c->ops[i]);
	return rc;
}

/* Writes that waited for the removals; what is still in the way stays. */
int sb_checkout_disk_blocked_writes(struct co *c)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < c->n; i++) {
		struct op *o = &c->ops[i];

		if (!o->blocked || o->done)
			continue;
		o->blocked = 0;
		rc = do_write(c, o);
		if (!rc && o->blocked) {
			o->done = 1;
			c->res.kept++;
		}
	}
	return rc ? rc : flush(c);
}

int sb_checkout_disk_writes(struct co *c)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < c->n; i++)
		if (c->ops[i].has_to && !c->ops[i].done)
			rc = do_write(c, &c->ops[i]);
	return rc ? rc : flush(c);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every changed directory: fsynced, then reported. */
int sb_checkout_disk_finish_dirs(struct co *c)
{
	size_t i;
	int fd, rc = 0;

	if (c->ndirs)
		qsort(c->dirs, c->ndirs, sizeof(*c->dirs), cmp_str);
	for (i = 0; i < c->ndirs; i++) {
		if (i && !strcmp(c->dirs[i], c->dirs[i - 1]))
			continue;
		fd = openat(c->rootfd, c->dirs[i], O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC);
		if (fd < 0)
			continue;	/* removed meanwhile */
		if (fsync(fd) && !rc)
			rc = sb_err_set(-errno, "cannot sync %s: %s",
					c->dirs[i], strerror(errno));
		close(fd);
		if (c->dirs[i][0] != '.' || !strcmp(c->dirs[i], "."))
			sb_checkout_notify(c, c->dirs[i]);
	}
	return rc;
}

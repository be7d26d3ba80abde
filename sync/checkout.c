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
#include "sync/ignore.h"
#include "sync/repo_git.h"

#define TPATH_MAX (3 * PATH_MAX + 1)

/* What a store path is. */
enum kind {
	K_ENTRY,	/* a file or symlink of the user (encrypted name) */
	K_MARKER,	/* ".sbdir": its directory */
	K_SIDECAR,	/* "~hash.n": its long-named entry */
	K_META,		/* ".sealbox/...", anything else of the store's */
};

/* What is on disk at an op's path, compared with from and to. */
enum state {
	S_ABSENT,
	S_FROM,		/* as in from: ours to replace or remove */
	S_TO,		/* already as in to */
	S_LOCAL,	/* changed here since: left alone */
	S_DIR,		/* a directory is there */
};

struct op {
	char *spath;
	git_oid from, to;
	git_filemode_t mode, from_mode;
	unsigned has_from:1, has_to:1, done:1, blocked:1;
	enum kind kind;
};

/*
 * A write waiting for its rename: temporary files are written in batches
 * and made durable with one syncfs() per batch (an fsync per file costs
 * milliseconds each), then renamed into place in the order they came.
 */
struct pend {
	struct op *o;
	char tmp[PATH_MAX];
	struct stat pre;	/* what was there when it was looked at */
	int had;
};

#define BATCH 512

struct co {
	git_repository *g;
	git_odb *odb;
	struct sb_store *st;
	struct sb_statcache *sc;
	int rootfd;
	git_tree *from, *to;
	struct op *ops;
	size_t n, alloc;
	char **dirs;		/* backing dirs whose entries changed */
	size_t ndirs, adirs;
	struct pend *pend;
	size_t npend;
	const char *to_hex;
	sb_checkout_fn changed;
	void *ctx;
	struct sb_checkout_result res;
};

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

static enum kind kind_of(const char *spath)
{
	const char *base = strrchr(spath, '/');

	base = base ? base + 1 : spath;
	if (spath[0] == '.')
		return K_META;
	if (!strcmp(base, SB_STORE_MARKER))
		return K_MARKER;
	switch (sb_names_kind(base)) {
	case SB_NAME_SHORT:
	case SB_NAME_LONG:
		return K_ENTRY;
	case SB_NAME_SIDECAR:
		return K_SIDECAR;
	default:
		return K_META;
	}
}

static void dirname_of(char *out, size_t size, const char *spath)
{
	const char *slash = strrchr(spath, '/');

	if (!slash)
		snprintf(out, size, ".");
	else
		snprintf(out, size, "%.*s", (int)(slash - spath), spath);
}

/* Trees. */

static int peel_tree(git_repository *g, git_tree **out, const char *hex)
{
	git_object *obj = NULL;
	git_oid id;
	int rc = 0;

	*out = NULL;
	if (!hex || !*hex)
		return 0;
	if (git_oid_fromstr(&id, hex))
		return sb_err_set(SB_EFORMAT, "bad object id %s", hex);
	if (git_object_lookup(&obj, g, &id, GIT_OBJECT_ANY) ||
	    git_object_peel((git_object **)out, obj, GIT_OBJECT_TREE))
		rc = fail("cannot read the tree to check out");
	git_object_free(obj);
	return rc;
}

/* The blob at a store path in tree t: 0, or -ENOENT. */
static int tree_blob(git_tree *t, const char *spath, git_oid *oid,
		     git_filemode_t *mode)
{
	char tpath[TPATH_MAX];
	git_tree_entry *te = NULL;
	int rc = -ENOENT;

	if (!t || strlen(spath) >= PATH_MAX)
		return -ENOENT;
	sb_repo_tree_path(tpath, spath);
	if (git_tree_entry_bypath(&te, t, tpath))
		return -ENOENT;
	if (git_tree_entry_type(te) == GIT_OBJECT_BLOB) {
		git_oid_cpy(oid, git_tree_entry_id(te));
		if (mode)
			*mode = git_tree_entry_filemode(te);
		rc = 0;
	}
	git_tree_entry_free(te);
	return rc;
}

/* Sidecars for plaintext paths come from to, else from. */
static int sidecar_cb(char *enc, size_t size, const char *sidecar, void *ctx)
{
	struct co *c = ctx;
	git_blob *b = NULL;
	git_oid oid;
	size_t len;

	if (tree_blob(c->to, sidecar, &oid, NULL) &&
	    tree_blob(c->from, sidecar, &oid, NULL))
		return -ENOENT;
	if (git_blob_lookup(&b, c->g, &oid))
		return fail("cannot read a sidecar");
	len = (size_t)git_blob_rawsize(b);
	if (len >= size)
		len = size - 1;
	memcpy(enc, git_blob_rawcontent(b), len);
	enc[len] = '\0';
	git_blob_free(b);
	return (int)len;
}

static void notify(struct co *c, const char *spath)
{
	char plain[PATH_MAX];

	if (!c->changed)
		return;
	if (!strcmp(spath, ".")) {
		c->changed("", c->ctx);
		return;
	}
	if (!sb_store_plain_path_with(c->st, plain, sizeof(plain), spath,
				      sidecar_cb, c))
		c->changed(plain, c->ctx);
}

static int dir_changed(struct co *c, const char *dir)
{
	char **d;

	if (c->ndirs && !strcmp(c->dirs[c->ndirs - 1], dir))
		return 0;
	if (c->ndirs == c->adirs) {
		size_t na = c->adirs ? 2 * c->adirs : 32;

		if (!(d = realloc(c->dirs, na * sizeof(*d))))
			return -ENOMEM;
		c->dirs = d;
		c->adirs = na;
	}
	if (!(c->dirs[c->ndirs] = strdup(dir)))
		return -ENOMEM;
	c->ndirs++;
	return 0;
}

static int parent_changed(struct co *c, const char *spath)
{
	char dir[PATH_MAX];

	dirname_of(dir, sizeof(dir), spath);
	return dir_changed(c, dir);
}

/* The ops: one per store path that differs between from and to. */

static int add_op(struct co *c, const char *spath, const git_diff_file *f,
		  int to)
{
	struct op *o;

	if (c->n == c->alloc) {
		size_t na = c->alloc ? 2 * c->alloc : 64;

		if (!(o = realloc(c->ops, na * sizeof(*o))))
			return -ENOMEM;
		c->ops = o;
		c->alloc = na;
	}
	o = &c->ops[c->n];
	memset(o, 0, sizeof(*o));
	if (!(o->spath = strdup(spath)))
		return -ENOMEM;
	o->kind = kind_of(spath);
	if (to) {
		o->has_to = 1;
		o->to = f->id;
		o->mode = f->mode;
	} else {
		o->has_from = 1;
		o->from = f->id;
		o->from_mode = f->mode;
	}
	c->n++;
	return 0;
}

/*
 * Checking what `to` brings. Verification says who signed a tree, not
 * that the tree is one a sound device makes: a stolen key can sign any
 * names, modes and nesting. Every path that checkout would touch is held
 * to the repository layout (crypto/FORMAT.md) before anything changes.
 */

static int bad_path(struct co *c, const char *tpath, const char *why)
{
	return sb_err_set(SB_EFORMAT, "cannot check out %.12s: tree path "
			  "\"%.200s%s\" %s", c->to_hex, tpath,
			  strlen(tpath) > 200 ? "..." : "", why);
}

/*
 * A symlink's blob is an encrypted target (crypto/names.h): base64url,
 * so it names nothing outside its own directory, and one that decrypts
 * is never another entry's backing name (other associated data), so
 * nothing can be reached through it, here or by the mount.
 */
static int check_link(struct co *c, const char *tpath, const git_oid *id)
{
	git_blob *b = NULL;
	int ok;

	if (git_blob_lookup(&b, c->g, id))
		return fail("cannot read a symlink to check out");
	ok = !sb_store_check_target(c->st, git_blob_rawcontent(b),
				    (size_t)git_blob_rawsize(b));
	git_blob_free(b);
	sb_err_clear();
	return ok ? 0 : bad_path(c, tpath, "is a symlink whose target does "
				 "not decrypt");
}

/* One component of a store path; last: the path's final one. */
static const char *bad_component(const char *comp, size_t n, int first,
				 int last, int meta, int link)
{
	char name[NAME_MAX + 1];
	enum sb_name_kind k;

	if (!n || (n == 1 && comp[0] == '.') ||
	    (n == 2 && comp[0] == '.' && comp[1] == '.'))
		return "holds an empty name, \".\" or \"..\"";
	if (n >= sizeof(name))
		return "holds a name too long for the store";
	memcpy(name, comp, n);
	name[n] = '\0';
	if (!strcmp(name, ".git"))
		return "reaches into .git";
	if (!strncmp(name, SB_STORE_TMP, strlen(SB_STORE_TMP)))
		return "holds a temporary file's name (.sbtmp.)";
	if (first && name[0] == '.')
		return strcmp(name, ".sealbox") ? "is not a store entry" : NULL;
	if (meta)
		return NULL;
	if (!strcmp(name, SB_STORE_MARKER))
		return last && !link ? NULL : "holds .sbdir that is not a "
					      "directory's marker file";
	k = sb_names_kind(name);
	if (k == SB_NAME_SHORT || k == SB_NAME_LONG)
		return NULL;
	if (k == SB_NAME_SIDECAR && last && !link)
		return NULL;
	return "holds a name that is not an encrypted name";
}

/* The new side of a delta, as a sound device writes it; spath: its store
 * path (room TPATH_MAX). */
static int check_to(struct co *c, const git_diff_file *nf, char *spath)
{
	char back[TPATH_MAX];
	const char *p, *why = NULL, *tpath = nf->path;
	int link = nf->mode == GIT_FILEMODE_LINK;
	size_t n;

	if (strlen(tpath) >= TPATH_MAX)
		return bad_path(c, tpath, "is too long");
	if (nf->mode != GIT_FILEMODE_BLOB &&
	    nf->mode != GIT_FILEMODE_BLOB_EXECUTABLE && !link) {
		char what[48];

		snprintf(what, sizeof(what), "has mode %06o, not a file's",
			 (unsigned)nf->mode);
		return bad_path(c, tpath, what);
	}
	sb_repo_store_path(spath, tpath);
	if (strlen(spath) >= PATH_MAX)
		return bad_path(c, tpath, "is too long");
	for (p = spath; !why; p += n + 1) {
		n = strcspn(p, "/");
		why = bad_component(p, n, p == spath, !p[n], spath[0] == '.',
				    link);
		if (!p[n])
			break;
	}
	if (why)
		return bad_path(c, tpath, why);
	sb_repo_tree_path(back, spath);
	if (strcmp(back, tpath))
		return bad_path(c, tpath, "does not match its fan-out levels");
	/* a server may withhold objects: found now, not halfway through */
	if (!git_odb_exists(c->odb, &nf->id))
		return bad_path(c, tpath, "names a blob that is missing here");
	if (link && spath[0] == '.')
		return bad_path(c, tpath, "is a symlink in .sealbox/");
	return link ? check_link(c, tpath, &nf->id) : 0;
}

static int delta_ops(struct co *c, const git_diff_delta *d)
{
	char spath[TPATH_MAX];
	int rc = 0;

	if (d->status != GIT_DELTA_DELETED &&
	    (rc = check_to(c, &d->new_file, spath)))
		return rc;
	if (d->old_file.mode == GIT_FILEMODE_COMMIT ||
	    d->new_file.mode == GIT_FILEMODE_COMMIT)
		return 0;
	if (d->status == GIT_DELTA_DELETED) {
		if (strlen(d->old_file.path) >= TPATH_MAX)
			return bad_path(c, d->old_file.path, "is too long");
		sb_repo_store_path(spath, d->old_file.path);
	}
	if (sb_repo_path_ignored(spath))
		return 0;
	if (d->status != GIT_DELTA_ADDED)
		rc = add_op(c, spath, &d->old_file, 0);
	if (!rc && d->status != GIT_DELTA_DELETED)
		rc = add_op(c, spath, &d->new_file, 1);
	return rc;
}

static int cmp_op(const void *a, const void *b)
{
	return strcmp(((const struct op *)a)->spath,
		      ((const struct op *)b)->spath);
}

/*
 * Sorted by store path; a removal and a write of one path become one op.
 * Two writes of one path are a tree that holds a name twice: refused.
 */
static int merge_ops(struct co *c)
{
	size_t i, k = 0;
	int rc = 0;

	if (c->n)
		qsort(c->ops, c->n, sizeof(*c->ops), cmp_op);
	for (i = 0; i < c->n; i++) {
		struct op *o = &c->ops[i];

		if (k && !strcmp(c->ops[k - 1].spath, o->spath)) {
			struct op *p = &c->ops[k - 1];

			if (o->has_to && p->has_to && !rc)
				rc = bad_path(c, o->spath, "is in the tree "
					      "twice");
			if (o->has_from) {
				p->has_from = 1;
				p->from = o->from;
				p->from_mode = o->from_mode;
			}
			if (o->has_to) {
				p->has_to = 1;
				p->to = o->to;
				p->mode = o->mode;
			}
			free(o->spath);
			continue;
		}
		c->ops[k++] = *o;
	}
	c->n = k;
	return rc;
}

static struct op *find_op(struct co *c, const char *spath);

/* A path of to whose directory is a file of to: a name held twice. */
static int check_dirs(struct co *c)
{
	char dir[PATH_MAX];
	struct op *p;
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (!c->ops[i].has_to)
			continue;
		dirname_of(dir, sizeof(dir), c->ops[i].spath);
		if ((p = find_op(c, dir)) && p->has_to)
			return bad_path(c, dir, "is in the tree twice, as a "
					"file and as a directory");
	}
	return 0;
}

static int list_ops(struct co *c)
{
	git_diff_options o;
	git_diff *diff = NULL;
	size_t i, n;
	int rc = 0;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	if (git_repository_odb(&c->odb, c->g))
		return fail("cannot open the object database");
	if (git_diff_tree_to_tree(&diff, c->g, c->from, c->to, &o))
		return fail("cannot compare the trees");
	n = git_diff_num_deltas(diff);
	for (i = 0; !rc && i < n; i++)
		rc = delta_ops(c, git_diff_get_delta(diff, i));
	git_diff_free(diff);
	if (!rc && !(rc = merge_ops(c)))
		rc = check_dirs(c);
	return rc;
}

static struct op *find_op(struct co *c, const char *spath)
{
	struct op key;

	key.spath = (char *)spath;
	if (!c->n)
		return NULL;
	return bsearch(&key, c->ops, c->n, sizeof(*c->ops), cmp_op);
}

/* What is on disk. */

static git_filemode_t disk_mode(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return GIT_FILEMODE_LINK;
	return st->st_mode & 0111 ? GIT_FILEMODE_BLOB_EXECUTABLE
				  : GIT_FILEMODE_BLOB;
}

static int read_fd(int fd, char **buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	if (!(*buf = malloc(len ? len : 1)))
		return -ENOMEM;
	while (got < len) {
		n = read(fd, *buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EAGAIN;
		got += (size_t)n;
	}
	return 0;
}

/* The blob id of what is at spath now (a regular file or a symlink). */
static int hash_disk(struct co *c, const char *spath, const struct stat *st,
		     git_oid *oid)
{
	char *buf = NULL;
	ssize_t n = 0;
	int fd, rc = 0;

	if (S_ISLNK(st->st_mode)) {
		if (!(buf = malloc(PATH_MAX)))
			return -ENOMEM;
		n = readlinkat(c->rootfd, spath, buf, PATH_MAX);
		rc = n < 0 ? -errno : 0;
	} else {
		fd = openat(c->rootfd, spath, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = (ssize_t)st->st_size;
		rc = read_fd(fd, &buf, (size_t)n);
		close(fd);
	}
	if (!rc && git_odb_hash(oid, buf, (size_t)n, GIT_OBJECT_BLOB))
		rc = fail("cannot hash a file");
	free(buf);
	return rc;
}

static int same(const git_oid *a, git_filemode_t am, const git_oid *b,
		git_filemode_t bm)
{
	return git_oid_equal(a, b) && am == bm;
}

static int classify(struct co *c, const struct op *o, struct stat *st,
		    enum state *out)
{
	struct sb_statcache_ent e;
	git_filemode_t dm;
	git_oid oid;
	int rc;

	if (fstatat(c->rootfd, o->spath, st, AT_SYMLINK_NOFOLLOW)) {
		if (errno != ENOENT && errno != ENOTDIR)
			return sb_err_set(-errno, "%s: %s", o->spath,
					  strerror(errno));
		*out = S_ABSENT;
		return 0;
	}
	if (S_ISDIR(st->st_mode)) {
		*out = S_DIR;
		return 0;
	}
	if (!S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode)) {
		*out = S_LOCAL;
		return 0;
	}
	dm = disk_mode(st);
	if (!sb_statcache_get(c->sc, o->spath, &e) &&
	    sb_statcache_fresh(&e, st) && !git_oid_fromstr(&oid, e.oid)) {
		/* known: no need to read it */
	} else if ((rc = hash_disk(c, o->spath, st, &oid))) {
		return rc == -ENOENT ? (*out = S_ABSENT, 0) : rc;
	}
	if (o->has_to && same(&oid, dm, &o->to, o->mode))
		*out = S_TO;
	else if (o->has_from && same(&oid, dm, &o->from, o->from_mode))
		*out = S_FROM;
	else
		*out = S_LOCAL;
	return 0;
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

	dirname_of(dir, sizeof(dir), spath);
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

/* 1 when what is at spath is still what classify() saw. */
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
	if ((rc = put_cache(c, o)) || (rc = parent_changed(c, o->spath)))
		return rc;
	if (o->kind == K_ENTRY || o->kind == K_META)
		c->res.written++;
	if (o->kind == K_ENTRY)
		notify(c, o->spath);
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
	struct op *o = find_op(c, spath);

	if (!o || !o->has_to || o->done)
		return 0;
	return do_write(c, o);
}

/* Creates the backing directory dir: sidecar, directory, marker. */
static int make_dir(struct co *c, const char *dir)
{
	char aux[PATH_MAX + 8];
	int rc = 0;

	if (kind_of(dir) == K_ENTRY) {
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
	if (!(rc = write_aux(c, aux)) && !(rc = parent_changed(c, dir)))
		rc = dir_changed(c, dir);
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
			o = find_op(c, dir);
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
	if (rc || (rc = classify(c, o, &st, &s)))
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
	if ((rc = classify(c, o, &st, &s)))
		return rc;
	if (s == S_ABSENT)
		return sb_statcache_del(c->sc, o->spath);
	if (s != S_FROM) {
		c->res.kept++;
		return 0;
	}
	notify(c, o->spath);
	if (unlinkat(c->rootfd, o->spath, 0) && errno != ENOENT)
		return sb_err_set(-errno, "cannot remove %s: %s", o->spath,
				  strerror(errno));
	c->res.removed++;
	if ((rc = sb_statcache_del(c->sc, o->spath)))
		return rc;
	return parent_changed(c, o->spath);
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
	dirname_of(dir, sizeof(dir), o->spath);
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
	notify(c, dir);
	if (!(rc = sb_statcache_del(c->sc, dir)))
		rc = parent_changed(c, dir);
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

static int removals(struct co *c)
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
static int blocked_writes(struct co *c)
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

static int writes(struct co *c)
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
static int finish_dirs(struct co *c)
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
			notify(c, c->dirs[i]);
	}
	return rc;
}

static void co_free(struct co *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->ops[i].spath);
	free(c->ops);
	for (i = 0; i < c->npend; i++)
		unlinkat(c->rootfd, c->pend[i].tmp, 0);
	free(c->pend);
	for (i = 0; i < c->ndirs; i++)
		free(c->dirs[i]);
	free(c->dirs);
	git_tree_free(c->from);
	git_tree_free(c->to);
	git_odb_free(c->odb);
	if (c->rootfd >= 0)
		close(c->rootfd);
}

static int run(struct co *c, const char *from, const char *to)
{
	int rc, src;

	if ((rc = peel_tree(c->g, &c->from, from)) ||
	    (rc = peel_tree(c->g, &c->to, to)))
		return rc;
	if (!c->to)
		return sb_err_set(-EINVAL, "nothing to check out");
	if ((rc = list_ops(c)))
		return rc;
	if (!(rc = writes(c)) && !(rc = removals(c)))
		rc = blocked_writes(c);
	src = finish_dirs(c);
	rc = rc ? rc : src;
	src = sb_statcache_save(c->sc);
	return rc ? rc : src;
}

int sb_checkout(struct sb_checkout_result *res, struct sb_repo *r,
		struct sb_store *st, struct sb_statcache *sc,
		const char *from, const char *to, sb_checkout_fn changed,
		void *ctx)
{
	struct co c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.g = sb_repo_git(r);
	c.st = st;
	c.sc = sc;
	c.changed = changed;
	c.ctx = ctx;
	c.to_hex = to ? to : "";
	c.rootfd = open(sb_store_root(st), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.rootfd < 0)
		return sb_err_set(-errno, "%s: %s", sb_store_root(st),
				  strerror(errno));
	rc = run(&c, from, to);
	*res = c.res;
	co_free(&c);
	return rc;
}

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "crypto/err.h"
#include "sync/committree.h"
#include "sync/packrepo.h"
#include "sync/packwrite.h"
#include "sync/repo.h"
#include "sync/repo_git.h"

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

/* Object storage: loose in the repository, or one pack (sync/packrepo.h). */

size_t sb_committree_tree_estimate(const struct job *j)
{
	size_t i, n = 1;
	const char *a, *b, *p;

	for (i = 0; i < j->n; i++) {
		a = i ? j->u[i - 1].tpath : "";
		b = j->u[i].tpath;
		/* directories of b that a is not in */
		for (p = b; *a && *a == *p; a++, p++)
			;
		while (p > b && p[-1] != '/')
			p--;
		for (; *p; p++)
			n += *p == '/';
	}
	return n;
}

/* Hashing. */

/*
 * One read buffer for every file of a job, grown to the largest one read:
 * a buffer per file (freed after it was stored) left holes between the
 * long-lived update list and the pending blobs that the heap never gave
 * back.
 */
struct rbuf {
	char *p;
	size_t size;
};

static int rbuf_reserve(struct rbuf *b, size_t len)
{
	if (!len)
		len = 1;
	if (len <= b->size)
		return 0;
	free(b->p);	/* nothing in it is kept: no copy */
	b->size = 0;
	if (!(b->p = malloc(len)))
		return -ENOMEM;
	b->size = len;
	return 0;
}

static int read_fd(int fd, struct rbuf *b, size_t len)
{
	size_t got = 0;
	ssize_t r;
	int rc = rbuf_reserve(b, len);

	if (rc)
		return rc;
	while (got < len) {
		r = read(fd, b->p + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EAGAIN;	/* shrank */
		got += (size_t)r;
	}
	return 0;
}

void sb_upd_stat_set(struct upd_stat *u, const struct stat *st)
{
	u->ino = (uint64_t)st->st_ino;
	u->size = (uint64_t)st->st_size;
	u->mtim = st->st_mtim;
	u->ctim = st->st_ctim;
	u->mode = st->st_mode;
}

void sb_upd_stat_get(struct stat *st, const struct upd_stat *u)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)u->ino;
	st->st_size = (off_t)u->size;
	st->st_mtim = u->mtim;
	st->st_ctim = u->ctim;
	st->st_mode = u->mode;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       a->st_mode == b->st_mode;
}

/*
 * Without a pack repository, a file this large goes into a pack of its
 * own, read in 64 KiB pieces: a 1 GiB file would otherwise be held whole
 * in memory (twice, with the object database's copy) and deflated for
 * nothing.
 */
#define BIG_FILE (16u << 20)
/*
 * With a pack repository, a file this large goes from its descriptor
 * into the spool, so the read buffer stays this small.
 */
#define SPOOL_DIRECT (256u << 10)

/* Reads (or, when large, stores: then *stored = 1) a regular file. */
static int read_regular(struct job *j, struct upd *u, struct rbuf *b,
			size_t *len, int *stored)
{
	struct stat before, after, listed;
	int fd, rc;

	fd = openat(j->rootfd, u->spath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &before)) {
		rc = -errno;
		goto out;
	}
	*len = (size_t)before.st_size;
	*stored = *len >= (j->pr ? SPOOL_DIRECT : BIG_FILE);
	if (*stored && j->pr)
		rc = sb_packrepo_blob_fd(j->pr, fd, *len, &u->oid);
	else if (*stored)
		rc = sb_packwrite_blob_fd(sb_repo_git(j->r), fd, *len, &u->oid);
	else
		rc = read_fd(fd, b, *len);
	if (!rc && (fstat(fd, &after) || !same_file(&before, &after)))
		u->nocache = 1;
	sb_upd_stat_get(&listed, &u->st);
	if (!rc && !same_file(&before, &listed))
		u->nocache = 1;	/* replaced since the lstat */
	sb_upd_stat_set(&u->st, &before);
	u->mode = sb_commit_file_mode(&before);
out:
	close(fd);
	return rc;
}

static int read_link(struct job *j, struct upd *u, struct rbuf *b,
		     size_t *len)
{
	ssize_t n;
	int rc = rbuf_reserve(b, PATH_MAX);

	if (rc)
		return rc;
	n = readlinkat(j->rootfd, u->spath, b->p, PATH_MAX);
	if (n < 0)
		return -errno;
	if (n == PATH_MAX)
		return -ENAMETOOLONG;
	*len = (size_t)n;
	return 0;
}

static int store_blob(struct job *j, git_odb *odb, struct upd *u,
		      const char *buf, size_t len)
{
	if (j->pr)
		return sb_packrepo_blob(j->pr, &u->oid, buf, len);
	if (git_odb_write(&u->oid, odb, buf, len, GIT_OBJECT_BLOB))
		return fail("cannot store a file");
	return 0;
}

static int hash_one(struct job *j, git_odb *odb, struct upd *u,
		    struct rbuf *b)
{
	size_t len = 0;
	int stored = 0;
	int rc = S_ISLNK(u->st.mode) ? read_link(j, u, b, &len)
					 : read_regular(j, u, b, &len, &stored);

	if (rc == -ENOENT || rc == -ENOTDIR || rc == -ELOOP ||
	    rc == -EINVAL) {
		u->remove = 1;	/* gone or replaced meanwhile */
		u->hash = 0;
		rc = 0;
	} else if (rc) {
		rc = sb_err_set(rc, "%s: %s", u->spath, strerror(-rc));
	} else if (!stored) {
		rc = store_blob(j, odb, u, b->p, len);
	}
	return rc;
}

int sb_committree_hash_all(struct job *j)
{
	struct rbuf b = { NULL, 0 };
	git_odb *odb;
	size_t i;
	int rc = 0;

	if (git_repository_odb(&odb, j->g))
		return fail("cannot open the object database");
	for (i = 0; !rc && i < j->n; i++)
		if (j->u[i].hash)
			rc = hash_one(j, odb, &j->u[i], &b);
	git_odb_free(odb);
	free(b.p);
	return rc;
}

/* Resolving against HEAD's tree (see git_tree_create_updated() below). */

static size_t lower_bound(const struct job *j, const char *key)
{
	size_t lo = 0, hi = j->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(j->u[mid].tpath, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* 1 when an upsert lies below the tree path t. */
static int upsert_below(const struct job *j, const char *t)
{
	char key[TPATH_MAX];
	size_t i, n = strlen(t);

	snprintf(key, sizeof(key), "%s/", t);
	for (i = lower_bound(j, key); i < j->n; i++) {
		if (strncmp(j->u[i].tpath, key, n + 1))
			break;
		if (!j->u[i].remove && !j->u[i].drop)
			return 1;
	}
	return 0;
}

/* 1 when a parent directory of u leaves the tree before u would. */
static int parent_removed(const struct job *j, const struct upd *u)
{
	char key[TPATH_MAX];
	const char *p;
	size_t i;

	for (p = strchr(u->tpath, '/'); p; p = strchr(p + 1, '/')) {
		snprintf(key, sizeof(key), "%.*s", (int)(p - u->tpath), u->tpath);
		i = lower_bound(j, key);
		if (i < j->n && !strcmp(j->u[i].tpath, key) &&
		    !j->u[i].drop && (j->u[i].remove || j->u[i].pre))
			return 1;
	}
	return 0;
}

static int check_removal(struct job *j, struct upd *u)
{
	git_tree_entry *te = NULL;
	int e = sb_commit_base_entry(j, &te, u->tpath);

	if (e == GIT_ENOTFOUND || (!e && !te)) {
		u->drop = 1;
		return 0;
	}
	git_tree_entry_free(te);
	return e ? fail("cannot look up a path") : 0;
}

/* A new file where HEAD has a directory: that goes first. */
static int check_upsert(struct job *j, struct upd *u)
{
	git_tree_entry *te = NULL;
	int e = sb_commit_base_entry(j, &te, u->tpath);

	if (e == GIT_ENOTFOUND)
		return 0;
	if (e)
		return fail("cannot look up a path");
	if (te && git_tree_entry_type(te) == GIT_OBJECT_TREE)
		u->pre = 1;
	git_tree_entry_free(te);
	return 0;
}

/*
 * The directory of the last path looked up in HEAD's tree: the updates
 * are sorted, so each directory's tree is read once, not once per file
 * (a big directory's tree is too large for libgit2's object cache).
 */
struct dircur {
	char dir[TPATH_MAX];
	int valid;
	git_tree *t;		/* NULL: HEAD has no such directory */
};

static const git_tree *dir_tree(struct job *j, struct dircur *c,
				const char *tpath, size_t dlen)
{
	git_tree_entry *te = NULL;

	if (!dlen)
		return j->base;
	if (c->valid && strlen(c->dir) == dlen &&
	    !strncmp(c->dir, tpath, dlen))
		return c->t;
	git_tree_free(c->t);
	c->t = NULL;
	c->valid = 1;
	snprintf(c->dir, sizeof(c->dir), "%.*s", (int)dlen, tpath);
	if (!git_tree_entry_bypath(&te, j->base, c->dir) &&
	    git_tree_entry_type(te) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&c->t, j->g, git_tree_entry_id(te)))
		c->t = NULL;
	git_tree_entry_free(te);
	return c->t;
}

/* 1 when HEAD has u's path with u's id and mode: nothing to update. */
static int same_as_base(struct job *j, struct dircur *c, const struct upd *u)
{
	const char *slash = strrchr(u->tpath, '/');
	const git_tree_entry *e;
	const git_tree *t;

	if (!j->base)
		return 0;
	t = dir_tree(j, c, u->tpath, slash ? (size_t)(slash - u->tpath) : 0);
	e = t ? git_tree_entry_byname(t, slash ? slash + 1 : u->tpath) : NULL;
	return e && git_oid_equal(git_tree_entry_id(e), &u->oid) &&
	       git_tree_entry_filemode(e) == u->mode;
}

static int check_one(struct job *j, struct dircur *c, struct upd *u)
{
	if (u->remove)
		return check_removal(j, u);
	if (same_as_base(j, c, u)) {
		u->drop = 1;	/* unchanged: touched, or read for writing */
		return 0;
	}
	return u->hash ? check_upsert(j, u) : 0;
}

/*
 * git_tree_create_updated() (libgit2 1.5) looks directories up in the
 * baseline before its own edits, fails to remove a missing entry, and
 * refuses to change an entry's type; it drops a tree that became empty
 * (so fan-out levels do not linger), and it reads the trees on every
 * path it is given. Hence: upserts of what HEAD has already and
 * removals of paths HEAD does not have are dropped, a removal with new
 * entries below it and a file replacing a directory go into a first
 * pass, and a removal below another one is left to it.
 */
int sb_committree_resolve(struct job *j)
{
	struct dircur c = { "", 0, NULL };
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < j->n; i++)
		rc = check_one(j, &c, &j->u[i]);
	git_tree_free(c.t);
	for (i = 0; !rc && i < j->n; i++)
		if (j->u[i].remove && !j->u[i].drop &&
		    upsert_below(j, j->u[i].tpath))
			j->u[i].pre = 1;
	for (i = 0; !rc && i < j->n; i++)
		if (j->u[i].remove && !j->u[i].drop && parent_removed(j, &j->u[i]))
			j->u[i].drop = 1;
	return rc;
}

/* Building the tree. */

static int run_updates(struct job *j, git_oid *out, git_tree *from, int pass)
{
	git_tree_update *tu = calloc(j->n ? j->n : 1, sizeof(*tu));
	size_t i, k = 0;
	struct upd *u;
	int rc = 0;

	if (!tu)
		return -ENOMEM;
	for (i = 0; i < j->n; i++) {
		u = &j->u[i];
		if (u->drop || (pass == 1 && !u->pre) ||
		    (pass == 2 && u->remove && u->pre))
			continue;
		tu[k].action = pass == 1 || u->remove ? GIT_TREE_UPDATE_REMOVE
						      : GIT_TREE_UPDATE_UPSERT;
		tu[k].path = u->tpath;
		tu[k].id = u->oid;
		tu[k].filemode = u->mode;
		k++;
	}
	if (git_tree_create_updated(out, j->g, from, k, tu))
		rc = fail("cannot build the tree");
	free(tu);
	return rc;
}

int sb_committree_build_tree(struct job *j, git_oid *out)
{
	git_tree *mid = NULL;
	git_oid id;
	size_t i;
	int rc = 0;

	for (i = 0; i < j->n && !j->u[i].pre; i++)
		;
	if (i < j->n) {
		rc = run_updates(j, &id, j->base, 1);
		if (!rc && git_tree_lookup(&mid, j->g, &id))
			rc = fail("cannot read a tree");
	}
	if (!rc)
		rc = run_updates(j, out, mid ? mid : j->base, 2);
	git_tree_free(mid);
	return rc;
}

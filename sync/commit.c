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

#include "crypto/err.h"
#include "crypto/names.h"
#include "sync/commit.h"
#include "sync/committree.h"
#include "sync/ignore.h"
#include "sync/packrepo.h"
#include "sync/repo_git.h"

#define MAIN_REF "refs/heads/main"

typedef int (*walk_fn)(struct job *j, const char *path,
		       const struct stat *st);

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

static int is_entry(const struct stat *st)
{
	return S_ISREG(st->st_mode) || S_ISLNK(st->st_mode);
}

git_filemode_t sb_commit_file_mode(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return GIT_FILEMODE_LINK;
	return st->st_mode & 0111 ? GIT_FILEMODE_BLOB_EXECUTABLE
				  : GIT_FILEMODE_BLOB;
}

/* Store paths the tree never holds: .git and the store's temporaries. */
static int skipped(const char *path)
{
	return sb_repo_path_ignored(path);
}

static int join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = *dir ? snprintf(buf, size, "%s/%s", dir, name)
		     : snprintf(buf, size, "%s", name);

	if (n < 0 || (size_t)n >= size)
		return sb_err_set(-ENAMETOOLONG, "%s/%s: path too long", dir,
				  name);
	return 0;
}

/*
 * Calls fn for every file and symlink below the store directory dir
 * ("" for the root), depth first, skipping .git and temporaries; into
 * a subdirectory only when descend(path) says so (NULL: always).
 */
static int walk_dir(struct job *j, const char *dir, walk_fn fn,
		    int (*descend)(struct job *, const char *))
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	fd = openat(j->rootfd, *dir ? dir : ".",
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((rc = join(path, sizeof(path), dir, de->d_name)))
			break;
		if (skipped(path))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;	/* gone meanwhile */
		if (S_ISDIR(st.st_mode)) {
			if (!descend || descend(j, path))
				rc = walk_dir(j, path, fn, descend);
		} else if (is_entry(&st)) {
			rc = fn(j, path, &st);
		}
	}
	closedir(d);
	return rc;
}

/* The scan. */

static int scan_file(struct job *j, const char *path, const struct stat *st)
{
	struct sb_statcache_ent e;

	if (!sb_statcache_get(j->sc, path, &e)) {
		j->seen++;
		if (sb_statcache_fresh(&e, st))
			return 0;
	}
	return sb_changes_add(j->scan, path);
}

static int count_cached(const char *path, const struct sb_statcache_ent *e,
			void *arg)
{
	(void)path;
	(void)e;
	((struct job *)arg)->cached++;
	return 0;
}

static int gone_or_other(struct job *j, const char *path)
{
	struct stat st;

	return fstatat(j->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) ||
	       !is_entry(&st);
}

static int scan_cached(const char *path, const struct sb_statcache_ent *e,
		       void *arg)
{
	struct job *j = arg;

	(void)e;
	if (gone_or_other(j, path))
		return sb_changes_add(j->scan, path);
	return 0;
}

static int scan_tree_entry(const char *root, const git_tree_entry *te,
			   void *arg)
{
	char tpath[TPATH_MAX], spath[TPATH_MAX];
	struct job *j = arg;

	if (git_tree_entry_type(te) == GIT_OBJECT_TREE)
		return 0;
	snprintf(tpath, sizeof(tpath), "%s%s", root, git_tree_entry_name(te));
	sb_repo_store_path(spath, tpath);
	if (gone_or_other(j, spath))
		return sb_changes_add(j->scan, spath) ? -1 : 0;
	return 0;
}

static int head_tree(struct job *j, git_repository *g, git_tree **out);

static int scan_job(struct job *j, struct sb_changes *c)
{
	git_tree *t = NULL;
	int rc;

	j->scan = c;
	j->cached = j->seen = 0;
	rc = walk_dir(j, "", scan_file, NULL);
	/* a cached path not seen on the walk is gone (or not a file now) */
	if (!rc)
		rc = sb_statcache_each(j->sc, count_cached, j);
	if (!rc && j->cached != j->seen)
		rc = sb_statcache_each(j->sc, scan_cached, j);
	/* an empty cache knows nothing: HEAD's paths that are gone */
	if (!rc && !j->cached &&
	    !(rc = head_tree(j, sb_repo_git(j->r), &t)) && t &&
	    git_tree_walk(t, GIT_TREEWALK_PRE, scan_tree_entry, j))
		rc = fail("cannot walk HEAD's tree");
	git_tree_free(t);
	return rc;
}

/* HEAD. */

static int read_head(struct job *j)
{
	int rc = sb_repo_ref(j->r, MAIN_REF, j->head);

	if (rc == -ENOENT) {
		j->head[0] = '\0';
		rc = 0;
	}
	return rc;
}

static int head_tree(struct job *j, git_repository *g, git_tree **out)
{
	git_commit *c = NULL;
	git_oid id;

	*out = NULL;
	if (!j->head[0])
		return 0;
	if (git_oid_fromstr(&id, j->head) || git_commit_lookup(&c, g, &id) ||
	    git_commit_tree(out, c)) {
		git_commit_free(c);
		return fail("cannot read HEAD's tree");
	}
	git_commit_free(c);
	return 0;
}

static int job_open(struct job *j, struct sb_repo *r, struct sb_store *st,
		    struct sb_statcache *sc)
{
	memset(j, 0, sizeof(*j));
	j->r = r;
	j->st = st;
	j->sc = sc;
	j->g = sb_repo_git(r);
	j->rootfd = open(sb_store_root(st), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->rootfd < 0)
		return sb_err_set(-errno, "%s: %s", sb_store_root(st),
				  strerror(errno));
	return read_head(j);
}

static void job_close(struct job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		free(j->u[i].spath);
		free(j->u[i].tpath);
	}
	free(j->u);
	git_tree_free(j->base);
	j->base = NULL;
	sb_packrepo_free(j->pr);
	if (j->rootfd >= 0)
		close(j->rootfd);
}

int sb_commit_scan(struct sb_repo *r, struct sb_store *st,
		   struct sb_statcache *sc, struct sb_changes *c)
{
	struct job j;
	int rc = job_open(&j, r, st, sc);

	if (!rc)
		rc = scan_job(&j, c);
	job_close(&j);
	return rc;
}

/* Collecting the updates. */

static int add_upd(struct job *j, const char *spath, const struct stat *st,
		   int remove)
{
	char tpath[TPATH_MAX];
	struct upd *u;

	if (j->n == j->alloc) {
		size_t na = j->alloc ? j->alloc * 2 : 64;

		if (!(u = realloc(j->u, na * sizeof(*u))))
			return -ENOMEM;
		j->u = u;
		j->alloc = na;
	}
	u = &j->u[j->n];
	memset(u, 0, sizeof(*u));
	sb_repo_tree_path(tpath, spath);	/* at most 3 * len + 1 bytes */
	if (!(u->spath = strdup(spath)) || !(u->tpath = strdup(tpath))) {
		free(u->spath);
		return -ENOMEM;
	}
	u->remove = remove ? 1 : 0;
	if (st) {
		sb_upd_stat_set(&u->st, st);
		u->mode = sb_commit_file_mode(st);
	}
	j->n++;
	return 0;
}

/*
 * The plaintext path a store path stands for (a marker: its directory's;
 * a sidecar: its entry's), or 1 when it has none (".sealbox/...").
 */
static int plain_of(struct job *j, char *plain, const char *spath)
{
	char owner[PATH_MAX];
	const char *base = strrchr(spath, '/'), *p;
	size_t dlen = base ? (size_t)(base - spath) : 0;
	int kind;

	base = base ? base + 1 : spath;
	for (p = spath; p < base; p = strchr(p, '/') + 1)
		if (*p == '.')
			return 1;
	kind = sb_names_kind(base);
	if (kind == SB_NAME_INTERNAL && !strcmp(base, SB_STORE_MARKER) && dlen)
		snprintf(owner, sizeof(owner), "%.*s", (int)dlen, spath);
	else if (kind == SB_NAME_SIDECAR)
		snprintf(owner, sizeof(owner), "%.*s",
			 (int)(strlen(spath) - 2), spath);
	else if (kind == SB_NAME_SHORT || kind == SB_NAME_LONG)
		snprintf(owner, sizeof(owner), "%s", spath);
	else
		return 1;
	return sb_store_plain_path(j->st, plain, PATH_MAX, owner) ? 1 : 0;
}

/*
 * Per-machine state by plaintext path. A marker or a sidecar belongs to
 * its directory or entry: the marker of Maildir tmp/ is kept (tmp/ exists
 * everywhere), anything inside it is not. Names that do not decrypt are
 * committed, as sb_repo_commit_all() does.
 */
static int ignored(struct job *j, const char *spath)
{
	char plain[PATH_MAX];

	return !plain_of(j, plain, spath) && sb_ignore_plain(plain);
}

static int want_dir(struct job *j, const char *spath)
{
	return !ignored(j, spath);
}

static int add_file(struct job *j, const char *spath, const struct stat *st)
{
	struct sb_statcache_ent e;
	git_oid id;
	int rc, fresh = !sb_statcache_get(j->sc, spath, &e) &&
			sb_statcache_fresh(&e, st) && !git_oid_fromstr(&id, e.oid);

	if (!fresh && ignored(j, spath))
		return 0;
	if ((rc = add_upd(j, spath, st, 0)))
		return rc;
	if (fresh) {
		j->u[j->n - 1].oid = id;	/* committed as it is */
	} else {
		j->u[j->n - 1].hash = 1;
		j->nhash++;
	}
	return 0;
}

struct stale {
	struct job *j;
	const char *tdir;
	int rc;
};

/* A blob below an expanded directory that is no longer on disk. */
static int stale_entry(const char *root, const git_tree_entry *te, void *arg)
{
	char tpath[TPATH_MAX], spath[TPATH_MAX];
	struct stale *s = arg;

	if (git_tree_entry_type(te) == GIT_OBJECT_TREE)
		return 0;
	snprintf(tpath, sizeof(tpath), "%s%s%s%s", s->tdir, *s->tdir ? "/" : "",
		 root, git_tree_entry_name(te));
	sb_repo_store_path(spath, tpath);
	if (!gone_or_other(s->j, spath))
		return 0;
	s->rc = add_upd(s->j, spath, NULL, 1);
	return s->rc ? -1 : 0;
}

int sb_commit_base_entry(struct job *j, git_tree_entry **te, const char *tpath)
{
	*te = NULL;
	if (!j->base)
		return GIT_ENOTFOUND;
	if (!*tpath)
		return 0;
	return git_tree_entry_bypath(te, j->base, tpath);
}

/* What was below the directory in HEAD and is gone: removed. */
static int expand_stale(struct job *j, const char *spath)
{
	char tdir[TPATH_MAX];
	struct stale s = { j, tdir, 0 };
	git_tree_entry *te;
	git_tree *t = NULL;
	int rc = 0;

	sb_repo_tree_path(tdir, spath);
	if ((rc = sb_commit_base_entry(j, &te, tdir)))
		return rc == GIT_ENOTFOUND ? 0 : fail("cannot look up a path");
	if (te && git_tree_entry_type(te) != GIT_OBJECT_TREE) {
		git_tree_entry_free(te);
		return add_upd(j, spath, NULL, 1);	/* was a file */
	}
	if (te && git_tree_lookup(&t, j->g, git_tree_entry_id(te)))
		rc = fail("cannot read a tree");
	git_tree_entry_free(te);
	if (!rc && git_tree_walk(t ? t : j->base, GIT_TREEWALK_PRE,
				 stale_entry, &s))
		rc = s.rc ? s.rc : fail("cannot walk a tree");
	git_tree_free(t);
	return rc;
}

/* A directory: everything below it ("" is the root). */
static int expand(struct job *j, const char *spath)
{
	int rc;

	if (*spath && ignored(j, spath))
		return 0;
	rc = walk_dir(j, spath, add_file, want_dir);
	return rc ? rc : expand_stale(j, spath);
}

static int collect_one(struct job *j, const char *given)
{
	char path[PATH_MAX];
	size_t n = strlen(given);
	struct stat st;

	while (n && given[n - 1] == '/')
		n--;
	if (n >= sizeof(path))
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", given);
	memcpy(path, given, n);
	path[n] = '\0';
	if (*path && skipped(path))
		return 0;
	if (fstatat(j->rootfd, *path ? path : ".", &st, AT_SYMLINK_NOFOLLOW)) {
		if (errno != ENOENT && errno != ENOTDIR)
			return sb_err_set(-errno, "%s: %s", path,
					  strerror(errno));
		return add_upd(j, path, NULL, 1);
	}
	if (S_ISDIR(st.st_mode))
		return expand(j, path);
	if (is_entry(&st))
		return add_file(j, path, &st);
	return add_upd(j, path, NULL, 1);	/* a fifo or socket now */
}

static int cmp_upd(const void *a, const void *b)
{
	return strcmp(((const struct upd *)a)->tpath,
		      ((const struct upd *)b)->tpath);
}

/*
 * Sorted by tree path, one entry per path (a path listed and also found
 * below a listed directory was collected twice from the same lstat).
 */
static void sort_upds(struct job *j)
{
	size_t i, k = 0;

	if (!j->n)
		return;
	qsort(j->u, j->n, sizeof(*j->u), cmp_upd);
	for (i = 0; i < j->n; i++) {
		if (k && !strcmp(j->u[k - 1].tpath, j->u[i].tpath)) {
			free(j->u[i].spath);
			free(j->u[i].tpath);
			continue;
		}
		j->u[k++] = j->u[i];
	}
	j->n = k;
}

static int collect(struct job *j, struct sb_changes *c)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < c->n; i++)
		rc = collect_one(j, c->paths[i]);
	if (!rc)
		sort_upds(j);
	return rc;
}

/* The pack: the new blobs and the trees on the paths that changed. */

/* The trees of tpath's directories (once per directory run). */
static int pack_trees(struct job *j, git_tree *t, const char *tpath,
		      const char *prev)
{
	char dir[TPATH_MAX];
	git_tree_entry *te;
	const char *p, *slash = strrchr(tpath, '/');
	size_t dlen = slash ? (size_t)(slash - tpath) : 0;
	int rc = 0;

	if (!slash || (prev && !strncmp(prev, tpath, dlen + 1) &&
		       !strchr(prev + dlen + 1, '/')))
		return 0;
	for (p = strchr(tpath, '/'); !rc && p; p = strchr(p + 1, '/')) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(p - tpath), tpath);
		if (git_tree_entry_bypath(&te, t, dir))
			break;	/* removed with everything below */
		rc = sb_packrepo_add(j->pr, git_tree_entry_id(te));
		git_tree_entry_free(te);
	}
	return rc;
}

static int write_pack(struct job *j, const git_oid *tree)
{
	git_tree *t = NULL;
	size_t i;
	int rc;

	if (git_tree_lookup(&t, j->g, tree))
		return fail("cannot read the new tree");
	rc = sb_packrepo_add(j->pr, tree);
	for (i = 0; !rc && i < j->n; i++) {
		if (!j->u[i].remove && j->u[i].hash)
			rc = sb_packrepo_add(j->pr, &j->u[i].oid);
		if (!rc)
			rc = pack_trees(j, t, j->u[i].tpath,
					i ? j->u[i - 1].tpath : NULL);
	}
	if (!rc)
		rc = sb_packrepo_write(j->pr);
	git_tree_free(t);
	return rc;
}

/* Committing. */

static int make_commit(struct job *j, const git_oid *tree,
		       const struct sb_commit_opts *o, char oid[SB_OID_HEX])
{
	const char *parents[2];
	char thex[SB_OID_HEX];
	size_t n = 0;
	int rc;

	git_oid_tostr(thex, sizeof(thex), tree);
	if (j->head[0])
		parents[n++] = j->head;
	if (o->merge_parent)
		parents[n++] = o->merge_parent;
	rc = sb_repo_commit_tree(j->r, oid, thex, parents, n, o->message,
				 o->name, o->email, o->sign, o->sign_ctx);
	if (!rc)
		rc = sb_repo_set_ref(j->r, MAIN_REF, oid, j->head,
				     "sealbox: commit");
	return rc;
}

static int update_cache(struct job *j)
{
	char hex[SB_OID_HEX];
	struct stat st;
	struct upd *u;
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < j->n; i++) {
		u = &j->u[i];
		if (u->remove || u->nocache || u->pre)
			rc = sb_statcache_del(j->sc, u->spath);
		if (!rc && !u->remove && u->hash && !u->nocache) {
			git_oid_tostr(hex, sizeof(hex), &u->oid);
			sb_upd_stat_get(&st, &u->st);
			rc = sb_statcache_put(j->sc, u->spath, &st, hex);
		}
	}
	return rc ? rc : sb_statcache_save(j->sc);
}

static int unchanged(struct job *j, const git_oid *tree,
		     const struct sb_commit_opts *o)
{
	git_tree *t;
	size_t n;

	if (o->merge_parent)
		return 0;
	if (j->base)
		return git_oid_equal(tree, git_tree_id(j->base));
	if (git_tree_lookup(&t, j->g, tree))
		return 0;
	n = git_tree_entrycount(t);
	git_tree_free(t);
	return n == 0;
}

static int commit_job(struct job *j, struct sb_changes *c,
		      const struct sb_commit_opts *o, char oid[SB_OID_HEX])
{
	size_t limit = o->pack_threshold > 0 ? (size_t)o->pack_threshold : 64;
	git_oid tree;
	int rc;

	if (c->all && (rc = scan_job(j, c)))
		return rc;
	sb_changes_sort(c);
	if ((rc = head_tree(j, j->g, &j->base)) || (rc = collect(j, c)))
		return rc;
	if (j->nhash + sb_committree_tree_estimate(j) > limit) {
		git_tree_free(j->base);
		j->base = NULL;
		if ((rc = sb_packrepo_open(&j->pr, sb_repo_git(j->r))))
			return rc;
		j->g = sb_packrepo_git(j->pr);
		if ((rc = head_tree(j, j->g, &j->base)))
			return rc;
	}
	if ((rc = sb_committree_hash_all(j)) ||
	    (rc = sb_committree_resolve(j)) ||
	    (rc = sb_committree_build_tree(j, &tree)))
		return rc;
	if (unchanged(j, &tree, o)) {
		snprintf(oid, SB_OID_HEX, "%s", j->head);
		rc = update_cache(j);
		return rc ? rc : 1;
	}
	if (j->pr && (rc = write_pack(j, &tree)))
		return rc;
	if ((rc = make_commit(j, &tree, o, oid)))
		return rc;
	return update_cache(j);
}

int sb_commit_changes(struct sb_repo *r, struct sb_store *st,
		      struct sb_statcache *sc, struct sb_changes *c,
		      const struct sb_commit_opts *o, char oid[SB_OID_HEX])
{
	struct job j;
	int rc = job_open(&j, r, st, sc);

	if (!rc)
		rc = commit_job(&j, c, o, oid);
	job_close(&j);
	return rc;
}

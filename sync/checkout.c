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

enum kind sb_checkout_kind_of(const char *spath)
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

void sb_checkout_dirname_of(char *out, size_t size, const char *spath)
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
	return sb_repo_peel_tree(g, out, hex, "cannot read the tree to check out");
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

void sb_checkout_notify(struct co *c, const char *spath)
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

int sb_checkout_dir_changed(struct co *c, const char *dir)
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

int sb_checkout_parent_changed(struct co *c, const char *spath)
{
	char dir[PATH_MAX];

	sb_checkout_dirname_of(dir, sizeof(dir), spath);
	return sb_checkout_dir_changed(c, dir);
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
	o->kind = sb_checkout_kind_of(spath);
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
	char shown[201];
	size_t i;

	/* one line: control bytes of a hostile name are shown as "?" */
	for (i = 0; i < sizeof(shown) - 1 && tpath[i]; i++)
		shown[i] = (unsigned char)tpath[i] < 0x20 ||
			   tpath[i] == 0x7f ? '?' : tpath[i];
	shown[i] = '\0';
	return sb_err_set(SB_EFORMAT, "cannot check out %.12s: tree path "
			  "\"%s%s\" %s", c->to_hex, shown,
			  tpath[i] ? "..." : "", why);
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

/* A path of to whose directory is a file of to: a name held twice. */
static int check_dirs(struct co *c)
{
	char dir[PATH_MAX];
	struct op *p;
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (!c->ops[i].has_to)
			continue;
		sb_checkout_dirname_of(dir, sizeof(dir), c->ops[i].spath);
		if ((p = sb_checkout_find_op(c, dir)) && p->has_to)
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

struct op *sb_checkout_find_op(struct co *c, const char *spath)
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

int sb_checkout_classify(struct co *c, const struct op *o, struct stat *st,
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
	if (!(rc = sb_checkout_disk_writes(c)) &&
	    !(rc = sb_checkout_disk_removals(c)))
		rc = sb_checkout_disk_blocked_writes(c);
	src = sb_checkout_disk_finish_dirs(c);
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

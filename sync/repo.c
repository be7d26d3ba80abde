#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "crypto/err.h"
#include "sync/packwrite.h"
#include "sync/repo.h"
#include "sync/repo_git.h"

#define MAIN_REF "refs/heads/main"

struct sb_repo {
	git_repository *git;
	char *workdir;
};

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();

	return sb_err_set(SB_EGIT, "%s: %s", what,
			  e && e->message ? e->message : "unknown git error");
}

/*
 * libgit2 maps pack files in windows of 1 GiB up to 8 GiB on 64-bit
 * machines: a push or fetch of a large import then keeps the whole pack
 * resident in the daemon. Small windows and a small total keep the
 * daemon's footprint bounded (packs are read sequentially anyway).
 */
static void lib_init(void)
{
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)(4u << 20));
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
			 (size_t)(16u << 20));
}

/*
 * Makes every object written so far durable before a ref names it: the
 * ref, the stat cache and the sync state must never name a commit a crash
 * can lose. One syncfs() costs less than libgit2's fsync of every loose
 * object and its directory (measured: 13 vs 62 ms for a one-message
 * commit, tests/bench/bench-commit).
 */
int sb_repo_git_durable(git_repository *g)
{
	const char *gd = git_repository_path(g);
	int fd = open(gd, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || syncfs(fd))
		rc = sb_err_set(-errno, "cannot flush %s: %s", gd,
				strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int objects_durable(struct sb_repo *r)
{
	return sb_repo_git_durable(r->git);
}

/*
 * Blobs are ciphertext: a delta between two of them never pays, yet
 * libgit2 looks for one for every object it packs for a push or a local
 * fetch. Objects over the big-file threshold skip the search; libgit2 1.5
 * reads that threshold from pack.deltaCacheSize (git from
 * core.bigFileThreshold), so both are set in the local config when unset.
 */
static void no_delta(git_repository *git)
{
	static const char *const keys[] = { "pack.deltaCacheSize",
					    "core.bigFileThreshold" };
	git_config *cfg = NULL;
	int64_t v;
	size_t i;

	if (git_repository_config(&cfg, git))
		return;
	for (i = 0; i < 2; i++)
		if (git_config_get_int64(&v, cfg, keys[i]) == GIT_ENOTFOUND)
			git_config_set_int64(cfg, keys[i], 1);
	git_config_free(cfg);
}

static int repo_wrap(struct sb_repo **out, git_repository *git)
{
	struct sb_repo *r = calloc(1, sizeof(*r));
	const char *wd = git_repository_workdir(git);

	if (!r || !wd || !(r->workdir = strdup(wd))) {
		free(r);
		git_repository_free(git);
		return wd ? -ENOMEM
			  : sb_err_set(SB_EGIT, "repository has no work tree");
	}
	r->git = git;
	no_delta(git);
	*out = r;
	return 0;
}

int sb_repo_init(struct sb_repo **out, const char *path)
{
	git_repository_init_options o;
	git_repository *git;

	lib_init();
	git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	o.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
	o.initial_head = "main";
	if (git_repository_init_ext(&git, path, &o))
		return git_fail("cannot create the repository");
	return repo_wrap(out, git);
}

int sb_repo_open(struct sb_repo **out, const char *path)
{
	git_repository *git;

	lib_init();
	if (git_repository_open_ext(&git, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
				    NULL))
		return git_fail("cannot open the repository");
	sb_packwrite_sweep(git);
	return repo_wrap(out, git);
}

void sb_repo_free(struct sb_repo *r)
{
	if (!r)
		return;
	git_repository_free(r->git);
	free(r->workdir);
	free(r);
	git_libgit2_shutdown();
}

int sb_repo_path_ignored(const char *store_path)
{
	const char *base = strrchr(store_path, '/');

	base = base ? base + 1 : store_path;
	return !strncmp(base, ".sbtmp.", 7) || !strcmp(store_path, ".git") ||
	       !strncmp(store_path, ".git/", 5);
}

/* Encrypted store entries fan out; ".sealbox/" and markers do not. */
static int fanned(const char *rel, const char *name)
{
	return rel[0] != '.' && name[0] != '.' && name[0] && name[1];
}

void sb_repo_tree_path(char *out, const char *store_path)
{
	const char *p = store_path;
	size_t o = 0;

	while (*p) {
		size_t n = strcspn(p, "/");

		if (fanned(store_path, p)) {
			out[o++] = p[0];
			out[o++] = '/';
			out[o++] = p[1];
			out[o++] = '/';
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
		if (*p == '/')
			out[o++] = *p++;
	}
	out[o] = '\0';
}

void sb_repo_store_path(char *out, const char *tree_path)
{
	const char *p = tree_path;
	size_t o = 0;

	while (*p) {
		size_t n = strcspn(p, "/");

		/* a fan-out level is one character, then its second level */
		if (tree_path[0] != '.' && n == 1 && p[1] == '/' && p[2] &&
		    p[3] == '/' && p[4] == p[0] && p[5] == p[2]) {
			p += 4;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
		if (*p == '/')
			out[o++] = *p++;
	}
	out[o] = '\0';
}

/*
 * Tree building for commit_all: a directory becomes a tree; fanned
 * entries go into two levels of sub-builders keyed by their first two
 * characters. Sub-builders are kept in a small table per level.
 */
struct fan {
	char key;
	git_treebuilder *tb;
	struct fan *sub;	/* next level (first level only) */
	size_t nsub;
};

static int fan_get(git_repository *g, struct fan **tab, size_t *n, char key,
		   struct fan **out)
{
	struct fan *t;
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*tab)[i].key == key) {
			*out = &(*tab)[i];
			return 0;
		}
	if (!(t = realloc(*tab, (*n + 1) * sizeof(*t))))
		return -ENOMEM;
	*tab = t;
	memset(&t[*n], 0, sizeof(*t));
	t[*n].key = key;
	if (git_treebuilder_new(&t[*n].tb, g, NULL))
		return git_fail("cannot build a tree");
	*out = &t[(*n)++];
	return 0;
}

static int fan_insert(git_repository *g, struct fan **tab, size_t *n,
		      const char *name, const git_oid *oid, git_filemode_t mode)
{
	struct fan *l1, *l2;
	int rc;

	if ((rc = fan_get(g, tab, n, name[0], &l1)) ||
	    (rc = fan_get(g, &l1->sub, &l1->nsub, name[1], &l2)))
		return rc;
	if (git_treebuilder_insert(NULL, l2->tb, name, oid, mode))
		return git_fail("cannot add a tree entry");
	return 0;
}

/* Writes the fan-out tables into tb and frees them. */
static int fan_flush(git_treebuilder *tb, struct fan *tab, size_t n)
{
	char key[2] = { 0, 0 };
	git_oid oid;
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (!rc && tab[i].sub)
			rc = fan_flush(tab[i].tb, tab[i].sub, tab[i].nsub);
		else if (tab[i].sub)
			fan_flush(NULL, tab[i].sub, tab[i].nsub);
		if (!rc && tb) {
			key[0] = tab[i].key;
			if (git_treebuilder_write(&oid, tab[i].tb) ||
			    git_treebuilder_insert(NULL, tb, key, &oid,
						   GIT_FILEMODE_TREE))
				rc = git_fail("cannot write a fan-out tree");
		}
		git_treebuilder_free(tab[i].tb);
	}
	free(tab);
	return rc;
}

static int tree_from_dir(git_repository *g, git_oid *out, const char *abs,
			 const char *rel);

static int entry_oid(git_repository *g, git_oid *oid, git_filemode_t *mode,
		     const char *abs, const char *rel)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;

	if (lstat(abs, &st))
		return sb_err_set(-errno, "%s: %s", abs, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		*mode = GIT_FILEMODE_TREE;
		return tree_from_dir(g, oid, abs, rel);
	}
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlink(abs, target, sizeof(target))) < 0)
			return sb_err_set(-errno, "%s: %s", abs, strerror(errno));
		*mode = GIT_FILEMODE_LINK;
		if (git_blob_create_from_buffer(oid, g, target, (size_t)n))
			return git_fail("cannot store a symlink");
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return 1;	/* sockets, fifos: not content */
	*mode = st.st_mode & 0111 ? GIT_FILEMODE_BLOB_EXECUTABLE
				  : GIT_FILEMODE_BLOB;
	if (git_blob_create_from_disk(oid, g, abs))
		return git_fail("cannot store a file");
	return 0;
}

static int add_entry(git_repository *g, git_treebuilder *tb,
		     struct fan **fans, size_t *nfans, const char *abs,
		     const char *rel, const char *name)
{
	git_filemode_t mode = GIT_FILEMODE_UNREADABLE;
	git_oid oid;
	int rc = entry_oid(g, &oid, &mode, abs, rel);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (mode == GIT_FILEMODE_TREE && git_oid_is_zero(&oid))
		return 0;	/* nothing committable inside */
	if (fanned(rel, name))
		return fan_insert(g, fans, nfans, name, &oid, mode);
	if (git_treebuilder_insert(NULL, tb, name, &oid, mode))
		return git_fail("cannot add a tree entry");
	return 0;
}

static int walk_dir(git_repository *g, git_treebuilder *tb, struct fan **fans,
		    size_t *nfans, DIR *d, const char *abs, const char *rel)
{
	char cabs[PATH_MAX], crel[PATH_MAX];
	struct dirent *de;
	int rc = 0;

	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(crel, sizeof(crel), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		if (sb_repo_path_ignored(crel))
			continue;
		if ((size_t)snprintf(cabs, sizeof(cabs), "%s/%s", abs,
				     de->d_name) >= sizeof(cabs))
			return sb_err_set(-ENAMETOOLONG, "%s: path too long", abs);
		rc = add_entry(g, tb, fans, nfans, cabs, crel, de->d_name);
	}
	return rc;
}

/* A directory with nothing to commit gets the zero oid. */
static int tree_from_dir(git_repository *g, git_oid *out, const char *abs,
			 const char *rel)
{
	git_treebuilder *tb;
	struct fan *fans = NULL;
	size_t nfans = 0;
	DIR *d;
	int rc;

	if (!(d = opendir(abs)))
		return sb_err_set(-errno, "%s: %s", abs, strerror(errno));
	if (git_treebuilder_new(&tb, g, NULL)) {
		closedir(d);
		return git_fail("cannot build a tree");
	}
	rc = walk_dir(g, tb, &fans, &nfans, d, abs, rel);
	closedir(d);
	rc = rc ? (fan_flush(NULL, fans, nfans), rc) : fan_flush(tb, fans, nfans);
	if (!rc && git_treebuilder_entrycount(tb) == 0)
		memset(out, 0, sizeof(*out));
	else if (!rc && git_treebuilder_write(out, tb))
		rc = git_fail("cannot write a tree");
	git_treebuilder_free(tb);
	return rc;
}

/* Removes the armor's final newline, as git stores the header. */
static void strip_newline(char *armor)
{
	size_t n = strlen(armor);

	if (n && armor[n - 1] == '\n')
		armor[n - 1] = '\0';
}

static int commit_signed(struct sb_repo *r, git_oid *oid, git_tree *tree,
			 const git_commit *parent, const char *message,
			 git_signature *who, sb_repo_sign_fn sign, void *ctx)
{
	git_buf buf = GIT_BUF_INIT;
	char *armor = NULL;
	int rc;

	if (git_commit_create_buffer(&buf, r->git, who, who, NULL, message,
				     tree, parent ? 1 : 0, &parent))
		return git_fail("cannot create a commit");
	rc = sign(&armor, buf.ptr, buf.size, ctx);
	if (!rc) {
		strip_newline(armor);
		if (git_commit_create_with_signature(oid, r->git, buf.ptr,
						     armor, "gpgsig"))
			rc = git_fail("cannot write the signed commit");
	}
	free(armor);
	git_buf_dispose(&buf);
	return rc;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd))
		rc = sb_err_set(-errno, "cannot flush %s: %s", path,
				strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The loose ref file libgit2 just renamed into place, and its directory. */
static int ref_durable(struct sb_repo *r, const char *name)
{
	char path[PATH_MAX], *slash;

	if ((size_t)snprintf(path, sizeof(path), "%s%s",
			     git_repository_path(r->git), name) >= sizeof(path))
		return -ENAMETOOLONG;
	if (fsync_path(path, 0))
		return sb_err_set(-EIO, "cannot flush the ref %s", name);
	slash = strrchr(path, '/');
	*slash = '\0';
	return fsync_path(path, O_DIRECTORY);
}

static int move_main(struct sb_repo *r, const git_oid *oid,
		     const git_commit *parent)
{
	git_reference *ref;
	int e;

	if ((e = objects_durable(r)))
		return e;
	if (parent)
		e = git_reference_create_matching(&ref, r->git, MAIN_REF, oid, 1,
						  git_commit_id(parent),
						  "sealbox commit");
	else
		e = git_reference_create(&ref, r->git, MAIN_REF, oid, 0,
					 "sealbox: first commit");
	if (e)
		return git_fail("cannot move " MAIN_REF);
	git_reference_free(ref);
	return ref_durable(r, MAIN_REF);
}

static int head_commit(struct sb_repo *r, git_commit **out)
{
	git_object *obj;
	int e = git_revparse_single(&obj, r->git, MAIN_REF);

	if (e == GIT_ENOTFOUND) {
		*out = NULL;
		return 0;
	}
	if (e)
		return git_fail("cannot read " MAIN_REF);
	*out = (git_commit *)obj;
	return 0;
}

int sb_repo_commit_all(struct sb_repo *r, char oid_hex[SB_OID_HEX],
		       const char *message, const char *name,
		       const char *email, sb_repo_sign_fn sign, void *ctx)
{
	git_commit *parent = NULL;
	git_signature *who = NULL;
	git_tree *tree = NULL;
	git_oid toid, coid;
	int rc;

	if ((rc = tree_from_dir(r->git, &toid, r->workdir, "")))
		return rc;
	if ((rc = head_commit(r, &parent)))
		return rc;
	if (git_signature_now(&who, name, email) ||
	    git_tree_lookup(&tree, r->git, &toid)) {
		rc = git_fail("cannot prepare the commit");
		goto out;
	}
	rc = commit_signed(r, &coid, tree, parent, message, who, sign, ctx);
	if (!rc)
		rc = move_main(r, &coid, parent);
	if (!rc)
		git_oid_tostr(oid_hex, SB_OID_HEX, &coid);
out:
	git_tree_free(tree);
	git_signature_free(who);
	git_commit_free(parent);
	return rc;
}

int sb_repo_head(struct sb_repo *r, char oid[SB_OID_HEX])
{
	git_commit *c = NULL;
	int rc = head_commit(r, &c);

	if (rc)
		return rc;
	if (!c)
		return sb_err_set(-ENOENT, "the repository has no commit yet");
	git_oid_tostr(oid, SB_OID_HEX, git_commit_id(c));
	git_commit_free(c);
	return 0;
}

int sb_repo_head_file(struct sb_repo *r, const char *store_path, void **buf,
		      size_t *len)
{
	char tpath[PATH_MAX * 3 + 1];
	git_commit *c = NULL;
	git_object *obj = NULL;
	git_tree *tree = NULL;
	git_tree_entry *te = NULL;
	int rc;

	if (strlen(store_path) >= PATH_MAX)
		return -ENAMETOOLONG;
	sb_repo_tree_path(tpath, store_path);
	if ((rc = head_commit(r, &c)))
		return rc;
	if (!c)
		return -ENOENT;
	rc = -ENOENT;
	if (git_commit_tree(&tree, c) ||
	    git_tree_entry_bypath(&te, tree, tpath) ||
	    git_tree_entry_to_object(&obj, r->git, te) ||
	    git_object_type(obj) != GIT_OBJECT_BLOB)
		goto out;
	*len = git_blob_rawsize((git_blob *)obj);
	rc = (*buf = malloc(*len + 1)) ? 0 : -ENOMEM;
	if (!rc) {
		memcpy(*buf, git_blob_rawcontent((git_blob *)obj), *len);
		((char *)*buf)[*len] = '\0';
	}
out:
	git_object_free(obj);
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

int sb_repo_commit_raw(struct sb_repo *r, const char *oid_hex, char **raw,
		       size_t *len)
{
	git_odb_object *o = NULL;
	git_odb *odb = NULL;
	git_oid oid;
	int rc = 0;

	if (git_oid_fromstr(&oid, oid_hex))
		return sb_err_set(SB_EFORMAT, "bad commit id %s", oid_hex);
	if (git_repository_odb(&odb, r->git) || git_odb_read(&o, odb, &oid)) {
		rc = git_fail("cannot read the commit");
		goto out;
	}
	if (git_odb_object_type(o) != GIT_OBJECT_COMMIT) {
		rc = sb_err_set(SB_EFORMAT, "%s is not a commit", oid_hex);
		goto out;
	}
	*len = git_odb_object_size(o);
	if (!(*raw = malloc(*len + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*raw, git_odb_object_data(o), *len);
	(*raw)[*len] = '\0';
out:
	git_odb_object_free(o);
	git_odb_free(odb);
	return rc;
}

int sb_repo_set_remote(struct sb_repo *r, const char *url)
{
	git_remote *remote = NULL;
	int e = git_remote_lookup(&remote, r->git, "origin");

	git_remote_free(remote);
	remote = NULL;
	if (e == 0)
		e = git_remote_set_url(r->git, "origin", url);
	else if (e == GIT_ENOTFOUND)
		e = git_remote_create(&remote, r->git, "origin", url);
	if (e)
		return git_fail("cannot set the remote");
	git_remote_free(remote);
	return 0;
}

int sb_repo_remote(struct sb_repo *r, char **url)
{
	git_remote *remote;
	int e = git_remote_lookup(&remote, r->git, "origin");

	if (e == GIT_ENOTFOUND) {
		*url = NULL;
		return 0;
	}
	if (e)
		return git_fail("cannot read the remote");
	*url = git_remote_url(remote) ? strdup(git_remote_url(remote)) : NULL;
	git_remote_free(remote);
	return 0;
}

git_repository *sb_repo_git(struct sb_repo *r)
{
	return r->git;
}

int sb_repo_git_fail(const char *what)
{
	return git_fail(what);
}

static int oid_parse(git_oid *oid, const char *hex)
{
	if (!hex || git_oid_fromstr(oid, hex))
		return sb_err_set(SB_EFORMAT, "bad object id %s",
				  hex ? hex : "(null)");
	return 0;
}

static int lookup_commit(struct sb_repo *r, git_commit **c, const char *hex)
{
	git_oid oid;
	int rc;

	if ((rc = oid_parse(&oid, hex)))
		return rc;
	if (git_commit_lookup(c, r->git, &oid))
		return git_fail("cannot read a commit");
	return 0;
}

int sb_repo_peel_tree(git_repository *g, git_tree **out, const char *hex,
		      const char *what)
{
	git_object *obj = NULL;
	git_oid id;
	int rc = 0;

	*out = NULL;
	if (!hex || !*hex)
		return 0;
	if ((rc = oid_parse(&id, hex)))
		return rc;
	if (git_object_lookup(&obj, g, &id, GIT_OBJECT_ANY) ||
	    git_object_peel((git_object **)out, obj, GIT_OBJECT_TREE))
		rc = git_fail(what);
	git_object_free(obj);
	return rc;
}

int sb_repo_commit_tree(struct sb_repo *r, char oid_hex[SB_OID_HEX],
			const char *tree_hex, const char *const *parents,
			size_t nparents, const char *message, const char *name,
			const char *email, sb_repo_sign_fn sign, void *ctx)
{
	git_buf buf = GIT_BUF_INIT;
	git_commit *pc[8] = { NULL };
	git_signature *who = NULL;
	git_tree *tree = NULL;
	char *armor = NULL;
	git_oid coid;
	size_t i;
	int rc = 0;

	if (nparents > 8)
		return sb_err_set(-EINVAL, "too many parents");
	for (i = 0; !rc && i < nparents; i++)
		rc = lookup_commit(r, &pc[i], parents[i]);
	if (!rc)
		rc = sb_repo_peel_tree(r->git, &tree, tree_hex,
				       "cannot read a tree");
	if (!rc && git_signature_now(&who, name, email))
		rc = git_fail("cannot prepare the commit");
	if (!rc && git_commit_create_buffer(&buf, r->git, who, who, NULL,
					    message, tree, nparents,
					    (const git_commit **)pc))
		rc = git_fail("cannot create a commit");
	if (!rc)
		rc = sign(&armor, buf.ptr, buf.size, ctx);
	if (!rc) {
		strip_newline(armor);
		if (git_commit_create_with_signature(&coid, r->git, buf.ptr,
						     armor, "gpgsig"))
			rc = git_fail("cannot write the signed commit");
		else
			git_oid_tostr(oid_hex, SB_OID_HEX, &coid);
	}
	free(armor);
	git_buf_dispose(&buf);
	git_signature_free(who);
	git_tree_free(tree);
	for (i = 0; i < nparents; i++)
		git_commit_free(pc[i]);
	return rc;
}

int sb_repo_commit_tree_id(struct sb_repo *r, const char *commit,
			   char tree[SB_OID_HEX])
{
	git_commit *c;
	int rc = lookup_commit(r, &c, commit);

	if (rc)
		return rc;
	git_oid_tostr(tree, SB_OID_HEX, git_commit_tree_id(c));
	git_commit_free(c);
	return 0;
}

int sb_repo_ref(struct sb_repo *r, const char *name, char oid[SB_OID_HEX])
{
	git_oid id;
	int e = git_reference_name_to_id(&id, r->git, name);

	if (e == GIT_ENOTFOUND)
		return -ENOENT;
	if (e)
		return git_fail("cannot read a ref");
	git_oid_tostr(oid, SB_OID_HEX, &id);
	return 0;
}

int sb_repo_set_ref(struct sb_repo *r, const char *name, const char *oid,
		    const char *old, const char *msg)
{
	git_reference *ref = NULL;
	git_oid id, prev;
	int e, rc;

	if ((rc = oid_parse(&id, oid)) || (rc = objects_durable(r)))
		return rc;
	if (!old)
		e = git_reference_create(&ref, r->git, name, &id, 1, msg);
	else if (!*old)
		e = git_reference_create(&ref, r->git, name, &id, 0, msg);
	else if ((rc = oid_parse(&prev, old)))
		return rc;
	else
		e = git_reference_create_matching(&ref, r->git, name, &id, 1,
						  &prev, msg);
	git_reference_free(ref);
	if (e == GIT_EMODIFIED || e == GIT_EEXISTS)
		return sb_err_set(-EAGAIN, "%s moved meanwhile", name);
	if (e)
		return git_fail("cannot move a ref");
	return ref_durable(r, name);
}

int sb_repo_merge_base(struct sb_repo *r, const char *a, const char *b,
		       char base[SB_OID_HEX])
{
	git_oid ia, ib, out;
	int e, rc;

	if ((rc = oid_parse(&ia, a)) || (rc = oid_parse(&ib, b)))
		return rc;
	e = git_merge_base(&out, r->git, &ia, &ib);
	if (e == GIT_ENOTFOUND)
		return -ENOENT;
	if (e)
		return git_fail("cannot find the merge base");
	git_oid_tostr(base, SB_OID_HEX, &out);
	return 0;
}

int sb_repo_descends(struct sb_repo *r, const char *commit,
		     const char *ancestor)
{
	git_oid c, a;
	int e, rc;

	if ((rc = oid_parse(&c, commit)) || (rc = oid_parse(&a, ancestor)))
		return rc;
	if (git_oid_equal(&c, &a))
		return 1;
	e = git_graph_descendant_of(r->git, &c, &a);
	if (e < 0)
		return git_fail("cannot walk the history");
	return e;
}

int sb_repo_config_int(struct sb_repo *r, const char *key, int def)
{
	git_config *cfg = NULL;
	int32_t v;

	if (git_repository_config_snapshot(&cfg, r->git) ||
	    git_config_get_int32(&v, cfg, key))
		v = def;
	git_config_free(cfg);
	return v;
}

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"
#include "crypto/names.h"
#include "sync/ignore.h"
#include "sync/mergetree.h"
#include "sync/repo_git.h"

#define TPATH_MAX (3 * PATH_MAX + 1)
#define NONE SB_MT_NONE

enum { B = SB_MT_BASE, O = SB_MT_OURS, T = SB_MT_THEIRS };

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

int sb_mergetree_same(const struct sb_mt_ver *a, const struct sb_mt_ver *b)
{
	if (!a->present || !b->present)
		return a->present == b->present;
	return git_oid_equal(&a->oid, &b->oid) && a->mode == b->mode;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Trees. */

static int peel_tree(git_repository *g, git_tree **out, const char *hex)
{
	return sb_repo_peel_tree(g, out, hex, "cannot read a tree to merge");
}

static int tree_blob(git_tree *t, const char *spath, struct sb_mt_ver *v)
{
	char tpath[TPATH_MAX];
	git_tree_entry *te = NULL;

	memset(v, 0, sizeof(*v));
	if (!t || strlen(spath) >= PATH_MAX)
		return 0;
	sb_repo_tree_path(tpath, spath);
	if (git_tree_entry_bypath(&te, t, tpath))
		return 0;
	if (git_tree_entry_type(te) == GIT_OBJECT_BLOB) {
		git_oid_cpy(&v->oid, git_tree_entry_id(te));
		v->mode = git_tree_entry_filemode(te);
		v->present = 1;
	}
	git_tree_entry_free(te);
	return 0;
}

/* A version at spath in ours, theirs or base, in that order. */
static int any_side(struct sb_mergetree *m, const char *spath,
		    struct sb_mt_ver *v)
{
	static const int order[3] = { O, T, B };
	int i;

	for (i = 0; i < 3; i++) {
		tree_blob(m->t[order[i]], spath, v);
		if (v->present)
			return order[i];
	}
	return -1;
}

static int sidecar_cb(char *enc, size_t size, const char *sidecar, void *ctx)
{
	struct sb_mergetree *m = ctx;
	git_blob *b = NULL;
	struct sb_mt_ver v;
	size_t len;

	if (any_side(m, sidecar, &v) < 0)
		return -ENOENT;
	if (git_blob_lookup(&b, m->g, &v.oid))
		return fail("cannot read a sidecar");
	len = (size_t)git_blob_rawsize(b);
	if (len >= size)
		len = size - 1;
	memcpy(enc, git_blob_rawcontent(b), len);
	enc[len] = '\0';
	git_blob_free(b);
	return (int)len;
}

/* Items and their index. */

static uint64_t hash_key(const char *plain, int isdir)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(isdir + 1);

	for (; *plain; plain++)
		h = (h ^ (uint8_t)*plain) * 1099511628211ull;
	return h;
}

static size_t find_slot(const struct sb_mergetree *m, const char *plain,
			int isdir)
{
	size_t i = (size_t)hash_key(plain, isdir) & (m->cap - 1);

	while (m->slot[i] != NONE) {
		const struct sb_mt_item *it = &m->it[m->slot[i]];

		if (it->isdir == isdir && !strcmp(it->plain, plain))
			break;
		i = (i + 1) & (m->cap - 1);
	}
	return i;
}

static int grow_index(struct sb_mergetree *m)
{
	size_t i, cap = m->cap ? 2 * m->cap : 256;
	size_t *old = m->slot;

	if (!(m->slot = malloc(cap * sizeof(*m->slot)))) {
		m->slot = old;
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++)
		m->slot[i] = NONE;
	m->cap = cap;
	for (i = 0; i < m->n; i++)
		m->slot[find_slot(m, m->it[i].plain, m->it[i].isdir)] = i;
	free(old);
	return 0;
}

size_t sb_mergetree_find(const struct sb_mergetree *m, const char *plain,
			 int isdir)
{
	if (!m->cap)
		return NONE;
	return m->slot[find_slot(m, plain, isdir)];
}

static void look_up(struct sb_mergetree *m, struct sb_mt_item *it)
{
	char path[PATH_MAX + 16];
	int s;

	if (it->isdir)
		snprintf(path, sizeof(path), "%s/" SB_STORE_MARKER, it->spath);
	else
		snprintf(path, sizeof(path), "%s", it->spath);
	for (s = B; s <= T; s++)
		tree_blob(m->t[s], path, &it->v[s]);
	it->res = it->v[O];
}

static int item_add(struct sb_mergetree *m, const char *spath,
		    const char *plain, int isdir, size_t *idx)
{
	struct sb_mt_item *it;
	int rc;

	if ((m->n + 1) * 2 > m->cap && (rc = grow_index(m)))
		return rc;
	if (m->n == m->alloc) {
		size_t na = m->alloc ? 2 * m->alloc : 64;

		if (!(it = realloc(m->it, na * sizeof(*it))))
			return -ENOMEM;
		m->it = it;
		m->alloc = na;
	}
	it = &m->it[m->n];
	memset(it, 0, sizeof(*it));
	it->isdir = isdir;
	if (!(it->spath = strdup(spath)) || !(it->plain = strdup(plain))) {
		free(it->spath);
		free(it->plain);
		return -ENOMEM;
	}
	look_up(m, it);
	m->slot[find_slot(m, plain, isdir)] = m->n;
	*idx = m->n++;
	return 0;
}

/* The item of a plaintext path, made (from the trees) when new. */
int sb_mergetree_get(struct sb_mergetree *m, const char *plain, int isdir,
		     size_t *idx)
{
	char spath[PATH_MAX];
	int rc;

	if ((*idx = sb_mergetree_find(m, plain, isdir)) != NONE)
		return 0;
	rc = sb_store_backing_path(m->st, spath, sizeof(spath), plain);
	if (rc)
		return sb_err_set(rc, "%s: %s", plain, sb_err_str(rc));
	return item_add(m, spath, plain, isdir, idx);
}

/* A path of a tree for a message: one line, control bytes as "?". */
static const char *shown(char out[204], const char *p)
{
	size_t i;

	for (i = 0; i < 200 && p[i]; i++)
		out[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	memcpy(out + i, p[i] ? "..." : "", p[i] ? 4 : 1);
	return out;
}

/* Listing what changed: store paths from both diffs against base. */

struct keys {
	char **k;	/* "F<store path>" or "D<store path>" */
	size_t n, alloc;
};

static int key_add(struct keys *k, char type, const char *spath)
{
	size_t len = strlen(spath);
	char **p;

	if (k->n == k->alloc) {
		size_t na = k->alloc ? 2 * k->alloc : 256;

		if (!(p = realloc(k->k, na * sizeof(*p))))
			return -ENOMEM;
		k->k = p;
		k->alloc = na;
	}
	if (!(k->k[k->n] = malloc(len + 2)))
		return -ENOMEM;
	k->k[k->n][0] = type;
	memcpy(k->k[k->n] + 1, spath, len + 1);
	k->n++;
	return 0;
}

/* The item a changed store path belongs to; internal paths have none. */
static int path_key(struct keys *k, const char *tpath)
{
	char spath[TPATH_MAX], msg[204];
	const char *base;
	size_t len = strlen(tpath);

	/* a signed tree is not a sound one: nothing is assumed to fit */
	if (len < sizeof(spath))
		sb_repo_store_path(spath, tpath);
	if (len >= sizeof(spath) || strlen(spath) >= PATH_MAX)
		return sb_err_set(SB_EFORMAT, "cannot merge: tree path "
				  "\"%s\" is too long", shown(msg, tpath));
	if (spath[0] == '.' || sb_repo_path_ignored(spath))
		return 0;
	base = base_name(spath);
	len = strlen(spath);
	if (!strcmp(base, SB_STORE_MARKER)) {
		if (base == spath)
			return 0;
		spath[base - spath - 1] = '\0';
		return key_add(k, 'D', spath);
	}
	switch (sb_names_kind(base)) {
	case SB_NAME_SIDECAR:
		spath[len - 2] = '\0';
		return key_add(k, 'F', spath);
	case SB_NAME_SHORT:
	case SB_NAME_LONG:
		return key_add(k, 'F', spath);
	default:
		return 0;
	}
}

static int diff_keys(struct sb_mergetree *m, struct keys *k, git_tree *side)
{
	git_diff_options o;
	git_diff *diff = NULL;
	const git_diff_delta *d;
	size_t i, n;
	int rc = 0;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	if (git_diff_tree_to_tree(&diff, m->g, m->t[B], side, &o))
		return fail("cannot compare the trees");
	n = git_diff_num_deltas(diff);
	for (i = 0; !rc && i < n; i++) {
		d = git_diff_get_delta(diff, i);
		rc = path_key(k, d->status == GIT_DELTA_ADDED ?
				 d->new_file.path : d->old_file.path);
	}
	git_diff_free(diff);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int key_item(struct sb_mergetree *m, const char *key)
{
	char plain[PATH_MAX], msg[204];
	size_t idx;
	int rc, isdir = key[0] == 'D';
	struct sb_mt_item *it;

	rc = sb_store_plain_path_with(m->st, plain, sizeof(plain), key + 1,
				      sidecar_cb, m);
	if (rc == -EINVAL)
		return 0;
	if (rc)
		return sb_err_set(rc, "cannot decrypt the name %s: %s",
				  shown(msg, key + 1), sb_err_str(rc));
	if (sb_mergetree_find(m, plain, isdir) != NONE)
		return 0;
	if ((rc = item_add(m, key + 1, plain, isdir, &idx)))
		return rc;
	it = &m->it[idx];
	if (!it->v[B].present && !it->v[O].present && !it->v[T].present)
		it->fixed = 1;	/* a sidecar's directory, say */
	else if (sb_ignore_plain(plain))
		it->fixed = 1;
	return 0;
}

int sb_mergetree_list(struct sb_mergetree *m)
{
	struct keys k = { NULL, 0, 0 };
	size_t i;
	int rc;

	if (!(rc = diff_keys(m, &k, m->t[O])))
		rc = diff_keys(m, &k, m->t[T]);
	if (!rc && k.n)
		qsort(k.k, k.n, sizeof(*k.k), cmp_str);
	for (i = 0; !rc && i < k.n; i++)
		if (!i || strcmp(k.k[i], k.k[i - 1]))
			rc = key_item(m, k.k[i]);
	for (i = 0; i < k.n; i++)
		free(k.k[i]);
	free(k.k);
	return rc;
}

/*
 * An item claims its path when the merge result has it or, before it is
 * merged, when any side has it: a name that only the other side's kept
 * copy holds so far is not free for a new copy (it would replace it).
 */
static int item_claims(const struct sb_mergetree *m, size_t i)
{
	const struct sb_mt_item *it;

	if (i == NONE)
		return 0;
	it = &m->it[i];
	return it->res.present || it->v[0].present || it->v[1].present ||
	       it->v[2].present;
}

/* 1 when the plaintext path is taken in the merged tree. */
int sb_mergetree_taken(struct sb_mergetree *m, const char *plain)
{
	char spath[PATH_MAX];
	struct sb_mt_ver v;
	size_t i = sb_mergetree_find(m, plain, 0);
	size_t d = sb_mergetree_find(m, plain, 1);

	if (i != NONE || d != NONE)
		return item_claims(m, i) || item_claims(m, d);
	if (sb_store_backing_path(m->st, spath, sizeof(spath), plain))
		return 1;
	tree_blob(m->t[O], spath, &v);
	if (v.present)
		return 1;
	snprintf(spath + strlen(spath), sizeof(spath) - strlen(spath),
		 "/" SB_STORE_MARKER);
	tree_blob(m->t[O], spath, &v);
	return v.present;
}

/* Building the tree. */

struct upd {
	git_tree_update *u;
	char **paths;
	size_t n, alloc;
};

static int upd_add(struct upd *u, git_tree_update_t action,
		   const char *spath, const git_oid *oid, git_filemode_t mode)
{
	size_t len = strlen(spath);

	if (u->n == u->alloc) {
		size_t na = u->alloc ? 2 * u->alloc : 64;
		git_tree_update *nu = realloc(u->u, na * sizeof(*nu));
		char **np;

		if (!nu)
			return -ENOMEM;
		u->u = nu;
		if (!(np = realloc(u->paths, na * sizeof(*np))))
			return -ENOMEM;
		u->paths = np;
		u->alloc = na;
	}
	if (!(u->paths[u->n] = malloc(3 * len + 1)))
		return -ENOMEM;
	sb_repo_tree_path(u->paths[u->n], spath);
	memset(&u->u[u->n], 0, sizeof(u->u[u->n]));
	u->u[u->n].action = action;
	u->u[u->n].path = u->paths[u->n];
	if (oid)
		u->u[u->n].id = *oid;
	u->u[u->n].filemode = mode;
	u->n++;
	return 0;
}

static void upd_free(struct upd *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->paths[i]);
	free(u->paths);
	free(u->u);
}

static int item_updates(struct sb_mergetree *m, const struct sb_mt_item *it,
			struct upd *rm, struct upd *up)
{
	char path[PATH_MAX + 16];

	if (sb_mergetree_same(&it->res, &it->v[O]))
		return 0;
	if (it->isdir)
		snprintf(path, sizeof(path), "%s/" SB_STORE_MARKER, it->spath);
	else
		snprintf(path, sizeof(path), "%s", it->spath);
	if (!it->res.present)
		return upd_add(rm, GIT_TREE_UPDATE_REMOVE, path, NULL, 0);
	if (it->isdir && it->v[O].present)
		return 0;	/* any marker will do */
	return upd_add(up, GIT_TREE_UPDATE_UPSERT, path, &it->res.oid,
		       it->res.mode);
}

/* 1 when ours has something at spath that no item stands for. */
static int ours_has(struct sb_mergetree *m, const char *spath, int isdir)
{
	char path[PATH_MAX + 16];
	struct sb_mt_ver v;

	snprintf(path, sizeof(path), isdir ? "%s/" SB_STORE_MARKER : "%s",
		 spath);
	tree_blob(m->t[O], path, &v);
	return v.present;
}

/* The sidecar of a long name: there when something is at its path. */
static int sidecar_updates(struct sb_mergetree *m, const struct sb_mt_item *it,
			   struct upd *rm, struct upd *up)
{
	char sc[PATH_MAX + 4], enc[SB_NAMES_ENC_MAX];
	size_t f = sb_mergetree_find(m, it->plain, 0);
	size_t d = sb_mergetree_find(m, it->plain, 1);
	int need, rc;
	struct sb_mt_ver v;
	git_oid oid;

	if (sb_names_kind(base_name(it->spath)) != SB_NAME_LONG)
		return 0;
	if (it->isdir && f != NONE)
		return 0;	/* done with the file's item */
	need = (f != NONE ? m->it[f].res.present
			  : ours_has(m, it->spath, 0)) ||
	       (d != NONE ? m->it[d].res.present
			  : ours_has(m, it->spath, 1));
	snprintf(sc, sizeof(sc), "%s.n", it->spath);
	tree_blob(m->t[O], sc, &v);
	if (need && !v.present) {
		rc = sb_store_sidecar_name(m->st, enc, it->plain);
		if (rc < 0)
			return rc;
		if (git_blob_create_from_buffer(&oid, m->g, enc, strlen(enc)))
			return fail("cannot store a sidecar");
		return upd_add(up, GIT_TREE_UPDATE_UPSERT, sc, &oid,
			       GIT_FILEMODE_BLOB);
	}
	if (!need && v.present)
		return upd_add(rm, GIT_TREE_UPDATE_REMOVE, sc, NULL, 0);
	return 0;
}

static int run_updates(struct sb_mergetree *m, git_oid *out, git_tree *from,
		       struct upd *u)
{
	if (git_tree_create_updated(out, m->g, from, u->n, u->u))
		return fail("cannot build the merged tree");
	return 0;
}

/*
 * Two passes: git_tree_create_updated() (libgit2 1.5) will not put a
 * file where a tree is or the reverse, and drops trees that became
 * empty; removing first makes room.
 */
int sb_mergetree_build(struct sb_mergetree *m, int take, const git_oid *policy,
		      git_oid *out)
{
	struct upd rm = { 0 }, up = { 0 };
	git_tree *mid = NULL;
	git_oid id;
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < m->n; i++)
		if (!(rc = item_updates(m, &m->it[i], &rm, &up)))
			rc = sidecar_updates(m, &m->it[i], &rm, &up);
	if (!rc && take)
		rc = upd_add(&up, GIT_TREE_UPDATE_UPSERT, ".sealbox", policy,
			     GIT_FILEMODE_TREE);
	if (!rc && rm.n) {
		rc = run_updates(m, &id, m->t[O], &rm);
		if (!rc && git_tree_lookup(&mid, m->g, &id))
			rc = fail("cannot read a tree");
	}
	if (!rc)
		rc = run_updates(m, out, mid ? mid : m->t[O], &up);
	git_tree_free(mid);
	upd_free(&rm);
	upd_free(&up);
	return rc;
}

void sb_mergetree_free(struct sb_mergetree *m)
{
	size_t i;
	int s;

	for (i = 0; i < m->n; i++) {
		free(m->it[i].spath);
		free(m->it[i].plain);
	}
	free(m->it);
	free(m->slot);
	for (s = B; s <= T; s++)
		git_tree_free(m->t[s]);
}

int sb_mergetree_open(struct sb_mergetree *m, const char *base,
		      const char *ours, const char *theirs)
{
	int rc;

	if ((rc = peel_tree(m->g, &m->t[B], base)) ||
	    (rc = peel_tree(m->g, &m->t[O], ours)) ||
	    (rc = peel_tree(m->g, &m->t[T], theirs)))
		return rc;
	if (!m->t[O] || !m->t[T])
		return sb_err_set(-EINVAL, "nothing to merge");
	return 0;
}

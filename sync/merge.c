#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/names.h"
#include "sync/ignore.h"
#include "sync/maildir_merge.h"
#include "sync/merge.h"
#include "sync/pim_merge.h"
#include "sync/repo_git.h"

#define TPATH_MAX (3 * PATH_MAX + 1)
#define NONE SIZE_MAX

enum { B, O, T };	/* base, ours, theirs */

/* One side's version of an item. */
struct ver {
	git_oid oid;
	git_filemode_t mode;
	int present;
};

/*
 * A plaintext path that differs between the trees (or that the merge
 * writes): a file or symlink at its backing path, or a directory, whose
 * version is its marker.
 */
struct item {
	char *spath, *plain;
	int isdir;
	struct ver v[3], res;
	unsigned maildir:1, touched:1, fixed:1;
};

struct mg {
	git_repository *g;
	struct sb_store *st;
	git_tree *t[3];
	struct item *it;
	size_t n, alloc;
	size_t *slot;		/* index by (isdir, plain) */
	size_t cap;
	const char *dev[3];
	struct sb_merge_report *rep;
};

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

static int same(const struct ver *a, const struct ver *b)
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
		rc = fail("cannot read a tree to merge");
	git_object_free(obj);
	return rc;
}

static int tree_blob(git_tree *t, const char *spath, struct ver *v)
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
static int any_side(struct mg *m, const char *spath, struct ver *v)
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
	struct mg *m = ctx;
	git_blob *b = NULL;
	struct ver v;
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

static size_t find_slot(const struct mg *m, const char *plain, int isdir)
{
	size_t i = (size_t)hash_key(plain, isdir) & (m->cap - 1);

	while (m->slot[i] != NONE) {
		const struct item *it = &m->it[m->slot[i]];

		if (it->isdir == isdir && !strcmp(it->plain, plain))
			break;
		i = (i + 1) & (m->cap - 1);
	}
	return i;
}

static int grow_index(struct mg *m)
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

static size_t item_find(const struct mg *m, const char *plain, int isdir)
{
	if (!m->cap)
		return NONE;
	return m->slot[find_slot(m, plain, isdir)];
}

static void look_up(struct mg *m, struct item *it)
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

static int item_add(struct mg *m, const char *spath, const char *plain,
		    int isdir, size_t *idx)
{
	struct item *it;
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
static int item_get(struct mg *m, const char *plain, int isdir, size_t *idx)
{
	char spath[PATH_MAX];
	int rc;

	if ((*idx = item_find(m, plain, isdir)) != NONE)
		return 0;
	rc = sb_store_backing_path(m->st, spath, sizeof(spath), plain);
	if (rc)
		return sb_err_set(rc, "%s: %s", plain, sb_err_str(rc));
	return item_add(m, spath, plain, isdir, idx);
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
	char spath[TPATH_MAX];
	const char *base;
	size_t len;

	sb_repo_store_path(spath, tpath);
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

static int diff_keys(struct mg *m, struct keys *k, git_tree *side)
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
		rc = path_key(k, d->status == GIT_DELTA_ADDED ? d->new_file.path
							      : d->old_file.path);
	}
	git_diff_free(diff);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int key_item(struct mg *m, const char *key)
{
	char plain[PATH_MAX];
	size_t idx;
	int rc, isdir = key[0] == 'D';
	struct item *it;

	rc = sb_store_plain_path_with(m->st, plain, sizeof(plain), key + 1,
				      sidecar_cb, m);
	if (rc == -EINVAL)
		return 0;
	if (rc)
		return sb_err_set(rc, "cannot decrypt the name %s: %s", key + 1,
				  sb_err_str(rc));
	if (item_find(m, plain, isdir) != NONE)
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

static int list_items(struct mg *m)
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

/* The report. */

static int add_conflict(struct mg *m, const char *path, const char *kept,
			const struct sb_pim_conflict *pc, const char *loser,
			const git_oid *old)
{
	struct sb_merge_report *r = m->rep;
	struct sb_merge_conflict *c;

	if (!(c = realloc(r->conflicts, (r->nconflicts + 1) * sizeof(*c))))
		return -ENOMEM;
	r->conflicts = c;
	c = &c[r->nconflicts];
	memset(c, 0, sizeof(*c));
	r->nconflicts++;
	c->path = strdup(path);
	c->kept = kept ? strdup(kept) : NULL;
	c->where = pc && pc->where ? strdup(pc->where) : NULL;
	c->what = pc && pc->name ? strdup(pc->name) : NULL;
	c->line = pc && pc->line ? strdup(pc->line) : NULL;
	c->loser = strdup(loser);
	if (old)
		git_oid_tostr(c->old_blob, SB_OID_HEX, old);
	if (!c->path || (kept && !c->kept) || !c->loser ||
	    (pc && pc->where && !c->where) || (pc && pc->name && !c->what) ||
	    (pc && pc->line && !c->line))
		return -ENOMEM;
	return 0;
}

/* Maildir messages. */

static int is_message(const char *plain)
{
	const char *base = base_name(plain);
	size_t plen;

	if (strncmp(plain, "mail/", 5) || base == plain)
		return 0;
	plen = (size_t)(base - plain) - 1;
	return plen >= 3 && (plen == 3 || plain[plen - 4] == '/') &&
	       (!strncmp(plain + plen - 3, "new", 3) ||
		!strncmp(plain + plen - 3, "cur", 3));
}

struct lists {
	const char **p[3];
	size_t n[3];
};

static int maildir_lists(struct mg *m, struct lists *l)
{
	size_t i;
	int s;

	for (s = B; s <= T; s++)
		if (!(l->p[s] = malloc((m->n ? m->n : 1) * sizeof(char *))))
			return -ENOMEM;
	for (i = 0; i < m->n; i++) {
		struct item *it = &m->it[i];

		if (it->isdir || it->fixed || !is_message(it->plain))
			continue;
		it->maildir = 1;
		for (s = B; s <= T; s++)
			if (it->v[s].present)
				l->p[s][l->n[s]++] = it->plain;
	}
	return 0;
}

static int apply_op(struct mg *m, const struct sb_maildir_op *op)
{
	size_t from, to;
	int rc;

	if ((rc = item_get(m, op->from, 0, &from)))
		return rc;
	if (op->kind == SB_MAILDIR_DELETE) {
		m->it[from].res.present = 0;
		m->it[from].touched = 1;
		return 0;
	}
	if ((rc = item_get(m, op->to, 0, &to)))
		return rc;
	m->it[to].res = m->it[from].v[op->kind == SB_MAILDIR_ADD ? T : O];
	m->it[to].touched = m->it[to].maildir = 1;
	if (op->kind == SB_MAILDIR_RENAME && from != to) {
		m->it[from].res.present = 0;
		m->it[from].touched = 1;
	}
	return 0;
}

static int merge_maildir(struct mg *m)
{
	struct sb_maildir_ops *ops = NULL;
	struct lists l;
	size_t i, n = m->n;
	int rc;

	memset(&l, 0, sizeof(l));
	rc = maildir_lists(m, &l);
	if (!rc)
		rc = sb_maildir_merge(&ops, l.p[B], l.n[B], l.p[O], l.n[O],
				      l.p[T], l.n[T]);
	free(l.p[B]);
	free(l.p[O]);
	free(l.p[T]);
	for (i = 0; !rc && i < ops->n; i++)
		rc = apply_op(m, &ops->ops[i]);
	if (!rc)
		m->rep->maildir_ops += ops->n;
	sb_maildir_ops_free(ops);
	/* a message left where it is takes the other side's content change */
	for (i = 0; !rc && i < n; i++) {
		struct item *it = &m->it[i];

		if (it->maildir && !it->touched && it->v[O].present &&
		    it->v[T].present && same(&it->v[O], &it->v[B]))
			it->res = it->v[T];
	}
	return rc;
}

/* Other files. */

static int blob_text(struct mg *m, const git_oid *oid, uint8_t **out,
		     size_t *len, struct sb_meta *meta)
{
	git_blob *b = NULL;
	int rc;

	if (git_blob_lookup(&b, m->g, oid))
		return fail("cannot read a blob to merge");
	rc = sb_store_unseal(m->st, out, len, meta, git_blob_rawcontent(b),
			     (size_t)git_blob_rawsize(b));
	git_blob_free(b);
	return rc;
}

static void text_free(uint8_t *p, size_t len)
{
	if (p) {
		sb_wipe(p, len);
		free(p);
	}
}

static int is_pim(const char *plain)
{
	size_t n = strlen(plain);

	return n > 4 && (!strcasecmp(plain + n - 4, ".vcf") ||
			 !strcasecmp(plain + n - 4, ".ics"));
}

static int regular(const struct ver *v)
{
	return v->present && v->mode != GIT_FILEMODE_LINK;
}

/* Texts of the three versions (base NULL when it is not a file). */
struct texts {
	uint8_t *p[3];
	size_t len[3];
	struct sb_meta meta[3];
};

static void texts_free(struct texts *x)
{
	int s;

	for (s = B; s <= T; s++)
		text_free(x->p[s], x->len[s]);
}

static int texts_read(struct mg *m, const struct item *it, struct texts *x)
{
	int s, rc = 0;

	memset(x, 0, sizeof(*x));
	for (s = B; !rc && s <= T; s++)
		if (regular(&it->v[s]))
			rc = blob_text(m, &it->v[s].oid, &x->p[s], &x->len[s],
				       &x->meta[s]);
	if (rc)
		rc = sb_err_set(rc, "%s does not decrypt: %s", it->plain,
				sb_err_str(rc));
	return rc;
}

static const struct sb_meta *later(const struct sb_meta *a,
				   const struct sb_meta *b)
{
	if (a->mtime_sec != b->mtime_sec)
		return a->mtime_sec > b->mtime_sec ? a : b;
	return a->mtime_nsec >= b->mtime_nsec ? a : b;
}

/* The mode of a merged file: three-way. */
static git_filemode_t merged_mode(const struct item *it)
{
	if (it->v[B].present && it->v[O].mode == it->v[B].mode)
		return it->v[T].mode;
	return it->v[O].mode;
}

static int pim_apply(struct mg *m, struct item *it, struct texts *x,
		     struct sb_pim_merged *pm)
{
	const struct sb_meta *meta = later(&x->meta[O], &x->meta[T]);
	uint8_t *sealed = NULL;
	size_t slen, i;
	int rc;

	rc = sb_store_seal(m->st, &sealed, &slen, meta, pm->text, pm->len);
	if (rc)
		return rc;
	if (git_blob_create_from_buffer(&it->res.oid, m->g, sealed, slen))
		rc = fail("cannot store a merged item");
	free(sealed);
	it->res.present = 1;
	it->res.mode = merged_mode(it);
	m->rep->merged_pim++;
	for (i = 0; !rc && i < pm->nconflicts; i++) {
		int s = pm->conflicts[i].side == SB_PIM_OURS ? O : T;

		rc = add_conflict(m, it->plain, NULL, &pm->conflicts[i],
				  m->dev[s], &it->v[s].oid);
	}
	return rc;
}

/* 1 when merged (it->res set), 0 when both are to be kept. */
static int merge_pim(struct mg *m, struct item *it, struct texts *x)
{
	struct sb_pim_merged *pm = NULL;
	int rc;

	rc = sb_pim_merge(&pm, x->p[B] ? (const char *)x->p[B] : NULL,
			  x->len[B], (const char *)x->p[O], x->len[O],
			  (const char *)x->p[T], x->len[T]);
	if (rc == SB_EFORMAT) {
		sb_err_clear();
		return 0;
	}
	if (!rc)
		rc = pim_apply(m, it, x, pm);
	if (pm) {
		sb_wipe(pm->text, pm->len);
		sb_pim_merged_free(pm);
	}
	return rc ? rc : 1;
}

static void device_name(char *out, size_t size, const char *dev)
{
	size_t i;

	snprintf(out, size, "%s", dev && *dev ? dev : "other");
	for (i = 0; out[i]; i++)
		if (out[i] == '/')
			out[i] = '_';
}

/* 1 when the plaintext path is taken in the merged tree. */
static int taken(struct mg *m, const char *plain)
{
	char spath[PATH_MAX];
	struct ver v;
	size_t i = item_find(m, plain, 0), d = item_find(m, plain, 1);

	if (i != NONE || d != NONE)
		return (i != NONE && m->it[i].res.present) ||
		       (d != NONE && m->it[d].res.present);
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

/* "<name>.sealbox-conflict-<device>[-N]" next to plain, not taken. */
static int conflict_name(struct mg *m, char *out, size_t size,
			 const char *plain, const char *dev)
{
	char d[64], suffix[96];
	const char *base = base_name(plain);
	size_t dlen = (size_t)(base - plain), blen = strlen(base);
	unsigned k;
	int n;

	device_name(d, sizeof(d), dev);
	for (k = 1; k < 1000; k++) {
		if (k == 1)
			snprintf(suffix, sizeof(suffix),
				 ".sealbox-conflict-%s", d);
		else
			snprintf(suffix, sizeof(suffix),
				 ".sealbox-conflict-%s-%u", d, k);
		if (blen + strlen(suffix) > SB_NAME_MAX)
			blen = SB_NAME_MAX - strlen(suffix);
		n = snprintf(out, size, "%.*s%.*s%s", (int)dlen, plain,
			     (int)blen, base, suffix);
		if (n < 0 || (size_t)n >= size)
			return sb_err_set(-ENAMETOOLONG, "%s: path too long",
					  plain);
		if (!taken(m, out))
			return 0;
	}
	return sb_err_set(-EEXIST, "%s: too many conflict copies", plain);
}

/* v (of the device side) goes next to the item's path. */
static int keep_copy(struct mg *m, size_t idx, const struct ver *v, int side)
{
	char name[PATH_MAX], plain[PATH_MAX];
	size_t k;
	int rc;

	snprintf(plain, sizeof(plain), "%s", m->it[idx].plain);
	if ((rc = conflict_name(m, name, sizeof(name), plain, m->dev[side])) ||
	    (rc = item_get(m, name, 0, &k)))
		return rc;
	m->it[k].res = *v;
	m->it[k].fixed = 1;
	m->rep->kept_both++;
	return add_conflict(m, plain, name, NULL, m->dev[side], &v->oid);
}

static int same_text(const struct texts *x, int a, int b)
{
	return x->p[a] && x->p[b] && x->len[a] == x->len[b] &&
	       !memcmp(x->p[a], x->p[b], x->len[a]);
}

/*
 * Both changed to different versions, both present. Versions are
 * compared by plaintext: a file written again with the same text is a
 * new blob, not a change.
 */
static int both_changed(struct mg *m, size_t idx)
{
	struct item *it = &m->it[idx];
	struct ver theirs = it->v[T];
	struct texts x;
	int rc = 0;

	it->res = it->v[O];
	if (!regular(&it->v[O]) || !regular(&it->v[T]))
		return keep_copy(m, idx, &theirs, T);
	if ((rc = texts_read(m, it, &x)))
		return rc;
	if (same_text(&x, O, B))
		it->res.oid = theirs.oid;	/* theirs changed the text */
	if (same_text(&x, O, T) || same_text(&x, T, B) ||
	    same_text(&x, O, B))
		it->res.mode = merged_mode(it);
	else if (!is_pim(it->plain) || !(rc = merge_pim(m, it, &x)))
		rc = keep_copy(m, idx, &theirs, T);
	texts_free(&x);
	return rc < 0 ? rc : 0;
}

static int merge_file(struct mg *m, size_t idx)
{
	struct item *it = &m->it[idx];
	const struct ver *b = &it->v[B], *o = &it->v[O], *t = &it->v[T];

	if (same(o, t) || same(t, b))
		it->res = *o;
	else if (same(o, b))
		it->res = *t;
	else if (!o->present)
		it->res = *t;	/* deleted against changed: kept */
	else if (!t->present)
		it->res = *o;
	else
		return both_changed(m, idx);
	return 0;
}

static int merge_files(struct mg *m)
{
	size_t i, n = m->n;
	int rc = 0;

	for (i = 0; !rc && i < n; i++)
		if (!m->it[i].isdir && !m->it[i].maildir && !m->it[i].fixed)
			rc = merge_file(m, i);
	return rc;
}

/* Directories. */

static int dir_basic(const struct item *it)
{
	int b = it->v[B].present, o = it->v[O].present, t = it->v[T].present;

	return (o && t) || (o && !b) || (t && !b);
}

/* Every directory above a present path is present. */
static int need_parents(struct mg *m, const char *plain)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t d;
	int rc;

	snprintf(dir, sizeof(dir), "%s", plain);
	while ((slash = strrchr(dir, '/'))) {
		dir[slash - dir] = '\0';
		d = item_find(m, dir, 1);
		if (d == NONE && taken(m, dir))
			return 0;	/* unchanged, and so are its parents */
		if (d == NONE && (rc = item_get(m, dir, 1, &d)))
			return rc;
		if (m->it[d].res.present)
			continue;
		m->it[d].res.present = 1;
	}
	return 0;
}

/* 1 when the directory was removed on one side only (and is back). */
static int revived(const struct item *it)
{
	return it->v[B].present && it->v[O].present != it->v[T].present;
}

/* A Maildir folder brought back keeps its cur/, new/ and tmp/. */
static void maildir_subdirs(struct mg *m, const struct item *parent)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	char path[PATH_MAX];
	int keep = parent->v[O].present ? O : T;
	size_t i, d;

	if (strcmp(parent->plain, "mail") && strncmp(parent->plain, "mail/", 5))
		return;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", parent->plain, sub[i]);
		d = item_find(m, path, 1);
		if (d != NONE && m->it[d].v[keep].present)
			m->it[d].res.present = 1;
	}
}

static int marker_blob(struct mg *m, struct item *it)
{
	static const struct sb_meta zero = { 0, 0 };
	static const int order[3] = { O, T, B };
	uint8_t *sealed = NULL;
	size_t len;
	int i, rc;

	for (i = 0; i < 3; i++)
		if (it->v[order[i]].present) {
			it->res = it->v[order[i]];
			return 0;
		}
	if ((rc = sb_store_seal(m->st, &sealed, &len, &zero, NULL, 0)))
		return rc;
	if (git_blob_create_from_buffer(&it->res.oid, m->g, sealed, len))
		rc = fail("cannot store a directory marker");
	free(sealed);
	it->res.mode = GIT_FILEMODE_BLOB;
	it->res.present = 1;
	return rc;
}

static int merge_dirs(struct mg *m)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < m->n; i++)
		if (m->it[i].isdir && !m->it[i].fixed)
			m->it[i].res.present = dir_basic(&m->it[i]);
	for (i = 0; !rc && i < m->n; i++)
		if (m->it[i].res.present)
			rc = need_parents(m, m->it[i].plain);
	for (i = 0; !rc && i < m->n; i++)
		if (m->it[i].isdir && m->it[i].res.present &&
		    revived(&m->it[i]))
			maildir_subdirs(m, &m->it[i]);
	for (i = 0; !rc && i < m->n; i++)
		if (m->it[i].isdir && m->it[i].res.present &&
		    !m->it[i].fixed)
			rc = marker_blob(m, &m->it[i]);
	return rc;
}

/* A file where the merged tree has a directory goes next to it. */
static int file_dir_clashes(struct mg *m)
{
	size_t i, d, n = m->n;
	int rc = 0;

	for (i = 0; !rc && i < n; i++) {
		struct item *it = &m->it[i];
		struct ver v = it->res;

		if (it->isdir || !v.present)
			continue;
		d = item_find(m, it->plain, 1);
		if (d == NONE || !m->it[d].res.present)
			continue;
		it->res.present = 0;
		rc = keep_copy(m, i, &v, same(&v, &it->v[T]) &&
			       !same(&v, &it->v[O]) ? T : O);
		if (!rc)
			rc = need_parents(m, m->it[m->n - 1].plain);
	}
	return rc;
}

/* .sealbox/: equal, or changed on one side only since base. */
static int policy_tree(struct mg *m, int *take, git_oid *oid)
{
	git_tree_entry *e[3] = { NULL, NULL, NULL };
	git_oid id[3];
	int s, rc = 0;

	for (s = B; s <= T; s++) {
		memset(&id[s], 0, sizeof(id[s]));
		if (m->t[s] && !git_tree_entry_bypath(&e[s], m->t[s], ".sealbox"))
			git_oid_cpy(&id[s], git_tree_entry_id(e[s]));
		git_tree_entry_free(e[s]);
	}
	*take = 0;
	if (git_oid_equal(&id[O], &id[T]) || git_oid_equal(&id[T], &id[B]))
		return 0;
	if (m->t[B] && git_oid_equal(&id[O], &id[B]) &&
	    !git_oid_is_zero(&id[T])) {
		*take = 1;
		git_oid_cpy(oid, &id[T]);
		return 0;
	}
	rc = sb_err_set(SB_EPOLICY, "both sides changed .sealbox/ (the vault "
			"policy) differently; policy changes are not merged");
	return rc;
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

static int item_updates(struct mg *m, const struct item *it, struct upd *rm,
			struct upd *up)
{
	char path[PATH_MAX + 16];

	if (same(&it->res, &it->v[O]))
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
static int ours_has(struct mg *m, const char *spath, int isdir)
{
	char path[PATH_MAX + 16];
	struct ver v;

	snprintf(path, sizeof(path), isdir ? "%s/" SB_STORE_MARKER : "%s",
		 spath);
	tree_blob(m->t[O], path, &v);
	return v.present;
}

/* The sidecar of a long name: there when something is at its path. */
static int sidecar_updates(struct mg *m, const struct item *it,
			   struct upd *rm, struct upd *up)
{
	char sc[PATH_MAX + 4], enc[SB_NAMES_ENC_MAX];
	size_t f = item_find(m, it->plain, 0), d = item_find(m, it->plain, 1);
	int need, rc;
	struct ver v;
	git_oid oid;

	if (sb_names_kind(base_name(it->spath)) != SB_NAME_LONG)
		return 0;
	if (it->isdir && f != NONE)
		return 0;	/* done with the file's item */
	need = (f != NONE ? m->it[f].res.present : ours_has(m, it->spath, 0)) ||
	       (d != NONE ? m->it[d].res.present : ours_has(m, it->spath, 1));
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

static int run_updates(struct mg *m, git_oid *out, git_tree *from,
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
static int build_tree(struct mg *m, int take, const git_oid *policy,
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

static void mg_free(struct mg *m)
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

static int run(struct mg *m, const char *base, const char *ours,
	       const char *theirs, git_oid *out)
{
	git_oid policy;
	int rc, take = 0;

	if ((rc = peel_tree(m->g, &m->t[B], base)) ||
	    (rc = peel_tree(m->g, &m->t[O], ours)) ||
	    (rc = peel_tree(m->g, &m->t[T], theirs)))
		return rc;
	if (!m->t[O] || !m->t[T])
		return sb_err_set(-EINVAL, "nothing to merge");
	if ((rc = policy_tree(m, &take, &policy)) || (rc = list_items(m)) ||
	    (rc = merge_maildir(m)) || (rc = merge_files(m)) ||
	    (rc = merge_dirs(m)) || (rc = file_dir_clashes(m)))
		return rc;
	/* clashes may have needed new directories */
	if ((rc = merge_dirs(m)))
		return rc;
	return build_tree(m, take, &policy, out);
}

int sb_merge_trees(struct sb_merge_report **rep, char tree[SB_OID_HEX],
		   struct sb_repo *r, struct sb_store *st, const char *base,
		   const char *ours, const char *theirs, const char *ours_dev,
		   const char *theirs_dev)
{
	struct mg m;
	git_oid out;
	int rc;

	memset(&m, 0, sizeof(m));
	m.g = sb_repo_git(r);
	m.st = st;
	m.dev[B] = "base";
	m.dev[O] = ours_dev;
	m.dev[T] = theirs_dev;
	if (!(m.rep = calloc(1, sizeof(*m.rep))))
		return -ENOMEM;
	rc = run(&m, base, ours, theirs, &out);
	mg_free(&m);
	if (rc) {
		sb_merge_report_free(m.rep);
		return rc;
	}
	git_oid_tostr(tree, SB_OID_HEX, &out);
	*rep = m.rep;
	return 0;
}

void sb_merge_report_free(struct sb_merge_report *rep)
{
	size_t i;

	if (!rep)
		return;
	for (i = 0; i < rep->nconflicts; i++) {
		struct sb_merge_conflict *c = &rep->conflicts[i];

		free(c->path);
		free(c->kept);
		free(c->where);
		free(c->what);
		if (c->line) {
			sb_wipe(c->line, strlen(c->line));
			free(c->line);
		}
		free(c->loser);
	}
	free(rep->conflicts);
	free(rep);
}

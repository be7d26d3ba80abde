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
#include "sync/maildir_merge.h"
#include "sync/merge.h"
#include "sync/mergetree.h"
#include "sync/pim_merge.h"
#include "sync/repo_git.h"

#define NONE SB_MT_NONE

enum { B = SB_MT_BASE, O = SB_MT_OURS, T = SB_MT_THEIRS };

/*
 * The rules of sync/merge.h over the items of sync/mergetree.h: each
 * item's res starts as ours and is set here; the tree is built from them.
 */

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The report. */

static int add_conflict(struct sb_mergetree *m, const char *path,
			const char *kept, const struct sb_pim_conflict *pc,
			const char *loser, const git_oid *old)
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

static int maildir_lists(struct sb_mergetree *m, struct lists *l)
{
	size_t i;
	int s;

	for (s = B; s <= T; s++)
		if (!(l->p[s] = malloc((m->n ? m->n : 1) * sizeof(char *))))
			return -ENOMEM;
	for (i = 0; i < m->n; i++) {
		struct sb_mt_item *it = &m->it[i];

		if (it->isdir || it->fixed || !is_message(it->plain))
			continue;
		it->maildir = 1;
		for (s = B; s <= T; s++)
			if (it->v[s].present)
				l->p[s][l->n[s]++] = it->plain;
	}
	return 0;
}

static int apply_op(struct sb_mergetree *m, const struct sb_maildir_op *op)
{
	size_t from, to;
	int rc;

	if ((rc = sb_mergetree_get(m, op->from, 0, &from)))
		return rc;
	if (op->kind == SB_MAILDIR_DELETE) {
		m->it[from].res.present = 0;
		m->it[from].touched = 1;
		return 0;
	}
	if ((rc = sb_mergetree_get(m, op->to, 0, &to)))
		return rc;
	m->it[to].res = m->it[from].v[op->kind == SB_MAILDIR_ADD ? T : O];
	m->it[to].touched = m->it[to].maildir = 1;
	if (op->kind == SB_MAILDIR_RENAME && from != to) {
		m->it[from].res.present = 0;
		m->it[from].touched = 1;
	}
	return 0;
}

static int merge_maildir(struct sb_mergetree *m)
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
		struct sb_mt_item *it = &m->it[i];

		if (it->maildir && !it->touched && it->v[O].present &&
		    it->v[T].present && sb_mergetree_same(&it->v[O], &it->v[B]))
			it->res = it->v[T];
	}
	return rc;
}

/* Other files. */

static int blob_text(struct sb_mergetree *m, const git_oid *oid, uint8_t **out,
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

static int regular(const struct sb_mt_ver *v)
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

static int texts_read(struct sb_mergetree *m, const struct sb_mt_item *it,
		      struct texts *x)
{
	int s, rc = 0;

	memset(x, 0, sizeof(*x));
	for (s = B; !rc && s <= T; s++)
		if (regular(&it->v[s]))
			rc = blob_text(m, &it->v[s].oid, &x->p[s], &x->len[s],
				       &x->meta[s]);
	if (rc) {
		texts_free(x);
		memset(x, 0, sizeof(*x));
		rc = sb_err_set(rc, "%s does not decrypt: %s", it->plain,
				sb_err_str(rc));
	}
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
static git_filemode_t merged_mode(const struct sb_mt_item *it)
{
	if (it->v[B].present && it->v[O].mode == it->v[B].mode)
		return it->v[T].mode;
	return it->v[O].mode;
}

static int pim_apply(struct sb_mergetree *m, struct sb_mt_item *it,
		     struct texts *x, struct sb_pim_merged *pm)
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
static int merge_pim(struct sb_mergetree *m, struct sb_mt_item *it,
		     struct texts *x)
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

/* "<name>.sealbox-conflict-<device>[-N]" next to plain, not taken. */
static int conflict_name(struct sb_mergetree *m, char *out, size_t size,
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
		if (!sb_mergetree_taken(m, out))
			return 0;
	}
	return sb_err_set(-EEXIST, "%s: too many conflict copies", plain);
}

/* v (of the device side) goes next to the item's path. */
static int keep_copy(struct sb_mergetree *m, size_t idx,
		     const struct sb_mt_ver *v, int side)
{
	char name[PATH_MAX], plain[PATH_MAX];
	size_t k;
	int rc;

	snprintf(plain, sizeof(plain), "%s", m->it[idx].plain);
	if ((rc = conflict_name(m, name, sizeof(name), plain, m->dev[side])) ||
	    (rc = sb_mergetree_get(m, name, 0, &k)))
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
static int both_changed(struct sb_mergetree *m, size_t idx)
{
	struct sb_mt_item *it = &m->it[idx];
	struct sb_mt_ver theirs = it->v[T];
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

static int merge_file(struct sb_mergetree *m, size_t idx)
{
	struct sb_mt_item *it = &m->it[idx];
	const struct sb_mt_ver *b = &it->v[B], *o = &it->v[O], *t = &it->v[T];

	if (sb_mergetree_same(o, t) || sb_mergetree_same(t, b))
		it->res = *o;
	else if (sb_mergetree_same(o, b))
		it->res = *t;
	else if (!o->present)
		it->res = *t;	/* deleted against changed: kept */
	else if (!t->present)
		it->res = *o;
	else
		return both_changed(m, idx);
	return 0;
}

static int merge_files(struct sb_mergetree *m)
{
	size_t i, n = m->n;
	int rc = 0;

	for (i = 0; !rc && i < n; i++)
		if (!m->it[i].isdir && !m->it[i].maildir && !m->it[i].fixed)
			rc = merge_file(m, i);
	return rc;
}

/* Directories. */

static int dir_basic(const struct sb_mt_item *it)
{
	int b = it->v[B].present, o = it->v[O].present, t = it->v[T].present;

	return (o && t) || (o && !b) || (t && !b);
}

/* Every directory above a present path is present. */
static int need_parents(struct sb_mergetree *m, const char *plain)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t d;
	int rc;

	snprintf(dir, sizeof(dir), "%s", plain);
	while ((slash = strrchr(dir, '/'))) {
		dir[slash - dir] = '\0';
		d = sb_mergetree_find(m, dir, 1);
		if (d == NONE && sb_mergetree_taken(m, dir))
			return 0;	/* unchanged, and so are its parents */
		if (d == NONE && (rc = sb_mergetree_get(m, dir, 1, &d)))
			return rc;
		if (m->it[d].res.present)
			continue;
		m->it[d].res.present = 1;
	}
	return 0;
}

/* 1 when the directory was removed on one side only (and is back). */
static int revived(const struct sb_mt_item *it)
{
	return it->v[B].present && it->v[O].present != it->v[T].present;
}

/* A Maildir folder brought back keeps its cur/, new/ and tmp/. */
static void maildir_subdirs(struct sb_mergetree *m,
			    const struct sb_mt_item *parent)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	char path[PATH_MAX];
	int keep = parent->v[O].present ? O : T;
	size_t i, d;

	if (strcmp(parent->plain, "mail") && strncmp(parent->plain, "mail/", 5))
		return;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", parent->plain, sub[i]);
		d = sb_mergetree_find(m, path, 1);
		if (d != NONE && m->it[d].v[keep].present)
			m->it[d].res.present = 1;
	}
}

static int marker_blob(struct sb_mergetree *m, struct sb_mt_item *it)
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

static int merge_dirs(struct sb_mergetree *m)
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
static int file_dir_clashes(struct sb_mergetree *m)
{
	size_t i, d, n = m->n;
	int rc = 0;

	for (i = 0; !rc && i < n; i++) {
		struct sb_mt_item *it = &m->it[i];
		struct sb_mt_ver v = it->res;

		if (it->isdir || !v.present)
			continue;
		d = sb_mergetree_find(m, it->plain, 1);
		if (d == NONE || !m->it[d].res.present)
			continue;
		it->res.present = 0;
		rc = keep_copy(m, i, &v, sb_mergetree_same(&v, &it->v[T]) &&
			       !sb_mergetree_same(&v, &it->v[O]) ? T : O);
		if (!rc)
			rc = need_parents(m, m->it[m->n - 1].plain);
	}
	return rc;
}

/* .sealbox/: equal, or changed on one side only since base. */
static int policy_tree(struct sb_mergetree *m, int *take, git_oid *oid)
{
	git_tree_entry *e[3] = { NULL, NULL, NULL };
	git_oid id[3];
	int s, rc = 0;

	for (s = B; s <= T; s++) {
		memset(&id[s], 0, sizeof(id[s]));
		if (m->t[s] &&
		    !git_tree_entry_bypath(&e[s], m->t[s], ".sealbox"))
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

static int run(struct sb_mergetree *m, const char *base, const char *ours,
	       const char *theirs, git_oid *out)
{
	git_oid policy;
	int rc, take = 0;

	if ((rc = sb_mergetree_open(m, base, ours, theirs)) ||
	    (rc = policy_tree(m, &take, &policy)) ||
	    (rc = sb_mergetree_list(m)) || (rc = merge_maildir(m)) ||
	    (rc = merge_files(m)) || (rc = merge_dirs(m)) ||
	    (rc = file_dir_clashes(m)))
		return rc;
	/* clashes may have needed new directories */
	if ((rc = merge_dirs(m)))
		return rc;
	return sb_mergetree_build(m, take, &policy, out);
}

int sb_merge_trees(struct sb_merge_report **rep, char tree[SB_OID_HEX],
		   struct sb_repo *r, struct sb_store *st, const char *base,
		   const char *ours, const char *theirs, const char *ours_dev,
		   const char *theirs_dev)
{
	struct sb_mergetree m;
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
	sb_mergetree_free(&m);
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

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"
#include "sync/pim_merge.h"
#include "sync/pim_parse.h"

struct ctx {
	struct arena *ar;
	struct sb_textbuf out;
	struct sb_pim_conflict *cf;
	size_t ncf, capcf;
};

/* ---- merge ---- */

static const char *const multi[] = {
	"EMAIL", "TEL", "ATTENDEE", "ADR", "URL", "IMPP", "CATEGORIES",
	"MEMBER", "RELATED", "CLIENTPIDMAP", "LANG", "COMMENT", "CONTACT",
	"ATTACH", "EXDATE", "RDATE", "RELATED-TO", "RESOURCES",
	"REQUEST-STATUS", NULL
};

static const char empty_name[] = "";
static const struct comp empty = { (char *)empty_name, (char *)empty_name,
				   (char *)empty_name, NULL, 0, 0, NULL };

/* The key's name part: up to ";" (the key is upper case). */
static int key_name_is(const char *key, const char *name)
{
	size_t n = strcspn(key, ";");

	return strlen(name) == n && !memcmp(key, name, n);
}

/* The entries with this key, in position order: (*first)[0..n). */
static size_t key_run(const struct comp *c, const char *key,
		      const struct ent *const **first)
{
	size_t lo = 0, hi = c->n, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(c->idx[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + n < c->n && !strcmp(c->idx[lo + n]->key, key))
		n++;
	*first = n ? c->idx + lo : NULL;
	return n;
}

static size_t count_key(const struct comp *c, const char *key)
{
	const struct ent *const *r;

	return key_run(c, key, &r);
}

static const struct ent *find_key(const struct comp *c, const char *key)
{
	const struct ent *const *r;

	return key_run(c, key, &r) ? r[0] : NULL;
}

static int has_text(const struct comp *c, const char *key, const char *text)
{
	const struct ent *const *r;
	size_t i, n = key_run(c, key, &r);

	for (i = 0; i < n; i++)
		if (!strcmp(r[i]->text, text))
			return 1;
	return 0;
}

static void emit_ser(struct sb_textbuf *b, const struct comp *c)
{
	struct sb_textbuf t = { 0 };

	sb_pim_ser(&t, c);
	if (t.oom)
		b->oom = 1;
	else
		sb_pim_emit_text(b, t.p);
	free(t.p);
}

static int ser_equal(const struct comp *a, const struct comp *b)
{
	struct sb_textbuf x = { 0 }, y = { 0 };
	int eq;

	sb_pim_ser(&x, a);
	sb_pim_ser(&y, b);
	eq = !x.oom && !y.oom && !strcmp(x.p, y.p);
	free(x.p);
	free(y.p);
	return eq;
}

static int text_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Multi-valued: base order, then new lines sorted; each line three-way. */
static void merge_set(struct ctx *x, const struct comp *b,
		      const struct comp *o, const struct comp *t,
		      const char *key)
{
	const struct ent *const *r;
	const char **add;
	size_t i, n = 0, nr = key_run(b, key, &r);
	const struct comp *sides[2] = { o, t };
	int s;

	for (i = 0; i < nr; i++)
		if (has_text(o, key, r[i]->text) && has_text(t, key, r[i]->text))
			sb_pim_emit_text(&x->out, r[i]->text);
	add = calloc(count_key(o, key) + count_key(t, key) + 1, sizeof(*add));
	if (!add) {
		x->out.oom = 1;
		return;
	}
	for (s = 0; s < 2; s++) {
		nr = key_run(sides[s], key, &r);
		for (i = 0; i < nr; i++)
			if (!has_text(b, key, r[i]->text))
				add[n++] = r[i]->text;
	}
	qsort(add, n, sizeof(*add), text_cmp);
	for (i = 0; i < n; i++)
		if (!i || strcmp(add[i], add[i - 1]))
			sb_pim_emit_text(&x->out, add[i]);
	free(add);
}

static const char *value_of(const char *line)
{
	size_t nlen, voff;

	return sb_pim_split_line(line, &nlen, &voff) ? line : line + voff;
}

static size_t ndigits(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s >= '0' && *s <= '9';
	return n;
}

/* Compares the digits of two timestamps as numbers of the same form. */
static int digit_cmp(const char *a, const char *b)
{
	size_t na = ndigits(a), nb = ndigits(b);

	if (na != nb)
		return na < nb ? -1 : 1;
	for (;; a++, b++) {
		while (*a && (*a < '0' || *a > '9'))
			a++;
		while (*b && (*b < '0' || *b > '9'))
			b++;
		if (!*a || !*b || *a != *b)
			return (unsigned char)*a - (unsigned char)*b;
	}
}

/* REV, LAST-MODIFIED, DTSTAMP: later; SEQUENCE: larger. */
static const char *bookkeeping(const char *key, const char *a, const char *b)
{
	int c;

	if (!a || !b)
		return a ? a : b;
	if (key_name_is(key, "SEQUENCE")) {
		unsigned long x = strtoul(value_of(a), NULL, 10);
		unsigned long y = strtoul(value_of(b), NULL, 10);

		if (x != y)
			return x > y ? a : b;
		return strcmp(a, b) >= 0 ? a : b;
	}
	c = digit_cmp(value_of(a), value_of(b));
	return c > 0 || (!c && strcmp(a, b) >= 0) ? a : b;
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d = strdup(s);

	if (!d)
		*oom = 1;
	return d;
}

static void record(struct ctx *x, const struct comp *c, const char *key,
		   const char *line, enum sb_pim_side side)
{
	struct sb_pim_conflict *cf;
	int oom = 0;

	if (x->ncf == x->capcf) {
		size_t cap = x->capcf ? 2 * x->capcf : 4;
		void *p = realloc(x->cf, cap * sizeof(*x->cf));

		if (!p) {
			x->out.oom = 1;
			return;
		}
		x->cf = p;
		x->capcf = cap;
	}
	cf = &x->cf[x->ncf++];
	cf->where = dup_or_null(c->label, &oom);
	cf->name = dup_or_null(key, &oom);
	cf->line = dup_or_null(line, &oom);
	cf->side = side;
	if (oom)
		x->out.oom = 1;
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* One value, three-way; both changed: the later instance wins. */
static void merge_single(struct ctx *x, const struct comp *b,
			 const struct comp *o, const struct comp *t,
			 const char *key)
{
	const struct ent *eb = find_key(b, key), *eo = find_key(o, key),
			 *et = find_key(t, key);
	const char *bv = eb ? eb->text : NULL, *ov = eo ? eo->text : NULL,
		   *tv = et ? et->text : NULL, *r;
	int c;

	if (same(ov, bv))
		r = tv;
	else if (same(tv, bv) || same(ov, tv))
		r = ov;
	else if (key_name_is(key, "REV") || key_name_is(key, "SEQUENCE") ||
		 key_name_is(key, "LAST-MODIFIED") ||
		 key_name_is(key, "DTSTAMP"))
		r = bookkeeping(key, ov, tv);
	else {
		c = sb_pim_ts_cmp(o->ts, t->ts);
		if (!c)
			c = strcmp(ov ? ov : "", tv ? tv : "");
		r = c > 0 ? ov : tv;
		if (c > 0 && tv)
			record(x, t, key, tv, SB_PIM_THEIRS);
		else if (c <= 0 && ov)
			record(x, o, key, ov, SB_PIM_OURS);
	}
	if (r)
		sb_pim_emit_text(&x->out, r);
}

static void merge_comp(struct ctx *x, const struct comp *b,
		       const struct comp *o, const struct comp *t);

static void merge_child(struct ctx *x, const struct comp *b,
			const struct comp *o, const struct comp *t,
			const char *key)
{
	const struct ent *eb = find_key(b, key), *eo = find_key(o, key),
			 *et = find_key(t, key);

	if (eo && et)
		merge_comp(x, eb ? eb->c : &empty, eo->c, et->c);
	else if (eo || et) {
		const struct comp *k = eo ? eo->c : et->c;

		if (!eb || !ser_equal(eb->c, k))
			emit_ser(&x->out, k);
	}
}

struct okey {
	const char *key;
	enum ent_kind kind;
	int cls;
	size_t bidx;
};

static int okey_cmp(const void *x, const void *y)
{
	const struct okey *a = x, *b = y;

	if (a->cls != b->cls)
		return a->cls - b->cls;
	if (a->bidx != b->bidx)
		return a->bidx < b->bidx ? -1 : 1;
	return strcmp(a->key, b->key);
}

static int okey_key_cmp(const void *x, const void *y)
{
	const struct okey *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	return (a->bidx > b->bidx) - (a->bidx < b->bidx);
}

/* The distinct keys of the three versions, in output order. */
static struct okey *order_keys(const struct comp *b, const struct comp *o,
			       const struct comp *t, size_t *n)
{
	const struct comp *v[3] = { b, o, t };
	struct okey *k = calloc(b->n + o->n + t->n + 1, sizeof(*k));
	size_t i, j, m = 0;
	int s;

	for (s = 0; k && s < 3; s++)
		for (i = 0; i < v[s]->n; i++) {
			const struct ent *e = v[s]->idx[i];

			if (i && !strcmp(v[s]->idx[i - 1]->key, e->key))
				continue;
			k[m].key = e->key;
			k[m].kind = e->kind;
			k[m].cls = e->kind != E_PROP ? 2 :
				   key_name_is(e->key, "VERSION") ? 0 : 1;
			k[m].bidx = s ? SIZE_MAX : (size_t)(e - b->e);
			m++;
		}
	if (!k)
		return NULL;
	/* one okey per key, base's (the smallest bidx) if it has one */
	qsort(k, m, sizeof(*k), okey_key_cmp);
	for (i = j = 0; i < m; i++)
		if (!j || strcmp(k[j - 1].key, k[i].key))
			k[j++] = k[i];
	qsort(k, j, sizeof(*k), okey_cmp);
	*n = j;
	return k;
}

static int is_multi(const struct comp *b, const struct comp *o,
		    const struct comp *t, const struct okey *k)
{
	size_t i;

	if (k->kind == E_OPAQUE)
		return 1;
	for (i = 0; multi[i]; i++)
		if (key_name_is(k->key, multi[i]))
			return 1;
	return count_key(b, k->key) > 1 || count_key(o, k->key) > 1 ||
	       count_key(t, k->key) > 1;
}

static void merge_comp(struct ctx *x, const struct comp *b,
		       const struct comp *o, const struct comp *t)
{
	struct okey *k;
	size_t i, n;

	if (!(k = order_keys(b, o, t, &n))) {
		x->out.oom = 1;
		return;
	}
	sb_textbuf_str(&x->out, "BEGIN:");
	sb_textbuf_str(&x->out, o->name);
	sb_textbuf_str(&x->out, "\r\n");
	for (i = 0; i < n; i++) {
		if (k[i].kind == E_CHILD)
			merge_child(x, b, o, t, k[i].key);
		else if (is_multi(b, o, t, &k[i]))
			merge_set(x, b, o, t, k[i].key);
		else
			merge_single(x, b, o, t, k[i].key);
	}
	sb_textbuf_str(&x->out, "END:");
	sb_textbuf_str(&x->out, o->name);
	sb_textbuf_str(&x->out, "\r\n");
	free(k);
}

static void conflicts_free(struct sb_pim_conflict *cf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(cf[i].where);
		free(cf[i].name);
		free(cf[i].line);
	}
	free(cf);
}

void sb_pim_merged_free(struct sb_pim_merged *m)
{
	if (!m)
		return;
	free(m->text);
	conflicts_free(m->conflicts, m->nconflicts);
	free(m);
}

static int parse_three(struct arena *ar, const char *base, size_t blen,
		       const char *ours, size_t olen, const char *theirs,
		       size_t tlen, const struct comp **c)
{
	struct comp *cb = NULL, *co, *ct, *other;
	int rc;

	if ((base && (rc = sb_pim_parse(ar, "base", base, blen, &cb))) ||
	    (rc = sb_pim_parse(ar, "ours", ours, olen, &co)) ||
	    (rc = sb_pim_parse(ar, "theirs", theirs, tlen, &ct)))
		return rc;
	/* the label holds the name and the UID: another UID, another item */
	other = cb && strcmp(cb->label, co->label) ? cb : ct;
	if (strcmp(co->label, other->label))
		return sb_err_set(SB_EFORMAT, "not the same item: %s, %s",
				  other->label, co->label);
	c[0] = cb ? cb : &empty;
	c[1] = co;
	c[2] = ct;
	return 0;
}

int sb_pim_merge(struct sb_pim_merged **out, const char *base, size_t blen,
		 const char *ours, size_t olen, const char *theirs,
		 size_t tlen)
{
	struct arena ar = { 0 };
	struct ctx x = { &ar, { 0 }, NULL, 0, 0 };
	struct sb_pim_merged *m = NULL;
	const struct comp *c[3] = { NULL, NULL, NULL };
	int rc;

	if ((rc = parse_three(&ar, base, blen, ours, olen, theirs, tlen, c)))
		goto out;
	merge_comp(&x, c[0], c[1], c[2]);
	if (x.out.oom || !(m = calloc(1, sizeof(*m)))) {
		rc = -ENOMEM;
		goto out;
	}
	m->text = x.out.p;
	m->len = x.out.len;
	m->conflicts = x.cf;
	m->nconflicts = x.ncf;
	x.out.p = NULL;
	x.cf = NULL;
	x.ncf = 0;
	*out = m;
out:
	free(x.out.p);
	conflicts_free(x.cf, x.ncf);
	sb_pim_arena_free(&ar);
	return rc;
}

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"
#include "sync/pim_merge.h"

/*
 * Everything parsed lives in one arena per merge, freed at once; strings
 * handed to the caller are copied out of it.
 */
struct blk {
	struct blk *next;
	max_align_t data[];
};

struct arena {
	struct blk *head;
};

enum ent_kind { E_PROP = 1, E_OPAQUE = 2, E_CHILD = 3 };

struct comp;

struct ent {
	enum ent_kind kind;
	char *key;		/* PROP: NAME;params; else "BEGIN:NAME ..." */
	char *text;		/* PROP: the line; OPAQUE: serialized, "\n" */
	struct comp *c;		/* CHILD */
};

struct comp {
	char *name;
	char *label;
	char *ts;		/* digits of REV / LAST-MODIFIED / DTSTAMP */
	struct ent *e;
	size_t n, cap;
	const struct ent **idx;	/* e by (key, position), for lookups */
};

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

struct ctx {
	struct arena *ar;
	struct buf out;
	struct sb_pim_conflict *cf;
	size_t ncf, capcf;
};

static void *a_alloc(struct arena *ar, size_t n)
{
	struct blk *b = calloc(1, sizeof(*b) + n + 1);

	if (!b)
		return NULL;
	b->next = ar->head;
	ar->head = b;
	return b->data;
}

static char *a_strndup(struct arena *ar, const char *s, size_t n)
{
	char *p = a_alloc(ar, n + 1);

	if (p)
		memcpy(p, s, n);
	return p;
}

static void a_free(struct arena *ar)
{
	while (ar->head) {
		struct blk *b = ar->head;

		ar->head = b->next;
		free(b);
	}
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* ---- bytes and lines ---- */

static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;

	if (s[0] < 0x80)
		return 1;
	k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
	    : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (!k || k > n)
		return 0;
	for (i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return k;
}

static int check_bytes(const char *what, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, line = 1;

	while (i < n) {
		if (u[i] == '\n')
			line++;
		if (u[i] == '\r' && (i + 1 == n || u[i + 1] != '\n'))
			goto bad;
		if ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' &&
		     u[i] != '\r') || u[i] == 0x7f)
			goto bad;
		if (!(k = utf8_len(u + i, n - i)))
			goto bad;
		i += k;
	}
	return 0;
bad:
	return sb_err_set(SB_EFORMAT, "%s: line %zu: control byte or bad "
			  "UTF-8", what, line);
}

/* Unfolds s into logical lines in the arena. */
static int unfold(struct arena *ar, const char *what, const char *s,
		  size_t n, char ***lines, size_t *nlines)
{
	struct buf cur = { 0 };
	char **v = NULL;
	size_t nv = 0, cap = 0, pos = 0, lineno = 0;
	int rc = 0, have = 0;

	if (n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < n && !rc) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - s) : n, len = end - pos;

		lineno++;
		if (len && s[pos + len - 1] == '\r')
			len--;
		if (len > SB_PIM_LINE_MAX) {
			rc = sb_err_set(SB_EFORMAT, "%s: line %zu: longer than "
					"%d octets", what, lineno,
					SB_PIM_LINE_MAX);
		} else if (len && (s[pos] == ' ' || s[pos] == '\t')) {
			if (!have)
				rc = sb_err_set(SB_EFORMAT, "%s: line %zu: "
						"continuation of nothing",
						what, lineno);
			buf_add(&cur, s + pos + 1, len - 1);
		} else {
			if (have) {
				if (nv == cap) {
					void *p;

					cap = cap ? 2 * cap : 64;
					p = a_alloc(ar, cap * sizeof(*v));
					if (!p) {
						rc = -ENOMEM;
						break;
					}
					if (nv)
						memcpy(p, v, nv * sizeof(*v));
					v = p;
				}
				if (!(v[nv++] = a_strndup(ar, cur.p ? cur.p : "",
							  cur.len)))
					rc = -ENOMEM;
			}
			cur.len = 0;
			have = len != 0;
			buf_add(&cur, s + pos, len);
		}
		if (cur.oom)
			rc = -ENOMEM;
		pos = end + 1;
	}
	if (!rc && have) {
		/* the last line: reuse the loop's push by a sentinel */
		char **p = a_alloc(ar, (nv + 1) * sizeof(*v));

		if (!p || !(p[nv] = a_strndup(ar, cur.p ? cur.p : "", cur.len)))
			rc = -ENOMEM;
		else {
			if (nv)
				memcpy(p, v, nv * sizeof(*v));
			v = p;
			nv++;
		}
	}
	free(cur.p);
	if (!rc) {
		*lines = v;
		*nlines = nv;
	}
	return rc;
}

/* ---- content lines and components ---- */

static int is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Splits line into name length and the offset of the value. */
static int split_line(const char *line, size_t *name_len, size_t *val_off)
{
	size_t i = 0;
	int quoted = 0;

	while (is_name_char(line[i]))
		i++;
	if (!i || (line[i] != ';' && line[i] != ':'))
		return SB_EFORMAT;
	*name_len = i;
	for (; line[i]; i++) {
		if (line[i] == '"')
			quoted = !quoted;
		else if (line[i] == ':' && !quoted)
			break;
	}
	if (!line[i])
		return SB_EFORMAT;
	*val_off = i + 1;
	return 0;
}

static int name_is(const char *line, size_t nlen, const char *name)
{
	return strlen(name) == nlen && !strncasecmp(line, name, nlen);
}

static char *upper_key(struct arena *ar, const char *line, size_t nlen,
		       size_t voff)
{
	char *k = a_strndup(ar, line, voff - 1);
	size_t i;

	for (i = 0; k && i < nlen; i++)
		if (k[i] >= 'a' && k[i] <= 'z')
			k[i] = (char)(k[i] - 'a' + 'A');
	return k;
}

static int comp_push(struct arena *ar, struct comp *c, enum ent_kind kind,
		     char *key, char *text, struct comp *child)
{
	if (!key || !text)
		return -ENOMEM;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct ent *e = a_alloc(ar, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		if (c->n)
			memcpy(e, c->e, c->n * sizeof(*e));
		c->e = e;
		c->cap = cap;
	}
	c->e[c->n++] = (struct ent){ kind, key, text, child };
	return 0;
}

/* The value of the first property called name, or NULL. */
static const char *comp_get(const struct comp *c, const char *name)
{
	size_t i, nlen, voff;

	for (i = 0; i < c->n; i++)
		if (c->e[i].kind == E_PROP &&
		    !split_line(c->e[i].text, &nlen, &voff) &&
		    name_is(c->e[i].text, nlen, name))
			return c->e[i].text + voff;
	return NULL;
}

static void ser(struct buf *b, const struct comp *c)
{
	size_t i;

	buf_str(b, "BEGIN:");
	buf_str(b, c->name);
	buf_str(b, "\n");
	for (i = 0; i < c->n; i++) {
		if (c->e[i].kind == E_CHILD) {
			ser(b, c->e[i].c);
			continue;
		}
		buf_str(b, c->e[i].text);
		if (c->e[i].kind == E_PROP)
			buf_str(b, "\n");
	}
	buf_str(b, "END:");
	buf_str(b, c->name);
	buf_str(b, "\n");
}

static char *digits(struct arena *ar, const char *s)
{
	size_t n = 0, i;
	char *d = a_alloc(ar, strlen(s) + 1);

	for (i = 0; d && s[i]; i++)
		if (s[i] >= '0' && s[i] <= '9')
			d[n++] = s[i];
	return d;
}

static int ts_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

static int ent_qcmp(const void *x, const void *y)
{
	const struct ent *a = *(const struct ent *const *)x;
	const struct ent *b = *(const struct ent *const *)y;
	int c = strcmp(a->key, b->key);

	return c ? c : (a > b) - (a < b);
}

static int comp_index(struct arena *ar, struct comp *c)
{
	size_t i;

	if (!(c->idx = a_alloc(ar, c->n * sizeof(*c->idx))))
		return -ENOMEM;
	for (i = 0; i < c->n; i++)
		c->idx[i] = &c->e[i];
	qsort(c->idx, c->n, sizeof(*c->idx), ent_qcmp);
	for (i = 1; i < c->n; i++)
		if (c->idx[i]->kind == E_CHILD &&
		    !strcmp(c->idx[i]->key, c->idx[i - 1]->key))
			return sb_err_set(SB_EFORMAT, "two instances with one "
					  "identity: %s", c->idx[i]->key + 6);
	return 0;
}

/* Timestamp, label and identity, once the component is complete. */
static int comp_finish(struct arena *ar, struct comp *c, int nested,
		       char **key)
{
	static const char *const ids[] = { "UID", "RECURRENCE-ID", "TZID" };
	static const char *const tss[] = { "REV", "LAST-MODIFIED", "DTSTAMP" };
	struct buf b = { 0 };
	const char *v;
	size_t i;
	int found = 0, rc;

	if ((rc = comp_index(ar, c)))
		return rc;
	c->ts = "";
	for (i = 0; i < 3 && !found; i++)
		if ((v = comp_get(c, tss[i])) && !(c->ts = digits(ar, v)))
			return -ENOMEM;
		else
			found = v != NULL;
	for (i = 0; i < c->n && !found; i++)
		if (c->e[i].kind == E_CHILD && ts_cmp(c->e[i].c->ts, c->ts) > 0)
			c->ts = c->e[i].c->ts;
	found = 0;
	buf_str(&b, c->name);
	for (i = 0; i < 3; i++) {
		if (!(v = comp_get(c, ids[i])))
			continue;
		found = 1;
		buf_str(&b, " ");
		buf_str(&b, ids[i]);
		buf_str(&b, "=");
		buf_str(&b, v);
	}
	c->label = b.oom ? NULL : a_strndup(ar, b.p, b.len);
	b.len = 0;
	buf_str(&b, "BEGIN:");
	buf_str(&b, c->label ? c->label : "");
	if (!found && nested) {
		b.len = 0;
		buf_str(&b, "BEGIN:");
		buf_str(&b, c->name);
	}
	*key = b.oom ? NULL : a_strndup(ar, b.p, b.len);
	free(b.p);
	return c->label && *key ? found : -ENOMEM;
}

struct parser {
	struct arena *ar;
	const char *what;
	char **l;
	size_t n, i;
};

static int perr(struct parser *p, const char *why)
{
	return sb_err_set(SB_EFORMAT, "%s: content line %zu: %s", p->what,
			  p->i + 1, why);
}

static int parse_comp(struct parser *p, int depth, struct comp **out);

static int add_child(struct parser *p, struct comp *c, int depth)
{
	struct comp *k;
	struct buf b = { 0 };
	char *key, *text;
	int rc = parse_comp(p, depth + 1, &k);

	if (rc)
		return rc;
	if ((rc = comp_finish(p->ar, k, 1, &key)) < 0)
		return rc;
	if (rc)
		return comp_push(p->ar, c, E_CHILD, key, "", k);
	ser(&b, k);
	text = b.oom ? NULL : a_strndup(p->ar, b.p, b.len);
	free(b.p);
	return comp_push(p->ar, c, E_OPAQUE, key, text, NULL);
}

/* Component names as property names: keys built from them stay apart. */
static int valid_name(const char *s)
{
	size_t i;

	for (i = 0; is_name_char(s[i]); i++)
		;
	return i && !s[i];
}

static int parse_comp(struct parser *p, int depth, struct comp **out)
{
	struct comp *c;
	size_t nlen, voff;
	const char *line;
	int rc;

	if (depth > SB_PIM_DEPTH_MAX)
		return perr(p, "nested too deep");
	if (!(c = a_alloc(p->ar, sizeof(*c))))
		return -ENOMEM;
	line = p->l[p->i];
	if (split_line(line, &nlen, &voff) || !name_is(line, nlen, "BEGIN") ||
	    !valid_name(line + voff))
		return perr(p, "expected BEGIN:<name>");
	c->name = upper_key(p->ar, line + voff, strlen(line + voff),
			    strlen(line + voff) + 1);
	if (!c->name)
		return -ENOMEM;
	for (p->i++; p->i < p->n; p->i++) {
		line = p->l[p->i];
		if (split_line(line, &nlen, &voff))
			return perr(p, "not a content line");
		if (name_is(line, nlen, "END")) {
			if (strcasecmp(line + voff, c->name))
				return perr(p, "END does not match BEGIN");
			*out = c;
			return 0;
		}
		if (name_is(line, nlen, "BEGIN"))
			rc = add_child(p, c, depth);
		else
			rc = comp_push(p->ar, c, E_PROP,
				       upper_key(p->ar, line, nlen, voff),
				       (char *)line, NULL);
		if (rc)
			return rc;
	}
	return perr(p, "missing END");
}

static int parse(struct arena *ar, const char *what, const char *s,
		 size_t n, struct comp **out)
{
	struct parser p = { ar, what, NULL, 0, 0 };
	char *key;
	int rc;

	if (n > SB_PIM_TEXT_MAX)
		return sb_err_set(SB_EFORMAT, "%s: too large", what);
	if ((rc = check_bytes(what, s, n)) ||
	    (rc = unfold(ar, what, s, n, &p.l, &p.n)))
		return rc;
	if (!p.n)
		return sb_err_set(SB_EFORMAT, "%s: empty", what);
	if ((rc = parse_comp(&p, 0, out)))
		return rc;
	if (++p.i != p.n)
		return perr(&p, "text after the END");
	rc = comp_finish(ar, *out, 0, &key);
	return rc < 0 ? rc : 0;
}

int sb_pim_check(const char *buf, size_t len)
{
	struct arena ar = { 0 };
	struct comp *c;
	int rc = parse(&ar, "item", buf, len, &c);

	a_free(&ar);
	return rc;
}

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

/* Writes one logical line (no "\n" inside) folded, with CRLF. */
static void emit_line(struct buf *b, const char *s, size_t n)
{
	size_t room = 75;

	while (n > room) {
		size_t cut = room;

		while (cut > 1 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
		buf_add(b, s, cut);
		buf_add(b, "\r\n ", 3);
		s += cut;
		n -= cut;
		room = 74;
	}
	buf_add(b, s, n);
	buf_add(b, "\r\n", 2);
}

static void emit_text(struct buf *b, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\n");

		emit_line(b, s, n);
		s += n + (s[n] == '\n');
	}
}

static void emit_ser(struct buf *b, const struct comp *c)
{
	struct buf t = { 0 };

	ser(&t, c);
	if (t.oom)
		b->oom = 1;
	else
		emit_text(b, t.p);
	free(t.p);
}

static int ser_equal(const struct comp *a, const struct comp *b)
{
	struct buf x = { 0 }, y = { 0 };
	int eq;

	ser(&x, a);
	ser(&y, b);
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
			emit_text(&x->out, r[i]->text);
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
			emit_text(&x->out, add[i]);
	free(add);
}

static const char *value_of(const char *line)
{
	size_t nlen, voff;

	return split_line(line, &nlen, &voff) ? line : line + voff;
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
		c = ts_cmp(o->ts, t->ts);
		if (!c)
			c = strcmp(ov ? ov : "", tv ? tv : "");
		r = c > 0 ? ov : tv;
		if (c > 0 && tv)
			record(x, t, key, tv, SB_PIM_THEIRS);
		else if (c <= 0 && ov)
			record(x, o, key, ov, SB_PIM_OURS);
	}
	if (r)
		emit_text(&x->out, r);
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
	buf_str(&x->out, "BEGIN:");
	buf_str(&x->out, o->name);
	buf_str(&x->out, "\r\n");
	for (i = 0; i < n; i++) {
		if (k[i].kind == E_CHILD)
			merge_child(x, b, o, t, k[i].key);
		else if (is_multi(b, o, t, &k[i]))
			merge_set(x, b, o, t, k[i].key);
		else
			merge_single(x, b, o, t, k[i].key);
	}
	buf_str(&x->out, "END:");
	buf_str(&x->out, o->name);
	buf_str(&x->out, "\r\n");
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

	if ((base && (rc = parse(ar, "base", base, blen, &cb))) ||
	    (rc = parse(ar, "ours", ours, olen, &co)) ||
	    (rc = parse(ar, "theirs", theirs, tlen, &ct)))
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
	a_free(&ar);
	return rc;
}

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"
#include "sync/pim_merge.h"
#include "sync/pim_parse.h"

struct blk {
	struct blk *next;
	max_align_t data[];
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

void sb_pim_arena_free(struct arena *ar)
{
	while (ar->head) {
		struct blk *b = ar->head;

		ar->head = b->next;
		free(b);
	}
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
	struct sb_textbuf cur = { 0 };
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
			sb_textbuf_add(&cur, s + pos + 1, len - 1);
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
			sb_textbuf_add(&cur, s + pos, len);
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
int sb_pim_split_line(const char *line, size_t *name_len, size_t *val_off)
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
		    !sb_pim_split_line(c->e[i].text, &nlen, &voff) &&
		    name_is(c->e[i].text, nlen, name))
			return c->e[i].text + voff;
	return NULL;
}

void sb_pim_ser(struct sb_textbuf *b, const struct comp *c)
{
	size_t i;

	sb_textbuf_str(b, "BEGIN:");
	sb_textbuf_str(b, c->name);
	sb_textbuf_str(b, "\n");
	for (i = 0; i < c->n; i++) {
		if (c->e[i].kind == E_CHILD) {
			sb_pim_ser(b, c->e[i].c);
			continue;
		}
		sb_textbuf_str(b, c->e[i].text);
		if (c->e[i].kind == E_PROP)
			sb_textbuf_str(b, "\n");
	}
	sb_textbuf_str(b, "END:");
	sb_textbuf_str(b, c->name);
	sb_textbuf_str(b, "\n");
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

int sb_pim_ts_cmp(const char *a, const char *b)
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
	struct sb_textbuf b = { 0 };
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
		if (c->e[i].kind == E_CHILD &&
		    sb_pim_ts_cmp(c->e[i].c->ts, c->ts) > 0)
			c->ts = c->e[i].c->ts;
	found = 0;
	sb_textbuf_str(&b, c->name);
	for (i = 0; i < 3; i++) {
		if (!(v = comp_get(c, ids[i])))
			continue;
		found = 1;
		sb_textbuf_str(&b, " ");
		sb_textbuf_str(&b, ids[i]);
		sb_textbuf_str(&b, "=");
		sb_textbuf_str(&b, v);
	}
	c->label = b.oom ? NULL : a_strndup(ar, b.p, b.len);
	b.len = 0;
	sb_textbuf_str(&b, "BEGIN:");
	sb_textbuf_str(&b, c->label ? c->label : "");
	if (!found && nested) {
		b.len = 0;
		sb_textbuf_str(&b, "BEGIN:");
		sb_textbuf_str(&b, c->name);
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
	struct sb_textbuf b = { 0 };
	char *key, *text;
	int rc = parse_comp(p, depth + 1, &k);

	if (rc)
		return rc;
	if ((rc = comp_finish(p->ar, k, 1, &key)) < 0)
		return rc;
	if (rc)
		return comp_push(p->ar, c, E_CHILD, key, "", k);
	sb_pim_ser(&b, k);
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
	if (sb_pim_split_line(line, &nlen, &voff) ||
	    !name_is(line, nlen, "BEGIN") ||
	    !valid_name(line + voff))
		return perr(p, "expected BEGIN:<name>");
	c->name = upper_key(p->ar, line + voff, strlen(line + voff),
			    strlen(line + voff) + 1);
	if (!c->name)
		return -ENOMEM;
	for (p->i++; p->i < p->n; p->i++) {
		line = p->l[p->i];
		if (sb_pim_split_line(line, &nlen, &voff))
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

int sb_pim_parse(struct arena *ar, const char *what, const char *s,
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
	int rc = sb_pim_parse(&ar, "item", buf, len, &c);

	sb_pim_arena_free(&ar);
	return rc;
}


/* Writes one logical line (no "\n" inside) folded, with CRLF. */
void sb_pim_emit_line(struct sb_textbuf *b, const char *s, size_t n)
{
	size_t room = 75;

	while (n > room) {
		size_t cut = room;

		while (cut > 1 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
		sb_textbuf_add(b, s, cut);
		sb_textbuf_add(b, "\r\n ", 3);
		s += cut;
		n -= cut;
		room = 74;
	}
	sb_textbuf_add(b, s, n);
	sb_textbuf_add(b, "\r\n", 2);
}

void sb_pim_emit_text(struct sb_textbuf *b, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\n");

		sb_pim_emit_line(b, s, n);
		s += n + (s[n] == '\n');
	}
}

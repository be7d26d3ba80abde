#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/pim_edit.h"
#include "sync/pim_parse.h"
#include "sync/textbuf.h"

#define DEPTH_MAX 32

/* Logical (unfolded) lines, NUL-terminated, in one buffer. */
struct text {
	char *buf;
	size_t size;
	char **l;
	size_t n;
};

static void text_free(struct text *t)
{
	if (t->buf)
		sb_wipe(t->buf, t->size);
	free(t->buf);
	free(t->l);
	memset(t, 0, sizeof(*t));
}

/* Unfolds s: a line starting with a space or a tab continues the last. */
static int unfold(struct text *t, const char *s, size_t len)
{
	size_t i, nl = 1, w = 0, e, n;
	const char *p;

	for (i = 0; i < len; i++)
		nl += s[i] == '\n';
	t->size = len + 1;
	t->buf = malloc(t->size);
	t->l = calloc(nl, sizeof(*t->l));
	if (!t->buf || !t->l)
		return -ENOMEM;
	for (i = len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3) ? 3 : 0; i < len;
	     i = e + 1) {
		for (e = i; e < len && s[e] != '\n'; e++)
			;
		p = s + i;
		n = e - i;
		if (n && p[n - 1] == '\r')
			n--;
		if (!n)
			continue;
		if (*p == ' ' || *p == '\t') {
			if (!t->n)
				return sb_err_set(SB_EFORMAT, "a continuation "
						  "with nothing to continue");
			w--;	/* over the last line's NUL */
			p++;
			n--;
		} else {
			t->l[t->n++] = t->buf + w;
		}
		memcpy(t->buf + w, p, n);
		w += n;
		t->buf[w++] = '\0';
	}
	return 0;
}

static int name_is(const char *line, size_t nlen, const char *name)
{
	return strlen(name) == nlen && !strncasecmp(line, name, nlen);
}

/* 1 when line's key (name in any case, parameters as written) is key. */
static int key_is(const char *line, const char *key)
{
	size_t nlen, voff;

	if (sb_pim_split_line(line, &nlen, &voff) || strlen(key) != voff - 1)
		return 0;
	return !strncasecmp(line, key, nlen) &&
	       !memcmp(line + nlen, key + nlen, voff - 1 - nlen);
}

struct frame {
	size_t begin, child;		/* BEGIN line, first nested BEGIN */
	const char *name, *id[3];	/* UID, RECURRENCE-ID, TZID */
};

static const char *const id_props[3] = { "UID", "RECURRENCE-ID", "TZID" };

/* The label sync/pim_merge.c gives a component: "NAME UID=x ...". */
static int frame_is(const struct frame *f, const char *where)
{
	struct sb_textbuf b = { 0 };
	const char *p;
	size_t i;
	int same;

	for (p = f->name; *p; p++) {
		char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;

		sb_textbuf_add(&b, &c, 1);
	}
	for (i = 0; i < 3; i++) {
		if (!f->id[i])
			continue;
		sb_textbuf_str(&b, " ");
		sb_textbuf_str(&b, id_props[i]);
		sb_textbuf_str(&b, "=");
		sb_textbuf_str(&b, f->id[i]);
	}
	same = !b.oom && b.p && !strcmp(b.p, where);
	sb_textbuf_free(&b);
	return same;
}

static void frame_prop(struct frame *f, const char *line, size_t nlen,
		       size_t voff)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (!f->id[i] && name_is(line, nlen, id_props[i]))
			f->id[i] = line + voff;
}

/* Finds the component labelled where: its BEGIN, END and first child. */
static int find_comp(const struct text *t, const char *where, size_t *begin,
		     size_t *end, size_t *child)
{
	struct frame st[DEPTH_MAX];
	size_t i, nlen, voff, d = 0;

	for (i = 0; i < t->n; i++) {
		if (sb_pim_split_line(t->l[i], &nlen, &voff))
			return sb_err_set(SB_EFORMAT, "not a content line");
		if (name_is(t->l[i], nlen, "BEGIN")) {
			if (d == DEPTH_MAX)
				return sb_err_set(SB_EFORMAT, "nested too deep");
			if (d && st[d - 1].child == SIZE_MAX)
				st[d - 1].child = i;
			memset(&st[d], 0, sizeof(st[d]));
			st[d].begin = i;
			st[d].child = SIZE_MAX;
			st[d++].name = t->l[i] + voff;
		} else if (name_is(t->l[i], nlen, "END")) {
			if (!d)
				return sb_err_set(SB_EFORMAT, "END without BEGIN");
			if (frame_is(&st[--d], where)) {
				*begin = st[d].begin;
				*end = i;
				*child = st[d].child == SIZE_MAX ? i
								 : st[d].child;
				return 0;
			}
		} else if (d) {
			frame_prop(&st[d - 1], t->l[i], nlen, voff);
		}
	}
	return -ENOENT;
}

/* Writes one logical line folded at 75 octets (not inside UTF-8), CRLF. */
int sb_pim_replace_prop(char **out, size_t *outlen, const char *s,
			size_t len, const char *where, const char *what,
			const char *line)
{
	struct sb_textbuf b = { 0 };
	struct text t = { 0 };
	size_t i, begin = 0, end = 0, child = 0, nlen, voff;
	int rc, depth = 0, put = !line;

	if ((rc = unfold(&t, s, len)))
		goto out;
	rc = find_comp(&t, where, &begin, &end, &child);
	if (rc == -ENOENT)
		rc = sb_err_set(-ENOENT, "the item no longer holds %s", where);
	if (rc)
		goto out;
	for (i = 0; i < t.n; i++) {
		sb_pim_split_line(t.l[i], &nlen, &voff);
		if (i > begin && i < end && name_is(t.l[i], nlen, "END"))
			depth--;
		if (i > begin && i < end && !depth && key_is(t.l[i], what)) {
			if (!put)
				sb_pim_emit_line(&b, line, strlen(line));
			put = 1;
			continue;
		}
		if (i == child && !put) {
			sb_pim_emit_line(&b, line, strlen(line));
			put = 1;
		}
		if (i > begin && i < end && name_is(t.l[i], nlen, "BEGIN"))
			depth++;
		sb_pim_emit_line(&b, t.l[i], strlen(t.l[i]));
	}
	rc = b.oom ? -ENOMEM : 0;
	if (!rc) {
		*out = b.p;
		*outlen = b.len;
		memset(&b, 0, sizeof(b));
	}
out:
	sb_textbuf_free(&b);
	text_free(&t);
	return rc;
}

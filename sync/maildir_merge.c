#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"
#include "sync/maildir_merge.h"

/* A message as read from its path; all pointers into the caller's path. */
struct msg {
	const char *path;
	size_t folder_len;	/* path[0..folder_len) is the folder */
	int cur;
	const char *uniq;
	size_t uniq_len;
	uint32_t flags[8];	/* bit set over byte values */
};

struct side {
	struct msg *m;
	size_t n;
	size_t i;		/* cursor of the merge join */
};

struct opbuf {
	struct sb_maildir_op *ops;
	size_t n, cap;
};

static int dir_kind(const char *dir, size_t len, int *cur)
{
	const char *last = dir + len - 3;

	if (len < 3 || (len > 3 && dir[len - 4] != '/'))
		return SB_EFORMAT;
	if (!memcmp(last, "cur", 3))
		*cur = 1;
	else if (!memcmp(last, "new", 3))
		*cur = 0;
	else
		return SB_EFORMAT;
	return 0;
}

static int msg_parse(struct msg *m, const char *path)
{
	const char *slash = strrchr(path, '/'), *name, *info, *f;
	size_t dlen;

	if (!slash || !slash[1])
		return sb_err_set(SB_EFORMAT, "not a Maildir message: %s", path);
	dlen = (size_t)(slash - path);
	memset(m, 0, sizeof(*m));
	if (dir_kind(path, dlen, &m->cur))
		return sb_err_set(SB_EFORMAT, "not in new/ or cur/: %s", path);
	m->path = path;
	m->folder_len = dlen > 3 ? dlen - 4 : 0;
	name = slash + 1;
	info = strstr(name, ":2,");
	m->uniq = name;
	m->uniq_len = info ? (size_t)(info - name) : strlen(name);
	if (!m->uniq_len)
		return sb_err_set(SB_EFORMAT, "empty unique name: %s", path);
	for (f = info ? info + 3 : ""; *f; f++)
		m->flags[(uint8_t)*f >> 5] |= 1u << ((uint8_t)*f & 31);
	return 0;
}

static int uniq_cmp(const struct msg *a, const struct msg *b)
{
	size_t n = a->uniq_len < b->uniq_len ? a->uniq_len : b->uniq_len;
	int c = memcmp(a->uniq, b->uniq, n);

	if (c)
		return c;
	return (a->uniq_len > b->uniq_len) - (a->uniq_len < b->uniq_len);
}

static int msg_qcmp(const void *x, const void *y)
{
	const struct msg *a = x, *b = y;
	int c = uniq_cmp(a, b);

	return c ? c : strcmp(a->path, b->path);
}

static int side_load(struct side *s, const char *const *paths, size_t n)
{
	size_t i;
	int rc = 0;

	s->i = 0;
	s->n = n;
	s->m = calloc(n ? n : 1, sizeof(*s->m));
	if (!s->m)
		return -ENOMEM;
	for (i = 0; i < n && !rc; i++)
		rc = msg_parse(&s->m[i], paths[i]);
	if (!rc)
		qsort(s->m, n, sizeof(*s->m), msg_qcmp);
	return rc;
}

static int op_push(struct opbuf *b, enum sb_maildir_op_kind kind,
		   const char *from, const char *to, char *owned_to)
{
	struct sb_maildir_op *op;

	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		void *p = realloc(b->ops, cap * sizeof(*b->ops));

		if (!p)
			goto fail;
		b->ops = p;
		b->cap = cap;
	}
	op = &b->ops[b->n];
	op->kind = kind;
	op->from = strdup(from);
	op->to = owned_to ? owned_to : to ? strdup(to) : NULL;
	if (!op->from || (to && !op->to)) {
		free(op->from);
		free(op->to);
		return -ENOMEM;
	}
	b->n++;
	return 0;
fail:
	free(owned_to);
	return -ENOMEM;
}

static int same_folder(const struct msg *a, const struct msg *b)
{
	return a->folder_len == b->folder_len &&
	       !memcmp(a->path, b->path, a->folder_len);
}

static int folder_cmp(const struct msg *a, const struct msg *b)
{
	size_t n = a->folder_len < b->folder_len ? a->folder_len : b->folder_len;
	int c = memcmp(a->path, b->path, n);

	if (c)
		return c;
	return (a->folder_len > b->folder_len) - (a->folder_len < b->folder_len);
}

static int same_state(const struct msg *a, const struct msg *b)
{
	return same_folder(a, b) && a->cur == b->cur &&
	       !memcmp(a->flags, b->flags, sizeof(a->flags));
}

/* folder + "/" + new|cur + "/" + unique [":2," flags] */
static char *msg_path(const struct msg *m)
{
	size_t len = m->folder_len + 5 + m->uniq_len + 3 + 256 + 1, o = 0;
	char *p = malloc(len);
	int c;

	if (!p)
		return NULL;
	memcpy(p, m->path, m->folder_len);
	o = m->folder_len;
	if (o)
		p[o++] = '/';
	memcpy(p + o, m->cur ? "cur/" : "new/", 4);
	o += 4;
	memcpy(p + o, m->uniq, m->uniq_len);
	o += m->uniq_len;
	if (m->cur || memcmp(m->flags, (uint32_t[8]){ 0 }, sizeof(m->flags))) {
		memcpy(p + o, ":2,", 3);
		o += 3;
	}
	for (c = 1; c < 256; c++)
		if (m->flags[c >> 5] & (1u << (c & 31)))
			p[o++] = (char)c;
	p[o] = '\0';
	return p;
}

/* Both sides hold the message that base had. */
static int merge_kept(struct opbuf *ob, const struct msg *b,
		      const struct msg *o, const struct msg *t)
{
	struct msg r = *o;
	const char *target;
	char *built = NULL;
	int i, eo, et;

	if (same_folder(o, b) || (!same_folder(t, b) && folder_cmp(t, o) < 0))
		r.path = t->path, r.folder_len = t->folder_len;
	r.cur = o->cur == b->cur ? t->cur : o->cur;
	for (i = 0; i < 8; i++) {
		uint32_t changed = o->flags[i] ^ b->flags[i];

		r.flags[i] = (o->flags[i] & changed) | (t->flags[i] & ~changed);
	}
	eo = same_state(&r, o);
	et = same_state(&r, t);
	if (eo && et)
		target = strcmp(o->path, t->path) <= 0 ? o->path : t->path;
	else if (eo || et)
		target = eo ? o->path : t->path;
	else if (!(built = msg_path(&r)))
		return -ENOMEM;
	else
		target = built;
	if (!strcmp(target, o->path)) {
		free(built);
		return 0;
	}
	if (!built && !(built = strdup(target)))
		return -ENOMEM;
	return op_push(ob, SB_MAILDIR_RENAME, o->path, NULL, built);
}

static int merge_one(struct opbuf *ob, const struct msg *b,
		     const struct msg *o, const struct msg *t)
{
	if (!b) {
		if (t && (!o || strcmp(o->path, t->path)))
			return op_push(ob, SB_MAILDIR_ADD, t->path, t->path,
				       NULL);
		return 0;
	}
	if (o && t)
		return merge_kept(ob, b, o, t);
	if (t && !same_folder(t, b))
		return op_push(ob, SB_MAILDIR_ADD, t->path, t->path, NULL);
	if (o && same_folder(o, b))
		return op_push(ob, SB_MAILDIR_DELETE, o->path, NULL, NULL);
	return 0;
}

static int has_path(const struct msg *m, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(m[i].path, path))
			return 1;
	return 0;
}

/* A unique name seen more than once in one tree: merge its paths. */
static int merge_paths(struct opbuf *ob, const struct msg *b, size_t nb,
		       const struct msg *o, size_t no, const struct msg *t,
		       size_t nt)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < no && !rc; i++)
		if (has_path(b, nb, o[i].path) && !has_path(t, nt, o[i].path))
			rc = op_push(ob, SB_MAILDIR_DELETE, o[i].path, NULL,
				     NULL);
	for (i = 0; i < nt && !rc; i++)
		if (!has_path(o, no, t[i].path) && !has_path(b, nb, t[i].path))
			rc = op_push(ob, SB_MAILDIR_ADD, t[i].path, t[i].path,
				     NULL);
	return rc;
}

/* The run of messages in s with the unique name of key; advances s. */
static size_t side_take(struct side *s, const struct msg *key,
			const struct msg **first)
{
	size_t n = 0;

	*first = s->i < s->n ? &s->m[s->i] : NULL;
	while (s->i < s->n && !uniq_cmp(&s->m[s->i], key)) {
		s->i++;
		n++;
	}
	if (!n)
		*first = NULL;
	return n;
}

static const struct msg *side_min(struct side *s, const struct msg *best)
{
	if (s->i < s->n && (!best || uniq_cmp(&s->m[s->i], best) < 0))
		return &s->m[s->i];
	return best;
}

static int merge_all(struct opbuf *ob, struct side *sb, struct side *so,
		     struct side *st)
{
	const struct msg *key, *b, *o, *t;
	size_t nb, no, nt;
	int rc = 0;

	while (!rc) {
		struct msg k;

		key = side_min(st, side_min(so, side_min(sb, NULL)));
		if (!key)
			break;
		k = *key;
		nb = side_take(sb, &k, &b);
		no = side_take(so, &k, &o);
		nt = side_take(st, &k, &t);
		if (nb > 1 || no > 1 || nt > 1)
			rc = merge_paths(ob, b, nb, o, no, t, nt);
		else
			rc = merge_one(ob, b, o, t);
	}
	return rc;
}

static int op_qcmp(const void *x, const void *y)
{
	const struct sb_maildir_op *a = x, *b = y;
	int c;

	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	if ((c = strcmp(a->from, b->from)))
		return c;
	return strcmp(a->to ? a->to : "", b->to ? b->to : "");
}

static void opbuf_release(struct opbuf *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->ops[i].from);
		free(b->ops[i].to);
	}
	free(b->ops);
}

void sb_maildir_ops_free(struct sb_maildir_ops *ops)
{
	struct opbuf b;

	if (!ops)
		return;
	b.ops = ops->ops;
	b.n = ops->n;
	opbuf_release(&b);
	free(ops);
}

int sb_maildir_merge(struct sb_maildir_ops **out,
		     const char *const *base, size_t nbase,
		     const char *const *ours, size_t nours,
		     const char *const *theirs, size_t ntheirs)
{
	struct side sb = { 0 }, so = { 0 }, st = { 0 };
	struct opbuf ob = { 0 };
	struct sb_maildir_ops *res = NULL;
	int rc;

	if ((rc = side_load(&sb, base, nbase)) ||
	    (rc = side_load(&so, ours, nours)) ||
	    (rc = side_load(&st, theirs, ntheirs)) ||
	    (rc = merge_all(&ob, &sb, &so, &st)))
		goto out;
	if (!(res = calloc(1, sizeof(*res)))) {
		rc = -ENOMEM;
		goto out;
	}
	if (ob.n)
		qsort(ob.ops, ob.n, sizeof(*ob.ops), op_qcmp);
	res->ops = ob.ops;
	res->n = ob.n;
	ob.ops = NULL;
	ob.n = 0;
	*out = res;
out:
	opbuf_release(&ob);
	free(sb.m);
	free(so.m);
	free(st.m);
	return rc;
}

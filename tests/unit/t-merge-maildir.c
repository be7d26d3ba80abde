#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/maildir_merge.h"

#define MAXP 4096

/* The operations as text: "D from", "R from > to", "A from", one a line. */
static char *ops_text(const struct sb_maildir_ops *ops)
{
	static char buf[65536];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < ops->n; i++) {
		const struct sb_maildir_op *op = &ops->ops[i];

		if (op->kind == SB_MAILDIR_DELETE)
			o += snprintf(buf + o, sizeof(buf) - o, "D %s\n",
				      op->from);
		else if (op->kind == SB_MAILDIR_RENAME)
			o += snprintf(buf + o, sizeof(buf) - o, "R %s > %s\n",
				      op->from, op->to);
		else {
			assert_string_equal(op->from, op->to);
			o += snprintf(buf + o, sizeof(buf) - o, "A %s\n",
				      op->from);
		}
	}
	return buf;
}

static size_t count(const char *const *v)
{
	size_t n = 0;

	while (v[n])
		n++;
	return n;
}

static void expect(const char *const *b, const char *const *o,
		   const char *const *t, const char *want)
{
	struct sb_maildir_ops *ops;

	assert_int_equal(sb_maildir_merge(&ops, b, count(b), o, count(o), t,
					  count(t)), 0);
	assert_string_equal(ops_text(ops), want);
	sb_maildir_ops_free(ops);
}

/* Applies ops to ours; the result sorted, paths owned by ours/theirs/ops. */
static int pcmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static size_t apply(const char **res, const char *const *o, size_t no,
		    const struct sb_maildir_ops *ops)
{
	size_t i, j, n = 0;

	for (i = 0; i < no; i++) {
		const char *p = o[i];

		for (j = 0; j < ops->n && p; j++) {
			const struct sb_maildir_op *op = &ops->ops[j];

			if (op->kind != SB_MAILDIR_ADD && !strcmp(op->from, p))
				p = op->kind == SB_MAILDIR_DELETE ? NULL : op->to;
		}
		if (p)
			res[n++] = p;
	}
	for (j = 0; j < ops->n; j++)
		if (ops->ops[j].kind == SB_MAILDIR_ADD)
			res[n++] = ops->ops[j].to;
	qsort(res, n, sizeof(*res), pcmp);
	for (i = 1; i < n; i++)
		assert_true(strcmp(res[i - 1], res[i]) != 0);
	return n;
}

/* merge(b, o, t) applied to o equals merge(b, t, o) applied to t. */
static void symmetric(const char *const *b, size_t nb, const char *const *o,
		      size_t no, const char *const *t, size_t nt,
		      const char **res, size_t *nres)
{
	static const char *other[MAXP];
	struct sb_maildir_ops *x, *y;
	size_t n1, n2, i;

	assert_int_equal(sb_maildir_merge(&x, b, nb, o, no, t, nt), 0);
	assert_int_equal(sb_maildir_merge(&y, b, nb, t, nt, o, no), 0);
	n1 = apply(res, o, no, x);
	n2 = apply(other, t, nt, y);
	assert_int_equal(n1, n2);
	for (i = 0; i < n1; i++)
		assert_string_equal(res[i], other[i]);
	/* keep the strings alive for the caller: copy them */
	for (i = 0; i < n1; i++)
		res[i] = strdup(res[i]);
	*nres = n1;
	sb_maildir_ops_free(x);
	sb_maildir_ops_free(y);
}

static void check_sym(const char *const *b, const char *const *o,
		      const char *const *t, const char *want)
{
	const char *res[64];
	char buf[4096];
	size_t n, i, off = 0;

	symmetric(b, count(b), o, count(o), t, count(t), res, &n);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		off += snprintf(buf + off, sizeof(buf) - off, "%s\n", res[i]);
		free((char *)res[i]);
	}
	assert_string_equal(buf, want);
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define E ((const char *const[]){ NULL })

static void test_unchanged(void **state)
{
	expect(L("m/cur/1:2,S", "m/new/2"), L("m/cur/1:2,S", "m/new/2"),
	       L("m/cur/1:2,S", "m/new/2"), "");
}

static void test_flags_three_way(void **state)
{
	/* ours adds F, theirs removes S and adds R: F and R, no S */
	expect(L("m/cur/1:2,S"), L("m/cur/1:2,FS"), L("m/cur/1:2,R"),
	       "R m/cur/1:2,FS > m/cur/1:2,FR\n");
	/* a flag added on theirs only */
	expect(L("m/cur/1:2,S"), L("m/cur/1:2,S"), L("m/cur/1:2,RS"),
	       "R m/cur/1:2,S > m/cur/1:2,RS\n");
	/* removed on theirs only, ours untouched */
	expect(L("m/cur/1:2,FS"), L("m/cur/1:2,FS"), L("m/cur/1:2,F"),
	       "R m/cur/1:2,FS > m/cur/1:2,F\n");
	/* removed on ours only: nothing to do */
	expect(L("m/cur/1:2,FS"), L("m/cur/1:2,F"), L("m/cur/1:2,FS"), "");
	/* the same change on both */
	expect(L("m/cur/1:2,"), L("m/cur/1:2,T"), L("m/cur/1:2,T"), "");
	/* ours added F, theirs removed F? no: theirs removed S, ours kept */
	check_sym(L("m/cur/1:2,FS"), L("m/cur/1:2,S"), L("m/cur/1:2,FST"),
		  "m/cur/1:2,ST\n");
}

static void test_flags_sorted_unknown_kept(void **state)
{
	/* lowercase and unknown flags are kept, output sorted by byte */
	expect(L("m/cur/1:2,Sa"), L("m/cur/1:2,FSa"), L("m/cur/1:2,Sab"),
	       "R m/cur/1:2,FSa > m/cur/1:2,FSab\n");
	/* unsorted input with no change stays as it is */
	expect(L("m/cur/1:2,SF"), L("m/cur/1:2,SF"), L("m/cur/1:2,SF"), "");
	/* unsorted input changed is written sorted */
	expect(L("m/cur/1:2,SF"), L("m/cur/1:2,SF"), L("m/cur/1:2,SFR"),
	       "R m/cur/1:2,SF > m/cur/1:2,SFR\n");
	expect(L("m/cur/1:2,SF"), L("m/cur/1:2,SFP"), L("m/cur/1:2,SFR"),
	       "R m/cur/1:2,SFP > m/cur/1:2,FPRS\n");
}

static void test_move_and_flags(void **state)
{
	/* ours moved to another folder, theirs flagged: both */
	expect(L("m/cur/1:2,S"), L("m/.Archive/cur/1:2,S"),
	       L("m/cur/1:2,FS"),
	       "R m/.Archive/cur/1:2,S > m/.Archive/cur/1:2,FS\n");
	/* the other way round */
	expect(L("m/cur/1:2,S"), L("m/cur/1:2,FS"),
	       L("m/.Archive/cur/1:2,S"),
	       "R m/cur/1:2,FS > m/.Archive/cur/1:2,FS\n");
	/* new -> cur with S on theirs, F on ours */
	expect(L("m/new/1"), L("m/new/1:2,F"), L("m/cur/1:2,S"),
	       "R m/new/1:2,F > m/cur/1:2,FS\n");
	/* new -> cur without flags on theirs */
	expect(L("m/new/1"), L("m/new/1"), L("m/cur/1:2,"),
	       "R m/new/1 > m/cur/1:2,\n");
	check_sym(L("m/new/1"), L("m/.A/new/1:2,F"), L("m/cur/1:2,S"),
		  "m/.A/cur/1:2,FS\n");
}

static void test_delete(void **state)
{
	/* delete beats a flag change */
	expect(L("m/cur/1:2,S"), L("m/cur/1:2,FS"), L("m/new/x", "z/new/y"),
	       "D m/cur/1:2,FS\nA m/new/x\nA z/new/y\n");
	expect(L("m/cur/1:2,S"), E, L("m/cur/1:2,FS"), "");
	/* delete beats new -> cur: opening it is not filing it */
	expect(L("m/new/1"), L("m/cur/1:2,S"), E, "D m/cur/1:2,S\n");
	expect(L("m/new/1"), E, L("m/cur/1:2,S"), "");
	/* deleted on both */
	expect(L("m/new/1"), E, E, "");
	/* delete against a folder move: the moved message stays */
	expect(L("m/cur/1:2,S"), E, L("m/.Archive/cur/1:2,S"),
	       "A m/.Archive/cur/1:2,S\n");
	expect(L("m/cur/1:2,S"), L("m/.Archive/cur/1:2,S"), E, "");
	check_sym(L("m/cur/1:2,S", "m/cur/2:2,"), L("m/.A/cur/1:2,S"),
		  L("m/cur/2:2,"), "m/.A/cur/1:2,S\n");
}

static void test_new_both_sides(void **state)
{
	expect(L("m/cur/0:2,"), L("m/cur/0:2,", "m/new/1"),
	       L("m/cur/0:2,", "m/new/2", "m/.Sent/cur/3:2,S"),
	       "A m/.Sent/cur/3:2,S\nA m/new/2\n");
	/* same unique name, same path: once */
	expect(E, L("m/new/1"), L("m/new/1"), "");
	/* same unique name, different paths: both files */
	expect(E, L("m/new/1"), L("m/cur/1:2,S"), "A m/cur/1:2,S\n");
	check_sym(E, L("m/new/1"), L("m/cur/1:2,S"),
		  "m/cur/1:2,S\nm/new/1\n");
}

static void test_both_moved(void **state)
{
	/* the folder that sorts first wins, on both sides */
	expect(L("m/cur/1:2,S"), L("m/.B/cur/1:2,S"), L("m/.A/cur/1:2,FS"),
	       "R m/.B/cur/1:2,S > m/.A/cur/1:2,FS\n");
	expect(L("m/cur/1:2,S"), L("m/.A/cur/1:2,FS"), L("m/.B/cur/1:2,S"),
	       "");
	check_sym(L("m/cur/1:2,S"), L("m/.B/cur/1:2,ST"), L("m/.A/cur/1:2,FS"),
		  "m/.A/cur/1:2,FST\n");
	/* the same move on both */
	expect(L("m/cur/1:2,S"), L("m/.B/cur/1:2,S"), L("m/.B/cur/1:2,S"), "");
}

static void test_duplicates_by_path(void **state)
{
	/* a copied file: the unique name twice in one tree */
	expect(L("m/cur/1:2,S", "m/.A/cur/1:2,S"), L("m/cur/1:2,S"),
	       L("m/cur/1:2,S", "m/.A/cur/1:2,S", "m/.B/cur/1:2,S"),
	       "A m/.B/cur/1:2,S\n");
	expect(L("m/cur/1:2,S", "m/.A/cur/1:2,S"),
	       L("m/cur/1:2,S", "m/.A/cur/1:2,S"), L("m/.A/cur/1:2,S"),
	       "D m/cur/1:2,S\n");
}

static void test_root_folder_and_odd_names(void **state)
{
	expect(L("cur/1:2,S"), L("cur/1:2,S"), L(".X/cur/1:2,S"),
	       "R cur/1:2,S > .X/cur/1:2,S\n");
	/* ":" without "2," belongs to the unique name */
	expect(L("m/new/a:1,b"), L("m/new/a:1,b"), L("m/cur/a:1,b:2,S"),
	       "R m/new/a:1,b > m/cur/a:1,b:2,S\n");
}

static void test_malformed(void **state)
{
	static const char *bad[] = { "m/tmp/1", "m/cur/", "1", "m/xcur/1",
				     "m/cur/:2,S", "", "cu/1", "/new" };
	struct sb_maildir_ops *ops = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		const char *one[] = { bad[i] };

		assert_int_equal(sb_maildir_merge(&ops, one, 1, NULL, 0, NULL,
						  0), SB_EFORMAT);
		assert_int_equal(sb_maildir_merge(&ops, NULL, 0, NULL, 0, one,
						  1), SB_EFORMAT);
		assert_null(ops);
	}
	/* "/new/1" is an absolute path with an empty folder before it */
}

/* Random paths from an alphabet that makes near-misses likely, and every
 * prefix of a real one: 0 or SB_EFORMAT, never a crash. */
static void test_random_paths(void **state)
{
	static const char alpha[] = "/:2,newcurtmpSFa.\xff";
	const char *real = "m/.Archive/cur/1700.M1P2.host:2,FRS";
	char s[3][64];
	const char *v[3] = { s[0], s[1], s[2] };
	uint64_t r = 0x2545f4914f6cdd1dull;
	struct sb_maildir_ops *ops;
	size_t i, k, j, n;
	int rc;

	for (n = 0; n <= strlen(real); n++) {
		memcpy(s[0], real, n);
		s[0][n] = '\0';
		rc = sb_maildir_merge(&ops, v, 1, v, 1, v, 1);
		assert_true(rc == 0 || rc == SB_EFORMAT);
		if (!rc)
			sb_maildir_ops_free(ops);
	}
	for (i = 0; i < 20000; i++) {
		for (k = 0; k < 3; k++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			n = r % 24;
			for (j = 0; j < n; j++)
				s[k][j] = alpha[(r >> (j % 48)) %
						(sizeof(alpha) - 1)];
			s[k][n] = '\0';
		}
		rc = sb_maildir_merge(&ops, v, 1 + i % 3, v + 1, 2, v + 2, 1);
		assert_true(rc == 0 || rc == SB_EFORMAT);
		if (!rc)
			sb_maildir_ops_free(ops);
	}
}

/* Random: a model of each message on each side. */
#define NMSG 300
#define NFOLD 4

struct st {
	int present, folder, cur;
	unsigned flags;		/* bits over FLAGS below */
};

static const char FLAGS[] = "DFPRSTab";
static const char *FOLDERS[NFOLD] = { "m", "m/.Archive", "m/.Sent", "x" };

static uint64_t rng;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static char *st_path(int id, const struct st *s)
{
	char buf[256], fl[16];
	size_t i, n = 0;

	for (i = 0; FLAGS[i]; i++)
		if (s->flags & (1u << i))
			fl[n++] = FLAGS[i];
	fl[n] = '\0';
	if (!s->cur && !n)
		snprintf(buf, sizeof(buf), "%s/new/17%05d.M%dP1.host",
			 FOLDERS[s->folder], id, id);
	else
		snprintf(buf, sizeof(buf), "%s/%s/17%05d.M%dP1.host:2,%s",
			 FOLDERS[s->folder], s->cur ? "cur" : "new", id, id,
			 fl);
	return strdup(buf);
}

static void mutate(struct st *s)
{
	switch (rnd(6)) {
	case 0:
		s->present = 0;
		break;
	case 1:
		s->folder = (int)rnd(NFOLD);
		break;
	case 2:
		s->cur = 1;
		break;
	default:
		s->flags ^= 1u << rnd(sizeof(FLAGS) - 1);
	}
}

static size_t tree(const char **v, const struct st *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (s[i].present)
			v[k++] = st_path((int)i, &s[i]);
	return k;
}

static void expected(struct st *r, const struct st *b, const struct st *o,
		     const struct st *t)
{
	unsigned ch;

	memset(r, 0, sizeof(*r));
	if (!b->present) {
		*r = o->present ? *o : *t;
		return;
	}
	if (!o->present || !t->present) {
		const struct st *k = o->present ? o : t;

		if (k->present && k->folder != b->folder)
			*r = *k;
		return;
	}
	r->present = 1;
	if (o->folder == b->folder)
		r->folder = t->folder;
	else if (t->folder == b->folder)
		r->folder = o->folder;
	else
		r->folder = strcmp(FOLDERS[o->folder], FOLDERS[t->folder]) <= 0
				    ? o->folder : t->folder;
	r->cur = o->cur == b->cur ? t->cur : o->cur;
	ch = o->flags ^ b->flags;
	r->flags = (o->flags & ch) | (t->flags & ~ch);
}

static void random_round(unsigned seed)
{
	static struct st b[NMSG + 40], o[NMSG + 40], t[NMSG + 40];
	static const char *vb[MAXP], *vo[MAXP], *vt[MAXP], *res[MAXP];
	size_t i, nb, no, nt, nres, k, j;

	rng = 0x9e3779b97f4a7c15ull ^ seed;
	memset(b, 0, sizeof(b));
	for (i = 0; i < NMSG; i++) {
		b[i].present = 1;
		b[i].folder = (int)rnd(NFOLD);
		b[i].cur = (int)rnd(2);
		b[i].flags = b[i].cur ? rnd(64) : 0;
	}
	memcpy(o, b, sizeof(b));
	memcpy(t, b, sizeof(b));
	for (i = 0; i < NMSG; i++) {
		if (rnd(2))
			mutate(&o[i]);
		if (rnd(2))
			mutate(&t[i]);
	}
	/* new messages: 20 on ours, 20 on theirs, distinct unique names */
	for (i = NMSG; i < NMSG + 20; i++)
		o[i] = (struct st){ 1, (int)rnd(NFOLD), 0, 0 };
	for (i = NMSG + 20; i < NMSG + 40; i++)
		t[i] = (struct st){ 1, (int)rnd(NFOLD), 1, rnd(64) };
	nb = tree(vb, b, NMSG + 40);
	no = tree(vo, o, NMSG + 40);
	nt = tree(vt, t, NMSG + 40);
	symmetric(vb, nb, vo, no, vt, nt, res, &nres);
	for (i = 0, k = 0; i < NMSG + 40; i++) {
		struct st r;

		expected(&r, &b[i], &o[i], &t[i]);
		if (!r.present)
			continue;
		{
			char *want = st_path((int)i, &r);
			int found = 0;

			for (j = 0; j < nres; j++)
				found += !strcmp(res[j], want);
			if (found != 1)
				fail_msg("seed %u: %s found %d times", seed,
					 want, found);
			free(want);
		}
		k++;
	}
	assert_int_equal(k, nres);
	for (i = 0; i < nb; i++)
		free((char *)vb[i]);
	for (i = 0; i < no; i++)
		free((char *)vo[i]);
	for (i = 0; i < nt; i++)
		free((char *)vt[i]);
	for (i = 0; i < nres; i++)
		free((char *)res[i]);
}

static void test_random(void **state)
{
	unsigned seed;

	for (seed = 1; seed <= 200; seed++)
		random_round(seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_flags_three_way),
		cmocka_unit_test(test_flags_sorted_unknown_kept),
		cmocka_unit_test(test_move_and_flags),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_new_both_sides),
		cmocka_unit_test(test_both_moved),
		cmocka_unit_test(test_duplicates_by_path),
		cmocka_unit_test(test_root_folder_and_odd_names),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_random_paths),
		cmocka_unit_test(test_random),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

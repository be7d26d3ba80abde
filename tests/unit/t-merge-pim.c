#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/pim_merge.h"

/* Texts are written with "\n"; the merged output must be CRLF. */
static char *crlf(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *d = malloc(2 * n + 1);

	assert_non_null(d);
	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			d[o++] = '\r';
		d[o++] = s[i];
	}
	d[o] = '\0';
	return d;
}

static struct sb_pim_merged *merge(const char *b, const char *o,
				   const char *t)
{
	struct sb_pim_merged *m = NULL;

	assert_int_equal(sb_pim_merge(&m, b, b ? strlen(b) : 0, o, strlen(o),
				      t, strlen(t)), 0);
	return m;
}

/* Merges both ways round: the same text; returns merge(b, o, t). */
static struct sb_pim_merged *merge2(const char *b, const char *o,
				    const char *t, const char *want)
{
	struct sb_pim_merged *m = merge(b, o, t), *r = merge(b, t, o);
	char *w = crlf(want);

	assert_string_equal(m->text, w);
	assert_int_equal(m->len, strlen(w));
	assert_string_equal(r->text, w);
	assert_int_equal(m->nconflicts, r->nconflicts);
	assert_int_equal(sb_pim_check(m->text, m->len), 0);
	free(w);
	sb_pim_merged_free(r);
	return m;
}

static void expect(const char *b, const char *o, const char *t,
		   const char *want)
{
	struct sb_pim_merged *m = merge2(b, o, t, want);

	assert_int_equal(m->nconflicts, 0);
	sb_pim_merged_free(m);
}

#define VC(rev, body) \
	"BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\n" body "REV:" rev \
	"\nEND:VCARD\n"

static void test_parse_unfold_params(void **state)
{
	/* LF and CRLF, space and tab continuations, quoted ":" and ";" */
	const char *in = "BEGIN:VCARD\r\nVERSION:4.0\nUID:u1\r\n"
			 "FN:Ann\n  Lee\r\nNOTE:a\n\tb\n"
			 "item1.EMAIL;TYPE=\"x:y;z\";PREF=1:a@b\n\nEND:VCARD";

	expect(in, in, in, "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann Lee\n"
	       "NOTE:ab\nitem1.EMAIL;TYPE=\"x:y;z\";PREF=1:a@b\nEND:VCARD\n");
}

static void test_one_side_wins(void **state)
{
	expect(VC("1", "TEL:1\n"), VC("1", "TEL:1\nNOTE:n\n"),
	       VC("2", "TEL:2\n"),
	       "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nTEL:2\nREV:2\n"
	       "NOTE:n\nEND:VCARD\n");
	/* deleted on one side, unchanged on the other: deleted */
	expect(VC("1", "TITLE:x\n"), VC("1", ""), VC("1", "TITLE:x\n"),
	       "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nREV:1\n"
	       "END:VCARD\n");
	/* lower-case names are one key with upper-case ones */
	expect(VC("1", "title:x\n"), VC("1", "title:x\n"), VC("1", "TITLE:y\n"),
	       "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nTITLE:y\nREV:1\n"
	       "END:VCARD\n");
}

static void test_both_changed_later_wins(void **state)
{
	struct sb_pim_merged *m;

	m = merge2(VC("20240101T000000Z", "TITLE:base\n"),
		   VC("20240102T000000Z", "TITLE:ours\n"),
		   VC("2024-01-03T00:00:00Z", "TITLE:theirs\n"),
		   "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nTITLE:theirs\n"
		   "REV:2024-01-03T00:00:00Z\nEND:VCARD\n");
	assert_int_equal(m->nconflicts, 1);
	assert_string_equal(m->conflicts[0].where, "VCARD UID=u1");
	assert_string_equal(m->conflicts[0].name, "TITLE");
	assert_string_equal(m->conflicts[0].line, "TITLE:ours");
	assert_int_equal(m->conflicts[0].side, SB_PIM_OURS);
	sb_pim_merged_free(m);
	/* the other way round the losing side is named theirs */
	m = merge(VC("1", "TITLE:base\n"), VC("3", "TITLE:ours\n"),
		  VC("2", "TITLE:theirs\n"));
	assert_int_equal(m->nconflicts, 1);
	assert_string_equal(m->conflicts[0].line, "TITLE:theirs");
	assert_int_equal(m->conflicts[0].side, SB_PIM_THEIRS);
	sb_pim_merged_free(m);
	/* tie: the value that sorts last wins, either way round */
	m = merge2(VC("1", "TITLE:base\n"), VC("1", "TITLE:aaa\n"),
		   VC("1", "TITLE:bbb\n"),
		   "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nTITLE:bbb\n"
		   "REV:1\nEND:VCARD\n");
	assert_int_equal(m->nconflicts, 1);
	assert_string_equal(m->conflicts[0].line, "TITLE:aaa");
	sb_pim_merged_free(m);
	/* delete on one side, change on the later other: change kept */
	m = merge2(VC("1", "TITLE:base\n"), VC("2", ""),
		   VC("3", "TITLE:new\n"),
		   "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nTITLE:new\n"
		   "REV:3\nEND:VCARD\n");
	assert_int_equal(m->nconflicts, 0);
	sb_pim_merged_free(m);
	/* the later delete wins, the change is kept as a conflict */
	m = merge2(VC("1", "TITLE:base\n"), VC("3", ""),
		   VC("2", "TITLE:new\n"),
		   "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nREV:3\n"
		   "END:VCARD\n");
	assert_int_equal(m->nconflicts, 1);
	assert_string_equal(m->conflicts[0].line, "TITLE:new");
	assert_int_equal(m->conflicts[0].side, SB_PIM_THEIRS);
	sb_pim_merged_free(m);
}

static void test_params_are_part_of_key(void **state)
{
	expect(VC("1", "TEL;TYPE=home:1\n"),
	       VC("1", "TEL;TYPE=home:1\nADR;TYPE=work:;;x\n"),
	       VC("1", "TEL;TYPE=cell:1\n"),
	       "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nREV:1\n"
	       "ADR;TYPE=work:;;x\nTEL;TYPE=cell:1\nEND:VCARD\n");
}

static void test_multi_valued_sets(void **state)
{
	/* ours adds c, theirs removes a and adds b: b, c; no conflict */
	expect(VC("1", "EMAIL:a@x\nEMAIL:z@x\n"),
	       VC("2", "EMAIL:z@x\nEMAIL:a@x\nEMAIL:c@x\n"),
	       VC("3", "EMAIL:z@x\nEMAIL:b@x\n"),
	       "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nEMAIL:z@x\n"
	       "EMAIL:b@x\nEMAIL:c@x\nREV:3\nEND:VCARD\n");
	/* any property present twice is a set too */
	expect(VC("1", "X-A:1\nX-A:2\n"), VC("1", "X-A:1\nX-A:2\nX-A:3\n"),
	       VC("1", "X-A:2\n"),
	       "BEGIN:VCARD\nVERSION:4.0\nUID:u1\nFN:Ann\nX-A:2\nX-A:3\n"
	       "REV:1\nEND:VCARD\n");
}

#define CAL(body) "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t\n" body \
	"END:VCALENDAR\n"
#define EV(lm, rid, body) "BEGIN:VEVENT\nUID:e1\n" rid "DTSTAMP:" lm "\n" \
	"SUMMARY:s\n" body "END:VEVENT\n"
#define R1 "RECURRENCE-ID:20240105T100000Z\n"

static void test_ical_instances(void **state)
{
	struct sb_pim_merged *m;

	/* master changed on ours, exception on theirs; both kept */
	expect(CAL(EV("1", "", "LOCATION:a\n") EV("1", R1, "LOCATION:b\n")),
	       CAL(EV("1", "", "LOCATION:A\n") EV("1", R1, "LOCATION:b\n")),
	       CAL(EV("1", "", "LOCATION:a\n") EV("2", R1, "LOCATION:B\n")),
	       CAL(EV("1", "", "LOCATION:A\n") EV("2", R1, "LOCATION:B\n")));
	/* the same property on both: per instance LAST-MODIFIED, then
	 * DTSTAMP, decides */
	m = merge2(CAL(EV("1", "", "LOCATION:a\n")),
		   CAL(EV("1", "", "LOCATION:o\nLAST-MODIFIED:20240109T0Z\n")),
		   CAL(EV("5", "", "LOCATION:t\nLAST-MODIFIED:20240108T0Z\n")),
		   CAL("BEGIN:VEVENT\nUID:e1\nDTSTAMP:5\nSUMMARY:s\n"
		       "LOCATION:o\nLAST-MODIFIED:20240109T0Z\nEND:VEVENT\n"));
	assert_int_equal(m->nconflicts, 1);
	assert_string_equal(m->conflicts[0].where, "VEVENT UID=e1");
	assert_string_equal(m->conflicts[0].line, "LOCATION:t");
	sb_pim_merged_free(m);
	/* a new instance on each side, different RECURRENCE-IDs */
	expect(CAL(EV("1", "", "")),
	       CAL(EV("1", "", "") EV("1", R1, "")),
	       CAL(EV("1", "", "") EV("1", "RECURRENCE-ID:20240106T1Z\n", "")),
	       CAL(EV("1", "", "") EV("1", R1, "")
		   EV("1", "RECURRENCE-ID:20240106T1Z\n", "")));
	/* deleted on one side, unchanged on the other: deleted */
	expect(CAL(EV("1", "", "") EV("1", R1, "")), CAL(EV("1", "", "")),
	       CAL(EV("1", "", "") EV("1", R1, "")), CAL(EV("1", "", "")));
	/* deleted on one side, changed on the other: kept */
	expect(CAL(EV("1", "", "") EV("1", R1, "")), CAL(EV("1", "", "")),
	       CAL(EV("1", "", "") EV("1", R1, "LOCATION:x\n")),
	       CAL(EV("1", "", "") EV("1", R1, "LOCATION:x\n")));
}

#define AL(t) "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:" t "\nEND:VALARM\n"

static void test_ical_alarms_and_bookkeeping(void **state)
{
	/* alarms are values of a set: one removed, one added */
	expect(CAL(EV("1", "", AL("-PT5M") AL("-PT1H"))),
	       CAL(EV("1", "", AL("-PT5M") AL("-PT1H") AL("-P1D"))),
	       CAL(EV("1", "", AL("-PT1H"))),
	       CAL(EV("1", "", AL("-PT1H") AL("-P1D"))));
	/* SEQUENCE: the larger; DTSTAMP: the later; no conflict records */
	expect(CAL(EV("20240101T000000Z", "", "SEQUENCE:1\n")),
	       CAL(EV("20240103T000000Z", "", "SEQUENCE:10\n")),
	       CAL(EV("20240102T000000Z", "", "SEQUENCE:9\n")),
	       CAL(EV("20240103T000000Z", "", "SEQUENCE:10\n")));
}

static void test_no_base(void **state)
{
	struct sb_pim_merged *m;

	/* no base: VERSION, then every key sorted; TEL is a set */
	m = merge2(NULL, VC("1", "TEL:1\nNOTE:o\n"), VC("2", "TEL:2\n"),
		   "BEGIN:VCARD\nVERSION:4.0\nFN:Ann\nNOTE:o\nREV:2\n"
		   "TEL:1\nTEL:2\nUID:u1\nEND:VCARD\n");
	assert_int_equal(m->nconflicts, 0);
	sb_pim_merged_free(m);
}

static void test_folding(void **state)
{
	char line[400], in[1024], want[1024];
	struct sb_pim_merged *m;
	const char *p, *q;
	size_t i;

	/* 200 octets of ASCII: 75, then 74 per continuation */
	for (i = 0; i < 195; i++)
		line[i] = (char)('a' + i % 26);
	line[195] = '\0';
	snprintf(in, sizeof(in), "BEGIN:VCARD\nVERSION:4.0\nNOTE:%s\n"
		 "END:VCARD\n", line);
	m = merge(in, in, in);
	snprintf(want, sizeof(want), "BEGIN:VCARD\r\nVERSION:4.0\r\n"
		 "NOTE:%.70s\r\n %.74s\r\n %.51s\r\nEND:VCARD\r\n", line,
		 line + 70, line + 144);
	assert_string_equal(m->text, want);
	sb_pim_merged_free(m);
	/* two-octet characters are never split; lines stay <= 75 octets */
	for (i = 0; i + 2 < 300; i += 2)
		memcpy(line + i, "\xc3\xa9", 2);
	line[i] = '\0';
	snprintf(in, sizeof(in), "BEGIN:VCARD\nVERSION:4.0\nNOTE:%s\n"
		 "END:VCARD\n", line);
	m = merge(in, in, in);
	for (p = m->text; *p; p = q + 2) {
		q = strstr(p, "\r\n");
		assert_non_null(q);
		assert_true(q - p <= 75);
		if (q[2] == ' ')
			assert_true(((unsigned char)q[3] & 0xc0) != 0x80);
	}
	assert_int_equal(sb_pim_check(m->text, m->len), 0);
	sb_pim_merged_free(m);
}

/* Seeded random vCards: eight single-valued properties and a set of
 * EMAILs changed at random on both sides; the exact expected text and
 * conflicts follow the rules from a model. */
#define NP 8
#define NE 6

struct card {
	int val[NP];		/* -1: absent */
	unsigned emails;	/* bit i: EMAIL:e<i> */
	int rev;
};

static uint64_t prng;

static unsigned prnd(unsigned n)
{
	prng ^= prng << 13;
	prng ^= prng >> 7;
	prng ^= prng << 17;
	return (unsigned)(prng % n);
}

static void card_text(char *out, size_t cap, const struct card *c)
{
	size_t o = 0;
	int k;

	o += (size_t)snprintf(out + o, cap - o,
			      "BEGIN:VCARD\nVERSION:4.0\nUID:u\n");
	for (k = 0; k < NP; k++)
		if (c->val[k] >= 0)
			o += (size_t)snprintf(out + o, cap - o, "X-P%d:v%d\n",
					      k, c->val[k]);
	for (k = 0; k < NE; k++)
		if (c->emails & (1u << k))
			o += (size_t)snprintf(out + o, cap - o, "EMAIL:e%d\n",
					      k);
	snprintf(out + o, cap - o, "REV:%d\nEND:VCARD\n", c->rev);
}

static void card_mutate(struct card *c)
{
	int k = (int)prnd(NP + 1);

	if (k == NP)
		c->emails ^= 1u << prnd(NE);
	else
		c->val[k] = prnd(3) ? (int)prnd(4) : -1;
}

static size_t emails_text(char *out, size_t cap, unsigned set)
{
	size_t o = 0;
	int k;

	for (k = 0; k < NE; k++)
		if (set & (1u << k))
			o += (size_t)snprintf(out + o, cap - o, "EMAIL:e%d\n",
					      k);
	return o;
}

/* The expected merge; returns the number of conflict records. */
static size_t card_expect(char *out, size_t cap, const struct card *b,
			  const struct card *o, const struct card *t)
{
	int r[NP], k, later_o = o->rev > t->rev;
	unsigned eo = o->emails ^ b->emails, keep_b, add;
	size_t off = 0, ncf = 0;

	for (k = 0; k < NP; k++) {
		if (o->val[k] == b->val[k])
			r[k] = t->val[k];
		else if (t->val[k] == b->val[k] || o->val[k] == t->val[k])
			r[k] = o->val[k];
		else {
			r[k] = later_o ? o->val[k] : t->val[k];
			ncf += (later_o ? t->val[k] : o->val[k]) >= 0;
		}
	}
	keep_b = b->emails & o->emails & t->emails;
	add = ((o->emails & eo) | (t->emails & ~eo)) & ~b->emails;
	off += (size_t)snprintf(out + off, cap - off,
				"BEGIN:VCARD\nVERSION:4.0\nUID:u\n");
	for (k = 0; k < NP; k++)
		if (b->val[k] >= 0 && r[k] >= 0)
			off += (size_t)snprintf(out + off, cap - off,
						"X-P%d:v%d\n", k, r[k]);
	if (b->emails) {
		off += emails_text(out + off, cap - off, keep_b);
		off += emails_text(out + off, cap - off, add);
	}
	off += (size_t)snprintf(out + off, cap - off, "REV:%d\n",
				o->rev > t->rev ? o->rev : t->rev);
	if (!b->emails)
		off += emails_text(out + off, cap - off, add);
	for (k = 0; k < NP; k++)
		if (b->val[k] < 0 && r[k] >= 0)
			off += (size_t)snprintf(out + off, cap - off,
						"X-P%d:v%d\n", k, r[k]);
	snprintf(out + off, cap - off, "END:VCARD\n");
	return ncf;
}

static void test_random_cards(void **state)
{
	char tb[1024], to[1024], tt[1024], want[1024];
	struct card b, o, t;
	struct sb_pim_merged *m;
	unsigned seed, i;
	int k;

	for (seed = 1; seed <= 2000; seed++) {
		prng = 0x9e3779b97f4a7c15ull * seed;
		for (k = 0; k < NP; k++)
			b.val[k] = prnd(2) ? (int)prnd(4) : -1;
		b.emails = prnd(1u << NE);
		b.rev = 1000;
		o = b;
		t = b;
		for (i = prnd(4); i > 0; i--)
			card_mutate(&o);
		for (i = prnd(4); i > 0; i--)
			card_mutate(&t);
		o.rev = 2000 + (int)prnd(500);
		t.rev = 2500 + (int)prnd(500);
		if (prnd(2)) {
			struct card x = o;

			o = t;
			t = x;
		}
		card_text(tb, sizeof(tb), &b);
		card_text(to, sizeof(to), &o);
		card_text(tt, sizeof(tt), &t);
		k = (int)card_expect(want, sizeof(want), &b, &o, &t);
		m = merge2(tb, to, tt, want);
		if ((int)m->nconflicts != k)
			fail_msg("seed %u: %zu conflicts, want %d", seed,
				 m->nconflicts, k);
		sb_pim_merged_free(m);
	}
}

static const char *const bad[] = {
	"",
	"\n\n",
	"VERSION:4.0\n",
	"BEGIN:VCARD\nVERSION:4.0\n",
	"BEGIN:VCARD\nEND:VCALENDAR\n",
	"BEGIN:VCARD\nEND:VCARD\nBEGIN:VCARD\nEND:VCARD\n",
	"BEGIN:VCARD\nEND:VCARD\nFN:x\n",
	"BEGIN:VCARD\nFN\nEND:VCARD\n",
	"BEGIN:VCARD\n:x\nEND:VCARD\n",
	"BEGIN:VCARD\nF N:x\nEND:VCARD\n",
	" BEGIN:VCARD\nEND:VCARD\n",
	"BEGIN:VCARD\n\n x\nEND:VCARD\n",
	"BEGIN:VCARD\nFN:a\0b\nEND:VCARD\n",
	"BEGIN:VCARD\nFN:a\rb\nEND:VCARD\n",
	"BEGIN:VCARD\nFN:\xff\xfe\nEND:VCARD\n",
	"BEGIN:VCARD\nFN:\xc3\nEND:VCARD\n",
	"BEGIN:VCARD\nFN;X=\"a:b\nEND:VCARD\n",
	"BEGIN:\nEND:\n",
	"BEGIN:VCALENDAR\nBEGIN:X UID=1\nEND:X UID=1\nBEGIN:X\nUID:1\n"
	"END:X\nEND:VCALENDAR\n",
	"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nEND:VEVENT\n"
	"BEGIN:VEVENT\nUID:1\nEND:VEVENT\nEND:VCALENDAR\n",
	"BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR\nEND:VEVENT\n",
};

static const size_t bad_len[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 33 };

static void test_malformed(void **state)
{
	const char *good = VC("1", "");
	struct sb_pim_merged *m = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		size_t n = i < sizeof(bad_len) / sizeof(*bad_len) && bad_len[i]
				   ? bad_len[i] : strlen(bad[i]);

		assert_int_equal(sb_pim_check(bad[i], n), SB_EFORMAT);
		assert_int_equal(sb_pim_merge(&m, good, strlen(good), bad[i],
					      n, good, strlen(good)),
				 SB_EFORMAT);
		assert_int_equal(sb_pim_merge(&m, bad[i], n, good,
					      strlen(good), good, strlen(good)),
				 SB_EFORMAT);
		assert_null(m);
	}
	/* another contact (UID), in ours, theirs or base */
	{
		const char *other = "BEGIN:VCARD\nUID:u2\nEND:VCARD\n";

		assert_int_equal(sb_pim_merge(&m, good, strlen(good), good,
					      strlen(good), other,
					      strlen(other)), SB_EFORMAT);
		assert_int_equal(sb_pim_merge(&m, other, strlen(other), good,
					      strlen(good), good,
					      strlen(good)), SB_EFORMAT);
		assert_string_equal(sb_err_msg(SB_EFORMAT), "not the same item:"
				    " VCARD UID=u2, VCARD UID=u1");
	}
	/* a VCARD against a VCALENDAR */
	assert_int_equal(sb_pim_merge(&m, NULL, 0, good, strlen(good),
				      CAL(""), strlen(CAL(""))), SB_EFORMAT);
}

static void test_limits(void **state)
{
	size_t n = SB_PIM_LINE_MAX + 64, i;
	char *s = malloc(n + 64);
	int o;

	assert_non_null(s);
	o = snprintf(s, 64, "BEGIN:VCARD\nNOTE:");
	/* the NOTE line, from offset 12, is SB_PIM_LINE_MAX + 1 octets */
	for (i = (size_t)o; i < 12 + SB_PIM_LINE_MAX + 1; i++)
		s[i] = 'x';
	memcpy(s + i, "\nEND:VCARD\n", 12);
	assert_int_equal(sb_pim_check(s, strlen(s)), SB_EFORMAT);
	/* a long logical line made of folded physical lines is fine */
	s[100] = '\n';
	s[101] = ' ';
	for (i = 5000; i < SB_PIM_LINE_MAX; i += 5000) {
		s[i] = '\n';
		s[i + 1] = ' ';
	}
	assert_int_equal(sb_pim_check(s, strlen(s)), 0);
	free(s);
	/* nesting */
	{
		char deep[4096];
		size_t k = 0;
		int d;

		for (d = 0; d < SB_PIM_DEPTH_MAX + 2; d++)
			k += (size_t)snprintf(deep + k, sizeof(deep) - k,
					      "BEGIN:X\n");
		for (d = 0; d < SB_PIM_DEPTH_MAX + 2; d++)
			k += (size_t)snprintf(deep + k, sizeof(deep) - k,
					      "END:X\n");
		assert_int_equal(sb_pim_check(deep, k), SB_EFORMAT);
	}
}

static void try_all(const char *s, size_t n)
{
	struct sb_pim_merged *m = NULL;
	const char *good = CAL(EV("1", "", AL("-PT5M")));
	int rc = sb_pim_check(s, n);

	assert_true(rc == 0 || rc == SB_EFORMAT);
	rc = sb_pim_merge(&m, good, strlen(good), s, n, good, strlen(good));
	assert_true(rc == 0 || rc == SB_EFORMAT);
	if (!rc) {
		assert_int_equal(sb_pim_check(m->text, m->len), 0);
		sb_pim_merged_free(m);
	}
}

static void test_truncated_and_random(void **state)
{
	const char *items[] = {
		CAL(EV("1", "", AL("-PT5M")) EV("2", R1, "ATTENDEE;CN=\"A:B\""
		    ":mailto:a@b\n")),
		"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:\xc3\xa9l\r\n \xc3\xa9\r\n"
		"EMAIL;TYPE=\"w;x\":a@b\r\nEND:VCARD\r\n",
	};
	char buf[1024];
	uint64_t r = 88172645463325252ull;
	size_t i, n, k;

	for (k = 0; k < 2; k++)
		for (n = 0; n <= strlen(items[k]); n++)
			try_all(items[k], n);
	for (i = 0; i < 20000; i++) {
		const char *src = items[i % 2];

		n = strlen(src);
		memcpy(buf, src, n);
		for (k = 0; k < 1 + i % 4; k++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			buf[r % n] = (char)(r >> 32);
		}
		try_all(buf, n);
		for (k = 0; k < 64; k++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			buf[k] = (char)(r >> 24);
		}
		try_all(buf, 1 + i % 64);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_unfold_params),
		cmocka_unit_test(test_one_side_wins),
		cmocka_unit_test(test_both_changed_later_wins),
		cmocka_unit_test(test_params_are_part_of_key),
		cmocka_unit_test(test_multi_valued_sets),
		cmocka_unit_test(test_ical_instances),
		cmocka_unit_test(test_ical_alarms_and_bookkeeping),
		cmocka_unit_test(test_no_base),
		cmocka_unit_test(test_random_cards),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_truncated_and_random),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

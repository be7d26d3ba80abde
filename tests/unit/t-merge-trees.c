#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "fs/store.h"
#include "sync/checkout.h"
#include "sync/merge.h"
#include "sync/repo.h"
#include "sync/statcache.h"
#include "tests/unit/util.h"

/*
 * sb_merge_trees() on two devices' commits (issue 4, "How it is checked",
 * first bullet, at tree level): device A and device B start from one
 * base commit, change their stores, commit; the merged tree is checked
 * out into a fresh store and read back as plaintext. Both orders (A as
 * ours, then B as ours) give the same paths and contents, conflict
 * copies' device names aside.
 */

struct dev {
	char root[96], cache[128];
	struct sb_repo *r;
	struct sb_store *st;
	struct sb_statcache *sc;
};

struct fix {
	char top[64];
	struct dev a, b;
	struct sb_signkey *key;
	char base[SB_OID_HEX], ca[SB_OID_HEX], cb[SB_OID_HEX];
	int n;		/* stores made for merged trees */
};

static void dev_open(struct fix *f, struct dev *d, const char *name,
		     int repo)
{
	struct sb_secrets *s = fixed_secrets();

	snprintf(d->root, sizeof(d->root), "%s/%s", f->top, name);
	snprintf(d->cache, sizeof(d->cache), "%s/statcache-%s", f->top, name);
	assert_int_equal(mkdir(d->root, 0700), 0);
	if (repo)
		assert_int_equal(sb_repo_init(&d->r, d->root), 0);
	assert_int_equal(sb_store_open(&d->st, d->root, s), 0);
	assert_int_equal(sb_statcache_open(&d->sc, d->cache), 0);
	sb_secrets_free(s);
}

static void dev_close(struct dev *d)
{
	sb_statcache_free(d->sc);
	sb_store_free(d->st);
	sb_repo_free(d->r);
	memset(d, 0, sizeof(*d));
}

/* Each repository also reads the other's objects. */
static void alternates(struct dev *d, const struct dev *other)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.git/objects/info", d->root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.git/objects/info/alternates",
		 d->root);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "%s/.git/objects\n", other->root);
	fclose(fp);
	sb_repo_free(d->r);
	assert_int_equal(sb_repo_open(&d->r, d->root), 0);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	uint8_t seed[SB_ED25519_LEN];

	snprintf(f->top, sizeof(f->top), "/tmp/t-merge.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	dev_open(f, &f->a, "a", 1);
	dev_open(f, &f->b, "b", 1);
	alternates(&f->a, &f->b);
	alternates(&f->b, &f->a);
	memset(seed, 0x5a, sizeof(seed));
	assert_int_equal(sb_signkey_from_seed(&f->key, seed), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	dev_close(&f->a);
	dev_close(&f->b);
	sb_signkey_free(f->key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

/* Store changes. */

static void put(struct dev *d, const char *plain, const char *text)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", plain);
	if ((slash = strrchr(dir, '/'))) {
		*slash = '\0';
		assert_int_equal(sb_store_mkdir(d->st, dir, 0700), 0);
	}
	assert_int_equal(sb_store_write_file(d->st, plain, text, strlen(text),
					     0600, NULL), 0);
}

static void maildir(struct dev *d, const char *folder)
{
	char path[PATH_MAX];
	static const char *const sub[] = { "cur", "new", "tmp" };
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", folder, sub[i]);
		assert_int_equal(sb_store_mkdir(d->st, path, 0700), 0);
	}
}

static void rm(struct dev *d, const char *plain)
{
	assert_int_equal(sb_store_unlink(d->st, plain), 0);
}

static void rmdir_p(struct dev *d, const char *plain)
{
	assert_int_equal(sb_store_rmdir(d->st, plain), 0);
}

/* A Maildir rename: the same backing file under its new name. */
static void mv(struct dev *d, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX], pa[PATH_MAX * 2], pb[PATH_MAX * 2];

	assert_int_equal(sb_store_backing_path(d->st, a, sizeof(a), from), 0);
	assert_int_equal(sb_store_backing_path(d->st, b, sizeof(b), to), 0);
	snprintf(pa, sizeof(pa), "%s/%s", d->root, a);
	snprintf(pb, sizeof(pb), "%s/%s", d->root, b);
	assert_int_equal(rename(pa, pb), 0);
}

static void commit(struct fix *f, struct dev *d, char oid[SB_OID_HEX])
{
	assert_int_equal(sb_repo_commit_all(d->r, oid, "test", "dev",
					    "dev@sealbox", sign_cb, f->key), 0);
}

/* B starts from A's base commit. */
static void fork_b(struct fix *f)
{
	struct sb_checkout_result res;

	commit(f, &f->a, f->base);
	assert_int_equal(sb_repo_set_ref(f->b.r, "refs/heads/main", f->base,
					 NULL, "test"), 0);
	assert_int_equal(sb_checkout(&res, f->b.r, f->b.st, f->b.sc, NULL,
				     f->base, NULL, NULL), 0);
}

/* Merged trees, read back. */

struct list {
	struct sb_store *st;
	char **line;
	size_t n;
};

static int list_fn(const struct sb_store_entry *e, void *arg)
{
	struct list *l = arg;
	char line[PATH_MAX * 2];
	uint8_t *buf = NULL;
	size_t len;

	if (e->error)
		fail_msg("damaged: %s (%s)", e->path, e->what ? e->what : "");
	if (e->type == S_IFREG) {
		assert_int_equal(sb_store_read_file(l->st, e->path, &buf, &len,
						    NULL), 0);
		snprintf(line, sizeof(line), "%s\t%s", e->path, (char *)buf);
		free(buf);
	} else {
		snprintf(line, sizeof(line), "%s/", e->path);
	}
	l->line = realloc(l->line, (l->n + 1) * sizeof(*l->line));
	l->line[l->n++] = strdup(line);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->line[i]);
	free(l->line);
	memset(l, 0, sizeof(*l));
}

/* Checks tree out into a new store and lists its plaintext. */
static void read_tree(struct fix *f, struct list *l, const char *tree)
{
	struct sb_checkout_result res;
	struct dev d;
	char name[16];

	memset(&d, 0, sizeof(d));
	snprintf(name, sizeof(name), "m%d", f->n++);
	dev_open(f, &d, name, 0);
	assert_int_equal(sb_checkout(&res, f->a.r, d.st, d.sc, NULL, tree,
				     NULL, NULL), 0);
	assert_int_equal(res.kept, 0);
	memset(l, 0, sizeof(*l));
	l->st = d.st;
	assert_int_equal(sb_store_walk(d.st, 1, list_fn, l), 0);
	qsort(l->line, l->n, sizeof(*l->line), cmp_str);
	l->st = NULL;
	dev_close(&d);
}

static int has(const struct list *l, const char *line)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->line[i], line))
			return 1;
	return 0;
}

/* A line starting with prefix, or NULL. */
static const char *starting(const struct list *l, const char *prefix)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strncmp(l->line[i], prefix, strlen(prefix)))
			return l->line[i];
	return NULL;
}

static size_t count(const struct list *l, const char *needle)
{
	size_t i, k = 0;

	for (i = 0; i < l->n; i++)
		k += strstr(l->line[i], needle) != NULL;
	return k;
}

static void merge(struct fix *f, struct sb_merge_report **rep,
		  struct list *l, int swap)
{
	char tree[SB_OID_HEX];

	assert_int_equal(sb_merge_trees(rep, tree, f->a.r, f->a.st, f->base,
					swap ? f->cb : f->ca,
					swap ? f->ca : f->cb,
					swap ? "devB" : "devA",
					swap ? "devA" : "devB"), 0);
	read_tree(f, l, tree);
}

/*
 * What both orders must agree on: the paths (conflict copies' device
 * names aside), the contents, and the whole line of every path that is
 * not part of a kept-both pair (ours stays at the path, so the pair's
 * contents swap).
 */
static void split(const struct list *l, const struct sb_merge_report *r,
		  struct list *paths, struct list *texts, struct list *rest)
{
	char buf[PATH_MAX * 2], *p, *tab;
	size_t i, k;
	int pair;

	memset(paths, 0, sizeof(*paths));
	memset(texts, 0, sizeof(*texts));
	memset(rest, 0, sizeof(*rest));
	for (i = 0; i < l->n; i++) {
		snprintf(buf, sizeof(buf), "%s", l->line[i]);
		tab = strchr(buf, '\t');
		if (tab)
			*tab = '\0';
		for (pair = 0, k = 0; k < r->nconflicts; k++)
			if (r->conflicts[k].kept &&
			    (!strcmp(buf, r->conflicts[k].path) ||
			     !strcmp(buf, r->conflicts[k].kept)))
				pair = 1;
		if (!pair) {
			rest->line = realloc(rest->line, (rest->n + 1) *
					     sizeof(char *));
			rest->line[rest->n++] = strdup(l->line[i]);
		}
		texts->line = realloc(texts->line, (texts->n + 1) *
				      sizeof(char *));
		texts->line[texts->n++] = strdup(tab ? tab + 1 : "");
		if ((p = strstr(buf, ".sealbox-conflict-dev")))
			p[strlen(".sealbox-conflict-dev")] = 'X';
		paths->line = realloc(paths->line, (paths->n + 1) *
				      sizeof(char *));
		paths->line[paths->n++] = strdup(buf);
	}
	qsort(paths->line, paths->n, sizeof(char *), cmp_str);
	qsort(texts->line, texts->n, sizeof(char *), cmp_str);
}

static void same_lists(const struct list *a, const struct list *b)
{
	size_t i;

	for (i = 0; i < a->n && i < b->n; i++)
		assert_string_equal(a->line[i], b->line[i]);
	assert_int_equal(a->n, b->n);
}

static void symmetric(struct fix *f)
{
	struct sb_merge_report *r1, *r2;
	struct list l1, l2, p1, p2, t1, t2, x1, x2;

	merge(f, &r1, &l1, 0);
	merge(f, &r2, &l2, 1);
	split(&l1, r1, &p1, &t1, &x1);
	split(&l2, r2, &p2, &t2, &x2);
	same_lists(&p1, &p2);
	same_lists(&t1, &t2);
	same_lists(&x1, &x2);
	assert_int_equal(r1->nconflicts, r2->nconflicts);
	assert_int_equal(r1->kept_both, r2->kept_both);
	assert_int_equal(r1->merged_pim, r2->merged_pim);
	list_free(&l1);
	list_free(&l2);
	list_free(&p1);
	list_free(&p2);
	list_free(&t1);
	list_free(&t2);
	list_free(&x1);
	list_free(&x2);
	sb_merge_report_free(r1);
	sb_merge_report_free(r2);
}

/* The cases of issue 4. */

#define VCARD(body) "BEGIN:VCARD\r\nVERSION:4.0\r\n" body "END:VCARD\r\n"

static void base_state(struct fix *f)
{
	struct dev *a = &f->a;

	maildir(a, "mail");
	maildir(a, "mail/.Old");
	put(a, "mail/cur/m1.host:2,S", "message one\n");
	put(a, "mail/cur/m2.host:2,", "message two\n");
	put(a, "mail/cur/m3.host:2,", "message three\n");
	put(a, "mail/.Old/cur/o1.host:2,S", "old message\n");
	put(a, "contacts/work/c.vcf",
	    VCARD("UID:c\r\nFN:Carol\r\nREV:20240101T000000Z\r\n"));
	put(a, "contacts/work/t.vcf",
	    VCARD("UID:t\r\nFN:Tom\r\nTITLE:x\r\nREV:20240101T000000Z\r\n"));
	put(a, "notes/todo.txt", "base\n");
	fork_b(f);
}

static void changes_a(struct fix *f)
{
	struct dev *a = &f->a;

	put(a, "mail/new/a1.host", "new on A\n");
	mv(a, "mail/cur/m1.host:2,S", "mail/cur/m1.host:2,FS");
	maildir(a, "mail/.Archive");
	mv(a, "mail/cur/m2.host:2,", "mail/.Archive/cur/m2.host:2,");
	rm(a, "mail/cur/m3.host:2,");
	put(a, "contacts/work/c.vcf",
	    VCARD("UID:c\r\nFN:Carol Smith\r\nREV:20240102T000000Z\r\n"));
	put(a, "contacts/work/t.vcf",
	    VCARD("UID:t\r\nFN:Tom\r\nTITLE:a\r\nREV:20240102T000000Z\r\n"));
	maildir(a, "mail/.Work");
	put(a, "mail/.Work/new/w1.host", "work A\n");
	rm(a, "mail/.Old/cur/o1.host:2,S");
	rmdir_p(a, "mail/.Old/cur");
	rmdir_p(a, "mail/.Old/new");
	rmdir_p(a, "mail/.Old/tmp");
	rmdir_p(a, "mail/.Old");
	put(a, "notes/todo.txt", "from A\n");
	commit(f, a, f->ca);
}

static void changes_b(struct fix *f)
{
	struct dev *b = &f->b;

	put(b, "mail/new/b1.host", "new on B\n");
	mv(b, "mail/cur/m1.host:2,S", "mail/cur/m1.host:2,RS");
	mv(b, "mail/cur/m2.host:2,", "mail/cur/m2.host:2,S");
	mv(b, "mail/cur/m3.host:2,", "mail/cur/m3.host:2,F");
	put(b, "contacts/work/c.vcf",
	    VCARD("UID:c\r\nFN:Carol\r\nNOTE:met in Bern\r\n"
		  "REV:20240103T000000Z\r\n"));
	put(b, "contacts/work/t.vcf",
	    VCARD("UID:t\r\nFN:Tom\r\nTITLE:b\r\nREV:20240103T000000Z\r\n"));
	maildir(b, "mail/.Work");
	put(b, "mail/.Work/new/w2.host", "work B\n");
	put(b, "mail/.Old/new/o2.host", "landed on B\n");
	put(b, "notes/todo.txt", "from B\n");
	commit(f, b, f->cb);
}

static void check_merged(const struct list *l)
{
	const char *c, *t;

	/* new messages on both sides */
	assert_true(has(l, "mail/new/a1.host\tnew on A\n"));
	assert_true(has(l, "mail/new/b1.host\tnew on B\n"));
	/* flagged differently: flags combine */
	assert_true(has(l, "mail/cur/m1.host:2,FRS\tmessage one\n"));
	assert_int_equal(count(l, "m1.host"), 1);
	/* moved on A, flagged on B */
	assert_true(has(l, "mail/.Archive/cur/m2.host:2,S\tmessage two\n"));
	assert_int_equal(count(l, "m2.host"), 1);
	/* deleted on A, flagged on B: deleted */
	assert_int_equal(count(l, "m3.host"), 0);
	/* same contact, different properties */
	c = starting(l, "contacts/work/c.vcf\t");
	assert_non_null(c);
	assert_non_null(strstr(c, "FN:Carol Smith\r\n"));
	assert_non_null(strstr(c, "NOTE:met in Bern\r\n"));
	/* same property: the later (B) wins */
	t = starting(l, "contacts/work/t.vcf\t");
	assert_non_null(t);
	assert_non_null(strstr(t, "TITLE:b\r\n"));
	assert_null(strstr(t, "TITLE:a"));
	assert_int_equal(count(l, "t.vcf"), 1);
	/* a folder created on both */
	assert_true(has(l, "mail/.Work/cur/"));
	assert_true(has(l, "mail/.Work/tmp/"));
	assert_true(has(l, "mail/.Work/new/w1.host\twork A\n"));
	assert_true(has(l, "mail/.Work/new/w2.host\twork B\n"));
	/* deleted on A while a message landed in it on B */
	assert_true(has(l, "mail/.Old/new/o2.host\tlanded on B\n"));
	assert_true(has(l, "mail/.Old/cur/"));
	assert_true(has(l, "mail/.Old/tmp/"));
	assert_int_equal(count(l, "o1.host"), 0);
	/* a plain file changed on both: both kept */
	assert_int_equal(count(l, "notes/todo.txt"), 2);
}

static void test_cases(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep;
	const struct sb_merge_conflict *c;
	struct list l;
	size_t i, prop = 0, kept = 0;

	base_state(f);
	changes_a(f);
	changes_b(f);
	merge(f, &rep, &l, 0);
	check_merged(&l);
	/* ours stays at the path, theirs next to it */
	assert_true(has(&l, "notes/todo.txt\tfrom A\n"));
	assert_true(has(&l, "notes/todo.txt.sealbox-conflict-devB\tfrom B\n"));
	assert_int_equal(rep->kept_both, 1);
	assert_int_equal(rep->merged_pim, 2);
	assert_true(rep->maildir_ops >= 5);
	assert_int_equal(rep->nconflicts, 2);
	for (i = 0; i < rep->nconflicts; i++) {
		c = &rep->conflicts[i];
		if (c->kept) {
			kept++;
			assert_string_equal(c->path, "notes/todo.txt");
			assert_string_equal(c->kept, "notes/todo.txt"
					    ".sealbox-conflict-devB");
			assert_string_equal(c->loser, "devB");
			assert_int_equal(strlen(c->old_blob), 40);
		} else {
			prop++;
			assert_string_equal(c->path, "contacts/work/t.vcf");
			assert_string_equal(c->line, "TITLE:a");
			assert_string_equal(c->what, "TITLE");
			assert_string_equal(c->where, "VCARD UID=t");
			assert_string_equal(c->loser, "devA");
			assert_int_equal(strlen(c->old_blob), 40);
		}
	}
	assert_int_equal(prop, 1);
	assert_int_equal(kept, 1);
	list_free(&l);
	sb_merge_report_free(rep);
	/* the other way round */
	merge(f, &rep, &l, 1);
	check_merged(&l);
	assert_true(has(&l, "notes/todo.txt\tfrom B\n"));
	assert_true(has(&l, "notes/todo.txt.sealbox-conflict-devA\tfrom A\n"));
	list_free(&l);
	sb_merge_report_free(rep);
	symmetric(f);
}

/*
 * A non-PIM file and an unparsable .vcf changed on both; a numbered copy
 * (no symmetry check: the number depends on whose name was taken).
 */
static void test_keep_both(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep;
	struct list l;

	put(&f->a, "x/bad.vcf", "not a vcard\n");
	put(&f->a, "x/f", "base\n");
	put(&f->a, "x/f.sealbox-conflict-devB", "an old copy\n");
	fork_b(f);
	put(&f->a, "x/bad.vcf", "still not one (A)\n");
	put(&f->a, "x/f", "A\n");
	commit(f, &f->a, f->ca);
	put(&f->b, "x/bad.vcf", "still not one (B)\n");
	put(&f->b, "x/f", "B\n");
	commit(f, &f->b, f->cb);
	merge(f, &rep, &l, 0);
	assert_true(has(&l, "x/bad.vcf\tstill not one (A)\n"));
	assert_true(has(&l, "x/bad.vcf.sealbox-conflict-devB\t"
			"still not one (B)\n"));
	assert_true(has(&l, "x/f\tA\n"));
	assert_true(has(&l, "x/f.sealbox-conflict-devB\tan old copy\n"));
	assert_true(has(&l, "x/f.sealbox-conflict-devB-2\tB\n"));
	assert_int_equal(rep->kept_both, 2);
	assert_int_equal(rep->merged_pim, 0);
	list_free(&l);
	sb_merge_report_free(rep);
}

/*
 * Same text on both sides (separately encrypted): no copy; a file
 * written again with its old text is no change.
 */
static void test_same_text(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep;
	struct list l;
	int swap;

	put(&f->a, "x/f", "base\n");
	put(&f->a, "x/g", "base g\n");
	fork_b(f);
	put(&f->a, "x/f", "same\n");
	put(&f->a, "y/new", "added on both\n");
	put(&f->a, "x/g", "base g\n");
	commit(f, &f->a, f->ca);
	put(&f->b, "x/f", "same\n");
	put(&f->b, "y/new", "added on both\n");
	put(&f->b, "x/g", "changed g\n");
	commit(f, &f->b, f->cb);
	for (swap = 0; swap < 2; swap++) {
		merge(f, &rep, &l, swap);
		assert_int_equal(rep->kept_both, 0);
		assert_int_equal(rep->nconflicts, 0);
		assert_true(has(&l, "x/f\tsame\n"));
		assert_true(has(&l, "x/g\tchanged g\n"));
		assert_true(has(&l, "y/new\tadded on both\n"));
		assert_int_equal(l.n, 5);
		list_free(&l);
		sb_merge_report_free(rep);
	}
}

/* Long names (sidecars) added, removed and kept both. */
static void test_long_names(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep;
	char n1[240], n2[240], p[600];
	struct list l;

	memset(n1, 'a', sizeof(n1) - 1);
	n1[sizeof(n1) - 1] = '\0';
	memset(n2, 'b', sizeof(n2) - 1);
	n2[sizeof(n2) - 1] = '\0';
	snprintf(p, sizeof(p), "%s/x", n1);
	put(&f->a, p, "in a long directory\n");
	snprintf(p, sizeof(p), "d/%s", n2);
	put(&f->a, p, "long base\n");
	fork_b(f);
	snprintf(p, sizeof(p), "d/%s", n2);
	put(&f->a, p, "long A\n");
	snprintf(p, sizeof(p), "%s/y", n2);
	put(&f->a, p, "new long dir on A\n");
	commit(f, &f->a, f->ca);
	snprintf(p, sizeof(p), "d/%s", n2);
	put(&f->b, p, "long B\n");
	snprintf(p, sizeof(p), "%s/x", n1);
	rm(&f->b, p);
	rmdir_p(&f->b, n1);
	commit(f, &f->b, f->cb);
	merge(f, &rep, &l, 0);
	snprintf(p, sizeof(p), "d/%s\tlong A\n", n2);
	assert_true(has(&l, p));
	snprintf(p, sizeof(p), "%s/y\tnew long dir on A\n", n2);
	assert_true(has(&l, p));
	assert_int_equal(count(&l, n1), 0);
	/* the copy's name is cut to fit */
	assert_int_equal(count(&l, ".sealbox-conflict-devB"), 1);
	assert_int_equal(rep->kept_both, 1);
	list_free(&l);
	sb_merge_report_free(rep);
	symmetric(f);
}

/* Deleted on one side, changed on the other: the change stays. */
static void test_delete_vs_change(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep;
	struct list l;
	int swap;

	put(&f->a, "x/f", "base\n");
	put(&f->a, "x/g", "base g\n");
	fork_b(f);
	rm(&f->a, "x/f");
	put(&f->a, "x/g", "A's g\n");
	commit(f, &f->a, f->ca);
	put(&f->b, "x/f", "B's f\n");
	rm(&f->b, "x/g");
	commit(f, &f->b, f->cb);
	for (swap = 0; swap < 2; swap++) {
		merge(f, &rep, &l, swap);
		assert_true(has(&l, "x/f\tB's f\n"));
		assert_true(has(&l, "x/g\tA's g\n"));
		assert_int_equal(l.n, 3);
		assert_int_equal(rep->nconflicts, 0);
		list_free(&l);
		sb_merge_report_free(rep);
	}
}

/* A file on one side where the other made a directory: both kept. */
static void test_file_dir_clash(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep;
	struct list l;

	put(&f->a, "x/keep", "base\n");
	fork_b(f);
	put(&f->a, "x/c", "a file\n");
	commit(f, &f->a, f->ca);
	put(&f->b, "x/c/d", "in a directory\n");
	commit(f, &f->b, f->cb);
	merge(f, &rep, &l, 0);
	assert_true(has(&l, "x/c/"));
	assert_true(has(&l, "x/c/d\tin a directory\n"));
	assert_true(has(&l, "x/c.sealbox-conflict-devA\ta file\n"));
	assert_int_equal(rep->kept_both, 1);
	list_free(&l);
	sb_merge_report_free(rep);
	merge(f, &rep, &l, 1);
	assert_true(has(&l, "x/c/d\tin a directory\n"));
	assert_true(has(&l, "x/c.sealbox-conflict-devA\ta file\n"));
	list_free(&l);
	sb_merge_report_free(rep);
}

static void policy(struct dev *d, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.sealbox", d->root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.sealbox/policy", d->root);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void test_policy(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep = NULL;
	char tree[SB_OID_HEX], merged[SB_OID_HEX];
	char cmd[PATH_MAX], line[128];
	FILE *p;

	policy(&f->a, "v1\n");
	put(&f->a, "x/f", "base\n");
	fork_b(f);
	/* changed on B only: B's is taken */
	policy(&f->b, "v2\n");
	commit(f, &f->b, f->cb);
	put(&f->a, "x/g", "A\n");
	commit(f, &f->a, f->ca);
	assert_int_equal(sb_merge_trees(&rep, tree, f->a.r, f->a.st, f->base,
					f->ca, f->cb, "devA", "devB"), 0);
	sb_merge_report_free(rep);
	assert_int_equal(sb_repo_commit_tree(f->a.r, merged, tree, NULL, 0,
					     "m", "dev", "dev@sealbox", sign_cb,
					     f->key), 0);
	snprintf(cmd, sizeof(cmd), "git -c safe.directory='*' -C '%s' show "
		 "%s:.sealbox/policy", f->a.root, merged);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	assert_string_equal(line, "v2\n");
	/* changed on both: refused */
	policy(&f->a, "v3\n");
	commit(f, &f->a, f->ca);
	rep = NULL;
	assert_int_equal(sb_merge_trees(&rep, tree, f->a.r, f->a.st, f->base,
					f->ca, f->cb, "devA", "devB"),
			 SB_EPOLICY);
	assert_null(rep);
}

/* No merge base: everything was added on both sides. */
static void test_no_base(void **state)
{
	struct fix *f = *state;
	struct sb_merge_report *rep;
	char tree[SB_OID_HEX];
	struct list l;

	maildir(&f->a, "mail");
	put(&f->a, "mail/new/a.host", "A\n");
	put(&f->a, "contacts/c.vcf", VCARD("UID:c\r\nFN:C\r\n"));
	commit(f, &f->a, f->ca);
	maildir(&f->b, "mail");
	put(&f->b, "mail/new/b.host", "B\n");
	put(&f->b, "contacts/c.vcf", VCARD("UID:c\r\nEMAIL:c@x\r\n"));
	commit(f, &f->b, f->cb);
	assert_int_equal(sb_merge_trees(&rep, tree, f->a.r, f->a.st, NULL,
					f->ca, f->cb, "devA", "devB"), 0);
	read_tree(f, &l, tree);
	assert_true(has(&l, "mail/new/a.host\tA\n"));
	assert_true(has(&l, "mail/new/b.host\tB\n"));
	assert_true(has(&l, "mail/tmp/"));
	assert_non_null(strstr(starting(&l, "contacts/c.vcf\t"), "EMAIL:c@x"));
	assert_non_null(strstr(starting(&l, "contacts/c.vcf\t"), "FN:C"));
	assert_int_equal(rep->merged_pim, 1);
	list_free(&l);
	sb_merge_report_free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_both, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_same_text, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete_vs_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_file_dir_clash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_base, setup, teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#ifndef SB_ATTACK_FIXTURE_H
#define SB_ATTACK_FIXTURE_H

/*
 * The fixture shared by the t-attack-* tests: device A (repository and
 * store a/) commits a sound state c1 signed by its authorized key; device
 * B (store b/ under top/, with its stat cache) is where the hand-built,
 * signed trees are checked out or merged. Trees are written with the git
 * command line (`git hash-object -t tree --literally`, for names git
 * mktree refuses). Included by one test file each (static functions).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/names.h"
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "fs/store.h"
#include "sync/checkout.h"
#include "sync/repo.h"
#include "sync/statcache.h"
#include "tests/unit/util.h"

struct fix {
	char top[64], a[96], b[96], cache[128];
	struct sb_repo *r;
	struct sb_store *sa, *sb;
	struct sb_statcache *sc;
	struct sb_names *names;
	struct sb_signkey *key;
	char c1[SB_OID_HEX], t1[SB_OID_HEX];
	char *snap;
};

/* Shell helpers: a command's whole output (malloc'd) and its status. */
static char *run(size_t *len, const char *cmd)
{
	char *buf = malloc(1 << 16), *p;
	size_t n = 0, cap = 1 << 16, got;
	FILE *fp = popen(cmd, "r");

	assert_non_null(fp);
	while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
		n += got;
		if (cap - n < 2) {
			cap *= 2;
			assert_non_null(p = realloc(buf, cap));
			buf = p;
		}
	}
	assert_int_equal(pclose(fp), 0);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void hash_file(struct fix *f, char out[SB_OID_HEX], const char *type,
		      const void *buf, size_t len)
{
	char path[160], cmd[512], *o;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/obj", f->top);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "git -C '%s' hash-object -t %s --literally "
		 "-w '%s'", f->a, type, path);
	o = run(NULL, cmd);
	assert_true(strlen(o) >= 40);
	memcpy(out, o, 40);
	out[40] = '\0';
	free(o);
}

/* A content file of the vault holding text, as a blob. */
static void content_blob(struct fix *f, char out[SB_OID_HEX], const char *text)
{
	struct sb_meta m = { 1700000000, 0 };
	uint8_t *buf = NULL;
	size_t len;

	assert_int_equal(sb_store_seal(f->sa, &buf, &len, &m, text,
				       strlen(text)), 0);
	hash_file(f, out, "blob", buf, len);
	free(buf);
}

static inline void raw_blob(struct fix *f, char out[SB_OID_HEX],
			    const char *text)
{
	hash_file(f, out, "blob", text, strlen(text));
}

/* Tree entries. */
struct ent {
	char mode[8];
	char name[16384];
	char oid[SB_OID_HEX];
};

static size_t ls_tree(struct fix *f, struct ent **out, const char *tree)
{
	char cmd[256], *buf, *p, *end;
	struct ent *e = NULL;
	size_t n = 0, len;

	*out = NULL;
	if (!*tree)
		return 0;
	snprintf(cmd, sizeof(cmd), "git -C '%s' ls-tree -z %s", f->a, tree);
	buf = run(&len, cmd);
	for (p = buf, end = buf + len; p < end; p += strlen(p) + 1) {
		char type[8];

		e = realloc(e, (n + 1) * sizeof(*e));
		assert_int_equal(sscanf(p, "%7s %7s %40s", e[n].mode, type,
					e[n].oid), 3);
		snprintf(e[n].name, sizeof(e[n].name), "%s",
			 strchr(p, '\t') + 1);
		n++;
	}
	free(buf);
	*out = e;
	return n;
}

static int is_tree(const struct ent *e)
{
	return !strcmp(e->mode, "40000") || !strcmp(e->mode, "040000");
}

/* git's order: a tree sorts as its name with "/" appended. */
static int cmp_ent(const void *x, const void *y)
{
	const struct ent *a = x, *b = y;
	size_t la = strlen(a->name), lb = strlen(b->name);
	size_t n = la < lb ? la : lb;
	int c = memcmp(a->name, b->name, n);
	int ca, cb;

	if (c)
		return c;
	ca = la > n ? (unsigned char)a->name[n] : is_tree(a) ? '/' : 0;
	cb = lb > n ? (unsigned char)b->name[n] : is_tree(b) ? '/' : 0;
	return ca - cb;
}

static void write_tree(struct fix *f, char out[SB_OID_HEX], struct ent *e,
		       size_t n)
{
	uint8_t *buf = malloc(n * (sizeof(*e) + 32) + 1), *p = buf;
	size_t i, k;

	qsort(e, n, sizeof(*e), cmp_ent);
	for (i = 0; i < n; i++) {
		p += snprintf((char *)p, sizeof(*e) + 32, "%s %s", e[i].mode,
			      e[i].name) + 1;
		for (k = 0; k < 20; k++) {
			unsigned v;

			sscanf(e[i].oid + 2 * k, "%2x", &v);
			*p++ = (uint8_t)v;
		}
	}
	hash_file(f, out, "tree", buf, (size_t)(p - buf));
	free(buf);
}

/*
 * Tree `tree` with an entry at path (components separated by "|", so
 * that a name may hold "/"), trees on the way made as needed. dup: add
 * the entry beside one of the same name instead of replacing it.
 */
static void put_entry(struct fix *f, char out[SB_OID_HEX], const char *tree,
		      const char *path, const char *mode, const char *oid,
		      int dup)
{
	const char *bar = strchr(path, '|');
	size_t i, n, nl = bar ? (size_t)(bar - path) : strlen(path);
	struct ent *e;
	char sub[SB_OID_HEX] = "";

	n = ls_tree(f, &e, tree);
	e = realloc(e, (n + 1) * sizeof(*e));
	for (i = 0; i < n; i++)
		if (strlen(e[i].name) == nl && !memcmp(e[i].name, path, nl) &&
		    (bar ? is_tree(&e[i]) : !dup))
			break;
	if (i == n) {
		memset(&e[n], 0, sizeof(e[n]));
		memcpy(e[n].name, path, nl);
		n++;
	} else if (bar) {
		snprintf(sub, sizeof(sub), "%s", e[i].oid);
	}
	if (bar) {
		put_entry(f, e[i].oid, sub, bar + 1, mode, oid, dup);
		snprintf(e[i].mode, sizeof(e[i].mode), "40000");
	} else {
		snprintf(e[i].mode, sizeof(e[i].mode), "%s", mode);
		snprintf(e[i].oid, sizeof(e[i].oid), "%s", oid);
	}
	write_tree(f, out, e, n);
	free(e);
}

/* The tree path of a plaintext store path, with "|" between components. */
static void tpath_of(struct fix *f, char *out, const char *plain)
{
	char b[PATH_MAX], *p;

	assert_int_equal(sb_store_backing_path(f->sa, b, sizeof(b), plain), 0);
	sb_repo_tree_path(out, b);
	for (p = out; *p; p++)
		if (*p == '/')
			*p = '|';
}

static void commit_tree(struct fix *f, char out[SB_OID_HEX], const char *tree)
{
	const char *parents[1] = { f->c1 };

	assert_int_equal(sb_repo_commit_tree(f->r, out, tree, parents, 1,
					     "evil", "laptop", "laptop@sealbox",
					     sign_cb, f->key), 0);
}

/* Everything under top/ (b/ and around it), one line per entry. */
static char *snapshot(struct fix *f)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cd '%s' && find . -path ./a -prune -o "
		 "-path ./obj -prune -o -printf '%%P %%y %%s %%l\\n' | sort",
		 f->top);
	return run(NULL, cmd);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sb_secrets *s = fixed_secrets();
	struct sb_checkout_result res;
	uint8_t seed[SB_ED25519_LEN];
	struct timespec ts = { 1700000000, 0 };
	FILE *fp;
	char path[160];

	snprintf(f->top, sizeof(f->top), "/tmp/t-attack.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	snprintf(f->a, sizeof(f->a), "%s/a", f->top);
	snprintf(f->b, sizeof(f->b), "%s/b", f->top);
	snprintf(f->cache, sizeof(f->cache), "%s/statcache-b", f->top);
	assert_int_equal(mkdir(f->a, 0700), 0);
	assert_int_equal(mkdir(f->b, 0700), 0);
	assert_int_equal(sb_repo_init(&f->r, f->a), 0);
	assert_int_equal(sb_store_open(&f->sa, f->a, s), 0);
	assert_int_equal(sb_store_open(&f->sb, f->b, s), 0);
	assert_int_equal(sb_names_new(&f->names, s), 0);
	sb_secrets_free(s);
	assert_int_equal(sb_statcache_open(&f->sc, f->cache), 0);
	memset(seed, 0x5a, sizeof(seed));
	assert_int_equal(sb_signkey_from_seed(&f->key, seed), 0);

	assert_int_equal(sb_store_mkdir(f->sa, "mail/cur", 0700), 0);
	assert_int_equal(sb_store_write_file(f->sa, "mail/cur/1.host:2,S",
					     "hello\n", 6, 0600, &ts), 0);
	snprintf(path, sizeof(path), "%s/.sealbox", f->a);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/.sealbox/policy", f->a);
	assert_non_null(fp = fopen(path, "w"));
	fputs("policy\n", fp);
	fclose(fp);
	assert_int_equal(sb_repo_commit_all(f->r, f->c1, "c1", "laptop",
					    "laptop@sealbox", sign_cb, f->key),
			 0);
	assert_int_equal(sb_repo_commit_tree_id(f->r, f->c1, f->t1), 0);
	assert_int_equal(sb_checkout(&res, f->r, f->sb, f->sc, NULL, f->c1,
				     NULL, NULL), 0);
	f->snap = snapshot(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	sb_statcache_free(f->sc);
	sb_store_free(f->sb);
	sb_store_free(f->sa);
	sb_names_free(f->names);
	sb_signkey_free(f->key);
	sb_repo_free(f->r);
	free(f->snap);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

#endif

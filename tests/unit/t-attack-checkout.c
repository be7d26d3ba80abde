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

/*
 * Trees that passed verification (signed by an authorized device) but
 * that a stolen or malicious device built by hand: sb_checkout() must
 * refuse them with one line naming the path, before the store changes,
 * and never write outside the store or into its local state.
 *
 * Device A (repository and store a/) commits a sound state c1; device B
 * (store b/ under top/) checks it out. Each test then builds a tree with
 * `git hash-object -t tree --literally` (names git mktree refuses),
 * commits it signed by A's authorized key and checks B out to it.
 */

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

static struct sb_secrets *fixed_secrets(void)
{
	uint8_t buf[37 + 32];
	struct sb_secrets *s = NULL;

	buf[0] = 1;
	buf[1] = buf[2] = buf[3] = 0;
	buf[4] = 1;
	memset(buf + 5, 0x11, 32);
	memset(buf + 37, 0x22, 32);
	assert_int_equal(sb_secrets_parse(&s, buf, sizeof(buf)), 0);
	return s;
}

static int sign_cb(char **armor, const void *buf, size_t len, void *ctx)
{
	return sb_sshsig_sign(armor, ctx, "git", buf, len);
}

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

static void raw_blob(struct fix *f, char out[SB_OID_HEX], const char *text)
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

/*
 * Checks B out from c1 to a commit of tree: refused with a message that
 * holds want, and nothing changed under top/.
 */
static void refused(struct fix *f, const char *tree, const char *want)
{
	struct sb_checkout_result res;
	char evil[SB_OID_HEX], *now;
	int rc;

	commit_tree(f, evil, tree);
	rc = sb_checkout(&res, f->r, f->sb, f->sc, f->c1, evil, NULL, NULL);
	now = snapshot(f);
	if (strcmp(now, f->snap))
		fail_msg("the store changed:\n%s\nwas:\n%s", now, f->snap);
	free(now);
	if (rc == 0)
		fail_msg("checkout of %.12s succeeded", evil);
	if (!strstr(sb_err_msg(rc), want))
		fail_msg("message \"%s\" lacks \"%s\"", sb_err_msg(rc), want);
	if (strchr(sb_err_msg(rc), '\n'))
		fail_msg("message of more than one line");
	assert_int_equal(rc, SB_EFORMAT);
}

/* A blob at a tree path (see put_entry) on top of c1's tree. */
static void evil_at(struct fix *f, const char *path, const char *mode,
		    const char *blob, const char *want)
{
	char tree[SB_OID_HEX];

	put_entry(f, tree, f->t1, path, mode, blob, 0);
	refused(f, tree, want);
}

static void test_dotdot(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "escaped\n");
	/* store path "../escaped": top/escaped */
	evil_at(f, "..|escaped", "100644", blob, "..");
}

static void test_dotdot_in_name(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "escaped\n");
	evil_at(f, "x/../../escaped", "100644", blob, "../escaped");
}

static void test_absolute_name(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[200];

	raw_blob(f, blob, "escaped\n");
	snprintf(path, sizeof(path), "%s/escaped-abs", f->top);
	evil_at(f, path, "100644", blob, "escaped-abs");
}

static void test_git_dir(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "not a key\n");
	evil_at(f, ".|.git|sealbox|device.key", "100644", blob, ".git");
}

static void test_git_dir_plain(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "not a key\n");
	evil_at(f, ".git|sealbox|device.key", "100644", blob, ".git");
}

static void test_symlink_target(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX];

	raw_blob(f, blob, "/etc");
	tpath_of(f, path, "mail/evil");
	evil_at(f, path, "120000", blob, "symlink");
}

static void test_symlink_relative(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX];

	raw_blob(f, blob, "../../../.git/sealbox");
	tpath_of(f, path, "evil");
	evil_at(f, path, "120000", blob, "symlink");
}

static void test_gitlink(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX];

	tpath_of(f, path, "mail/sub");
	evil_at(f, path, "160000", f->c1, "160000");
}

static void test_fanout_mismatch(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], *p;

	content_blob(f, blob, "misplaced\n");
	tpath_of(f, path, "misplaced");
	/* "E[0]|E[1]|E" -> "E[1]|E[0]|E" */
	p = path;
	p[0] ^= p[2];
	p[2] ^= p[0];
	p[0] ^= p[2];
	if (p[0] == p[2])
		skip();
	evil_at(f, path, "100644", blob, "fan-out");
}

static void test_unfanned(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX];

	content_blob(f, blob, "at the root\n");
	tpath_of(f, path, "unfanned");
	evil_at(f, path + 4, "100644", blob, "fan-out");
}

static void test_marker_tree(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], p2[PATH_MAX + 32];

	content_blob(f, blob, "");
	tpath_of(f, path, "mail/cur");
	snprintf(p2, sizeof(p2), "%s|.sbdir|x", path);
	evil_at(f, p2, "100644", blob, ".sbdir");
}

static void test_sbtmp(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], p2[PATH_MAX + 32];

	content_blob(f, blob, "");
	tpath_of(f, path, "mail/cur");
	snprintf(p2, sizeof(p2), "%s|.sbtmp.0123456789abcdef|x", path);
	evil_at(f, p2, "100644", blob, ".sbtmp.");
}

static void test_sbtmp_file(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], p2[PATH_MAX + 32];

	content_blob(f, blob, "");
	tpath_of(f, path, "mail/cur");
	snprintf(p2, sizeof(p2), "%s|.sbtmp.0123456789abcdef", path);
	evil_at(f, p2, "100644", blob, ".sbtmp.");
}

static void test_marker_at_root(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	content_blob(f, blob, "");
	evil_at(f, ".sbdir", "100644", blob, ".sbdir");
}

static void test_duplicate(void **state)
{
	struct fix *f = *state;
	char b1[SB_OID_HEX], b2[SB_OID_HEX], path[PATH_MAX];
	char t[SB_OID_HEX], t2[SB_OID_HEX];

	content_blob(f, b1, "one\n");
	content_blob(f, b2, "two\n");
	tpath_of(f, path, "mail/cur/dup");
	put_entry(f, t, f->t1, path, "100644", b1, 0);
	put_entry(f, t2, t, path, "100644", b2, 1);
	refused(f, t2, "twice");
}

static void test_file_and_dir(void **state)
{
	struct fix *f = *state;
	char b1[SB_OID_HEX], link[SB_OID_HEX], path[PATH_MAX];
	char enc[SB_SYMLINK_ENC_MAX], p2[PATH_MAX + 64];
	char t[SB_OID_HEX], t2[SB_OID_HEX];

	/* "sub" a symlink and a directory at once */
	assert_int_equal(sb_names_encrypt_target(f->names, enc, "cur", 3), 0);
	raw_blob(f, link, enc);
	content_blob(f, b1, "inside\n");
	tpath_of(f, path, "mail/sub");
	put_entry(f, t, f->t1, path, "120000", link, 0);
	snprintf(p2, sizeof(p2), "%s|.sbdir", path);
	put_entry(f, t2, t, p2, "100644", b1, 1);
	refused(f, t2, "twice");
}

static void test_long_path(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], *name = malloc(14000);

	raw_blob(f, blob, "long\n");
	memset(name, 'A', 13999);
	name[13999] = '\0';
	evil_at(f, name, "100644", blob, "too long");
	free(name);
}

/* A nesting deeper than any store path can be. */
static void test_deep(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], *path = malloc(3 * 3000 + 8);
	size_t i;

	raw_blob(f, blob, "deep\n");
	for (i = 0; i < 3000; i++)
		memcpy(path + 3 * i, ".d|", 3);
	memcpy(path + 3 * i, ".x", 3);
	evil_at(f, path, "100644", blob, "too long");
	free(path);
}

/*
 * A symlink whose target is a sibling's backing name (base64url, but not
 * an encrypted target): through it, "mail/sub/x" would be "mail/cur/x".
 */
static void test_symlink_sibling(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX], path[PATH_MAX], b[PATH_MAX];

	assert_int_equal(sb_store_backing_path(f->sa, b, sizeof(b), "mail/cur"),
			 0);
	raw_blob(f, blob, strrchr(b, '/') + 1);
	tpath_of(f, path, "mail/sub");
	evil_at(f, path, "120000", blob, "symlink");
}

/*
 * A symlink in one commit, a directory of the same name in the next:
 * the symlink goes, the directory is made, nothing is written through
 * the symlink.
 */
static void test_symlink_then_dir(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;
	char link[SB_OID_HEX], blob[SB_OID_HEX], mark[SB_OID_HEX];
	char enc[SB_SYMLINK_ENC_MAX], path[PATH_MAX], p2[PATH_MAX + 16];
	char t2[SB_OID_HEX], t3[SB_OID_HEX], t3b[SB_OID_HEX];
	char c2[SB_OID_HEX], c3[SB_OID_HEX];
	const char *parents[1];
	uint8_t *buf = NULL;
	size_t len;
	struct stat sb;

	assert_int_equal(sb_names_encrypt_target(f->names, enc, "cur", 3), 0);
	raw_blob(f, link, enc);
	tpath_of(f, path, "mail/sub");
	put_entry(f, t2, f->t1, path, "120000", link, 0);
	commit_tree(f, c2, t2);
	assert_int_equal(sb_checkout(&res, f->r, f->sb, f->sc, f->c1, c2, NULL,
				     NULL), 0);
	assert_int_equal(sb_store_stat(f->sb, "mail/sub", &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));

	content_blob(f, mark, "");
	content_blob(f, blob, "inside\n");
	snprintf(p2, sizeof(p2), "%s|.sbdir", path);
	put_entry(f, t3, f->t1, p2, "100644", mark, 0);
	tpath_of(f, path, "mail/sub/x");
	put_entry(f, t3b, t3, path, "100644", blob, 0);
	parents[0] = c2;
	assert_int_equal(sb_repo_commit_tree(f->r, c3, t3b, parents, 1, "c3",
					     "laptop", "laptop@sealbox",
					     sign_cb, f->key), 0);
	assert_int_equal(sb_checkout(&res, f->r, f->sb, f->sc, c2, c3, NULL,
				     NULL), 0);
	assert_int_equal(sb_store_stat(f->sb, "mail/sub", &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb_store_read_file(f->sb, "mail/sub/x", &buf, &len,
					    NULL), 0);
	assert_string_equal((char *)buf, "inside\n");
	free(buf);
	assert_int_equal(sb_store_stat(f->sb, "mail/cur/x", &sb), -ENOENT);
}

/* .sealbox/ holds files only. */
static void test_symlink_meta(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "/etc/passwd");
	evil_at(f, ".sealbox|policy", "120000", blob, "symlink");
}

/* A name that would break the error message's line. */
static void test_newline_name(void **state)
{
	struct fix *f = *state;
	char blob[SB_OID_HEX];

	raw_blob(f, blob, "x\n");
	evil_at(f, "evil\nline", "100644", blob, "evil?line");
}

/* A blob the fetch did not bring (a server that withholds it). */
static void test_missing_blob(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX];

	tpath_of(f, path, "newdir/x");
	evil_at(f, path, "100644", "0123456789012345678901234567890123456789",
		"missing");
}

/* What a sound device does is still checked out. */
static void test_sound(void **state)
{
	struct fix *f = *state;
	struct sb_checkout_result res;
	char blob[SB_OID_HEX], link[SB_OID_HEX], path[PATH_MAX];
	char enc[SB_SYMLINK_ENC_MAX], t[SB_OID_HEX], t2[SB_OID_HEX];
	char c[SB_OID_HEX];
	uint8_t *buf = NULL;
	size_t len;

	content_blob(f, blob, "sound\n");
	tpath_of(f, path, "mail/cur/2.host:2,");
	put_entry(f, t, f->t1, path, "100644", blob, 0);
	assert_int_equal(sb_names_encrypt_target(f->names, enc, "cur", 3), 0);
	raw_blob(f, link, enc);
	tpath_of(f, path, "mail/link");
	put_entry(f, t2, t, path, "120000", link, 0);
	commit_tree(f, c, t2);
	assert_int_equal(sb_checkout(&res, f->r, f->sb, f->sc, f->c1, c, NULL,
				     NULL), 0);
	assert_int_equal(res.written, 2);
	assert_int_equal(sb_store_read_file(f->sb, "mail/cur/2.host:2,", &buf,
					    &len, NULL), 0);
	assert_string_equal((char *)buf, "sound\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_sound),
		T(test_dotdot),
		T(test_dotdot_in_name),
		T(test_absolute_name),
		T(test_git_dir),
		T(test_git_dir_plain),
		T(test_symlink_target),
		T(test_symlink_relative),
		T(test_gitlink),
		T(test_fanout_mismatch),
		T(test_unfanned),
		T(test_marker_tree),
		T(test_sbtmp),
		T(test_sbtmp_file),
		T(test_marker_at_root),
		T(test_duplicate),
		T(test_file_and_dir),
		T(test_long_path),
		T(test_deep),
		T(test_missing_blob),
		T(test_symlink_sibling),
		T(test_symlink_then_dir),
		T(test_symlink_meta),
		T(test_newline_name),
#undef T
	};

	sb_crypto_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

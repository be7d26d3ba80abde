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
#include "crypto/sign.h"
#include "sync/commitsig.h"
#include "sync/policy.h"
#include "sync/repo.h"
#include "sync/verify.h"
#include "tests/unit/util.h"

/*
 * sb_verify_range as an attacker meets it: small vaults built commit by
 * commit (trees from the work tree through sb_repo_commit_all, commits
 * with chosen parents through sb_repo_commit_tree, malformed ones written
 * with `git hash-object --literally`), each history checked for the
 * verdict, the refused commit and the exact message.
 *
 * Cast: "laptop" admin, "phone" member, "tablet" a device enrolled later,
 * "mallory" a key no policy names, "rec" the vault's recovery key, "rec2"
 * another vault's recovery key.
 */

#define NOT_SIGNED	"it is not signed"
#define BAD_SIG		"its signature does not verify"
#define BAD_HEADERS	"its headers are malformed"
#define UNAUTHORIZED	"it is signed by a key the vault policy does not " \
			"authorize"
#define CHANGES_META	"it changes .sealbox/ without an admin or " \
			"recovery-key signature"
#define DROPS_CHANGE	"its merge drops a policy change of one parent " \
			"without an admin signature"
#define ROOT_NOT_ADMIN	"the first commit is not signed by an admin device " \
			"of its own policy"
#define ROOT_RECOVERY	"the vault's first commit names another recovery key"
#define ROOT_NOT_REC	"the vault's first commit is not signed by this " \
			"recovery key"
#define BAD_POLICY	"its policy is malformed"
#define ROOT_BAD_POLICY	"its policy is missing or malformed"
#define STALE		"the remote history does not contain the last " \
			"verified commit (rolled back or rewritten); refused"

enum { REC, REC2, LAPTOP, PHONE, TABLET, MALLORY, NKEYS };

static const char *const key_names[NKEYS] = {
	"recovery", "recovery2", "laptop", "phone", "tablet", "mallory"
};

struct fix {
	char root[64];
	struct sb_repo *r;
	struct sb_signkey *k[NKEYS];
	uint8_t box[NKEYS][32];
	char r0[SB_OID_HEX];	/* root: policy P0, signed by laptop */
	char t0[SB_OID_HEX];	/* its tree */
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	uint8_t seed[SB_ED25519_LEN];
	int i;

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/t-verify.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(sb_repo_init(&f->r, f->root), 0);
	for (i = 0; i < NKEYS; i++) {
		memset(seed, 0x30 + i, sizeof(seed));
		assert_int_equal(sb_signkey_from_seed(&f->k[i], seed), 0);
		memset(f->box[i], 0x70 + i, sizeof(f->box[i]));
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];
	int i;

	for (i = 0; i < NKEYS; i++)
		sb_signkey_free(f->k[i]);
	sb_repo_free(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

/* Work tree: files, policies. */

static void write_file(struct fix *f, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.sealbox", f->root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.sealbox/keys", f->root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void remove_file(struct fix *f, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(unlink(path), 0);
}

static char *read_file(struct fix *f, const char *rel)
{
	char path[PATH_MAX], *buf;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((n = ftell(fp)) >= 0);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int key_index(const char *name)
{
	int i;

	for (i = 0; i < NKEYS; i++)
		if (!strcmp(key_names[i], name))
			return i;
	fail_msg("no key %s", name);
	return -1;
}

/*
 * A policy with recovery key rec, epoch, then (name, admin) pairs up to a
 * NULL name; each device's keys are the fixture's key of that name.
 */
static struct sb_policy *policy_v(struct fix *f, int rec, uint32_t epoch,
				  va_list ap)
{
	struct sb_policy *p;
	const char *name;
	int admin, i;

	assert_int_equal(sb_policy_new(&p, f->k[rec]->pub, f->box[rec]), 0);
	p->epoch = epoch;
	while ((name = va_arg(ap, const char *))) {
		admin = va_arg(ap, int);
		i = key_index(name);
		assert_int_equal(sb_policy_add_device(p, name, admin,
						      f->k[i]->pub,
						      f->box[i]), 0);
	}
	return p;
}

/* Writes .sealbox/policy and the allowed_signers it derives, + extra. */
static void use_policy_extra(struct fix *f, const char *extra, int rec,
			     uint32_t epoch, ...)
{
	struct sb_policy *p;
	char *text, *as, *all;
	size_t n;
	va_list ap;

	va_start(ap, epoch);
	p = policy_v(f, rec, epoch, ap);
	va_end(ap);
	assert_int_equal(sb_policy_format(&text, p), 0);
	assert_int_equal(sb_policy_allowed_signers(&as, p), 0);
	n = strlen(as) + strlen(extra) + 1;
	assert_non_null(all = malloc(n));
	snprintf(all, n, "%s%s", as, extra);
	write_file(f, ".sealbox/policy", text);
	write_file(f, ".sealbox/allowed_signers", all);
	free(text);
	free(as);
	free(all);
	sb_policy_free(p);
}

#define use_policy(f, rec, epoch, ...) \
	use_policy_extra(f, "", rec, epoch, __VA_ARGS__)

/* P0: the vault as first made. */
static void use_p0(struct fix *f)
{
	use_policy(f, REC, 1, "laptop", 1, "phone", 0, NULL);
}

/* P1: P0 with the tablet enrolled. */
static void use_p1(struct fix *f)
{
	use_policy(f, REC, 1, "laptop", 1, "phone", 0, "tablet", 0, NULL);
}

/* Prev: P0 with the phone revoked (new epoch). */
static void use_prev(struct fix *f)
{
	use_policy(f, REC, 2, "laptop", 1, NULL);
}

/*
 * The tree of the work tree as it is now (through a scratch commit on
 * refs/heads/main, which no test verifies).
 */
static void snap(struct fix *f, char tree[SB_OID_HEX])
{
	char oid[SB_OID_HEX];

	assert_int_equal(sb_repo_commit_all(f->r, oid, "scratch", "scratch",
					    "scratch@sealbox", sign_cb,
					    f->k[LAPTOP]), 0);
	assert_int_equal(sb_repo_commit_tree_id(f->r, oid, tree), 0);
}

static void commit_with(struct fix *f, char oid[SB_OID_HEX],
			const char *tree, const char *p1, const char *p2,
			const char *msg, sb_repo_sign_fn sign, void *ctx)
{
	const char *parents[2] = { p1, p2 };
	size_t n = p2 ? 2 : p1 ? 1 : 0;

	assert_int_equal(sb_repo_commit_tree(f->r, oid, tree, parents, n, msg,
					     "dev", "dev@sealbox", sign, ctx),
			 0);
}

/* A commit of tree with up to two parents, signed by key k. */
static void commit(struct fix *f, char oid[SB_OID_HEX], const char *tree,
		   const char *p1, const char *p2, const char *msg, int k)
{
	commit_with(f, oid, tree, p1, p2, msg, sign_cb, f->k[k]);
}

/* The usual start: R0 = P0 + "mail1", signed by the recovery key, as
 * `sealbox init` signs it. */
static void make_root(struct fix *f)
{
	use_p0(f);
	write_file(f, "mail1", "one\n");
	snap(f, f->t0);
	commit(f, f->r0, f->t0, NULL, NULL, "root", REC);
}

/* Raw commits through the git command line. */

static void git_write(struct fix *f, char oid[SB_OID_HEX], const char *raw,
		      size_t len)
{
	char path[PATH_MAX], cmd[2 * PATH_MAX + 128], line[64];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.git/raw-commit", f->root);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(raw, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd), "git -c safe.directory='*' -C '%s' "
		 "hash-object -t commit -w --literally '%s'", f->root, path);
	assert_non_null(fp = popen(cmd, "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_int_equal(pclose(fp), 0);
	assert_int_equal(strlen(line), 41);
	memcpy(oid, line, 40);
	oid[40] = '\0';
}

static void raw_of(struct fix *f, const char *oid, char **raw, size_t *len)
{
	assert_int_equal(sb_repo_commit_raw(f->r, oid, raw, len), 0);
}

/* "name <armor>" as a header: continuation lines start with a space. */
static void sig_header(char *out, size_t size, const char *name,
		       const char *armor)
{
	size_t n = (size_t)snprintf(out, size, "%s ", name);
	const char *a;

	for (a = armor; *a && n + 3 < size; a++) {
		out[n++] = *a;
		if (*a == '\n' && a[1])
			out[n++] = ' ';
	}
	assert_true(n + 1 < size);
	out[n] = '\0';
}

/* raw with text inserted at the end of its header block. */
static void insert_header(struct fix *f, char oid[SB_OID_HEX],
			  const char *raw, const char *text)
{
	const char *end = strstr(raw, "\n\n");
	char buf[8192];
	int n;

	assert_non_null(end);
	n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - raw + 1), raw,
		     text, end + 1);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	git_write(f, oid, buf, (size_t)n);
}

/*
 * payload signed by key k, its gpgsig header put at offset at (git puts
 * it after the committer line; libgit2 cannot parse it anywhere else).
 */
static void sign_at(struct fix *f, char oid[SB_OID_HEX], const char *payload,
		    size_t at, int k)
{
	char hdr[4096], buf[8192];
	char *armor;
	int n;

	assert_int_equal(sb_sshsig_sign(&armor, f->k[k], "git", payload,
					strlen(payload)), 0);
	sig_header(hdr, sizeof(hdr), "gpgsig", armor);
	n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)at, payload, hdr,
		     payload + at);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	git_write(f, oid, buf, (size_t)n);
	free(armor);
}

/* Verification and its verdicts. */

static int verify(struct fix *f, struct sb_verify_result *res,
		  const char *base, const char *head, int rec)
{
	sb_err_clear();
	return sb_verify_range(res, f->r, base, head,
			       rec < 0 ? NULL : f->k[rec]->pub);
}

static void assert_accepted(struct fix *f, const char *base,
			    const char *head, int rec, size_t verified)
{
	struct sb_verify_result res;
	int rc = verify(f, &res, base, head, rec);

	if (rc)
		fail_msg("refused (%d): %s", rc, sb_err_msg(rc));
	assert_int_equal(res.verified, verified);
	assert_string_equal(res.bad_commit, "");
}

static void assert_refused(struct fix *f, const char *base, const char *head,
			   int rec, int code, const char *bad,
			   const char *why, size_t verified)
{
	struct sb_verify_result res;
	char want[256];
	int rc = verify(f, &res, base, head, rec);

	snprintf(want, sizeof(want), "commit %.12s refused: %s", bad, why);
	assert_string_equal(sb_err_msg(rc), want);
	assert_int_equal(rc, code);
	assert_string_equal(res.bad_commit, bad);
	assert_int_equal(res.verified, verified);
}

static void assert_signer(struct fix *f, const char *oid, const char *who)
{
	char name[80];

	assert_int_equal(sb_verify_signer(name, sizeof(name), f->r, oid), 0);
	assert_string_equal(name, who);
}

/*
 * Accepted histories.
 */

static void test_chain(void **state)
{
	struct fix *f = *state;
	char t[3][SB_OID_HEX], c[3][SB_OID_HEX];

	make_root(f);
	write_file(f, "mail2", "two\n");
	snap(f, t[0]);
	commit(f, c[0], t[0], f->r0, NULL, "phone 1", PHONE);
	write_file(f, "mail3", "three\n");
	snap(f, t[1]);
	commit(f, c[1], t[1], c[0], NULL, "laptop 1", LAPTOP);
	remove_file(f, "mail1");
	snap(f, t[2]);
	commit(f, c[2], t[2], c[1], NULL, "phone 2", PHONE);

	assert_accepted(f, NULL, c[2], REC, 4);
	assert_accepted(f, NULL, c[2], -1, 4);
	assert_accepted(f, f->r0, c[2], REC, 3);
	assert_accepted(f, c[0], c[2], -1, 2);
	assert_accepted(f, c[2], c[2], -1, 0);
	assert_signer(f, f->r0, "recovery");
	assert_signer(f, c[0], "phone");
	assert_signer(f, c[1], "laptop");
}

/* The admin enrols the tablet; the tablet then signs on its own. */
static void test_admin_adds_device(void **state)
{
	struct fix *f = *state;
	char t1[SB_OID_HEX], t2[SB_OID_HEX], c1[SB_OID_HEX], c2[SB_OID_HEX];

	make_root(f);
	use_p1(f);
	write_file(f, ".sealbox/keys/tablet.wrap", "wrapped for tablet\n");
	snap(f, t1);
	commit(f, c1, t1, f->r0, NULL, "enrol tablet", LAPTOP);
	write_file(f, "mail2", "from the tablet\n");
	snap(f, t2);
	commit(f, c2, t2, c1, NULL, "tablet 1", TABLET);

	assert_accepted(f, NULL, c2, REC, 3);
	assert_accepted(f, f->r0, c2, -1, 2);
	assert_signer(f, c2, "tablet");
}

/* The recovery key changes the policy: promotes the phone, which then
 * enrols the tablet as an admin may. */
static void test_recovery_changes_policy(void **state)
{
	struct fix *f = *state;
	char t1[SB_OID_HEX], t2[SB_OID_HEX], c1[SB_OID_HEX], c2[SB_OID_HEX];

	make_root(f);
	use_policy(f, REC, 1, "laptop", 1, "phone", 1, NULL);
	snap(f, t1);
	commit(f, c1, t1, f->r0, NULL, "promote phone", REC);
	use_policy(f, REC, 1, "laptop", 1, "phone", 1, "tablet", 0, NULL);
	snap(f, t2);
	commit(f, c2, t2, c1, NULL, "enrol tablet", PHONE);

	assert_accepted(f, f->r0, c2, -1, 2);
	assert_signer(f, c1, "recovery");
}

/* Two sides with the same policy, merged by a member. */
static void test_member_merge_same_policy(void **state)
{
	struct fix *f = *state;
	char ta[SB_OID_HEX], tb[SB_OID_HEX], tm[SB_OID_HEX];
	char a[SB_OID_HEX], b[SB_OID_HEX], m[SB_OID_HEX];

	make_root(f);
	write_file(f, "mail2", "phone side\n");
	snap(f, ta);
	commit(f, a, ta, f->r0, NULL, "phone side", PHONE);
	remove_file(f, "mail2");
	write_file(f, "mail3", "laptop side\n");
	snap(f, tb);
	commit(f, b, tb, f->r0, NULL, "laptop side", LAPTOP);
	write_file(f, "mail2", "phone side\n");
	snap(f, tm);
	commit(f, m, tm, a, b, "merge", PHONE);

	assert_accepted(f, NULL, m, REC, 4);
	assert_accepted(f, a, m, -1, 2);
	assert_accepted(f, b, m, -1, 2);
}

/*
 * One side enrols the tablet (recovery key), the other changes only mail.
 * Keeping the enrolment side's .sealbox/ drops nothing: the new device and
 * the old one may both sign the merge, whatever the parent order.
 */
static void test_enrolment_merge(void **state)
{
	struct fix *f = *state;
	char ta[SB_OID_HEX], tb[SB_OID_HEX], tm[SB_OID_HEX];
	char a[SB_OID_HEX], b1[SB_OID_HEX], b2[SB_OID_HEX], m[SB_OID_HEX];

	make_root(f);
	write_file(f, "mail2", "phone side\n");
	snap(f, tb);
	commit(f, b1, tb, f->r0, NULL, "phone 1", PHONE);
	write_file(f, "mail3", "phone side again\n");
	snap(f, tb);
	commit(f, b2, tb, b1, NULL, "laptop on the phone side", LAPTOP);
	remove_file(f, "mail2");
	remove_file(f, "mail3");
	use_p1(f);
	write_file(f, ".sealbox/keys/tablet.wrap", "wrapped for tablet\n");
	snap(f, ta);
	commit(f, a, ta, f->r0, NULL, "enrol tablet", REC);
	write_file(f, "mail2", "phone side\n");
	write_file(f, "mail3", "phone side again\n");
	snap(f, tm);

	commit(f, m, tm, a, b2, "merge by tablet", TABLET);
	assert_accepted(f, b2, m, -1, 2);
	assert_accepted(f, NULL, m, REC, 5);
	assert_signer(f, m, "tablet");
	commit(f, m, tm, b2, a, "merge by tablet, other order", TABLET);
	assert_accepted(f, b2, m, -1, 2);
	assert_accepted(f, a, m, -1, 3);
	commit(f, m, tm, a, b2, "merge by phone", PHONE);
	assert_accepted(f, b2, m, -1, 2);
	commit(f, m, tm, b2, a, "merge by phone, other order", PHONE);
	assert_accepted(f, NULL, m, REC, 5);
}

/*
 * Refused: signatures.
 */

static void test_unsigned(void **state)
{
	struct fix *f = *state;
	char t1[SB_OID_HEX], c1[SB_OID_HEX], u[SB_OID_HEX], v[SB_OID_HEX];
	char *raw, *pay, *sig, body[8192];
	size_t len, plen, slen;
	int n;

	make_root(f);
	write_file(f, "mail2", "two\n");
	snap(f, t1);
	commit(f, c1, t1, f->r0, NULL, "phone 1", PHONE);
	raw_of(f, c1, &raw, &len);
	assert_int_equal(sb_commitsig_split(raw, len, &pay, &plen, &sig,
					    &slen), 0);
	/* the same commit without its gpgsig header */
	git_write(f, u, pay, plen);
	assert_refused(f, f->r0, u, -1, SB_ESIG, u, NOT_SIGNED, 0);
	assert_refused(f, NULL, u, REC, SB_ESIG, u, NOT_SIGNED, 1);
	assert_int_equal(sb_verify_signer(body, sizeof(body), f->r, u),
			 SB_ESIG);

	/* a valid signature in the message body is not a signature */
	n = snprintf(body, sizeof(body), "%s", pay);
	sig_header(body + n, sizeof(body) - (size_t)n, "gpgsig", sig);
	git_write(f, v, body, strlen(body));
	assert_refused(f, f->r0, v, -1, SB_ESIG, v, NOT_SIGNED, 0);
	free(raw);
	free(pay);
	free(sig);
}

static void replace_tree(char *raw, const char *tree)
{
	assert_memory_equal(raw, "tree ", 5);
	memcpy(raw + 5, tree, 40);
}

/* A signer signed one commit; its signature is put on another. */
static void test_payload_changed(void **state)
{
	struct fix *f = *state;
	char t1[SB_OID_HEX], t2[SB_OID_HEX], c1[SB_OID_HEX], x[SB_OID_HEX];
	char *raw, *p;
	size_t len;

	make_root(f);
	write_file(f, "mail2", "two\n");
	snap(f, t1);
	commit(f, c1, t1, f->r0, NULL, "phone 1", PHONE);
	/* the tree with phone made admin, under the phone's signature */
	use_policy(f, REC, 1, "laptop", 1, "phone", 1, NULL);
	snap(f, t2);

	raw_of(f, c1, &raw, &len);
	replace_tree(raw, t2);
	git_write(f, x, raw, len);
	assert_refused(f, f->r0, x, -1, SB_ESIG, x, BAD_SIG, 0);
	free(raw);

	/* one byte of the message */
	raw_of(f, c1, &raw, &len);
	assert_non_null(p = strstr(raw, "\n\nphone 1"));
	p[2] = 'P';
	git_write(f, x, raw, len);
	assert_refused(f, f->r0, x, -1, SB_ESIG, x, BAD_SIG, 0);
	free(raw);

	/* the author line (who and when) */
	raw_of(f, c1, &raw, &len);
	assert_non_null(p = strstr(raw, "\nauthor dev"));
	p[8] = 'D';
	git_write(f, x, raw, len);
	assert_refused(f, f->r0, x, -1, SB_ESIG, x, BAD_SIG, 0);
	free(raw);

	/* the original is fine */
	assert_accepted(f, f->r0, c1, -1, 1);
}

struct craft {
	const struct sb_signkey *k;
	int mode;	/* 0 other namespace, 1 other bytes, 2 garbage */
};

static int sign_crafted(char **armor, const void *buf, size_t len,
			void *ctx)
{
	static const char junk[] = "-----BEGIN SSH SIGNATURE-----\n"
		"U1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n";
	const struct craft *c = ctx;
	char *copy;
	int rc;

	if (c->mode == 0)
		return sb_sshsig_sign(armor, c->k, "file", buf, len);
	if (c->mode == 2)
		return (*armor = strdup(junk)) ? 0 : -ENOMEM;
	if (!(copy = malloc(len)))
		return -ENOMEM;
	memcpy(copy, buf, len);
	copy[len - 2] ^= 1;
	rc = sb_sshsig_sign(armor, c->k, "git", copy, len);
	free(copy);
	return rc;
}

/* Signatures that are well placed but wrong. */
static void test_crafted_signatures(void **state)
{
	struct fix *f = *state;
	char t1[SB_OID_HEX], x[SB_OID_HEX];
	struct craft c;

	make_root(f);
	write_file(f, "mail2", "two\n");
	snap(f, t1);
	c.k = f->k[PHONE];
	for (c.mode = 0; c.mode < 3; c.mode++) {
		commit_with(f, x, t1, f->r0, NULL, "crafted", sign_crafted, &c);
		assert_refused(f, f->r0, x, -1, SB_ESIG, x, BAD_SIG, 0);
	}
}

/* Keys the policy does not name, whatever they sign. */
static void test_unknown_key(void **state)
{
	struct fix *f = *state;
	char t1[SB_OID_HEX], t2[SB_OID_HEX], x[SB_OID_HEX];

	make_root(f);
	write_file(f, "mail2", "two\n");
	snap(f, t1);
	commit(f, x, t1, f->r0, NULL, "mallory", MALLORY);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, UNAUTHORIZED, 0);
	commit(f, x, t1, f->r0, NULL, "not yet enrolled", TABLET);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, UNAUTHORIZED, 0);
	commit(f, x, t1, f->r0, NULL, "another vault's recovery", REC2);
	assert_refused(f, f->r0, x, REC, SB_EPOLICY, x, UNAUTHORIZED, 0);
	/* mallory enrolling herself as an admin */
	use_policy(f, REC, 1, "laptop", 1, "phone", 0, "mallory", 1, NULL);
	snap(f, t2);
	commit(f, x, t2, f->r0, NULL, "mallory enrols", MALLORY);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, CHANGES_META, 0);
	/* ... or signing with a key her new policy names as recovery */
	use_policy(f, MALLORY, 1, "laptop", 1, "phone", 0, NULL);
	snap(f, t2);
	commit(f, x, t2, f->r0, NULL, "mallory recovery", MALLORY);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, CHANGES_META, 0);
}

/* A second signature header, or a sha256 one, beside a valid one. */
static void test_second_gpgsig(void **state)
{
	struct fix *f = *state;
	char t1[SB_OID_HEX], c1[SB_OID_HEX], x[SB_OID_HEX];
	char hdr[8192], two[4096], *raw, *pay, *sig, *armor;
	size_t len, plen, slen;

	make_root(f);
	write_file(f, "mail2", "two\n");
	snap(f, t1);
	commit(f, c1, t1, f->r0, NULL, "phone 1", PHONE);
	raw_of(f, c1, &raw, &len);
	assert_int_equal(sb_commitsig_split(raw, len, &pay, &plen, &sig,
					    &slen), 0);

	/* the laptop's valid signature of the same payload after the phone's */
	assert_int_equal(sb_sshsig_sign(&armor, f->k[LAPTOP], "git", pay,
					plen), 0);
	sig_header(hdr, sizeof(hdr), "gpgsig", armor);
	insert_header(f, x, raw, hdr);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_HEADERS, 0);
	/* ... or before it */
	sig_header(two, sizeof(two), "gpgsig", sig);
	len = strlen(hdr);
	snprintf(hdr + len, sizeof(hdr) - len, "%s", two);
	insert_header(f, x, pay, hdr);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_HEADERS, 0);
	/* the phone's own header twice */
	snprintf(hdr, sizeof(hdr), "%s", two);
	insert_header(f, x, raw, hdr);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_HEADERS, 0);
	/* mallory's signature as gpgsig-sha256 beside the phone's */
	free(armor);
	assert_int_equal(sb_sshsig_sign(&armor, f->k[MALLORY], "git", pay,
					plen), 0);
	sig_header(hdr, sizeof(hdr), "gpgsig-sha256", armor);
	insert_header(f, x, raw, hdr);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_HEADERS, 0);
	/* the untouched commit passes */
	assert_accepted(f, f->r0, c1, -1, 1);
	free(armor);
	free(raw);
	free(pay);
	free(sig);
}

/*
 * Refused: policy changes.
 */

/* A member changes .sealbox/: a wrap, the tablet, itself as admin. */
static void test_member_changes_sealbox(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], x[SB_OID_HEX], ok[SB_OID_HEX];

	make_root(f);
	write_file(f, ".sealbox/keys/phone.wrap", "another wrap\n");
	snap(f, t);
	commit(f, x, t, f->r0, NULL, "new wrap", PHONE);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, CHANGES_META, 0);
	commit(f, ok, t, f->r0, NULL, "new wrap by admin", LAPTOP);
	assert_accepted(f, f->r0, ok, -1, 1);
	remove_file(f, ".sealbox/keys/phone.wrap");

	use_p1(f);
	snap(f, t);
	commit(f, x, t, f->r0, NULL, "phone enrols tablet", PHONE);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, CHANGES_META, 0);

	/* on top of an accepted commit: earlier ones counted */
	commit(f, x, t, ok, NULL, "phone enrols tablet", PHONE);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, CHANGES_META, 1);
}

static void test_member_makes_itself_admin(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], x[SB_OID_HEX];

	make_root(f);
	use_policy(f, REC, 1, "laptop", 1, "phone", 1, NULL);
	snap(f, t);
	commit(f, x, t, f->r0, NULL, "phone admin", PHONE);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, CHANGES_META, 0);
	/* demoting the admin instead */
	use_policy(f, REC, 1, "laptop", 0, "phone", 0, NULL);
	snap(f, t);
	commit(f, x, t, f->r0, NULL, "laptop member", PHONE);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, CHANGES_META, 0);
	/* or in a merge of two sides that both kept P0 */
	use_policy(f, REC, 1, "laptop", 1, "phone", 1, NULL);
	snap(f, t);
	{
		char a[SB_OID_HEX], b[SB_OID_HEX];

		commit(f, a, f->t0, f->r0, NULL, "a", PHONE);
		commit(f, b, f->t0, f->r0, NULL, "b", LAPTOP);
		commit(f, x, t, a, b, "merge, phone admin", PHONE);
		assert_refused(f, a, x, -1, SB_EPOLICY, x, CHANGES_META, 1);
	}
}

/*
 * The laptop revokes the phone on one side; the phone, still holding its
 * key, keeps writing on an older side and tries to merge its way back in.
 */
static void test_revoked_device_merge(void **state)
{
	struct fix *f = *state;
	char ta[SB_OID_HEX], tb[SB_OID_HEX], tm[SB_OID_HEX], tn[SB_OID_HEX];
	char a[SB_OID_HEX], b[SB_OID_HEX], x[SB_OID_HEX];

	make_root(f);
	write_file(f, "mail2", "phone, later\n");
	snap(f, tb);
	commit(f, b, tb, f->r0, NULL, "phone side", PHONE);
	remove_file(f, "mail2");
	use_prev(f);
	snap(f, ta);
	commit(f, a, ta, f->r0, NULL, "revoke phone", LAPTOP);
	write_file(f, "mail2", "phone, later\n");
	use_p0(f);
	snap(f, tm);	/* merged mail, old policy */
	use_prev(f);
	snap(f, tn);	/* merged mail, new policy */

	/* keeping the old policy side */
	commit(f, x, tm, a, b, "phone merges", PHONE);
	assert_refused(f, a, x, -1, SB_EPOLICY, x, DROPS_CHANGE, 1);
	commit(f, x, tm, b, a, "phone merges, other order", PHONE);
	assert_refused(f, a, x, -1, SB_EPOLICY, x, DROPS_CHANGE, 1);
	/* keeping the new one */
	commit(f, x, tn, a, b, "phone merges new", PHONE);
	assert_refused(f, a, x, -1, SB_EPOLICY, x, UNAUTHORIZED, 1);
	/* merging the revocation with an old ancestor of it */
	commit(f, x, f->t0, a, f->r0, "phone merges root", PHONE);
	assert_refused(f, a, x, -1, SB_EPOLICY, x, DROPS_CHANGE, 0);
	commit(f, x, f->t0, f->r0, a, "phone merges root", PHONE);
	assert_refused(f, f->r0, x, -1, SB_EPOLICY, x, DROPS_CHANGE, 1);
	/* a plain commit after the revocation */
	commit(f, x, ta, a, NULL, "phone after", PHONE);
	assert_refused(f, a, x, -1, SB_EPOLICY, x, UNAUTHORIZED, 0);

	/* the laptop merging the phone's older side keeps the revocation */
	commit(f, x, tn, a, b, "laptop merges", LAPTOP);
	assert_accepted(f, a, x, -1, 2);
}

/*
 * The laptop enrols the tablet on one side; a member merges and keeps the
 * other side's policy: the enrolment is silently dropped.
 */
static void test_merge_drops_policy_change(void **state)
{
	struct fix *f = *state;
	char ta[SB_OID_HEX], tb[SB_OID_HEX], tm[SB_OID_HEX];
	char a[SB_OID_HEX], b[SB_OID_HEX], x[SB_OID_HEX];

	make_root(f);
	write_file(f, "mail2", "phone side\n");
	snap(f, tb);
	commit(f, b, tb, f->r0, NULL, "phone side", PHONE);
	remove_file(f, "mail2");
	use_p1(f);
	snap(f, ta);
	commit(f, a, ta, f->r0, NULL, "enrol tablet", LAPTOP);
	write_file(f, "mail2", "phone side\n");
	use_p0(f);
	snap(f, tm);

	commit(f, x, tm, a, b, "phone drops the tablet", PHONE);
	assert_refused(f, b, x, -1, SB_EPOLICY, x, DROPS_CHANGE, 1);
	commit(f, x, tm, b, a, "phone drops the tablet", PHONE);
	assert_refused(f, NULL, x, REC, SB_EPOLICY, x, DROPS_CHANGE, 3);
	/* the tablet is not in the policy it keeps (parents in order) */
	commit(f, x, tm, b, a, "tablet drops itself", TABLET);
	assert_refused(f, b, x, -1, SB_EPOLICY, x, UNAUTHORIZED, 1);
	commit(f, x, tm, a, b, "tablet drops itself", TABLET);
	assert_refused(f, b, x, -1, SB_EPOLICY, x, DROPS_CHANGE, 1);
	/* an admin of both sides may */
	commit(f, x, tm, a, b, "laptop drops the tablet", LAPTOP);
	assert_accepted(f, b, x, -1, 2);
	commit(f, x, tm, a, b, "recovery drops the tablet", REC);
	assert_accepted(f, b, x, -1, 2);
}

/*
 * Refused: roots.
 */

static void test_root_not_admin(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], x[SB_OID_HEX], c[SB_OID_HEX];

	use_p0(f);
	snap(f, t);
	commit(f, x, t, NULL, NULL, "root by phone", PHONE);
	assert_refused(f, NULL, x, REC, SB_EPOLICY, x, ROOT_NOT_REC, 0);
	assert_refused(f, NULL, x, -1, SB_EPOLICY, x, ROOT_NOT_ADMIN, 0);
	commit(f, c, t, x, NULL, "on top", LAPTOP);
	assert_refused(f, NULL, c, -1, SB_EPOLICY, x, ROOT_NOT_ADMIN, 0);
	commit(f, x, t, NULL, NULL, "root by mallory", MALLORY);
	assert_refused(f, NULL, x, -1, SB_EPOLICY, x, ROOT_NOT_ADMIN, 0);
	commit(f, x, t, NULL, NULL, "root by recovery", REC);
	assert_accepted(f, NULL, x, REC, 1);
	/* an admin device's root: fine for its own history, but no anchor
	 * for a clone that expects this recovery key */
	commit(f, x, t, NULL, NULL, "root by laptop", LAPTOP);
	assert_refused(f, NULL, x, REC, SB_EPOLICY, x, ROOT_NOT_REC, 0);
	assert_accepted(f, NULL, x, -1, 1);
}

/*
 * A vault made under another recovery key, offered as ours; and a vault
 * whose policy names our recovery keys (they are public: in every copy
 * of .sealbox/policy) but whose first commit someone else signed, with
 * secrets she chose in recovery.wrap: refused, because `sealbox init`
 * signs the first commit with the recovery key and a clone requires it.
 */
static void test_root_other_recovery(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], x[SB_OID_HEX], c[SB_OID_HEX];

	use_policy(f, REC2, 1, "laptop", 1, "phone", 0, NULL);
	write_file(f, "mail1", "one\n");
	snap(f, t);
	commit(f, x, t, NULL, NULL, "root", LAPTOP);
	commit(f, c, t, x, NULL, "more", PHONE);
	assert_refused(f, NULL, c, REC, SB_EPOLICY, x, ROOT_RECOVERY, 0);
	assert_refused(f, NULL, c, REC2, SB_EPOLICY, x, ROOT_NOT_REC, 0);
	assert_accepted(f, NULL, c, -1, 2);
	/* signed by that other recovery key itself */
	commit(f, x, t, NULL, NULL, "root", REC2);
	assert_refused(f, NULL, x, REC, SB_EPOLICY, x, ROOT_RECOVERY, 0);
	assert_accepted(f, NULL, x, REC2, 1);
	/* mallory's look-alike: our recovery keys named, signed by her */
	use_policy(f, REC, 1, "mallory", 1, NULL);
	snap(f, t);
	commit(f, x, t, NULL, NULL, "look-alike root", MALLORY);
	assert_refused(f, NULL, x, REC, SB_EPOLICY, x, ROOT_NOT_REC, 0);
}

/*
 * mallory makes her own root (the vault's real recovery key, herself
 * admin: a valid first commit) and grafts it onto the vault by a merge
 * that keeps her policy.
 */
static void test_foreign_root_merged(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], h[SB_OID_HEX], x[SB_OID_HEX], m[SB_OID_HEX];

	make_root(f);
	commit(f, h, f->t0, f->r0, NULL, "head", PHONE);
	use_policy(f, REC, 1, "mallory", 1, "laptop", 1, "phone", 0, NULL);
	snap(f, t);
	commit(f, x, t, NULL, NULL, "mallory's root", MALLORY);
	/* a clone (recovery key given) stops at her root; a device syncing
	 * (no recovery key) at the merge that drops the vault's policy */
	commit(f, m, t, h, x, "graft", MALLORY);
	assert_refused(f, h, m, REC, SB_EPOLICY, x, ROOT_NOT_REC, 0);
	assert_refused(f, h, m, -1, SB_EPOLICY, m, DROPS_CHANGE, 1);
	commit(f, m, t, x, h, "graft", MALLORY);
	assert_refused(f, h, m, -1, SB_EPOLICY, m, DROPS_CHANGE, 1);
	/* the phone keeping mallory's policy, in which it is a member */
	commit(f, m, t, h, x, "graft by phone", PHONE);
	assert_refused(f, h, m, -1, SB_EPOLICY, m, DROPS_CHANGE, 1);
}

static void test_allowed_signers_mismatch(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], x[SB_OID_HEX], swapped[4096], *line, *as, *nl;

	make_root(f);
	/* the admin adds mallory to allowed_signers, not to the policy */
	assert_int_equal(sb_allowed_signers_line(&line, "mallory@sealbox",
						 f->k[MALLORY]->pub), 0);
	use_policy_extra(f, line, REC, 1, "laptop", 1, "phone", 0, NULL);
	snap(f, t);
	commit(f, x, t, f->r0, NULL, "extra signer", LAPTOP);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_POLICY, 0);
	commit(f, x, t, f->r0, NULL, "extra signer", REC);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_POLICY, 0);
	commit(f, x, t, NULL, NULL, "root", LAPTOP);
	assert_refused(f, NULL, x, REC, SB_EFORMAT, x, ROOT_BAD_POLICY, 0);
	free(line);

	/* lines in another order */
	use_p0(f);
	as = read_file(f, ".sealbox/allowed_signers");
	assert_non_null(nl = strchr(as, '\n'));
	snprintf(swapped, sizeof(swapped), "%s%.*s", nl + 1,
		 (int)(nl - as + 1), as);
	assert_int_equal(strlen(swapped), strlen(as));
	write_file(f, ".sealbox/allowed_signers", swapped);
	free(as);
	snap(f, t);
	commit(f, x, t, f->r0, NULL, "swapped", LAPTOP);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_POLICY, 0);

	/* no allowed_signers, no policy */
	remove_file(f, ".sealbox/allowed_signers");
	snap(f, t);
	commit(f, x, t, f->r0, NULL, "no allowed_signers", LAPTOP);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_POLICY, 0);
	use_p0(f);
	remove_file(f, ".sealbox/policy");
	snap(f, t);
	commit(f, x, t, f->r0, NULL, "no policy", LAPTOP);
	assert_refused(f, f->r0, x, -1, SB_EFORMAT, x, BAD_POLICY, 0);
}

/*
 * Refused: ranges.
 */

static void assert_stale(struct fix *f, const char *base, const char *head)
{
	struct sb_verify_result res;
	int rc = verify(f, &res, base, head, -1);

	assert_int_equal(rc, -ESTALE);
	assert_string_equal(sb_err_msg(rc), STALE);
	assert_string_equal(res.bad_commit, "");
	assert_int_equal(res.verified, 0);
}

static void test_not_descending(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], c1[SB_OID_HEX], c2[SB_OID_HEX], c1b[SB_OID_HEX];
	char other[SB_OID_HEX];

	make_root(f);
	write_file(f, "mail2", "two\n");
	snap(f, t);
	commit(f, c1, t, f->r0, NULL, "c1", PHONE);
	commit(f, c2, t, c1, NULL, "c2", PHONE);
	commit(f, c1b, t, f->r0, NULL, "c1 rewritten", PHONE);
	commit(f, other, t, NULL, NULL, "another root", LAPTOP);

	assert_stale(f, c2, c1);	/* rolled back */
	assert_stale(f, c2, f->r0);
	assert_stale(f, c1, c1b);	/* rewritten */
	assert_stale(f, c2, other);	/* another history */
	assert_accepted(f, c1, c2, -1, 1);
}

static void test_bad_commit_in_range(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], c[7][SB_OID_HEX], u[SB_OID_HEX], m[SB_OID_HEX];
	char s1[SB_OID_HEX], s2[SB_OID_HEX];
	char *raw, *pay, *sig;
	size_t len, plen, slen;
	char msg[16];
	int i;

	make_root(f);
	memcpy(c[0], f->r0, SB_OID_HEX);
	for (i = 1; i < 7; i++) {
		snprintf(msg, sizeof(msg), "mail%d", i + 1);
		write_file(f, msg, msg);
		snap(f, t);
		commit(f, c[i], t, c[i - 1], NULL, msg,
		       i == 4 ? MALLORY : i & 1 ? PHONE : LAPTOP);
	}
	assert_refused(f, c[1], c[6], -1, SB_EPOLICY, c[4], UNAUTHORIZED, 2);
	assert_refused(f, NULL, c[6], REC, SB_EPOLICY, c[4], UNAUTHORIZED, 4);
	assert_refused(f, c[3], c[6], -1, SB_EPOLICY, c[4], UNAUTHORIZED, 0);
	assert_accepted(f, c[1], c[3], -1, 2);

	/*
	 * An unsigned commit on a side branch, hidden under a merge signed
	 * by the admin: refused by name, the side's good commit counted.
	 */
	commit(f, s1, t, c[3], NULL, "side 1", PHONE);
	commit(f, s2, t, s1, NULL, "side 2", PHONE);
	raw_of(f, s2, &raw, &len);
	assert_int_equal(sb_commitsig_split(raw, len, &pay, &plen, &sig,
					    &slen), 0);
	git_write(f, u, pay, plen);
	commit(f, m, t, c[3], u, "merge", LAPTOP);
	assert_refused(f, c[3], m, -1, SB_ESIG, u, NOT_SIGNED, 1);
	commit(f, m, t, c[3], s2, "merge", LAPTOP);
	assert_accepted(f, c[3], m, -1, 3);
	free(raw);
	free(pay);
	free(sig);
}

static void test_bad_ids(void **state)
{
	struct fix *f = *state;
	struct sb_verify_result res;

	make_root(f);
	assert_int_equal(verify(f, &res, NULL, "not a commit id", -1),
			 SB_EFORMAT);
	assert_int_equal(verify(f, &res, "xyz", f->r0, -1), SB_EFORMAT);
	assert_int_equal(res.verified, 0);
}

/*
 * A signed commit whose signature header was moved where libgit2 (and
 * git) read it otherwise: between two parents of a merge (git then sees
 * one parent), before the tree. The payload still verifies; the commit
 * cannot be parsed, and that is reported as such, not as a rollback.
 */
static void assert_unreadable(struct fix *f, const char *base,
			      const char *head, const char *why)
{
	struct sb_verify_result res;
	int rc = verify(f, &res, base, head, -1);

	assert_int_equal(rc, SB_EGIT);
	assert_int_equal(strncmp(sb_err_msg(rc), why, strlen(why)), 0);
	assert_string_equal(res.bad_commit, "");
	assert_int_equal(res.verified, 0);
}

static void test_malformed_commit(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], a[SB_OID_HEX], b[SB_OID_HEX], x[SB_OID_HEX];
	char y[SB_OID_HEX], pay[1024];
	size_t second;

	make_root(f);
	commit(f, a, f->t0, f->r0, NULL, "a", PHONE);
	commit(f, b, f->t0, f->r0, NULL, "b", LAPTOP);
	snprintf(pay, sizeof(pay), "tree %s\nparent %s\nparent %s\n"
		 "author phone <phone@sealbox> 1700000000 +0000\n"
		 "committer phone <phone@sealbox> 1700000000 +0000\n\nmerge\n",
		 f->t0, a, b);
	second = 5 + 41 + 7 + 41;
	sign_at(f, x, pay, strlen(pay) - 7, PHONE);	/* where git puts it */
	assert_accepted(f, f->r0, x, -1, 3);
	sign_at(f, x, pay, second, PHONE);
	assert_unreadable(f, f->r0, x, "cannot read the history: ");
	assert_unreadable(f, NULL, x, "cannot walk the history: ");
	assert_unreadable(f, a, x, "cannot read the history: ");

	/* a good commit on top of it */
	snprintf(pay, sizeof(pay), "tree %s\nparent %s\n"
		 "author laptop <laptop@sealbox> 1700000000 +0000\n"
		 "committer laptop <laptop@sealbox> 1700000000 +0000\n\n"
		 "on top\n", f->t0, x);
	sign_at(f, y, pay, strlen(pay) - 8, LAPTOP);
	assert_unreadable(f, f->r0, y, "cannot read the history: ");
	assert_unreadable(f, NULL, y, "cannot walk the history: ");

	sign_at(f, x, pay, 0, LAPTOP);			/* before the tree */
	assert_unreadable(f, f->r0, x, "cannot read the history: ");

	/* a tree or a missing object given as the head */
	snap(f, t);
	assert_unreadable(f, f->r0, t, "cannot read the history: ");
	assert_unreadable(f, NULL, "0123456789abcdef0123456789abcdef01234567",
			  "cannot walk the history: ");
}

/*
 * sb_verify_signer names the signer for logs as its authority came: from
 * the parents' policy when the commit's own no longer names it.
 */
static void test_signer_names(void **state)
{
	struct fix *f = *state;
	char t[SB_OID_HEX], c1[SB_OID_HEX], c2[SB_OID_HEX], c3[SB_OID_HEX];
	char name[80];

	make_root(f);
	/* the recovery key hands over to a new one */
	use_policy(f, REC2, 1, "laptop", 1, "phone", 0, NULL);
	snap(f, t);
	commit(f, c1, t, f->r0, NULL, "new recovery key", REC);
	/* the laptop hands admin over to the phone and leaves */
	use_policy(f, REC2, 2, "phone", 1, NULL);
	snap(f, t);
	commit(f, c2, t, c1, NULL, "laptop leaves", LAPTOP);
	commit(f, c3, t, c2, NULL, "mallory", MALLORY);
	assert_accepted(f, f->r0, c2, -1, 2);
	assert_signer(f, c1, "recovery");
	assert_signer(f, c2, "laptop");
	assert_signer(f, c3, "unknown");
	assert_int_equal(sb_verify_signer(name, sizeof(name), f->r, "xyz"),
			 SB_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_adds_device, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recovery_changes_policy,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_member_merge_same_policy,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrolment_merge, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsigned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_payload_changed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crafted_signatures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_second_gpgsig, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_member_changes_sealbox,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_member_makes_itself_admin,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_device_merge,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_drops_policy_change,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_not_admin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_root_other_recovery, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreign_root_merged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_allowed_signers_mismatch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_descending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_commit_in_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_signer_names, setup,
						teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"
#include "sync/commitsig.h"
#include "sync/policy.h"
#include "sync/repo_git.h"
#include "sync/verify.h"

#define POLICY_MAX (1 << 20)

static int refuse(const git_oid *oid, int code, const char *why)
{
	char hex[SB_OID_HEX];

	git_oid_tostr(hex, sizeof(hex), oid);
	return sb_err_set(code, "commit %.12s refused: %s", hex, why);
}

static int commit_signer(git_repository *g, const git_oid *oid,
			 uint8_t signer[SB_ED25519_LEN])
{
	char *pay = NULL, *sig = NULL;
	size_t plen, slen;
	git_odb_object *o = NULL;
	git_odb *odb = NULL;
	int rc;

	if (git_repository_odb(&odb, g) || git_odb_read(&o, odb, oid)) {
		rc = sb_repo_git_fail("cannot read a commit");
		goto out;
	}
	rc = sb_commitsig_split(git_odb_object_data(o), git_odb_object_size(o),
				&pay, &plen, &sig, &slen);
	if (rc == SB_ESIG)
		rc = refuse(oid, SB_ESIG, "it is not signed");
	else if (rc)
		rc = refuse(oid, rc, "its headers are malformed");
	else if ((rc = sb_sshsig_verify(signer, sig, slen, "git", pay, plen)))
		rc = refuse(oid, SB_ESIG, "its signature does not verify");
out:
	free(pay);
	free(sig);
	git_odb_object_free(o);
	git_odb_free(odb);
	return rc;
}

static int read_blob(git_repository *g, const git_tree *tree,
		     const char *path, char **buf, size_t *len)
{
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	int rc = SB_EFORMAT;

	if (git_tree_entry_bypath(&te, tree, path) ||
	    git_tree_entry_type(te) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&blob, g, git_tree_entry_id(te)))
		goto out;
	*len = git_blob_rawsize(blob);
	if (*len > POLICY_MAX || !(*buf = malloc(*len + 1)))
		goto out;
	memcpy(*buf, git_blob_rawcontent(blob), *len);
	(*buf)[*len] = '\0';
	rc = 0;
out:
	git_blob_free(blob);
	git_tree_entry_free(te);
	return rc;
}

/* The policy in a commit's tree, checked against its allowed_signers. */
static int commit_policy(git_repository *g, const git_commit *c,
			 struct sb_policy **out)
{
	char *text = NULL, *as = NULL, *want = NULL;
	size_t tlen, alen;
	git_tree *tree = NULL;
	int rc = SB_EFORMAT;

	if (git_commit_tree(&tree, c) ||
	    read_blob(g, tree, ".sealbox/policy", &text, &tlen) ||
	    read_blob(g, tree, ".sealbox/allowed_signers", &as, &alen))
		goto out;
	if ((rc = sb_policy_parse(out, text, tlen)))
		goto out;
	if ((rc = sb_policy_allowed_signers(&want, *out)) ||
	    strlen(want) != alen || memcmp(want, as, alen)) {
		sb_policy_free(*out);
		rc = SB_EFORMAT;
	}
out:
	free(text);
	free(as);
	free(want);
	git_tree_free(tree);
	return rc;
}

static void sealbox_tree(const git_commit *c, git_oid *out)
{
	git_tree_entry *te = NULL;
	git_tree *tree = NULL;

	memset(out, 0, sizeof(*out));
	if (!git_commit_tree(&tree, c) &&
	    !git_tree_entry_bypath(&te, tree, ".sealbox"))
		git_oid_cpy(out, git_tree_entry_id(te));
	git_tree_entry_free(te);
	git_tree_free(tree);
}

/* 1 admin or recovery, 0 member, -1 unknown. */
static int signer_rank(const struct sb_policy *p, const uint8_t *signer)
{
	const struct sb_policy_device *d = sb_policy_signer(p, signer);

	if (!memcmp(p->recovery_sign, signer, SB_ED25519_LEN))
		return 1;
	return d ? d->admin : -1;
}

static int check_root(git_repository *g, const git_commit *c,
		      const uint8_t *signer, const uint8_t *recovery)
{
	const git_oid *oid = git_commit_id(c);
	struct sb_policy *p;
	int rank;

	if (commit_policy(g, c, &p))
		return refuse(oid, SB_EFORMAT, "its policy is missing or malformed");
	rank = signer_rank(p, signer);
	if (recovery && memcmp(p->recovery_sign, recovery, SB_ED25519_LEN)) {
		sb_policy_free(p);
		return refuse(oid, SB_EPOLICY,
			      "the vault's first commit names another recovery key");
	}
	sb_policy_free(p);
	if (recovery && memcmp(signer, recovery, SB_ED25519_LEN))
		return refuse(oid, SB_EPOLICY, "the vault's first commit is not "
			      "signed by this recovery key");
	return rank == 1 ? 0
		: refuse(oid, SB_EPOLICY, "the first commit is not signed by "
			 "an admin device of its own policy");
}

/* The signer's rank in the policy of a commit's tree (see signer_rank). */
static int rank_in(git_repository *g, const git_commit *c,
		   const uint8_t *signer, int *rank)
{
	struct sb_policy *p;

	if (commit_policy(g, c, &p))
		return refuse(git_commit_id(c), SB_EFORMAT,
			      "its policy is malformed");
	*rank = signer_rank(p, signer);
	sb_policy_free(p);
	return 0;
}

/*
 * 1 when parent's .sealbox/ is unchanged since its merge base with kept:
 * the side whose policy the merge kept has seen every policy change of
 * parent, so keeping it drops nothing (no revocation can be undone by
 * merging an older side).
 */
static int policy_seen(git_repository *g, const git_commit *parent,
		       const git_commit *kept)
{
	git_commit *base = NULL;
	git_oid b, pt, bt;
	int seen = 0;

	if (git_merge_base(&b, g, git_commit_id(parent), git_commit_id(kept)) ||
	    git_commit_lookup(&base, g, &b))
		return 0;
	sealbox_tree(parent, &pt);
	sealbox_tree(base, &bt);
	seen = git_oid_equal(&pt, &bt);
	git_commit_free(base);
	return seen;
}

/*
 * A commit with parents. The parents whose .sealbox/ it keeps unchanged
 * ("kept") must authorize the signer. A commit that keeps no parent's
 * .sealbox/ changes the policy: an admin or the recovery key of every
 * parent must sign it. A merge that keeps one side's .sealbox/ is a policy
 * change against any other parent that changed .sealbox/ since their
 * merge base, so an admin of that parent must sign it; otherwise the kept
 * side already holds every policy change (an enrolment on one side merged
 * by the new device, say).
 */
static int check_parents(git_repository *g, const git_commit *c,
			 const uint8_t *signer)
{
	const git_oid *oid = git_commit_id(c);
	git_commit *par[16] = { NULL };
	const git_commit *kept = NULL;
	unsigned i, n = git_commit_parentcount(c);
	git_oid mine, pt;
	int rc = 0, rank = -1;

	if (n > 16)
		return refuse(oid, SB_EFORMAT, "it has too many parents");
	sealbox_tree(c, &mine);
	for (i = 0; !rc && i < n; i++) {
		if (git_commit_parent(&par[i], c, i)) {
			rc = sb_repo_git_fail("cannot read a parent commit");
			break;
		}
		sealbox_tree(par[i], &pt);
		if (!kept && git_oid_equal(&pt, &mine))
			kept = par[i];
	}
	for (i = 0; !rc && i < n; i++) {
		if ((rc = rank_in(g, par[i], signer, &rank)))
			break;
		sealbox_tree(par[i], &pt);
		if (git_oid_equal(&pt, &mine) || rank == 1)
			rc = rank < 0 ? refuse(oid, SB_EPOLICY, "it is signed by "
					       "a key the vault policy does "
					       "not authorize") : 0;
		else if (!kept)
			rc = refuse(oid, SB_EPOLICY, "it changes .sealbox/ "
				    "without an admin or recovery-key "
				    "signature");
		else if (!policy_seen(g, par[i], kept))
			rc = refuse(oid, SB_EPOLICY, "its merge drops a policy "
				    "change of one parent without an admin "
				    "signature");
	}
	for (i = 0; i < n; i++)
		git_commit_free(par[i]);
	return rc;
}

static int check_commit(git_repository *g, const git_oid *oid,
			const uint8_t *recovery)
{
	uint8_t signer[SB_ED25519_LEN];
	git_commit *c = NULL;
	struct sb_policy *own;
	int rc;

	if ((rc = commit_signer(g, oid, signer)))
		return rc;
	if (git_commit_lookup(&c, g, oid))
		return sb_repo_git_fail("cannot read a commit");
	rc = git_commit_parentcount(c) ? check_parents(g, c, signer)
				       : check_root(g, c, signer, recovery);
	if (!rc && commit_policy(g, c, &own))
		rc = refuse(oid, SB_EFORMAT, "its policy is malformed");
	else if (!rc)
		sb_policy_free(own);
	git_commit_free(c);
	return rc;
}

/*
 * git_graph_descendant_of is 0 for unrelated histories and negative when
 * a commit cannot be read (a malformed or missing object): that is not a
 * rollback, and saying so would send the user after the wrong cause.
 */
static int check_descends(git_repository *g, const git_oid *head,
			  const git_oid *base)
{
	int d = git_oid_equal(head, base) ? 1
		: git_graph_descendant_of(g, head, base);

	if (d == 1)
		return 0;
	if (d < 0)
		return sb_repo_git_fail("cannot read the history");
	return sb_err_set(-ESTALE, "the remote history does not contain the "
			  "last verified commit (rolled back or rewritten); "
			  "refused");
}

int sb_verify_range(struct sb_verify_result *res, struct sb_repo *r,
		    const char *base, const char *head,
		    const uint8_t *recovery_sign)
{
	git_repository *g = sb_repo_git(r);
	git_revwalk *walk = NULL;
	git_oid h, b, oid;
	int rc;

	memset(res, 0, sizeof(*res));
	if (git_oid_fromstr(&h, head) || (base && git_oid_fromstr(&b, base)))
		return sb_err_set(SB_EFORMAT, "bad commit id");
	if (base && (rc = check_descends(g, &h, &b)))
		return rc;
	if (git_revwalk_new(&walk, g) || git_revwalk_push(walk, &h) ||
	    (base && git_revwalk_hide(walk, &b))) {
		rc = sb_repo_git_fail("cannot walk the history");
		goto out;
	}
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	while (!(rc = git_revwalk_next(&oid, walk))) {
		if ((rc = check_commit(g, &oid, recovery_sign))) {
			git_oid_tostr(res->bad_commit, SB_OID_HEX, &oid);
			goto out;
		}
		res->verified++;
	}
	rc = rc == GIT_ITEROVER ? 0 : sb_repo_git_fail("cannot walk the history");
out:
	git_revwalk_free(walk);
	return rc;
}

/* The signer's name in the policy of c's tree: 1, 0 when absent, or error. */
static int name_in(git_repository *g, const git_commit *c,
		   const uint8_t *signer, char *name, size_t size)
{
	const struct sb_policy_device *d;
	struct sb_policy *p;
	int rc;

	if ((rc = commit_policy(g, c, &p)))
		return rc;
	d = sb_policy_signer(p, signer);
	rc = d || !memcmp(p->recovery_sign, signer, SB_ED25519_LEN);
	if (rc)
		snprintf(name, size, "%s", d ? d->name : "recovery");
	sb_policy_free(p);
	return rc;
}

/*
 * The commit's own policy first (a new device merging its enrolment),
 * then its parents' (a device that removed itself, a recovery key that
 * handed over to another): the policy that gave the signer its say.
 */
int sb_verify_signer(char *name, size_t size, struct sb_repo *r,
		     const char *oid_hex)
{
	git_repository *g = sb_repo_git(r);
	uint8_t signer[SB_ED25519_LEN];
	git_commit *c = NULL, *par;
	unsigned i;
	git_oid oid;
	int rc;

	if (git_oid_fromstr(&oid, oid_hex))
		return sb_err_set(SB_EFORMAT, "bad commit id");
	if ((rc = commit_signer(g, &oid, signer)))
		return rc;
	if (git_commit_lookup(&c, g, &oid))
		return sb_repo_git_fail("cannot read a commit");
	rc = name_in(g, c, signer, name, size);
	for (i = 0; !rc && i < git_commit_parentcount(c); i++) {
		if (git_commit_parent(&par, c, i))
			break;
		rc = name_in(g, par, signer, name, size) > 0;
		git_commit_free(par);
	}
	if (!rc)
		snprintf(name, size, "unknown");
	git_commit_free(c);
	return rc < 0 ? rc : 0;
}

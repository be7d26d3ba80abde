#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/err.h"
#include "sync/commit.h"
#include "sync/conflicts.h"
#include "sync/engine.h"
#include "sync/merge.h"
#include "sync/remote.h"
#include "sync/state.h"
#include "sync/verify.h"

#define MAIN_REF "refs/heads/main"
#define PUSH_TRIES 5

struct sb_sync {
	struct sb_sync_cfg cfg;
	pthread_mutex_t lock;
	char email[96];
	char conflicts[PATH_MAX];
};

int sb_sync_new(struct sb_sync **out, const struct sb_sync_cfg *cfg)
{
	struct sb_sync *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->email, sizeof(s->email), "%s@sealbox", cfg->device);
	snprintf(s->conflicts, sizeof(s->conflicts), "%s/.git/sealbox/conflicts",
		 cfg->vault);
	*out = s;
	return 0;
}

void sb_sync_free(struct sb_sync *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void say(FILE *out, const char *fmt, ...) SB_PRINTF(2, 3);

static void say(FILE *out, const char *fmt, ...)
{
	va_list ap;

	if (!out)
		return;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

/* The head of main, "" when there is no commit. */
static int head(struct sb_sync *s, char oid[SB_OID_HEX])
{
	int rc = sb_repo_ref(s->cfg.repo, MAIN_REF, oid);

	if (rc == -ENOENT) {
		oid[0] = '\0';
		return 0;
	}
	return rc;
}

/*
 * A tree that sb_checkout() refused before changing anything (a verified
 * commit that no sound device makes): no checkout is in progress, so the
 * journal goes and the commit is recorded as refused; local commits go on.
 */
static int refused_tree(struct sb_sync *s, struct sb_state *st,
			const char *to, int code)
{
	char why[512];
	int rc;

	snprintf(why, sizeof(why), "%s", sb_err_msg(code));
	st->apply_from[0] = st->apply_to[0] = '\0';
	snprintf(st->refused, SB_OID_HEX, "%s", to);
	st->refused_at = time(NULL);
	if ((rc = sb_state_set_msg(&st->refused_why, why)) ||
	    (rc = sb_state_save(st, s->cfg.vault)))
		return rc;
	return sb_err_set(code, "%s", why);
}

/*
 * Checks the store out from `from` to `to` and moves main, journaled in
 * the state so that a crash in between is redone by recover().
 */
static int apply(struct sb_sync *s, struct sb_state *st, const char *from,
		 const char *to, struct sb_sync_report *rep)
{
	struct sb_checkout_result res = { 0, 0, 0 };
	int rc;

	snprintf(st->apply_from, SB_OID_HEX, "%s", from);
	snprintf(st->apply_to, SB_OID_HEX, "%s", to);
	if ((rc = sb_state_save(st, s->cfg.vault)))
		return rc;
	rc = sb_checkout(&res, s->cfg.repo, s->cfg.store, s->cfg.sc,
			 *from ? from : NULL, to, s->cfg.changed,
			 s->cfg.changed_ctx);
	if (rc == SB_EFORMAT && !res.written && !res.removed && !res.kept)
		return refused_tree(s, st, to, rc);
	if (rc)
		return rc;
	rc = sb_repo_set_ref(s->cfg.repo, MAIN_REF, to, *from ? from : "",
			     "sealbox: apply");
	if (rc == -EAGAIN) {
		char now[SB_OID_HEX];

		/* redone after a crash: main may already be there */
		if (!head(s, now) && !strcmp(now, to))
			rc = 0;
	}
	if (rc)
		return rc;
	st->apply_from[0] = st->apply_to[0] = '\0';
	if (rep) {
		rep->written += res.written;
		rep->removed += res.removed;
		rep->kept += res.kept;
	}
	return sb_state_save(st, s->cfg.vault);
}

/*
 * 1 when the journal's target is what this device verified: the remote
 * head (a fast-forward) or this device's merge of it with main (parents
 * exactly from and the verified head). Anything else (a fetched commit
 * that was refused, another device's commit) is never applied.
 */
static int journal_verified(struct sb_sync *s, const struct sb_state *st,
			    const char *from)
{
	char want[2 * SB_OID_HEX + 24], *raw = NULL;
	const char *nl;
	size_t len, wlen;
	int ok = 0;

	if (!*st->verified)
		return 0;
	if (!strcmp(st->apply_to, st->verified))
		return 1;
	if (!*from || sb_repo_commit_raw(s->cfg.repo, st->apply_to, &raw,
					 &len))
		return 0;
	wlen = (size_t)snprintf(want, sizeof(want), "parent %s\nparent %s\n"
				"author ", from, st->verified);
	nl = memchr(raw, '\n', len);
	ok = !strncmp(raw, "tree ", 5) && nl &&
	     (size_t)(raw + len - (nl + 1)) > wlen &&
	     !memcmp(nl + 1, want, wlen);
	free(raw);
	return ok;
}

static int recover_locked(struct sb_sync *s, struct sb_state *st)
{
	char now[SB_OID_HEX], from[SB_OID_HEX], to[SB_OID_HEX];
	int rc;

	if (!*st->apply_to)
		return 0;
	if ((rc = head(s, now)))
		return rc;
	if (strcmp(now, st->apply_to) && strcmp(now, st->apply_from))
		return sb_err_set(SB_EFORMAT, "the sync journal names a checkout "
				  "from %.12s but main is at %.12s; run "
				  "`sealbox fsck`", st->apply_from, now);
	snprintf(from, sizeof(from), "%s",
		 strcmp(st->apply_from, "-") ? st->apply_from : "");
	snprintf(to, sizeof(to), "%s", st->apply_to);
	if (!journal_verified(s, st, from)) {
		sb_err_clear();
		return sb_err_set(SB_EPOLICY, "the sync journal names commit "
				  "%.12s, which this device has not verified; "
				  "nothing applied (run `sealbox fsck`)", to);
	}
	return apply(s, st, from, to, NULL);
}

int sb_sync_recover(struct sb_sync *s)
{
	struct sb_state st;
	int rc;

	pthread_mutex_lock(&s->lock);
	if (!(rc = sb_state_load(&st, s->cfg.vault)))
		rc = recover_locked(s, &st);
	sb_state_clear(&st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int commit_locked(struct sb_sync *s, struct sb_changes *c,
			 struct sb_sync_report *rep)
{
	struct sb_commit_opts o = {
		.message = "sealbox: local changes",
		.name = s->cfg.device,
		.email = s->email,
		.sign = s->cfg.sign,
		.sign_ctx = s->cfg.sign_ctx,
	};
	struct sb_changes *scan = NULL;
	char oid[SB_OID_HEX];
	int rc;

	if (!c) {
		if ((rc = sb_changes_new(&scan)))
			return rc;
		scan->all = 1;
		c = scan;
	}
	rc = sb_commit_changes(s->cfg.repo, s->cfg.store, s->cfg.sc, c, &o,
			       oid);
	if (rc == 0)
		rep->committed = 1;
	sb_changes_free(scan);
	return rc < 0 ? rc : 0;
}

int sb_sync_commit(struct sb_sync *s, struct sb_changes *c,
		   struct sb_sync_report *rep)
{
	struct sb_state st;
	int rc;

	memset(rep, 0, sizeof(*rep));
	pthread_mutex_lock(&s->lock);
	if (!(rc = sb_state_load(&st, s->cfg.vault)) &&
	    !(rc = recover_locked(s, &st)))
		rc = commit_locked(s, c, rep);
	if (!rc)
		rc = head(s, rep->head);
	sb_state_clear(&st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int refuse(struct sb_sync *s, struct sb_state *st, const char *oid,
		  int code, FILE *out)
{
	const char *why = sb_err_msg(code);

	snprintf(st->refused, SB_OID_HEX, "%s", oid);
	st->refused_at = time(NULL);
	sb_state_set_msg(&st->refused_why, why);
	say(out, "refused %.12s: %s", oid, why);
	return code;
}

/* Step 4: every remote commit not yet verified. */
static int verify(struct sb_sync *s, struct sb_state *st, const char *theirs,
		  FILE *out)
{
	struct sb_verify_result vr;
	char ours[SB_OID_HEX];
	int rc;

	if (*st->verified && !strcmp(st->verified, theirs))
		return 0;
	rc = sb_verify_range(&vr, s->cfg.repo,
			     *st->verified ? st->verified : NULL, theirs, NULL);
	if (rc)
		return refuse(s, st, *vr.bad_commit ? vr.bad_commit : theirs,
			      rc, out);
	/* another vault's history shares nothing with ours */
	if (!head(s, ours) && *ours && !*st->verified) {
		char base[SB_OID_HEX];

		rc = sb_repo_merge_base(s->cfg.repo, ours, theirs, base);
		if (rc == -ENOENT)
			return refuse(s, st, theirs, sb_err_set(SB_EPOLICY,
				      "the remote holds another vault's "
				      "history; check the remote URL"), out);
		if (rc)
			return rc;
	}
	if (vr.verified)
		say(out, "verified %zu new commit%s up to %.12s", vr.verified,
		    vr.verified == 1 ? "" : "s", theirs);
	snprintf(st->verified, SB_OID_HEX, "%s", theirs);
	st->refused[0] = '\0';
	return sb_state_save(st, s->cfg.vault);
}

static int merge(struct sb_sync *s, struct sb_state *st, const char *ours,
		 const char *theirs, struct sb_sync_report *rep, FILE *out)
{
	struct sb_merge_report *mr = NULL;
	char base[SB_OID_HEX], tree[SB_OID_HEX], merged[SB_OID_HEX];
	char who[64] = "another device";
	const char *parents[2] = { ours, theirs };
	int rc;

	rc = sb_repo_merge_base(s->cfg.repo, ours, theirs, base);
	if (rc && rc != -ENOENT)
		return rc;
	sb_verify_signer(who, sizeof(who), s->cfg.repo, theirs);
	rc = sb_merge_trees(&mr, tree, s->cfg.repo, s->cfg.store,
			    rc ? NULL : base, ours, theirs, s->cfg.device, who);
	if (rc)
		return rc;
	rc = sb_repo_commit_tree(s->cfg.repo, merged, tree, parents, 2,
				 "sealbox: merge", s->cfg.device, s->email,
				 s->cfg.sign, s->cfg.sign_ctx);
	if (!rc && mr->nconflicts)
		rc = sb_conflicts_record(s->cfg.store, s->conflicts, mr,
					 merged, time(NULL));
	if (!rc)
		rc = apply(s, st, ours, merged, rep);
	if (!rc) {
		rep->merged = 1;
		rep->conflicts += mr->nconflicts;
		say(out, "merged %.12s from %s: %zu Maildir change%s, %zu "
		    "calendar/contact merge%s, %zu kept both, %zu conflict%s "
		    "kept (`sealbox conflicts`)", theirs, who, mr->maildir_ops,
		    mr->maildir_ops == 1 ? "" : "s", mr->merged_pim,
		    mr->merged_pim == 1 ? "" : "s", mr->kept_both,
		    mr->nconflicts, mr->nconflicts == 1 ? "" : "s");
	}
	sb_merge_report_free(mr);
	return rc;
}

/* Step 5. */
static int integrate(struct sb_sync *s, struct sb_state *st,
		     const char *theirs, struct sb_sync_report *rep, FILE *out)
{
	char ours[SB_OID_HEX];
	int rc;

	if ((rc = head(s, ours)))
		return rc;
	if (*ours && (rc = sb_repo_descends(s->cfg.repo, ours, theirs)))
		return rc < 0 ? rc : 0;		/* up to date or ahead */
	if (!*ours || (rc = sb_repo_descends(s->cfg.repo, theirs, ours)) == 1) {
		if ((rc = apply(s, st, ours, theirs, rep)))
			return rc;
		rep->fast_forward = 1;
		say(out, "updated to %.12s: %zu file%s written, %zu removed",
		    theirs, rep->written, rep->written == 1 ? "" : "s",
		    rep->removed);
		return 0;
	}
	return rc < 0 ? rc : merge(s, st, ours, theirs, rep, out);
}

/* Steps 3 to 6 with retries when the remote moved meanwhile. */
static int exchange(struct sb_sync *s, struct sb_state *st,
		    const struct sb_remote_config *rc_cfg,
		    struct sb_sync_report *rep, FILE *out)
{
	char theirs[SB_OID_HEX], ours[SB_OID_HEX];
	int rc = 0, tries;

	for (tries = 0; tries < PUSH_TRIES; tries++) {
		rc = sb_remote_fetch(s->cfg.repo, rc_cfg, theirs);
		if (rc && rc != -ENOENT)
			return rc;
		if (!rc) {
			rep->fetched = 1;
			if ((rc = verify(s, st, theirs, out)) ||
			    (rc = integrate(s, st, theirs, rep, out)))
				return rc;
		} else {
			theirs[0] = '\0';
		}
		if ((rc = head(s, ours)) || !*ours || !strcmp(ours, theirs))
			return rc;
		rc = sb_remote_push(s->cfg.repo, rc_cfg, ours);
		if (rc == SB_EREJECT) {
			say(out, "the remote moved meanwhile; fetching again");
			continue;
		}
		if (rc)
			return rc;
		rep->pushed = 1;
		say(out, "pushed %.12s", ours);
		snprintf(st->pushed, SB_OID_HEX, "%s", ours);
		snprintf(st->verified, SB_OID_HEX, "%s", ours);
		return sb_state_save(st, s->cfg.vault);
	}
	return sb_err_set(SB_EREJECT, "the remote kept moving during %d "
			  "attempts; try again", PUSH_TRIES);
}

static int run_locked(struct sb_sync *s, struct sb_state *st,
		      struct sb_changes *c, struct sb_sync_report *rep,
		      FILE *out)
{
	struct sb_remote_config rcfg;
	int rc;

	memset(&rcfg, 0, sizeof(rcfg));
	if ((rc = recover_locked(s, st)) || (rc = commit_locked(s, c, rep)))
		return rc;
	if (rep->committed && !head(s, rep->head))
		say(out, "committed local changes as %.12s", rep->head);
	if ((rc = sb_remote_config_load(s->cfg.repo, &rcfg)))
		return rc;
	if (rcfg.url)
		rc = exchange(s, st, &rcfg, rep, out);
	sb_remote_config_clear(&rcfg);
	return rc;
}

int sb_sync_run(struct sb_sync *s, struct sb_changes *c,
		struct sb_sync_report *rep, FILE *out)
{
	struct sb_state st;
	int rc, src;

	memset(rep, 0, sizeof(*rep));
	pthread_mutex_lock(&s->lock);
	if ((rc = sb_state_load(&st, s->cfg.vault)))
		goto out;
	rc = run_locked(s, &st, c, rep, out);
	head(s, rep->head);
	st.last_attempt = time(NULL);
	if (!rc)
		st.last_sync = st.last_attempt;
	sb_state_set_msg(&st.last_error, rc ? sb_err_msg(rc) : "");
	src = sb_state_save(&st, s->cfg.vault);
	rc = rc ? rc : src;
out:
	sb_state_clear(&st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

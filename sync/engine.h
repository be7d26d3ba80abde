#ifndef SB_ENGINE_H
#define SB_ENGINE_H

/*
 * The sync engine (DESIGN sec. 6, issue 4): one sync is
 *
 *   1. finish a checkout a crash interrupted (the journal in sync/state.h);
 *   2. commit what is pending (the changes given, or a stat-cache scan);
 *   3. fetch the remote's main into refs/sealbox/fetched;
 *   4. verify every new remote commit (sync/verify.h) from the last
 *      verified head; a refusal is recorded in the state and leaves the
 *      store, the mount and refs/heads/main untouched;
 *   5. integrate: nothing, a fast-forward (checkout HEAD -> remote), or a
 *      three-way merge on plaintext (sync/merge.h) committed as a signed
 *      merge commit and checked out; conflicts are recorded
 *      (sync/conflicts.h);
 *   6. push refs/heads/main (never forced); a rejection goes back to 3, a
 *      few times.
 *
 * Applying is journaled: the state file names the checkout in progress
 * (from, to) before the store changes and refs/heads/main moves only after
 * it; a restart redoes it (sb_checkout is idempotent), so no half-merged
 * state survives a crash.
 *
 * Without a remote, a sync is step 1 and 2. An unreachable remote is
 * SB_ENET after the local commit succeeded: the commits wait for the next
 * sync.
 *
 * Thread safety: every function takes the engine's lock, so the daemon's
 * sync thread and control-socket requests may call them concurrently.
 *
 * Ownership: the engine borrows everything in struct sb_sync_cfg; the
 * caller keeps it alive until sb_sync_free().
 */

#include <stdio.h>

#include "fs/store.h"
#include "sync/changes.h"
#include "sync/checkout.h"
#include "sync/repo.h"
#include "sync/statcache.h"

struct sb_sync_cfg {
	const char *vault;		/* store root and work tree */
	struct sb_repo *repo;
	struct sb_store *store;
	struct sb_statcache *sc;
	const char *device;		/* this device's name */
	sb_repo_sign_fn sign;		/* signs as this device */
	void *sign_ctx;
	sb_checkout_fn changed;		/* invalidation when mounted, or NULL */
	void *changed_ctx;
};

/* What one sync did, for the command's output and the log. */
struct sb_sync_report {
	int committed;			/* a local commit was made */
	int fetched, fast_forward, merged, pushed;
	size_t written, removed, kept;	/* checkout counts */
	size_t conflicts;
	char head[SB_OID_HEX];		/* refs/heads/main afterwards */
};

struct sb_sync;

int sb_sync_new(struct sb_sync **out, const struct sb_sync_cfg *cfg);
void sb_sync_free(struct sb_sync *s);

/*
 * Step 1 only: finishes an interrupted checkout. Call once before the
 * first commit after a start.
 */
int sb_sync_recover(struct sb_sync *s);

/*
 * Steps 1-2: commits the changes in c (NULL: scan the store). Returns 0
 * (rep->committed tells whether a commit was made) or an error.
 */
int sb_sync_commit(struct sb_sync *s, struct sb_changes *c,
		   struct sb_sync_report *rep);

/*
 * Steps 1-6. out, when not NULL, gets one line per step that did
 * something. Returns 0, or the error of the step that failed (with its
 * message recorded and saved in the state's last-error).
 */
int sb_sync_run(struct sb_sync *s, struct sb_changes *c,
		struct sb_sync_report *rep, FILE *out);

#endif

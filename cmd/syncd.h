#ifndef SB_SYNCD_H
#define SB_SYNCD_H

/*
 * The sync engine as the commands run it (sync/engine.h): opened for an
 * unlocked vault, either once (`sealbox sync` on a vault that is not
 * mounted) or as the mounted daemon's background service: a watcher
 * (sync/watch.h) feeding batched commits, a sync after each commit and
 * every fetch interval, exponential backoff while the remote cannot be
 * reached, and the control socket (cmd/control.h) answering `sync`.
 *
 * Settings, from the vault's local git config (never committed):
 *   sealbox.commitDelay   seconds of quiet before a commit (default 2)
 *   sealbox.commitMax     seconds between commits under continuous
 *                         writing (default 30)
 *   sealbox.fetchInterval seconds between fetches (default 60)
 *
 * Ownership: the vault v must stay unlocked and alive until
 * sb_syncd_close() / sb_syncd_stop(); so must the store.
 */

#include <stdio.h>

#include "cmd/vault.h"
#include "fs/store.h"
#include "sync/engine.h"

struct sb_fs;
struct sb_syncd;

/* Opens repository, stat cache and engine for v over st. */
int sb_syncd_open(struct sb_syncd **out, struct sb_vault *v,
		  struct sb_store *st);
struct sb_sync *sb_syncd_engine(struct sb_syncd *d);
void sb_syncd_close(struct sb_syncd *d);

/*
 * Starts the background service of a mounted daemon (fs may be NULL for
 * tests: no invalidation). Errors are printed; returns 0 or 1.
 */
int sb_syncd_start(struct sb_syncd *d, struct sb_fs *fs);

/* Prints what a sync did beyond its step lines ("up to date at ..."). */
void sb_syncd_report(const struct sb_sync_report *rep, FILE *out);

/* Stops the service after a last commit of what is pending. */
void sb_syncd_stop(struct sb_syncd *d);

#endif

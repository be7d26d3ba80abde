#ifndef SB_WATCH_H
#define SB_WATCH_H

/*
 * Watching the store for changes (DESIGN sec. 2, 6) with libinotifytools.
 *
 * One watcher per process (libinotifytools keeps global state): a thread
 * that watches every backing directory under the store root (not .git/,
 * new directories as they appear), and records the store path of every
 * entry created, written, closed after writing, moved in or out, deleted
 * or with changed attributes (utimensat, chmod, link count). Temporary
 * files (SB_STORE_TMP) are skipped, but the rename that puts one in
 * place is recorded under its final name. An event-queue overflow
 * (IN_Q_OVERFLOW) or a watch that cannot be added sets `all` in the
 * taken changes, so the caller scans with the stat cache: no change is
 * ever missed.
 *
 * Batching: a batch is due quiet_ms after the last change (default 2000),
 * or max_ms after the first change of the batch under continuous writing
 * (default 30000), whichever comes first.
 *
 * Thread safety: sb_watch_take(), sb_watch_wait(), sb_watch_kick(),
 * sb_watch_catch_up() may be called from any thread. Ownership: sb_watch_start() -> sb_watch_stop().
 */

#include "sync/changes.h"

struct sb_watch;

struct sb_watch_opts {
	unsigned quiet_ms;	/* 0: 2000 */
	unsigned max_ms;	/* 0: 30000 */
};

/* Starts watching root (the store root). -errno or SB_E* on failure. */
int sb_watch_start(struct sb_watch **out, const char *root,
		   const struct sb_watch_opts *o);

/*
 * Waits until a batch is due, sb_watch_kick() is called, or timeout_ms
 * passes (-1: no limit). Returns 1 when a batch is due or kicked, 0 on
 * timeout, -ECANCELED after sb_watch_stop() began.
 */
int sb_watch_wait(struct sb_watch *w, int timeout_ms);

/*
 * 1 while changes are recorded whose batch is not taken yet (a batch is
 * then due within max_ms), 0 otherwise.
 */
int sb_watch_busy(struct sb_watch *w);

/* Wakes sb_watch_wait() now (e.g. `sealbox sync` asked for a sync). */
void sb_watch_kick(struct sb_watch *w);

/*
 * Returns once the thread has handled every event the kernel queued
 * before this call (it reads events in batches, after a short pause), so
 * that sb_watch_take() then holds every change made before. 0, or
 * -ETIMEDOUT after timeout_ms, -ECANCELED when sb_watch_stop() began, or
 * a write error: then take the changes with `all` set to be safe.
 */
int sb_watch_catch_up(struct sb_watch *w, int timeout_ms);

/* Moves the changes recorded so far into c (merging with what c holds). */
int sb_watch_take(struct sb_watch *w, struct sb_changes *c);

/* Stops the thread and frees the watcher. NULL-safe. */
void sb_watch_stop(struct sb_watch *w);

#endif

#ifndef SB_CHECKOUT_H
#define SB_CHECKOUT_H

/*
 * Applying a verified tree to the store (DESIGN sec. 3, 6): the store,
 * which holds tree `from`, is made to hold tree `to`, one file at a time,
 * each atomically: a new or changed file is written from its blob to a
 * temporary backing file in the same directory (SB_STORE_TMP prefix),
 * fsynced, given the mtime recorded in its content header (so file mtimes
 * travel between devices), and renamed into place; a removed file is
 * unlinked; a directory appears with its marker and goes when its marker
 * and entries are gone. Directories are fsynced after their entries
 * change. No file is ever seen half written, through the mount or after
 * a crash.
 *
 * Local changes win the race: before a path is replaced or removed, its
 * lstat is compared with the stat cache (the state of `from`); a path the
 * user changed since (or one the cache does not know and that differs
 * from `from`'s blob) is left alone and counted in res->kept, for the
 * next commit to pick up. The stat cache gets the new identity of every
 * path written and loses every path removed; it is saved at the end.
 *
 * Idempotent: running it again after a crash (from the same `from`, or
 * from any state between `from` and `to`) finishes the job; paths that
 * already match `to` are skipped.
 *
 * Ownership: the caller keeps everything it passes.
 */

#include "fs/store.h"
#include "sync/repo.h"
#include "sync/statcache.h"

/* Called with each plaintext path changed (files and the directories whose
 * entries changed), so the mount can invalidate the kernel's caches. */
typedef void (*sb_checkout_fn)(const char *plain_path, void *ctx);

struct sb_checkout_result {
	size_t written, removed, kept;
};

/*
 * from, to: commit or tree ids (hex). from NULL or "": an empty store (a
 * fresh clone: every path is written). Returns 0 or an error; on error
 * the paths done so far stay done, the rest as they were.
 */
int sb_checkout(struct sb_checkout_result *res, struct sb_repo *r,
		struct sb_store *st, struct sb_statcache *sc,
		const char *from, const char *to, sb_checkout_fn changed,
		void *ctx);

#endif

#ifndef SB_STATCACHE_H
#define SB_STATCACHE_H

/*
 * The stat cache (local state, VAULT/.git/sealbox/statcache, 0600, never
 * committed): for every committed store path, the backing file's
 * identity when it was last committed or checked out, and its blob id.
 * A file whose lstat still matches (inode, size, mtime and ctime with
 * nanoseconds, mode) is unchanged and is never read again; that is how a
 * restart catches up without reading the whole store, and how checkout
 * tells a file it wrote from one the user changed.
 *
 * Persistence costs O(changes): sb_statcache_save() appends the records
 * changed since the last save to a log and rewrites the file compacted
 * only when the log has grown larger than the live entries. Every record
 * has a checksum; a torn or damaged tail is dropped (those paths just look
 * changed and are hashed again), never trusted.
 *
 * Paths are store paths (backing paths relative to the store root, as in
 * sync/changes.h), not tree paths.
 *
 * Not thread safe: one owner (the sync engine) at a time.
 * Ownership: sb_statcache_open() -> sb_statcache_free().
 */

#include <stdint.h>
#include <sys/stat.h>

#include "sync/repo.h"

struct sb_statcache;

struct sb_statcache_ent {
	uint64_t ino, size;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	uint32_t mode;
	char oid[SB_OID_HEX];		/* blob id, hex */
};

/* Loads file (created on the first save when missing). */
int sb_statcache_open(struct sb_statcache **out, const char *file);
void sb_statcache_free(struct sb_statcache *sc);

/* 0 and *e, or -ENOENT. */
int sb_statcache_get(struct sb_statcache *sc, const char *path,
		     struct sb_statcache_ent *e);
int sb_statcache_put(struct sb_statcache *sc, const char *path,
		     const struct stat *st, const char oid[SB_OID_HEX]);
/* Removes path and, when path is a directory prefix, everything below. */
int sb_statcache_del(struct sb_statcache *sc, const char *path);

/* 1 when st (an lstat of the backing file) matches e. */
int sb_statcache_fresh(const struct sb_statcache_ent *e,
		       const struct stat *st);

/* Calls fn for every entry in path order; non-zero from fn stops. */
typedef int (*sb_statcache_fn)(const char *path,
			       const struct sb_statcache_ent *e, void *arg);
int sb_statcache_each(struct sb_statcache *sc, sb_statcache_fn fn,
		      void *arg);

/* Forgets everything (a clone or a rebuilt cache). */
void sb_statcache_reset(struct sb_statcache *sc);

/*
 * Makes the changes since the last save durable (fsynced).
 * sb_statcache_put() and sb_statcache_del() save by themselves when
 * half a MiB of changes is pending.
 */
int sb_statcache_save(struct sb_statcache *sc);

#endif

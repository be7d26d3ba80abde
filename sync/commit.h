#ifndef SB_COMMIT_H
#define SB_COMMIT_H

/*
 * From changed store paths to a signed commit (DESIGN sec. 6, issue 4
 * part 1).
 *
 * sb_commit_scan() finds what changed since the last commit by walking
 * the store and comparing lstat with the stat cache (after a restart, or
 * when inotify overflowed); it reads no file whose stat is unchanged.
 *
 * sb_commit_changes() builds the new tree from the previous one with
 * git_tree_create_updated(), touching only the changed paths (through the
 * fan-out levels of sync/repo.h), hashes only files whose stat changed,
 * and writes the blobs and trees as one pack when there are many (blobs
 * spooled to the pack file as they are read, sync/packrepo.h), as loose
 * objects when few.
 * Per-machine state is never committed: a path whose plaintext path
 * sb_ignore_plain() names (decrypted through the store), and the store's
 * own scratch files (sb_repo_path_ignored()). A directory path is
 * expanded to everything below it; a path that no longer exists is
 * removed with everything below it.
 *
 * Ownership: the caller keeps everything it passes.
 */

#include "fs/store.h"
#include "sync/changes.h"
#include "sync/repo.h"
#include "sync/statcache.h"

struct sb_commit_opts {
	const char *message;
	const char *name, *email;	/* author and committer */
	sb_repo_sign_fn sign;
	void *sign_ctx;
	const char *merge_parent;	/* second parent (a merge), or NULL */
	int pack_threshold;		/* pack when more objects; 0: 64 */
};

/*
 * Adds to c every store path whose stat differs from the cache, every
 * new path and every cached path that is gone. 0 or an error.
 */
int sb_commit_scan(struct sb_repo *r, struct sb_store *st,
		   struct sb_statcache *sc, struct sb_changes *c);

/*
 * Commits the changes in c on top of HEAD (c->all: a scan first) and moves
 * refs/heads/main. Returns 0 with the new commit in oid, 1 when the tree
 * did not change (no commit; oid is HEAD, "" when there is none), or an
 * error. The stat cache is updated and saved for every path committed.
 */
int sb_commit_changes(struct sb_repo *r, struct sb_store *st,
		      struct sb_statcache *sc, struct sb_changes *c,
		      const struct sb_commit_opts *o, char oid[SB_OID_HEX]);

#endif

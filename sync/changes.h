#ifndef SB_CHANGES_H
#define SB_CHANGES_H

/*
 * A set of changed store paths: backing paths relative to the store root
 * ("Xy9.../Ab3...", "Xy9.../.sbdir"), as inotify and the stat-cache scan
 * report them and as sync/commit.h turns them into a commit. A path may
 * name a file, a symlink, a directory (everything below it is looked at)
 * or something that no longer exists (it is removed from the tree).
 *
 * Not thread safe: the watcher fills one under its own lock and hands it
 * over whole (sync/watch.h).
 *
 * Ownership: sb_changes_new() -> sb_changes_free(); strings are copied.
 */

#include <stddef.h>

struct sb_changes {
	char **paths;		/* sorted, unique, none below another one
				 * after sb_changes_sort() */
	size_t n, alloc;
	int all;		/* set: look at the whole store (a scan) */
};

int sb_changes_new(struct sb_changes **out);
void sb_changes_free(struct sb_changes *c);

/* Adds a copy of path (leading "./" and "/" dropped). 0 or -ENOMEM. */
int sb_changes_add(struct sb_changes *c, const char *path);

/* Moves every path of from into c (from ends up empty). 0 or -ENOMEM. */
int sb_changes_merge(struct sb_changes *c, struct sb_changes *from);

/*
 * Sorts and removes duplicates and the paths below another path of the
 * set (looking at a directory looks at everything below it; a path
 * that is a file or is gone now stands for its whole old subtree too).
 */
void sb_changes_sort(struct sb_changes *c);

/* Empties c (keeps its allocation). */
void sb_changes_clear(struct sb_changes *c);

#endif

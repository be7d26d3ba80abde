#ifndef SB_COMMITTREE_H
#define SB_COMMITTREE_H

/*
 * Internal to sync/ (commit.c): from the collected changes of a commit
 * job to its new tree. sb_committree_hash_all() reads and stores the
 * changed files as blobs, sb_committree_resolve() checks the updates
 * against HEAD's tree (dropping those with nothing to do),
 * sb_committree_build_tree() writes the tree. Owned by sync/committree.c;
 * struct job and struct upd belong to commit.c, which fills, owns and
 * frees them (job_close()). Errors: 0 or a negative errno / SB_E* code
 * with a message (crypto/err.h).
 */

#include <limits.h>
#include <sys/stat.h>

#include <git2.h>

#include "sync/commit.h"

#define TPATH_MAX (3 * PATH_MAX + 1)

struct sb_packrepo;

/* What a commit keeps of a file's lstat (a struct stat is 144 bytes). */
struct upd_stat {
	uint64_t ino, size;
	struct timespec mtim, ctim;
	mode_t mode;
};

void sb_upd_stat_set(struct upd_stat *u, const struct stat *st);
/* st, zeroed, with the fields u keeps. */
void sb_upd_stat_get(struct stat *st, const struct upd_stat *u);

/*
 * One changed entry. Tree paths are sorted with strcmp, as
 * git_tree_create_updated() sorts them, so that everything below a
 * directory is one contiguous run.
 */
struct upd {
	char *spath, *tpath;
	struct upd_stat st;
	git_oid oid;
	git_filemode_t mode;
	unsigned remove:1;	/* else upsert */
	unsigned hash:1;	/* stat changed: read and hash */
	unsigned drop:1;	/* nothing to do in the tree */
	unsigned pre:1;		/* remove tpath in a first pass (type change) */
	unsigned nocache:1;	/* changed while read: hash again next time */
};

struct job {
	struct sb_repo *r;
	struct sb_store *st;
	struct sb_statcache *sc;
	int rootfd;
	git_repository *g;	/* where objects are written and read */
	struct sb_packrepo *pr;	/* pack mode: g is its repository */
	git_tree *base;		/* HEAD's tree in g, or NULL */
	char head[SB_OID_HEX];	/* "" when there is no commit */
	struct upd *u;
	size_t n, alloc;
	size_t nhash;
	struct sb_changes *scan;	/* sb_commit_scan's output */
	size_t cached, seen;		/* cache entries; of them on disk */
};

/*
 * How many trees the changes touch at most: the root and each directory
 * on the sorted tree paths.
 */
size_t sb_committree_tree_estimate(const struct job *j);
int sb_committree_hash_all(struct job *j);
int sb_committree_resolve(struct job *j);
int sb_committree_build_tree(struct job *j, git_oid *out);

/*
 * Defined in commit.c. file_mode: the git mode of a file or symlink.
 * base_entry: tpath's entry in j->base ("" is the root: 0 and *te NULL),
 * GIT_ENOTFOUND when absent, a git error otherwise; free *te with
 * git_tree_entry_free().
 */
git_filemode_t sb_commit_file_mode(const struct stat *st);
int sb_commit_base_entry(struct job *j, git_tree_entry **te,
			 const char *tpath);

#endif

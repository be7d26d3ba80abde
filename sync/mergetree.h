#ifndef SB_MERGETREE_H
#define SB_MERGETREE_H

/*
 * For sync/merge.c only: the trees of a merge as plaintext items, and the
 * merged tree built from them (sync/merge.h has the rules).
 *
 * Only the store paths that differ between base and either side are
 * listed (git_diff_tree_to_tree() skips unchanged subtrees), each looked
 * up in all three trees: an entry at its backing path, or a directory
 * whose version is its marker. Sidecars and markers go with their
 * entries and directories; .sealbox/ is not listed.
 *
 * Ownership: struct sb_mergetree is the caller's; its contents are freed
 * with sb_mergetree_free().
 */

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "fs/store.h"
#include "sync/merge.h"

#define SB_MT_NONE SIZE_MAX

enum { SB_MT_BASE, SB_MT_OURS, SB_MT_THEIRS };

/* One side's version of an item. */
struct sb_mt_ver {
	git_oid oid;
	git_filemode_t mode;
	int present;
};

/*
 * A plaintext path that differs between the trees (or that the merge
 * writes): a file or symlink at its backing path, or a directory, whose
 * version is its marker. res starts as ours.
 */
struct sb_mt_item {
	char *spath, *plain;
	int isdir;
	struct sb_mt_ver v[3], res;
	unsigned maildir:1, touched:1, fixed:1;
};

struct sb_mergetree {
	git_repository *g;
	struct sb_store *st;
	git_tree *t[3];
	struct sb_mt_item *it;
	size_t n, alloc;
	size_t *slot;		/* index by (isdir, plain) */
	size_t cap;
	const char *dev[3];
	struct sb_merge_report *rep;
};

/* Looks the three trees up (commit or tree ids; base may be NULL). */
int sb_mergetree_open(struct sb_mergetree *m, const char *base,
		      const char *ours, const char *theirs);
void sb_mergetree_free(struct sb_mergetree *m);

/* Lists the items; names that do not decrypt are SB_EAUTH/SB_EFORMAT. */
int sb_mergetree_list(struct sb_mergetree *m);

/* The index of an item, or SB_MT_NONE. */
size_t sb_mergetree_find(const struct sb_mergetree *m, const char *plain,
			 int isdir);
/* The item of a plaintext path, made from the trees when new. */
int sb_mergetree_get(struct sb_mergetree *m, const char *plain, int isdir,
		     size_t *idx);
/* 1 when the plaintext path is taken in the merged tree (so far). */
int sb_mergetree_taken(struct sb_mergetree *m, const char *plain);

/* 1 when two versions are the same (blob and mode, or both absent). */
int sb_mergetree_same(const struct sb_mt_ver *a, const struct sb_mt_ver *b);

/*
 * Writes the merged tree: ours' tree with every item's res (and the
 * sidecars of long names), .sealbox/ replaced by policy when take.
 */
int sb_mergetree_build(struct sb_mergetree *m, int take,
		       const git_oid *policy, git_oid *out);

#endif

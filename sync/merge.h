#ifndef SB_MERGE_H
#define SB_MERGE_H

/*
 * Three-way merge of two commits on plaintext paths (DESIGN sec. 6).
 *
 * The three trees are listed and their names decrypted through the store
 * (long names through their sidecars in the same tree); then:
 *   - Maildir messages (a path ".../new/x" or ".../cur/x" under mail/)
 *     merge by unique name with sb_maildir_merge();
 *   - .vcf and .ics files changed on both sides merge per UID and
 *     property with sb_pim_merge(): the merged text is encrypted (content
 *     keys of the store, the later mtime of the two sides) into a new blob;
 *     each losing property line becomes a conflict record;
 *   - any other path changed on both sides to different contents (an
 *     item sb_pim_merge() refuses included): ours stays at the path and
 *     theirs is kept next to it as "<name>.sealbox-conflict-<device>"
 *     (a numbered suffix when that exists), recorded as a conflict;
 *   - a directory removed on one side while the other added or changed
 *     something inside it is kept with what the other side wrote;
 *   - changed on one side only: that side's version (blob, mode,
 *     symlink);
 *   - .sealbox/ is never merged: it is taken from the only side that
 *     changed it since the base (sync/verify.c accepts such a merge only
 *     when the kept side holds every policy change); changed on both
 *     sides, or different with no base: SB_EPOLICY.
 * The merged tree is written to the repository; nothing in the store is
 * touched (sync/checkout.h applies it). The result does not depend on
 * which side is ours except for the conflict file names and records.
 *
 * Ownership: *rep from sb_merge_trees() is freed with
 * sb_merge_report_free().
 */

#include <stddef.h>

#include "fs/store.h"
#include "sync/repo.h"

struct sb_merge_conflict {
	char *path;		/* plaintext path of the item */
	char *kept;		/* plaintext path of the kept copy, or NULL */
	char *where;		/* "VEVENT UID=x RECURRENCE-ID=y", or NULL */
	char *what;		/* property key "EMAIL;TYPE=work", or NULL */
	char *line;		/* the losing content line, or NULL */
	char *loser;		/* device whose version lost */
	char old_blob[SB_OID_HEX];	/* losing side's whole item, or "" */
};

struct sb_merge_report {
	size_t merged_pim, maildir_ops, kept_both;
	struct sb_merge_conflict *conflicts;
	size_t nconflicts;
};

/*
 * base: the merge base commit (NULL: none, every path was added on both
 * sides); ours, theirs: commits. ours_dev and theirs_dev name the
 * devices (for conflict names; theirs_dev from the signer of theirs).
 * tree receives the merged tree's id. 0 or an error (SB_EPOLICY as
 * above, SB_EAUTH for a name or item that does not decrypt).
 */
int sb_merge_trees(struct sb_merge_report **rep, char tree[SB_OID_HEX],
		   struct sb_repo *r, struct sb_store *st, const char *base,
		   const char *ours, const char *theirs, const char *ours_dev,
		   const char *theirs_dev);

void sb_merge_report_free(struct sb_merge_report *rep);

#endif

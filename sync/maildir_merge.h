#ifndef SB_MAILDIR_MERGE_H
#define SB_MAILDIR_MERGE_H

/*
 * Three-way merge of Maildir trees on plaintext paths (DESIGN section 6).
 * Pure: no I/O; the sync engine lists the three trees and applies the
 * operations returned.
 *
 * Input: for base, ours and theirs, the paths of the messages, e.g.
 * "mail/cur/1700.M1P2.host:2,FS" or "mail/.Archive/new/1700.M3.host".
 * The parent directory must be "new" or "cur" (the folder is what comes
 * before it, possibly empty); anything else (tmp/, an empty name, a
 * trailing slash) is SB_EFORMAT. Base may be empty (no common ancestor).
 *
 * Identity: a message is its unique name, the part of the file name before
 * ":2," (the whole name when there is none), across new/ and cur/ and
 * across folders. Its state is (folder, new|cur, flag set); flags are the
 * bytes after ":2,", any byte (unknown and lowercase experimental flags
 * are kept), written sorted by byte value without repeats.
 *
 * Rules, for a message present in base:
 *   - both sides present: folder, new|cur and each flag merge three-way
 *     independently: a side that changed it wins, both changed it the same
 *     way is that. So flag changes on both sides combine, and a move (to
 *     another folder or new -> cur) on one side combines with a flag
 *     change on the other.
 *   - both moved to different folders: the folder that sorts first
 *     (strcmp) wins; the other move is not kept as a copy (a move writes
 *     no content; a copy would show the message twice).
 *   - deleted on one side, the other side kept it in its base folder
 *     (flag changes and new -> cur included): deleted. A delete beats a
 *     flag change.
 *   - deleted on one side, moved to another folder on the other: kept as
 *     the other side has it (filing it was a deliberate act; nothing a
 *     user wrote is lost silently).
 * For a message not in base:
 *   - new on one side: present.
 *   - new on both sides (same unique name): both files present; one file
 *     when the paths are equal (the content is the caller's concern: a
 *     Maildir file is immutable, equal path means equal message).
 * A unique name present more than once in one input (a copied file, or a
 * previous "both present") is merged by path: the union of ours and
 * theirs, less the paths in base that either side removed.
 *
 * The merged tree does not depend on which side is "ours": applying the
 * operations of merge(base, a, b) to a gives the same set of paths as
 * those of merge(base, b, a) to b.
 *
 * Output: the operations that turn ours into the merged tree. None of
 * them collide with each other or with a path they do not name, so any
 * order works; they come sorted by (kind, from, to) for determinism.
 *   SB_MAILDIR_DELETE  from = a path in ours to remove
 *   SB_MAILDIR_RENAME  from = a path in ours, to = its new path
 *   SB_MAILDIR_ADD     from = a path in theirs (the content to copy),
 *                      to = where it goes in ours (equal to from)
 *
 * Ownership: *out is allocated by sb_maildir_merge() and freed with
 * sb_maildir_ops_free(); the input strings are only read.
 */

#include <stddef.h>

enum sb_maildir_op_kind {
	SB_MAILDIR_DELETE = 1,
	SB_MAILDIR_RENAME = 2,
	SB_MAILDIR_ADD = 3,
};

struct sb_maildir_op {
	enum sb_maildir_op_kind kind;
	char *from;
	char *to;		/* NULL for SB_MAILDIR_DELETE */
};

struct sb_maildir_ops {
	size_t n;
	struct sb_maildir_op *ops;
};

/* 0, -ENOMEM or SB_EFORMAT (a path that is not a Maildir message). */
int sb_maildir_merge(struct sb_maildir_ops **out,
		     const char *const *base, size_t nbase,
		     const char *const *ours, size_t nours,
		     const char *const *theirs, size_t ntheirs);

void sb_maildir_ops_free(struct sb_maildir_ops *ops);

#endif

#ifndef SB_HISTORY_H
#define SB_HISTORY_H

/*
 * Reading history for `sealbox log` and `sealbox status` (issue 4 part 6).
 *
 * A walk follows the first parents of a commit, newest first (merges are
 * shown, the commits they brought in are not: git log --first-parent).
 * For each commit: id, committer time, message, parents, and the device
 * that signed it (sync/verify.h; "" when it cannot be told).
 *
 * The changes of a commit are the paths that differ between its tree and
 * its first parent's (every path for a root commit), mapped back to store
 * paths (fan-out levels dropped) and decrypted through the store:
 *   - a directory marker ".../.sbdir" stands for the directory itself
 *     (mode S_IFDIR);
 *   - long-name sidecars and the store's own files are left out;
 *   - ".sealbox/..." (public metadata) is shown as it is;
 *   - long names are read through their sidecars in the commit's tree
 *     (the parent's tree for a deleted path), not from the disk;
 *   - a name that does not decrypt (damaged, other keys, a sidecar
 *     missing from both trees) is shown as "?", after its parent's
 *     plaintext path when that decrypts ("mail/cur/?").
 * No file content is read.
 *
 * The summary groups changes per folder: a Maildir message (a file whose
 * parent is "new" or "cur") is known by its unique name (before ":"); a
 * message removed and added in the same commit under the same unique name
 * is a move (other folder, or new/ <-> cur/) and/or a flag change (other
 * flags), counted in the folder it lands in. .ics files count as events,
 * .vcf files as contacts, anything else as files.
 *
 * Thread safety: none (one caller per struct sb_repo at a time).
 * Ownership: every *out is freed with the matching _free(); strings in
 * structs are owned by them.
 */

#include <stddef.h>
#include <stdint.h>

#include "fs/store.h"
#include "sync/repo.h"

struct sb_history_commit {
	char oid[SB_OID_HEX];
	char signer[64];		/* device name, "recovery", or "" */
	int64_t time;			/* committer time, unix seconds */
	int tz;				/* committer time zone, minutes */
	char *message;			/* whole message */
	size_t nparents;
	char parents[2][SB_OID_HEX];	/* the first two */
};

struct sb_history;

/* Starts a first-parent walk at commit head (hex id). */
int sb_history_open(struct sb_history **out, struct sb_repo *r,
		    const char *head);
/* 1 with *c filled (clear it with sb_history_commit_clear()), 0 at the
 * end, or an error. */
int sb_history_next(struct sb_history *h, struct sb_history_commit *c);
void sb_history_commit_clear(struct sb_history_commit *c);
void sb_history_free(struct sb_history *h);

/*
 * Counts the commits reachable from head (every parent), stopping at max:
 * *n is then max + 1.
 */
int sb_history_count(struct sb_repo *r, const char *head, size_t max,
		     size_t *n);

/* Commits in local not in upstream (ahead) and the other way (behind). */
int sb_history_ahead_behind(struct sb_repo *r, const char *local,
			    const char *upstream, size_t *ahead,
			    size_t *behind);

struct sb_history_change {
	char status;			/* 'A' added, 'D' deleted, 'M' changed */
	uint32_t mode;			/* S_IFREG, S_IFLNK, S_IFDIR (| perms) */
	char *path;			/* plaintext path (see above) */
	char *store_path;		/* backing path */
};

struct sb_history_changes {
	struct sb_history_change *c;	/* sorted by path */
	size_t n;
};

/* The changes of commit oid against its first parent. */
int sb_history_changes(struct sb_history_changes **out, struct sb_repo *r,
		       struct sb_store *st, const char *oid);
void sb_history_changes_free(struct sb_history_changes *ch);

enum sb_history_count_kind {
	SB_HC_CREATED,			/* the folder itself appeared */
	SB_HC_MSG_ADDED, SB_HC_MSG_REMOVED,
	SB_HC_EVENT_ADDED, SB_HC_EVENT_REMOVED,
	SB_HC_CONTACT_ADDED, SB_HC_CONTACT_REMOVED,
	SB_HC_FILE_ADDED, SB_HC_FILE_REMOVED,
	SB_HC_CHANGED,			/* same path, new content */
	SB_HC_FLAGS,			/* Maildir flag changes */
	SB_HC_MOVED,			/* Maildir moves into this folder */
	SB_HC_REMOVED,			/* the folder itself went */
	SB_HC_KINDS
};

struct sb_history_folder {
	char *folder;			/* "mail/INBOX", "." for the root */
	size_t count[SB_HC_KINDS];
};

struct sb_history_summary {
	struct sb_history_folder *f;	/* sorted by folder */
	size_t n;
};

int sb_history_summarize(struct sb_history_summary **out,
			 const struct sb_history_changes *ch);
void sb_history_summary_free(struct sb_history_summary *s);

/*
 * "mail/INBOX: +3 messages, 2 flag changes, 1 moved" into buf (truncated
 * to size). Returns the length it needed, as snprintf.
 */
int sb_history_folder_line(char *buf, size_t size,
			   const struct sb_history_folder *f);

#endif

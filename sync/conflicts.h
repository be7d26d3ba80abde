#ifndef SB_CONFLICTS_H
#define SB_CONFLICTS_H

/*
 * Kept versions (DESIGN sec. 6: "nothing a user wrote is ever lost
 * silently"). After a merge, every conflict of the merge report is
 * recorded on this device under VAULT/.git/sealbox/conflicts/ (0700), one
 * file per record, sealed with the store's content keys (never plaintext
 * on disk), named by a sequence number. A record holds: its number, the
 * time, the merge commit, the plaintext path, and either the kept copy's
 * path (both sides kept) or the component, property key and losing line
 * of a vCard/iCalendar property conflict with the losing side's whole
 * item (blob id).
 *
 * Restoring a property conflict writes the item back into the store with
 * the losing line in place of the property's current value in that
 * component (the rest of the item as it is now); restoring a kept copy
 * moves it over the original path. Either is then committed and synced
 * like any other change. A restored record is marked restored, not
 * deleted; sb_conflicts_drop() forgets one.
 *
 * Ownership: lists from sb_conflicts_list() are freed with
 * sb_conflicts_list_free().
 */

#include <stdint.h>
#include <time.h>

#include "fs/store.h"
#include "sync/merge.h"

struct sb_conflict_rec {
	unsigned id;
	int64_t when;
	char merge[SB_OID_HEX];
	struct sb_merge_conflict c;
	int restored;
};

struct sb_conflict_list {
	struct sb_conflict_rec *recs;
	size_t n;
};

/* dir: VAULT/.git/sealbox/conflicts. Records every conflict of rep. */
int sb_conflicts_record(struct sb_store *st, const char *dir,
			const struct sb_merge_report *rep, const char *merge,
			int64_t when);
int sb_conflicts_list(struct sb_conflict_list **out, struct sb_store *st,
		      const char *dir);
void sb_conflicts_list_free(struct sb_conflict_list *l);

/* Restores record id into the store (see above); -ENOENT if unknown. */
int sb_conflicts_restore(struct sb_store *st, struct sb_repo *r,
			 const char *dir, unsigned id);
int sb_conflicts_drop(const char *dir, unsigned id);

#endif

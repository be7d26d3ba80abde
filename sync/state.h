#ifndef SB_STATE_H
#define SB_STATE_H

/*
 * The sync engine's local state (never committed):
 * VAULT/.git/sealbox/sync-state, a text file of "key value" lines,
 * rewritten atomically (temp file, fsync, rename), 0600:
 *
 *   verified <oid>           last remote head that passed verification
 *   last-sync <unix time>    end of the last sync that fully succeeded
 *   last-attempt <time>      end of the last sync attempt
 *   last-error <message>     why the last attempt failed (one line)
 *   refused <oid> <time> <message>   the last commit refused by
 *                            verification, when and why
 *   pushed <oid>             last commit the remote accepted
 *   applying <from> <to>     a checkout in progress (journal)
 *
 * Unknown keys are kept as they are (newer versions may add some).
 * Ownership: strings in struct sb_state are malloc'd; free with
 * sb_state_clear().
 */

#include <stdint.h>

#include "sync/repo.h"

#define SB_STATE_FILE ".git/sealbox/sync-state"

struct sb_state {
	char verified[SB_OID_HEX];
	char pushed[SB_OID_HEX];
	int64_t last_sync, last_attempt;
	char *last_error;
	char refused[SB_OID_HEX];
	int64_t refused_at;
	char *refused_why;
	char apply_from[SB_OID_HEX], apply_to[SB_OID_HEX];
	char *extra;		/* unknown lines, kept verbatim */
};

/* Reads VAULT's state; a missing file is an empty state (0). */
int sb_state_load(struct sb_state *s, const char *vault);
int sb_state_save(const struct sb_state *s, const char *vault);
void sb_state_clear(struct sb_state *s);

/* Sets a malloc'd copy of msg (newlines turned to spaces) in *field. */
int sb_state_set_msg(char **field, const char *msg);

#endif

#ifndef SB_PIM_EDIT_H
#define SB_PIM_EDIT_H

/*
 * Putting one property line back into a vCard / iCalendar item (used to
 * restore the losing line of a merge conflict, sync/conflicts.h). Pure:
 * no I/O.
 *
 * The text is read as sync/pim_merge.h reads it: lines end in CRLF or LF,
 * a line starting with a space or a tab continues the previous one, blank
 * lines are skipped. The component is found by the label sync/pim_merge.c
 * gives it: its name in upper case, then " UID=", " RECURRENCE-ID=",
 * " TZID=" with the first value of each that it has ("VCARD UID=x",
 * "VEVENT UID=x RECURRENCE-ID=y"); the first match counts. In it (not in
 * its nested components) every line whose key (name in any case, then
 * the parameters as written, up to the unquoted ":") is `what` is
 * removed and line is put where the first of them was, or, when there was
 * none, before the component's first nested component or its END. line
 * NULL only removes.
 *
 * Output: every logical line folded at 75 octets (never inside a UTF-8
 * sequence; continuation lines start with a space) and ended by CRLF.
 *
 * Ownership: *out is malloc'd (NUL-terminated, *outlen octets before
 * the NUL): sb_wipe() and free() it.
 */

#include <stddef.h>

/*
 * Returns 0, -ENOENT when no component has the label where ("the item no
 * longer holds ..."), SB_EFORMAT for a text that is not content lines, or
 * -ENOMEM.
 */
int sb_pim_replace_prop(char **out, size_t *outlen, const char *text,
			size_t len, const char *where, const char *what,
			const char *line);

#endif

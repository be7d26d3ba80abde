#ifndef SB_PIM_MERGE_H
#define SB_PIM_MERGE_H

/*
 * Three-way merge of one vCard (.vcf, RFC 6350) or iCalendar (.ics,
 * RFC 5545) item on its plaintext (DESIGN section 6). Pure: no I/O.
 *
 * Parsing. Lines end in CRLF or LF; a line starting with a space or a tab
 * continues the previous one (the first character is dropped); blank lines
 * are skipped; a UTF-8 byte order mark is skipped. A content line is
 * name *(";" param) ":" value, the name letters, digits, "-" and "." (a
 * vCard group), parameter values may be quoted. Each text must hold
 * exactly one outermost BEGIN/END component, the same one in the three
 * texts (same name, same UID, RECURRENCE-ID and TZID properties if any:
 * a vCard with another UID is another contact). SB_EFORMAT, so that the
 * caller keeps both files, for: a different item, no
 * BEGIN/END, a component name other than letters, digits, "-" and ".",
 * unbalanced or mismatched BEGIN/END, lines after the END, a
 * line without ":", an empty name, a continuation with nothing to
 * continue, NUL or other control bytes (tab and CRLF excepted), invalid
 * UTF-8, a physical line over SB_PIM_LINE_MAX octets, a text over
 * SB_PIM_TEXT_MAX octets, nesting deeper than SB_PIM_DEPTH_MAX, or two
 * component instances with the same identity in one text.
 *
 * Identity. A nested component with a UID, RECURRENCE-ID or TZID property
 * is an instance, identified by its name and those values (an iCalendar
 * VEVENT/VTODO by UID + RECURRENCE-ID, a VTIMEZONE by TZID); instances
 * merge recursively. A nested component without them (VALARM, STANDARD,
 * DAYLIGHT) is compared whole, as one value of a multi-valued property.
 *
 * Properties are keyed by name (case-insensitive) and parameters (as
 * written). Per key, three-way:
 *   - multi-valued (EMAIL, TEL, ATTENDEE, ADR, URL, IMPP, CATEGORIES,
 *     MEMBER, RELATED, CLIENTPIDMAP, LANG, COMMENT, CONTACT, ATTACH,
 *     EXDATE, RDATE, RELATED-TO, RESOURCES, REQUEST-STATUS, nested
 *     components without identity, and any key present more than once in
 *     one text): compared as sets of lines; each line is in the result if
 *     the side that changed it has it (added on one side: added; removed
 *     on one side: removed).
 *   - otherwise one value: changed on one side, that side wins; deleted
 *     on one side, unchanged on the other: deleted; changed on both to
 *     different values (a delete counts as a change): the later side
 *     wins, later by the instance's REV, LAST-MODIFIED or DTSTAMP (the
 *     first present, digits compared; for the outermost VCALENDAR the
 *     latest of its instances); on a tie the value that sorts last
 *     (strcmp, absent first) wins. The losing line, when there is one, is
 *     returned as a struct sb_pim_conflict for the caller to keep.
 *   - REV, LAST-MODIFIED and DTSTAMP changed on both sides take the later
 *     value and SEQUENCE the larger, without a conflict record.
 * Instances: added on one side: added; deleted on one side and unchanged
 * on the other: deleted; deleted on one side and changed on the other:
 * the changed instance is kept (nothing a user wrote is lost silently).
 *
 * Output. BEGIN, then VERSION, then the properties in base order with new
 * keys sorted after them (multi-valued lines: base order, then new lines
 * sorted), then nested components in the same order, then END. Lines end
 * in CRLF and are folded at 75 octets (never inside a UTF-8 sequence).
 * The result does not depend on which side is "ours" (conflict records
 * name the losing side, so their side field swaps).
 *
 * Ownership: *out from sb_pim_merge() is freed with sb_pim_merged_free();
 * inputs are only read. Base may be NULL with blen 0 (no common ancestor:
 * every key is "added on both sides").
 */

#include <stddef.h>

#define SB_PIM_LINE_MAX 65536
#define SB_PIM_TEXT_MAX (16u << 20)
#define SB_PIM_DEPTH_MAX 16

enum sb_pim_side {
	SB_PIM_OURS = 1,
	SB_PIM_THEIRS = 2,
};

struct sb_pim_conflict {
	char *where;		/* "VEVENT UID=x RECURRENCE-ID=y", "VCARD UID=z" */
	char *name;		/* the property key: NAME;params as written */
	char *line;		/* the losing content line, unfolded, no CRLF */
	enum sb_pim_side side;	/* whose value lost */
};

struct sb_pim_merged {
	char *text;		/* NUL-terminated, len octets before the NUL */
	size_t len;
	struct sb_pim_conflict *conflicts;
	size_t nconflicts;
};

/* 0, -ENOMEM or SB_EFORMAT (with a message naming the text and line). */
int sb_pim_merge(struct sb_pim_merged **out, const char *base, size_t blen,
		 const char *ours, size_t olen, const char *theirs,
		 size_t tlen);

/* 0 if buf parses as described above, else SB_EFORMAT or -ENOMEM. */
int sb_pim_check(const char *buf, size_t len);

void sb_pim_merged_free(struct sb_pim_merged *m);

#endif

#ifndef SB_PIM_PARSE_H
#define SB_PIM_PARSE_H

/*
 * Internal to sync/ (pim_merge.c; pim_edit.c may use it too): the
 * content-line side of vCard / iCalendar items (RFC 6350, RFC 5545).
 * Parsing checks the bytes, unfolds the lines and builds the tree of
 * components; writing serializes a component and folds lines again.
 * Owned by sync/pim_parse.c; sb_pim_check() (sync/pim_merge.h) is
 * defined there too.
 *
 * Ownership: everything a parse makes lives in the caller's struct arena
 * (zero-initialised) and is freed at once with sb_pim_arena_free(). A
 * struct sb_textbuf (zero-initialised) grows with malloc; the caller frees b.p
 * with free(). Its writers never fail: they set b.oom instead, and the
 * caller checks it once at the end.
 */

#include <stddef.h>

#include "sync/textbuf.h"

struct blk;

/*
 * Everything parsed lives in one arena per merge, freed at once; strings
 * handed to the caller are copied out of it.
 */
struct arena {
	struct blk *head;
};

enum ent_kind { E_PROP = 1, E_OPAQUE = 2, E_CHILD = 3 };

struct comp;

struct ent {
	enum ent_kind kind;
	char *key;		/* PROP: NAME;params; else "BEGIN:NAME ..." */
	char *text;		/* PROP: the line; OPAQUE: serialized, "\n" */
	struct comp *c;		/* CHILD */
};

struct comp {
	char *name;
	char *label;
	char *ts;		/* digits of REV / LAST-MODIFIED / DTSTAMP */
	struct ent *e;
	size_t n, cap;
	const struct ent **idx;	/* e by (key, position), for lookups */
};

void sb_pim_arena_free(struct arena *ar);


/*
 * Parses the item s[0..n) into *out (in ar): checked bytes, unfolded
 * lines, one component with matching BEGIN / END. what names the item in
 * messages. 0, -ENOMEM or SB_EFORMAT.
 */
int sb_pim_parse(struct arena *ar, const char *what, const char *s,
		 size_t n, struct comp **out);

/*
 * Splits a content line into its name's length and the offset of its
 * value (after the ':'). 0, or SB_EFORMAT (no message recorded) when
 * line is not a content line.
 */
int sb_pim_split_line(const char *line, size_t *name_len, size_t *val_off);

/* Compares two comp.ts digit strings as numbers (<0, 0, >0). */
int sb_pim_ts_cmp(const char *a, const char *b);

/* Appends c unfolded, lines ended by "\n". */
void sb_pim_ser(struct sb_textbuf *b, const struct comp *c);
/* Appends one logical line s[0..n) (no "\n") folded at 75 octets, CRLF. */
void sb_pim_emit_line(struct sb_textbuf *b, const char *s, size_t n);

/* Appends the lines of s ("\n"-separated) folded at 75 octets, CRLF. */
void sb_pim_emit_text(struct sb_textbuf *b, const char *s);

#endif

#ifndef SB_TEXTBUF_H
#define SB_TEXTBUF_H

/*
 * A growing NUL-terminated text for sync/ modules that build plaintext
 * (vCard/iCalendar merges and edits, conflict records). Zero-initialise
 * it; a failed allocation sets oom and later additions do nothing, so a
 * caller checks once at the end. Old copies are wiped as it grows (the
 * text is someone's contacts or calendar).
 *
 * Ownership: p is malloc'd; free it with sb_textbuf_free() (wipes), or
 * take it over and free() it.
 */

#include <stddef.h>

struct sb_textbuf {
	char *p;
	size_t len, cap;
	int oom;
};

void sb_textbuf_add(struct sb_textbuf *b, const void *s, size_t n);
void sb_textbuf_str(struct sb_textbuf *b, const char *s);
void sb_textbuf_free(struct sb_textbuf *b);

#endif

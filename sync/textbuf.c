#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "sync/textbuf.h"

static int grow(struct sb_textbuf *b, size_t want)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	while (cap < want)
		cap *= 2;
	if (!(p = malloc(cap)))
		return -1;
	if (b->len)
		memcpy(p, b->p, b->len);
	if (b->p)
		sb_wipe(b->p, b->cap);
	free(b->p);
	b->p = p;
	b->cap = cap;
	return 0;
}

void sb_textbuf_add(struct sb_textbuf *b, const void *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap && grow(b, b->len + n + 1)) {
		b->oom = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_textbuf_str(struct sb_textbuf *b, const char *s)
{
	sb_textbuf_add(b, s, strlen(s));
}

void sb_textbuf_free(struct sb_textbuf *b)
{
	if (b->p)
		sb_wipe(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

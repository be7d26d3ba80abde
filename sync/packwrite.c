#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sha1.h"
#include "sync/packwrite.h"
#include "sync/repo_git.h"

/* Bytes gathered before they go to the indexer in one call. */
#define BUF_SIZE (256u << 10)
/* The largest stored deflate block. */
#define STORED_MAX 65535u

struct sb_packwrite {
	git_odb_writepack *wp;
	git_indexer_progress stats;
	struct sb_sha1 sum;	/* of every byte of the pack */
	uint32_t count, added;
	size_t used;
	uint8_t buf[BUF_SIZE];
};

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

/* Hands the bytes gathered so far to the indexer. */
static int drain(struct sb_packwrite *w)
{
	if (!w->used)
		return 0;
	sb_sha1_update(&w->sum, w->buf, w->used);
	if (w->wp->append(w->wp, w->buf, w->used, &w->stats))
		return fail("cannot write a pack");
	w->used = 0;
	return 0;
}

static int put(struct sb_packwrite *w, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t k;
	int rc;

	while (n) {
		if (w->used == sizeof(w->buf) && (rc = drain(w)))
			return rc;
		k = sizeof(w->buf) - w->used;
		if (k > n)
			k = n;
		memcpy(w->buf + w->used, s, k);
		w->used += k;
		s += k;
		n -= k;
	}
	return 0;
}

/*
 * Adler-32 (RFC 1950): the sums are reduced every 5552 bytes, the most
 * that cannot overflow 32 bits.
 */
static uint32_t adler32(const uint8_t *p, size_t n)
{
	uint32_t a = 1, b = 0;
	size_t k;

	while (n) {
		k = n < 5552 ? n : 5552;
		n -= k;
		while (k--) {
			a += *p++;
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	return b << 16 | a;
}

/* Type and size, as a pack entry starts: 4 bits, then 7 per byte. */
static int put_header(struct sb_packwrite *w, git_object_t type, size_t len)
{
	uint8_t h[16];
	size_t n = 0;

	h[n] = (uint8_t)((unsigned)type << 4 | (len & 0x0f));
	len >>= 4;
	while (len) {
		h[n++] |= 0x80;
		h[n] = len & 0x7f;
		len >>= 7;
	}
	return put(w, h, n + 1);
}

/* A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 3.2.4). */
static int put_stored(struct sb_packwrite *w, const uint8_t *p, size_t len)
{
	static const uint8_t zhead[2] = { 0x78, 0x01 };
	uint8_t h[5], sum[4];
	size_t k;
	int rc = put(w, zhead, sizeof(zhead));

	sb_put_be32(sum, adler32(p, len));

	do {
		k = len < STORED_MAX ? len : STORED_MAX;
		h[0] = k == len;	/* BFINAL, BTYPE 00 */
		h[1] = k & 0xff;
		h[2] = k >> 8;
		h[3] = ~k & 0xff;
		h[4] = (~k >> 8) & 0xff;
		if (!rc)
			rc = put(w, h, sizeof(h));
		if (!rc)
			rc = put(w, p, k);
		p += k;
		len -= k;
	} while (!rc && len);
	return rc ? rc : put(w, sum, sizeof(sum));
}

int sb_packwrite_open(struct sb_packwrite **out, git_odb *odb,
		      uint32_t count)
{
	struct sb_packwrite *w = malloc(sizeof(*w));
	uint8_t head[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 };
	int rc;

	if (!w)
		return -ENOMEM;
	memset(w, 0, offsetof(struct sb_packwrite, buf));
	if ((rc = sb_sha1_init(&w->sum))) {
		free(w);
		return rc;
	}
	w->count = count;
	if (git_odb_write_pack(&w->wp, odb, NULL, NULL)) {
		rc = fail("cannot start a pack");
		goto fail;
	}
	sb_put_be32(head + 8, count);
	if ((rc = put(w, head, sizeof(head))))
		goto fail;
	*out = w;
	return 0;
fail:
	sb_packwrite_free(w);
	return rc;
}

int sb_packwrite_add(struct sb_packwrite *w, git_object_t type,
		     const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc;

	if (w->added == w->count)
		return sb_err_set(-EINVAL, "more objects than the pack holds");
	if ((rc = put_header(w, type, len)) ||
	    (rc = put_stored(w, p, len)))
		return rc;
	w->added++;
	return 0;
}

int sb_packwrite_commit(struct sb_packwrite *w)
{
	uint8_t sum[SB_SHA1_LEN];
	int rc;

	if (w->added != w->count)
		return sb_err_set(-EINVAL, "fewer objects than the pack holds");
	if ((rc = drain(w)))
		return rc;
	sb_sha1_final(&w->sum, sum);
	if (w->wp->append(w->wp, sum, sizeof(sum), &w->stats) ||
	    w->wp->commit(w->wp, &w->stats))
		return fail("cannot write a pack");
	return 0;
}

void sb_packwrite_free(struct sb_packwrite *w)
{
	if (!w)
		return;
	if (w->wp)
		w->wp->free(w->wp);
	sb_sha1_free(&w->sum);
	free(w);
}

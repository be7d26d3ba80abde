#include <string.h>

#include <gcrypt.h>

#include "crypto/err.h"
#include "crypto/sha1.h"

int sb_sha1_init(struct sb_sha1 *s)
{
	gcry_md_hd_t hd;

	s->hd = NULL;
	if (gcry_md_open(&hd, GCRY_MD_SHA1, 0))
		return sb_err_set(SB_ECRYPTO, "cannot open SHA-1");
	s->hd = hd;
	return 0;
}

void sb_sha1_update(struct sb_sha1 *s, const void *p, size_t n)
{
	gcry_md_write((gcry_md_hd_t)s->hd, p, n);
}

void sb_sha1_final(struct sb_sha1 *s, uint8_t out[SB_SHA1_LEN])
{
	memcpy(out, gcry_md_read((gcry_md_hd_t)s->hd, GCRY_MD_SHA1),
	       SB_SHA1_LEN);
	sb_sha1_free(s);
}

void sb_sha1_free(struct sb_sha1 *s)
{
	gcry_md_close((gcry_md_hd_t)s->hd);
	s->hd = NULL;
}

void sb_sha1_2(uint8_t out[SB_SHA1_LEN], const void *a, size_t alen,
	       const void *b, size_t blen)
{
	gcry_buffer_t iov[2];

	memset(iov, 0, sizeof(iov));
	iov[0].data = (void *)a;
	iov[0].len = alen;
	iov[1].data = (void *)b;
	iov[1].len = blen;
	gcry_md_hash_buffers(GCRY_MD_SHA1, 0, out, iov, 2);
}

int sb_hmac_sha1(uint8_t out[SB_SHA1_LEN], const void *key, size_t keylen,
		 const void *msg, size_t len)
{
	gcry_md_hd_t hd;

	if (gcry_md_open(&hd, GCRY_MD_SHA1, GCRY_MD_FLAG_HMAC))
		return sb_err_set(SB_ECRYPTO, "cannot open HMAC-SHA1");
	if (gcry_md_setkey(hd, key, keylen)) {
		gcry_md_close(hd);
		return sb_err_set(SB_ECRYPTO, "cannot key HMAC-SHA1");
	}
	gcry_md_write(hd, msg, len);
	memcpy(out, gcry_md_read(hd, GCRY_MD_SHA1), SB_SHA1_LEN);
	gcry_md_close(hd);
	return 0;
}

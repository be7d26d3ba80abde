#include <string.h>

#include <gcrypt.h>

#include "crypto/crypto.h"
#include "crypto/err.h"

#define SB_GCRYPT_MIN "1.10.0"
#define SB_SECMEM_DEFAULT (256 * 1024)

int sb_crypto_init(size_t pool_size)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
		return 0;
	if (!gcry_check_version(SB_GCRYPT_MIN))
		return sb_err_set(SB_ECRYPTO, "libgcrypt %s or newer is needed",
				  SB_GCRYPT_MIN);
	/* Keys live in the pool; running out must fail, not fall back. */
	gcry_control(GCRYCTL_SUSPEND_SECMEM_WARN);
	if (gcry_control(GCRYCTL_INIT_SECMEM,
			 pool_size ? pool_size : SB_SECMEM_DEFAULT, 0))
		return sb_err_set(SB_ECRYPTO, "cannot set up secure memory");
	gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return 0;
}

void *sb_secure_alloc(size_t n)
{
	void *p = gcry_malloc_secure(n ? n : 1);

	if (p)
		memset(p, 0, n);
	return p;
}

void sb_secure_free(void *p, size_t n)
{
	if (!p)
		return;
	sb_wipe(p, n);
	gcry_free(p);
}

void sb_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

int sb_memeq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void sb_random_key(void *buf, size_t n)
{
	gcry_randomize(buf, n, GCRY_VERY_STRONG_RANDOM);
}

void sb_random_id(void *buf, size_t n)
{
	gcry_randomize(buf, n, GCRY_STRONG_RANDOM);
}

void sb_random_nonce(void *buf, size_t n)
{
	gcry_create_nonce(buf, n);
}

void sb_sha256(uint8_t out[32], const void *data, size_t len)
{
	gcry_md_hash_buffer(GCRY_MD_SHA256, out, data, len);
}

void sb_sha512(uint8_t out[64], const void *data, size_t len)
{
	gcry_md_hash_buffer(GCRY_MD_SHA512, out, data, len);
}

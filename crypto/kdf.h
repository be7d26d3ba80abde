#ifndef SB_KDF_H
#define SB_KDF_H

/*
 * Passphrase KDF: Argon2id (RFC 9106, version 0x13) through libgcrypt's
 * gcry_kdf_open, with enforced minimums (crypto/FORMAT.md "Passphrase
 * KDF"). The parameters travel with what they protect: crypto/keyfile.h
 * stores them in the clear and authenticates them as the AEAD's
 * associated data, and refuses files whose parameters are out of range
 * before spending any time on them.
 *
 * Lanes run on one thread each (pthreads); the result does not depend on
 * the number of threads, only on the parameters.
 */

#include <stddef.h>
#include <stdint.h>

#define SB_KDF_MIN_MEM_KIB	65536	/* 64 MiB */
#define SB_KDF_MIN_TIME		2
/*
 * 2 GiB: libgcrypt 1.10 sizes the block memory as 1024 * blocks in an
 * unsigned int, which wraps at 4 GiB.
 */
#define SB_KDF_MAX_MEM_KIB	(2u << 20)
#define SB_KDF_MAX_TIME		64
#define SB_KDF_MAX_LANES	16
#define SB_KDF_SALT		16

struct sb_kdf_params {
	uint32_t time;		/* passes, SB_KDF_MIN_TIME..SB_KDF_MAX_TIME */
	uint32_t mem_kib;	/* SB_KDF_MIN_MEM_KIB..SB_KDF_MAX_MEM_KIB */
	uint32_t lanes;		/* parallelism, 1..SB_KDF_MAX_LANES */
};

/*
 * Defaults: about half a second on a 2-core machine (t = 2, 256 MiB,
 * 2 lanes; the measurement is in crypto/kdf.c).
 */
void sb_kdf_default(struct sb_kdf_params *p);

/*
 * 0 when every parameter is within the bounds above, else SB_EFORMAT
 * with a message naming the parameter ("Argon2id memory ... out of
 * range ...").
 */
int sb_kdf_check(const struct sb_kdf_params *p);

/*
 * out = Argon2id(pass, salt, p), 32 bytes, no secret key K and no
 * associated data X. out should be secure memory; libgcrypt wipes its
 * own working memory. pass must stay valid during the call and may be
 * secure memory. Returns 0, SB_EFORMAT (sb_kdf_check), -EINVAL (empty
 * passphrase), -ENOMEM (the memory cost could not be allocated) or
 * SB_ECRYPTO.
 */
int sb_kdf_derive(uint8_t out[32], const struct sb_kdf_params *p,
		  const uint8_t salt[SB_KDF_SALT],
		  const char *pass, size_t passlen);

#endif

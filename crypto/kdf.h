#ifndef SB_KDF_H
#define SB_KDF_H

/*
 * Passphrase KDF: Argon2id through gcry_kdf_open, with enforced minimums.
 * The parameters travel with what they protect (crypto/keyfile.h puts them
 * in the AEAD's associated data).
 */

#include <stddef.h>
#include <stdint.h>

#define SB_KDF_MIN_MEM_KIB	65536	/* 64 MiB */
#define SB_KDF_MIN_TIME		2
#define SB_KDF_MAX_MEM_KIB	(4u << 20)	/* 4 GiB */
#define SB_KDF_MAX_TIME		64
#define SB_KDF_MAX_LANES	16
#define SB_KDF_SALT		16

struct sb_kdf_params {
	uint32_t time;		/* passes */
	uint32_t mem_kib;
	uint32_t lanes;
};

/* Defaults (about half a second on a 2-core machine). */
void sb_kdf_default(struct sb_kdf_params *p);

/* 0, or SB_EFORMAT naming the parameter out of range. */
int sb_kdf_check(const struct sb_kdf_params *p);

/* out (secure memory) = Argon2id(pass, salt, p), 32 bytes. */
int sb_kdf_derive(uint8_t out[32], const struct sb_kdf_params *p,
		  const uint8_t salt[SB_KDF_SALT],
		  const char *pass, size_t passlen);

#endif

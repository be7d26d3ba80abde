#ifndef SB_NAMES_H
#define SB_NAMES_H

/*
 * Encrypted names (DESIGN sec. 5, crypto/FORMAT.md "Names").
 *
 * Backing name = base64url(AES-256-SIV(names key, AD = parent dir ID,
 * plaintext name)), no padding. Names are bytes: Linux file systems
 * return the exact bytes a name was created with, so we do not normalise.
 * Directory ID = HMAC-SHA256(dir-ID key, parent ID || name); the root's
 * ID is 32 zero bytes.
 *
 * When the encoded name is longer than SB_NAMES_SHORT_MAX the backing name
 * is "~" + base64url(SHA-256(encoded name)) and the encoded name is kept
 * in a sidecar file next to it called backing name + ".n" (characters
 * that never occur in an encoded name keep the three kinds apart, and
 * names starting with "." are the store's own).
 *
 * Symlink targets: base64url(AES-256-SIV(names key, AD = "sealbox v1
 * symlink", target)).
 *
 * Thread safety: struct sb_names is read-only after creation; every
 * function may be called from several threads at once.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto/secrets.h"

#define SB_DIRID_LEN		32
#define SB_NAME_MAX		255	/* plaintext name bytes */
#define SB_NAMES_SHORT_MAX	255	/* longest backing name used as is */
/* Longest encoded name: base64url of 16 + 255 bytes, plus NUL. */
#define SB_NAMES_ENC_MAX	(((16 + SB_NAME_MAX) * 4 + 2) / 3 + 1)
/* "~" + 43 characters of base64url(SHA-256) + ".n" + NUL. */
#define SB_NAMES_LONG_LEN	44
#define SB_SYMLINK_MAX		3000	/* plaintext target bytes */
#define SB_SYMLINK_ENC_MAX	(((16 + SB_SYMLINK_MAX) * 4 + 2) / 3 + 1)

struct sb_names;

int sb_names_new(struct sb_names **out, const struct sb_secrets *s);
void sb_names_free(struct sb_names *n);

/* The root directory's ID (all zeros). */
void sb_names_root_id(uint8_t out[SB_DIRID_LEN]);

/* ID of the directory called name inside the directory parent. */
int sb_names_dirid(const struct sb_names *n, uint8_t out[SB_DIRID_LEN],
		   const uint8_t parent[SB_DIRID_LEN],
		   const char *name, size_t len);

/*
 * Encrypts name (1..SB_NAME_MAX bytes, no "/" or NUL, not "." or "..")
 * into enc (room for SB_NAMES_ENC_MAX), NUL-terminated.
 * Returns 0, -ENAMETOOLONG, -EINVAL.
 */
int sb_names_encrypt(const struct sb_names *n, char *enc,
		     const uint8_t dirid[SB_DIRID_LEN],
		     const char *name, size_t len);

/*
 * Decrypts an encoded name into name (room for SB_NAME_MAX + 1, NUL-
 * terminated), *len set. SB_EFORMAT for a string that is not an encoded
 * name, SB_EAUTH for a forged one or one moved from another directory.
 */
int sb_names_decrypt(const struct sb_names *n, char *name, size_t *len,
		     const uint8_t dirid[SB_DIRID_LEN],
		     const char *enc, size_t enclen);

/*
 * Backing name for an encoded name: the same string when it is at most
 * SB_NAMES_SHORT_MAX characters, else the long form; backing needs room
 * for SB_NAMES_ENC_MAX. Returns 1 when a sidecar is needed, 0 when not.
 */
int sb_names_backing(char *backing, const char *enc);

/* What a backing name is. */
enum sb_name_kind {
	SB_NAME_SHORT,		/* an encoded name */
	SB_NAME_LONG,		/* "~hash": read the sidecar */
	SB_NAME_SIDECAR,	/* "~hash.n" */
	SB_NAME_INTERNAL,	/* starts with ".": the store's own */
	SB_NAME_INVALID,
};
enum sb_name_kind sb_names_kind(const char *backing);

/*
 * Checks that a sidecar's content enc belongs to backing (the hash
 * matches). Returns 0 or SB_EAUTH.
 */
int sb_names_check_long(const char *backing, const char *enc, size_t enclen);

/* Symlink targets; enc needs room for SB_SYMLINK_ENC_MAX,
 * target for SB_SYMLINK_MAX + 1. */
int sb_names_encrypt_target(const struct sb_names *n, char *enc,
			    const char *target, size_t len);
int sb_names_decrypt_target(const struct sb_names *n, char *target,
			    size_t *len, const char *enc, size_t enclen);

#endif

#ifndef SB_SIGN_H
#define SB_SIGN_H

/*
 * Ed25519 device keys and git's SSH signature format (SSHSIG, as
 * `ssh-keygen -Y sign` writes it; crypto/FORMAT.md "Signatures"). The
 * OpenSSH texts around them (public key lines, SHA256 fingerprints,
 * allowed_signers lines, openssh-key-v1 private key files) are in
 * crypto/sshkey.h, which this header includes.
 *
 * Ownership: struct sb_signkey lives in secure memory; free it with
 * sb_signkey_free(). Strings returned through char ** are malloc'd; free
 * them with free(), except sb_ssh_privkey_format's (see there). Out
 * parameters are written only on success.
 *
 * Errors: 0 or a negative code with a message (crypto/err.h): -ENOMEM,
 * -EINVAL (an argument of ours that cannot be encoded), SB_EFORMAT
 * (malformed input), SB_ESIG (a well-formed signature that does not
 * verify), SB_ECRYPTO (libgcrypt failed).
 */

#include <stddef.h>
#include <stdint.h>

#define SB_ED25519_LEN		32	/* seed and public key */
#define SB_ED25519_SIG		64	/* R || S */

/* seed is RFC 8032's 32-byte private key; pub is derived from it. */
struct sb_signkey {
	uint8_t seed[SB_ED25519_LEN];
	uint8_t pub[SB_ED25519_LEN];
};

/* A key from GCRY_VERY_STRONG_RANDOM; from a given seed (copied). */
int sb_signkey_generate(struct sb_signkey **out);
int sb_signkey_from_seed(struct sb_signkey **out,
			 const uint8_t seed[SB_ED25519_LEN]);
/* Wipes and frees; NULL-safe. */
void sb_signkey_free(struct sb_signkey *k);

/*
 * Plain Ed25519 (RFC 8032, pure; deterministic). msg may be NULL when
 * len is 0; len is at most INT_MAX (-EFBIG).
 *
 * verify: 0 or SB_ESIG. Stricter than libgcrypt 1.10 alone: S must be
 * below the group order L, pub must be a canonical encoding of a point
 * of the curve and not of small order, and pubs libgcrypt 1.10 would
 * abort the process on (a coordinate below 2^192) are refused first.
 * None of these is ever true of a key made from a seed (bar chance
 * of about 2^-63).
 */
int sb_ed25519_sign(uint8_t sig[SB_ED25519_SIG], const struct sb_signkey *k,
		    const void *msg, size_t len);
int sb_ed25519_verify(const uint8_t pub[SB_ED25519_LEN],
		      const uint8_t sig[SB_ED25519_SIG],
		      const void *msg, size_t len);

/*
 * SSHSIG with hash sha512. *armor receives the armored signature exactly
 * as ssh-keygen writes it ("-----BEGIN SSH SIGNATURE-----\n", base64 in
 * lines of 70, "-----END SSH SIGNATURE-----\n"), byte for byte what
 * `ssh-keygen -Y sign -n NAMESPACE` makes with the same key.
 * namespace: 1 to 1024 bytes, else -EINVAL.
 */
int sb_sshsig_sign(char **armor, const struct sb_signkey *k,
		   const char *namespace, const void *msg, size_t len);

/*
 * Verifies an armored SSHSIG over msg for namespace. The armor is the
 * BEGIN line, base64 lines (any width, none empty, "\n" ends), the END
 * line with its final newline optional (git stores it without), nothing
 * before or after. The blob must be version 1 with an ssh-ed25519 key and
 * signature of exact lengths, hash sha512 or sha256 (as ssh-keygen
 * accepts), an empty reserved field (stricter than OpenSSH, which ignores
 * it; nothing writes it) and no trailing bytes. On success stores the
 * signer's public key in signer; the caller decides whether it trusts
 * it. Returns 0, SB_EFORMAT (malformed), SB_ESIG (bad signature, wrong
 * namespace), -EINVAL (namespace empty or over 1024 bytes).
 */
int sb_sshsig_verify(uint8_t signer[SB_ED25519_LEN], const char *armor,
		     size_t armorlen, const char *namespace,
		     const void *msg, size_t len);

/*
 * internal to crypto/ (for sshkey.c, which derives a parsed key's public
 * half): pub from seed, as sb_signkey_from_seed does. 0 or SB_ECRYPTO.
 */
int sb_ed25519_public(uint8_t pub[SB_ED25519_LEN], const uint8_t *seed);

/* The OpenSSH key texts (crypto/sshkey.h) were declared here first. */
#include "crypto/sshkey.h"

#endif

#ifndef SB_SIGN_H
#define SB_SIGN_H

/*
 * Ed25519 device keys and git's SSH signature format (SSHSIG, as
 * `ssh-keygen -Y sign` writes it; crypto/FORMAT.md "Signatures"), plus
 * the OpenSSH texts around them: public key lines, SHA256 fingerprints,
 * allowed_signers lines and unencrypted openssh-key-v1 private key files.
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
#define SB_FPR_LEN		51	/* "SHA256:" + 43 base64 + NUL */

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
 * "ssh-ed25519 AAAA...[ comment]" (no newline); comment NULL or "" for
 * none, -EINVAL if it holds a line break.
 */
int sb_ssh_pubkey_format(char **out, const uint8_t pub[SB_ED25519_LEN],
			 const char *comment);
/*
 * Parses one line "ssh-ed25519 AAAA...[ comment]" (a .pub file: a final
 * newline and any comment allowed; spaces or tabs after the type). The
 * blob must be an ssh-ed25519 key of exact length. 0 or SB_EFORMAT.
 */
int sb_ssh_pubkey_parse(uint8_t pub[SB_ED25519_LEN], const char *text,
			size_t len);

/*
 * "SHA256:" + unpadded base64 of SHA-256 of the public key blob, as
 * `ssh-keygen -l` prints it.
 */
void sb_ssh_fingerprint(char out[SB_FPR_LEN],
			const uint8_t pub[SB_ED25519_LEN]);

/*
 * OpenSSH private key file ("openssh-key-v1", cipher and KDF "none"), as
 * `ssh-keygen -t ed25519 -N ''` writes it: for ssh transports and tests.
 * The two check words are random on each format, so the text differs
 * from ssh-keygen's only there. comment may be NULL (empty), at most 1024
 * bytes (-EINVAL). *out is in secure memory: free with
 * sb_secure_free(*out, strlen(*out) + 1).
 */
int sb_ssh_privkey_format(char **out, const struct sb_signkey *k,
			  const char *comment);
/*
 * Parses such a file strictly (same armor rules as sb_sshsig_verify;
 * at most 16 KiB): one ssh-ed25519 key, equal check words, exact
 * lengths, padding 1, 2, 3 ... below 8 bytes, no trailing bytes, and the
 * public key stored twice and derived from the seed all equal. The
 * comment is ignored. An encrypted key (passphrase set) is SB_EFORMAT
 * with a message saying so; anything else malformed is SB_EFORMAT.
 */
int sb_ssh_privkey_parse(struct sb_signkey **out, const char *text,
			 size_t len);

/*
 * One line of an allowed_signers file, as git and ssh-keygen read it:
 * "<principal> namespaces=\"git\" ssh-ed25519 AAAA...\n". principal is 1
 * to 256 of [A-Za-z0-9._@+-] (no pattern or list characters), else
 * -EINVAL.
 */
int sb_allowed_signers_line(char **out, const char *principal,
			    const uint8_t pub[SB_ED25519_LEN]);

#endif

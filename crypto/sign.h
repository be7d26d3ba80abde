#ifndef SB_SIGN_H
#define SB_SIGN_H

/*
 * Ed25519 device keys and git's SSH signature format (SSHSIG, as
 * `ssh-keygen -Y sign` writes it; crypto/FORMAT.md "Signatures").
 *
 * Ownership: struct sb_signkey lives in secure memory; free it with
 * sb_signkey_free(). Strings returned through char ** are malloc'd; free
 * them with free().
 */

#include <stddef.h>
#include <stdint.h>

#define SB_ED25519_LEN		32	/* seed and public key */
#define SB_ED25519_SIG		64
#define SB_FPR_LEN		51	/* "SHA256:" + 43 base64 + NUL */

struct sb_signkey {
	uint8_t seed[SB_ED25519_LEN];
	uint8_t pub[SB_ED25519_LEN];
};

int sb_signkey_generate(struct sb_signkey **out);
int sb_signkey_from_seed(struct sb_signkey **out,
			 const uint8_t seed[SB_ED25519_LEN]);
void sb_signkey_free(struct sb_signkey *k);

/* Plain Ed25519 (RFC 8032, pure). verify: 0 or SB_ESIG. */
int sb_ed25519_sign(uint8_t sig[SB_ED25519_SIG], const struct sb_signkey *k,
		    const void *msg, size_t len);
int sb_ed25519_verify(const uint8_t pub[SB_ED25519_LEN],
		      const uint8_t sig[SB_ED25519_SIG],
		      const void *msg, size_t len);

/*
 * SSHSIG with hash sha512. *armor receives the armored signature exactly
 * as ssh-keygen writes it ("-----BEGIN SSH SIGNATURE-----\n", base64 in
 * lines of 70, "-----END SSH SIGNATURE-----\n").
 */
int sb_sshsig_sign(char **armor, const struct sb_signkey *k,
		   const char *namespace, const void *msg, size_t len);

/*
 * Verifies an armored SSHSIG (the final newline optional) over msg for
 * namespace; accepts hash sha512 and sha256 as ssh-keygen does, key type
 * ssh-ed25519 only. On success stores the signer's public key in
 * signer. Returns 0, SB_EFORMAT (malformed), SB_ESIG (bad signature,
 * wrong namespace).
 */
int sb_sshsig_verify(uint8_t signer[SB_ED25519_LEN], const char *armor,
		     size_t armorlen, const char *namespace,
		     const void *msg, size_t len);

/* "ssh-ed25519 AAAA...[ comment]" (no newline). */
int sb_ssh_pubkey_format(char **out, const uint8_t pub[SB_ED25519_LEN],
			 const char *comment);
/* Parses "ssh-ed25519 AAAA..." (a comment after it is allowed). */
int sb_ssh_pubkey_parse(uint8_t pub[SB_ED25519_LEN], const char *text,
			size_t len);

/* "SHA256:..." as ssh-keygen -l prints it. */
void sb_ssh_fingerprint(char out[SB_FPR_LEN],
			const uint8_t pub[SB_ED25519_LEN]);

/*
 * OpenSSH private key file ("openssh-key-v1", unencrypted), as ssh-keygen
 * writes for ssh-ed25519: for ssh transports and tests. The check words
 * are random on format. *out is in secure memory: free with
 * sb_secure_free(*out, strlen(*out) + 1).
 */
int sb_ssh_privkey_format(char **out, const struct sb_signkey *k,
			  const char *comment);
int sb_ssh_privkey_parse(struct sb_signkey **out, const char *text,
			 size_t len);

/*
 * One line of an allowed_signers file, as git and ssh-keygen read it:
 * "<principal> namespaces=\"git\" ssh-ed25519 AAAA...\n".
 */
int sb_allowed_signers_line(char **out, const char *principal,
			    const uint8_t pub[SB_ED25519_LEN]);

#endif

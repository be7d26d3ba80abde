#ifndef SB_SSHKEY_H
#define SB_SSHKEY_H

/*
 * The OpenSSH texts around the Ed25519 keys of crypto/sign.h: public key
 * lines, SHA256 fingerprints, allowed_signers lines and unencrypted
 * openssh-key-v1 private key files; and, internal to crypto/, the SSH
 * wire encoding and armor that sign.c's SSHSIG shares with them.
 *
 * Ownership: strings returned through char ** are malloc'd; free them
 * with free(), except sb_ssh_privkey_format's (see there). Keys come and
 * go as struct sb_signkey (crypto/sign.h, sb_signkey_free()). Out
 * parameters are written only on success.
 *
 * Errors: 0 or a negative code with a message (crypto/err.h): -ENOMEM,
 * -EINVAL (an argument of ours that cannot be encoded), SB_EFORMAT
 * (malformed input), SB_ECRYPTO (libgcrypt failed).
 */

#include <stddef.h>
#include <stdint.h>

/* sign.h includes this header at its end, after what we need of it. */
#include "crypto/sign.h"

#define SB_FPR_LEN		51	/* "SHA256:" + 43 base64 + NUL */

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

/*
 * Internal to crypto/ (sign.c, sshkey.c): SSH wire encoding (RFC 4251
 * sec. 5), key blobs (RFC 8709) and armor. Owned by sshkey.c.
 */

#define SB_SSHKEY_TYPE		"ssh-ed25519"
#define SB_SSHKEY_TYPE_LEN	(sizeof(SB_SSHKEY_TYPE) - 1)
#define SB_SSHKEY_PUBBLOB_LEN	(4 + SB_SSHKEY_TYPE_LEN + 4 + SB_ED25519_LEN)

/*
 * A bounded writer over p[0..cap) that the caller owns: an overrun sets
 * over instead of writing past the end, and sb_sshkey_wbuf_check() then
 * fails (SB_ECRYPTO) unless exactly cap bytes were written.
 */
struct sb_sshkey_wbuf {
	uint8_t *p;
	size_t len, cap;
	int over;
};

void sb_sshkey_put_raw(struct sb_sshkey_wbuf *w, const void *d, size_t n);
void sb_sshkey_put_u32(struct sb_sshkey_wbuf *w, uint32_t v);
void sb_sshkey_put_string(struct sb_sshkey_wbuf *w, const void *d, size_t n);
void sb_sshkey_put_cstring(struct sb_sshkey_wbuf *w, const char *s);
int sb_sshkey_wbuf_check(const struct sb_sshkey_wbuf *w);

/*
 * A reader over borrowed bytes; the get functions return 0 or -1 (no
 * message: the caller names what was malformed) and point *d into p.
 * get_fixed: a string of exactly n bytes; get_expect: a string equal to
 * want.
 */
struct sb_sshkey_rbuf {
	const uint8_t *p;
	size_t len;
};

int sb_sshkey_get_raw(struct sb_sshkey_rbuf *r, const uint8_t **d, size_t n);
int sb_sshkey_get_u32(struct sb_sshkey_rbuf *r, uint32_t *v);
int sb_sshkey_get_string(struct sb_sshkey_rbuf *r, const uint8_t **d,
			 size_t *n);
int sb_sshkey_get_fixed(struct sb_sshkey_rbuf *r, const uint8_t **d,
			size_t n);
int sb_sshkey_get_expect(struct sb_sshkey_rbuf *r, const char *want);

/*
 * The ssh-ed25519 public key blob: put_pubblob writes it as a string,
 * pubblob into blob, pubblob_parse reads one of exact length (0 or
 * SB_EFORMAT).
 */
void sb_sshkey_put_pubblob(struct sb_sshkey_wbuf *w,
			   const uint8_t pub[SB_ED25519_LEN]);
void sb_sshkey_pubblob(uint8_t blob[SB_SSHKEY_PUBBLOB_LEN],
		       const uint8_t pub[SB_ED25519_LEN]);
int sb_sshkey_pubblob_parse(uint8_t pub[SB_ED25519_LEN], const uint8_t *blob,
			    size_t len);

/*
 * armor: begin line, base64 in lines of 70, end line, "\n"; *out is
 * malloc'd, or in secure memory when secure is set (free with
 * sb_secure_free(*out, strlen(*out) + 1)).
 * dearmor: the reverse, strictly (see sb_sshsig_verify's armor rules);
 * *blob is malloc'd, or in secure memory when secure is set (free with
 * sb_secure_free(*blob, *cap)). what names the text in messages.
 */
int sb_sshkey_armor(char **out, const uint8_t *blob, size_t n,
		    const char *begin, const char *end, int secure);
int sb_sshkey_dearmor(uint8_t **blob, size_t *len, size_t *cap,
		      const char *text, size_t n, const char *begin,
		      const char *end, const char *what, int secure);

#endif

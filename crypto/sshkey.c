#include <stdlib.h>
#include <string.h>

#include "crypto/base64.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sign.h"
#include "crypto/sshkey.h"

#define KEY_MAGIC	"openssh-key-v1"	/* written with its NUL */
#define KEY_MAGIC_LEN	sizeof(KEY_MAGIC)
#define KEY_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define KEY_END		"-----END OPENSSH PRIVATE KEY-----"
#define KEY_BLOCK	8	/* block size of cipher "none" */
#define KEY_TEXT_MAX	16384	/* bounds what a parse takes from the secure pool */

#define ARMOR_COLS	70	/* as OpenSSH's sshbuf_dtob64() wraps */
#define PUBTEXT_MAX	256	/* base64 of a public key blob, with room */

static int nomem(void)
{
	return sb_err_set(-ENOMEM, "out of memory");
}

/*
 * SSH wire encoding (RFC 4251 sec. 5). The writer is bounded: callers
 * size the buffer first, and an overrun is a bug that fails the call
 * instead of writing past the end.
 */
void sb_sshkey_put_raw(struct sb_sshkey_wbuf *w, const void *d, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	if (n)
		memcpy(w->p + w->len, d, n);
	w->len += n;
}

void sb_sshkey_put_u32(struct sb_sshkey_wbuf *w, uint32_t v)
{
	uint8_t b[4];

	sb_put_be32(b, v);
	sb_sshkey_put_raw(w, b, 4);
}

void sb_sshkey_put_string(struct sb_sshkey_wbuf *w, const void *d, size_t n)
{
	sb_sshkey_put_u32(w, (uint32_t)n);
	sb_sshkey_put_raw(w, d, n);
}

void sb_sshkey_put_cstring(struct sb_sshkey_wbuf *w, const char *s)
{
	sb_sshkey_put_string(w, s, strlen(s));
}

/* 0 when the writer filled its buffer exactly. */
int sb_sshkey_wbuf_check(const struct sb_sshkey_wbuf *w)
{
	if (w->over || w->len != w->cap)
		return sb_err_set(SB_ECRYPTO, "internal error: encoding size");
	return 0;
}

int sb_sshkey_get_raw(struct sb_sshkey_rbuf *r, const uint8_t **d, size_t n)
{
	if (n > r->len)
		return -1;
	*d = r->p;
	r->p += n;
	r->len -= n;
	return 0;
}

int sb_sshkey_get_u32(struct sb_sshkey_rbuf *r, uint32_t *v)
{
	const uint8_t *d;

	if (sb_sshkey_get_raw(r, &d, 4))
		return -1;
	*v = sb_get_be32(d);
	return 0;
}

int sb_sshkey_get_string(struct sb_sshkey_rbuf *r, const uint8_t **d, size_t *n)
{
	uint32_t len;

	if (sb_sshkey_get_u32(r, &len) || sb_sshkey_get_raw(r, d, len))
		return -1;
	*n = len;
	return 0;
}

/* A string of exactly n bytes. */
int sb_sshkey_get_fixed(struct sb_sshkey_rbuf *r, const uint8_t **d, size_t n)
{
	size_t len;

	if (sb_sshkey_get_string(r, d, &len) || len != n)
		return -1;
	return 0;
}

/* A string equal to want. */
int sb_sshkey_get_expect(struct sb_sshkey_rbuf *r, const char *want)
{
	const uint8_t *d;
	size_t n;

	if (sb_sshkey_get_string(r, &d, &n) || n != strlen(want) || memcmp(d, want, n))
		return -1;
	return 0;
}


/* SSH key and signature blobs (RFC 8709). */

void sb_sshkey_put_pubblob(struct sb_sshkey_wbuf *w,
			   const uint8_t pub[SB_ED25519_LEN])
{
	sb_sshkey_put_u32(w, SB_SSHKEY_PUBBLOB_LEN);
	sb_sshkey_put_cstring(w, SB_SSHKEY_TYPE);
	sb_sshkey_put_string(w, pub, SB_ED25519_LEN);
}

void sb_sshkey_pubblob(uint8_t blob[SB_SSHKEY_PUBBLOB_LEN],
		       const uint8_t pub[SB_ED25519_LEN])
{
	struct sb_sshkey_wbuf w = { blob, 0, SB_SSHKEY_PUBBLOB_LEN, 0 };

	sb_sshkey_put_cstring(&w, SB_SSHKEY_TYPE);
	sb_sshkey_put_string(&w, pub, SB_ED25519_LEN);
}

int sb_sshkey_pubblob_parse(uint8_t pub[SB_ED25519_LEN], const uint8_t *blob,
			 size_t len)
{
	struct sb_sshkey_rbuf r = { blob, len };
	const uint8_t *k;

	if (sb_sshkey_get_expect(&r, SB_SSHKEY_TYPE))
		return sb_err_set(SB_EFORMAT, "not an ssh-ed25519 public key");
	if (sb_sshkey_get_fixed(&r, &k, SB_ED25519_LEN) || r.len)
		return sb_err_set(SB_EFORMAT, "malformed ssh-ed25519 public key");
	memcpy(pub, k, SB_ED25519_LEN);
	return 0;
}

/*
 * Armor: begin, base64 in lines of ARMOR_COLS, end, "\n". In secure
 * memory when secure is set (private keys).
 */
int sb_sshkey_armor(char **out, const uint8_t *blob, size_t n,
		    const char *begin, const char *end, int secure)
{
	size_t b64len = sb_base64_len(n), lines = (b64len + ARMOR_COLS - 1) / ARMOR_COLS;
	size_t size = strlen(begin) + b64len + lines + strlen(end) + 2;
	char *b64 = secure ? sb_secure_alloc(b64len + 1) : malloc(b64len + 1);
	char *text = secure ? sb_secure_alloc(size) : malloc(size);
	size_t i, o;
	int rc = 0;

	if (!b64 || !text) {
		rc = nomem();
		goto out;
	}
	sb_base64_encode(b64, blob, n);
	o = strlen(begin);
	memcpy(text, begin, o);
	for (i = 0; i < b64len; i += ARMOR_COLS) {
		size_t l = b64len - i < ARMOR_COLS ? b64len - i : ARMOR_COLS;

		memcpy(text + o, b64 + i, l);
		o += l;
		text[o++] = '\n';
	}
	memcpy(text + o, end, strlen(end));
	o += strlen(end);
	text[o++] = '\n';
	text[o] = '\0';
	*out = text;
	text = NULL;
out:
	if (secure) {
		sb_secure_free(b64, b64len + 1);
		sb_secure_free(text, size);
	} else {
		free(b64);
		free(text);
	}
	return rc;
}

/*
 * Decodes an armored blob: begin line, non-empty base64 lines, end line,
 * the final newline optional, nothing before or after. The lines are
 * joined and decoded as one strict base64 string. *blob is in secure
 * memory when secure is set (free with sb_secure_free(*blob, *cap)).
 */
int sb_sshkey_dearmor(uint8_t **blob, size_t *len, size_t *cap,
		      const char *text, size_t n, const char *begin,
		      const char *end, const char *what, int secure)
{
	size_t bl = strlen(begin), el = strlen(end), i, o = 0;
	char *b64 = NULL;
	uint8_t *out = NULL;
	size_t b64cap = 0, outcap = 0;
	int rc;

	if (n && text[n - 1] == '\n')
		n--;
	if (n < bl || memcmp(text, begin, bl))
		return sb_err_set(SB_EFORMAT, "%s: missing BEGIN line", what);
	if (n < bl + el || text[n - el - 1] != '\n' ||
	    memcmp(text + n - el, end, el))
		return sb_err_set(SB_EFORMAT, "%s: missing END line", what);
	/* The body, each line ended by its '\n': [bl, n - el). */
	b64cap = n - el - bl + 1;
	outcap = b64cap * 3 / 4 + 3;
	b64 = secure ? sb_secure_alloc(b64cap) : malloc(b64cap);
	out = secure ? sb_secure_alloc(outcap) : malloc(outcap);
	if (!b64 || !out) {
		rc = nomem();
		goto out;
	}
	rc = SB_EFORMAT;
	for (i = bl; i < n - el; i++) {
		if (text[i] != '\n')
			b64[o++] = text[i];
		else if (i == bl || text[i - 1] == '\n')
			break;
	}
	if (i < n - el || !o ||
	    sb_base64_decode(out, len, b64, o)) {
		rc = sb_err_set(SB_EFORMAT, "%s: bad base64 body", what);
		goto out;
	}
	*blob = out;
	*cap = outcap;
	out = NULL;
	rc = 0;
out:
	if (secure) {
		sb_secure_free(b64, b64cap);
		sb_secure_free(out, outcap);
	} else {
		free(b64);
		free(out);
	}
	return rc;
}


/* OpenSSH public keys, fingerprints, allowed_signers. */

int sb_ssh_pubkey_format(char **out, const uint8_t pub[SB_ED25519_LEN],
			 const char *comment)
{
	uint8_t blob[SB_SSHKEY_PUBBLOB_LEN];
	char b64[PUBTEXT_MAX];
	size_t size;
	char *s;

	if (comment && strpbrk(comment, "\r\n"))
		return sb_err_set(-EINVAL, "a key comment must be one line");
	if (!comment)
		comment = "";
	sb_sshkey_pubblob(blob, pub);
	sb_base64_encode(b64, blob, sizeof(blob));
	size = strlen(SB_SSHKEY_TYPE) + 1 + strlen(b64) + 1 + strlen(comment) + 1;
	if (!(s = malloc(size)))
		return nomem();
	snprintf(s, size, "%s %s%s%s", SB_SSHKEY_TYPE, b64, *comment ? " " : "",
		 comment);
	*out = s;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int sb_ssh_pubkey_parse(uint8_t pub[SB_ED25519_LEN], const char *text,
			size_t len)
{
	uint8_t blob[PUBTEXT_MAX];
	size_t i, start, bloblen;

	if (len && text[len - 1] == '\n')
		len--;
	if (memchr(text, '\n', len) || memchr(text, '\0', len))
		return sb_err_set(SB_EFORMAT, "an OpenSSH public key is one "
				  "line");
	if (len <= SB_SSHKEY_TYPE_LEN ||
	    memcmp(text, SB_SSHKEY_TYPE, SB_SSHKEY_TYPE_LEN) ||
	    !is_blank(text[SB_SSHKEY_TYPE_LEN]))
		return sb_err_set(SB_EFORMAT, "not an ssh-ed25519 public key");
	for (i = SB_SSHKEY_TYPE_LEN; i < len && is_blank(text[i]); i++)
		;
	for (start = i; i < len && !is_blank(text[i]); i++)
		;
	if (i == start || i - start > PUBTEXT_MAX ||
	    sb_base64_decode(blob, &bloblen, text + start, i - start))
		return sb_err_set(SB_EFORMAT, "bad base64 in the ssh-ed25519 "
				  "public key");
	return sb_sshkey_pubblob_parse(pub, blob, bloblen);
}

void sb_ssh_fingerprint(char out[SB_FPR_LEN],
			const uint8_t pub[SB_ED25519_LEN])
{
	uint8_t blob[SB_SSHKEY_PUBBLOB_LEN], h[32];
	char b64[45];

	sb_sshkey_pubblob(blob, pub);
	sb_sha256(h, blob, sizeof(blob));
	sb_base64_encode(b64, h, sizeof(h));
	/* ssh-keygen prints it without the padding. */
	snprintf(out, SB_FPR_LEN, "SHA256:%.43s", b64);
}

static int principal_valid(const char *p)
{
	size_t n = 0;

	for (; p[n]; n++) {
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._@+-", p[n]))
			return 0;
	}
	return n > 0 && n <= 256;
}

int sb_allowed_signers_line(char **out, const char *principal,
			    const uint8_t pub[SB_ED25519_LEN])
{
	char *key = NULL, *s;
	size_t size;
	int rc;

	if (!principal || !principal_valid(principal))
		return sb_err_set(-EINVAL, "bad allowed_signers principal");
	if ((rc = sb_ssh_pubkey_format(&key, pub, NULL)))
		return rc;
	size = strlen(principal) + strlen(key) + sizeof(" namespaces=\"git\" \n");
	if (!(s = malloc(size))) {
		free(key);
		return nomem();
	}
	snprintf(s, size, "%s namespaces=\"git\" %s\n", principal, key);
	free(key);
	*out = s;
	return 0;
}

/* openssh-key-v1 private keys (OpenSSH PROTOCOL.key), unencrypted. */

static size_t privsect_len(size_t clen)
{
	size_t n = 4 + 4 + 4 + SB_SSHKEY_TYPE_LEN + 4 + SB_ED25519_LEN +
		   4 + 2 * SB_ED25519_LEN + 4 + clen;

	return (n + KEY_BLOCK - 1) / KEY_BLOCK * KEY_BLOCK;
}

static void put_privsect(struct sb_sshkey_wbuf *w, const struct sb_signkey *k,
			 const char *comment, size_t plen)
{
	uint32_t check;
	size_t start, i;

	sb_random_id(&check, sizeof(check));
	sb_sshkey_put_u32(w, (uint32_t)plen);
	start = w->len;
	sb_sshkey_put_u32(w, check);
	sb_sshkey_put_u32(w, check);
	sb_sshkey_put_cstring(w, SB_SSHKEY_TYPE);
	sb_sshkey_put_string(w, k->pub, SB_ED25519_LEN);
	/* ref10's 64-byte secret key: seed || public key. */
	sb_sshkey_put_u32(w, 2 * SB_ED25519_LEN);
	sb_sshkey_put_raw(w, k->seed, SB_ED25519_LEN);
	sb_sshkey_put_raw(w, k->pub, SB_ED25519_LEN);
	sb_sshkey_put_cstring(w, comment);
	for (i = 1; !w->over && w->len - start < plen; i++)
		sb_sshkey_put_raw(w, &(uint8_t){ (uint8_t)i }, 1);
	sb_wipe(&check, sizeof(check));
}

int sb_ssh_privkey_format(char **out, const struct sb_signkey *k,
			  const char *comment)
{
	size_t clen, plen, size;
	struct sb_sshkey_wbuf w = { 0 };
	int rc;

	if (!comment)
		comment = "";
	if ((clen = strlen(comment)) > 1024)
		return sb_err_set(-EINVAL, "key comment too long");
	plen = privsect_len(clen);
	size = KEY_MAGIC_LEN + 4 + 4 + 4 + 4 + 4 + 4 + 4 + SB_SSHKEY_PUBBLOB_LEN +
	       4 + plen;
	if (!(w.p = sb_secure_alloc(size)))
		return nomem();
	w.cap = size;
	sb_sshkey_put_raw(&w, KEY_MAGIC, KEY_MAGIC_LEN);
	sb_sshkey_put_cstring(&w, "none");
	sb_sshkey_put_cstring(&w, "none");
	sb_sshkey_put_string(&w, NULL, 0);
	sb_sshkey_put_u32(&w, 1);
	sb_sshkey_put_pubblob(&w, k->pub);
	put_privsect(&w, k, comment, plen);
	if (!(rc = sb_sshkey_wbuf_check(&w)))
		rc = sb_sshkey_armor(out, w.p, w.len, KEY_BEGIN, KEY_END, 1);
	sb_secure_free(w.p, size);
	return rc;
}

/* Cipher and KDF "none": the private section is in the clear. */
static int privkey_outer(struct sb_sshkey_rbuf *priv,
			 uint8_t pub[SB_ED25519_LEN],
			 const uint8_t *blob, size_t len)
{
	struct sb_sshkey_rbuf r = { blob, len };
	const uint8_t *magic, *pk, *d;
	size_t pklen, n;
	uint32_t nkeys;
	int rc;

	if (sb_sshkey_get_raw(&r, &magic, KEY_MAGIC_LEN) ||
	    memcmp(magic, KEY_MAGIC, KEY_MAGIC_LEN))
		return sb_err_set(SB_EFORMAT, "not an openssh-key-v1 key");
	if (sb_sshkey_get_expect(&r, "none") || sb_sshkey_get_expect(&r, "none") ||
	    sb_sshkey_get_string(&r, &d, &n) || n)
		return sb_err_set(SB_EFORMAT, "the OpenSSH private key is "
				  "encrypted (remove its passphrase with "
				  "ssh-keygen -p first)");
	if (sb_sshkey_get_u32(&r, &nkeys) || nkeys != 1)
		return sb_err_set(SB_EFORMAT, "an OpenSSH private key file "
				  "must hold exactly one key");
	if (sb_sshkey_get_string(&r, &pk, &pklen) ||
	    sb_sshkey_get_string(&r, &d, &n) || r.len)
		return sb_err_set(SB_EFORMAT, "malformed OpenSSH private key");
	if ((rc = sb_sshkey_pubblob_parse(pub, pk, pklen)))
		return rc;
	priv->p = d;
	priv->len = n;
	return 0;
}

/* The padding 1, 2, 3 ... up to the next multiple of the block size. */
static int privkey_padding(const struct sb_sshkey_rbuf *r)
{
	size_t i;

	if (r->len >= KEY_BLOCK)
		return -1;
	for (i = 0; i < r->len; i++) {
		if (r->p[i] != i + 1)
			return -1;
	}
	return 0;
}

static int privkey_inner(uint8_t seed[SB_ED25519_LEN],
			 const uint8_t pub[SB_ED25519_LEN], struct sb_sshkey_rbuf *r)
{
	const uint8_t *pk, *sk, *comment;
	uint32_t check1, check2;
	size_t clen;

	if (r->len % KEY_BLOCK)
		return sb_err_set(SB_EFORMAT, "OpenSSH private section is not "
				  "a multiple of %d bytes", KEY_BLOCK);
	if (sb_sshkey_get_u32(r, &check1) || sb_sshkey_get_u32(r, &check2) ||
	    check1 != check2)
		return sb_err_set(SB_EFORMAT, "OpenSSH private key check words "
				  "differ");
	if (sb_sshkey_get_expect(r, SB_SSHKEY_TYPE))
		return sb_err_set(SB_EFORMAT, "not an ssh-ed25519 private key");
	if (sb_sshkey_get_fixed(r, &pk, SB_ED25519_LEN) ||
	    sb_sshkey_get_fixed(r, &sk, 2 * SB_ED25519_LEN) ||
	    sb_sshkey_get_string(r, &comment, &clen) || privkey_padding(r))
		return sb_err_set(SB_EFORMAT, "malformed ssh-ed25519 private "
				  "key");
	if (memcmp(pk, pub, SB_ED25519_LEN) ||
	    memcmp(sk + SB_ED25519_LEN, pub, SB_ED25519_LEN))
		return sb_err_set(SB_EFORMAT, "OpenSSH private key holds two "
				  "different public keys");
	memcpy(seed, sk, SB_ED25519_LEN);
	return 0;
}

int sb_ssh_privkey_parse(struct sb_signkey **out, const char *text,
			 size_t len)
{
	struct sb_signkey *k = NULL;
	uint8_t *blob = NULL, pub[SB_ED25519_LEN];
	size_t blen = 0, cap = 0;
	struct sb_sshkey_rbuf priv;
	int rc;

	if (len > KEY_TEXT_MAX)
		return sb_err_set(SB_EFORMAT, "OpenSSH private key file too "
				  "long");
	if (!(k = sb_secure_alloc(sizeof(*k))))
		return nomem();
	if ((rc = sb_sshkey_dearmor(&blob, &blen, &cap, text, len, KEY_BEGIN,
				    KEY_END, "OpenSSH private key", 1)) ||
	    (rc = privkey_outer(&priv, pub, blob, blen)) ||
	    (rc = privkey_inner(k->seed, pub, &priv)) ||
	    (rc = sb_ed25519_public(k->pub, k->seed)))
		goto out;
	if (memcmp(k->pub, pub, SB_ED25519_LEN)) {
		rc = sb_err_set(SB_EFORMAT, "OpenSSH private key does not "
				"match its public key");
		goto out;
	}
	*out = k;
	k = NULL;
out:
	sb_secure_free(blob, cap);
	sb_signkey_free(k);
	return rc;
}

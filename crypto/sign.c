#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sign.h"

#define SIGBLOB_LEN	(4 + SB_SSHKEY_TYPE_LEN + 4 + SB_ED25519_SIG)

#define SSHSIG_MAGIC	"SSHSIG"
#define SSHSIG_MAGIC_LEN (sizeof(SSHSIG_MAGIC) - 1)
#define SSHSIG_VERSION	1
#define SSHSIG_HASH	"sha512"
#define SIG_BEGIN	"-----BEGIN SSH SIGNATURE-----\n"
#define SIG_END		"-----END SSH SIGNATURE-----"

/* The group order L and the field prime p, little-endian (RFC 8032). */
static const uint8_t ed25519_l[SB_ED25519_LEN] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
	0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};
static const uint8_t ed25519_p[SB_ED25519_LEN] = {
	0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};

static int nomem(void)
{
	return sb_err_set(-ENOMEM, "out of memory");
}

/*
 * The y of the points of small order (RFC 8032 curve; the sign bit of x
 * is ignored): 0, 1, p - 1 and the two of order 8. A key that is one of
 * them "signs" any message with one fixed signature; no key made from a
 * seed is.
 */
static const uint8_t small_order[][SB_ED25519_LEN] = {
	{ 0 },
	{ 1 },
	{
		0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	},
	{
		0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0,
		0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
		0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
	},
	{
		0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f,
		0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6,
		0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
	},
};

/* a < b for little-endian numbers of n bytes (public values only). */
static int le_less(const uint8_t *a, const uint8_t *b, size_t n)
{
	while (n--) {
		if (a[n] != b[n])
			return a[n] < b[n];
	}
	return 0;
}

/* Ed25519 through libgcrypt (RFC 8032 PureEdDSA, "flags eddsa"). */

static int gcry_fail(gcry_error_t err, const char *what)
{
	return sb_err_set(SB_ECRYPTO, "%s: %s", what, gcry_strerror(err));
}

/*
 * q for the seed d. libgcrypt computes Q from d when a context built from
 * a key without q is asked for "q@eddsa", and returns it encoded as RFC
 * 8032 says. seed is in secure memory, so the S-expression built from it
 * is too (gcry_sexp_build switches to secure memory for a %b argument in
 * it) and gcry_sexp_release wipes it.
 */
int sb_ed25519_public(uint8_t pub[SB_ED25519_LEN], const uint8_t *seed)
{
	gcry_sexp_t key = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t q = NULL;
	const unsigned char *qb;
	unsigned int nbits = 0;
	gcry_error_t err;
	int rc = 0;

	err = gcry_sexp_build(&key, NULL,
			      "(private-key(ecc(curve Ed25519)(flags eddsa)"
			      "(d %b)))", SB_ED25519_LEN, seed);
	if (!err)
		err = gcry_mpi_ec_new(&ctx, key, NULL);
	if (err) {
		rc = gcry_fail(err, "cannot load the Ed25519 key");
		goto out;
	}
	q = gcry_mpi_ec_get_mpi("q@eddsa", ctx, 1);
	qb = q ? gcry_mpi_get_opaque(q, &nbits) : NULL;
	if (!qb || nbits != 8 * SB_ED25519_LEN) {
		rc = sb_err_set(SB_ECRYPTO, "cannot compute the Ed25519 public key");
		goto out;
	}
	memcpy(pub, qb, SB_ED25519_LEN);
out:
	gcry_mpi_release(q);
	gcry_ctx_release(ctx);
	gcry_sexp_release(key);
	return rc;
}

void sb_signkey_free(struct sb_signkey *k)
{
	sb_secure_free(k, sizeof(*k));
}

int sb_signkey_from_seed(struct sb_signkey **out,
			 const uint8_t seed[SB_ED25519_LEN])
{
	struct sb_signkey *k = sb_secure_alloc(sizeof(*k));
	int rc;

	if (!k)
		return nomem();
	memcpy(k->seed, seed, SB_ED25519_LEN);
	if ((rc = sb_ed25519_public(k->pub, k->seed))) {
		sb_signkey_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int sb_signkey_generate(struct sb_signkey **out)
{
	uint8_t *seed = sb_secure_alloc(SB_ED25519_LEN);
	int rc;

	if (!seed)
		return nomem();
	sb_random_key(seed, SB_ED25519_LEN);
	rc = sb_signkey_from_seed(out, seed);
	sb_secure_free(seed, SB_ED25519_LEN);
	return rc;
}

/* The EdDSA data S-expression: the message itself (pure, no prehash). */
static int ed25519_data(gcry_sexp_t *data, const void *msg, size_t len)
{
	gcry_error_t err;

	if (len > INT_MAX)
		return sb_err_set(-EFBIG, "message too long to sign");
	err = gcry_sexp_build(data, NULL,
			      "(data(flags eddsa)(hash-algo sha512)(value %b))",
			      (int)len, len ? msg : "");
	return err ? gcry_fail(err, "cannot build the Ed25519 data") : 0;
}

/* Copies the 32-byte value of token name ("r" or "s") of a sig-val. */
static int sig_part(uint8_t out[32], gcry_sexp_t sig, const char *name)
{
	gcry_sexp_t t = gcry_sexp_find_token(sig, name, 0);
	const char *d = NULL;
	size_t n = 0;
	int rc = 0;

	if (t)
		d = gcry_sexp_nth_data(t, 1, &n);
	if (!d || n != 32)
		rc = sb_err_set(SB_ECRYPTO, "libgcrypt returned a malformed "
				"Ed25519 signature");
	else
		memcpy(out, d, 32);
	gcry_sexp_release(t);
	return rc;
}

int sb_ed25519_sign(uint8_t sig[SB_ED25519_SIG], const struct sb_signkey *k,
		    const void *msg, size_t len)
{
	gcry_sexp_t key = NULL, data = NULL, s = NULL;
	gcry_error_t err;
	int rc;

	if ((rc = ed25519_data(&data, msg, len)))
		goto out;
	err = gcry_sexp_build(&key, NULL,
			      "(private-key(ecc(curve Ed25519)(flags eddsa)"
			      "(q %b)(d %b)))", SB_ED25519_LEN, k->pub,
			      SB_ED25519_LEN, k->seed);
	if (!err)
		err = gcry_pk_sign(&s, data, key);
	if (err) {
		rc = gcry_fail(err, "Ed25519 signing failed");
		goto out;
	}
	if (!(rc = sig_part(sig, s, "r")))
		rc = sig_part(sig + 32, s, "s");
out:
	gcry_sexp_release(s);
	gcry_sexp_release(key);
	gcry_sexp_release(data);
	return rc;
}

/* Field constants for decoding A, big-endian hex: p, d, (p + 3) / 8, sqrt(-1). */
static const char *const ed25519_hex[] = {
	"7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED",
	"52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3",
	"0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE",
	"2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0",
};

enum { ED_P, ED_D, ED_P38, ED_SQRTM1, ED_NCONST };

/*
 * Recovers x of the point whose y and sign of x are given (RFC 8032
 * sec. 5.1.3) with libgcrypt's generic MPI functions, which take any
 * size of number. Returns 1 when it is a point of the curve, else 0.
 */
static int ed25519_recover_x(gcry_mpi_t x, gcry_mpi_t y, int sign,
			     gcry_mpi_t c[ED_NCONST])
{
	gcry_mpi_t u = gcry_mpi_new(256), v = gcry_mpi_new(256);
	gcry_mpi_t one = gcry_mpi_set_ui(NULL, 1);
	int ok = 1;

	gcry_mpi_mulm(u, y, y, c[ED_P]);
	gcry_mpi_mulm(v, c[ED_D], u, c[ED_P]);
	gcry_mpi_subm(u, u, one, c[ED_P]);		/* y^2 - 1 */
	gcry_mpi_addm(v, v, one, c[ED_P]);		/* d y^2 + 1, never 0 */
	gcry_mpi_invm(v, v, c[ED_P]);
	gcry_mpi_mulm(u, u, v, c[ED_P]);		/* x^2 */
	gcry_mpi_powm(x, u, c[ED_P38], c[ED_P]);
	gcry_mpi_mulm(v, x, x, c[ED_P]);
	if (gcry_mpi_cmp(v, u)) {
		gcry_mpi_mulm(x, x, c[ED_SQRTM1], c[ED_P]);
		gcry_mpi_mulm(v, x, x, c[ED_P]);
		ok = !gcry_mpi_cmp(v, u);
	}
	if (ok && !gcry_mpi_cmp_ui(x, 0) && sign)
		ok = 0;
	if (ok && gcry_mpi_test_bit(x, 0) != sign)
		gcry_mpi_sub(x, c[ED_P], x);
	gcry_mpi_release(one);
	gcry_mpi_release(u);
	gcry_mpi_release(v);
	return ok;
}

/*
 * libgcrypt 1.10 aborts the whole process (log_bug "mulm_25519:
 * different sizes") when a public key it decodes has a coordinate that
 * fits in fewer limbs than the field, x or y < 2^192 with 64-bit limbs
 * (GnuPG bug 8094), and when the encoding is not a point at all it
 * computes on such numbers too. Keys made from seeds have such a
 * coordinate with probability about 2^-63; crafted ones always. So A is
 * decoded here first and refused unless libgcrypt can take it.
 */
static int ed25519_decodable(const uint8_t pub[SB_ED25519_LEN])
{
	unsigned int min_bits = 256 - 8 * sizeof(unsigned long);
	gcry_mpi_t c[ED_NCONST] = { 0 }, x = NULL, y = NULL;
	uint8_t be[SB_ED25519_LEN];
	int rc = 0, i;

	for (i = 0; i < SB_ED25519_LEN; i++)
		be[i] = pub[SB_ED25519_LEN - 1 - i];
	be[0] &= 0x7f;
	for (i = 0; i < ED_NCONST; i++) {
		if (gcry_mpi_scan(&c[i], GCRYMPI_FMT_HEX, ed25519_hex[i], 0,
				  NULL))
			rc = sb_err_set(SB_ECRYPTO, "cannot load Ed25519 "
					"constants");
	}
	if (!rc && gcry_mpi_scan(&y, GCRYMPI_FMT_USG, be, sizeof(be), NULL))
		rc = sb_err_set(SB_ECRYPTO, "cannot load an Ed25519 key");
	if (rc)
		goto out;
	x = gcry_mpi_new(256);
	if (!ed25519_recover_x(x, y, pub[31] >> 7, c))
		rc = sb_err_set(SB_ESIG, "Ed25519 public key is not a point "
				"of the curve");
	else if (gcry_mpi_get_nbits(x) <= min_bits ||
		 gcry_mpi_get_nbits(y) <= min_bits)
		rc = sb_err_set(SB_ESIG, "Ed25519 public key has a coordinate "
				"below 2^%u (refused: libgcrypt 1.10 aborts "
				"on it)", min_bits);
out:
	for (i = 0; i < ED_NCONST; i++)
		gcry_mpi_release(c[i]);
	gcry_mpi_release(x);
	gcry_mpi_release(y);
	return rc;
}

/*
 * What libgcrypt 1.10 does not check: S < L (RFC 8032 sec. 5.1.7 step 1;
 * without it a signature has other valid encodings), a canonical y in A
 * (it hashes its own re-encoding of A, not the bytes given), A of small
 * order, and A it can decode without aborting.
 */
static int ed25519_check_input(const uint8_t pub[SB_ED25519_LEN],
			       const uint8_t sig[SB_ED25519_SIG])
{
	uint8_t y[SB_ED25519_LEN];
	size_t i;

	memcpy(y, pub, SB_ED25519_LEN);
	y[31] &= 0x7f;
	if (!le_less(sig + 32, ed25519_l, 32))
		return sb_err_set(SB_ESIG, "bad Ed25519 signature (S >= L)");
	if (!le_less(y, ed25519_p, 32))
		return sb_err_set(SB_ESIG, "non-canonical Ed25519 public key");
	for (i = 0; i < sizeof(small_order) / sizeof(small_order[0]); i++) {
		if (!memcmp(y, small_order[i], SB_ED25519_LEN))
			return sb_err_set(SB_ESIG, "Ed25519 public key of "
					  "small order");
	}
	return ed25519_decodable(pub);
}

int sb_ed25519_verify(const uint8_t pub[SB_ED25519_LEN],
		      const uint8_t sig[SB_ED25519_SIG],
		      const void *msg, size_t len)
{
	gcry_sexp_t key = NULL, data = NULL, s = NULL;
	gcry_error_t err;
	int rc;

	if ((rc = ed25519_check_input(pub, sig)) ||
	    (rc = ed25519_data(&data, msg, len)))
		goto out;
	err = gcry_sexp_build(&key, NULL,
			      "(public-key(ecc(curve Ed25519)(flags eddsa)"
			      "(q %b)))", SB_ED25519_LEN, pub);
	if (!err)
		err = gcry_sexp_build(&s, NULL, "(sig-val(eddsa(r %b)(s %b)))",
				      32, sig, 32, sig + 32);
	if (err) {
		rc = gcry_fail(err, "cannot build the Ed25519 verification");
		goto out;
	}
	/* Every failure here is about the key or signature given. */
	if ((err = gcry_pk_verify(s, data, key)))
		rc = sb_err_set(SB_ESIG, "bad Ed25519 signature (%s)",
				gcry_strerror(err));
out:
	gcry_sexp_release(s);
	gcry_sexp_release(key);
	gcry_sexp_release(data);
	return rc;
}

/* SSHSIG (OpenSSH PROTOCOL.sshsig). */

/*
 * The signed data: MAGIC || string(namespace) || string(reserved "") ||
 * string(hash name) || string(H(message)). The reserved field signed is
 * always empty, as OpenSSH's own verifier builds it.
 */
static int sshsig_tosign(uint8_t **out, size_t *outlen, const char *ns,
			 size_t nslen, const char *hash, const uint8_t *h,
			 size_t hlen)
{
	size_t size = SSHSIG_MAGIC_LEN + 4 + nslen + 4 + 4 + strlen(hash) +
		      4 + hlen;
	struct sb_sshkey_wbuf w = { malloc(size), 0, size, 0 };
	int rc;

	if (!w.p)
		return nomem();
	sb_sshkey_put_raw(&w, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	sb_sshkey_put_string(&w, ns, nslen);
	sb_sshkey_put_string(&w, NULL, 0);
	sb_sshkey_put_cstring(&w, hash);
	sb_sshkey_put_string(&w, h, hlen);
	if ((rc = sb_sshkey_wbuf_check(&w))) {
		free(w.p);
		return rc;
	}
	*out = w.p;
	*outlen = w.len;
	return 0;
}

static int sshsig_blob(uint8_t **out, size_t *outlen,
		       const uint8_t pub[SB_ED25519_LEN], const char *ns,
		       const uint8_t sig[SB_ED25519_SIG])
{
	size_t size = SSHSIG_MAGIC_LEN + 4 + 4 + SB_SSHKEY_PUBBLOB_LEN + 4 +
		      strlen(ns) + 4 + 4 + strlen(SSHSIG_HASH) + 4 + SIGBLOB_LEN;
	struct sb_sshkey_wbuf w = { malloc(size), 0, size, 0 };
	int rc;

	if (!w.p)
		return nomem();
	sb_sshkey_put_raw(&w, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	sb_sshkey_put_u32(&w, SSHSIG_VERSION);
	sb_sshkey_put_pubblob(&w, pub);
	sb_sshkey_put_cstring(&w, ns);
	sb_sshkey_put_string(&w, NULL, 0);
	sb_sshkey_put_cstring(&w, SSHSIG_HASH);
	sb_sshkey_put_u32(&w, SIGBLOB_LEN);
	sb_sshkey_put_cstring(&w, SB_SSHKEY_TYPE);
	sb_sshkey_put_string(&w, sig, SB_ED25519_SIG);
	if ((rc = sb_sshkey_wbuf_check(&w))) {
		free(w.p);
		return rc;
	}
	*out = w.p;
	*outlen = w.len;
	return 0;
}

static int namespace_check(const char *ns)
{
	if (!ns || !*ns || strlen(ns) > 1024)
		return sb_err_set(-EINVAL, "SSHSIG namespace must be 1 to "
				  "1024 bytes");
	return 0;
}

int sb_sshsig_sign(char **armor_out, const struct sb_signkey *k,
		   const char *namespace, const void *msg, size_t len)
{
	uint8_t h[64], sig[SB_ED25519_SIG];
	uint8_t *tosign = NULL, *blob = NULL;
	size_t tlen = 0, blen = 0;
	int rc;

	if ((rc = namespace_check(namespace)))
		return rc;
	sb_sha512(h, len ? msg : "", len);
	if ((rc = sshsig_tosign(&tosign, &tlen, namespace, strlen(namespace),
				SSHSIG_HASH, h, sizeof(h))) ||
	    (rc = sb_ed25519_sign(sig, k, tosign, tlen)) ||
	    (rc = sshsig_blob(&blob, &blen, k->pub, namespace, sig)))
		goto out;
	rc = sb_sshkey_armor(armor_out, blob, blen, SIG_BEGIN, SIG_END, 0);
out:
	free(tosign);
	free(blob);
	return rc;
}

/* A parsed SSHSIG blob; pointers into the blob. */
struct sshsig {
	uint8_t pub[SB_ED25519_LEN];
	const uint8_t *ns, *hash, *sig;
	size_t nslen, hashlen;
};

static int sshsig_sigblob(struct sshsig *s, const uint8_t *blob, size_t len)
{
	struct sb_sshkey_rbuf r = { blob, len };

	if (sb_sshkey_get_expect(&r, SB_SSHKEY_TYPE))
		return sb_err_set(SB_EFORMAT, "SSHSIG signature is not "
				  "ssh-ed25519");
	if (sb_sshkey_get_fixed(&r, &s->sig, SB_ED25519_SIG) || r.len)
		return sb_err_set(SB_EFORMAT, "malformed SSHSIG ssh-ed25519 "
				  "signature");
	return 0;
}

static int sshsig_parse(struct sshsig *s, const uint8_t *blob, size_t len)
{
	struct sb_sshkey_rbuf r = { blob, len };
	const uint8_t *magic, *pk, *res, *sig;
	size_t pklen, reslen, siglen;
	uint32_t version;
	int rc;

	if (sb_sshkey_get_raw(&r, &magic, SSHSIG_MAGIC_LEN) ||
	    memcmp(magic, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN))
		return sb_err_set(SB_EFORMAT, "not an SSHSIG signature");
	if (sb_sshkey_get_u32(&r, &version))
		return sb_err_set(SB_EFORMAT, "truncated SSHSIG signature");
	if (version != SSHSIG_VERSION)
		return sb_err_set(SB_EFORMAT, "unsupported SSHSIG version %u",
				  version);
	if (sb_sshkey_get_string(&r, &pk, &pklen) ||
	    sb_sshkey_get_string(&r, &s->ns, &s->nslen) ||
	    sb_sshkey_get_string(&r, &res, &reslen) ||
	    sb_sshkey_get_string(&r, &s->hash, &s->hashlen) ||
	    sb_sshkey_get_string(&r, &sig, &siglen))
		return sb_err_set(SB_EFORMAT, "truncated SSHSIG signature");
	if (r.len)
		return sb_err_set(SB_EFORMAT, "trailing bytes after the "
				  "SSHSIG signature");
	if (reslen)
		return sb_err_set(SB_EFORMAT, "SSHSIG reserved field is not "
				  "empty");
	if ((rc = sb_sshkey_pubblob_parse(s->pub, pk, pklen)))
		return rc;
	return sshsig_sigblob(s, sig, siglen);
}

static int sshsig_check(const struct sshsig *s, const void *msg, size_t len)
{
	uint8_t h[64], *tosign = NULL;
	const char *hash;
	size_t hlen, tlen = 0;
	int rc;

	msg = len ? msg : "";
	if (s->hashlen == 6 && !memcmp(s->hash, "sha512", 6)) {
		hash = "sha512";
		hlen = 64;
		sb_sha512(h, msg, len);
	} else if (s->hashlen == 6 && !memcmp(s->hash, "sha256", 6)) {
		hash = "sha256";
		hlen = 32;
		sb_sha256(h, msg, len);
	} else {
		return sb_err_set(SB_EFORMAT, "unsupported SSHSIG hash "
				  "algorithm");
	}
	if (!(rc = sshsig_tosign(&tosign, &tlen, (const char *)s->ns,
				 s->nslen, hash, h, hlen)))
		rc = sb_ed25519_verify(s->pub, s->sig, tosign, tlen);
	free(tosign);
	return rc;
}

int sb_sshsig_verify(uint8_t signer[SB_ED25519_LEN], const char *armor_in,
		     size_t armorlen, const char *namespace,
		     const void *msg, size_t len)
{
	struct sshsig s;
	uint8_t *blob = NULL;
	size_t blen = 0, cap = 0;
	int rc;

	if ((rc = namespace_check(namespace)) ||
	    (rc = sb_sshkey_dearmor(&blob, &blen, &cap, armor_in, armorlen,
				    SIG_BEGIN, SIG_END, "SSH signature", 0)) ||
	    (rc = sshsig_parse(&s, blob, blen)))
		goto out;
	if (s.nslen != strlen(namespace) ||
	    memcmp(s.ns, namespace, s.nslen)) {
		rc = sb_err_set(SB_ESIG, "SSHSIG namespace is not \"%s\"",
				namespace);
		goto out;
	}
	if ((rc = sshsig_check(&s, msg, len)))
		goto out;
	memcpy(signer, s.pub, SB_ED25519_LEN);
out:
	free(blob);
	return rc;
}


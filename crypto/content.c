#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "crypto/content.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"

#define CONTENT_MAGIC		"SBXC"
#define CONTENT_VERSION		1
#define CONTENT_SHIFT		12	/* log2(SB_CONTENT_BLOCK) */
#define CONTENT_KEY		32

/* Header offsets. */
#define OFF_VERSION		4
#define OFF_SHIFT		5
#define OFF_FLAGS		6
#define OFF_EPOCH		8
#define OFF_FILE_ID		12
#define OFF_META		SB_CONTENT_PREFIX /* nonce || meta || tag */

/* Meta plaintext offsets. */
#define META_SEC		0
#define META_NSEC		8
#define META_RESERVED		12

/* Block AAD: version | file ID | index be64 | last u8. */
#define AAD_INDEX		(1 + SB_CONTENT_FILE_ID)
#define AAD_LAST		(AAD_INDEX + 8)
#define AAD_LEN			(AAD_LAST + 1)

#define NSEC_PER_SEC		1000000000u

/* Nonces per gcry_create_nonce call: the first batch, the largest. */
#define NONCE_FIRST		4
#define NONCE_POOL		64

static const char file_info[] = "sealbox v1 file key";

struct sb_content_keys {
	uint32_t nepochs;
	uint8_t (*key)[CONTENT_KEY];	/* nepochs entries, secure */
};

/* Random nonces taken in batches; each is used once. */
struct nonce_pool {
	unsigned next, end;		/* unused: [next, end) */
	uint8_t nonce[NONCE_POOL][SB_CONTENT_NONCE];
};

struct sb_cfile {
	gcry_cipher_hd_t h;		/* keyed with the per-file key */
	uint8_t *key;			/* the per-file key (secure memory),
					   for the threads' own handles */
	uint64_t serial;		/* unique in this process */
	uint8_t prefix[SB_CONTENT_PREFIX];
	uint8_t aad[AAD_LEN];		/* index, last: set per block */
	struct nonce_pool nonces;
};

void sb_content_keys_free(struct sb_content_keys *k)
{
	if (!k)
		return;
	sb_secure_free(k->key, (size_t)k->nepochs * CONTENT_KEY);
	sb_secure_free(k, sizeof(*k));
}

int sb_content_keys_new(struct sb_content_keys **out,
			const struct sb_secrets *s)
{
	struct sb_content_keys *k;
	uint32_t e;
	int rc = 0;

	if (s->nepochs == 0)
		return sb_err_set(-EINVAL, "vault secrets have no epoch");
	if (!(k = sb_secure_alloc(sizeof(*k))))
		return -ENOMEM;
	if (!(k->key = sb_secure_alloc((size_t)s->nepochs * CONTENT_KEY))) {
		rc = -ENOMEM;
		goto out_free;
	}
	k->nepochs = s->nepochs;
	for (e = 0; e < k->nepochs && !rc; e++)
		rc = sb_secrets_content_key(k->key[e], s, e);
	if (rc)
		goto out_free;
	*out = k;
	k = NULL;
out_free:
	sb_content_keys_free(k);
	return rc;
}

uint32_t sb_content_keys_epoch(const struct sb_content_keys *k)
{
	return k->nepochs - 1;
}

/*
 * A fresh nonce. A gcry_create_nonce call costs about as much as
 * encrypting 1 KiB, mostly per call, so nonces are taken in batches that
 * grow from NONCE_FIRST to NONCE_POOL: a small file pays for one call,
 * a large one for one call per 64 blocks. Each is used once.
 */
static void take_nonce(struct nonce_pool *p, uint8_t out[SB_CONTENT_NONCE])
{
	if (p->next == p->end) {
		unsigned n = p->end ? p->end * 4 : NONCE_FIRST;

		p->end = n < NONCE_POOL ? n : NONCE_POOL;
		p->next = 0;
		sb_random_nonce(p->nonce, p->end * SB_CONTENT_NONCE);
	}
	memcpy(out, p->nonce[p->next++], SB_CONTENT_NONCE);
}

/*
 * One AES-256-GCM message with handle h, out = nonce || ciphertext ||
 * tag, the nonce from pool. Setting the IV resets libgcrypt's GCM state,
 * so the handle is reused without allocating.
 */
static int gcm_seal(gcry_cipher_hd_t h, struct nonce_pool *pool,
		    const uint8_t *aad, size_t aadlen,
		    const uint8_t *plain, size_t len, uint8_t *out)
{
	uint8_t *body = out + SB_CONTENT_NONCE;

	take_nonce(pool, out);
	if (gcry_cipher_setiv(h, out, SB_CONTENT_NONCE) ||
	    gcry_cipher_authenticate(h, aad, aadlen) ||
	    (len && gcry_cipher_encrypt(h, body, len, plain, len)) ||
	    gcry_cipher_gettag(h, body + len, SB_CONTENT_TAG))
		return sb_err_set(SB_ECRYPTO, "AES-256-GCM encryption failed");
	return 0;
}

/*
 * The inverse of gcm_seal for len bytes of ciphertext. Returns SB_EAUTH
 * without a message (the caller names what failed); plain is wiped on
 * every error, since libgcrypt decrypts before it checks the tag.
 */
static int gcm_open(gcry_cipher_hd_t h, const uint8_t *aad, size_t aadlen,
		    const uint8_t *in, size_t len, uint8_t *plain)
{
	const uint8_t *body = in + SB_CONTENT_NONCE;
	gcry_error_t err;
	int rc = 0;

	if (gcry_cipher_setiv(h, in, SB_CONTENT_NONCE) ||
	    gcry_cipher_authenticate(h, aad, aadlen) ||
	    (len && gcry_cipher_decrypt(h, plain, len, body, len)))
		rc = sb_err_set(SB_ECRYPTO, "AES-256-GCM decryption failed");
	else if ((err = gcry_cipher_checktag(h, body + len, SB_CONTENT_TAG)))
		rc = gcry_err_code(err) == GPG_ERR_CHECKSUM ? SB_EAUTH :
		     sb_err_set(SB_ECRYPTO, "AES-256-GCM tag check failed");
	if (rc)
		sb_wipe(plain, len);
	return rc;
}

/*
 * Keys f->h with HKDF(content key of the epoch, salt = file ID), and keeps
 * the key in secure memory for the threads' own handles.
 */
static int cfile_key(struct sb_cfile *f, const uint8_t content_key[CONTENT_KEY])
{
	static uint64_t serials;
	int rc;

	if (!(f->key = sb_secure_alloc(CONTENT_KEY)))
		return -ENOMEM;
	f->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
	rc = sb_hkdf_sha256(f->key, CONTENT_KEY, content_key, CONTENT_KEY,
			    f->prefix + OFF_FILE_ID, SB_CONTENT_FILE_ID,
			    file_info, sizeof(file_info) - 1);
	if (!rc && gcry_cipher_setkey(f->h, f->key, CONTENT_KEY))
		rc = sb_err_set(SB_ECRYPTO, "cannot key AES-256-GCM");
	return rc;
}

void sb_cfile_free(struct sb_cfile *f)
{
	if (!f)
		return;
	gcry_cipher_close(f->h);
	if (f->key)
		sb_secure_free(f->key, CONTENT_KEY);
	sb_wipe(f, sizeof(*f));
	free(f);
}

/* A handle for the file whose header starts with prefix (checked). */
static int cfile_new(struct sb_cfile **out, const struct sb_content_keys *k,
		     const uint8_t prefix[SB_CONTENT_PREFIX])
{
	uint32_t epoch = sb_get_be32(prefix + OFF_EPOCH);
	struct sb_cfile *f;
	int rc;

	if (epoch >= k->nepochs)
		return sb_err_set(SB_EAUTH, "no content key for epoch %" PRIu32,
				  epoch);
	if (!(f = calloc(1, sizeof(*f))))
		return -ENOMEM;
	memcpy(f->prefix, prefix, SB_CONTENT_PREFIX);
	f->aad[0] = CONTENT_VERSION;
	memcpy(f->aad + 1, prefix + OFF_FILE_ID, SB_CONTENT_FILE_ID);
	if (gcry_cipher_open(&f->h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM,
			     GCRY_CIPHER_SECURE)) {
		rc = sb_err_set(SB_ECRYPTO, "cannot open AES-256-GCM");
		goto out_free;
	}
	if ((rc = cfile_key(f, k->key[epoch])))
		goto out_free;
	*out = f;
	f = NULL;
out_free:
	sb_cfile_free(f);
	return rc;
}

/*
 * Checks what can be checked before any key is used, in the order
 * FORMAT.md gives: magic, version, length, block size, flags.
 */
static int header_check(const uint8_t *in, size_t inlen)
{
	if (inlen < OFF_VERSION + 1 || memcmp(in, CONTENT_MAGIC, 4))
		return sb_err_set(SB_EFORMAT, "not a content file");
	if (in[OFF_VERSION] != CONTENT_VERSION)
		return sb_err_set(SB_EVERSION,
				  "content file version %u unknown",
				  in[OFF_VERSION]);
	if (inlen < SB_CONTENT_HEADER)
		return sb_err_set(SB_EFORMAT, "content file header truncated");
	if (in[OFF_SHIFT] != CONTENT_SHIFT)
		return sb_err_set(SB_EFORMAT,
				  "content block size exponent %u unsupported",
				  in[OFF_SHIFT]);
	if (in[OFF_FLAGS] || in[OFF_FLAGS + 1])
		return sb_err_set(SB_EFORMAT, "content file flags %#x unknown",
				  (unsigned)in[OFF_FLAGS] << 8 |
				  in[OFF_FLAGS + 1]);
	return 0;
}

static void prefix_build(uint8_t prefix[SB_CONTENT_PREFIX], uint32_t epoch)
{
	memcpy(prefix, CONTENT_MAGIC, 4);
	prefix[OFF_VERSION] = CONTENT_VERSION;
	prefix[OFF_SHIFT] = CONTENT_SHIFT;
	prefix[OFF_FLAGS] = 0;
	prefix[OFF_FLAGS + 1] = 0;
	sb_put_be32(prefix + OFF_EPOCH, epoch);
	sb_random_id(prefix + OFF_FILE_ID, SB_CONTENT_FILE_ID);
}

static int meta_check(const struct sb_meta *m)
{
	if (m->mtime_nsec >= NSEC_PER_SEC)
		return sb_err_set(-EINVAL, "mtime nanoseconds %" PRIu32
				  " out of range", m->mtime_nsec);
	return 0;
}

static void meta_encode(uint8_t p[SB_META_LEN], const struct sb_meta *m)
{
	memset(p, 0, SB_META_LEN);
	sb_put_be64(p + META_SEC, (uint64_t)m->mtime_sec);
	sb_put_be32(p + META_NSEC, m->mtime_nsec);
}

static int meta_decode(struct sb_meta *m, const uint8_t p[SB_META_LEN])
{
	static const uint8_t zero[SB_META_LEN - META_RESERVED];

	m->mtime_sec = (int64_t)sb_get_be64(p + META_SEC);
	m->mtime_nsec = sb_get_be32(p + META_NSEC);
	if (m->mtime_nsec >= NSEC_PER_SEC ||
	    memcmp(p + META_RESERVED, zero, sizeof(zero)))
		return sb_err_set(SB_EFORMAT, "content metadata malformed");
	return 0;
}

/* Writes the whole header: f's prefix and meta under a fresh nonce. */
static int meta_seal(struct sb_cfile *f, const struct sb_meta *m,
		     uint8_t header[SB_CONTENT_HEADER])
{
	uint8_t p[SB_META_LEN];
	int rc;

	meta_encode(p, m);
	memcpy(header, f->prefix, SB_CONTENT_PREFIX);
	rc = gcm_seal(f->h, &f->nonces, f->prefix, SB_CONTENT_PREFIX, p, SB_META_LEN,
		      header + OFF_META);
	sb_wipe(p, sizeof(p));
	return rc;
}

static int meta_open(struct sb_cfile *f,
		     const uint8_t header[SB_CONTENT_HEADER], struct sb_meta *m)
{
	uint8_t p[SB_META_LEN];
	int rc;

	rc = gcm_open(f->h, f->prefix, SB_CONTENT_PREFIX, header + OFF_META,
		      SB_META_LEN, p);
	if (rc == SB_EAUTH)
		sb_err_set(rc, "content file header fails authentication");
	if (!rc)
		rc = meta_decode(m, p);
	sb_wipe(p, sizeof(p));
	return rc;
}

int sb_cfile_create(struct sb_cfile **out, const struct sb_content_keys *k,
		    const struct sb_meta *meta,
		    uint8_t header[SB_CONTENT_HEADER])
{
	uint8_t prefix[SB_CONTENT_PREFIX];
	struct sb_cfile *f = NULL;
	int rc;

	if ((rc = meta_check(meta)))
		return rc;
	prefix_build(prefix, sb_content_keys_epoch(k));
	if ((rc = cfile_new(&f, k, prefix)))
		return rc;
	if ((rc = meta_seal(f, meta, header))) {
		sb_cfile_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int sb_cfile_open(struct sb_cfile **out, const struct sb_content_keys *k,
		  const uint8_t header[SB_CONTENT_HEADER],
		  struct sb_meta *meta)
{
	struct sb_cfile *f = NULL;
	struct sb_meta m;
	int rc;

	if ((rc = header_check(header, SB_CONTENT_HEADER)))
		return rc;
	if ((rc = cfile_new(&f, k, header)))
		return rc;
	if ((rc = meta_open(f, header, &m))) {
		sb_cfile_free(f);
		return rc;
	}
	if (meta)
		*meta = m;
	*out = f;
	return 0;
}

int sb_cfile_set_meta(struct sb_cfile *f, const struct sb_meta *meta,
		      uint8_t header[SB_CONTENT_HEADER])
{
	int rc = meta_check(meta);

	return rc ? rc : meta_seal(f, meta, header);
}

/* Only the last block may be short, and only an empty file's is empty. */
static int block_len_ok(uint64_t index, int last, size_t len)
{
	if (len > SB_CONTENT_BLOCK)
		return 0;
	if (!last)
		return len == SB_CONTENT_BLOCK;
	return len > 0 || index == 0;
}

static void block_aad(uint8_t aad[AAD_LEN], uint64_t index, int last)
{
	sb_put_be64(aad + AAD_INDEX, index);
	aad[AAD_LAST] = last ? 1 : 0;
}

/* One block with handle h and nonces from pool; aad holds f's version
 * and file ID. */
static int encrypt_block(gcry_cipher_hd_t h, struct nonce_pool *pool,
			 uint8_t aad[AAD_LEN], uint64_t index, int last,
			 const uint8_t *plain, size_t len, uint8_t *out)
{
	if (!block_len_ok(index, last, len))
		return sb_err_set(-EINVAL, "%s content block %" PRIu64
				  " cannot hold %zu bytes",
				  last ? "last" : "inner", index, len);
	block_aad(aad, index, last);
	return gcm_seal(h, pool, aad, AAD_LEN, plain, len, out);
}

int sb_cfile_encrypt_block(struct sb_cfile *f, uint64_t index, int last,
			   const uint8_t *plain, size_t len, uint8_t *out)
{
	return encrypt_block(f->h, &f->nonces, f->aad, index, last, plain,
			     len, out);
}

/* One block with handle h; aad holds f's version and file ID. */
static int decrypt_block(gcry_cipher_hd_t h, uint8_t aad[AAD_LEN],
			 uint64_t index, int last, const uint8_t *in,
			 size_t inlen, uint8_t *plain)
{
	size_t len = inlen - SB_CONTENT_OVERHEAD;
	int rc;

	if (inlen < SB_CONTENT_OVERHEAD || !block_len_ok(index, last, len))
		return sb_err_set(SB_EFORMAT, "%s content block %" PRIu64
				  " cannot be %zu bytes long",
				  last ? "last" : "inner", index, inlen);
	block_aad(aad, index, last);
	rc = gcm_open(h, aad, AAD_LEN, in, len, plain);
	if (rc == SB_EAUTH)
		sb_err_set(rc, "content block %" PRIu64
			   " fails authentication", index);
	return rc;
}

int sb_cfile_decrypt_block(struct sb_cfile *f, uint64_t index, int last,
			   const uint8_t *in, size_t inlen, uint8_t *plain)
{
	return decrypt_block(f->h, f->aad, index, last, in, inlen, plain);
}

/*
 * The calling thread's own handle, last keyed for the file `serial`, and
 * its own nonces (random, so they need not come from the file's pool).
 */
struct thread_handle {
	gcry_cipher_hd_t h;
	uint64_t serial;
	struct nonce_pool nonces;
};

static pthread_key_t th_key;
static pthread_once_t th_once = PTHREAD_ONCE_INIT;

static void th_free(void *v)
{
	struct thread_handle *t = v;

	gcry_cipher_close(t->h);
	sb_wipe(t, sizeof(*t));
	free(t);
}

/* A child of fork() must not take the nonces its parent's thread will. */
static void th_forked(void)
{
	struct thread_handle *t = pthread_getspecific(th_key);

	if (t)
		t->nonces.next = t->nonces.end;
}

static void th_init(void)
{
	pthread_key_create(&th_key, th_free);
	pthread_atfork(NULL, NULL, th_forked);
}

/* The thread's handle keyed for f (keyed again only when f changes). */
static int thread_handle(const struct sb_cfile *f, struct thread_handle **out)
{
	struct thread_handle *t;

	pthread_once(&th_once, th_init);
	t = pthread_getspecific(th_key);
	if (!t) {
		if (!(t = calloc(1, sizeof(*t))))
			return -ENOMEM;
		if (gcry_cipher_open(&t->h, GCRY_CIPHER_AES256,
				     GCRY_CIPHER_MODE_GCM,
				     GCRY_CIPHER_SECURE)) {
			free(t);
			return sb_err_set(SB_ECRYPTO,
					  "cannot open AES-256-GCM");
		}
		if (pthread_setspecific(th_key, t)) {
			th_free(t);
			return -ENOMEM;
		}
	}
	if (t->serial != f->serial) {
		t->serial = 0;
		if (gcry_cipher_setkey(t->h, f->key, CONTENT_KEY))
			return sb_err_set(SB_ECRYPTO, "cannot key AES-256-GCM");
		t->serial = f->serial;
	}
	*out = t;
	return 0;
}

int sb_cfile_decrypt_shared(const struct sb_cfile *f, uint64_t index,
			    int last, const uint8_t *in, size_t inlen,
			    uint8_t *plain)
{
	struct thread_handle *t = NULL;
	uint8_t aad[AAD_LEN];
	int rc = thread_handle(f, &t);

	if (rc)
		return rc;
	memcpy(aad, f->aad, AAD_INDEX);
	return decrypt_block(t->h, aad, index, last, in, inlen, plain);
}

int sb_cfile_encrypt_shared(const struct sb_cfile *f, uint64_t index,
			    int last, const uint8_t *plain, size_t len,
			    uint8_t *out)
{
	struct thread_handle *t = NULL;
	uint8_t aad[AAD_LEN];
	int rc = thread_handle(f, &t);

	if (rc)
		return rc;
	memcpy(aad, f->aad, AAD_INDEX);
	return encrypt_block(t->h, &t->nonces, aad, index, last, plain, len,
			     out);
}

static uint64_t content_nblocks(uint64_t plain_size)
{
	return plain_size ? (plain_size - 1) / SB_CONTENT_BLOCK + 1 : 1;
}

uint64_t sb_content_cipher_size(uint64_t plain_size)
{
	if (plain_size > INT64_MAX)
		return UINT64_MAX;
	return SB_CONTENT_HEADER + plain_size +
	       content_nblocks(plain_size) * SB_CONTENT_OVERHEAD;
}

int sb_content_plain_size(uint64_t *plain_size, uint64_t cipher_size)
{
	uint64_t body, full, rest, plain;

	if (cipher_size < SB_CONTENT_HEADER + SB_CONTENT_OVERHEAD)
		return sb_err_set(SB_EFORMAT, "content file of %" PRIu64
				  " bytes is too short", cipher_size);
	body = cipher_size - SB_CONTENT_HEADER;
	full = body / SB_CONTENT_CBLOCK;
	rest = body % SB_CONTENT_CBLOCK;
	/* A short last block holds 1..4095 bytes, or 0 in an empty file. */
	if (rest && (rest < SB_CONTENT_OVERHEAD ||
		     (rest == SB_CONTENT_OVERHEAD && full)))
		return sb_err_set(SB_EFORMAT, "content file of %" PRIu64
				  " bytes ends inside a block", cipher_size);
	plain = full * SB_CONTENT_BLOCK;
	if (rest)
		plain += rest - SB_CONTENT_OVERHEAD;
	if (plain > INT64_MAX)
		return sb_err_set(SB_EFORMAT, "content file of %" PRIu64
				  " bytes is too large", cipher_size);
	*plain_size = plain;
	return 0;
}

static int seal_blocks(struct sb_cfile *f, const uint8_t *plain, size_t len,
		       uint8_t *body)
{
	uint64_t i, n = content_nblocks(len);
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		size_t off = i * SB_CONTENT_BLOCK;
		size_t blen = len - off < SB_CONTENT_BLOCK ? len - off :
			      SB_CONTENT_BLOCK;

		rc = sb_cfile_encrypt_block(f, i, i == n - 1,
					    blen ? plain + off : NULL, blen,
					    body + i * SB_CONTENT_CBLOCK);
	}
	return rc;
}

int sb_content_seal(uint8_t **out, size_t *outlen,
		    const struct sb_content_keys *k, const struct sb_meta *meta,
		    const uint8_t *plain, size_t len)
{
	uint64_t total = sb_content_cipher_size(len);
	struct sb_cfile *f = NULL;
	uint8_t *buf;
	int rc;

	if (total > SIZE_MAX)
		return sb_err_set(-EFBIG, "%zu bytes are too many to seal",
				  len);
	if (!(buf = malloc(total)))
		return -ENOMEM;
	if ((rc = sb_cfile_create(&f, k, meta, buf)))
		goto out_free;
	if ((rc = seal_blocks(f, plain, len, buf + SB_CONTENT_HEADER)))
		goto out_free;
	*out = buf;
	*outlen = total;
	buf = NULL;
out_free:
	sb_cfile_free(f);
	free(buf);
	return rc;
}

/* The body's length is one sb_content_plain_size accepted. */
static int unseal_blocks(struct sb_cfile *f, const uint8_t *body,
			 size_t bodylen, uint8_t *plain)
{
	uint64_t i, n = (bodylen + SB_CONTENT_CBLOCK - 1) / SB_CONTENT_CBLOCK;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		size_t off = i * SB_CONTENT_CBLOCK;
		size_t clen = bodylen - off < SB_CONTENT_CBLOCK ?
			      bodylen - off : SB_CONTENT_CBLOCK;

		rc = sb_cfile_decrypt_block(f, i, i == n - 1, body + off, clen,
					    plain + i * SB_CONTENT_BLOCK);
	}
	return rc;
}

int sb_content_unseal(uint8_t **out, size_t *outlen, struct sb_meta *meta,
		      const struct sb_content_keys *k,
		      const uint8_t *in, size_t inlen)
{
	struct sb_cfile *f = NULL;
	uint8_t *plain = NULL;
	uint64_t len = 0;
	struct sb_meta m;
	int rc;

	if ((rc = header_check(in, inlen)) ||
	    (rc = sb_content_plain_size(&len, inlen)))
		return rc;
	if ((rc = sb_cfile_open(&f, k, in, &m)))
		return rc;
	if (!(plain = malloc(len ? len : 1))) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = unseal_blocks(f, in + SB_CONTENT_HEADER, inlen - SB_CONTENT_HEADER,
			   plain);
	if (rc)
		goto out_free;
	if (meta)
		*meta = m;
	*out = plain;
	*outlen = len;
	plain = NULL;
out_free:
	if (plain)
		sb_wipe(plain, len);
	free(plain);
	sb_cfile_free(f);
	return rc;
}

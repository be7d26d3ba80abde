#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"
#include "crypto/secrets.h"

#define SECRETS_VERSION 1
#define SECRETS_FIXED (1 + 4 + SB_SECRET_LEN)

static const char label_content[] = "sealbox v1 content key";
static const char label_names[] = "sealbox v1 names key";
static const char label_dirid[] = "sealbox v1 dirid key";

static int secrets_alloc(struct sb_secrets **out, uint32_t nepochs)
{
	struct sb_secrets *s = sb_secure_alloc(sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->content = sb_secure_alloc((size_t)nepochs * SB_SECRET_LEN);
	if (!s->content) {
		sb_secure_free(s, sizeof(*s));
		return -ENOMEM;
	}
	s->nepochs = nepochs;
	*out = s;
	return 0;
}

void sb_secrets_free(struct sb_secrets *s)
{
	if (!s)
		return;
	sb_secure_free(s->content, (size_t)s->nepochs * SB_SECRET_LEN);
	sb_secure_free(s, sizeof(*s));
}

int sb_secrets_generate(struct sb_secrets **out)
{
	struct sb_secrets *s;
	int rc = secrets_alloc(&s, 1);

	if (rc)
		return rc;
	sb_random_key(s->base, SB_SECRET_LEN);
	sb_random_key(s->content[0], SB_SECRET_LEN);
	*out = s;
	return 0;
}

int sb_secrets_add_epoch(struct sb_secrets *s, uint32_t *epoch)
{
	size_t oldlen = (size_t)s->nepochs * SB_SECRET_LEN;
	uint8_t (*grown)[SB_SECRET_LEN];

	if (s->nepochs >= SB_MAX_EPOCHS)
		return sb_err_set(-EOVERFLOW, "too many key epochs");
	if (!(grown = sb_secure_alloc(oldlen + SB_SECRET_LEN)))
		return -ENOMEM;
	memcpy(grown, s->content, oldlen);
	sb_random_key(grown[s->nepochs], SB_SECRET_LEN);
	sb_secure_free(s->content, oldlen);
	s->content = grown;
	*epoch = s->nepochs++;
	return 0;
}

int sb_secrets_serialize(uint8_t **out, size_t *outlen,
			 const struct sb_secrets *s)
{
	size_t len = SECRETS_FIXED + (size_t)s->nepochs * SB_SECRET_LEN;
	uint8_t *p = sb_secure_alloc(len);

	if (!p)
		return -ENOMEM;
	p[0] = SECRETS_VERSION;
	sb_put_be32(p + 1, s->nepochs);
	memcpy(p + 5, s->base, SB_SECRET_LEN);
	memcpy(p + SECRETS_FIXED, s->content, len - SECRETS_FIXED);
	*out = p;
	*outlen = len;
	return 0;
}

int sb_secrets_parse(struct sb_secrets **out, const uint8_t *buf, size_t len)
{
	struct sb_secrets *s;
	uint32_t n;
	int rc;

	if (len < SECRETS_FIXED)
		return sb_err_set(SB_EFORMAT, "vault secrets too short");
	if (buf[0] != SECRETS_VERSION)
		return sb_err_set(SB_EVERSION, "vault secrets version %u unknown",
				  buf[0]);
	n = sb_get_be32(buf + 1);
	if (n == 0 || n > SB_MAX_EPOCHS ||
	    len != SECRETS_FIXED + (size_t)n * SB_SECRET_LEN)
		return sb_err_set(SB_EFORMAT, "vault secrets malformed");
	if ((rc = secrets_alloc(&s, n)))
		return rc;
	memcpy(s->base, buf + 5, SB_SECRET_LEN);
	memcpy(s->content, buf + SECRETS_FIXED, (size_t)n * SB_SECRET_LEN);
	*out = s;
	return 0;
}

int sb_secrets_content_key(uint8_t out[32], const struct sb_secrets *s,
			   uint32_t epoch)
{
	if (epoch >= s->nepochs)
		return sb_err_set(SB_EAUTH, "no content key for epoch %u", epoch);
	return sb_hkdf_sha256(out, 32, s->content[epoch], SB_SECRET_LEN,
			      NULL, 0, label_content, sizeof(label_content) - 1);
}

int sb_secrets_names_key(uint8_t out[64], const struct sb_secrets *s)
{
	return sb_hkdf_sha256(out, 64, s->base, SB_SECRET_LEN, NULL, 0,
			      label_names, sizeof(label_names) - 1);
}

int sb_secrets_dirid_key(uint8_t out[32], const struct sb_secrets *s)
{
	return sb_hkdf_sha256(out, 32, s->base, SB_SECRET_LEN, NULL, 0,
			      label_dirid, sizeof(label_dirid) - 1);
}

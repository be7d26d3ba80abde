#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/hkdf.h"
#include "crypto/recovery.h"

#define PREFIX "SBXR1-"
#define CHECK_LEN 3
#define RAW_LEN (SB_RECOVERY_LEN + CHECK_LEN)
#define B32_LEN ((RAW_LEN * 8 + 4) / 5)

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int sb_recovery_generate(uint8_t **out)
{
	uint8_t *s = sb_secure_alloc(SB_RECOVERY_LEN);

	if (!s)
		return -ENOMEM;
	sb_random_key(s, SB_RECOVERY_LEN);
	*out = s;
	return 0;
}

static void checksum(uint8_t out[CHECK_LEN], const uint8_t *secret)
{
	uint8_t h[32];

	sb_sha256(h, secret, SB_RECOVERY_LEN);
	memcpy(out, h, CHECK_LEN);
}

void sb_recovery_format(char out[SB_RECOVERY_TEXT],
			const uint8_t secret[SB_RECOVERY_LEN])
{
	uint8_t raw[RAW_LEN];
	uint32_t acc = 0;
	size_t i, o = sizeof(PREFIX) - 1, nchars = 0;
	int bits = 0;

	memcpy(raw, secret, SB_RECOVERY_LEN);
	checksum(raw + SB_RECOVERY_LEN, secret);
	memcpy(out, PREFIX, o);
	for (i = 0; i < RAW_LEN || bits > 0;) {
		if (bits < 5 && i < RAW_LEN) {
			acc = acc << 8 | raw[i++];
			bits += 8;
		}
		if (bits < 5) {
			acc <<= 5 - bits;
			bits = 5;
		}
		if (nchars && nchars % 5 == 0)
			out[o++] = '-';
		out[o++] = b32[(acc >> (bits - 5)) & 31];
		bits -= 5;
		nchars++;
	}
	out[o] = '\0';
	sb_wipe(raw, sizeof(raw));
}

static int b32_value(int c)
{
	const char *p = strchr(b32, toupper(c));

	return c && p ? (int)(p - b32) : -1;
}

/* Decodes the characters after the prefix into raw, skipping separators. */
static int decode(uint8_t raw[RAW_LEN], const char *text)
{
	uint32_t acc = 0;
	size_t o = 0, nchars = 0;
	int bits = 0;

	for (; *text; text++) {
		int v;

		if (*text == '-' || isspace((unsigned char)*text))
			continue;
		if ((v = b32_value(*text)) < 0 || ++nchars > B32_LEN)
			return SB_EFORMAT;
		acc = acc << 5 | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o < RAW_LEN)
				raw[o++] = (uint8_t)(acc >> bits);
		}
	}
	return nchars == B32_LEN && o == RAW_LEN ? 0 : SB_EFORMAT;
}

int sb_recovery_parse(uint8_t **out, const char *text)
{
	uint8_t raw[RAW_LEN], check[CHECK_LEN];
	uint8_t *s;
	int rc = SB_EFORMAT;

	while (isspace((unsigned char)*text))
		text++;
	if (strncasecmp(text, PREFIX, sizeof(PREFIX) - 1))
		return sb_err_set(SB_EFORMAT,
				  "not a recovery key (it starts with %s)",
				  PREFIX);
	if (decode(raw, text + sizeof(PREFIX) - 1))
		goto out;
	checksum(check, raw);
	if (!sb_memeq(check, raw + SB_RECOVERY_LEN, CHECK_LEN))
		goto out;
	if (!(s = sb_secure_alloc(SB_RECOVERY_LEN))) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(s, raw, SB_RECOVERY_LEN);
	*out = s;
	rc = 0;
out:
	sb_wipe(raw, sizeof(raw));
	if (rc == SB_EFORMAT)
		sb_err_set(rc, "recovery key mistyped (checksum does not match)");
	return rc;
}

static int derive(uint8_t out[32], const uint8_t *secret, const char *label)
{
	return sb_hkdf_sha256(out, 32, secret, SB_RECOVERY_LEN, NULL, 0,
			      label, strlen(label));
}

int sb_recovery_signkey(struct sb_signkey **out,
			const uint8_t secret[SB_RECOVERY_LEN])
{
	uint8_t *seed = sb_secure_alloc(32);
	int rc;

	if (!seed)
		return -ENOMEM;
	rc = derive(seed, secret, "sealbox v1 recovery sign");
	if (!rc)
		rc = sb_signkey_from_seed(out, seed);
	sb_secure_free(seed, 32);
	return rc;
}

int sb_recovery_boxkey(struct sb_boxkey **out,
		       const uint8_t secret[SB_RECOVERY_LEN])
{
	uint8_t *sk = sb_secure_alloc(32);
	int rc;

	if (!sk)
		return -ENOMEM;
	rc = derive(sk, secret, "sealbox v1 recovery box");
	if (!rc)
		rc = sb_boxkey_from_secret(out, sk);
	sb_secure_free(sk, 32);
	return rc;
}

#include <string.h>

#include "crypto/base64.h"
#include "crypto/err.h"

static const char std_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t sb_base64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t sb_base64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

static size_t encode(char *out, const uint8_t *in, size_t n,
		     const char *alpha, int pad)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		out[o++] = alpha[v >> 18];
		out[o++] = alpha[(v >> 12) & 63];
		out[o++] = alpha[(v >> 6) & 63];
		out[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alpha[in[i] >> 2];
		out[o++] = alpha[(in[i] & 3) << 4];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = alpha[v >> 10];
		out[o++] = alpha[(v >> 4) & 63];
		out[o++] = alpha[(v & 15) << 2];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t sb_base64_encode(char *out, const void *in, size_t n)
{
	return encode(out, in, n, std_alpha, 1);
}

size_t sb_base64url_encode(char *out, const void *in, size_t n)
{
	return encode(out, in, n, url_alpha, 0);
}

static int sextet(char c, const char *alpha)
{
	const char *p;

	if (c == '\0' || !(p = strchr(alpha, c)))
		return -1;
	return (int)(p - alpha);
}

/* Decodes unpadded text; the caller has checked and removed padding. */
static int decode(uint8_t *out, size_t *outlen, const char *in, size_t n,
		  const char *alpha)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	if (n % 4 == 1)
		return sb_err_set(SB_EFORMAT, "bad base64 length");
	for (i = 0; i < n; i++) {
		int v = sextet(in[i], alpha);

		if (v < 0)
			return sb_err_set(SB_EFORMAT, "bad base64 character");
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		return sb_err_set(SB_EFORMAT, "non-canonical base64");
	*outlen = o;
	return 0;
}

int sb_base64_decode(uint8_t *out, size_t *outlen, const char *in,
		     size_t inlen)
{
	size_t n = inlen;

	if (inlen % 4)
		return sb_err_set(SB_EFORMAT, "bad base64 length");
	if (n && in[n - 1] == '=')
		n--;
	if (n && in[n - 1] == '=')
		n--;
	if (inlen - n && (n % 4) < 2)
		return sb_err_set(SB_EFORMAT, "bad base64 padding");
	return decode(out, outlen, in, n, std_alpha);
}

int sb_base64url_decode(uint8_t *out, size_t *outlen, const char *in,
			size_t inlen)
{
	return decode(out, outlen, in, inlen, url_alpha);
}

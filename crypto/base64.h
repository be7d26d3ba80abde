#ifndef SB_BASE64_H
#define SB_BASE64_H

/*
 * Base64, standard (RFC 4648 sec. 4, padded: ssh, armor) and URL-safe
 * (sec. 5, unpadded: backing file names). Decoders are strict: they reject
 * any character outside the alphabet, bad padding and non-canonical
 * trailing bits, so one encoding maps to exactly one byte string.
 */

#include <stddef.h>
#include <stdint.h>

/* Encoded length without the terminating NUL. */
size_t sb_base64_len(size_t n);
size_t sb_base64url_len(size_t n);

/* Writes the encoding and a NUL to out (room for len + 1). Returns len. */
size_t sb_base64_encode(char *out, const void *in, size_t n);
size_t sb_base64url_encode(char *out, const void *in, size_t n);

/*
 * Decodes inlen characters into out (room for inlen * 3 / 4 bytes) and
 * stores the byte count in *outlen. Returns 0 or SB_EFORMAT.
 */
int sb_base64_decode(uint8_t *out, size_t *outlen, const char *in,
		     size_t inlen);
int sb_base64url_decode(uint8_t *out, size_t *outlen, const char *in,
			size_t inlen);

#endif

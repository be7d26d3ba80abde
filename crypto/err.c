#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/err.h"

static _Thread_local char err_buf[512];

int sb_err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return code;
}

const char *sb_err_msg(int code)
{
	if (err_buf[0])
		return err_buf;
	return sb_err_str(code);
}

void sb_err_clear(void)
{
	err_buf[0] = '\0';
}

const char *sb_err_str(int code)
{
	switch (code) {
	case SB_EAUTH: return "authentication failed (damaged or tampered data)";
	case SB_EFORMAT: return "malformed data";
	case SB_EVERSION: return "unknown format version";
	case SB_EPASS: return "wrong passphrase";
	case SB_ECRYPTO: return "cryptographic library error";
	case SB_EGIT: return "git error";
	case SB_ESIG: return "missing or bad signature";
	case SB_EPOLICY: return "signer not authorized by the vault policy";
	case SB_EREJECT: return "the remote refused the push";
	case SB_ENET: return "the remote cannot be reached";
	}
	if (code < 0 && code > SB_EBASE)
		return strerror(-code);
	return "unknown error";
}

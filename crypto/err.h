#ifndef SB_ERR_H
#define SB_ERR_H

/*
 * Errors, libgit2 style: library functions return 0 on success or a
 * negative code (-errno or one of SB_E* below) and record a one-line
 * message with sb_err_set(). Only cmd/ prints it.
 *
 * The message is per thread; sb_err_msg() returns the last one set (or a
 * generic text for the code when none was set).
 */

#include <errno.h>

enum {
	SB_EBASE = -1000,
	SB_EAUTH = -1001,	/* authentication failed: tampered or wrong key */
	SB_EFORMAT = -1002,	/* malformed input */
	SB_EVERSION = -1003,	/* unknown format version */
	SB_EPASS = -1004,	/* wrong passphrase */
	SB_ECRYPTO = -1005,	/* the crypto library failed */
	SB_EGIT = -1006,	/* libgit2 failed */
	SB_ESIG = -1007,	/* missing or bad signature */
	SB_EPOLICY = -1008,	/* signer not authorized */
	SB_EREJECT = -1009,	/* the remote refused a push (not fast-forward) */
	SB_ENET = -1010,	/* the remote cannot be reached or failed */
};

#if defined(__GNUC__)
#define SB_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SB_PRINTF(a, b)
#endif

/* Records a message for code and returns code, so callers can write
 * "return sb_err_set(SB_EFORMAT, "...", ...);". */
int sb_err_set(int code, const char *fmt, ...) SB_PRINTF(2, 3);

/* The last message recorded in this thread, or a generic one for code. */
const char *sb_err_msg(int code);

/* Forgets the recorded message. */
void sb_err_clear(void);

/* A short generic text for a code (strerror for -errno). */
const char *sb_err_str(int code);

#endif

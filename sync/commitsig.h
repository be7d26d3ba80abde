#ifndef SB_COMMITSIG_H
#define SB_COMMITSIG_H

/*
 * Splitting a raw git commit into what was signed and the signature, the
 * way git does it (commit.c parse_signed_commit): only the header lines
 * before the first empty line are examined; a "gpgsig" header and its
 * continuation lines (starting with one space) are the signature; every
 * other header line and the whole message are the payload. libgit2 1.5's
 * git_commit_extract_signature also matches lines in the message body,
 * which is why this is ours.
 */

#include <stddef.h>

/*
 * *payload and *sig (NUL-terminated, malloc'd) receive the signed bytes
 * and the armored signature (continuation lines joined with "\n", a final
 * "\n" added as ssh-keygen wrote it). SB_ESIG when the commit carries no
 * signature; SB_EFORMAT when the headers are malformed, the signature
 * header repeats, or a "gpgsig-sha256" header is present.
 */
int sb_commitsig_split(const char *raw, size_t len,
		       char **payload, size_t *plen,
		       char **sig, size_t *slen);

#endif

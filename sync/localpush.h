#ifndef SB_LOCALPUSH_H
#define SB_LOCALPUSH_H

/*
 * For sync/remote.c only: pushing to a bare repository on this machine
 * (file:// URLs and plain paths) without libgit2's local transport.
 *
 * libgit2 1.5 packs a push with git_packbuilder, which deflates every
 * object at zlib's default level: for ciphertext, which does not
 * compress, that was most of the time of a first import (35 MB/s
 * here). This writes the objects the remote lacks as one stored pack
 * (sync/packwrite.h) straight into the remote's object database, which
 * indexes and checks it, makes it durable, and only then moves the
 * remote's branch, from exactly the value it was checked against: the
 * same compare-and-swap receive-pack does, never a forced update. Like
 * libgit2's local transport (and unlike git push), no hooks run.
 *
 * The objects sent are those reachable from id that the remote lacks,
 * walked from the remote's branch: a tree the remote has is taken to be
 * there with everything below it, as git's negotiation does.
 */

#include <git2.h>

/*
 * Pushes id to ref in the repository at url ("file://PATH" or a path).
 * 0 when the remote holds id at ref (also when it did already);
 * SB_ENET when url is not a repository; SB_EREJECT when the remote's
 * ref is not an ancestor of id, or moved during the push; SB_EGIT
 * otherwise. progress (may be NULL) sees objects written and bytes.
 */
int sb_localpush(git_repository *repo, const char *url, const char *ref,
		 const git_oid *id, git_push_transfer_progress_cb progress,
		 void *payload);

#endif

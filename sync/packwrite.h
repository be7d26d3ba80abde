#ifndef SB_PACKWRITE_H
#define SB_PACKWRITE_H

/*
 * For sync/ modules only: writing a git pack (version 2) of whole
 * objects, stored (deflate's uncompressed "stored" blocks) instead of
 * compressed, with its .idx (version 2), straight into a pack directory.
 *
 * Blobs are ciphertext and do not compress: zlib at any level spends
 * about 30 ns a byte finding that out (35 MB/s here), libgit2 1.5 always
 * deflates at its default level, and its indexer names every object
 * again with its collision-detecting SHA-1 (another 5 ns a byte). A
 * bulk import paid both twice, once for the commit and once for the
 * push. Here a pack costs a copy, an Adler-32, a CRC-32 and no more than
 * the one SHA-1 of each object its writer already needed.
 *
 * The writer trusts the ids it is given: use it for objects this process
 * made or checked (sb_packwrite_id()), never for bytes from a remote,
 * which go through libgit2's indexer. The pack and its index are written
 * under temporary names, fsynced, and renamed into place, index last:
 * readers see the whole pack or none of it. The directory entry becomes
 * durable with the caller's next syncfs() or fsync of the directory.
 * Objects written become visible to an open git_odb after
 * git_odb_refresh().
 *
 * Ownership: sb_packwrite_open() -> sb_packwrite_free(), which removes
 * an uncommitted pack. Not thread safe.
 */

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

struct sb_packwrite;

/* A pack of exactly count objects, for the directory pack_dir. */
int sb_packwrite_open(struct sb_packwrite **out, const char *pack_dir,
		      uint32_t count);

/*
 * A spool: a pack whose count is not known in advance. Objects are
 * written as they come (nothing is kept in memory but 32 bytes of index
 * per object); the count goes into the header at sb_packwrite_commit(),
 * which then reads the pack back once for its checksum. The last object
 * can be taken back (sb_packwrite_drop_last()), and an object that fails
 * half-written in sb_packwrite_add_fd() leaves no trace.
 */
int sb_packwrite_open_spool(struct sb_packwrite **out, const char *pack_dir);

/* A spool's objects so far. */
uint32_t sb_packwrite_count(const struct sb_packwrite *w);

/* Takes the last object of a spool back (-EINVAL for a pack). */
int sb_packwrite_drop_last(struct sb_packwrite *w);

/* Appends the object id of type (blob, tree, commit or tag). */
int sb_packwrite_add(struct sb_packwrite *w, const git_oid *id,
		     git_object_t type, const void *buf, size_t len);

/*
 * Appends a blob of exactly len bytes read from fd (from its current
 * offset) with one buffer of 64 KiB, however large it is; id receives
 * its id. -EAGAIN when fd ends before len bytes (the file shrank).
 */
int sb_packwrite_add_fd(struct sb_packwrite *w, int fd, size_t len,
			git_oid *id);

/*
 * A pack of one blob read from fd as sb_packwrite_add_fd() does, into
 * repo, whose database is then reloaded; nothing is written when repo
 * has that blob already.
 */
int sb_packwrite_blob_fd(git_repository *repo, int fd, size_t len,
			 git_oid *id);

/*
 * Ends the pack and moves it into place; -EINVAL when the number of
 * objects added differs from the count announced or an id was added
 * twice. name (may be NULL) receives the pack's checksum, as in
 * pack-NAME.pack.
 */
int sb_packwrite_commit(struct sb_packwrite *w, git_oid *name);

void sb_packwrite_free(struct sb_packwrite *w);

/* The id git gives an object: SHA-1 of "TYPE LEN\0" and the bytes. */
void sb_packwrite_id(git_oid *out, git_object_t type, const void *buf,
		     size_t len);

/*
 * Removes the temporary files of packs whose writer died (killed, power
 * lost) and that nobody has written to for an hour; best effort.
 */
void sb_packwrite_sweep(git_repository *repo);

/*
 * The ids a pack is to hold, gathered in any order: sb_oids_unique()
 * sorts them and drops repeats. Zero-initialise; free(l->v) when done.
 */
struct sb_oids {
	git_oid *v;
	size_t n, alloc;
};

int sb_oids_push(struct sb_oids *l, const git_oid *id);
void sb_oids_unique(struct sb_oids *l);

/* objects/pack of repo into out; -ENAMETOOLONG when it does not fit. */
int sb_packwrite_dir(git_repository *repo, char *out, size_t size);

#endif

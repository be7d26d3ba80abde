#ifndef SB_PACKWRITE_H
#define SB_PACKWRITE_H

/*
 * For sync/ modules only: writing a git pack of whole objects, stored
 * (deflate's uncompressed "stored" blocks) instead of compressed.
 *
 * Blobs are ciphertext and do not compress: zlib at any level spends
 * about 30 ns a byte finding that out (35 MB/s here), libgit2 1.5 always
 * deflates at its default level, and a bulk import used to pay that
 * twice. A stored pack costs a copy, an Adler-32 and a SHA-1.
 *
 * The pack goes through the object database's pack writer (libgit2's
 * indexer), which checks every object, names it with its own
 * collision-detecting SHA-1 and writes the .idx next to the .pack;
 * nothing is visible in the database before sb_packwrite_commit().
 *
 * Ownership: sb_packwrite_open() -> sb_packwrite_free(), which discards
 * an uncommitted pack. The database must outlive the writer. Not
 * thread safe.
 */

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

struct sb_packwrite;

/* A pack that will hold exactly count objects, for odb. */
int sb_packwrite_open(struct sb_packwrite **out, git_odb *odb,
		      uint32_t count);

/* Appends one object of type (blob, tree, commit or tag). */
int sb_packwrite_add(struct sb_packwrite *w, git_object_t type,
		     const void *buf, size_t len);

/*
 * Ends the pack (after exactly count objects) and makes it part of the
 * database; -EINVAL when fewer objects were added than announced.
 */
int sb_packwrite_commit(struct sb_packwrite *w);

void sb_packwrite_free(struct sb_packwrite *w);

#endif

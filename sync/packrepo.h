#ifndef SB_PACKREPO_H
#define SB_PACKREPO_H

/*
 * For sync/ modules only: writing many new objects as one pack
 * (issue 4: bulk imports become packs, not one loose file per object).
 *
 * A pack repository reads the objects of a repository. Blobs stored
 * through it are written to a spool pack as they come; trees and commits
 * written through its git_repository are kept in memory (a mempack
 * backend over the repository's own pack and loose backends); the spool
 * and the trees chosen with sb_packrepo_add() then go into the
 * repository as one pack, without delta search (blobs are ciphertext)
 * and without reading any configuration. The repository itself is not
 * changed until sb_packrepo_write(); memory stays small whatever the
 * size of the job.
 *
 * Ownership: sb_packrepo_open() -> sb_packrepo_free(); the repository
 * given must outlive it. Not thread safe.
 */

#include <stddef.h>

#include <git2.h>

struct sb_packrepo;

int sb_packrepo_open(struct sb_packrepo **out, git_repository *repo);
void sb_packrepo_free(struct sb_packrepo *p);

/* The repository to build trees with (owned by p). */
git_repository *sb_packrepo_git(struct sb_packrepo *p);

/*
 * Stores a blob in the job's spool (a pack file being written) unless
 * the repository or the spool has it; id receives its id. Quicker than
 * git_odb_write(), which rescans the pack directory after every object
 * it does not find, and nothing of it stays in memory.
 */
int sb_packrepo_blob(struct sb_packrepo *p, git_oid *id, const void *buf,
		     size_t len);

/*
 * The same for a blob of exactly len bytes read from fd (from its
 * current offset) in 64 KiB pieces; -EAGAIN when the file ends first.
 */
int sb_packrepo_blob_fd(struct sb_packrepo *p, int fd, size_t len,
			git_oid *id);

/* Puts id (a tree or commit written through sb_packrepo_git()) into
 * the pack; nothing when it is not one of those. */
int sb_packrepo_add(struct sb_packrepo *p, const git_oid *id);

/*
 * Writes the spool and the objects added as one pack (none: nothing)
 * and reloads the repository's packs; the blobs stored since the last
 * write all go in.
 */
int sb_packrepo_write(struct sb_packrepo *p);

#endif

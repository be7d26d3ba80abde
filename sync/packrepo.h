#ifndef SB_PACKREPO_H
#define SB_PACKREPO_H

/*
 * For sync/ modules only: writing many new objects as one pack
 * (issue 4: bulk imports become packs, not one loose file per object).
 *
 * A pack repository reads the objects of a repository and keeps what is
 * written through it in memory (a mempack backend over the repository's
 * own pack and loose backends); the objects chosen with
 * sb_packrepo_add() then go into the repository as one pack, without
 * delta search (blobs are ciphertext) and without reading any
 * configuration. The repository itself is not changed until
 * sb_packrepo_write().
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
 * Stores a blob in memory unless the repository has it; id receives its
 * id. Quicker than git_odb_write(), which rescans the pack directory
 * after every object it does not find.
 */
int sb_packrepo_blob(struct sb_packrepo *p, git_oid *id, const void *buf,
		     size_t len);

/* Puts id into the pack when it is held in memory (else nothing). */
int sb_packrepo_add(struct sb_packrepo *p, const git_oid *id);

/* Writes the objects added as one pack (none: nothing). */
int sb_packrepo_write(struct sb_packrepo *p);

#endif

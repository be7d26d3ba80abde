#ifndef SB_REPO_GIT_H
#define SB_REPO_GIT_H

/* For sync/ modules only: the libgit2 repository behind a struct sb_repo. */

#include <git2.h>

#include "sync/repo.h"

git_repository *sb_repo_git(struct sb_repo *r);

/* Records libgit2's last error as "<what>: <message>"; returns SB_EGIT. */
int sb_repo_git_fail(const char *what);

/*
 * One syncfs() of the file system that holds g: everything written there
 * so far (objects, packs, refs) is on disk when it returns 0.
 */
int sb_repo_git_durable(git_repository *g);

/*
 * The tree of a commit or tree id (hex) into *out (git_tree_free); hex
 * NULL or "" gives NULL (no tree). A bad id is SB_EFORMAT; an object that
 * cannot be read or peeled records "<what>: <libgit2's message>".
 */
int sb_repo_peel_tree(git_repository *g, git_tree **out, const char *hex,
		      const char *what);

#endif

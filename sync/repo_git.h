#ifndef SB_REPO_GIT_H
#define SB_REPO_GIT_H

/* For sync/ modules only: the libgit2 repository behind a struct sb_repo. */

#include <git2.h>

#include "sync/repo.h"

git_repository *sb_repo_git(struct sb_repo *r);

/* Records libgit2's last error as "<what>: <message>"; returns SB_EGIT. */
int sb_repo_git_fail(const char *what);

#endif

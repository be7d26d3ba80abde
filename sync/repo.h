#ifndef SB_REPO_H
#define SB_REPO_H

/*
 * The vault's git repository (crypto/FORMAT.md "Repository layout").
 *
 * The store is mapped to git trees by sync itself, never through git's
 * index or checkout. A store path's components map one to one, except
 * that every encrypted entry E (not starting with ".") sits under two
 * fan-out levels named by its first two characters: "E[0]/E[1]/E". A
 * commit in a 100k-message folder then rewrites three small trees, not
 * one tree of 100k entries. Entries starting with "." and everything
 * below them (".sealbox/policy",
 * ".sbdir") are not fanned out.
 *
 * Commits are signed with SSHSIG through a callback (sync/ does not hold
 * keys) and verified by parsing the commit headers as git does.
 *
 * Ownership: struct sb_repo from sb_repo_init/sb_repo_open, freed with
 * sb_repo_free(). Buffers returned through void ** are malloc'd.
 */

#include <stddef.h>
#include <stdint.h>

#define SB_OID_HEX 41

struct sb_repo;

/* Signs len bytes of buf; *armor malloc'd, as sb_sshsig_sign returns it. */
typedef int (*sb_repo_sign_fn)(char **armor, const void *buf, size_t len,
			       void *ctx);

/* Creates a repository with work tree at path (HEAD -> refs/heads/main). */
int sb_repo_init(struct sb_repo **out, const char *path);
int sb_repo_open(struct sb_repo **out, const char *path);
void sb_repo_free(struct sb_repo *r);

/*
 * 1 when a store-relative path is the store's scratch space, never
 * committed (".sbtmp.*" temporaries). Plaintext-level per-machine state
 * (Maildir tmp/ contents, .mbsyncstate, dovecot indexes) is the sync
 * engine's to filter, since only it decrypts names.
 */
int sb_repo_path_ignored(const char *store_path);

/* Maps a store path ("a/bc/.sbdir") to its tree path; out room: 3 * len + 1. */
void sb_repo_tree_path(char *out, const char *store_path);

/*
 * Commits the whole work tree (every file and symlink under the root but
 * .git and ignored paths) on top of HEAD (or as the first commit), signed,
 * and moves refs/heads/main to it. oid receives the hex id.
 */
int sb_repo_commit_all(struct sb_repo *r, char oid[SB_OID_HEX],
		       const char *message, const char *name,
		       const char *email, sb_repo_sign_fn sign, void *ctx);

/* Contents of a store path at HEAD. -ENOENT when absent. */
int sb_repo_head_file(struct sb_repo *r, const char *store_path,
		      void **buf, size_t *len);

/* The raw commit object (headers and message); *raw malloc'd. */
int sb_repo_commit_raw(struct sb_repo *r, const char *oid_hex,
		       char **raw, size_t *len);

/* Sets the URL of the remote "origin" (creating it). */
int sb_repo_set_remote(struct sb_repo *r, const char *url);
/* The URL of "origin" (malloc'd), or NULL in *url when there is none. */
int sb_repo_remote(struct sb_repo *r, char **url);

/* HEAD's commit id; -ENOENT when there is no commit. */
int sb_repo_head(struct sb_repo *r, char oid[SB_OID_HEX]);

/* Maps a tree path back to its store path (drops the fan-out levels). */
void sb_repo_store_path(char *out, const char *tree_path);

/*
 * Creates a signed commit of tree (hex id of a tree, or of a commit whose
 * tree is meant) with the given parents (hex ids, n may be 0), author and
 * committer name <email>, now. No ref moves. oid receives the commit id.
 */
int sb_repo_commit_tree(struct sb_repo *r, char oid[SB_OID_HEX],
			const char *tree, const char *const *parents,
			size_t nparents, const char *message, const char *name,
			const char *email, sb_repo_sign_fn sign, void *ctx);

/* The tree id of a commit. */
int sb_repo_commit_tree_id(struct sb_repo *r, const char *commit,
			   char tree[SB_OID_HEX]);

/* Reads a ref ("refs/heads/main", "refs/sealbox/fetched"); -ENOENT. */
int sb_repo_ref(struct sb_repo *r, const char *name, char oid[SB_OID_HEX]);

/*
 * Points ref name at oid. old: the value the ref must have now (NULL:
 * any; "" : it must not exist); a mismatch is -EAGAIN (someone else moved
 * it). The reflog message is msg.
 */
int sb_repo_set_ref(struct sb_repo *r, const char *name, const char *oid,
		    const char *old, const char *msg);

/* The merge base of two commits into base; -ENOENT when there is none. */
int sb_repo_merge_base(struct sb_repo *r, const char *a, const char *b,
		       char base[SB_OID_HEX]);

/* 1 when commit is ancestor or descends from it, 0 when not, or error. */
int sb_repo_descends(struct sb_repo *r, const char *commit,
		     const char *ancestor);

/* An integer from the repository's local config, or def when unset. */
int sb_repo_config_int(struct sb_repo *r, const char *key, int def);

#endif

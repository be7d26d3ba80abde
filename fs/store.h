#ifndef SB_STORE_H
#define SB_STORE_H

/*
 * The store: the encrypted tree under VAULT (DESIGN sec. 3, crypto/FORMAT.md
 * "Store layout"). One backing directory per plaintext directory, names
 * encrypted with the parent's directory ID (crypto/names.h), regular files
 * in the content format (crypto/content.h), symlink targets encrypted.
 * Backing names starting with "." are the store's own and never shown.
 *
 * Paths given to this API are plaintext paths relative to the store root,
 * "mail/cur/123.host:2,S"; "" or "." is the root; leading, trailing and
 * repeated slashes are ignored; "." and ".." components are refused
 * (-EINVAL).
 *
 * Errors: 0, a negative errno, or SB_E* (crypto/err.h) with a message
 * recorded through sb_err_set(). A damaged name or block is SB_EAUTH.
 *
 * Thread safety: a struct sb_store is read-only after sb_store_open(); its
 * functions may be called from several threads at once. Concurrent
 * changes to the same path are the callers' business (last rename wins).
 *
 * Ownership: sb_store_open() copies what it needs from the secrets (the
 * caller may free them afterwards); free the store with sb_store_free().
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "crypto/content.h"
#include "crypto/secrets.h"

/* Marker file in every backing directory but the root. */
#define SB_STORE_MARKER ".sbdir"
/* Prefix of temporary files written for atomic replacement. */
#define SB_STORE_TMP ".sbtmp."

struct sb_store;

int sb_store_open(struct sb_store **out, const char *root,
		  const struct sb_secrets *s);
void sb_store_free(struct sb_store *st);

/* The store root as given to sb_store_open(). */
const char *sb_store_root(const struct sb_store *st);

/*
 * Creates the directory path and its missing parents (mkdir -p), each with
 * mode (before the umask) and its marker. An existing directory is fine;
 * an existing non-directory on the way is -ENOTDIR / -EEXIST.
 */
int sb_store_mkdir(struct sb_store *st, const char *path, mode_t mode);

/*
 * Writes a whole regular file atomically: a temporary file in the same
 * backing directory, fsynced, renamed over path, directory fsynced. The
 * parent directory must exist (-ENOENT). mtime NULL means now; the file's
 * mtime and the header's metadata both get it. A new inode results
 * (hard links to the old file keep the old contents).
 */
int sb_store_write_file(struct sb_store *st, const char *path,
			const void *buf, size_t len, mode_t mode,
			const struct timespec *mtime);

/*
 * Reads and authenticates a whole regular file. *buf (malloc, free()) gets
 * the plaintext (a NUL is appended, not counted in *len); *meta, when not
 * NULL, the header's metadata. SB_EAUTH names the damaged path.
 */
int sb_store_read_file(struct sb_store *st, const char *path, uint8_t **buf,
		       size_t *len, struct sb_meta *meta);

/*
 * lstat of path as the mount shows it: the backing file's attributes with
 * the plaintext size for regular files and symlinks.
 */
int sb_store_stat(struct sb_store *st, const char *path, struct stat *out);

/* Removes a file or symlink (-EISDIR for a directory). */
int sb_store_unlink(struct sb_store *st, const char *path);

/* Removes an empty directory (-ENOTEMPTY otherwise) with its marker. */
int sb_store_rmdir(struct sb_store *st, const char *path);

/*
 * The backing path relative to the root for a plaintext path (buf of
 * PATH_MAX). -ENAMETOOLONG when it does not fit.
 */
int sb_store_backing_path(struct sb_store *st, char *buf, size_t size,
			  const char *path);

/*
 * The plaintext path for a backing path relative to the root (buf of
 * PATH_MAX). SB_EAUTH for a name that does not decrypt; -EINVAL for an
 * internal name (a component starting with ".", a sidecar).
 */
int sb_store_plain_path(struct sb_store *st, char *buf, size_t size,
			const char *backing);

/* What sb_store_walk() reports for each entry. */
struct sb_store_entry {
	const char *path;	/* plaintext path; for an undecryptable name
				   "dir/?<backing name>" */
	const char *backing;	/* backing path relative to the root */
	mode_t type;		/* S_IFREG, S_IFDIR, S_IFLNK, other S_IF* */
	int error;		/* 0 sound; SB_EAUTH, SB_EFORMAT, -errno */
	const char *what;	/* why it is damaged, or NULL */
};

/*
 * Calls fn for every entry of the store, parents before children, and
 * for every damaged item (an undecryptable name, a missing marker, a
 * sidecar that does not match, a file whose header or any block fails
 * authentication when check_blocks is set). fn returns 0 to go on or
 * non-zero to stop (that value is returned). Returns 0 when the walk was
 * complete (damage is reported through fn, not the return value), or an
 * error that stopped it.
 */
typedef int (*sb_store_walk_fn)(const struct sb_store_entry *e, void *arg);
int sb_store_walk(struct sb_store *st, int check_blocks, sb_store_walk_fn fn,
		  void *arg);


/*
 * For sync/ (fs/store_sync.c): the store's keys and names applied to git
 * blobs and tree paths, which sync/ holds in memory rather than on disk.
 * Backing paths are relative to the store root, as above.
 */

/*
 * Decrypts a content file held in memory (a blob). *out (malloc, free()
 * after sb_wipe) gets the plaintext with a NUL appended, not counted in
 * *outlen; *meta, when not NULL, the header's metadata. The codes of
 * sb_content_unseal().
 */
int sb_store_unseal(struct sb_store *st, uint8_t **out, size_t *outlen,
		    struct sb_meta *meta, const void *in, size_t inlen);

/*
 * Encrypts len bytes of plain into a new content file in memory under the
 * current key epoch, with meta in its header. *out: malloc, free().
 */
int sb_store_seal(struct sb_store *st, uint8_t **out, size_t *outlen,
		  const struct sb_meta *meta, const void *plain, size_t len);

/*
 * The metadata of a content file from its header: the first len bytes of
 * the file (SB_EFORMAT when len < SB_CONTENT_HEADER), or the backing file
 * at backing. Codes of sb_cfile_open().
 */
int sb_store_header_meta(struct sb_store *st, struct sb_meta *meta,
			 const void *buf, size_t len);
int sb_store_backing_meta(struct sb_store *st, struct sb_meta *meta,
			  const char *backing);

/*
 * Gives the contents of the sidecar whose backing path is sidecar
 * ("dir/~hash.n") in enc (room for size bytes, NUL-terminated): its length,
 * or -ENOENT, or another negative code.
 */
typedef int (*sb_store_sidecar_fn)(char *enc, size_t size,
				   const char *sidecar, void *ctx);

/*
 * sb_store_plain_path() with long names' sidecars from fn instead of the
 * disk (a git tree). Codes of sb_store_plain_path(); a missing sidecar is
 * SB_EFORMAT.
 */
int sb_store_plain_path_with(struct sb_store *st, char *buf, size_t size,
			     const char *backing, sb_store_sidecar_fn fn,
			     void *ctx);

/*
 * The sidecar contents of path's last name: 1 and the encoded name in enc
 * (room for SB_NAMES_ENC_MAX) when the name is long, 0 when it is short
 * (no sidecar), or an error.
 */
int sb_store_sidecar_name(struct sb_store *st, char *enc, const char *path);

/*
 * 0 when the len bytes at enc (a symlink's blob) are an encrypted symlink
 * target of this vault (crypto/FORMAT.md "Names"), else SB_EAUTH or
 * SB_EFORMAT. The plaintext is wiped.
 */
int sb_store_check_target(struct sb_store *st, const void *enc, size_t len);

/*
 * Removes the backing directory at backing with what the store keeps in
 * it (marker, sidecars, temporaries) when it holds no entry of the user;
 * -ENOTEMPTY when it does. Not its own sidecar.
 */
int sb_store_rmdir_backing(struct sb_store *st, const char *backing);

#endif

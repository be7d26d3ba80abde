#ifndef SB_BACKING_H
#define SB_BACKING_H

/*
 * Store internals shared by the fs/ modules (not part of the public store
 * API): the store's state, backing names with their sidecars, paths.
 *
 * Backing paths are relative to the store root and used with the root's
 * directory fd (openat(st->rootfd, path, ...)); the root itself is ".".
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/content.h"
#include "crypto/names.h"
#include "fs/store.h"

struct sb_store {
	int rootfd;
	char *root;
	struct sb_names *names;
	struct sb_content_keys *keys;
};

/* Room for a backing name (long names are shorter than short ones). */
#define SB_BNAME_MAX SB_NAMES_ENC_MAX

/*
 * Backing name of the plaintext name (len bytes) in the directory dirid.
 * enc (room for SB_NAMES_ENC_MAX) receives the encoded name. Returns 0 for
 * a short name, 1 for a long one (a sidecar holding enc is needed), or
 * -ENAMETOOLONG / -EINVAL.
 */
int sb_bname_make(const struct sb_store *st, char *backing, char *enc,
		  const uint8_t dirid[SB_DIRID_LEN], const char *name,
		  size_t len);

/*
 * The plaintext name of the backing entry called backing in the directory
 * dirpath (relative to dirfd), reading the sidecar of a long name. name needs
 * room for SB_NAME_MAX + 1. Returns 0, 1 for an entry that is not a name
 * (internal, sidecar: skip it), SB_EAUTH / SB_EFORMAT for a damaged name,
 * or -errno.
 */
int sb_bname_read(const struct sb_store *st, char *name, size_t *len,
		  int dirfd, const char *dirpath, const uint8_t dirid[SB_DIRID_LEN],
		  const char *backing);

/*
 * Writes the sidecar of the long-named entry at path (a backing path; the
 * sidecar is path + ".n") and fsyncs it, unless an identical one exists.
 */
int sb_bname_put_sidecar(const struct sb_store *st, const char *path,
			 const char *enc);
/* Removes the sidecar of path when path's name is long; ENOENT is fine. */
int sb_bname_del_sidecar(const struct sb_store *st, const char *path);

/* buf = dir + "/" + name ("." + name = name). -ENAMETOOLONG. */
int sb_path_join(char *buf, size_t size, const char *dir, const char *name);

/* The directory part of a backing path (".") into buf. */
void sb_path_dirname(char *buf, size_t size, const char *path);

/*
 * Creates the marker of a new backing directory dirpath (sealed, empty
 * plaintext), fsynced.
 */
int sb_store_put_marker(const struct sb_store *st, const char *dirpath);

/* Reads and authenticates the marker of dirpath (*buf: free()). */
int sb_store_read_marker(const struct sb_store *st, const char *dirpath,
			 uint8_t **buf, size_t *len);

/*
 * Removes what the store keeps in the backing directory dirpath (marker,
 * sidecars, temporary files) when it holds no entry of the user; returns
 * -ENOTEMPTY when it does.
 */
int sb_store_clear_dir(const struct sb_store *st, const char *dirpath);

/* Maps an error of this program to an errno for the kernel (-EIO for
 * SB_EAUTH and the other SB_E* codes). */
int sb_store_errno(int rc);

#endif

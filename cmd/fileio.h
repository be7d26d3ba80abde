#ifndef SB_FILEIO_H
#define SB_FILEIO_H

/*
 * Small-file I/O for cmd/: whole reads and crash-safe replacement
 * (temporary file in the same directory, fsync, rename, fsync of the
 * directory), never following a symlink at the last component.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Reads a whole regular file of at most max bytes into *buf (malloc'd,
 * NUL-terminated for convenience). Returns 0 or -errno (-EFBIG when
 * larger than max), with a message naming the file.
 */
int sb_file_read(const char *path, uint8_t **buf, size_t *len, size_t max);

/* Replaces path atomically with buf; the new file has mode. */
int sb_file_replace(const char *path, const void *buf, size_t len,
		    mode_t mode);

/* Creates path exclusively (O_EXCL | O_NOFOLLOW), writes and fsyncs it. */
int sb_file_create(const char *path, const void *buf, size_t len,
		   mode_t mode);

/* mkdir -p with mode for the directories it creates. */
int sb_mkdirs(const char *path, mode_t mode);

/* rm -rf, not crossing into other file systems; for failed inits. */
int sb_remove_tree(const char *path);

#endif

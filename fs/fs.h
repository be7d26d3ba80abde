#ifndef SB_FS_H
#define SB_FS_H

/*
 * The mounted file system: libfuse3 low-level operations over the store
 * (fs/store.h). This header exposes no libfuse type; only fs/ includes
 * fuse.
 *
 * Life cycle: sb_fs_new() parses the options and mounts; sb_fs_run()
 * serves requests until the file system is unmounted (or sb_fs_exit() /
 * SIGTERM / SIGINT / SIGHUP); sb_fs_free() unmounts if still mounted and
 * frees everything. The store is borrowed and must outlive the fs.
 *
 * Options (comma-separated, as after -o): threads=N (most worker threads,
 * default 8), timeout=SECONDS (entry and attribute cache, default 30),
 * writeback / nowriteback (the kernel's writeback cache, on by default:
 * the kernel stamps mtimes at write() time and sends them with a SETATTR
 * after writing the pages back; writing back keeps the backing file's
 * mtime, so the mtime a process saw is the one a remount shows),
 * everything else goes to libfuse (allow_other, default_permissions, ro,
 * ...). fsname is the store root, the type fuse.sealbox.
 * default_permissions is on whenever allow_other or allow_root is (the
 * kernel checks permissions; the daemon may run as root); otherwise only
 * the daemon's own user reaches the mount, the backing file system checks
 * for it (access(2) included), and the kernel need not fetch a directory's
 * attributes again after each change in it.
 */

#include "fs/store.h"

struct sb_fs;

struct sb_fs_config {
	int syslog;		/* also log to syslog (daemon in background) */
	int debug;		/* libfuse debug output */
};

int sb_fs_new(struct sb_fs **out, struct sb_store *st, const char *mountpoint,
	      const char *options, const struct sb_fs_config *cfg);

/* Serves requests until unmounted; 0 or a negative errno. */
int sb_fs_run(struct sb_fs *fs);

/* Asks sb_fs_run() to return (any thread, signal-safe). */
void sb_fs_exit(struct sb_fs *fs);

void sb_fs_free(struct sb_fs *fs);

/*
 * Tells the kernel that the plaintext path changed in the store underneath
 * (sync wrote, renamed or removed it): drops its cached dentry (also a
 * cached "does not exist"), attributes and data, and the parent's. Safe
 * from any thread but a request handler of this fs. 0 when nothing was
 * cached, a negative errno when the kernel refused.
 */
int sb_fs_invalidate(struct sb_fs *fs, const char *path);

#endif

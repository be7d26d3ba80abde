#ifndef SB_FSINT_H
#define SB_FSINT_H

/* Internals shared by fs/fs.c, fs/ops.c and fs/dir.c. */

#include <fuse_lowlevel.h>

#include "fs/backing.h"
#include "fs/fs.h"
#include "fs/node.h"

struct sb_fs {
	struct sb_store *st;
	struct sb_nodes nodes;
	struct fuse_session *se;
	double timeout;
	unsigned threads;
	int syslog;
	int writeback;		/* kernel writeback cache (-o nowriteback) */
	int shared;		/* allow_other / allow_root: the kernel checks
				   permissions (default_permissions) */
	int mounted;
	uid_t uid;		/* the daemon's */
	gid_t gid;
};

extern const struct fuse_lowlevel_ops sb_fs_ops;

static inline struct sb_fs *sb_fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct sb_node *sb_fs_node(struct sb_fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->nodes.root : (struct sb_node *)ino;
}

static inline fuse_ino_t sb_fs_ino(struct sb_fs *fs, struct sb_node *n)
{
	return n == &fs->nodes.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* One log line (stderr, and syslog when configured). */
void sb_fs_log(struct sb_fs *fs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Logs damage of n once; returns -EIO. */
int sb_fs_damaged(struct sb_fs *fs, struct sb_node *n, const char *what);

/* Maps an error for the kernel, logging damage of n (may be NULL). */
int sb_fs_err(struct sb_fs *fs, struct sb_node *n, int rc);

/* The backing path of name in parent; *islong and enc for a sidecar. */
int sb_fs_child_path(struct sb_fs *fs, struct sb_node *parent,
		     const char *name, char *path, char *backing, char *enc,
		     int *islong);

/* Fills attributes as the mount shows them from a backing stat. */
void sb_fs_fix_attr(struct sb_fs *fs, struct sb_node *n, int dirfd,
		    const char *path, struct stat *sb);

/* Fills an entry for n from sb with the configured timeouts. */
void sb_fs_entry(struct sb_fs *fs, struct fuse_entry_param *e,
		 struct sb_node *n, const struct stat *sb);

/* Makes a new entry belong to the caller (uid, gid of the request). */
void sb_fs_chown_new(struct sb_fs *fs, fuse_req_t req, int dirfd,
		     const char *path);

/* Entry of name in parent at the backing path (lookup count + 1). */
int sb_fs_make_entry(struct sb_fs *fs, struct fuse_entry_param *e,
		     struct sb_node *parent, const char *name,
		     const char *path, const char *backing);
void sb_fs_reply_entry(fuse_req_t req, int rc,
		       const struct fuse_entry_param *e);
/* Backing path for a new entry, with the sidecar of a long name. */
int sb_fs_new_path(struct sb_fs *fs, struct sb_node *parent,
		   const char *name, char *path, char *backing);

/* Open-file state (fs/open.c): the shared one of n, or NULL; put it back
 * with sb_fs_of_put(). */
struct sb_ofile *sb_fs_of_acquire(struct sb_fs *fs, struct sb_node *n);
void sb_fs_of_put(struct sb_fs *fs, struct sb_node *n);
/* truncate / times, opening the file when it is not open. */
int sb_fs_set_size(struct sb_fs *fs, struct sb_node *n, uint64_t size);
/*
 * With the writeback cache the kernel sends a file's times back after it
 * changed only its ctime (rename, link, chmod): whether ts (atime
 * omitted) sets the mtime sb has already, nothing to write.
 */
int sb_fs_same_mtime(const struct timespec ts[2], const struct stat *sb);
/*
 * Sets a regular file's times through its descriptor, under the file's
 * lock; the header takes the new mtime at the file's last put (its last
 * handle's RELEASE, an fsync, or at once when it was not open), reading
 * it from the descriptor then, so a RELEASE at the same time cannot put
 * back an mtime it read before. An mtime the file has already (the
 * writeback cache sends it back after ctime-only changes) is left alone.
 */
int sb_fs_set_times(struct sb_fs *fs, struct sb_node *n,
		    const struct timespec ts[2]);
/*
 * The same when n is open; 1 (nothing done) when it is not, so that the
 * caller can look at the backing file's mtime first instead of opening
 * it (a header read and a key derivation) for an mtime it has already.
 */
int sb_fs_set_times_open(struct sb_fs *fs, struct sb_node *n,
			 const struct timespec ts[2]);

/* File operations (fs/open.c). */
void sb_fs_create(fuse_req_t req, fuse_ino_t pino, const char *name,
		  mode_t mode, struct fuse_file_info *fi);
void sb_fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void sb_fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void sb_fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		 size_t size, off_t off, struct fuse_file_info *fi);
void sb_fs_release(fuse_req_t req, fuse_ino_t ino,
		   struct fuse_file_info *fi);
void sb_fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi);

/* Directory operations (fs/dir.c). */
void sb_fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void sb_fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void sb_fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi);
void sb_fs_releasedir(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi);
void sb_fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi);
void sb_fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname, unsigned int flags);

#endif

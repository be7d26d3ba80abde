#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"
#include "fs/file.h"
#include "fs/fsint.h"

/*
 * Open files: one shared struct sb_ofile per node (one backing fd, the
 * file's crypto state, its plaintext size) for all the kernel's handles
 * on it, so that every handle sees the same size and writes.
 */

struct sb_ofile *sb_fs_of_acquire(struct sb_fs *fs, struct sb_node *n)
{
	struct sb_ofile *of;

	pthread_mutex_lock(&fs->nodes.lock);
	of = n->of;
	if (of)
		n->ofrefs++;
	pthread_mutex_unlock(&fs->nodes.lock);
	return of;
}

/*
 * The last reference writes the header's mtime when the file changed
 * since it was written last (writes and times set while the file is open
 * wait for this or for an fsync).
 */
void sb_fs_of_put(struct sb_fs *fs, struct sb_node *n)
{
	struct sb_ofile *of;
	int last;

	/* While still installed: an open meanwhile shares it, and the
	 * header is written under its lock. */
	pthread_mutex_lock(&fs->nodes.lock);
	of = n->of;
	last = n->ofrefs == 1;
	pthread_mutex_unlock(&fs->nodes.lock);
	if (last) {
		pthread_rwlock_wrlock(&of->lock);
		if (of->dirty && !of->rdonly)
			sb_fs_err(fs, n, sb_ofile_refresh_meta(of));
		pthread_rwlock_unlock(&of->lock);
	}
	pthread_mutex_lock(&fs->nodes.lock);
	if (--n->ofrefs == 0)
		n->of = NULL;
	else
		of = NULL;
	pthread_mutex_unlock(&fs->nodes.lock);
	if (!of)
		return;
	/* two last puts at once: neither saw itself last above */
	if (of->dirty && !of->rdonly)
		sb_fs_err(fs, n, sb_ofile_refresh_meta(of));
	sb_ofile_release(of);
	free(of);
	sb_node_unref(&fs->nodes, n);
}

/* Installs a freshly loaded of on n, or adopts the one another thread
 * installed meanwhile (then of is released). Returns the one in use. */
static struct sb_ofile *of_install(struct sb_fs *fs, struct sb_node *n,
				   struct sb_ofile *of)
{
	struct sb_ofile *cur;

	pthread_mutex_lock(&fs->nodes.lock);
	cur = n->of;
	if (!cur) {
		n->of = of;
		n->refs++;
		cur = of;
	}
	n->ofrefs++;
	pthread_mutex_unlock(&fs->nodes.lock);
	if (cur != of) {
		sb_ofile_release(of);
		free(of);
	}
	return cur;
}

/* Opens n's backing file read-write (read-only without permission). */
/* Reopens the handle kept on a file that was renamed over. */
static int open_ghost(struct sb_fs *fs, struct sb_node *n, int *rdonly)
{
	char proc[64];
	int fd, ghost;

	pthread_mutex_lock(&fs->nodes.lock);
	ghost = n->ghost;
	pthread_mutex_unlock(&fs->nodes.lock);
	if (ghost < 0)
		return -ESTALE;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", ghost);
	*rdonly = 0;
	fd = open(proc, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		*rdonly = 1;
		fd = open(proc, O_RDONLY | O_CLOEXEC);
	}
	return fd < 0 ? -ESTALE : fd;
}

static int open_path(struct sb_fs *fs, struct sb_node *n, int *rdonly)
{
	char path[PATH_MAX];
	int fd, rc = sb_node_path(&fs->nodes, n, path, sizeof(path));

	if (rc)
		return rc;
	*rdonly = 0;
	fd = openat(fs->st->rootfd, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		*rdonly = 1;
		fd = openat(fs->st->rootfd, path, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
	}
	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	return fd;
}

/*
 * Opens n's backing file read-write (read-only without permission); sb
 * receives its stat.
 */
static int open_backing(struct sb_fs *fs, struct sb_node *n, int *out,
			int *rdonly, struct stat *sb)
{
	int fd = open_path(fs, n, rdonly);

	/* A rename may have put another file under this name. */
	if (fd >= 0 && (fstat(fd, sb) || sb->st_ino != n->ino ||
			sb->st_dev != n->dev)) {
		close(fd);
		fd = -ESTALE;
	}
	if (fd == -ESTALE && (fd = open_ghost(fs, n, rdonly)) >= 0 &&
	    fstat(fd, sb)) {
		int e = errno;

		close(fd);
		fd = -e;
	}
	if (fd < 0)
		return fd;
	*out = fd;
	return 0;
}

/* An open-file state for n: the shared one, or a temporary one. */
static int of_get(struct sb_fs *fs, struct sb_node *n, struct sb_ofile **out)
{
	struct sb_ofile *of = sb_fs_of_acquire(fs, n);
	struct stat sb;
	int fd, rc, rdonly;

	if (of) {
		*out = of;
		return 0;
	}
	rc = open_backing(fs, n, &fd, &rdonly, &sb);
	if (rc)
		return rc;
	of = malloc(sizeof(*of));
	rc = of ? sb_ofile_load(of, fs->st, fd, &sb) : -ENOMEM;
	if (rc) {
		close(fd);
		free(of);
		return sb_fs_err(fs, n, rc);
	}
	of->rdonly = rdonly;
	*out = of_install(fs, n, of);
	return 0;
}

int sb_fs_set_size(struct sb_fs *fs, struct sb_node *n, uint64_t size)
{
	struct sb_ofile *of;
	int rc = of_get(fs, n, &of);

	if (rc)
		return rc;
	pthread_rwlock_wrlock(&of->lock);
	rc = of->rdonly ? -EACCES : sb_ofile_truncate(of, size);
	pthread_rwlock_unlock(&of->lock);
	sb_fs_of_put(fs, n);
	return sb_fs_err(fs, n, rc);
}

int sb_fs_same_mtime(const struct timespec ts[2], const struct stat *sb)
{
	return ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec != UTIME_OMIT &&
	       ts[1].tv_nsec != UTIME_NOW &&
	       ts[1].tv_sec == sb->st_mtim.tv_sec &&
	       ts[1].tv_nsec == sb->st_mtim.tv_nsec;
}

static int times_of(struct sb_ofile *of, const struct timespec ts[2])
{
	struct stat sb;

	if (fstat(of->fd, &sb))
		return -errno;
	if (sb_fs_same_mtime(ts, &sb))
		return 0;
	if (futimens(of->fd, ts))
		return -errno;
	if (ts[1].tv_nsec != UTIME_OMIT)
		of->dirty = 1;	/* the header's mtime, at the last put */
	return 0;
}

/* Times through of, the open-file state of n the caller holds (and
 * puts back here). */
static int set_times_of(struct sb_fs *fs, struct sb_node *n,
			struct sb_ofile *of, const struct timespec ts[2])
{
	int rc;

	pthread_rwlock_wrlock(&of->lock);
	rc = times_of(of, ts);
	pthread_rwlock_unlock(&of->lock);
	sb_fs_of_put(fs, n);
	return sb_fs_err(fs, n, rc);
}

int sb_fs_set_times(struct sb_fs *fs, struct sb_node *n,
		    const struct timespec ts[2])
{
	struct sb_ofile *of;
	int rc = of_get(fs, n, &of);

	return rc ? rc : set_times_of(fs, n, of, ts);
}

int sb_fs_set_times_open(struct sb_fs *fs, struct sb_node *n,
			 const struct timespec ts[2])
{
	struct sb_ofile *of = sb_fs_of_acquire(fs, n);

	return of ? set_times_of(fs, n, of, ts) : 1;
}

static void set_open_flags(struct fuse_file_info *fi)
{
	/* All changes go through us or come with an invalidation. */
	fi->keep_cache = 1;
}

static int do_create(struct sb_fs *fs, fuse_req_t req, struct sb_node *parent,
		     const char *name, mode_t mode, struct fuse_entry_param *e)
{
	char path[PATH_MAX], backing[SB_BNAME_MAX];
	struct timespec now;
	struct sb_meta meta;
	struct sb_ofile *of;
	struct sb_node *n;
	int fd, rc = sb_fs_new_path(fs, parent, name, path, backing);

	if (rc)
		return rc;
	fd = openat(fs->st->rootfd, path, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	sb_fs_chown_new(fs, req, fs->st->rootfd, path);
	clock_gettime(CLOCK_REALTIME, &now);
	meta.mtime_sec = now.tv_sec;
	meta.mtime_nsec = (uint32_t)now.tv_nsec;
	of = malloc(sizeof(*of));
	rc = of ? sb_ofile_create(of, fs->st, fd, &meta) : -ENOMEM;
	if (rc) {
		close(fd);
		free(of);
		unlinkat(fs->st->rootfd, path, 0);
		return rc;
	}
	rc = sb_fs_make_entry(fs, e, parent, name, path, backing);
	if (rc) {
		sb_ofile_release(of);
		free(of);
		unlinkat(fs->st->rootfd, path, 0);
		return rc;
	}
	n = sb_fs_node(fs, e->ino);
	of_install(fs, n, of);
	e->attr.st_size = 0;
	e->attr.st_blocks = 0;
	return 0;
}

/* Called with the tree lock held for reading. */
static int do_open(struct sb_fs *fs, struct sb_node *n,
		   struct fuse_file_info *fi)
{
	struct sb_ofile *of;
	int rc;

	rc = of_get(fs, n, &of);
	if (rc)
		return rc;
	if (of->rdonly && (fi->flags & O_ACCMODE) != O_RDONLY)
		rc = -EACCES;
	if (!rc && (fi->flags & O_TRUNC)) {
		pthread_rwlock_wrlock(&of->lock);
		rc = sb_fs_err(fs, n, sb_ofile_truncate(of, 0));
		pthread_rwlock_unlock(&of->lock);
	}
	if (rc)
		sb_fs_of_put(fs, n);
	return rc;
}

/* O_CREAT without O_EXCL on a name the kernel believed absent. */
static int open_existing(struct sb_fs *fs, struct sb_node *parent,
			 const char *name, struct fuse_entry_param *e,
			 struct fuse_file_info *fi)
{
	char path[PATH_MAX], backing[SB_BNAME_MAX], enc[SB_NAMES_ENC_MAX];
	struct sb_node *n;
	int islong, rc;

	rc = sb_fs_child_path(fs, parent, name, path, backing, enc, &islong);
	if (!rc)
		rc = sb_fs_make_entry(fs, e, parent, name, path, backing);
	if (rc)
		return rc;
	n = sb_fs_node(fs, e->ino);
	if (!S_ISREG(e->attr.st_mode))
		rc = S_ISDIR(e->attr.st_mode) ? -EISDIR : -ELOOP;
	else
		rc = do_open(fs, n, fi);
	if (rc)
		sb_node_forget(&fs->nodes, n, 1);
	return rc;
}

void sb_fs_create(fuse_req_t req, fuse_ino_t pino, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct fuse_entry_param e;
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_create(fs, req, sb_fs_node(fs, pino), name, mode, &e);
	if (rc == -EEXIST && !(fi->flags & O_EXCL))
		rc = open_existing(fs, sb_fs_node(fs, pino), name, &e, fi);
	pthread_rwlock_unlock(&fs->nodes.tree);
	rc = sb_fs_err(fs, NULL, rc);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = e.ino;
	set_open_flags(fi);
	if (fuse_reply_create(req, &e, fi))
		sb_fs_of_put(fs, sb_fs_node(fs, e.ino));
}

void sb_fs_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct sb_node *n = sb_fs_node(fs, ino);
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_open(fs, n, fi);
	pthread_rwlock_unlock(&fs->nodes.tree);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = ino;
	set_open_flags(fi);
	if (fuse_reply_open(req, fi))
		sb_fs_of_put(fs, n);
}

void sb_fs_read(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct sb_node *n = sb_fs_node(fs, ino);
	struct sb_ofile *of = n->of;
	const uint8_t *buf = NULL;
	size_t got;
	int rc;

	pthread_rwlock_rdlock(&of->lock);
	rc = sb_ofile_read(of, &buf, &got, size, (uint64_t)off);
	pthread_rwlock_unlock(&of->lock);
	rc = sb_fs_err(fs, n, rc);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, (const char *)buf, got);
}

/*
 * With the writeback cache the kernel owns a file's mtime: it stamps it at
 * write() (or mmap write fault) time and sends it with a SETATTR after the
 * pages it wrote back. Writing back pages whose timestamp the kernel did
 * not change again (several writes in one clock tick, late writeback)
 * sends no SETATTR, so the backing file keeps the mtime it had.
 */
static int write_keep_mtime(struct sb_ofile *of, const struct sb_owrite *ow,
			    const char *buf, size_t size, uint64_t off)
{
	struct timespec ts[2];
	struct stat sb;
	int rc;

	if (fstat(of->fd, &sb))
		return -errno;
	rc = sb_ofile_write_sealed(of, ow, buf, size, off);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = sb.st_mtim;
	if (futimens(of->fd, ts) && !rc)
		rc = -errno;
	return rc;
}

void sb_fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct sb_node *n = sb_fs_node(fs, ino);
	struct sb_ofile *of = n->of;
	struct sb_owrite ow;
	int rc;

	/* On failure nothing is sealed ahead (ow.n is 0): the write
	 * under the lock does it all. */
	(void)sb_ofile_write_begin(of, &ow, of->rdonly ? NULL : buf, size,
				   (uint64_t)off);
	sb_ofile_write_lock(of, &ow);
	if (of->rdonly)
		rc = -EBADF;
	else if (fs->writeback)
		rc = write_keep_mtime(of, &ow, buf, size, (uint64_t)off);
	else
		rc = sb_ofile_write_sealed(of, &ow, buf, size, (uint64_t)off);
	pthread_rwlock_unlock(&of->lock);
	sb_ofile_write_end(of, &ow);
	rc = sb_fs_err(fs, n, rc);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

/*
 * No flush operation: the kernel then sends no FLUSH on close() (it takes
 * ENOSYS once for all), which saves a round trip per close. With the
 * writeback cache, close() still writes the dirty pages back (and sends
 * the mtime) and reports their errors; locks are the kernel's own.
 *
 * The last step of a handle. When it is the file's last, the header
 * takes the mtime the backing file was left with (sb_fs_of_put()); a
 * file opened again before (an append loop: open, write, close) keeps
 * its state and writes its header once, at the end. The kernel does not
 * wait for this reply, nor look at its error.
 */
void sb_fs_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);

	sb_fs_of_put(fs, sb_fs_node(fs, ino));
	fuse_reply_err(req, 0);
}

void sb_fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct sb_node *n = sb_fs_node(fs, ino);
	struct sb_ofile *of = n->of;
	int rc = 0;

	/* The header's mtime goes to disk with the data, and the release
	 * that follows has nothing left to write. */
	pthread_rwlock_wrlock(&of->lock);
	if (of->dirty && !of->rdonly)
		rc = sb_ofile_refresh_meta(of);
	pthread_rwlock_unlock(&of->lock);
	if (!rc && (datasync ? fdatasync(of->fd) : fsync(of->fd)))
		rc = -errno;
	fuse_reply_err(req, -sb_fs_err(fs, n, rc));
}

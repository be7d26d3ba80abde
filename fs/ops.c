#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <unistd.h>

#include "crypto/err.h"
#include "fs/file.h"
#include "fs/fsint.h"

/*
 * Each sb_fs_<op> replies exactly once, from the return value of a
 * do_<op> that holds the tree lock for reading while it builds and uses
 * backing paths.
 */

void sb_fs_log(struct sb_fs *fs, const char *fmt, ...)
{
	char line[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sealbox: %s\n", line);
	if (fs->syslog)
		syslog(LOG_ERR, "%s", line);
}

int sb_fs_damaged(struct sb_fs *fs, struct sb_node *n, const char *what)
{
	char path[PATH_MAX];
	int first;

	pthread_mutex_lock(&fs->nodes.lock);
	first = !n->logged;
	n->logged = 1;
	pthread_mutex_unlock(&fs->nodes.lock);
	if (!first)
		return -EIO;
	if (sb_node_plain(&fs->nodes, n, path, sizeof(path)))
		snprintf(path, sizeof(path), "(inode %llu)",
			 (unsigned long long)n->ino);
	sb_fs_log(fs, "%s: %s", path, what);
	return -EIO;
}

int sb_fs_err(struct sb_fs *fs, struct sb_node *n, int rc)
{
	if (rc >= 0)
		return 0;
	if (rc > SB_EBASE)
		return rc;
	if (n)
		return sb_fs_damaged(fs, n, "damaged (fails authentication)");
	return -EIO;
}

int sb_fs_child_path(struct sb_fs *fs, struct sb_node *parent,
		     const char *name, char *path, char *backing, char *enc,
		     int *islong)
{
	char dir[PATH_MAX];
	int rc;

	rc = sb_bname_make(fs->st, backing, enc, parent->dirid, name,
			   strlen(name));
	if (rc < 0)
		return rc;
	*islong = rc;
	rc = sb_node_path(&fs->nodes, parent, dir, sizeof(dir));
	if (!rc)
		rc = sb_path_join(path, PATH_MAX, dir, backing);
	return rc;
}

/*
 * The backing path of n, checked to still lead to n's inode: a rename in
 * another thread may have put another file under that name. -ESTALE makes
 * the kernel look the name up again.
 */
static int sb_fs_node_path(struct sb_fs *fs, struct sb_node *n, char *path,
		    struct stat *sb)
{
	struct stat tmp;
	int rc = sb_node_path(&fs->nodes, n, path, PATH_MAX);

	if (!sb)
		sb = &tmp;
	if (rc)
		return rc;
	if (fstatat(fs->st->rootfd, path, sb, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? -ESTALE : -errno;
	if (n != &fs->nodes.root &&
	    (sb->st_ino != n->ino || sb->st_dev != n->dev))
		return -ESTALE;
	return 0;
}

static off_t link_len(struct sb_fs *fs, int dirfd, const char *path)
{
	char enc[SB_SYMLINK_ENC_MAX + 1], target[SB_SYMLINK_MAX + 1];
	ssize_t n = readlinkat(dirfd, path, enc, sizeof(enc) - 1);
	size_t len;

	if (n < 0 || sb_names_decrypt_target(fs->st->names, target, &len,
					     enc, (size_t)n))
		return 0;
	return (off_t)len;
}

/* Directories of the root the mount does not show (.git, .sealbox). */
static nlink_t hidden_dirs(struct sb_fs *fs)
{
	int fd = openat(fs->st->rootfd, ".", O_RDONLY | O_DIRECTORY |
			O_CLOEXEC);
	struct dirent *de;
	nlink_t n = 0;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] == '.' && de->d_type == DT_DIR &&
		    strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

void sb_fs_fix_attr(struct sb_fs *fs, struct sb_node *n, int dirfd,
		    const char *path, struct stat *sb)
{
	nlink_t hidden;

	if (n == &fs->nodes.root) {
		hidden = hidden_dirs(fs);
		if (sb->st_nlink > hidden + 1)
			sb->st_nlink -= hidden;
		return;
	}
	struct sb_ofile *of = n ? sb_fs_of_acquire(fs, n) : NULL;

	if (of) {
		pthread_rwlock_rdlock(&of->lock);
		sb->st_size = (off_t)of->size;
		pthread_rwlock_unlock(&of->lock);
		sb_fs_of_put(fs, n);
	} else if (S_ISREG(sb->st_mode)) {
		sb->st_size = (off_t)sb_file_plain_size((uint64_t)sb->st_size);
	} else if (S_ISLNK(sb->st_mode) && path) {
		sb->st_size = link_len(fs, dirfd, path);
	}
	sb->st_blocks = (sb->st_size + 511) / 512;
}

void sb_fs_entry(struct sb_fs *fs, struct fuse_entry_param *e,
		 struct sb_node *n, const struct stat *sb)
{
	memset(e, 0, sizeof(*e));
	e->ino = sb_fs_ino(fs, n);
	e->attr = *sb;
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
}

void sb_fs_chown_new(struct sb_fs *fs, fuse_req_t req, int dirfd,
		     const char *path)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char dir[PATH_MAX];
	struct stat sb;
	gid_t gid = ctx->gid;

	if (ctx->uid == fs->uid && ctx->gid == fs->gid)
		return;
	/* In a set-group-ID directory the group is the directory's. */
	sb_path_dirname(dir, sizeof(dir), path);
	if (!fstatat(dirfd, dir, &sb, 0) && (sb.st_mode & S_ISGID))
		gid = (gid_t)-1;
	/* A daemon that is not root cannot give files away: keep its own. */
	if (fchownat(dirfd, path, ctx->uid, gid, AT_SYMLINK_NOFOLLOW) &&
	    fs->uid == 0)
		sb_fs_log(fs, "cannot give a new file to uid %u: %s",
			  (unsigned)ctx->uid, strerror(errno));
}

/* Stat of the backing entry path, then the node (lookup count + 1). */
int sb_fs_make_entry(struct sb_fs *fs, struct fuse_entry_param *e,
		      struct sb_node *parent, const char *name,
		      const char *path, const char *backing)
{
	uint8_t dirid[SB_DIRID_LEN];
	struct sb_node *n;
	struct stat sb;
	int rc;

	if (fstatat(fs->st->rootfd, path, &sb, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (S_ISDIR(sb.st_mode)) {
		rc = sb_names_dirid(fs->st->names, dirid, parent->dirid, name,
				    strlen(name));
		if (rc)
			return sb_fs_err(fs, NULL, rc);
	}
	n = sb_node_get(&fs->nodes, &sb, parent, name, strlen(name), backing,
			dirid);
	if (!n)
		return -ENOMEM;
	sb_fs_fix_attr(fs, n, fs->st->rootfd, path, &sb);
	sb_fs_entry(fs, e, n, &sb);
	return 0;
}

void sb_fs_reply_entry(fuse_req_t req, int rc,
			const struct fuse_entry_param *e)
{
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, e);
}

static void sb_fs_lookup(fuse_req_t req, fuse_ino_t pino, const char *name)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct sb_node *parent = sb_fs_node(fs, pino);
	char path[PATH_MAX], backing[SB_BNAME_MAX], enc[SB_NAMES_ENC_MAX];
	struct fuse_entry_param e;
	int rc, islong;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = sb_fs_child_path(fs, parent, name, path, backing, enc, &islong);
	if (!rc)
		rc = sb_fs_make_entry(fs, &e, parent, name, path, backing);
	pthread_rwlock_unlock(&fs->nodes.tree);
	if (rc == -ENOENT) {
		/* Cached as absent; sb_fs_invalidate() drops it. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->timeout;
		rc = 0;
	}
	sb_fs_reply_entry(req, sb_fs_err(fs, NULL, rc), &e);
}

static void sb_fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct sb_fs *fs = sb_fs_of(req);

	sb_node_forget(&fs->nodes, sb_fs_node(fs, ino), nlookup);
	fuse_reply_none(req);
}

static void sb_fs_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	struct sb_fs *fs = sb_fs_of(req);
	size_t i;

	for (i = 0; i < count; i++)
		sb_node_forget(&fs->nodes, sb_fs_node(fs, forgets[i].ino),
			       forgets[i].nlookup);
	fuse_reply_none(req);
}

static int do_getattr(struct sb_fs *fs, struct sb_node *n, struct stat *sb)
{
	struct sb_ofile *of = sb_fs_of_acquire(fs, n);
	char path[PATH_MAX];
	int rc = 0;

	if (of) {
		rc = fstat(of->fd, sb) ? -errno : 0;
		sb_fs_of_put(fs, n);
		if (!rc)
			sb_fs_fix_attr(fs, n, -1, NULL, sb);
		return rc;
	}
	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = sb_fs_node_path(fs, n, path, sb);
	if (!rc)
		sb_fs_fix_attr(fs, n, fs->st->rootfd, path, sb);
	pthread_rwlock_unlock(&fs->nodes.tree);
	/* ESTALE makes the kernel look the name up again. */
	return rc;
}

static void sb_fs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct stat sb;
	int rc = do_getattr(fs, sb_fs_node(fs, ino), &sb);

	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &sb, fs->timeout);
}

#define TIME_ATTRS (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | \
		    FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | \
		    FUSE_SET_ATTR_CTIME)

static void set_times(struct timespec ts[2], const struct stat *attr,
		      int valid)
{
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_OMIT;
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		ts[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		ts[1] = attr->st_mtim;
}

/* chmod, chown, utimens through the open file of an unlinked node. */
static int setattr_fd(struct sb_fs *fs, struct sb_node *n,
		      const struct stat *attr, int valid, uid_t uid, gid_t gid,
		      const struct timespec ts[2])
{
	struct sb_ofile *of = sb_fs_of_acquire(fs, n);
	int rc = 0;

	if (!of)	/* gone: nothing left to change (a late mtime flush) */
		return valid & ~TIME_ATTRS ? -ESTALE : 0;
	if ((valid & FUSE_SET_ATTR_MODE) &&
	    fchmod(of->fd, attr->st_mode & 07777))
		rc = -errno;
	if (!rc && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    fchown(of->fd, uid, gid))
		rc = -errno;
	if (!rc && (ts[0].tv_nsec != UTIME_OMIT ||
		    ts[1].tv_nsec != UTIME_OMIT) && futimens(of->fd, ts))
		rc = -errno;
	sb_fs_of_put(fs, n);
	return rc;
}

static int setattr_path(struct sb_fs *fs, const char *path,
			const struct stat *attr, int valid, uid_t uid,
			gid_t gid)
{
	int rootfd = fs->st->rootfd;

	if ((valid & FUSE_SET_ATTR_MODE) &&
	    fchmodat(rootfd, path, attr->st_mode & 07777, 0))
		return -errno;
	if ((valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    fchownat(rootfd, path, uid, gid, AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

/*
 * Times: a regular file's mtime goes into its header too (both through
 * the file's descriptor, under its lock); the rest only by path.
 */
static int set_times_path(struct sb_fs *fs, struct sb_node *n,
			  const char *path, const struct timespec ts[2])
{
	if (S_ISREG(n->type) && ts[1].tv_nsec != UTIME_OMIT)
		return sb_fs_set_times(fs, n, ts);
	if (utimensat(fs->st->rootfd, path, ts, AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

static int do_setattr(struct sb_fs *fs, struct sb_node *n,
		      const struct stat *attr, int valid)
{
	char path[PATH_MAX];
	struct timespec ts[2];
	struct stat sb;
	uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
	gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
	int rc;

	set_times(ts, attr, valid);
	if ((valid & FUSE_SET_ATTR_SIZE) && !S_ISREG(n->type))
		return -EINVAL;
	if (valid & FUSE_SET_ATTR_SIZE) {
		rc = sb_fs_set_size(fs, n, (uint64_t)attr->st_size);
		if (rc)
			return rc;
	}
	/*
	 * Only the times of an open regular file (the kernel's mtime after
	 * a writeback): through its descriptor, no lookup by path. A file
	 * that is not open takes the path below, whose lstat spares opening
	 * it (a header read and a key derivation) when the mtime is the one
	 * it has: what the kernel sends after each rename of a file it
	 * knows, with the writeback cache.
	 */
	if (S_ISREG(n->type) && !(valid & ~(TIME_ATTRS | FUSE_SET_ATTR_SIZE)) &&
	    ts[1].tv_nsec != UTIME_OMIT &&
	    (rc = sb_fs_set_times_open(fs, n, ts)) <= 0)
		return rc;
	rc = sb_fs_node_path(fs, n, path, &sb);
	if (rc == -ESTALE)
		return setattr_fd(fs, n, attr, valid, uid, gid, ts);
	if (!rc)
		rc = setattr_path(fs, path, attr, valid, uid, gid);
	if (!rc && sb_fs_same_mtime(ts, &sb))
		ts[1].tv_nsec = UTIME_OMIT;
	if (rc || (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT))
		return rc;
	return set_times_path(fs, n, path, ts);
}

/*
 * The kernel flushes the times of a file it wrote after the file was
 * removed (renamed over): there is nothing left to change or to stat, so
 * answer with what is left of it.
 */
static int do_setattr_gone(struct sb_node *n, struct stat *sb)
{
	if (!S_ISREG(n->type))
		return -ESTALE;
	memset(sb, 0, sizeof(*sb));
	sb->st_ino = n->ino;
	sb->st_dev = n->dev;
	sb->st_mode = n->type | 0600;
	return 0;
}

static void sb_fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int valid, struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct sb_node *n = sb_fs_node(fs, ino);
	struct stat sb;
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_setattr(fs, n, attr, valid);
	pthread_rwlock_unlock(&fs->nodes.tree);
	if (!rc) {
		rc = do_getattr(fs, n, &sb);
		if (rc == -ESTALE && !do_setattr_gone(n, &sb))
			rc = 0;
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &sb, fs->timeout);
}

static int do_readlink(struct sb_fs *fs, struct sb_node *n, char *target)
{
	char enc[SB_SYMLINK_ENC_MAX + 1], path[PATH_MAX];
	ssize_t len;
	size_t tlen;
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = sb_fs_node_path(fs, n, path, NULL);
	if (!rc && (len = readlinkat(fs->st->rootfd, path, enc,
				     sizeof(enc) - 1)) < 0)
		rc = -errno;
	pthread_rwlock_unlock(&fs->nodes.tree);
	if (!rc)
		rc = sb_names_decrypt_target(fs->st->names, target, &tlen, enc,
					     (size_t)len);
	return sb_fs_err(fs, n, rc);
}

static void sb_fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct sb_fs *fs = sb_fs_of(req);
	char target[SB_SYMLINK_MAX + 1];
	int rc = do_readlink(fs, sb_fs_node(fs, ino), target);

	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_readlink(req, target);
}

/* Backing path for a new entry, with the sidecar of a long name. */
int sb_fs_new_path(struct sb_fs *fs, struct sb_node *parent,
		    const char *name, char *path, char *backing)
{
	char enc[SB_NAMES_ENC_MAX];
	int islong, rc;

	rc = sb_fs_child_path(fs, parent, name, path, backing, enc, &islong);
	if (!rc && islong)
		rc = sb_bname_put_sidecar(fs->st, path, enc);
	return rc;
}

static int do_mkdir(struct sb_fs *fs, fuse_req_t req, struct sb_node *parent,
		    const char *name, mode_t mode, struct fuse_entry_param *e)
{
	char path[PATH_MAX], backing[SB_BNAME_MAX];
	int rc = sb_fs_new_path(fs, parent, name, path, backing);

	if (rc)
		return rc;
	if (mkdirat(fs->st->rootfd, path, mode))
		return -errno;
	sb_fs_chown_new(fs, req, fs->st->rootfd, path);
	rc = sb_store_put_marker(fs->st, path);
	if (!rc)
		rc = sb_fs_make_entry(fs, e, parent, name, path, backing);
	return rc;
}

static void sb_fs_mkdir(fuse_req_t req, fuse_ino_t pino, const char *name,
			mode_t mode)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct fuse_entry_param e;
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_mkdir(fs, req, sb_fs_node(fs, pino), name, mode, &e);
	pthread_rwlock_unlock(&fs->nodes.tree);
	sb_fs_reply_entry(req, sb_fs_err(fs, NULL, rc), &e);
}

static int do_symlink(struct sb_fs *fs, fuse_req_t req, const char *target,
		      struct sb_node *parent, const char *name,
		      struct fuse_entry_param *e)
{
	char path[PATH_MAX], backing[SB_BNAME_MAX], enc[SB_SYMLINK_ENC_MAX];
	size_t len = strlen(target);
	int rc;

	if (len > SB_SYMLINK_MAX)
		return -ENAMETOOLONG;
	rc = sb_names_encrypt_target(fs->st->names, enc, target, len);
	if (!rc)
		rc = sb_fs_new_path(fs, parent, name, path, backing);
	if (rc)
		return rc;
	if (symlinkat(enc, fs->st->rootfd, path))
		return -errno;
	sb_fs_chown_new(fs, req, fs->st->rootfd, path);
	return sb_fs_make_entry(fs, e, parent, name, path, backing);
}

static void sb_fs_symlink(fuse_req_t req, const char *target,
			  fuse_ino_t pino, const char *name)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct fuse_entry_param e;
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_symlink(fs, req, target, sb_fs_node(fs, pino), name, &e);
	pthread_rwlock_unlock(&fs->nodes.tree);
	sb_fs_reply_entry(req, sb_fs_err(fs, NULL, rc), &e);
}

static int do_link(struct sb_fs *fs, struct sb_node *n,
		   struct sb_node *parent, const char *name,
		   struct fuse_entry_param *e)
{
	char old[PATH_MAX], path[PATH_MAX], backing[SB_BNAME_MAX];
	int rc = sb_fs_node_path(fs, n, old, NULL);

	if (rc)
		return rc;
	rc = sb_fs_new_path(fs, parent, name, path, backing);
	if (rc)
		return rc;
	if (linkat(fs->st->rootfd, old, fs->st->rootfd, path, 0))
		return -errno;
	return sb_fs_make_entry(fs, e, parent, name, path, backing);
}

static void sb_fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t pino,
		       const char *name)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct fuse_entry_param e;
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_link(fs, sb_fs_node(fs, ino), sb_fs_node(fs, pino), name, &e);
	pthread_rwlock_unlock(&fs->nodes.tree);
	sb_fs_reply_entry(req, sb_fs_err(fs, NULL, rc), &e);
}

/*
 * Removes name; *held receives a descriptor (O_PATH) of what was removed,
 * for the caller to close after the reply: the last close, not the
 * unlink, then gives the backing file's blocks back (the file system's
 * truncate, and on a disk mounted with -o discard a synchronous discard
 * per file), and `rm -rf` does not wait for that.
 */
static int do_remove(struct sb_fs *fs, struct sb_node *parent,
		     const char *name, int dir, int *held)
{
	char path[PATH_MAX], backing[SB_BNAME_MAX], enc[SB_NAMES_ENC_MAX];
	struct sb_node *n;
	struct stat sb;
	int fd, islong, rc;

	rc = sb_fs_child_path(fs, parent, name, path, backing, enc, &islong);
	if (rc)
		return rc;
	fd = openat(fs->st->rootfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*held = fd;
	if (fstat(fd, &sb))
		return -errno;
	if (dir && !S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if (!dir && S_ISDIR(sb.st_mode))
		return -EISDIR;
	if (dir && (rc = sb_store_clear_dir(fs->st, path)))
		return rc;
	if (unlinkat(fs->st->rootfd, path, dir ? AT_REMOVEDIR : 0)) {
		rc = -errno;
		if (dir)
			sb_store_put_marker(fs->st, path);
		return rc;
	}
	if (islong)
		sb_bname_del_sidecar(fs->st, path);
	n = sb_node_find(&fs->nodes, sb.st_dev, sb.st_ino);
	if (n)
		sb_node_drop_link(&fs->nodes, n, parent, name, strlen(name));
	return 0;
}

static void remove_op(fuse_req_t req, fuse_ino_t pino, const char *name,
		      int dir)
{
	struct sb_fs *fs = sb_fs_of(req);
	int held = -1, rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_remove(fs, sb_fs_node(fs, pino), name, dir, &held);
	pthread_rwlock_unlock(&fs->nodes.tree);
	fuse_reply_err(req, -sb_fs_err(fs, NULL, rc));
	if (held >= 0)
		close(held);
}

static void sb_fs_unlink(fuse_req_t req, fuse_ino_t pino, const char *name)
{
	remove_op(req, pino, name, 0);
}

static void sb_fs_rmdir(fuse_req_t req, fuse_ino_t pino, const char *name)
{
	remove_op(req, pino, name, 1);
}

/*
 * access(2) without default_permissions: the backing file system answers
 * for the daemon's user, who is the only one that reaches the mount then.
 */
static void sb_fs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct sb_fs *fs = sb_fs_of(req);
	char path[PATH_MAX];
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = sb_fs_node_path(fs, sb_fs_node(fs, ino), path, NULL);
	if (!rc && faccessat(fs->st->rootfd, path, mask, AT_EACCESS))
		rc = -errno;
	pthread_rwlock_unlock(&fs->nodes.tree);
	fuse_reply_err(req, -rc);
}

static void sb_fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct statvfs sv;

	if (fstatvfs(fs->st->rootfd, &sv)) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_namemax = SB_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void sb_fs_init(void *data, struct fuse_conn_info *conn)
{
	struct sb_fs *fs = data;

	/*
	 * With the writeback cache the kernel keeps a regular file's mtime
	 * (the time of the write() call) and sends it with a SETATTR after
	 * writing the pages back (fuse_write_inode); sb_fs_write() keeps the
	 * backing mtime when it writes pages back. On unless -o nowriteback.
	 */
	if (fs->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	conn->want &= ~(unsigned)(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	conn->max_write = 1024 * 1024;
}

const struct fuse_lowlevel_ops sb_fs_ops = {
	.init = sb_fs_init,
	.lookup = sb_fs_lookup,
	.forget = sb_fs_forget,
	.forget_multi = sb_fs_forget_multi,
	.getattr = sb_fs_getattr,
	.setattr = sb_fs_setattr,
	.readlink = sb_fs_readlink,
	.mkdir = sb_fs_mkdir,
	.unlink = sb_fs_unlink,
	.rmdir = sb_fs_rmdir,
	.symlink = sb_fs_symlink,
	.rename = sb_fs_rename,
	.link = sb_fs_link,
	.open = sb_fs_open,
	.read = sb_fs_read,
	.write = sb_fs_write,
	.release = sb_fs_release,
	.fsync = sb_fs_fsync,
	.opendir = sb_fs_opendir,
	.readdir = sb_fs_readdir,
	.readdirplus = sb_fs_readdirplus,
	.releasedir = sb_fs_releasedir,
	.fsyncdir = sb_fs_fsyncdir,
	.statfs = sb_fs_statfs,
	.access = sb_fs_access,
	.create = sb_fs_create,
};

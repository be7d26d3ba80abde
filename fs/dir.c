#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"
#include "fs/fsint.h"

/* An open directory: the backing stream and where the kernel is in it. */
struct dirh {
	DIR *dp;
	off_t offset;
	struct dirent *entry;
	uint8_t dirid[SB_DIRID_LEN];
};

/* Per-thread reply buffer for readdir (grown, never per request). */
static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;

struct rbuf {
	size_t size;
	char data[];
};

static void rbuf_init(void)
{
	pthread_key_create(&rbuf_key, free);
}

static char *rbuf_get(size_t size)
{
	struct rbuf *b;

	pthread_once(&rbuf_once, rbuf_init);
	b = pthread_getspecific(rbuf_key);
	if (b && b->size >= size)
		return b->data;
	free(b);
	b = malloc(sizeof(*b) + size);
	pthread_setspecific(rbuf_key, b);
	if (!b)
		return NULL;
	b->size = size;
	return b->data;
}

static int do_opendir(struct sb_fs *fs, struct sb_node *n, struct dirh **out)
{
	char path[PATH_MAX];
	struct dirh *d;
	int fd, rc;

	rc = sb_node_path(&fs->nodes, n, path, sizeof(path));
	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	fd = openat(fs->st->rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d->dp = fdopendir(fd))) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		free(d);
		return rc;
	}
	memcpy(d->dirid, n->dirid, SB_DIRID_LEN);
	*out = d;
	return 0;
}

void sb_fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct dirh *d = NULL;
	int rc;

	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_opendir(fs, sb_fs_node(fs, ino), &d);
	pthread_rwlock_unlock(&fs->nodes.tree);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		closedir(d->dp);
		free(d);
	}
}

static int is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* Decodes one backing entry: 0 show it, 1 skip it. */
static int entry_name(struct sb_fs *fs, struct sb_node *dir, struct dirh *d,
		      const char *bname, char *name)
{
	size_t len;
	int rc;

	if (is_dot(bname)) {
		memcpy(name, bname, strlen(bname) + 1);
		return 0;
	}
	if (bname[0] == '.')
		return 1;
	rc = sb_bname_read(fs->st, name, &len, dirfd(d->dp), ".", d->dirid,
			   bname);
	if (rc < 0) {
		char path[PATH_MAX];

		if (sb_node_plain(&fs->nodes, dir, path, sizeof(path)))
			path[0] = '\0';
		sb_fs_log(fs, "%s/: a name fails authentication (%s)", path,
			  bname);
		return 1;
	}
	return rc;
}

/* Entry of a readdirplus: a lookup of the backing entry. */
static int plus_entry(struct sb_fs *fs, struct sb_node *dir, struct dirh *d,
		      const char *name, const char *bname,
		      struct fuse_entry_param *e)
{
	uint8_t dirid[SB_DIRID_LEN];
	struct sb_node *n;
	struct stat sb;
	int rc;

	if (fstatat(dirfd(d->dp), bname, &sb, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (S_ISDIR(sb.st_mode)) {
		rc = sb_names_dirid(fs->st->names, dirid, d->dirid, name,
				    strlen(name));
		if (rc)
			return -EIO;
	}
	n = sb_node_get(&fs->nodes, &sb, dir, name, strlen(name), bname,
			dirid);
	if (!n)
		return -ENOMEM;
	sb_fs_fix_attr(fs, n, dirfd(d->dp), bname, &sb);
	sb_fs_entry(fs, e, n, &sb);
	return 0;
}

static size_t add_entry(fuse_req_t req, struct sb_fs *fs,
			struct sb_node *dir, struct dirh *d, char *p,
			size_t rem, int plus, int *err)
{
	struct dirent *de = d->entry;
	char name[SB_NAME_MAX + 1];
	struct fuse_entry_param e;
	struct stat st;
	size_t n;

	*err = 0;
	if (entry_name(fs, dir, d, de->d_name, name))
		return 0;
	if (!plus) {
		memset(&st, 0, sizeof(st));
		st.st_ino = de->d_ino;
		st.st_mode = (mode_t)de->d_type << 12;
		n = fuse_add_direntry(req, p, rem, name, &st, de->d_off);
		return n > rem ? (size_t)-1 : n;
	}
	if (is_dot(name)) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = de->d_ino;
		e.attr.st_mode = (mode_t)de->d_type << 12;
	} else if ((*err = plus_entry(fs, dir, d, name, de->d_name, &e))) {
		/* Vanished since readdir: skip it. */
		if (*err == -ENOENT)
			*err = 0;
		return 0;
	}
	n = fuse_add_direntry_plus(req, p, rem, name, &e, de->d_off);
	if (n > rem) {
		if (e.ino)
			sb_node_forget(&fs->nodes, sb_fs_node(fs, e.ino), 1);
		return (size_t)-1;
	}
	return n;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, int plus)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct sb_node *dir = sb_fs_node(fs, ino);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	char *buf = rbuf_get(size), *p = buf;
	size_t rem = size, n;
	int err = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		n = add_entry(req, fs, dir, d, p, rem, plus, &err);
		if (n == (size_t)-1 || err)
			break;
		p += n;
		rem -= n;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	/* An error after some entries: return those; the next call fails. */
	if (err && rem == size)
		fuse_reply_err(req, err < 0 ? -err : err);
	else
		fuse_reply_buf(req, buf, size - rem);
}

void sb_fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

void sb_fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

void sb_fs_releasedir(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;

	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

void sb_fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	int fd = dirfd(d->dp);

	fuse_reply_err(req, (datasync ? fdatasync(fd) : fsync(fd)) ? errno : 0);
}

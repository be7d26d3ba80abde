#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "fs/backing.h"
#include "fs/file.h"

/* Where a plaintext path leads in the backing tree. */
struct resolved {
	char path[PATH_MAX];		/* backing path of the entry */
	uint8_t pid[SB_DIRID_LEN];	/* directory ID of its parent */
	uint8_t id[SB_DIRID_LEN];	/* its own ID, were it a directory */
	char enc[SB_NAMES_ENC_MAX];	/* encoded last name */
	int islong;			/* the last name needs a sidecar */
};

int sb_store_open(struct sb_store **out, const char *root,
		  const struct sb_secrets *s)
{
	struct sb_store *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	st->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->rootfd < 0) {
		rc = sb_err_set(-errno, "cannot open %s: %s", root,
				strerror(errno));
		goto out_free;
	}
	st->root = strdup(root);
	if (!st->root) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = sb_names_new(&st->names, s);
	if (!rc)
		rc = sb_content_keys_new(&st->keys, s);
	if (rc)
		goto out_free;
	*out = st;
	return 0;
out_free:
	sb_store_free(st);
	return rc;
}

void sb_store_free(struct sb_store *st)
{
	if (!st)
		return;
	if (st->rootfd >= 0)
		close(st->rootfd);
	sb_names_free(st->names);
	sb_content_keys_free(st->keys);
	free(st->root);
	free(st);
}

const char *sb_store_root(const struct sb_store *st)
{
	return st->root;
}

/* The next component of *p (skipping slashes); 0 at the end. */
static size_t next_comp(const char **p, const char **name)
{
	const char *s = *p;
	size_t n;

	while (*s == '/')
		s++;
	*name = s;
	n = strcspn(s, "/");
	*p = s + n;
	return n;
}

static void resolve_root(struct resolved *r)
{
	snprintf(r->path, sizeof(r->path), ".");
	sb_names_root_id(r->pid);
	sb_names_root_id(r->id);
	r->enc[0] = '\0';
	r->islong = 0;
}

/* Descends from r into the child name (len bytes). */
static int resolve_step(const struct sb_store *st, struct resolved *r,
			const char *name, size_t len)
{
	char backing[SB_BNAME_MAX], dir[PATH_MAX];
	int rc;

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	memcpy(r->pid, r->id, SB_DIRID_LEN);
	rc = sb_bname_make(st, backing, r->enc, r->pid, name, len);
	if (rc < 0)
		return rc;
	r->islong = rc;
	memcpy(dir, r->path, sizeof(dir));
	rc = sb_path_join(r->path, sizeof(r->path), dir, backing);
	if (!rc)
		rc = sb_names_dirid(st->names, r->id, r->pid, name, len);
	return rc;
}

static int resolve(const struct sb_store *st, struct resolved *r,
		   const char *path)
{
	const char *p = path, *name;
	size_t len;
	int rc = 0;

	resolve_root(r);
	while (!rc && (len = next_comp(&p, &name)))
		rc = resolve_step(st, r, name, len);
	return rc;
}

static int read_all(int fd, uint8_t **out, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &sb))
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EISDIR;
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)sb.st_size) {
		n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	return 0;
}

int sb_store_put_marker(const struct sb_store *st, const char *dirpath)
{
	struct sb_meta meta = { 0, 0 };
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	ssize_t n;
	int fd, rc;

	rc = sb_path_join(path, sizeof(path), dirpath, SB_STORE_MARKER);
	if (!rc)
		rc = sb_content_seal(&buf, &len, st->keys, &meta, NULL, 0);
	if (rc)
		return rc;
	fd = openat(st->rootfd, path, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? 0 : -errno;
		goto out;
	}
	n = write(fd, buf, len);
	if (n < 0 || (size_t)n != len)
		rc = n < 0 ? -errno : -EIO;
	else if (fsync(fd))
		rc = -errno;
	close(fd);
	if (rc)
		unlinkat(st->rootfd, path, 0);
out:
	free(buf);
	return rc;
}

int sb_store_read_marker(const struct sb_store *st, const char *dirpath,
			 uint8_t **buf, size_t *len)
{
	char path[PATH_MAX];
	uint8_t *raw = NULL;
	size_t rawlen;
	int fd, rc;

	rc = sb_path_join(path, sizeof(path), dirpath, SB_STORE_MARKER);
	if (rc)
		return rc;
	fd = openat(st->rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = read_all(fd, &raw, &rawlen);
	close(fd);
	if (!rc)
		rc = sb_content_unseal(buf, len, NULL, st->keys, raw, rawlen);
	free(raw);
	return rc;
}

/* Creates the backing directory of r (sidecar first, then marker). */
static int make_dir(struct sb_store *st, const struct resolved *r,
		    mode_t mode)
{
	int rc = 0;

	if (r->islong)
		rc = sb_bname_put_sidecar(st, r->path, r->enc);
	if (rc)
		return rc;
	if (mkdirat(st->rootfd, r->path, mode))
		return -errno;
	return sb_store_put_marker(st, r->path);
}

int sb_store_mkdir(struct sb_store *st, const char *path, mode_t mode)
{
	const char *p = path, *name;
	struct resolved r;
	struct stat sb;
	size_t len;
	int rc = 0;

	resolve_root(&r);
	while (!rc && (len = next_comp(&p, &name))) {
		rc = resolve_step(st, &r, name, len);
		if (rc)
			break;
		if (!fstatat(st->rootfd, r.path, &sb, AT_SYMLINK_NOFOLLOW)) {
			if (!S_ISDIR(sb.st_mode))
				rc = *p ? -ENOTDIR : -EEXIST;
			continue;
		}
		rc = errno == ENOENT ? make_dir(st, &r, mode) : -errno;
	}
	if (rc)
		sb_err_set(rc, "cannot create directory %s: %s", path,
			   sb_err_str(rc));
	return rc;
}

static int full_write(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A fresh temporary name in the directory dirpath. */
static int tmp_path(char *buf, size_t size, const char *dirpath)
{
	uint8_t rnd[8];
	char name[32];
	size_t i;

	sb_random_id(rnd, sizeof(rnd));
	memcpy(name, SB_STORE_TMP, sizeof(SB_STORE_TMP) - 1);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(name + sizeof(SB_STORE_TMP) - 1 + 2 * i, 3, "%02x",
			 rnd[i]);
	return sb_path_join(buf, size, dirpath, name);
}

static int fsync_dir(const struct sb_store *st, const char *dirpath)
{
	int fd = openat(st->rootfd, dirpath, O_RDONLY | O_DIRECTORY |
			O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

/* Writes sealed bytes to a new temporary file tmp, fsynced. */
static int write_tmp(const struct sb_store *st, const char *tmp,
		     const uint8_t *buf, size_t len, mode_t mode,
		     const struct timespec *mtime)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	int fd, rc;

	if (mtime)
		ts[1] = *mtime;
	fd = openat(st->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	rc = full_write(fd, buf, len);
	if (!rc && futimens(fd, ts))
		rc = -errno;
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

int sb_store_write_file(struct sb_store *st, const char *path,
			const void *buf, size_t len, mode_t mode,
			const struct timespec *mtime)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	struct timespec now;
	struct sb_meta meta;
	struct resolved r;
	uint8_t *sealed = NULL;
	size_t slen;
	int rc;

	clock_gettime(CLOCK_REALTIME, &now);
	if (!mtime)
		mtime = &now;
	meta.mtime_sec = mtime->tv_sec;
	meta.mtime_nsec = (uint32_t)mtime->tv_nsec;
	rc = resolve(st, &r, path);
	if (!rc && !strcmp(r.path, "."))
		rc = -EISDIR;
	if (rc)
		goto out;
	sb_path_dirname(dir, sizeof(dir), r.path);
	rc = tmp_path(tmp, sizeof(tmp), dir);
	if (!rc)
		rc = sb_content_seal(&sealed, &slen, st->keys, &meta, buf, len);
	if (!rc)
		rc = write_tmp(st, tmp, sealed, slen, mode, mtime);
	if (!rc && r.islong)
		rc = sb_bname_put_sidecar(st, r.path, r.enc);
	if (!rc && renameat(st->rootfd, tmp, st->rootfd, r.path))
		rc = -errno;
	if (rc)
		unlinkat(st->rootfd, tmp, 0);
	else
		rc = fsync_dir(st, dir);
out:
	free(sealed);
	if (rc)
		sb_err_set(rc, "cannot write %s: %s", path, sb_err_str(rc));
	return rc;
}

int sb_store_read_file(struct sb_store *st, const char *path, uint8_t **buf,
		       size_t *len, struct sb_meta *meta)
{
	uint8_t *raw = NULL, *plain = NULL, *res;
	size_t rawlen, plen;
	struct resolved r;
	int fd = -1, rc;

	rc = resolve(st, &r, path);
	if (!rc && (fd = openat(st->rootfd, r.path, O_RDONLY | O_NOFOLLOW |
				O_CLOEXEC)) < 0)
		rc = -errno;
	if (!rc)
		rc = read_all(fd, &raw, &rawlen);
	if (!rc)
		rc = sb_content_unseal(&plain, &plen, meta, st->keys, raw,
				       rawlen);
	if (!rc) {
		res = malloc(plen + 1);
		if (!res) {
			rc = -ENOMEM;
		} else {
			memcpy(res, plain, plen);
			res[plen] = '\0';
			*buf = res;
			*len = plen;
		}
	}
	if (plain) {
		sb_wipe(plain, plen);
		free(plain);
	}
	free(raw);
	if (fd >= 0)
		close(fd);
	if (rc)
		sb_err_set(rc, "%s: %s", path, rc == SB_EAUTH ?
			   "damaged (fails authentication)" : sb_err_str(rc));
	return rc;
}

/* Plaintext length of the symlink at the backing path (0 if damaged). */
static off_t symlink_len(const struct sb_store *st, const char *path)
{
	char enc[SB_SYMLINK_ENC_MAX + 1], target[SB_SYMLINK_MAX + 1];
	ssize_t n = readlinkat(st->rootfd, path, enc, sizeof(enc) - 1);
	size_t len;

	if (n < 0)
		return 0;
	if (sb_names_decrypt_target(st->names, target, &len, enc, (size_t)n))
		return 0;
	return (off_t)len;
}

int sb_store_stat(struct sb_store *st, const char *path, struct stat *out)
{
	struct resolved r;
	int rc = resolve(st, &r, path);

	if (rc)
		return rc;
	if (fstatat(st->rootfd, r.path, out, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (S_ISREG(out->st_mode))
		out->st_size = (off_t)sb_file_plain_size((uint64_t)out->st_size);
	else if (S_ISLNK(out->st_mode))
		out->st_size = symlink_len(st, r.path);
	return 0;
}

int sb_store_unlink(struct sb_store *st, const char *path)
{
	struct resolved r;
	struct stat sb;
	int rc = resolve(st, &r, path);

	if (rc)
		return rc;
	if (fstatat(st->rootfd, r.path, &sb, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (S_ISDIR(sb.st_mode))
		return -EISDIR;
	if (unlinkat(st->rootfd, r.path, 0))
		return -errno;
	return sb_bname_del_sidecar(st, r.path);
}

/* 1 when a backing entry is the user's (not the store's own). */
static int user_entry(const char *name)
{
	enum sb_name_kind k = sb_names_kind(name);

	return k == SB_NAME_SHORT || k == SB_NAME_LONG || k == SB_NAME_INVALID;
}

static int scan_dir(const struct sb_store *st, const char *dirpath,
		    int remove)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = openat(st->rootfd, dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (user_entry(de->d_name))
			rc = -ENOTEMPTY;
		else if (remove &&
			 !(rc = sb_path_join(path, sizeof(path), dirpath,
					     de->d_name)) &&
			 unlinkat(st->rootfd, path, 0) && errno != ENOENT)
			rc = -errno;
	}
	closedir(d);
	return rc;
}

int sb_store_clear_dir(const struct sb_store *st, const char *dirpath)
{
	int rc = scan_dir(st, dirpath, 0);

	if (!rc)
		rc = scan_dir(st, dirpath, 1);
	return rc;
}

int sb_store_rmdir(struct sb_store *st, const char *path)
{
	struct resolved r;
	int rc = resolve(st, &r, path);

	if (!rc && !strcmp(r.path, "."))
		rc = -EBUSY;
	if (!rc)
		rc = sb_store_clear_dir(st, r.path);
	if (!rc && unlinkat(st->rootfd, r.path, AT_REMOVEDIR))
		rc = -errno;
	if (!rc)
		rc = sb_bname_del_sidecar(st, r.path);
	return rc;
}

int sb_store_backing_path(struct sb_store *st, char *buf, size_t size,
			  const char *path)
{
	struct resolved r;
	int rc = resolve(st, &r, path);
	int n;

	if (rc)
		return rc;
	n = snprintf(buf, size, "%s", r.path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int append_comp(char *dir, size_t size, const char *comp)
{
	char tmp[PATH_MAX];

	memcpy(tmp, dir, sizeof(tmp));
	return sb_path_join(dir, size, tmp, comp);
}

int sb_store_plain_path(struct sb_store *st, char *buf, size_t size,
			const char *backing)
{
	char dir[PATH_MAX] = ".", comp[SB_BNAME_MAX], name[SB_NAME_MAX + 1];
	const char *p = backing, *c;
	uint8_t id[SB_DIRID_LEN], next[SB_DIRID_LEN];
	size_t len, nlen, used = 0;
	int rc = 0;

	sb_names_root_id(id);
	buf[0] = '\0';
	while (!rc && (len = next_comp(&p, &c))) {
		if (len >= sizeof(comp))
			return -EINVAL;
		memcpy(comp, c, len);
		comp[len] = '\0';
		rc = sb_bname_read(st, name, &nlen, st->rootfd, dir, id, comp);
		if (rc == 1)
			return -EINVAL;
		if (!rc && used + nlen + 2 > size)
			rc = -ENAMETOOLONG;
		if (rc)
			break;
		if (used)
			buf[used++] = '/';
		memcpy(buf + used, name, nlen + 1);
		used += nlen;
		rc = sb_names_dirid(st->names, next, id, name, nlen);
		memcpy(id, next, SB_DIRID_LEN);
		if (!rc)
			rc = append_comp(dir, sizeof(dir), comp);
	}
	return rc;
}

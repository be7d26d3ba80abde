#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/fileio.h"
#include "crypto/crypto.h"
#include "crypto/err.h"

static int fail(const char *path, const char *what)
{
	return sb_err_set(-errno, "%s %s: %s", what, path, strerror(errno));
}

int sb_file_read(const char *path, uint8_t **buf, size_t *len, size_t max)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return fail(path, "cannot open");
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = S_ISREG(st.st_mode) ? fail(path, "cannot stat")
			: sb_err_set(-EINVAL, "%s is not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = sb_err_set(-EFBIG, "%s is too large", path);
		goto out;
	}
	if (!(b = malloc((size_t)st.st_size + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n <= 0) {
			rc = n ? fail(path, "cannot read")
			       : sb_err_set(-EIO, "%s shrank while read", path);
			goto out;
		}
		got += (size_t)n;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	b = NULL;
out:
	free(b);
	close(fd);
	return rc;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + 1), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(dir, "cannot open");
	if (fsync(fd))
		rc = fail(dir, "cannot sync");
	close(fd);
	return rc;
}

int sb_file_create(const char *path, const void *buf, size_t len,
		   mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      mode);
	int rc;

	if (fd < 0)
		return fail(path, "cannot create");
	rc = write_all(fd, buf, len);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (rc) {
		unlink(path);
		return sb_err_set(rc, "cannot write %s: %s", path, strerror(-rc));
	}
	return 0;
}

int sb_file_replace(const char *path, const void *buf, size_t len,
		    mode_t mode)
{
	char tmp[PATH_MAX];
	uint8_t rnd[8];
	int rc;

	sb_random_id(rnd, sizeof(rnd));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%02x%02x%02x%02x", path,
			     rnd[0], rnd[1], rnd[2], rnd[3]) >= sizeof(tmp))
		return sb_err_set(-ENAMETOOLONG, "%s: name too long", path);
	if ((rc = sb_file_create(tmp, buf, len, mode)))
		return rc;
	if (rename(tmp, path)) {
		rc = fail(path, "cannot replace");
		unlink(tmp);
		return rc;
	}
	return fsync_dir_of(path);
}

int sb_mkdirs(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	size_t i, n = strlen(path);

	if (n >= sizeof(p))
		return sb_err_set(-ENAMETOOLONG, "%s: name too long", path);
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, mode) && errno != EEXIST)
			return fail(p, "cannot create");
		p[i] = path[i];
	}
	return 0;
}

static int remove_at(int dirfd, const char *name, dev_t dev);

static int remove_children(int fd, dev_t dev)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = remove_at(dirfd(d), de->d_name, dev) ?: rc;
	closedir(d);
	return rc;
}

static int remove_at(int dirfd, const char *name, dev_t dev)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) ? -errno : 0;
	if (st.st_dev != dev)
		return -EXDEV;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	remove_children(fd, dev);
	return unlinkat(dirfd, name, AT_REMOVEDIR) ? -errno : 0;
}

int sb_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return -errno;
	return remove_at(AT_FDCWD, path, st.st_dev);
}

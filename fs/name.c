#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"
#include "fs/backing.h"

#define SIDECAR_SUFFIX ".n"

int sb_path_join(char *buf, size_t size, const char *dir, const char *name)
{
	int n;

	if (!strcmp(dir, "."))
		n = snprintf(buf, size, "%s", name);
	else
		n = snprintf(buf, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

void sb_path_dirname(char *buf, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		snprintf(buf, size, ".");
		return;
	}
	n = (size_t)(slash - path);
	if (n >= size)
		n = size - 1;
	memcpy(buf, path, n);
	buf[n] = '\0';
}

int sb_bname_make(const struct sb_store *st, char *backing, char *enc,
		  const uint8_t dirid[SB_DIRID_LEN], const char *name,
		  size_t len)
{
	int rc;

	if (len > SB_NAME_MAX)
		return -ENAMETOOLONG;
	rc = sb_names_encrypt(st->names, enc, dirid, name, len);
	if (rc)
		return rc;
	return sb_names_backing(backing, enc);
}

static int sidecar_path(char *buf, size_t size, const char *path)
{
	int n = snprintf(buf, size, "%s" SIDECAR_SUFFIX, path);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Reads a sidecar into enc (room for SB_NAMES_ENC_MAX), NUL-terminated. */
static int sidecar_read(int dirfd, char *enc, size_t *len, const char *path)
{
	char sc[PATH_MAX];
	ssize_t n;
	int fd, rc;

	rc = sidecar_path(sc, sizeof(sc), path);
	if (rc)
		return rc;
	fd = openat(dirfd, sc, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, enc, SB_NAMES_ENC_MAX);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return rc;
	if (n >= SB_NAMES_ENC_MAX)
		return sb_err_set(SB_EFORMAT, "sidecar %s too long", sc);
	enc[n] = '\0';
	*len = (size_t)n;
	return 0;
}

int sb_bname_read(const struct sb_store *st, char *name, size_t *len,
		  int dirfd, const char *dirpath, const uint8_t dirid[SB_DIRID_LEN],
		  const char *backing)
{
	char enc[SB_NAMES_ENC_MAX + 1];
	char path[PATH_MAX];
	size_t enclen;
	int rc;

	switch (sb_names_kind(backing)) {
	case SB_NAME_SHORT:
		return sb_names_decrypt(st->names, name, len, dirid, backing,
					strlen(backing));
	case SB_NAME_LONG:
		break;
	case SB_NAME_INVALID:
		return sb_err_set(SB_EFORMAT, "not an encrypted name");
	default:
		return 1;
	}
	rc = sb_path_join(path, sizeof(path), dirpath, backing);
	if (rc)
		return rc;
	rc = sidecar_read(dirfd, enc, &enclen, path);
	if (rc == -ENOENT)
		return sb_err_set(SB_EFORMAT, "long name without its sidecar");
	if (rc)
		return rc;
	rc = sb_names_check_long(backing, enc, enclen);
	if (rc)
		return rc;
	return sb_names_decrypt(st->names, name, len, dirid, enc, enclen);
}

static int sidecar_same(const struct sb_store *st, const char *path,
			const char *enc)
{
	char old[SB_NAMES_ENC_MAX + 1];
	size_t len;

	if (sidecar_read(st->rootfd, old, &len, path))
		return 0;
	return len == strlen(enc) && !memcmp(old, enc, len);
}

int sb_bname_put_sidecar(const struct sb_store *st, const char *path,
			 const char *enc)
{
	char sc[PATH_MAX];
	size_t len = strlen(enc);
	ssize_t n;
	int fd, rc;

	if (sidecar_same(st, path, enc))
		return 0;
	rc = sidecar_path(sc, sizeof(sc), path);
	if (rc)
		return rc;
	fd = openat(st->rootfd, sc, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, enc, len);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	else if (fsync(fd))
		rc = -errno;
	close(fd);
	if (rc)
		unlinkat(st->rootfd, sc, 0);
	return rc;
}

int sb_bname_del_sidecar(const struct sb_store *st, const char *path)
{
	const char *base = strrchr(path, '/');
	char sc[PATH_MAX];
	int rc;

	base = base ? base + 1 : path;
	if (sb_names_kind(base) != SB_NAME_LONG)
		return 0;
	rc = sidecar_path(sc, sizeof(sc), path);
	if (rc)
		return rc;
	if (unlinkat(st->rootfd, sc, 0) && errno != ENOENT)
		return -errno;
	return 0;
}

int sb_store_errno(int rc)
{
	if (rc >= 0)
		return 0;
	if (rc > SB_EBASE)
		return rc;
	return -EIO;
}

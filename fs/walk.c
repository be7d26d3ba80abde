#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"
#include "fs/backing.h"
#include "fs/file.h"

/* One directory being walked. */
struct wdir {
	const char *path;		/* backing path */
	const char *plain;		/* plaintext path ("" for the root) */
	uint8_t id[SB_DIRID_LEN];
};

struct walk {
	struct sb_store *st;
	int check;
	sb_store_walk_fn fn;
	void *arg;
};

static int walk_dir(struct walk *w, const struct wdir *d);

static int report(struct walk *w, const char *plain, const char *backing,
		  mode_t type, int error, const char *what)
{
	struct sb_store_entry e = { plain, backing, type, error, what };

	return w->fn(&e, w->arg);
}

static int join_plain(char *buf, size_t size, const char *dir,
		      const char *name)
{
	int n = *dir ? snprintf(buf, size, "%s/%s", dir, name) :
		       snprintf(buf, size, "%s", name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int check_file(struct walk *w, const char *path, char *msg,
		      size_t size, const char **what)
{
	struct sb_ofile of;
	struct stat sb;
	uint64_t bad = 0;
	int fd, rc;

	fd = openat(w->st->rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fstat(fd, &sb) ? -errno : sb_ofile_load(&of, w->st, fd, &sb);
	if (rc) {
		close(fd);
		*what = "header or size fails authentication";
		return rc;
	}
	rc = sb_ofile_verify(&of, &bad);
	if (rc == SB_EAUTH) {
		snprintf(msg, size, "block %llu fails authentication",
			 (unsigned long long)bad);
		*what = msg;
	}
	sb_ofile_release(&of);
	return rc;
}

static int check_link(struct walk *w, const char *path, const char **what)
{
	char enc[SB_SYMLINK_ENC_MAX + 1], target[SB_SYMLINK_MAX + 1];
	ssize_t n = readlinkat(w->st->rootfd, path, enc, sizeof(enc) - 1);
	size_t len;
	int rc;

	if (n < 0)
		return -errno;
	rc = sb_names_decrypt_target(w->st->names, target, &len, enc,
				     (size_t)n);
	if (rc)
		*what = "symlink target fails authentication";
	return rc;
}

static int check_marker(struct walk *w, const struct wdir *d)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	int fd, rc;

	rc = sb_path_join(path, sizeof(path), d->path, SB_STORE_MARKER);
	if (rc)
		return rc;
	fd = openat(w->st->rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return report(w, d->plain, d->path, S_IFDIR, SB_EFORMAT,
			      "directory marker missing");
	close(fd);
	rc = sb_store_read_marker(w->st, d->path, &buf, &len);
	free(buf);
	if (rc)
		return report(w, d->plain, d->path, S_IFDIR, rc,
			      "directory marker fails authentication");
	return 0;
}

/* Checks one named entry, reports it and descends into a directory. */
static int walk_entry(struct walk *w, const struct wdir *d,
		      const char *bname)
{
	char name[SB_NAME_MAX + 1], plain[PATH_MAX], path[PATH_MAX], msg[64];
	const char *what = NULL;
	struct wdir sub;
	struct stat sb;
	size_t len;
	int rc, err = 0;

	rc = sb_path_join(path, sizeof(path), d->path, bname);
	if (rc)
		return rc;
	err = sb_bname_read(w->st, name, &len, w->st->rootfd, d->path, d->id,
			    bname);
	if (err == 1)
		return 0;
	if (err) {
		snprintf(plain, sizeof(plain), "%s%s?%s", d->plain,
			 *d->plain ? "/" : "", bname);
		return report(w, plain, path, 0, err,
			      "name fails authentication");
	}
	rc = join_plain(plain, sizeof(plain), d->plain, name);
	if (rc)
		return rc;
	if (fstatat(w->st->rootfd, path, &sb, AT_SYMLINK_NOFOLLOW))
		return report(w, plain, path, 0, -errno, "cannot stat");
	if (S_ISREG(sb.st_mode) && w->check)
		err = check_file(w, path, msg, sizeof(msg), &what);
	else if (S_ISLNK(sb.st_mode))
		err = check_link(w, path, &what);
	rc = report(w, plain, path, sb.st_mode & S_IFMT, err, what);
	if (rc || !S_ISDIR(sb.st_mode))
		return rc;
	sub.path = path;
	sub.plain = plain;
	rc = sb_names_dirid(w->st->names, sub.id, d->id, name, len);
	return rc ? rc : walk_dir(w, &sub);
}

static int walk_dir(struct walk *w, const struct wdir *d)
{
	struct dirent *de;
	DIR *dir;
	int fd, rc = 0;

	if (strcmp(d->path, "."))
		rc = check_marker(w, d);
	if (rc)
		return rc;
	fd = openat(w->st->rootfd, d->path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while (!rc && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			rc = walk_entry(w, d, de->d_name);
	closedir(dir);
	return rc;
}

int sb_store_walk(struct sb_store *st, int check_blocks, sb_store_walk_fn fn,
		  void *arg)
{
	struct walk w = { st, check_blocks, fn, arg };
	struct wdir root = { ".", "", { 0 } };

	sb_names_root_id(root.id);
	return walk_dir(&w, &root);
}

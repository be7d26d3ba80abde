#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"
#include "fs/fsint.h"

/*
 * rename(): a file is one backing rename (its contents never depend on
 * its name). A directory's ID derives from its name, so renaming one makes
 * a new backing directory under the new name and moves every entry into
 * it, re-encrypting the names (recursively for subdirectories), then
 * removes the old one. Each step is an atomic backing rename, so a crash
 * leaves both directories with the entries split between them, every name
 * readable, nothing lost.
 */

/* One side of a rename. */
struct rside {
	struct sb_node *parent;
	const char *name;
	char path[PATH_MAX];
	char backing[SB_BNAME_MAX];
	char enc[SB_NAMES_ENC_MAX];
	int islong;
	int exists;
	struct stat sb;
};

static int side_init(struct sb_fs *fs, struct rside *s,
		     struct sb_node *parent, const char *name)
{
	int rc;

	s->parent = parent;
	s->name = name;
	rc = sb_fs_child_path(fs, parent, name, s->path, s->backing, s->enc,
			      &s->islong);
	if (rc)
		return rc;
	s->exists = !fstatat(fs->st->rootfd, s->path, &s->sb,
			     AT_SYMLINK_NOFOLLOW);
	if (!s->exists && errno != ENOENT)
		return -errno;
	return 0;
}

/* Moves n's link from a to b (n may be NULL: not known to the kernel). */
static void relink(struct sb_fs *fs, const struct stat *sb,
		   const struct rside *a, const struct rside *b)
{
	struct sb_node *n = sb_node_find(&fs->nodes, sb->st_dev, sb->st_ino);

	if (n)
		sb_node_move(&fs->nodes, n, a->parent, a->name,
			     strlen(a->name), b->parent, b->name,
			     strlen(b->name), b->backing, NULL, NULL);
}

static int file_exchange(struct sb_fs *fs, struct rside *o, struct rside *t)
{
	if (!t->exists)
		return -ENOENT;
	if (S_ISDIR(t->sb.st_mode))
		return -EINVAL;
	if (renameat2(fs->st->rootfd, o->path, fs->st->rootfd, t->path,
		      RENAME_EXCHANGE))
		return -errno;
	relink(fs, &o->sb, o, t);
	relink(fs, &t->sb, t, o);
	return 0;
}

/*
 * A file about to be renamed over may be opened an instant later through
 * a name the kernel resolved before the rename (as on a local file
 * system): keep a handle on it while the kernel knows the node.
 */
static void keep_ghost(struct sb_fs *fs, struct sb_node *victim,
		       const char *path)
{
	int fd = openat(fs->st->rootfd, path, O_PATH | O_NOFOLLOW |
			O_CLOEXEC);

	if (fd >= 0)
		sb_node_set_ghost(&fs->nodes, victim, fd);
}

/*
 * *held receives a descriptor of a file renamed over, for the caller to
 * close after the reply (the last close gives its blocks back: see
 * do_remove() in ops.c).
 */
static int file_rename(struct sb_fs *fs, struct rside *o, struct rside *t,
		       unsigned flags, int *held)
{
	struct sb_node *victim;
	int rc;

	if (t->exists && t->sb.st_dev == o->sb.st_dev &&
	    t->sb.st_ino == o->sb.st_ino)
		return 0;	/* two links of one file: POSIX does nothing */
	if (flags & RENAME_EXCHANGE)
		return file_exchange(fs, o, t);
	if (t->islong && (rc = sb_bname_put_sidecar(fs->st, t->path, t->enc)))
		return rc;
	victim = t->exists ? sb_node_find(&fs->nodes, t->sb.st_dev,
					  t->sb.st_ino) : NULL;
	if (victim && S_ISREG(victim->type))
		keep_ghost(fs, victim, t->path);
	if (t->exists && !(flags & RENAME_NOREPLACE))
		*held = openat(fs->st->rootfd, t->path, O_PATH | O_NOFOLLOW |
			       O_CLOEXEC);
	if (renameat2(fs->st->rootfd, o->path, fs->st->rootfd, t->path,
		      flags & RENAME_NOREPLACE)) {
		rc = -errno;
		if (t->islong && !t->exists)
			sb_bname_del_sidecar(fs->st, t->path);
		return rc;
	}
	if (o->islong)
		sb_bname_del_sidecar(fs->st, o->path);
	if (victim)
		sb_node_drop_link(&fs->nodes, victim, t->parent, t->name,
				  strlen(t->name));
	relink(fs, &o->sb, o, t);
	return 0;
}

/* A new backing directory like sb (mode, owner) at path, with marker. */
static int dir_like(struct sb_fs *fs, const char *path, const struct stat *sb)
{
	if (mkdirat(fs->st->rootfd, path, sb->st_mode & 07777))
		return -errno;
	if (fchownat(fs->st->rootfd, path, sb->st_uid, sb->st_gid,
		     AT_SYMLINK_NOFOLLOW) && fs->uid == 0)
		return -errno;
	return sb_store_put_marker(fs->st, path);
}

static void keep_times(struct sb_fs *fs, const char *path,
		       const struct stat *sb)
{
	struct timespec ts[2] = { sb->st_atim, sb->st_mtim };

	utimensat(fs->st->rootfd, path, ts, AT_SYMLINK_NOFOLLOW);
}

static int drop_dir(struct sb_fs *fs, const char *path)
{
	int rc = sb_store_clear_dir(fs->st, path);

	if (!rc && unlinkat(fs->st->rootfd, path, AT_REMOVEDIR))
		rc = -errno;
	if (!rc)
		rc = sb_bname_del_sidecar(fs->st, path);
	return rc;
}

/* Source and target directory of a tree move, with their IDs. */
struct mdir {
	const char *from;
	const char *to;
	const uint8_t *from_id;
	const uint8_t *to_id;
	struct sb_node *node;	/* the directory's node, or NULL */
};

static int move_tree(struct sb_fs *fs, const struct mdir *m);

static int move_subdir(struct sb_fs *fs, const struct mdir *m,
		       const char *name, const char *from, const char *to,
		       const char *nb, const struct stat *sb)
{
	uint8_t fid[SB_DIRID_LEN], tid[SB_DIRID_LEN];
	struct mdir sub = { from, to, fid, tid, NULL };
	struct stat nsb;
	size_t len = strlen(name);
	int rc;

	rc = sb_names_dirid(fs->st->names, fid, m->from_id, name, len);
	if (!rc)
		rc = sb_names_dirid(fs->st->names, tid, m->to_id, name, len);
	if (rc)
		return -EIO;
	sub.node = sb_node_find(&fs->nodes, sb->st_dev, sb->st_ino);
	rc = dir_like(fs, to, sb);
	if (!rc)
		rc = move_tree(fs, &sub);
	if (rc)
		return rc;
	keep_times(fs, to, sb);
	rc = drop_dir(fs, from);
	if (!rc && fstatat(fs->st->rootfd, to, &nsb, AT_SYMLINK_NOFOLLOW))
		rc = -errno;
	if (!rc && sub.node && m->node)
		sb_node_move(&fs->nodes, sub.node, m->node, name, len,
			     m->node, name, len, nb, tid, &nsb);
	return rc;
}

/* Moves one entry (backing name b) of m->from; 1 when it was moved. */
static int move_entry(struct sb_fs *fs, const struct mdir *m, const char *b)
{
	char name[SB_NAME_MAX + 1], nb[SB_BNAME_MAX], enc[SB_NAMES_ENC_MAX];
	char from[PATH_MAX], to[PATH_MAX];
	struct sb_node *n;
	struct stat sb;
	size_t len;
	int rc, islong;

	rc = sb_bname_read(fs->st, name, &len, fs->st->rootfd, m->from,
			   m->from_id, b);
	if (rc)
		return 0;	/* damaged names and internal files stay */
	rc = sb_bname_make(fs->st, nb, enc, m->to_id, name, len);
	if (rc < 0)
		return rc;
	islong = rc;
	rc = sb_path_join(from, sizeof(from), m->from, b);
	if (!rc)
		rc = sb_path_join(to, sizeof(to), m->to, nb);
	if (!rc && fstatat(fs->st->rootfd, from, &sb, AT_SYMLINK_NOFOLLOW))
		rc = -errno;
	if (!rc && islong)
		rc = sb_bname_put_sidecar(fs->st, to, enc);
	if (rc)
		return rc;
	if (S_ISDIR(sb.st_mode)) {
		rc = move_subdir(fs, m, name, from, to, nb, &sb);
		return rc ? rc : 1;
	}
	if (renameat(fs->st->rootfd, from, fs->st->rootfd, to))
		return -errno;
	sb_bname_del_sidecar(fs->st, from);
	n = m->node ? sb_node_find(&fs->nodes, sb.st_dev, sb.st_ino) : NULL;
	if (n)
		sb_node_move(&fs->nodes, n, m->node, name, len, m->node, name,
			     len, nb, NULL, NULL);
	return 1;
}

/* One pass over m->from; *moved counts what it moved. */
static int move_pass(struct sb_fs *fs, const struct mdir *m, int *moved)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = openat(fs->st->rootfd, m->from, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (rc >= 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		rc = move_entry(fs, m, de->d_name);
		if (rc > 0)
			(*moved)++;
	}
	closedir(d);
	return rc < 0 ? rc : 0;
}

static int move_tree(struct sb_fs *fs, const struct mdir *m)
{
	int moved, rc;

	/* Moving entries out of a directory while reading it may hide
	 * some from readdir: repeat until a pass finds nothing to move. */
	do {
		moved = 0;
		rc = move_pass(fs, m, &moved);
	} while (!rc && moved);
	return rc;
}

static int replace_dir_target(struct sb_fs *fs, struct rside *t,
			      unsigned flags)
{
	struct sb_node *victim;
	int rc;

	if (!t->exists)
		return 0;
	if (flags & RENAME_NOREPLACE)
		return -EEXIST;
	if (!S_ISDIR(t->sb.st_mode))
		return -ENOTDIR;
	rc = sb_store_clear_dir(fs->st, t->path);
	if (rc)
		return rc;
	if (unlinkat(fs->st->rootfd, t->path, AT_REMOVEDIR)) {
		rc = -errno;
		sb_store_put_marker(fs->st, t->path);
		return rc;
	}
	victim = sb_node_find(&fs->nodes, t->sb.st_dev, t->sb.st_ino);
	if (victim)
		sb_node_drop_link(&fs->nodes, victim, t->parent, t->name,
				  strlen(t->name));
	return 0;
}

static int dir_rename(struct sb_fs *fs, struct rside *o, struct rside *t,
		      unsigned flags)
{
	uint8_t fid[SB_DIRID_LEN], tid[SB_DIRID_LEN];
	struct mdir m = { o->path, t->path, fid, tid, NULL };
	struct stat nsb;
	int rc;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	rc = replace_dir_target(fs, t, flags);
	if (!rc)
		rc = sb_names_dirid(fs->st->names, fid, o->parent->dirid,
				    o->name, strlen(o->name));
	if (!rc)
		rc = sb_names_dirid(fs->st->names, tid, t->parent->dirid,
				    t->name, strlen(t->name));
	if (!rc && t->islong)
		rc = sb_bname_put_sidecar(fs->st, t->path, t->enc);
	if (rc)
		return rc;
	m.node = sb_node_find(&fs->nodes, o->sb.st_dev, o->sb.st_ino);
	rc = dir_like(fs, t->path, &o->sb);
	if (!rc)
		rc = move_tree(fs, &m);
	if (rc)
		return rc;
	keep_times(fs, t->path, &o->sb);
	rc = drop_dir(fs, o->path);
	if (!rc && fstatat(fs->st->rootfd, t->path, &nsb, AT_SYMLINK_NOFOLLOW))
		rc = -errno;
	if (!rc && m.node)
		sb_node_move(&fs->nodes, m.node, o->parent, o->name,
			     strlen(o->name), t->parent, t->name,
			     strlen(t->name), t->backing, tid, &nsb);
	return rc;
}

static int do_rename(struct sb_fs *fs, struct sb_node *p1, const char *name,
		     struct sb_node *p2, const char *newname, unsigned flags,
		     int *isdir, int *held)
{
	struct rside o, t;
	int rc;

	rc = side_init(fs, &o, p1, name);
	if (!rc)
		rc = side_init(fs, &t, p2, newname);
	if (rc)
		return rc;
	if (!o.exists)
		return -ENOENT;
	if (S_ISDIR(o.sb.st_mode) && !*isdir) {
		*isdir = 1;
		return -EAGAIN;
	}
	if (S_ISDIR(o.sb.st_mode))
		return dir_rename(fs, &o, &t, flags);
	if (t.exists && S_ISDIR(t.sb.st_mode) && !(flags & RENAME_EXCHANGE))
		return -EISDIR;
	return file_rename(fs, &o, &t, flags, held);
}

void sb_fs_rename(fuse_req_t req, fuse_ino_t pino, const char *name,
		  fuse_ino_t npino, const char *newname, unsigned int flags)
{
	struct sb_fs *fs = sb_fs_of(req);
	struct sb_node *p1 = sb_fs_node(fs, pino), *p2 = sb_fs_node(fs, npino);
	int isdir = 0, held = -1, rc;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_rwlock_rdlock(&fs->nodes.tree);
	rc = do_rename(fs, p1, name, p2, newname, flags, &isdir, &held);
	pthread_rwlock_unlock(&fs->nodes.tree);
	if (rc == -EAGAIN && isdir) {
		/* A directory: its subtree's paths change, exclusively. */
		pthread_rwlock_wrlock(&fs->nodes.tree);
		rc = do_rename(fs, p1, name, p2, newname, flags, &isdir,
			       &held);
		pthread_rwlock_unlock(&fs->nodes.tree);
	}
	if (rc < 0 && rc <= SB_EBASE)
		sb_fs_log(fs, "rename of %s failed: %s", name,
			  sb_err_msg(rc));
	fuse_reply_err(req, -sb_fs_err(fs, NULL, rc));
	if (held >= 0)
		close(held);
}

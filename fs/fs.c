#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/err.h"
#include "fs/fsint.h"

#define MAX_DEFAULT_THREADS 16
#define DEFAULT_TIMEOUT 30.0
#define OPTS_MAX 4096

/*
 * One worker per CPU and one more, for a request that waits on the disk:
 * sealing and opening blocks is CPU work, and each further worker only
 * takes a 1 MiB write of a streamed file out of /dev/fuse to wait with
 * it. On two CPUs a 1 GiB `dd` into the mount took a median 1.21 s with
 * 3 workers and 1.45 s with 8 (1.20 s with 2, but 512-byte appends,
 * `rm -rf` and reading many files were slower; docs/bench.md).
 */
static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n >= MAX_DEFAULT_THREADS)
		return MAX_DEFAULT_THREADS;
	return (unsigned)n + 1;
}

static int add_fuse_opt(char *fuse, size_t size, const char *o)
{
	size_t used = strlen(fuse);
	int n = snprintf(fuse + used, size - used, ",%s", o);

	if (n < 0 || (size_t)n >= size - used)
		return sb_err_set(-EINVAL, "options too long");
	return 0;
}

/* Takes our own options out of opts; the rest is appended to fuse. */
static int parse_opts(struct sb_fs *fs, char *fuse, size_t size,
		      const char *opts)
{
	char buf[OPTS_MAX], *save = NULL, *o, *end;
	int rc;

	if (!opts)
		return 0;
	if (snprintf(buf, sizeof(buf), "%s", opts) >= (int)sizeof(buf))
		return sb_err_set(-EINVAL, "options too long");
	for (o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strncmp(o, "threads=", 8)) {
			fs->threads = (unsigned)strtoul(o + 8, &end, 10);
			if (*end || !fs->threads || fs->threads > 256)
				return sb_err_set(-EINVAL, "bad %s", o);
			continue;
		}
		if (!strcmp(o, "writeback") || !strcmp(o, "nowriteback")) {
			fs->writeback = o[0] != 'n';
			continue;
		}
		if (!strncmp(o, "timeout=", 8)) {
			fs->timeout = strtod(o + 8, &end);
			if (*end || fs->timeout < 0)
				return sb_err_set(-EINVAL, "bad %s", o);
			continue;
		}
		if (!strcmp(o, "allow_other") || !strcmp(o, "allow_root"))
			fs->shared = 1;
		rc = add_fuse_opt(fuse, size, o);
		if (rc)
			return rc;
	}
	return 0;
}

static int session_new(struct sb_fs *fs, const char *fuse_opts, int debug)
{
	char *argv[] = { "sealbox", "-o", (char *)fuse_opts, "-d", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, argv);

	fs->se = fuse_session_new(&args, &sb_fs_ops, sizeof(sb_fs_ops), fs);
	fuse_opt_free_args(&args);
	if (!fs->se)
		return sb_err_set(-EINVAL, "cannot start a FUSE session "
				  "(bad -o option?)");
	return 0;
}

int sb_fs_new(struct sb_fs **out, struct sb_store *st, const char *mountpoint,
	      const char *options, const struct sb_fs_config *cfg)
{
	char fuse_opts[OPTS_MAX];
	struct sb_fs *fs = calloc(1, sizeof(*fs));
	struct stat sb;
	int rc;

	if (!fs)
		return -ENOMEM;
	fs->st = st;
	fs->threads = default_threads();
	fs->timeout = DEFAULT_TIMEOUT;
	fs->writeback = 1;
	fs->syslog = cfg ? cfg->syslog : 0;
	fs->uid = geteuid();
	fs->gid = getegid();
	snprintf(fuse_opts, sizeof(fuse_opts), "fsname=%s,subtype=sealbox",
		 sb_store_root(st));
	rc = parse_opts(fs, fuse_opts, sizeof(fuse_opts), options);
	/*
	 * Shared with other users, the kernel checks permissions (the daemon
	 * may run as root). Otherwise only the daemon's own user reaches the
	 * mount and the backing file system checks for it; without
	 * default_permissions the kernel does not ask for a directory's
	 * attributes again after every change in it before the next lookup.
	 */
	if (!rc && fs->shared)
		rc = add_fuse_opt(fuse_opts, sizeof(fuse_opts),
				  "default_permissions");
	if (!rc && fstat(st->rootfd, &sb))
		rc = -errno;
	if (!rc)
		rc = sb_nodes_init(&fs->nodes, sb.st_dev, sb.st_ino);
	if (rc) {
		free(fs);
		return rc;
	}
	rc = session_new(fs, fuse_opts, cfg && cfg->debug);
	if (!rc && fuse_session_mount(fs->se, mountpoint))
		rc = sb_err_set(-EIO, "cannot mount on %s", mountpoint);
	if (rc) {
		sb_fs_free(fs);
		return rc;
	}
	fs->mounted = 1;
	*out = fs;
	return 0;
}

int sb_fs_run(struct sb_fs *fs)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int rc;

	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, fs->threads);
	/* Workers live until the unmount: libfuse ends a worker that
	 * finds more than this many idle, and one ended after each burst
	 * of writes was started again for the next, with a new 1 MiB
	 * request buffer to fault in (perf sched, session 8). */
	fuse_loop_cfg_set_idle_threads(cfg, fs->threads);
	if (fuse_set_signal_handlers(fs->se)) {
		fuse_loop_cfg_destroy(cfg);
		return sb_err_set(-EIO, "cannot set signal handlers");
	}
	/* Modes are the caller's (the kernel applied its umask). */
	umask(0);
	rc = fuse_session_loop_mt(fs->se, cfg);
	fuse_remove_signal_handlers(fs->se);
	fuse_loop_cfg_destroy(cfg);
	return rc < 0 ? rc : 0;
}

void sb_fs_exit(struct sb_fs *fs)
{
	fuse_session_exit(fs->se);
}

static void close_open(struct sb_node *n, void *arg)
{
	(void)arg;
	if (!n->of)
		return;
	if (n->of->dirty && !n->of->rdonly)
		sb_ofile_refresh_meta(n->of);
	sb_ofile_release(n->of);
	free(n->of);
	n->of = NULL;
}

void sb_fs_free(struct sb_fs *fs)
{
	if (!fs)
		return;
	if (fs->se) {
		if (fs->mounted)
			fuse_session_unmount(fs->se);
		fuse_session_destroy(fs->se);
	}
	if (fs->nodes.tab) {
		sb_nodes_each(&fs->nodes, close_open, NULL);
		sb_nodes_release(&fs->nodes);
	}
	free(fs);
}

/* What invalidating a path has to tell the kernel. */
struct inval {
	fuse_ino_t parent;	/* 0: nothing cached */
	fuse_ino_t node;	/* 0: no node */
	const char *name;
	size_t len;
};

/* Finds the deepest cached node on the way to path. */
static void inval_find(struct sb_fs *fs, const char *path, struct inval *iv)
{
	struct sb_node *cur = &fs->nodes.root, *n;
	const char *p = path, *name;
	size_t len;

	memset(iv, 0, sizeof(*iv));
	for (;;) {
		while (*p == '/')
			p++;
		name = p;
		len = strcspn(p, "/");
		if (!len)
			return;
		p += len;
		iv->parent = sb_fs_ino(fs, cur);
		iv->name = name;
		iv->len = len;
		n = sb_node_child(&fs->nodes, cur, name, len);
		iv->node = n ? sb_fs_ino(fs, n) : 0;
		if (!n || !S_ISDIR(n->type))
			return;
		cur = n;
	}
}

/* Drops a link whose backing entry is gone or is another inode now. */
static void inval_unlink(struct sb_fs *fs, const struct inval *iv)
{
	struct sb_node *parent = sb_fs_node(fs, iv->parent);
	struct sb_node *n = sb_fs_node(fs, iv->node);
	char name[SB_NAME_MAX + 1], path[PATH_MAX], backing[SB_BNAME_MAX];
	char enc[SB_NAMES_ENC_MAX];
	struct stat sb;
	int islong;

	if (iv->len > SB_NAME_MAX)
		return;
	memcpy(name, iv->name, iv->len);
	name[iv->len] = '\0';
	pthread_rwlock_rdlock(&fs->nodes.tree);
	if (!sb_fs_child_path(fs, parent, name, path, backing, enc, &islong) &&
	    (fstatat(fs->st->rootfd, path, &sb, AT_SYMLINK_NOFOLLOW) ||
	     sb.st_ino != n->ino || sb.st_dev != n->dev))
		sb_node_drop_link(&fs->nodes, n, parent, name, iv->len);
	pthread_rwlock_unlock(&fs->nodes.tree);
}

int sb_fs_invalidate(struct sb_fs *fs, const char *path)
{
	struct inval iv;
	int rc = 0, r;

	inval_find(fs, path, &iv);
	if (!iv.parent)
		return 0;
	if (iv.node) {
		r = fuse_lowlevel_notify_inval_inode(fs->se, iv.node, 0, 0);
		if (r && r != -ENOENT)
			rc = r;
		inval_unlink(fs, &iv);
	}
	r = fuse_lowlevel_notify_inval_entry(fs->se, iv.parent, iv.name,
					     iv.len);
	if (r && r != -ENOENT)
		rc = r;
	r = fuse_lowlevel_notify_inval_inode(fs->se, iv.parent, 0, 0);
	if (r && r != -ENOENT && !rc)
		rc = r;
	return rc;
}

#ifndef SB_CHECKOUT_DISK_H
#define SB_CHECKOUT_DISK_H

/*
 * Internal to sync/ (checkout.c, checkout_disk.c): one checkout run.
 * checkout.c plans it (struct co and its ops, from the diff of two
 * trees) and looks at the disk (sb_checkout_classify()); checkout_disk.c
 * carries the ops out: writes in durable batches, removals, the writes
 * that waited for them, and the changed directories fsynced and
 * reported. Owned by checkout.c, which fills struct co and frees all it
 * holds (co_free()). Errors: 0 or a negative errno / SB_E* code with a
 * message (crypto/err.h).
 */

#include <limits.h>
#include <sys/stat.h>

#include <git2.h>

#include "sync/checkout.h"

#define TPATH_MAX (3 * PATH_MAX + 1)

/* What a store path is. */
enum kind {
	K_ENTRY,	/* a file or symlink of the user (encrypted name) */
	K_MARKER,	/* ".sbdir": its directory */
	K_SIDECAR,	/* "~hash.n": its long-named entry */
	K_META,		/* ".sealbox/...", anything else of the store's */
};

/* What is on disk at an op's path, compared with from and to. */
enum state {
	S_ABSENT,
	S_FROM,		/* as in from: ours to replace or remove */
	S_TO,		/* already as in to */
	S_LOCAL,	/* changed here since: left alone */
	S_DIR,		/* a directory is there */
};

struct op {
	char *spath;
	git_oid from, to;
	git_filemode_t mode, from_mode;
	unsigned has_from:1, has_to:1, done:1, blocked:1;
	enum kind kind;
};

/*
 * A write waiting for its rename: temporary files are written in batches
 * and made durable with one syncfs() per batch (an fsync per file costs
 * milliseconds each), then renamed into place in the order they came.
 */
struct pend {
	struct op *o;
	char tmp[PATH_MAX];
	struct stat pre;	/* what was there when it was looked at */
	int had;
};

#define BATCH 512

struct co {
	git_repository *g;
	git_odb *odb;
	struct sb_store *st;
	struct sb_statcache *sc;
	int rootfd;
	git_tree *from, *to;
	struct op *ops;
	size_t n, alloc;
	char **dirs;		/* backing dirs whose entries changed */
	size_t ndirs, adirs;
	struct pend *pend;
	size_t npend;
	const char *to_hex;
	sb_checkout_fn changed;
	void *ctx;
	struct sb_checkout_result res;
};

/* Defined in checkout.c. */
enum kind sb_checkout_kind_of(const char *spath);
/* The directory part of spath into out, "." for none. */
void sb_checkout_dirname_of(char *out, size_t size, const char *spath);
/* Reports spath, as a plaintext path, to c->changed (if set). */
void sb_checkout_notify(struct co *c, const char *spath);
/* Records that the entries of the backing directory dir changed. */
int sb_checkout_dir_changed(struct co *c, const char *dir);
int sb_checkout_parent_changed(struct co *c, const char *spath);
/* The op for spath (c->ops sorted), or NULL. */
struct op *sb_checkout_find_op(struct co *c, const char *spath);
/* What is on disk at o's path (*out), with its stat in *st. */
int sb_checkout_classify(struct co *c, const struct op *o, struct stat *st,
			 enum state *out);

/* Defined in checkout_disk.c, called in this order by checkout.c. */
int sb_checkout_disk_writes(struct co *c);
int sb_checkout_disk_removals(struct co *c);
int sb_checkout_disk_blocked_writes(struct co *c);
int sb_checkout_disk_finish_dirs(struct co *c);

#endif

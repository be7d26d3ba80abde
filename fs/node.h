#ifndef SB_NODE_H
#define SB_NODE_H

/*
 * The inode table of a mount: one node per backing inode the kernel knows,
 * keyed by (st_dev, st_ino) as libfuse's passthrough_ll does, so hard links
 * are one node. A node holds no file descriptor: it knows the names it was
 * reached by (a link: parent node, plaintext name, backing name) and builds
 * backing paths from them. A directory also knows its directory ID.
 *
 * Locking: nodes->lock (a mutex) guards the table, the links and the
 * counts; every function here takes it itself. nodes->tree is held for
 * reading by every operation that builds a path and uses it, and for
 * writing by a directory rename (which changes the paths of a subtree).
 *
 * Lifetime: a node lives while the kernel holds a lookup count on it, a
 * child's link names it as parent, or a file handle is open on it.
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "crypto/names.h"
#include "fs/file.h"

struct sb_node;

struct sb_link {
	struct sb_link *next;
	struct sb_node *parent;
	size_t len;		/* plaintext name length */
	char *name;		/* plaintext name, NUL-terminated */
	char *backing;		/* backing name */
};

struct sb_node {
	struct sb_node *hnext;
	dev_t dev;
	ino_t ino;
	mode_t type;		/* S_IFMT bits */
	uint64_t nlookup;	/* the kernel's references */
	unsigned refs;		/* child links and open handles */
	struct sb_link *links;	/* names known for it; the first is used */
	uint8_t dirid[SB_DIRID_LEN];	/* directories */
	struct sb_ofile *of;	/* shared open-file state, or NULL */
	unsigned ofrefs;	/* handles sharing of */
	int logged;		/* damage already logged */
	int ghost;		/* O_PATH fd of a file renamed over while the
				   kernel still knows it, or -1 */
};

struct sb_nodes {
	pthread_mutex_t lock;
	pthread_rwlock_t tree;
	struct sb_node **tab;
	size_t nbuckets;
	size_t count;
	struct sb_node root;
};

int sb_nodes_init(struct sb_nodes *t, dev_t dev, ino_t ino);
/* Frees every node (after the session ended). */
void sb_nodes_release(struct sb_nodes *t);

/*
 * The node of (dev, ino), created when missing, with the link parent/name
 * added when missing, its lookup count raised by one. dirid: the ID of a
 * directory (ignored for other types). NULL on ENOMEM.
 */
struct sb_node *sb_node_get(struct sb_nodes *t, const struct stat *sb,
			    struct sb_node *parent, const char *name,
			    size_t len, const char *backing,
			    const uint8_t *dirid);

/* An existing node of (dev, ino), or NULL (no reference taken). */
struct sb_node *sb_node_find(struct sb_nodes *t, dev_t dev, ino_t ino);

/* Drops n lookups (FUSE forget). */
void sb_node_forget(struct sb_nodes *t, struct sb_node *n, uint64_t count);

/* Takes and drops a plain reference (open handles). */
void sb_node_ref(struct sb_nodes *t, struct sb_node *n);
void sb_node_unref(struct sb_nodes *t, struct sb_node *n);

/*
 * The backing path of n (its first link), "." for the root. -ESTALE when
 * n has no name left (unlinked), -ENAMETOOLONG.
 */
int sb_node_path(struct sb_nodes *t, const struct sb_node *n, char *buf,
		 size_t size);
/* The plaintext path of n ("" for the root), for log lines. */
int sb_node_plain(struct sb_nodes *t, const struct sb_node *n, char *buf,
		  size_t size);

/* Removes the link parent/name from n if it has it. */
void sb_node_drop_link(struct sb_nodes *t, struct sb_node *n,
		       const struct sb_node *parent, const char *name,
		       size_t len);

/*
 * Renames n's link oldparent/oldname to newparent/newname with backing
 * name nbacking (added when n had no such link). For a directory, dirid
 * is its new ID and sb (non-NULL) its new backing inode. -ENOMEM.
 */
int sb_node_move(struct sb_nodes *t, struct sb_node *n,
		 const struct sb_node *oldparent, const char *oldname,
		 size_t oldlen, struct sb_node *newparent,
		 const char *newname, size_t newlen, const char *nbacking,
		 const uint8_t *dirid, const struct stat *sb);

/*
 * Gives n the O_PATH fd of its backing file (closed with n, or at once
 * when n has one already).
 */
void sb_node_set_ghost(struct sb_nodes *t, struct sb_node *n, int fd);

/* Calls fn on every node (under the lock). */
void sb_nodes_each(struct sb_nodes *t,
		   void (*fn)(struct sb_node *n, void *arg), void *arg);

/* The node named name (len bytes) in parent, or NULL. */
struct sb_node *sb_node_child(struct sb_nodes *t,
			      const struct sb_node *parent,
			      const char *name, size_t len);

#endif

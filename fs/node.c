#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/backing.h"
#include "fs/node.h"

#define INITIAL_BUCKETS 4096
#define MAX_DEPTH 256

static size_t bucket(const struct sb_nodes *t, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;

	return (size_t)(h ^ h >> 29) & (t->nbuckets - 1);
}

int sb_nodes_init(struct sb_nodes *t, dev_t dev, ino_t ino)
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = INITIAL_BUCKETS;
	t->tab = calloc(t->nbuckets, sizeof(*t->tab));
	if (!t->tab)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	pthread_rwlock_init(&t->tree, NULL);
	t->root.dev = dev;
	t->root.ino = ino;
	t->root.type = S_IFDIR;
	t->root.nlookup = 2;
	t->root.ghost = -1;
	sb_names_root_id(t->root.dirid);
	return 0;
}

static void link_free(struct sb_link *l)
{
	free(l);
}

static void node_free_all(struct sb_node *n)
{
	struct sb_link *l, *next;

	if (n->ghost >= 0)
		close(n->ghost);
	for (l = n->links; l; l = next) {
		next = l->next;
		link_free(l);
	}
	free(n);
}

void sb_nodes_release(struct sb_nodes *t)
{
	struct sb_node *n, *next;
	size_t i;

	for (i = 0; i < t->nbuckets; i++)
		for (n = t->tab[i]; n; n = next) {
			next = n->hnext;
			node_free_all(n);
		}
	free(t->tab);
	t->tab = NULL;
	pthread_mutex_destroy(&t->lock);
	pthread_rwlock_destroy(&t->tree);
}

static struct sb_node *lookup_locked(struct sb_nodes *t, dev_t dev,
				     ino_t ino)
{
	struct sb_node *n;

	if (dev == t->root.dev && ino == t->root.ino)
		return &t->root;
	for (n = t->tab[bucket(t, dev, ino)]; n; n = n->hnext)
		if (n->dev == dev && n->ino == ino)
			return n;
	return NULL;
}

struct sb_node *sb_node_find(struct sb_nodes *t, dev_t dev, ino_t ino)
{
	struct sb_node *n;

	pthread_mutex_lock(&t->lock);
	n = lookup_locked(t, dev, ino);
	pthread_mutex_unlock(&t->lock);
	return n;
}

static void grow_locked(struct sb_nodes *t)
{
	size_t nb = t->nbuckets * 2, i, old = t->nbuckets;
	struct sb_node **tab = calloc(nb, sizeof(*tab)), **otab = t->tab;
	struct sb_node *n, *next;

	if (!tab)
		return;
	t->tab = tab;
	t->nbuckets = nb;
	for (i = 0; i < old; i++)
		for (n = otab[i]; n; n = next) {
			size_t b = bucket(t, n->dev, n->ino);

			next = n->hnext;
			n->hnext = tab[b];
			tab[b] = n;
		}
	free(otab);
}

static void hash_insert(struct sb_nodes *t, struct sb_node *n)
{
	size_t b = bucket(t, n->dev, n->ino);

	n->hnext = t->tab[b];
	t->tab[b] = n;
	if (++t->count > t->nbuckets * 2)
		grow_locked(t);
}

static void hash_remove(struct sb_nodes *t, struct sb_node *n)
{
	struct sb_node **p = &t->tab[bucket(t, n->dev, n->ino)];

	while (*p && *p != n)
		p = &(*p)->hnext;
	if (*p) {
		*p = n->hnext;
		t->count--;
	}
}

static void unref_locked(struct sb_nodes *t, struct sb_node *n);

/* Frees n when nothing refers to it any more. */
static void maybe_free(struct sb_nodes *t, struct sb_node *n)
{
	struct sb_link *l, *next;

	if (n == &t->root || n->nlookup || n->refs)
		return;
	hash_remove(t, n);
	for (l = n->links; l; l = next) {
		next = l->next;
		if (l->parent)
			unref_locked(t, l->parent);
		link_free(l);
	}
	if (n->ghost >= 0)
		close(n->ghost);
	free(n);
}

static void unref_locked(struct sb_nodes *t, struct sb_node *n)
{
	/* Iterative up the parent chain would be nicer; depth is small. */
	if (n->refs)
		n->refs--;
	maybe_free(t, n);
}

static struct sb_link *link_new(struct sb_node *parent, const char *name,
				size_t len, const char *backing)
{
	size_t blen = strlen(backing);
	struct sb_link *l = malloc(sizeof(*l) + len + 1 + blen + 1);

	if (!l)
		return NULL;
	l->next = NULL;
	l->parent = parent;
	l->len = len;
	l->name = (char *)(l + 1);
	memcpy(l->name, name, len);
	l->name[len] = '\0';
	l->backing = l->name + len + 1;
	memcpy(l->backing, backing, blen + 1);
	return l;
}

static struct sb_link **find_link(struct sb_node *n,
				  const struct sb_node *parent,
				  const char *name, size_t len)
{
	struct sb_link **p;

	for (p = &n->links; *p; p = &(*p)->next)
		if ((*p)->parent == parent && (*p)->len == len &&
		    !memcmp((*p)->name, name, len))
			return p;
	return NULL;
}

static int add_link(struct sb_node *n, struct sb_node *parent,
		    const char *name, size_t len, const char *backing)
{
	struct sb_link *l;

	if (find_link(n, parent, name, len))
		return 0;
	l = link_new(parent, name, len, backing);
	if (!l)
		return -ENOMEM;
	/* The newest name goes first: the one most likely to still exist. */
	l->next = n->links;
	n->links = l;
	parent->refs++;
	return 0;
}

struct sb_node *sb_node_get(struct sb_nodes *t, const struct stat *sb,
			    struct sb_node *parent, const char *name,
			    size_t len, const char *backing,
			    const uint8_t *dirid)
{
	struct sb_node *n;

	pthread_mutex_lock(&t->lock);
	n = lookup_locked(t, sb->st_dev, sb->st_ino);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			goto out;
		n->dev = sb->st_dev;
		n->ino = sb->st_ino;
		n->type = sb->st_mode & S_IFMT;
		n->ghost = -1;
		hash_insert(t, n);
	}
	if (S_ISDIR(n->type) && dirid)
		memcpy(n->dirid, dirid, SB_DIRID_LEN);
	if (n != &t->root && add_link(n, parent, name, len, backing)) {
		maybe_free(t, n);
		n = NULL;
		goto out;
	}
	n->nlookup++;
out:
	pthread_mutex_unlock(&t->lock);
	return n;
}

void sb_node_forget(struct sb_nodes *t, struct sb_node *n, uint64_t count)
{
	pthread_mutex_lock(&t->lock);
	n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
	maybe_free(t, n);
	pthread_mutex_unlock(&t->lock);
}

void sb_node_ref(struct sb_nodes *t, struct sb_node *n)
{
	pthread_mutex_lock(&t->lock);
	n->refs++;
	pthread_mutex_unlock(&t->lock);
}

void sb_node_unref(struct sb_nodes *t, struct sb_node *n)
{
	pthread_mutex_lock(&t->lock);
	unref_locked(t, n);
	pthread_mutex_unlock(&t->lock);
}

/* Fills buf from the right with the chain of names. */
static int build_path(struct sb_nodes *t, const struct sb_node *n, char *buf,
		      size_t size, int plain)
{
	const struct sb_node *chain[MAX_DEPTH];
	size_t depth = 0, used = 0, len, i;
	const char *s;

	for (; n != &t->root; n = n->links->parent) {
		if (!n->links || depth == MAX_DEPTH)
			return n->links ? -ENAMETOOLONG : -ESTALE;
		chain[depth++] = n;
	}
	if (!depth)
		return snprintf(buf, size, "%s", plain ? "" : "."), 0;
	for (i = depth; i-- > 0;) {
		s = plain ? chain[i]->links->name : chain[i]->links->backing;
		len = strlen(s);
		if (used + len + 2 > size)
			return -ENAMETOOLONG;
		if (used)
			buf[used++] = '/';
		memcpy(buf + used, s, len);
		used += len;
	}
	buf[used] = '\0';
	return 0;
}

int sb_node_path(struct sb_nodes *t, const struct sb_node *n, char *buf,
		 size_t size)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = build_path(t, n, buf, size, 0);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int sb_node_plain(struct sb_nodes *t, const struct sb_node *n, char *buf,
		  size_t size)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = build_path(t, n, buf, size, 1);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void sb_node_drop_link(struct sb_nodes *t, struct sb_node *n,
		       const struct sb_node *parent, const char *name,
		       size_t len)
{
	struct sb_link **p, *l;

	pthread_mutex_lock(&t->lock);
	p = find_link(n, parent, name, len);
	if (p) {
		l = *p;
		*p = l->next;
		n->refs++;	/* keep n while its parent may cascade */
		unref_locked(t, l->parent);
		link_free(l);
		n->refs--;
		maybe_free(t, n);
	}
	pthread_mutex_unlock(&t->lock);
}

static void rekey(struct sb_nodes *t, struct sb_node *n,
		  const struct stat *sb)
{
	if (n == &t->root || (n->dev == sb->st_dev && n->ino == sb->st_ino))
		return;
	hash_remove(t, n);
	n->dev = sb->st_dev;
	n->ino = sb->st_ino;
	hash_insert(t, n);
}

int sb_node_move(struct sb_nodes *t, struct sb_node *n,
		 const struct sb_node *oldparent, const char *oldname,
		 size_t oldlen, struct sb_node *newparent,
		 const char *newname, size_t newlen, const char *nbacking,
		 const uint8_t *dirid, const struct stat *sb)
{
	struct sb_link **p, *l, *nl;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	nl = link_new(newparent, newname, newlen, nbacking);
	if (!nl) {
		rc = -ENOMEM;
		goto out;
	}
	n->refs++;
	newparent->refs++;
	p = find_link(n, oldparent, oldname, oldlen);
	if (p) {
		l = *p;
		*p = l->next;
		unref_locked(t, l->parent);
		link_free(l);
	}
	p = find_link(n, newparent, newname, newlen);
	if (p) {
		l = *p;
		*p = l->next;
		unref_locked(t, l->parent);
		link_free(l);
	}
	nl->next = n->links;
	n->links = nl;
	if (dirid)
		memcpy(n->dirid, dirid, SB_DIRID_LEN);
	if (sb)
		rekey(t, n, sb);
	n->refs--;
	maybe_free(t, n);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void sb_node_set_ghost(struct sb_nodes *t, struct sb_node *n, int fd)
{
	pthread_mutex_lock(&t->lock);
	if (n->ghost < 0) {
		n->ghost = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&t->lock);
	if (fd >= 0)
		close(fd);
}

void sb_nodes_each(struct sb_nodes *t,
		   void (*fn)(struct sb_node *n, void *arg), void *arg)
{
	struct sb_node *n, *next;
	size_t i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets; i++)
		for (n = t->tab[i]; n; n = next) {
			next = n->hnext;
			fn(n, arg);
		}
	pthread_mutex_unlock(&t->lock);
}

struct sb_node *sb_node_child(struct sb_nodes *t,
			      const struct sb_node *parent,
			      const char *name, size_t len)
{
	struct sb_node *n;
	size_t i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets; i++)
		for (n = t->tab[i]; n; n = n->hnext)
			if (find_link(n, parent, name, len))
				goto out;
	n = NULL;
out:
	pthread_mutex_unlock(&t->lock);
	return n;
}

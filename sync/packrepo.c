#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "crypto/err.h"
#include "sync/packrepo.h"
#include "sync/packwrite.h"
#include "sync/repo_git.h"

/*
 * Blobs go straight into a spool (sb_packwrite_open_spool()): one pack
 * for the whole job, written as the files are read, nothing of their
 * bytes kept in memory. Trees and the commit go into a mempack (small)
 * and join the spool at sb_packrepo_write().
 *
 * Trees are built before the spool is a pack, and libgit2 checks that
 * every entry it puts in a tree exists (strict object creation): the
 * spool's ids are offered to the object database by a backend of its
 * own that knows their type and size and nothing else (no reads: nothing
 * reads a blob while a commit is built).
 */

struct spool_ent {
	git_oid id;
	size_t len;
	int used;
};

/* An open-addressing set of the spool's ids, at most half full. */
struct spool_set {
	struct spool_ent *v;
	size_t n, cap;		/* cap: a power of two */
};

struct spool_backend {
	git_odb_backend parent;
	struct spool_set set;
};

struct sb_packrepo {
	git_repository *repo;	/* the real one; its odb takes the pack */
	git_repository *git;	/* over the spool, the mempack, the objects */
	git_odb_backend *mp;	/* owned by git's odb */
	struct spool_backend *sb;	/* owned by git's odb */
	struct sb_packwrite *w;	/* the spool, once a blob is new */
	struct sb_oids added;	/* of the mempack: sb_packrepo_add() */
	char objects[PATH_MAX];
};

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

static size_t slot_of(const struct spool_set *s, const git_oid *id)
{
	size_t i = ((size_t)id->id[0] << 24 | (size_t)id->id[1] << 16 |
		    (size_t)id->id[2] << 8 | id->id[3]) & (s->cap - 1);

	while (s->v[i].used && !git_oid_equal(&s->v[i].id, id))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static const struct spool_ent *set_find(const struct spool_set *s,
					const git_oid *id)
{
	const struct spool_ent *e;

	if (!s->n)
		return NULL;
	e = &s->v[slot_of(s, id)];
	return e->used ? e : NULL;
}

static int set_grow(struct spool_set *s)
{
	struct spool_set g = { NULL, 0, s->cap ? 2 * s->cap : 1024 };
	size_t i;

	if (!(g.v = calloc(g.cap, sizeof(*g.v))))
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->v[i].used)
			g.v[slot_of(&g, &s->v[i].id)] = s->v[i];
	g.n = s->n;
	free(s->v);
	*s = g;
	return 0;
}

static int set_add(struct spool_set *s, const git_oid *id, size_t len)
{
	struct spool_ent *e;
	int rc;

	if (2 * (s->n + 1) > s->cap && (rc = set_grow(s)))
		return rc;
	e = &s->v[slot_of(s, id)];
	if (!e->used) {
		git_oid_cpy(&e->id, id);
		e->len = len;
		e->used = 1;
		s->n++;
	}
	return 0;
}

static void set_clear(struct spool_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int spool_exists(git_odb_backend *b, const git_oid *id)
{
	return set_find(&((struct spool_backend *)b)->set, id) != NULL;
}

static int spool_read_header(size_t *len, git_object_t *type,
			     git_odb_backend *b, const git_oid *id)
{
	const struct spool_ent *e =
		set_find(&((struct spool_backend *)b)->set, id);

	if (!e)
		return GIT_ENOTFOUND;
	*len = e->len;
	*type = GIT_OBJECT_BLOB;
	return 0;
}

static void spool_free(git_odb_backend *b)
{
	set_clear(&((struct spool_backend *)b)->set);
	free(b);
}

static int spool_backend_new(struct spool_backend **out)
{
	struct spool_backend *b = calloc(1, sizeof(*b));

	if (!b)
		return -1;
	if (git_odb_init_backend(&b->parent, GIT_ODB_BACKEND_VERSION)) {
		free(b);
		return -1;
	}
	b->parent.exists = spool_exists;
	b->parent.read_header = spool_read_header;
	b->parent.free = spool_free;
	*out = b;
	return 0;
}

/* The mempack first (highest priority): every write goes there. */
static int make_odb(struct sb_packrepo *p, git_odb **odb)
{
	git_odb_backend *pb = NULL, *lb = NULL;

	if (git_odb_new(odb))
		return -1;
	if (git_odb_backend_pack(&pb, p->objects) ||
	    git_odb_add_backend(*odb, pb, 1))
		goto fail_pb;
	if (git_odb_backend_loose(&lb, p->objects, -1, 0, 0, 0) ||
	    git_odb_add_backend(*odb, lb, 2))
		goto fail_lb;
	if (spool_backend_new(&p->sb) ||
	    git_odb_add_backend(*odb, &p->sb->parent, 998))
		goto fail_sb;
	if (git_mempack_new(&p->mp) || git_odb_add_backend(*odb, p->mp, 999))
		goto fail_mp;
	return 0;
fail_pb:
	if (pb)
		pb->free(pb);
	return -1;
fail_lb:
	if (lb)
		lb->free(lb);
	return -1;
fail_sb:
	if (p->sb)
		spool_free(&p->sb->parent);
	p->sb = NULL;
	return -1;
fail_mp:
	if (p->mp)
		p->mp->free(p->mp);
	p->mp = NULL;
	return -1;
}

int sb_packrepo_open(struct sb_packrepo **out, git_repository *repo)
{
	struct sb_packrepo *p = calloc(1, sizeof(*p));
	git_odb *odb = NULL;
	int n, rc = 0;

	if (!p)
		return -ENOMEM;
	n = snprintf(p->objects, sizeof(p->objects), "%sobjects",
		     git_repository_path(repo));
	if (n < 0 || (size_t)n >= sizeof(p->objects))
		rc = sb_err_set(-ENAMETOOLONG, "repository path too long");
	else if (make_odb(p, &odb) || git_repository_wrap_odb(&p->git, odb))
		rc = fail("cannot prepare a pack");
	p->repo = repo;
	git_odb_free(odb);	/* the repository holds it */
	if (rc) {
		sb_packrepo_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void sb_packrepo_free(struct sb_packrepo *p)
{
	if (!p)
		return;
	sb_packwrite_free(p->w);	/* an unwritten spool is removed */
	git_repository_free(p->git);	/* frees its odb and backends */
	free(p->added.v);
	free(p);
}

git_repository *sb_packrepo_git(struct sb_packrepo *p)
{
	return p->git;
}

static int refresh(git_repository *g)
{
	git_odb *odb = NULL;
	int rc = git_repository_odb(&odb, g) || git_odb_refresh(odb);

	git_odb_free(odb);
	return rc ? fail("cannot reload the packs") : 0;
}

static int spool(struct sb_packrepo *p)
{
	char dir[PATH_MAX];
	int rc;

	if (p->w)
		return 0;
	if ((rc = sb_packwrite_dir(p->repo, dir, sizeof(dir))))
		return rc;
	return sb_packwrite_open_spool(&p->w, dir);
}

/* Known to the repository or to this job already (no pack rescan). */
static int known(struct sb_packrepo *p, const git_oid *id)
{
	git_odb *odb;
	int found;

	if (git_repository_odb(&odb, p->git))
		return fail("cannot open the object database");
	found = git_odb_exists_ext(odb, id, GIT_ODB_LOOKUP_NO_REFRESH);
	git_odb_free(odb);
	return found ? 1 : 0;
}

int sb_packrepo_blob(struct sb_packrepo *p, git_oid *id, const void *buf,
		     size_t len)
{
	int rc;

	sb_packwrite_id(id, GIT_OBJECT_BLOB, buf, len);
	if ((rc = known(p, id)))
		return rc < 0 ? rc : 0;
	if ((rc = spool(p)) ||
	    (rc = sb_packwrite_add(p->w, id, GIT_OBJECT_BLOB, buf, len)))
		return rc;
	return set_add(&p->sb->set, id, len);
}

int sb_packrepo_blob_fd(struct sb_packrepo *p, int fd, size_t len,
			git_oid *id)
{
	int rc;

	if ((rc = spool(p)) || (rc = sb_packwrite_add_fd(p->w, fd, len, id)))
		return rc;
	if ((rc = known(p, id)))
		return rc < 0 ? rc : sb_packwrite_drop_last(p->w);
	return set_add(&p->sb->set, id, len);
}

int sb_packrepo_add(struct sb_packrepo *p, const git_oid *id)
{
	if (!p->mp->exists(p->mp, id))
		return 0;	/* in the spool or the repository already */
	return sb_oids_push(&p->added, id);
}

/* One object from the mempack into the spool. */
static int pack_one(struct sb_packrepo *p, const git_oid *id)
{
	git_object_t type;
	void *buf;
	size_t len;
	int rc;

	if (p->mp->read(&buf, &len, &type, p->mp, id))
		return fail("cannot read a new object");
	rc = sb_packwrite_add(p->w, id, type, buf, len);
	git_odb_backend_data_free(p->mp, buf);
	return rc;
}

int sb_packrepo_write(struct sb_packrepo *p)
{
	size_t i;
	int rc = 0;

	sb_oids_unique(&p->added);
	if (!p->added.n && (!p->w || !sb_packwrite_count(p->w))) {
		sb_packwrite_free(p->w);	/* every blob taken back */
		p->w = NULL;
		set_clear(&p->sb->set);
		return 0;
	}
	if ((rc = spool(p)))
		return rc;
	for (i = 0; !rc && i < p->added.n; i++)
		rc = pack_one(p, &p->added.v[i]);
	if (!rc)
		rc = sb_packwrite_commit(p->w, NULL);
	sb_packwrite_free(p->w);
	p->w = NULL;
	p->added.n = 0;
	if (!rc && git_mempack_reset(p->mp))
		rc = fail("cannot empty the mempack");
	if (!rc && !(rc = refresh(p->repo)))
		rc = refresh(p->git);
	set_clear(&p->sb->set);
	return rc;
}

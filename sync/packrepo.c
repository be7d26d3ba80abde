#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <git2/sys/config.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "crypto/err.h"
#include "sync/packrepo.h"
#include "sync/repo_git.h"

/* Blobs held in memory before they go out as a pack of their own. */
#define FLUSH_BYTES (16u << 20)

struct sb_packrepo {
	git_repository *git;	/* over the mempack and the real objects */
	git_odb_backend *mp;	/* owned by git's odb */
	git_packbuilder *pb;	/* from the first sb_packrepo_add() */
	git_oid *held;		/* blobs in the mempack since the last flush */
	size_t nheld, aheld, bytes;
	char objects[PATH_MAX];
};

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

/*
 * The configuration: blobs are ciphertext, so deltas between them never
 * pay; packing 10,000 messages spends half its time looking for them.
 * libgit2 1.5 skips objects larger than its big file threshold, which it
 * reads from pack.deltaCacheSize (sic); git calls it core.bigFileThreshold.
 * Nothing else is read (no global or system configuration either).
 */
static void nodelta_entry_free(git_config_entry *e)
{
	free(e);
}

static void nodelta_iter_free(git_config_iterator *it)
{
	free(it);
}

static void nodelta_free(git_config_backend *b)
{
	free(b);
}

static int nodelta_get(git_config_backend *b, const char *key,
		       git_config_entry **out)
{
	git_config_entry *e;

	(void)b;
	if (strcmp(key, "pack.deltacachesize") &&
	    strcmp(key, "core.bigfilethreshold"))
		return GIT_ENOTFOUND;
	if (!(e = calloc(1, sizeof(*e))))
		return -1;
	e->name = key;
	e->value = "1";
	e->level = GIT_CONFIG_LEVEL_APP;
	e->free = nodelta_entry_free;
	*out = e;
	return 0;
}

static int nodelta_next(git_config_entry **e, git_config_iterator *it)
{
	(void)e;
	(void)it;
	return GIT_ITEROVER;
}

static int nodelta_iter(git_config_iterator **out, git_config_backend *b)
{
	git_config_iterator *it = calloc(1, sizeof(*it));

	if (!it)
		return -1;
	it->backend = b;
	it->next = nodelta_next;
	it->free = nodelta_iter_free;
	*out = it;
	return 0;
}

static int nodelta_open(git_config_backend *b, git_config_level_t level,
			const git_repository *repo)
{
	(void)b;
	(void)level;
	(void)repo;
	return 0;
}

static int nodelta_unlock(git_config_backend *b, int success)
{
	(void)b;
	(void)success;
	return 0;
}

static int nodelta_new(git_config_backend **out);

static int nodelta_snapshot(git_config_backend **out, git_config_backend *b)
{
	(void)b;
	return nodelta_new(out);
}

static int nodelta_new(git_config_backend **out)
{
	git_config_backend *b = calloc(1, sizeof(*b));

	if (!b || git_config_init_backend(b, GIT_CONFIG_BACKEND_VERSION)) {
		free(b);
		return -1;
	}
	b->readonly = 1;
	b->open = nodelta_open;
	b->get = nodelta_get;
	b->iterator = nodelta_iter;
	b->snapshot = nodelta_snapshot;
	b->unlock = nodelta_unlock;
	b->free = nodelta_free;
	*out = b;
	return 0;
}

static int nodelta_config(git_repository *g)
{
	git_config_backend *b = NULL;
	git_config *cfg = NULL;
	int rc = 0;

	if (git_config_new(&cfg) || nodelta_new(&b) ||
	    git_config_add_backend(cfg, b, GIT_CONFIG_LEVEL_APP, g, 0)) {
		if (b && cfg)
			b->free(b);
		rc = -1;
	} else if (git_repository_set_config(g, cfg)) {
		rc = -1;
	}
	git_config_free(cfg);
	return rc;
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
	else if (make_odb(p, &odb) || git_repository_wrap_odb(&p->git, odb) ||
		 nodelta_config(p->git))
		rc = fail("cannot prepare a pack");
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
	git_packbuilder_free(p->pb);
	git_repository_free(p->git);	/* frees its odb and the mempack */
	free(p->held);
	free(p);
}

git_repository *sb_packrepo_git(struct sb_packrepo *p)
{
	return p->git;
}

static int pack_dir(struct sb_packrepo *p, char *dir, size_t size)
{
	return (size_t)snprintf(dir, size, "%s/pack", p->objects) >= size ?
		sb_err_set(-ENAMETOOLONG, "repository path too long") : 0;
}

/*
 * A bulk import would otherwise hold every new blob in memory until the
 * tree is built: past FLUSH_BYTES, the blobs so far go into the
 * repository as a pack of their own and leave the mempack (trees are
 * built later and find them in the repository). Memory stays bounded by
 * FLUSH_BYTES, whatever the size of the import.
 */
static int flush(struct sb_packrepo *p)
{
	git_packbuilder *pb = NULL;
	char dir[PATH_MAX + 8];
	git_odb *odb = NULL;
	size_t i;
	int rc = pack_dir(p, dir, sizeof(dir));

	if (rc || !p->nheld)
		return rc;
	if (git_packbuilder_new(&pb, p->git))
		return fail("cannot start a pack");
	for (i = 0; !rc && i < p->nheld; i++)
		if (git_packbuilder_insert(pb, &p->held[i], NULL))
			rc = fail("cannot add to a pack");
	if (!rc && git_packbuilder_write(pb, dir, 0, NULL, NULL))
		rc = fail("cannot write the pack");
	git_packbuilder_free(pb);
	if (!rc && (git_mempack_reset(p->mp) ||
		    git_repository_odb(&odb, p->git) || git_odb_refresh(odb)))
		rc = fail("cannot reload the packs");
	git_odb_free(odb);
	p->nheld = 0;
	p->bytes = 0;
	return rc;
}

static int hold(struct sb_packrepo *p, const git_oid *id, size_t len)
{
	git_oid *n;

	if (p->nheld == p->aheld) {
		n = realloc(p->held, (p->aheld ? 2 * p->aheld : 256) *
			    sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->held = n;
		p->aheld = p->aheld ? 2 * p->aheld : 256;
	}
	git_oid_cpy(&p->held[p->nheld++], id);
	p->bytes += len;
	return p->bytes >= FLUSH_BYTES ? flush(p) : 0;
}

int sb_packrepo_blob(struct sb_packrepo *p, git_oid *id, const void *buf,
		     size_t len)
{
	git_odb *odb;
	int rc = 0;

	if (git_odb_hash(id, buf, len, GIT_OBJECT_BLOB))
		return fail("cannot hash a file");
	if (git_repository_odb(&odb, p->git))
		return fail("cannot open the object database");
	if (!git_odb_exists_ext(odb, id, GIT_ODB_LOOKUP_NO_REFRESH) &&
	    !p->mp->exists(p->mp, id)) {
		if (p->mp->write(p->mp, id, buf, len, GIT_OBJECT_BLOB))
			rc = fail("cannot store a file");
		else
			rc = hold(p, id, len);
	}
	git_odb_free(odb);
	return rc;
}

int sb_packrepo_add(struct sb_packrepo *p, const git_oid *id)
{
	if (!p->mp->exists(p->mp, id))
		return 0;	/* in the repository already */
	if (!p->pb && git_packbuilder_new(&p->pb, p->git))
		return fail("cannot start a pack");
	if (git_packbuilder_insert(p->pb, id, NULL))
		return fail("cannot add to a pack");
	return 0;
}

int sb_packrepo_write(struct sb_packrepo *p)
{
	char dir[PATH_MAX + 8];

	if (!p->pb || !git_packbuilder_object_count(p->pb))
		return 0;
	if (pack_dir(p, dir, sizeof(dir)))
		return -ENAMETOOLONG;
	if (git_packbuilder_write(p->pb, dir, 0, NULL, NULL))
		return fail("cannot write the pack");
	return 0;
}

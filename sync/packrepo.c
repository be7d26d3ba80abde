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

/* Blobs held in memory before they go out as a pack of their own. */
#define FLUSH_BYTES (16u << 20)


struct sb_packrepo {
	git_repository *repo;	/* the real one; its odb takes the packs */
	git_repository *git;	/* over the mempack and the real objects */
	git_odb_backend *mp;	/* owned by git's odb */
	struct sb_oids held;	/* blobs in the mempack since the last flush */
	struct sb_oids added;	/* sb_packrepo_add() since the last flush */
	size_t bytes;		/* of the held blobs */
	char objects[PATH_MAX];
};

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
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
	git_repository_free(p->git);	/* frees its odb and the mempack */
	free(p->held.v);
	free(p->added.v);
	free(p);
}

git_repository *sb_packrepo_git(struct sb_packrepo *p)
{
	return p->git;
}




/* One object from the mempack into the pack. */
static int pack_one(struct sb_packrepo *p, struct sb_packwrite *w,
		    const git_oid *id)
{
	git_object_t type;
	void *buf;
	size_t len;
	int rc;

	if (p->mp->read(&buf, &len, &type, p->mp, id))
		return fail("cannot read a new object");
	rc = sb_packwrite_add(w, id, type, buf, len);
	git_odb_backend_data_free(p->mp, buf);
	return rc;
}

static int refresh(git_repository *g)
{
	git_odb *odb = NULL;
	int rc = git_repository_odb(&odb, g) || git_odb_refresh(odb);

	git_odb_free(odb);
	return rc ? fail("cannot reload the packs") : 0;
}

/*
 * The ids in l (all in the mempack: objects this process made and
 * named) go into the repository as one stored pack; the mempack is
 * emptied, and both repositories reload the packs to find them there.
 */
static int write_ids(struct sb_packrepo *p, struct sb_oids *l)
{
	struct sb_packwrite *w = NULL;
	char dir[PATH_MAX];
	size_t i;
	int rc;

	sb_oids_unique(l);
	if (!l->n)
		return 0;
	if (l->n > UINT32_MAX)
		return sb_err_set(-EFBIG, "too many objects for one pack");
	if ((rc = sb_packwrite_dir(p->repo, dir, sizeof(dir))) ||
	    (rc = sb_packwrite_open(&w, dir, (uint32_t)l->n)))
		return rc;
	for (i = 0; !rc && i < l->n; i++)
		rc = pack_one(p, w, &l->v[i]);
	if (!rc)
		rc = sb_packwrite_commit(w, NULL);
	sb_packwrite_free(w);
	if (!rc && git_mempack_reset(p->mp))
		rc = fail("cannot empty the mempack");
	if (!rc && !(rc = refresh(p->repo)))
		rc = refresh(p->git);
	l->n = 0;
	return rc;
}

/*
 * A bulk import would otherwise hold every new blob in memory until the
 * tree is built: past FLUSH_BYTES, the blobs so far go into the
 * repository as a pack of their own and leave the mempack (trees are
 * built later and find them in the repository). Memory stays bounded by
 * FLUSH_BYTES, whatever the size of the import. What was added with
 * sb_packrepo_add() goes along.
 */
static int flush(struct sb_packrepo *p)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < p->added.n; i++)
		rc = sb_oids_push(&p->held, &p->added.v[i]);
	if (!rc)
		rc = write_ids(p, &p->held);
	p->added.n = 0;
	p->bytes = 0;
	return rc;
}

static int hold(struct sb_packrepo *p, const git_oid *id, size_t len)
{
	int rc = sb_oids_push(&p->held, id);

	if (rc)
		return rc;
	p->bytes += len;
	return p->bytes >= FLUSH_BYTES ? flush(p) : 0;
}

int sb_packrepo_blob(struct sb_packrepo *p, git_oid *id, const void *buf,
		     size_t len)
{
	git_odb *odb;
	int rc = 0;

	sb_packwrite_id(id, GIT_OBJECT_BLOB, buf, len);
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
	return sb_oids_push(&p->added, id);
}

int sb_packrepo_write(struct sb_packrepo *p)
{
	int rc = write_ids(p, &p->added);

	p->held.n = 0;
	p->bytes = 0;
	return rc;
}

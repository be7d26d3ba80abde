#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>

#include "crypto/err.h"
#include "sync/localpush.h"
#include "sync/packwrite.h"
#include "sync/repo_git.h"

/* One push: the two repositories and the objects the remote lacks. */
struct push {
	git_repository *repo;	/* ours */
	git_repository *dst;	/* the remote */
	git_odb *odb, *dst_odb;
	const char *url;
	struct sb_oids want;	/* what the remote lacks */
	git_push_transfer_progress_cb progress;
	void *payload;
};

static int fail(const char *what)
{
	return sb_repo_git_fail(what);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The path of a file:// URL ("file:///p", "file://localhost/p", %XX
 * escapes decoded, as git and libgit2 read them) or of a plain path.
 */
static int url_path(char *out, size_t size, const char *url)
{
	const char *s = url;
	size_t n = 0;
	int hi, lo;

	if (!strncmp(s, "file://", 7)) {
		s += 7;
		if (!strncmp(s, "localhost/", 10))
			s += 9;
		if (*s != '/')
			return sb_err_set(SB_ENET, "%s: not a local path", url);
	}
	for (; *s; s++) {
		if (n + 1 >= size)
			return sb_err_set(-ENAMETOOLONG, "%s: path too long",
					  url);
		if (*s == '%' && (hi = hexval(s[1])) >= 0 &&
		    (lo = hexval(s[2])) >= 0) {
			out[n++] = (char)(hi << 4 | lo);
			s += 2;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return 0;
}

static int want_add(struct push *p, const git_oid *id)
{
	return sb_oids_push(&p->want, id);
}

/* Without a rescan of the pack directory on every miss. */
static int dst_has(struct push *p, const git_oid *id)
{
	return git_odb_exists_ext(p->dst_odb, id, GIT_ODB_LOOKUP_NO_REFRESH);
}

/* A tree the remote lacks, and whatever below it the remote lacks. */
static int want_tree(struct push *p, const git_oid *id)
{
	const git_tree_entry *e;
	git_tree *t;
	size_t i, n;
	int rc;

	if (dst_has(p, id))
		return 0;
	if ((rc = want_add(p, id)))
		return rc;
	if (git_tree_lookup(&t, p->repo, id))
		return fail("cannot read a tree to push");
	n = git_tree_entrycount(t);
	for (i = 0; !rc && i < n; i++) {
		e = git_tree_entry_byindex(t, i);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			rc = want_tree(p, git_tree_entry_id(e));
		else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
			 !dst_has(p, git_tree_entry_id(e)))
			rc = want_add(p, git_tree_entry_id(e));
	}
	git_tree_free(t);
	return rc;
}

static int want_commit(struct push *p, const git_oid *id)
{
	git_commit *c;
	int rc;

	if (dst_has(p, id))
		return 0;
	if (git_commit_lookup(&c, p->repo, id))
		return fail("cannot read a commit to push");
	rc = want_add(p, id);
	if (!rc)
		rc = want_tree(p, git_commit_tree_id(c));
	git_commit_free(c);
	return rc;
}

/* Every commit from id back to (not including) what the remote has. */
static int collect(struct push *p, const git_oid *id, const git_oid *have)
{
	git_revwalk *w = NULL;
	git_oid c;
	int rc = 0, e;

	if (git_revwalk_new(&w, p->repo) || git_revwalk_push(w, id) ||
	    (have && git_revwalk_hide(w, have))) {
		git_revwalk_free(w);
		return fail("cannot walk the history to push");
	}
	while (!rc && !(e = git_revwalk_next(&c, w)))
		rc = want_commit(p, &c);
	if (!rc && e != GIT_ITEROVER)
		rc = fail("cannot walk the history to push");
	git_revwalk_free(w);
	return rc;
}


/*
 * An object of ours, read from whichever backend holds it without
 * libgit2's collision-detecting SHA-1 and checked with an ordinary one:
 * a damaged object must not reach the remote under a name it does not
 * have (the remote's index would then name a commit whose objects are
 * missing).
 */
static int read_checked(struct push *p, const git_oid *id, void **buf,
			size_t *len, git_object_t *type, git_odb_backend **from)
{
	git_odb_backend *b;
	char hex[GIT_OID_HEXSZ + 1];
	git_oid got;
	size_t i, n = git_odb_num_backends(p->odb);
	int e = GIT_ENOTFOUND;

	for (i = 0; e == GIT_ENOTFOUND && i < n; i++) {
		if (git_odb_get_backend(&b, p->odb, i) || !b->read)
			continue;
		e = b->read(buf, len, type, b, id);
		*from = b;
	}
	git_oid_tostr(hex, sizeof(hex), id);
	if (e)
		return sb_err_set(SB_EGIT, "cannot read object %s to push",
				  hex);
	sb_packwrite_id(&got, *type, *buf, *len);
	if (!git_oid_equal(&got, id)) {
		git_odb_backend_data_free(*from, *buf);
		return sb_err_set(SB_EFORMAT, "object %s in this vault's "
				  "repository is damaged; nothing was pushed",
				  hex);
	}
	return 0;
}

static int send_objects(struct push *p)
{
	struct sb_packwrite *w = NULL;
	git_odb_backend *from = NULL;
	git_object_t type;
	char dir[PATH_MAX];
	size_t i, len, bytes = 0;
	void *buf;
	int rc;

	if (p->want.n > UINT32_MAX)
		return sb_err_set(-EFBIG, "too many objects for one pack");
	if ((rc = sb_packwrite_dir(p->dst, dir, sizeof(dir))) ||
	    (rc = sb_packwrite_open(&w, dir, (uint32_t)p->want.n)))
		return rc;
	for (i = 0; !rc && i < p->want.n; i++) {
		if ((rc = read_checked(p, &p->want.v[i], &buf, &len, &type,
				       &from)))
			break;
		rc = sb_packwrite_add(w, &p->want.v[i], type, buf, len);
		git_odb_backend_data_free(from, buf);
		bytes += len;
		if (!rc && p->progress)
			p->progress((unsigned)(i + 1), (unsigned)p->want.n,
				    bytes, p->payload);
	}
	if (!rc)
		rc = sb_packwrite_commit(w, NULL);
	sb_packwrite_free(w);
	if (!rc && git_odb_refresh(p->dst_odb))
		rc = fail("cannot reload the remote's packs");
	return rc;
}

/* The new pack on disk before any ref names it. */
static int durable(struct push *p)
{
	return sb_repo_git_durable(p->dst);
}

static int rejected(struct push *p, const char *why)
{
	return sb_err_set(SB_EREJECT, "%s %s; fetch, merge and push again",
			  p->url, why);
}

/* Our id must descend from the remote's (or equal it: nothing to do). */
static int check_fast_forward(struct push *p, const git_oid *id,
			      const git_oid *have)
{
	if (!git_odb_exists(p->odb, have))
		return rejected(p, "has commits this vault does not have");
	if (git_oid_equal(id, have) ||
	    git_graph_descendant_of(p->repo, id, have) == 1)
		return 0;
	return rejected(p, "has commits this vault does not have");
}

static int move_ref(struct push *p, const char *ref, const git_oid *id,
		    const git_oid *have)
{
	git_reference *r = NULL;
	int e;

	/* An update must find have there; a creation must find nothing. */
	e = git_reference_create_matching(&r, p->dst, ref, id, have != NULL,
					  have, "sealbox: push");

	git_reference_free(r);
	if (e == GIT_EMODIFIED || e == GIT_EEXISTS)
		return rejected(p, "moved during the push");
	if (e)
		return fail("cannot update the remote's branch");
	return durable(p);
}

static int open_remote(struct push *p, const char *url)
{
	char path[PATH_MAX];
	int rc = url_path(path, sizeof(path), url);

	if (rc)
		return rc;
	if (git_repository_open_ext(&p->dst, path,
				    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL))
		return sb_err_set(SB_ENET, "cannot push to %s: no repository "
				  "there; the remote cannot be reached, sync "
				  "again later", url);
	if (!git_repository_is_bare(p->dst))
		return sb_err_set(SB_EGIT, "cannot push to %s: not a bare "
				  "repository", url);
	if (git_repository_odb(&p->dst_odb, p->dst) ||
	    git_repository_odb(&p->odb, p->repo))
		return fail("cannot open the object database");
	return 0;
}

static int push_run(struct push *p, const char *ref, const git_oid *id)
{
	git_oid have;
	int e, rc;

	e = git_reference_name_to_id(&have, p->dst, ref);
	if (e && e != GIT_ENOTFOUND)
		return fail("cannot read the remote's branch");
	if (!e && (rc = check_fast_forward(p, id, &have)))
		return rc;
	if (!e && git_oid_equal(id, &have))
		return 0;
	if ((rc = collect(p, id, e ? NULL : &have)))
		return rc;
	/* commits walked more than once share trees: each object once */
	sb_oids_unique(&p->want);
	if (p->want.n && ((rc = send_objects(p)) || (rc = durable(p))))
		return rc;
	return move_ref(p, ref, id, e ? NULL : &have);
}

int sb_localpush(git_repository *repo, const char *url, const char *ref,
		 const git_oid *id, git_push_transfer_progress_cb progress,
		 void *payload)
{
	struct push p = { .repo = repo, .url = url, .progress = progress,
			  .payload = payload };
	int rc = open_remote(&p, url);

	if (!rc)
		rc = push_run(&p, ref, id);
	free(p.want.v);
	git_odb_free(p.odb);
	git_odb_free(p.dst_odb);
	git_repository_free(p.dst);
	return rc;
}

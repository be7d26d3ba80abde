#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto/err.h"
#include "sync/history.h"
#include "sync/repo_git.h"
#include "sync/verify.h"

#define MARKER "/" SB_STORE_MARKER

struct sb_history {
	struct sb_repo *r;
	git_oid next;
	int done;
};

int sb_history_open(struct sb_history **out, struct sb_repo *r,
		    const char *head)
{
	struct sb_history *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	if (!head || git_oid_fromstr(&h->next, head)) {
		free(h);
		return sb_err_set(SB_EFORMAT, "bad commit id %s",
				  head ? head : "(null)");
	}
	h->r = r;
	*out = h;
	return 0;
}

void sb_history_free(struct sb_history *h)
{
	free(h);
}

void sb_history_commit_clear(struct sb_history_commit *c)
{
	free(c->message);
	memset(c, 0, sizeof(*c));
}

static void fill_commit(struct sb_history_commit *c, struct sb_repo *r,
			git_commit *gc)
{
	size_t i;

	git_oid_tostr(c->oid, sizeof(c->oid), git_commit_id(gc));
	c->time = (int64_t)git_commit_time(gc);
	c->tz = git_commit_time_offset(gc);
	c->nparents = git_commit_parentcount(gc);
	for (i = 0; i < c->nparents && i < 2; i++)
		git_oid_tostr(c->parents[i], SB_OID_HEX,
			      git_commit_parent_id(gc, (unsigned)i));
	if (sb_verify_signer(c->signer, sizeof(c->signer), r, c->oid))
		c->signer[0] = '\0';
}

int sb_history_next(struct sb_history *h, struct sb_history_commit *c)
{
	git_commit *gc = NULL;
	const char *msg;

	if (h->done)
		return 0;
	if (git_commit_lookup(&gc, sb_repo_git(h->r), &h->next))
		return sb_repo_git_fail("cannot read a commit");
	memset(c, 0, sizeof(*c));
	msg = git_commit_message(gc);
	c->message = strdup(msg ? msg : "");
	if (!c->message) {
		git_commit_free(gc);
		return -ENOMEM;
	}
	fill_commit(c, h->r, gc);
	if (git_commit_parentcount(gc))
		git_oid_cpy(&h->next, git_commit_parent_id(gc, 0));
	else
		h->done = 1;
	git_commit_free(gc);
	sb_err_clear();
	return 1;
}

int sb_history_count(struct sb_repo *r, const char *head, size_t max,
		     size_t *n)
{
	git_revwalk *w = NULL;
	git_oid oid;
	size_t count = 0;
	int rc = 0;

	if (git_oid_fromstr(&oid, head))
		return sb_err_set(SB_EFORMAT, "bad commit id %s", head);
	if (git_revwalk_new(&w, sb_repo_git(r)) || git_revwalk_push(w, &oid)) {
		rc = sb_repo_git_fail("cannot walk history");
		goto out;
	}
	while (count <= max && !(rc = git_revwalk_next(&oid, w)))
		count++;
	if (rc == GIT_ITEROVER || count > max)
		rc = 0;
	else if (rc)
		rc = sb_repo_git_fail("cannot walk history");
	*n = count;
out:
	git_revwalk_free(w);
	return rc;
}

int sb_history_ahead_behind(struct sb_repo *r, const char *local,
			    const char *upstream, size_t *ahead,
			    size_t *behind)
{
	git_oid a, b;

	if (git_oid_fromstr(&a, local) || git_oid_fromstr(&b, upstream))
		return sb_err_set(SB_EFORMAT, "bad commit id");
	if (git_graph_ahead_behind(ahead, behind, sb_repo_git(r), &a, &b))
		return sb_repo_git_fail("cannot compare histories");
	return 0;
}

/* ---- changed paths ---- */

static int ch_add(struct sb_history_changes *ch, size_t *cap, char status,
		  uint32_t mode, char *path, char *store_path)
{
	struct sb_history_change *p;

	if (!path || !store_path)
		goto oom;
	if (ch->n == *cap) {
		*cap = *cap ? 2 * *cap : 32;
		p = realloc(ch->c, *cap * sizeof(*p));
		if (!p)
			goto oom;
		ch->c = p;
	}
	ch->c[ch->n++] = (struct sb_history_change){ status, mode, path,
						     store_path };
	return 0;
oom:
	free(path);
	free(store_path);
	return -ENOMEM;
}

/* The trees of a diff, where long names find their sidecars. */
struct trees {
	git_tree *first, *second;	/* the delta's side first */
};

static int tree_sidecar(char *enc, size_t size, const char *sidecar,
			void *ctx)
{
	const struct trees *t = ctx;
	git_tree *order[2] = { t->first, t->second };
	char tpath[3 * PATH_MAX + 1];
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	size_t i, n;
	int rc = -ENOENT;

	if (strlen(sidecar) >= PATH_MAX)
		return -ENAMETOOLONG;
	sb_repo_tree_path(tpath, sidecar);
	for (i = 0; i < 2 && rc == -ENOENT; i++) {
		if (!order[i] || git_tree_entry_bypath(&e, order[i], tpath))
			continue;
		if (git_blob_lookup(&b, git_tree_owner(order[i]),
				    git_tree_entry_id(e))) {
			rc = sb_repo_git_fail("cannot read a sidecar");
		} else {
			n = (size_t)git_blob_rawsize(b);
			n = n < size ? n : size - 1;
			memcpy(enc, git_blob_rawcontent(b), n);
			enc[n] = '\0';
			rc = (int)n;
		}
		git_blob_free(b);
		git_tree_entry_free(e);
		b = NULL;
		e = NULL;
	}
	return rc;
}

/* Plaintext of a backing path; "<parent>/?" or "?" when it fails. */
static char *plain_of(struct sb_store *st, const char *backing,
		      struct trees *t)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	const char *slash;

	if (!strncmp(backing, ".sealbox/", 9) || !strcmp(backing, ".sealbox"))
		return strdup(backing);
	if (!sb_store_plain_path_with(st, buf, sizeof(buf), backing,
				      tree_sidecar, t))
		return strdup(buf);
	slash = strrchr(backing, '/');
	if (slash && (size_t)(slash - backing) < sizeof(dir)) {
		memcpy(dir, backing, (size_t)(slash - backing));
		dir[slash - backing] = '\0';
		if (!sb_store_plain_path_with(st, buf, sizeof(buf), dir,
					      tree_sidecar, t) &&
		    strlen(buf) + 3 <= sizeof(buf)) {
			memcpy(buf + strlen(buf), "/?", 3);
			return strdup(buf);
		}
	}
	sb_err_clear();
	return strdup("?");
}

/* 1 when the last component is the store's own (a sidecar, temp file). */
static int internal(const char *store_path)
{
	const char *base = strrchr(store_path, '/');
	size_t n;

	base = base ? base + 1 : store_path;
	n = strlen(base);
	if (!strncmp(store_path, ".sealbox/", 9))
		return 0;
	return base[0] == '.' || (base[0] == '~' && n > 2 &&
				  !strcmp(base + n - 2, ".n"));
}

static int add_delta(struct sb_history_changes *ch, size_t *cap,
		     struct sb_store *st, const git_diff_delta *d,
		     git_tree *old, git_tree *new)
{
	struct trees t = { new, old };
	const git_diff_file *f = d->status == GIT_DELTA_DELETED ? &d->old_file
								 : &d->new_file;
	char sp[PATH_MAX];
	char status;
	uint32_t mode = f->mode == GIT_FILEMODE_LINK ? S_IFLNK : S_IFREG;
	size_t n;

	if (strlen(f->path) >= sizeof(sp))
		return -ENAMETOOLONG;
	sb_repo_store_path(sp, f->path);
	n = strlen(sp);
	status = d->status == GIT_DELTA_ADDED ? 'A'
		 : d->status == GIT_DELTA_DELETED ? 'D' : 'M';
	if (status == 'D') {
		t.first = old;
		t.second = new;
	}
	if (n > strlen(MARKER) && !strcmp(sp + n - strlen(MARKER), MARKER)) {
		if (status == 'M')
			return 0;
		sp[n - strlen(MARKER)] = '\0';
		mode = S_IFDIR;
	} else if (internal(sp)) {
		return 0;
	}
	return ch_add(ch, cap, status, mode | (f->mode & 0777),
		      plain_of(st, sp, &t), strdup(sp));
}

static int ch_cmp(const void *a, const void *b)
{
	const struct sb_history_change *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : x->status - y->status;
}

static int commit_trees(struct sb_repo *r, const char *oid, git_tree **old,
			git_tree **new)
{
	git_commit *c = NULL, *p = NULL;
	git_oid id;
	int rc = 0;

	if (git_oid_fromstr(&id, oid))
		return sb_err_set(SB_EFORMAT, "bad commit id %s", oid);
	if (git_commit_lookup(&c, sb_repo_git(r), &id) ||
	    git_commit_tree(new, c) ||
	    (git_commit_parentcount(c) &&
	     (git_commit_parent(&p, c, 0) || git_commit_tree(old, p))))
		rc = sb_repo_git_fail("cannot read a commit");
	git_commit_free(p);
	git_commit_free(c);
	return rc;
}

static int diff_changes(struct sb_history_changes *ch, struct sb_repo *r,
			struct sb_store *st, git_tree *old, git_tree *new)
{
	git_diff *diff = NULL;
	size_t i, cap = 0;
	int rc = 0;

	if (git_diff_tree_to_tree(&diff, sb_repo_git(r), old, new, NULL))
		return sb_repo_git_fail("cannot compare trees");
	for (i = 0; !rc && i < git_diff_num_deltas(diff); i++)
		rc = add_delta(ch, &cap, st, git_diff_get_delta(diff, i), old,
			       new);
	git_diff_free(diff);
	return rc;
}

int sb_history_changes(struct sb_history_changes **out, struct sb_repo *r,
		       struct sb_store *st, const char *oid)
{
	struct sb_history_changes *ch = calloc(1, sizeof(*ch));
	git_tree *old = NULL, *new = NULL;
	int rc;

	if (!ch)
		return -ENOMEM;
	rc = commit_trees(r, oid, &old, &new);
	if (!rc)
		rc = diff_changes(ch, r, st, old, new);
	git_tree_free(old);
	git_tree_free(new);
	if (rc) {
		sb_history_changes_free(ch);
		return rc;
	}
	if (ch->n)
		qsort(ch->c, ch->n, sizeof(*ch->c), ch_cmp);
	*out = ch;
	return 0;
}

void sb_history_changes_free(struct sb_history_changes *ch)
{
	size_t i;

	if (!ch)
		return;
	for (i = 0; i < ch->n; i++) {
		free(ch->c[i].path);
		free(ch->c[i].store_path);
	}
	free(ch->c);
	free(ch);
}

/* ---- summary per folder ---- */

struct msg {
	char *folder;		/* its own copy */
	const char *uniq;	/* into path */
	size_t ulen;
	const char *flags;	/* after ":", or "" */
	int cur;
	char status;
};

struct acc {
	struct sb_history_summary *s;
	size_t cap, last;
	struct msg *m;
	size_t nm, mcap;
};

static size_t *folder_counts(struct acc *a, const char *folder)
{
	struct sb_history_folder *p;
	size_t i;

	if (a->s->n && !strcmp(a->s->f[a->last].folder, folder))
		return a->s->f[a->last].count;
	for (i = 0; i < a->s->n; i++)
		if (!strcmp(a->s->f[i].folder, folder))
			return a->s->f[a->last = i].count;
	if (a->s->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 8;
		p = realloc(a->s->f, a->cap * sizeof(*p));
		if (!p)
			return NULL;
		a->s->f = p;
	}
	p = &a->s->f[a->s->n];
	memset(p, 0, sizeof(*p));
	if (!(p->folder = strdup(folder)))
		return NULL;
	a->last = a->s->n++;
	return p->count;
}

static int count(struct acc *a, const char *folder, enum sb_history_count_kind k)
{
	size_t *c = folder_counts(a, folder);

	if (!c)
		return -ENOMEM;
	c[k]++;
	return 0;
}

/* dirname into buf ("." for a top-level name). */
static void dir_of(char *buf, size_t size, const char *path, size_t len)
{
	const char *slash = memrchr(path, '/', len);
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (!n)
		snprintf(buf, size, ".");
	else
		snprintf(buf, size, "%.*s", (int)n, path);
}

/* A Maildir message: parent "new" or "cur". Fills m (not folder). */
static int as_message(struct msg *m, const char *path, size_t *dirlen)
{
	const char *base = strrchr(path, '/'), *sub, *colon;

	if (!base || base == path)
		return 0;
	sub = memrchr(path, '/', (size_t)(base - path));
	sub = sub ? sub + 1 : path;
	if ((size_t)(base - sub) != 3 || (strncmp(sub, "new", 3) &&
					  strncmp(sub, "cur", 3)))
		return 0;
	m->cur = sub[0] == 'c';
	m->uniq = base + 1;
	colon = strchr(m->uniq, ':');
	m->ulen = colon ? (size_t)(colon - m->uniq) : strlen(m->uniq);
	m->flags = colon ? colon + 1 : "";
	if (!strncmp(m->flags, "2,", 2))
		m->flags += 2;	/* ":2," alone means no flags */
	*dirlen = sub > path ? (size_t)(sub - path - 1) : 0;
	return 1;
}

static int add_msg(struct acc *a, const struct sb_history_change *c,
		   struct msg *m, size_t dirlen)
{
	char folder[PATH_MAX];
	struct msg *p;

	snprintf(folder, sizeof(folder), "%.*s", (int)dirlen, c->path);
	if (!dirlen)
		snprintf(folder, sizeof(folder), ".");
	if (c->status == 'M')
		return count(a, folder, SB_HC_CHANGED);
	if (a->nm == a->mcap) {
		a->mcap = a->mcap ? 2 * a->mcap : 32;
		p = realloc(a->m, a->mcap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		a->m = p;
	}
	m->status = c->status;
	if (!(m->folder = strdup(folder)))
		return -ENOMEM;
	a->m[a->nm++] = *m;
	return 0;
}

static int add_dir(struct acc *a, const struct sb_history_change *c)
{
	const char *base = strrchr(c->path, '/');

	base = base ? base + 1 : c->path;
	if (!strcmp(base, "new") || !strcmp(base, "cur") ||
	    !strcmp(base, "tmp"))
		return 0;
	return count(a, c->path, c->status == 'A' ? SB_HC_CREATED
						  : SB_HC_REMOVED);
}

static int has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), e = strlen(ext);

	return n > e && !strcasecmp(path + n - e, ext);
}

static int add_file(struct acc *a, const struct sb_history_change *c)
{
	char folder[PATH_MAX];
	enum sb_history_count_kind k = SB_HC_FILE_ADDED;

	dir_of(folder, sizeof(folder), c->path, strlen(c->path));
	if (c->status == 'M')
		return count(a, folder, SB_HC_CHANGED);
	if (has_ext(c->path, ".ics"))
		k = SB_HC_EVENT_ADDED;
	else if (has_ext(c->path, ".vcf"))
		k = SB_HC_CONTACT_ADDED;
	/* each *_REMOVED follows its *_ADDED */
	return count(a, folder, c->status == 'A' ? k : k + 1);
}

static int msg_cmp(const void *x, const void *y)
{
	const struct msg *a = x, *b = y;
	size_t n = a->ulen < b->ulen ? a->ulen : b->ulen;
	int c = memcmp(a->uniq, b->uniq, n);

	if (c || a->ulen != b->ulen)
		return c ? c : a->ulen < b->ulen ? -1 : 1;
	if (a->status != b->status)
		return a->status - b->status;	/* 'A' before 'D' */
	if ((c = strcmp(a->folder, b->folder)))
		return c;
	return a->cur - b->cur;
}

static int same_uniq(const struct msg *a, const struct msg *b)
{
	return a->ulen == b->ulen && !memcmp(a->uniq, b->uniq, a->ulen);
}

/* A removed and an added message of the same unique name. */
static int pair(struct acc *a, const struct msg *del, const struct msg *add)
{
	int rc = 0, moved = strcmp(del->folder, add->folder) ||
			    del->cur != add->cur;

	if (moved)
		rc = count(a, add->folder, SB_HC_MOVED);
	if (!rc && strcmp(del->flags, add->flags))
		rc = count(a, add->folder, SB_HC_FLAGS);
	return rc;
}

/* Within a run of one unique name: adds first, then deletes. */
static int pair_run(struct acc *a, const struct msg *m, size_t n)
{
	size_t na = 0, i;
	int rc = 0;

	while (na < n && m[na].status == 'A')
		na++;
	for (i = 0; !rc && i < n; i++) {
		if (i < na && na + i < n)
			rc = pair(a, &m[na + i], &m[i]);
		else if (i < na)
			rc = count(a, m[i].folder, SB_HC_MSG_ADDED);
		else if (i - na >= na)
			rc = count(a, m[i].folder, SB_HC_MSG_REMOVED);
	}
	return rc;
}

static int pair_msgs(struct acc *a)
{
	size_t i, j;
	int rc = 0;

	if (a->nm)
		qsort(a->m, a->nm, sizeof(*a->m), msg_cmp);
	for (i = 0; !rc && i < a->nm; i = j) {
		for (j = i + 1; j < a->nm && same_uniq(&a->m[i], &a->m[j]); j++)
			;
		rc = pair_run(a, &a->m[i], j - i);
	}
	return rc;
}

static int fold_cmp(const void *x, const void *y)
{
	const struct sb_history_folder *a = x, *b = y;

	return strcmp(a->folder, b->folder);
}

static int summarize(struct acc *a, const struct sb_history_changes *ch)
{
	struct msg m;
	size_t i, dirlen;
	int rc = 0;

	for (i = 0; !rc && i < ch->n; i++) {
		const struct sb_history_change *c = &ch->c[i];

		memset(&m, 0, sizeof(m));
		if ((c->mode & S_IFMT) == S_IFDIR)
			rc = add_dir(a, c);
		else if (as_message(&m, c->path, &dirlen))
			rc = add_msg(a, c, &m, dirlen);
		else
			rc = add_file(a, c);
	}
	return rc ? rc : pair_msgs(a);
}

int sb_history_summarize(struct sb_history_summary **out,
			 const struct sb_history_changes *ch)
{
	struct acc a;
	size_t i;
	int rc;

	memset(&a, 0, sizeof(a));
	if (!(a.s = calloc(1, sizeof(*a.s))))
		return -ENOMEM;
	rc = summarize(&a, ch);
	for (i = 0; i < a.nm; i++)
		free(a.m[i].folder);
	free(a.m);
	if (rc) {
		sb_history_summary_free(a.s);
		return rc;
	}
	if (a.s->n)
		qsort(a.s->f, a.s->n, sizeof(*a.s->f), fold_cmp);
	*out = a.s;
	return 0;
}

void sb_history_summary_free(struct sb_history_summary *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		free(s->f[i].folder);
	free(s->f);
	free(s);
}

/* The printed form of each count: prefix, singular, plural. */
static const char *const part_fmt[SB_HC_KINDS][3] = {
	[SB_HC_CREATED] = { "", "created", "created" },
	[SB_HC_MSG_ADDED] = { "+", "message", "messages" },
	[SB_HC_MSG_REMOVED] = { "-", "message", "messages" },
	[SB_HC_EVENT_ADDED] = { "+", "event", "events" },
	[SB_HC_EVENT_REMOVED] = { "-", "event", "events" },
	[SB_HC_CONTACT_ADDED] = { "+", "contact", "contacts" },
	[SB_HC_CONTACT_REMOVED] = { "-", "contact", "contacts" },
	[SB_HC_FILE_ADDED] = { "+", "file", "files" },
	[SB_HC_FILE_REMOVED] = { "-", "file", "files" },
	[SB_HC_CHANGED] = { "", "changed", "changed" },
	[SB_HC_FLAGS] = { "", "flag change", "flag changes" },
	[SB_HC_MOVED] = { "", "moved", "moved" },
	[SB_HC_REMOVED] = { "", "removed", "removed" },
};

int sb_history_folder_line(char *buf, size_t size,
			   const struct sb_history_folder *f)
{
	size_t used = 0, k, n;
	int w, sep = 0;

	w = snprintf(buf, size, "%s:", f->folder);
	used = w > 0 ? (size_t)w : 0;
	for (k = 0; k < SB_HC_KINDS; k++) {
		if (!(n = f->count[k]))
			continue;
		if (k == SB_HC_CREATED || k == SB_HC_REMOVED)
			w = snprintf(buf + (used < size ? used : size),
				     used < size ? size - used : 0, "%s %s",
				     sep ? "," : "", part_fmt[k][1]);
		else
			w = snprintf(buf + (used < size ? used : size),
				     used < size ? size - used : 0,
				     "%s %s%zu %s", sep ? "," : "",
				     part_fmt[k][0], n,
				     part_fmt[k][n == 1 ? 1 : 2]);
		used += w > 0 ? (size_t)w : 0;
		sep = 1;
	}
	return (int)used;
}

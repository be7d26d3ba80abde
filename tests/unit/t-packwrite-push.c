#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/localpush.h"
#include "sync/packwrite.h"

/*
 * sync/packwrite (stored packs) and sync/localpush (pushing one to a
 * bare repository on this machine), checked by libgit2 reading the
 * objects back and by stock git (fsck --full, verify-pack), which share
 * no code with the writer.
 */

struct fix {
	char root[64];
	char src[96], dst[96];
	git_repository *repo, *bare;
	git_odb *odb;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	git_libgit2_init();
	snprintf(f->root, sizeof(f->root), "/tmp/t-packwrite.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->src, sizeof(f->src), "%s/src", f->root);
	snprintf(f->dst, sizeof(f->dst), "%s/dst.git", f->root);
	assert_int_equal(git_repository_init(&f->repo, f->src, 1), 0);
	assert_int_equal(git_repository_init(&f->bare, f->dst, 1), 0);
	assert_int_equal(git_repository_odb(&f->odb, f->repo), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[160];

	git_odb_free(f->odb);
	git_repository_free(f->repo);
	git_repository_free(f->bare);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	git_libgit2_shutdown();
	return 0;
}

static size_t count(const char *dir, const char *pat)
{
	char p[256];
	glob_t g;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, pat);
	if (glob(p, 0, NULL, &g))
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}

static int git_ok(const char *fmt, const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), fmt, dir);
	return system(cmd) == 0;
}

/* Sizes around every boundary of the entry header and of stored blocks. */
static const size_t sizes[] = { 0, 1, 15, 16, 127, 2047, 2048, 65534,
				65535, 65536, 65537, 131070, 131071,
				300001, 1u << 20 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
}

static void test_stored_pack(void **state)
{
	struct fix *f = *state;
	struct sb_packwrite *w;
	git_oid id[NSIZES], mine, name;
	git_odb_object *o;
	uint8_t *buf = malloc(1u << 20);
	char dir[128], path[256];
	size_t i;

	assert_int_equal(sb_packwrite_dir(f->repo, dir, sizeof(dir)), 0);
	assert_int_equal(sb_packwrite_open(&w, dir, NSIZES), 0);
	for (i = 0; i < NSIZES; i++) {
		fill(buf, sizes[i], (unsigned)i);
		/* sb_packwrite_id names objects as libgit2 does */
		assert_int_equal(git_odb_hash(&id[i], buf, sizes[i],
					      GIT_OBJECT_BLOB), 0);
		sb_packwrite_id(&mine, GIT_OBJECT_BLOB, buf, sizes[i]);
		assert_true(git_oid_equal(&mine, &id[i]));
		assert_int_equal(git_odb_hash(&mine, buf, sizes[i],
					      GIT_OBJECT_TREE), 0);
		sb_packwrite_id(&name, GIT_OBJECT_TREE, buf, sizes[i]);
		assert_true(git_oid_equal(&mine, &name));
		assert_int_equal(sb_packwrite_add(w, &id[i], GIT_OBJECT_BLOB,
						  buf, sizes[i]), 0);
	}
	/* nothing is visible before the commit */
	assert_false(git_odb_exists(f->odb, &id[NSIZES - 1]));
	assert_int_equal(count(f->src, "objects/pack/pack-*.idx"), 0);
	assert_int_equal(sb_packwrite_commit(w, &name), 0);
	sb_packwrite_free(w);
	git_oid_tostr(path, 41, &name);
	assert_int_equal(count(f->src, "objects/pack/tmp_*"), 0);
	assert_true(git_ok("test -f %s", dir) == 0);

	for (i = 0; i < NSIZES; i++) {
		assert_int_equal(git_odb_read(&o, f->odb, &id[i]), 0);
		assert_int_equal(git_odb_object_size(o), sizes[i]);
		fill(buf, sizes[i], (unsigned)i);
		assert_memory_equal(git_odb_object_data(o), buf, sizes[i]);
		git_odb_object_free(o);
	}
	assert_int_equal(count(f->src, "objects/pack/pack-*.idx"), 1);
	assert_true(git_ok("git verify-pack -s %s/objects/pack/pack-*.idx "
			   "| grep -qx 'non delta: 15 objects'", f->src));
	assert_true(git_ok("git verify-pack %s/objects/pack/pack-*.idx "
			   ">/dev/null", f->src));
	free(buf);
}

static void test_count_mismatch(void **state)
{
	struct fix *f = *state;
	struct sb_packwrite *w;
	git_oid a, b, c;
	char dir[128];

	sb_packwrite_id(&a, GIT_OBJECT_BLOB, "a", 1);
	sb_packwrite_id(&b, GIT_OBJECT_BLOB, "b", 1);
	sb_packwrite_id(&c, GIT_OBJECT_BLOB, "c", 1);
	assert_int_equal(sb_packwrite_dir(f->repo, dir, sizeof(dir)), 0);
	assert_int_equal(sb_packwrite_open(&w, dir, 2), 0);
	assert_int_equal(sb_packwrite_add(w, &a, GIT_OBJECT_BLOB, "a", 1), 0);
	assert_int_equal(sb_packwrite_commit(w, NULL), -EINVAL);
	assert_int_equal(sb_packwrite_add(w, &b, GIT_OBJECT_BLOB, "b", 1), 0);
	assert_int_equal(sb_packwrite_add(w, &c, GIT_OBJECT_BLOB, "c", 1),
			 -EINVAL);
	sb_packwrite_free(w);	/* discarded: no pack, no temporary */
	assert_int_equal(count(f->src, "objects/pack/*"), 0);

	/* the same object twice */
	assert_int_equal(sb_packwrite_open(&w, dir, 2), 0);
	assert_int_equal(sb_packwrite_add(w, &a, GIT_OBJECT_BLOB, "a", 1), 0);
	assert_int_equal(sb_packwrite_add(w, &a, GIT_OBJECT_BLOB, "a", 1), 0);
	assert_int_equal(sb_packwrite_commit(w, NULL), -EINVAL);
	sb_packwrite_free(w);
	assert_int_equal(count(f->src, "objects/pack/*"), 0);
}

/* A blob streamed from a file: same id and bytes as from memory. */
static void test_from_fd(void **state)
{
	struct fix *f = *state;
	const size_t len = 3 * 65535 + 17;
	uint8_t *buf = malloc(len);
	git_odb_object *o;
	git_oid want, got, again;
	char path[128];
	int fd;

	fill(buf, len, 7);
	snprintf(path, sizeof(path), "%s/big", f->root);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(git_odb_hash(&want, buf, len, GIT_OBJECT_BLOB), 0);
	assert_int_equal(sb_packwrite_blob_fd(f->repo, fd, len, &got), 0);
	assert_true(git_oid_equal(&want, &got));
	assert_int_equal(git_odb_read(&o, f->odb, &got), 0);
	assert_int_equal(git_odb_object_size(o), len);
	assert_memory_equal(git_odb_object_data(o), buf, len);
	git_odb_object_free(o);
	assert_int_equal(count(f->src, "objects/pack/pack-*.idx"), 1);
	assert_true(git_ok("git -C '%s' fsck --full --no-dangling "
			   "--no-progress >/dev/null 2>&1", f->src));

	/* the same bytes again: nothing new is written */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(sb_packwrite_blob_fd(f->repo, fd, len, &again), 0);
	assert_true(git_oid_equal(&want, &again));
	assert_int_equal(count(f->src, "objects/pack/*"), 2);

	/* a file shorter than announced (it shrank): -EAGAIN, no pack */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(sb_packwrite_blob_fd(f->repo, fd, len + 1, &again),
			 -EAGAIN);
	assert_int_equal(count(f->src, "objects/pack/*"), 2);
	close(fd);
	free(buf);
}

static void write_file(const char *path, const uint8_t *p, size_t n,
		       int *fd)
{
	*fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(*fd >= 0);
	assert_int_equal(write(*fd, p, n), (ssize_t)n);
	assert_int_equal(lseek(*fd, 0, SEEK_SET), 0);
}

/*
 * A spool: count unknown until the commit (the table grows past its
 * first 64 entries), objects taken back from the write buffer and from
 * the file, a file that shrank leaving no trace; git checks the result.
 */
static void test_spool(void **state)
{
	struct fix *f = *state;
	const size_t flen = 3 * 65535 + 17;
	struct sb_packwrite *w;
	git_oid id[NSIZES + 100], gone[3], fid;
	git_odb_object *o;
	uint8_t *buf = malloc(1u << 20);
	char dir[128], path[160], cmd[64];
	size_t i, n = 0;
	int fd;

	assert_int_equal(sb_packwrite_dir(f->repo, dir, sizeof(dir)), 0);
	assert_int_equal(sb_packwrite_open_spool(&w, dir), 0);
	for (i = 0; i < NSIZES + 100; i++, n++) {
		size_t len = i < NSIZES ? sizes[i] : i;

		fill(buf, len, (unsigned)i << 16);
		sb_packwrite_id(&id[i], GIT_OBJECT_BLOB, buf, len);
		assert_int_equal(sb_packwrite_add(w, &id[i], GIT_OBJECT_BLOB,
						  buf, len), 0);
	}
	/* taken back after it went to the file: 1 MiB > the buffer */
	fill(buf, 1u << 20, 999);
	sb_packwrite_id(&gone[0], GIT_OBJECT_BLOB, buf, 1u << 20);
	assert_int_equal(sb_packwrite_add(w, &gone[0], GIT_OBJECT_BLOB, buf,
					  1u << 20), 0);
	assert_int_equal(sb_packwrite_drop_last(w), 0);
	/* taken back while still in the buffer */
	sb_packwrite_id(&gone[1], GIT_OBJECT_BLOB, "gone", 4);
	assert_int_equal(sb_packwrite_add(w, &gone[1], GIT_OBJECT_BLOB,
					  "gone", 4), 0);
	assert_int_equal(sb_packwrite_drop_last(w), 0);
	/* from a file: kept; a shrunk one: -EAGAIN and no trace */
	fill(buf, flen, 1234);
	snprintf(path, sizeof(path), "%s/f", f->root);
	write_file(path, buf, flen, &fd);
	assert_int_equal(sb_packwrite_add_fd(w, fd, flen, &fid), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(sb_packwrite_add_fd(w, fd, flen + 1, &gone[2]),
			 -EAGAIN);
	close(fd);
	assert_int_equal(sb_packwrite_count(w), n + 1);
	assert_int_equal(sb_packwrite_commit(w, NULL), 0);
	sb_packwrite_free(w);

	assert_int_equal(count(f->src, "objects/pack/tmp_*"), 0);
	assert_int_equal(git_odb_refresh(f->odb), 0);
	for (i = 0; i < n; i++) {
		size_t len = i < NSIZES ? sizes[i] : i;

		assert_int_equal(git_odb_read(&o, f->odb, &id[i]), 0);
		fill(buf, len, (unsigned)i << 16);
		assert_int_equal(git_odb_object_size(o), len);
		assert_memory_equal(git_odb_object_data(o), buf, len);
		git_odb_object_free(o);
	}
	assert_int_equal(git_odb_read(&o, f->odb, &fid), 0);
	fill(buf, flen, 1234);
	assert_memory_equal(git_odb_object_data(o), buf, flen);
	git_odb_object_free(o);
	assert_false(git_odb_exists(f->odb, &gone[0]));
	assert_false(git_odb_exists(f->odb, &gone[1]));
	snprintf(cmd, sizeof(cmd), "| grep -qx 'non delta: %zu objects'",
		 n + 1);
	snprintf(path, sizeof(path), "git verify-pack -s %%s/objects/pack/"
		 "pack-*.idx %s", cmd);
	assert_true(git_ok(path, f->src));
	assert_true(git_ok("git verify-pack %s/objects/pack/pack-*.idx "
			   ">/dev/null", f->src));
	free(buf);
}

/* A commit of n files named prefix-i on top of parent (NULL: first). */
static void commit_files(struct fix *f, git_oid *out, const char *prefix,
			 int n, const git_oid *parent)
{
	git_treebuilder *tb;
	git_signature *sig;
	git_commit *pc = NULL;
	git_tree *t;
	git_oid blob, tree;
	char name[64], data[128];
	int i;

	assert_int_equal(git_treebuilder_new(&tb, f->repo, NULL), 0);
	if (parent) {
		assert_int_equal(git_commit_lookup(&pc, f->repo, parent), 0);
		assert_int_equal(git_commit_tree(&t, pc), 0);
		git_treebuilder_free(tb);
		assert_int_equal(git_treebuilder_new(&tb, f->repo, t), 0);
		git_tree_free(t);
	}
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		snprintf(data, sizeof(data), "%s contents %d\n", prefix, i);
		assert_int_equal(git_blob_create_from_buffer(
					 &blob, f->repo, data, strlen(data)), 0);
		assert_int_equal(git_treebuilder_insert(NULL, tb, name, &blob,
							GIT_FILEMODE_BLOB), 0);
	}
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	git_treebuilder_free(tb);
	assert_int_equal(git_tree_lookup(&t, f->repo, &tree), 0);
	assert_int_equal(git_signature_new(&sig, "t", "t@example.org",
					   1700000000, 0), 0);
	assert_int_equal(git_commit_create_v(out, f->repo, NULL, sig, sig,
					     NULL, prefix, t, pc ? 1 : 0, pc),
			 0);
	git_signature_free(sig);
	git_tree_free(t);
	git_commit_free(pc);
}

static void remote_main(struct fix *f, git_oid *out)
{
	git_repository *r;

	/* a fresh handle: what another process would see */
	assert_int_equal(git_repository_open(&r, f->dst), 0);
	assert_int_equal(git_reference_name_to_id(out, r, "refs/heads/main"),
			 0);
	git_repository_free(r);
}

static void test_push(void **state)
{
	struct fix *f = *state;
	git_oid c1, c2, got;
	char url[128];

	commit_files(f, &c1, "one", 50, NULL);
	snprintf(url, sizeof(url), "file://%s", f->dst);
	assert_int_equal(sb_localpush(f->repo, url, "refs/heads/main", &c1,
				      NULL, NULL), 0);
	remote_main(f, &got);
	assert_true(git_oid_equal(&got, &c1));
	assert_int_equal(count(f->dst, "objects/pack/pack-*.idx"), 1);

	/* again: up to date, nothing written */
	assert_int_equal(sb_localpush(f->repo, f->dst, "refs/heads/main", &c1,
				      NULL, NULL), 0);
	assert_int_equal(count(f->dst, "objects/pack/pack-*.idx"), 1);

	/* a second commit sends only what the remote lacks: 1 commit,
	 * 1 tree, 2 blobs */
	commit_files(f, &c2, "two", 2, &c1);
	assert_int_equal(sb_localpush(f->repo, url, "refs/heads/main", &c2,
				      NULL, NULL), 0);
	remote_main(f, &got);
	assert_true(git_oid_equal(&got, &c2));
	assert_int_equal(count(f->dst, "objects/pack/pack-*.idx"), 2);
	assert_true(git_ok("test \"$(git -C '%s' count-objects -v | "
			   "sed -n 's/^in-pack: //p')\" = 56", f->dst));
	assert_true(git_ok("git -C '%s' fsck --full --no-progress "
			   ">/dev/null 2>&1", f->dst));
	assert_true(git_ok("test \"$(git -C '%s' log --format=%%s main | "
			   "tr '\\n' ' ')\" = 'two one '", f->dst));
}

static void test_refused(void **state)
{
	struct fix *f = *state;
	git_oid c1, c2, other, got;
	git_repository *keep = f->repo;
	char url[160];

	commit_files(f, &c1, "one", 3, NULL);
	assert_int_equal(sb_localpush(f->repo, f->dst, "refs/heads/main", &c1,
				      NULL, NULL), 0);
	/* another device pushes a commit this repository does not have */
	assert_int_equal(git_repository_open(&f->repo, f->dst), 0);
	commit_files(f, &other, "other", 1, &c1);
	assert_int_equal(git_reference_create(NULL, f->repo, "refs/heads/main",
					      &other, 1, NULL), 0);
	git_repository_free(f->repo);
	f->repo = keep;

	commit_files(f, &c2, "two", 1, &c1);
	assert_int_equal(sb_localpush(f->repo, f->dst, "refs/heads/main", &c2,
				      NULL, NULL), SB_EREJECT);
	assert_non_null(strstr(sb_err_msg(SB_EREJECT), "fetch, merge and push again"));
	remote_main(f, &got);
	assert_true(git_oid_equal(&got, &other));

	/* an older commit of ours is no fast-forward either */
	assert_int_equal(sb_localpush(f->repo, f->dst, "refs/heads/main", &c1,
				      NULL, NULL), SB_EREJECT);

	/* no repository there, and a work tree instead of a bare one */
	snprintf(url, sizeof(url), "file://%s/missing.git", f->root);
	assert_int_equal(sb_localpush(f->repo, url, "refs/heads/main", &c2,
				      NULL, NULL), SB_ENET);
	snprintf(url, sizeof(url), "%s/wt", f->root);
	{
		git_repository *wt;

		assert_int_equal(git_repository_init(&wt, url, 0), 0);
		git_repository_free(wt);
	}
	assert_int_equal(sb_localpush(f->repo, url, "refs/heads/main", &c2,
				      NULL, NULL), SB_EGIT);
}

static void test_url_forms(void **state)
{
	struct fix *f = *state;
	git_repository *r;
	git_oid c1, got;
	char url[192], path[160];

	commit_files(f, &c1, "one", 1, NULL);
	snprintf(path, sizeof(path), "%s/with space.git", f->root);
	assert_int_equal(git_repository_init(&r, path, 1), 0);
	git_repository_free(r);
	snprintf(url, sizeof(url), "file://localhost%s/with%%20space.git",
		 f->root);
	assert_int_equal(sb_localpush(f->repo, url, "refs/heads/main", &c1,
				      NULL, NULL), 0);
	assert_int_equal(git_repository_open(&r, path), 0);
	assert_int_equal(git_reference_name_to_id(&got, r, "refs/heads/main"),
			 0);
	assert_true(git_oid_equal(&got, &c1));
	git_repository_free(r);
	assert_int_equal(sb_localpush(f->repo, "file://host/x",
				      "refs/heads/main", &c1, NULL, NULL),
			 SB_ENET);
}

/* A damaged object of ours never reaches the remote. */
static void test_damaged(void **state)
{
	struct fix *f = *state;
	git_oid c1, b, got;
	char pb[256], hex[41], cmd[600];

	assert_int_equal(git_blob_create_from_buffer(&b, f->repo, "bbb", 3), 0);
	commit_files(f, &c1, "one", 2, NULL);
	/* one-0's blob file now holds another blob's bytes */
	git_oid_tostr(hex, sizeof(hex), &b);
	snprintf(pb, sizeof(pb), "%s/objects/%.2s/%s", f->src, hex, hex + 2);
	{
		git_tree *t;
		git_commit *c;
		const git_tree_entry *e;

		assert_int_equal(git_commit_lookup(&c, f->repo, &c1), 0);
		assert_int_equal(git_commit_tree(&t, c), 0);
		e = git_tree_entry_byname(t, "one-0");
		assert_non_null(e);
		git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
		git_tree_free(t);
		git_commit_free(c);
	}
	snprintf(cmd, sizeof(cmd), "cp -f '%s' '%s/objects/%.2s/%s'", pb,
		 f->src, hex, hex + 2);
	assert_int_equal(system(cmd), 0);
	/* a fresh handle, without objects cached */
	git_odb_free(f->odb);
	git_repository_free(f->repo);
	assert_int_equal(git_repository_open(&f->repo, f->src), 0);
	assert_int_equal(git_repository_odb(&f->odb, f->repo), 0);
	assert_int_equal(sb_localpush(f->repo, f->dst, "refs/heads/main", &c1,
				      NULL, NULL), SB_EFORMAT);
	assert_non_null(strstr(sb_err_msg(SB_EFORMAT), "is damaged"));
	assert_int_not_equal(git_reference_name_to_id(&got, f->bare,
						      "refs/heads/main"), 0);
	assert_int_equal(count(f->dst, "objects/pack/*"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stored_pack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_count_mismatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_from_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_url_forms, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

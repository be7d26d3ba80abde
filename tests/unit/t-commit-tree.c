#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/names.h"
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "fs/store.h"
#include "sync/changes.h"
#include "sync/commit.h"
#include "sync/repo.h"
#include "sync/statcache.h"
#include "tests/unit/util.h"

/*
 * Incremental commits (sb_commit_scan / sb_commit_changes) against the
 * whole-tree commit (sb_repo_commit_all) on the same store: same trees
 * after every kind of change, no empty fan-out trees, per-machine state
 * never in a tree, unchanged files never read, packs for many objects.
 */

struct fix {
	char root[64];
	char cache[160];
	struct sb_repo *r;
	struct sb_store *st;
	struct sb_statcache *sc;
	struct sb_names *names;
	struct sb_signkey *key;
	struct sb_commit_opts o;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sb_secrets *s = fixed_secrets();
	uint8_t seed[SB_ED25519_LEN];
	char dir[128];

	snprintf(f->root, sizeof(f->root), "/tmp/t-commit.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(sb_repo_init(&f->r, f->root), 0);
	snprintf(dir, sizeof(dir), "%s/.git/sealbox", f->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(f->cache, sizeof(f->cache), "%s/statcache", dir);
	assert_int_equal(sb_statcache_open(&f->sc, f->cache), 0);
	assert_int_equal(sb_store_open(&f->st, f->root, s), 0);
	assert_int_equal(sb_names_new(&f->names, s), 0);
	sb_secrets_free(s);
	memset(seed, 0x5a, sizeof(seed));
	assert_int_equal(sb_signkey_from_seed(&f->key, seed), 0);
	f->o.message = "test commit";
	f->o.name = "laptop";
	f->o.email = "laptop@sealbox";
	f->o.sign = sign_cb;
	f->o.sign_ctx = f->key;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	sb_statcache_free(f->sc);
	sb_store_free(f->st);
	sb_names_free(f->names);
	sb_signkey_free(f->key);
	sb_repo_free(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		return 1;
	free(f);
	return 0;
}

/* Helpers: store paths, store changes, commits, trees. */

static const char *bp(struct fix *f, const char *plain)
{
	static char buf[8][PATH_MAX];
	static int k;
	char *b = buf[k++ & 7];

	assert_int_equal(sb_store_backing_path(f->st, b, PATH_MAX, plain), 0);
	return b;
}

static void abs_path(struct fix *f, char *out, const char *plain)
{
	snprintf(out, PATH_MAX, "%s/%s", f->root, bp(f, plain));
}

static void put(struct fix *f, const char *plain, const char *text)
{
	assert_int_equal(sb_store_write_file(f->st, plain, text, strlen(text),
					     0600, NULL), 0);
}

static void meta(struct fix *f, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.sealbox", f->root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static void mv(struct fix *f, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	abs_path(f, a, from);
	abs_path(f, b, to);
	assert_int_equal(rename(a, b), 0);
}

static void mklink(struct fix *f, const char *plain, const char *target)
{
	char enc[SB_SYMLINK_ENC_MAX], path[PATH_MAX];

	assert_int_equal(sb_names_encrypt_target(f->names, enc, target,
						 strlen(target)), 0);
	abs_path(f, path, plain);
	assert_int_equal(symlink(enc, path), 0);
}

/* Commits the backing paths of the plaintext paths given (NULL ends). */
static int commit_plain(struct fix *f, char oid[SB_OID_HEX], ...)
{
	struct sb_changes *c;
	const char *p;
	va_list ap;
	int rc;

	assert_int_equal(sb_changes_new(&c), 0);
	va_start(ap, oid);
	while ((p = va_arg(ap, const char *)))
		assert_int_equal(sb_changes_add(c, bp(f, p)), 0);
	va_end(ap);
	rc = sb_commit_changes(f->r, f->st, f->sc, c, &f->o, oid);
	sb_changes_free(c);
	return rc;
}

static int commit_scan(struct fix *f, char oid[SB_OID_HEX])
{
	struct sb_changes *c;
	int rc;

	assert_int_equal(sb_changes_new(&c), 0);
	c->all = 1;
	rc = sb_commit_changes(f->r, f->st, f->sc, c, &f->o, oid);
	sb_changes_free(c);
	return rc;
}

static void head_tree(struct fix *f, char tree[SB_OID_HEX])
{
	char head[SB_OID_HEX];

	assert_int_equal(sb_repo_head(f->r, head), 0);
	assert_int_equal(sb_repo_commit_tree_id(f->r, head, tree), 0);
}

static FILE *git(struct fix *f, const char *args)
{
	static char cmd[PATH_MAX * 4];

	snprintf(cmd, sizeof(cmd), "git -c safe.directory='*' -C '%s' %s",
		 f->root, args);
	return popen(cmd, "r");
}

/* Every tree in HEAD has something in it (no empty fan-out levels). */
static void no_empty_trees(struct fix *f)
{
	char line[2][PATH_MAX * 3];
	char *path[2] = { NULL, NULL };
	FILE *p = git(f, "ls-tree -r -t --full-tree HEAD");
	int k = 0, n = 0;

	assert_non_null(p);
	while (fgets(line[k], sizeof(line[k]), p)) {
		line[k][strcspn(line[k], "\n")] = '\0';
		path[k] = strchr(line[k], '\t') + 1;
		if (path[!k] && strstr(line[!k], " tree ")) {
			size_t len = strlen(path[!k]);

			if (strncmp(path[k], path[!k], len) || path[k][len] != '/')
				fail_msg("empty tree %s", path[!k]);
		}
		k = !k;
		n++;
	}
	assert_int_equal(pclose(p), 0);
	if (n && strstr(line[!k], " tree "))
		fail_msg("empty tree %s at the end", path[!k]);
}

/*
 * The tree sb_repo_commit_all() builds from the same directory equals
 * HEAD's tree (it commits on top, with the same tree).
 */
static void same_as_all(struct fix *f)
{
	char ours[SB_OID_HEX], all[SB_OID_HEX], oid[SB_OID_HEX];

	head_tree(f, ours);
	no_empty_trees(f);
	assert_int_equal(sb_repo_commit_all(f->r, oid, "all", "laptop",
					    "laptop@sealbox", sign_cb, f->key),
			 0);
	assert_int_equal(sb_repo_commit_tree_id(f->r, oid, all), 0);
	assert_string_equal(ours, all);
}

static void fsck(struct fix *f)
{
	FILE *p = git(f, "fsck --strict --no-dangling 2>&1");
	char line[512];

	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		print_message("# fsck: %s", line);
	assert_int_equal(pclose(p), 0);
}

/* The mode of a plaintext path's entry at HEAD ("100644"...). */
static void head_mode(struct fix *f, const char *plain, const char *want)
{
	char tpath[PATH_MAX * 3], args[PATH_MAX * 3 + 64], line[1024];
	FILE *p;

	sb_repo_tree_path(tpath, bp(f, plain));
	snprintf(args, sizeof(args), "ls-tree --full-tree HEAD -- '%s'", tpath);
	assert_non_null(p = git(f, args));
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	line[6] = '\0';
	assert_string_equal(line, want);
}

static int in_head(struct fix *f, const char *store_path)
{
	void *buf;
	size_t len;
	int rc = sb_repo_head_file(f->r, store_path, &buf, &len);

	if (!rc)
		free(buf);
	assert_true(rc == 0 || rc == -ENOENT);
	return rc == 0;
}

static void maildir(struct fix *f, const char *folder)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/cur", folder);
	assert_int_equal(sb_store_mkdir(f->st, p, 0700), 0);
	snprintf(p, sizeof(p), "%s/new", folder);
	assert_int_equal(sb_store_mkdir(f->st, p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tmp", folder);
	assert_int_equal(sb_store_mkdir(f->st, p, 0700), 0);
}

static const char *msg(int i, const char *flags)
{
	static char buf[4][128];
	static int k;
	char *b = buf[k++ & 3];

	snprintf(b, 128, "mail/cur/17000%05d.M%dP1.host:2,%s", i, i, flags);
	return b;
}

static void messages(struct fix *f, int from, int to)
{
	char text[128];
	int i;

	for (i = from; i < to; i++) {
		snprintf(text, sizeof(text), "Subject: %d\n\nbody %d\n", i, i);
		put(f, msg(i, "S"), text);
	}
}

/* A vault made as init makes it, then changed and committed. */
static void test_matches_commit_all(void **state)
{
	struct fix *f = *state;
	char oid[SB_OID_HEX], head[SB_OID_HEX], path[PATH_MAX];
	char longname[256];
	int i;

	meta(f, ".sealbox/policy", "policy 1\n");
	maildir(f, "mail");
	messages(f, 0, 30);
	assert_int_equal(sb_repo_commit_all(f->r, oid, "init", "laptop",
					    "laptop@sealbox", sign_cb, f->key),
			 0);

	/* an empty stat cache: everything is hashed, nothing changed */
	assert_int_equal(commit_scan(f, oid), 1);
	assert_int_equal(sb_repo_head(f->r, head), 0);
	assert_string_equal(oid, head);

	/* a delivery and a flag change (a rename) */
	put(f, "mail/new/1800000000.M1P1.host", "Subject: new\n\nhi\n");
	mv(f, msg(3, "S"), msg(3, "RS"));
	assert_int_equal(commit_plain(f, oid, "mail/new/1800000000.M1P1.host",
				      msg(3, "S"), msg(3, "RS"), NULL), 0);
	assert_true(in_head(f, bp(f, msg(3, "RS"))));
	assert_false(in_head(f, bp(f, msg(3, "S"))));
	same_as_all(f);

	/* deletions */
	for (i = 10; i < 20; i++) {
		assert_int_equal(sb_store_unlink(f->st, msg(i, "S")), 0);
		assert_int_equal(commit_plain(f, oid, msg(i, "S"), NULL), 0);
	}
	same_as_all(f);

	/* a new folder, reported as its directory only */
	maildir(f, "mail/.Sent");
	put(f, "mail/.Sent/cur/1.M1P1.host:2,S", "sent 1\n");
	put(f, "mail/.Sent/new/2.M1P1.host", "sent 2\n");
	assert_int_equal(commit_plain(f, oid, "mail/.Sent", NULL), 0);
	same_as_all(f);

	/* a symlink and an executable file */
	mklink(f, "mail/link", "cur/x");
	assert_int_equal(sb_store_mkdir(f->st, "bin", 0755), 0);
	put(f, "bin/run.sh", "#!/bin/sh\necho hi\n");
	abs_path(f, path, "bin/run.sh");
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(commit_plain(f, oid, "mail/link", "bin", NULL), 0);
	head_mode(f, "mail/link", "120000");
	head_mode(f, "bin/run.sh", "100755");
	head_mode(f, msg(0, "S"), "100644");
	same_as_all(f);

	/* the folder goes again, reported as its directory only */
	assert_int_equal(sb_store_unlink(f->st, "mail/.Sent/cur/1.M1P1.host:2,S"),
			 0);
	assert_int_equal(sb_store_unlink(f->st, "mail/.Sent/new/2.M1P1.host"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/.Sent/cur"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/.Sent/new"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/.Sent/tmp"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/.Sent"), 0);
	assert_int_equal(commit_plain(f, oid, "mail/.Sent", NULL), 0);
	same_as_all(f);

	/* cur/ emptied, reported as cur/ only: its fan-out levels go */
	for (i = 0; i < 30; i++)
		sb_store_unlink(f->st, msg(i, "S"));
	sb_store_unlink(f->st, msg(3, "RS"));
	assert_int_equal(commit_plain(f, oid, "mail/cur", NULL), 0);
	same_as_all(f);

	/* a long name (with its sidecar), found by a scan */
	memset(longname, 'l', sizeof(longname));
	memcpy(longname, "mail/cur/", 9);
	longname[220] = '\0';
	put(f, longname, "long\n");
	assert_int_equal(commit_scan(f, oid), 0);
	snprintf(path, sizeof(path), "%s.n", bp(f, longname));
	assert_true(in_head(f, path));
	same_as_all(f);
	fsck(f);
}

/* A file that becomes a directory and back, under the same name. */
static void test_type_changes(void **state)
{
	struct fix *f = *state;
	char oid[SB_OID_HEX];

	maildir(f, "mail");
	put(f, "mail/x", "file\n");
	put(f, "mail/y", "file\n");
	assert_int_equal(commit_scan(f, oid), 0);
	same_as_all(f);

	assert_int_equal(sb_store_unlink(f->st, "mail/x"), 0);
	assert_int_equal(sb_store_mkdir(f->st, "mail/x/sub", 0700), 0);
	put(f, "mail/x/a", "a\n");
	put(f, "mail/x/sub/b", "b\n");
	assert_int_equal(commit_plain(f, oid, "mail/x", NULL), 0);
	same_as_all(f);

	assert_int_equal(sb_store_unlink(f->st, "mail/x/sub/b"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/x/sub"), 0);
	put(f, "mail/x/sub", "now a file\n");
	assert_int_equal(commit_plain(f, oid, "mail/x", NULL), 0);
	same_as_all(f);

	assert_int_equal(sb_store_unlink(f->st, "mail/x/sub"), 0);
	assert_int_equal(sb_store_unlink(f->st, "mail/x/a"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/x"), 0);
	put(f, "mail/x", "a file again\n");
	/* reported as the file only, as inotify would for the last step */
	assert_int_equal(commit_plain(f, oid, "mail/x", NULL), 0);
	same_as_all(f);

	/* the same again through a scan */
	assert_int_equal(sb_store_unlink(f->st, "mail/y"), 0);
	assert_int_equal(sb_store_mkdir(f->st, "mail/y", 0700), 0);
	put(f, "mail/y/z", "z\n");
	assert_int_equal(commit_scan(f, oid), 0);
	same_as_all(f);
	fsck(f);
}

static const char *const local_state[] = {
	"mail/tmp/1700000000.M9P9.host",
	"mail/dovecot.index.cache",
	"mail/dovecot-uidlist",
	"mail/.uidvalidity",
	"mail/.mbsyncstate",
	"mail/cur/1700000001.M1P1.host:2,S~",
	"mail/tmp/sub/deep",
	NULL
};

static void make_local_state(struct fix *f, char *longtmp)
{
	const char *const *p;

	maildir(f, "mail");
	assert_int_equal(sb_store_mkdir(f->st, "mail/tmp/sub", 0700), 0);
	for (p = local_state; *p; p++)
		put(f, *p, "local\n");
	memset(longtmp, 't', 230);
	memcpy(longtmp, "mail/tmp/", 9);
	longtmp[230] = '\0';
	put(f, longtmp, "long local\n");
	put(f, "mail/cur/1700000001.M1P1.host:2,S", "kept\n");
}

static void no_local_state(struct fix *f, const char *longtmp)
{
	char side[PATH_MAX];
	const char *const *p;

	for (p = local_state; *p; p++)
		if (in_head(f, bp(f, *p)))
			fail_msg("%s committed", *p);
	assert_false(in_head(f, bp(f, longtmp)));
	snprintf(side, sizeof(side), "%s.n", bp(f, longtmp));
	assert_false(in_head(f, side));
	snprintf(side, sizeof(side), "%s/" SB_STORE_MARKER,
		 bp(f, "mail/tmp/sub"));
	assert_false(in_head(f, side));
	/* tmp/ itself exists everywhere */
	snprintf(side, sizeof(side), "%s/" SB_STORE_MARKER, bp(f, "mail/tmp"));
	assert_true(in_head(f, side));
	assert_true(in_head(f, bp(f, "mail/cur/1700000001.M1P1.host:2,S")));
}

/* Per-machine state never enters a tree, however it is reported. */
static void test_ignored_scan(void **state)
{
	struct fix *f = *state;
	char oid[SB_OID_HEX], longtmp[256];

	make_local_state(f, longtmp);
	assert_int_equal(commit_scan(f, oid), 0);
	no_local_state(f, longtmp);
	/* reported again: nothing to commit */
	assert_int_equal(commit_scan(f, oid), 1);
	assert_int_equal(commit_plain(f, oid, local_state[0], local_state[1],
				      longtmp, NULL), 1);
}

static void test_ignored_listed(void **state)
{
	struct fix *f = *state;
	char oid[SB_OID_HEX], longtmp[256], side[PATH_MAX];
	struct sb_changes *c;
	const char *const *p;

	make_local_state(f, longtmp);
	assert_int_equal(sb_changes_new(&c), 0);
	for (p = local_state; *p; p++)
		assert_int_equal(sb_changes_add(c, bp(f, *p)), 0);
	assert_int_equal(sb_changes_add(c, bp(f, longtmp)), 0);
	snprintf(side, sizeof(side), "%s.n", bp(f, longtmp));
	assert_int_equal(sb_changes_add(c, side), 0);
	assert_int_equal(sb_changes_add(c, bp(f, "mail/tmp/sub")), 0);
	snprintf(side, sizeof(side), "%s/" SB_STORE_MARKER, bp(f, "mail/tmp"));
	assert_int_equal(sb_changes_add(c, side), 0);
	assert_int_equal(sb_changes_add(c, bp(f,
				"mail/cur/1700000001.M1P1.host:2,S")), 0);
	assert_int_equal(sb_commit_changes(f->r, f->st, f->sc, c, &f->o, oid),
			 0);
	sb_changes_free(c);
	no_local_state(f, longtmp);
}

static void test_ignored_expanded(void **state)
{
	struct fix *f = *state;
	char oid[SB_OID_HEX], longtmp[256];

	make_local_state(f, longtmp);
	assert_int_equal(commit_plain(f, oid, "mail", NULL), 0);
	no_local_state(f, longtmp);
}

static void chown_tree(const char *root, int uid)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "chown -R %d:%d '%s'", uid, uid, root);
	assert_int_equal(system(cmd), 0);
}

/* In a child as another user: commit everything, 0 or the error. */
static int commit_as(struct fix *f, int uid, const char *unreadable)
{
	char oid[SB_OID_HEX];
	pid_t pid;
	int status, rc, fd;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid((gid_t)uid) || setuid((uid_t)uid))
			_exit(100);
		fd = open(unreadable, O_RDONLY);
		if (fd >= 0 || errno != EACCES)
			_exit(101);	/* the test would prove nothing */
		rc = commit_scan(f, oid);
		if (rc < 0)
			fprintf(stderr, "# child: %s\n", sb_err_msg(rc));
		_exit(rc == 0 ? 0 : rc == -EACCES ? 13 : 102);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/*
 * A file whose stat matches the cache is not read: made unreadable to
 * the committing user (after it was cached), the scan and the commit of
 * another change still succeed and keep its blob; once the cache
 * forgets it, the same commit fails on it.
 */
static void test_unchanged_not_read(void **state)
{
	struct fix *f = *state;
	struct sb_statcache_ent e;
	char oid[SB_OID_HEX], path[PATH_MAX], before[PATH_MAX * 2];
	const char *m = msg(5, "S");
	struct stat st;
	void *buf;
	size_t len;

	maildir(f, "mail");
	messages(f, 0, 20);
	assert_int_equal(commit_scan(f, oid), 0);
	assert_int_equal(sb_statcache_get(f->sc, bp(f, m), &e), 0);
	abs_path(f, path, m);
	assert_int_equal(sb_repo_head_file(f->r, bp(f, m), &buf, &len), 0);
	free(buf);

	/* unreadable, then cached as it is now (as a checkout would) */
	assert_int_equal(chmod(path, 0), 0);
	messages(f, 7, 8);	/* another message changes */
	chown_tree(f->root, 65534);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(sb_statcache_put(f->sc, bp(f, m), &st, e.oid), 0);
	assert_int_equal(sb_statcache_save(f->sc), 0);
	assert_int_equal(chown(f->cache, 65534, 65534), 0);
	snprintf(before, sizeof(before), "%s", e.oid);
	assert_int_equal(commit_as(f, 65534, path), 0);

	/* the cache on disk has the child's commit; HEAD moved */
	sb_statcache_free(f->sc);
	assert_int_equal(sb_statcache_open(&f->sc, f->cache), 0);
	assert_int_equal(sb_statcache_get(f->sc, bp(f, m), &e), 0);
	assert_string_equal(e.oid, before);
	assert_true(in_head(f, bp(f, m)));
	assert_true(in_head(f, bp(f, msg(7, "S"))));

	/* control: without the cache entry the file must be read */
	assert_int_equal(sb_statcache_del(f->sc, bp(f, m)), 0);
	assert_int_equal(sb_statcache_save(f->sc), 0);
	chown_tree(f->root, 65534);
	assert_int_equal(commit_as(f, 65534, path), 13);
	chown_tree(f->root, 0);
}

static int count_files(const char *dir, const char *pattern)
{
	char cmd[512], line[64];
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "find '%s' -path '%s' -type f | wc -l", dir, pattern);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	return atoi(line);
}

/* Many new files: one pack, no loose blobs or trees. */
static void test_pack(void **state)
{
	struct fix *f = *state;
	char oid[SB_OID_HEX], objs[128];

	maildir(f, "mail");
	messages(f, 0, 300);
	assert_int_equal(commit_plain(f, oid, "mail", NULL), 0);
	snprintf(objs, sizeof(objs), "%s/.git/objects", f->root);
	assert_int_equal(count_files(objs, "*/pack/pack-*.pack"), 1);
	assert_int_equal(count_files(objs, "*/pack/pack-*.idx"), 1);
	/* the commit object only */
	assert_int_equal(count_files(objs, "*/objects/[0-9a-f][0-9a-f]/*"), 1);
	fsck(f);
	same_as_all(f);

	/* a small change: loose objects, no new pack */
	messages(f, 300, 301);
	assert_int_equal(commit_plain(f, oid, msg(300, "S"), NULL), 0);
	assert_int_equal(count_files(objs, "*/pack/pack-*.pack"), 1);
	same_as_all(f);

	/* a low threshold packs a small change */
	f->o.pack_threshold = 2;
	messages(f, 301, 303);
	assert_int_equal(commit_plain(f, oid, msg(301, "S"), msg(302, "S"),
				      NULL), 0);
	assert_int_equal(count_files(objs, "*/pack/pack-*.pack"), 2);
	fsck(f);
	same_as_all(f);
}

/* After a restart: what was deleted meanwhile is found by the scan. */
static void test_scan_gone(void **state)
{
	struct fix *f = *state;
	char oid[SB_OID_HEX];
	int i;

	maildir(f, "mail");
	maildir(f, "mail/.Trash");
	messages(f, 0, 40);
	put(f, "mail/.Trash/cur/1.M1P1.host:2,S", "trash\n");
	assert_int_equal(commit_scan(f, oid), 0);
	for (i = 0; i < 40; i += 3)
		assert_int_equal(sb_store_unlink(f->st, msg(i, "S")), 0);
	assert_int_equal(sb_store_unlink(f->st,
					 "mail/.Trash/cur/1.M1P1.host:2,S"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/.Trash/cur"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/.Trash/new"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/.Trash/tmp"), 0);
	assert_int_equal(sb_store_rmdir(f->st, "mail/.Trash"), 0);
	/* a fresh stat cache object, as after a restart */
	sb_statcache_free(f->sc);
	assert_int_equal(sb_statcache_open(&f->sc, f->cache), 0);
	assert_int_equal(commit_scan(f, oid), 0);
	assert_false(in_head(f, bp(f, msg(0, "S"))));
	assert_true(in_head(f, bp(f, msg(1, "S"))));
	same_as_all(f);
	assert_int_equal(commit_scan(f, oid), 1);
}

static void test_no_change(void **state)
{
	struct fix *f = *state;
	char oid[SB_OID_HEX], first[SB_OID_HEX], parents[256], path[PATH_MAX];
	FILE *p;

	/* nothing at all: no commit, no HEAD */
	assert_int_equal(commit_scan(f, oid), 1);
	assert_string_equal(oid, "");
	assert_int_equal(sb_repo_head(f->r, oid), -ENOENT);

	maildir(f, "mail");
	messages(f, 0, 3);
	assert_int_equal(commit_scan(f, first), 0);
	assert_int_equal(commit_scan(f, oid), 1);
	assert_string_equal(oid, first);
	/* a stat change without a content change: hashed, no commit */
	abs_path(f, path, msg(1, "S"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(commit_plain(f, oid, msg(1, "S"), NULL), 1);
	assert_string_equal(oid, first);
	/* a path that never existed */
	assert_int_equal(commit_plain(f, oid, "mail/cur/nope", NULL), 1);
	/* touched next to changed: the tree has both as they are */
	assert_int_equal(chmod(path, 0644), 0);
	put(f, msg(2, "S"), "changed\n");
	assert_int_equal(commit_plain(f, oid, msg(1, "S"), msg(2, "S"),
				      msg(0, "S"), NULL), 0);
	same_as_all(f);
	assert_int_equal(commit_scan(f, oid), 1);	/* nothing left */

	/* a merge commits even an unchanged tree, with both parents */
	messages(f, 3, 4);
	assert_int_equal(commit_scan(f, oid), 0);
	f->o.merge_parent = first;
	assert_int_equal(commit_scan(f, oid), 0);
	f->o.merge_parent = NULL;
	assert_non_null(p = git(f, "rev-list --parents -n 1 HEAD"));
	assert_non_null(fgets(parents, sizeof(parents), p));
	pclose(p);
	assert_non_null(strstr(parents, first));
	assert_int_equal(strlen(parents), 3 * 41);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_matches_commit_all, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_type_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ignored_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored_listed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ignored_expanded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_not_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_change, setup, teardown),
	};

	sb_crypto_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

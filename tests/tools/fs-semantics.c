/*
 * fs-semantics: checks, inside a directory, the POSIX semantics that mail
 * and PIM tools rely on (issue 3, section 2), and prints TAP.
 *
 *   fs-semantics [-k] DIR              every check, in a fresh DIR/fss.XXXXXX
 *                                      (-k keeps it afterwards)
 *   fs-semantics --phase1 DIR [STATE]  creates DIR/persist and records inode
 *                                      numbers, modes, owners, link counts,
 *                                      sizes, mtimes and content hashes in
 *                                      STATE (default ./fs-semantics.state)
 *   fs-semantics --phase2 DIR STATE    checks DIR/persist against STATE
 *                                      (after an unmount and a new mount)
 *
 * Every check must pass on a native Linux filesystem (ext4, tmpfs). Checks
 * that need root (chown, other uids) are reported as SKIP otherwise.
 * A failed check prints "not ok N - what # got errno X want Y" (or got/want
 * values). The plan line comes last. Exit 0 when all passed, 1 when one
 * failed, 2 on usage errors.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OTHER_UID 1234
#define OTHER_GID 1234
#define FS_UID 1235
#define FS_GID 2345
#define PAUSE_MS 25

static int n_test;
static int n_fail;
static char work[PATH_MAX];
static struct timespec t_start;

/* ---- reporting ---- */

static const char *ename(int e)
{
	static char buf[4][32];
	static int next;
	const char *s;
	char *b;

	if (e == 0)
		return "0";
	s = strerrorname_np(e);
	if (s)
		return s;
	b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "errno %d", e);
	return b;
}

/* TAP treats '#' as the start of a directive: escape it in descriptions. */
static void put_escaped(const char *s)
{
	for (; *s; s++) {
		if (*s == '#')
			fputc('\\', stdout);
		fputc(*s, stdout);
	}
}

static int check(int pass, const char *desc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int check(int pass, const char *desc, const char *fmt, ...)
{
	va_list ap;

	n_test++;
	printf("%sok %d - ", pass ? "" : "not ", n_test);
	put_escaped(desc);
	if (!pass) {
		n_fail++;
		if (fmt) {
			fputs(" # ", stdout);
			va_start(ap, fmt);
			vprintf(fmt, ap);
			va_end(ap);
		}
	}
	fputc('\n', stdout);
	fflush(stdout);
	return pass;
}

static void skip(const char *desc, const char *why)
{
	n_test++;
	printf("ok %d - ", n_test);
	put_escaped(desc);
	printf(" # SKIP %s\n", why);
	fflush(stdout);
}

/* got: 0 for success or the errno; want: 0 or the expected errno. */
static int ck_err(const char *desc, int got, int want)
{
	return check(got == want, desc, "got errno %s want %s", ename(got),
		     ename(want));
}

static int ck_eq(const char *desc, long long got, long long want)
{
	return check(got == want, desc, "got %lld want %lld", got, want);
}

static int ck_oct(const char *desc, unsigned got, unsigned want)
{
	return check(got == want, desc, "got %04o want %04o", got, want);
}

#define SYS(call) ((call) < 0 ? errno : 0)

/* ---- paths, files, time ---- */

static char *wp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A path under the work directory; 16 rotating buffers. */
static char *wp(const char *fmt, ...)
{
	static char bufs[16][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 16];
	va_list ap;
	int n;

	n = snprintf(b, PATH_MAX, "%s/", work);
	va_start(ap, fmt);
	vsnprintf(b + n, PATH_MAX - n, fmt, ap);
	va_end(ap);
	return b;
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates or replaces path with len bytes; 0 or an errno. */
static int put(const char *path, const void *buf, size_t len)
{
	int fd, err;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return errno;
	err = write_all(fd, buf, len);
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

static int puts_file(const char *path, const char *s)
{
	return put(path, s, strlen(s));
}

/* Reads a whole file into *out (malloc'd, NUL-terminated); 0 or errno. */
static int slurp_fd(int fd, char **out, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap + 1), *nb;
	ssize_t r;

	if (!buf)
		return ENOMEM;
	for (;;) {
		if (n == cap) {
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return ENOMEM;
			}
			buf = nb;
		}
		r = pread(fd, buf + n, cap - n, (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = errno;
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int slurp(const char *path, char **out, size_t *len)
{
	int fd, err;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno;
	err = slurp_fd(fd, out, len);
	close(fd);
	return err;
}

/* Compares contents; fills why with the first difference. */
static int same_bytes(const char *got, size_t glen, const void *want,
		      size_t wlen, char *why, size_t whylen)
{
	const unsigned char *w = want;
	size_t i;

	if (glen != wlen) {
		snprintf(why, whylen, "size got %zu want %zu", glen, wlen);
		return 0;
	}
	for (i = 0; i < glen; i++) {
		if ((unsigned char)got[i] != w[i]) {
			snprintf(why, whylen,
				 "byte %zu got 0x%02x want 0x%02x", i,
				 (unsigned char)got[i], w[i]);
			return 0;
		}
	}
	return 1;
}

static int ck_content(const char *desc, const char *path, const void *want,
		      size_t wlen)
{
	char why[128] = "", *got = NULL;
	size_t glen = 0;
	int err, ok;

	err = slurp(path, &got, &glen);
	if (err)
		return check(0, desc, "got errno %s want 0", ename(err));
	ok = same_bytes(got, glen, want, wlen, why, sizeof(why));
	free(got);
	return check(ok, desc, "%s", why);
}

static int ck_text(const char *desc, const char *path, const char *want)
{
	return ck_content(desc, path, want, strlen(want));
}

/* st of path (lstat); on failure st is zeroed and errno returned. */
static int lst(const char *path, struct stat *st)
{
	if (lstat(path, st) == 0)
		return 0;
	memset(st, 0, sizeof(*st));
	return errno;
}

static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

static const char *ts_str(struct timespec t)
{
	static char buf[4][48];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%lld.%09ld", (long long)t.tv_sec,
		 t.tv_nsec);
	return b;
}

static struct timespec ts_make(time_t s, long ns)
{
	struct timespec t = { s, ns };

	return t;
}

static int ck_ts(const char *desc, struct timespec got, struct timespec want)
{
	return check(ts_cmp(got, want) == 0, desc, "got %s want %s",
		     ts_str(got), ts_str(want));
}

static int mk(const char *path)
{
	return SYS(mkdir(path, 0755));
}

static int open_excl(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

static int rm_rf(const char *path)
{
	if (nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return errno ? errno : EIO;
	return 0;
}

/* Whether name is listed in dir; *type gets its d_type, *ino its d_ino. */
static int dir_has(const char *dir, const char *name, int *type, ino_t *ino)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, name) == 0) {
			found++;
			if (type)
				*type = de->d_type;
			if (ino)
				*ino = de->d_ino;
		}
	}
	closedir(d);
	return found;
}

/* Number of entries of dir, without "." and ".."; -1 on error. */
static long dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- child processes ---- */

typedef void (*child_fn)(void *arg, int out[4]);

/*
 * Runs fn in a forked child; the child's four result ints come back
 * through a pipe. Returns 0 when the child ran to its end.
 */
static int run_child(child_fn fn, void *arg, int out[4])
{
	int p[2], st, o[4] = { -1, -1, -1, -1 };
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		fn(arg, o);
		n = write(p[1], o, sizeof(o));
		_exit(n == (ssize_t)sizeof(o) ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], out, sizeof(o));
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(o) || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return 0;
}

/* ---- 1. rename ---- */

static void t_rename_basic(void)
{
	struct stat a, b;

	mk(wp("ren"));
	mk(wp("ren/a"));
	mk(wp("ren/b"));
	puts_file(wp("ren/x"), "one");
	ck_err("rename() a file within a directory",
	       SYS(rename(wp("ren/x"), wp("ren/y"))), 0);
	ck_err("old name is gone after rename (ENOENT)",
	       lst(wp("ren/x"), &a), ENOENT);
	ck_text("renamed file keeps its contents", wp("ren/y"), "one");

	puts_file(wp("ren/src"), "new contents");
	puts_file(wp("ren/dst"), "old");
	lst(wp("ren/src"), &a);
	ck_err("rename() replaces an existing file",
	       SYS(rename(wp("ren/src"), wp("ren/dst"))), 0);
	ck_text("replaced target has the source's contents", wp("ren/dst"),
		"new contents");
	lst(wp("ren/dst"), &b);
	ck_eq("replaced target has the source's st_ino", (long long)b.st_ino,
	      (long long)a.st_ino);
	ck_err("source name is gone after a replacing rename (ENOENT)",
	       lst(wp("ren/src"), &a), ENOENT);

	puts_file(wp("ren/a/m"), "moved");
	ck_err("rename() across directories",
	       SYS(rename(wp("ren/a/m"), wp("ren/b/m"))), 0);
	ck_text("file renamed across directories keeps its contents",
		wp("ren/b/m"), "moved");
	puts_file(wp("ren/a/r"), "A");
	puts_file(wp("ren/b/r"), "B");
	ck_err("rename() across directories replaces an existing file",
	       SYS(rename(wp("ren/a/r"), wp("ren/b/r"))), 0);
	ck_text("... and the target has the source's contents", wp("ren/b/r"),
		"A");
}

static void t_rename_maildir(void)
{
	static const char *msg = "From: a@b\r\nSubject: x\r\n\r\nbody\r\n";
	const char *n = "1700000000.M1P2Q3.host,S=33";

	mk(wp("md"));
	mk(wp("md/tmp"));
	mk(wp("md/new"));
	mk(wp("md/cur"));
	puts_file(wp("md/tmp/%s", n), msg);
	ck_err("Maildir tmp/ -> new/ rename (never EXDEV)",
	       SYS(rename(wp("md/tmp/%s", n), wp("md/new/%s", n))), 0);
	ck_err("Maildir new/ -> cur/ rename with flags (never EXDEV)",
	       SYS(rename(wp("md/new/%s", n), wp("md/cur/%s:2,S", n))), 0);
	ck_err("Maildir flag change rename inside cur/",
	       SYS(rename(wp("md/cur/%s:2,S", n), wp("md/cur/%s:2,RS", n))),
	       0);
	ck_err("Maildir cur/ -> new/ rename (never EXDEV)",
	       SYS(rename(wp("md/cur/%s:2,RS", n), wp("md/new/%s", n))), 0);
	ck_text("message intact after tmp -> new -> cur -> new",
		wp("md/new/%s", n), msg);
}

static void t_rename_errors(void)
{
	struct stat a, b;

	mk(wp("rer"));
	puts_file(wp("rer/h1"), "same");
	link(wp("rer/h1"), wp("rer/h2"));
	ck_err("rename() between two links of one file succeeds",
	       SYS(rename(wp("rer/h1"), wp("rer/h2"))), 0);
	check(lst(wp("rer/h1"), &a) == 0 && lst(wp("rer/h2"), &b) == 0,
	      "... and leaves both names in place", "a name vanished");
	ck_err("rename() of a missing file gives ENOENT",
	       SYS(rename(wp("rer/nope"), wp("rer/z"))), ENOENT);
	mk(wp("rer/dir"));
	ck_err("rename() of a file over a directory gives EISDIR",
	       SYS(rename(wp("rer/h1"), wp("rer/dir"))), EISDIR);
	ck_err("rename() of a directory over a file gives ENOTDIR",
	       SYS(rename(wp("rer/dir"), wp("rer/h1"))), ENOTDIR);
	mk(wp("rer/full"));
	puts_file(wp("rer/full/f"), "x");
	ck_err("rename() of a directory over a non-empty one gives ENOTEMPTY",
	       SYS(rename(wp("rer/dir"), wp("rer/full"))), ENOTEMPTY);
	ck_err("rename() of a directory into itself gives EINVAL",
	       SYS(rename(wp("rer/dir"), wp("rer/dir/sub"))), EINVAL);
	mk(wp("rer/empty"));
	ck_err("rename() of a directory over an empty one",
	       SYS(rename(wp("rer/dir"), wp("rer/empty"))), 0);
}

/*
 * A child replaces "target" 300 times (write a temporary file, rename it
 * over); the parent keeps opening and reading target meanwhile. It must
 * never be missing, and always hold one complete version.
 */
#define ATOM_LEN 8192
#define ATOM_ROUNDS 300

static void t_rename_atomic(void)
{
	unsigned char buf[ATOM_LEN * 2];
	int fd, st, i, missing = 0, torn = 0, miss_err = 0, reads = 0;
	ssize_t n;
	pid_t pid;
	double t0;

	mk(wp("atom"));
	memset(buf, 'a', ATOM_LEN);
	put(wp("atom/target"), buf, ATOM_LEN);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (i = 1; i <= ATOM_ROUNDS; i++) {
			memset(buf, 'a' + i % 26, ATOM_LEN);
			if (put(wp("atom/t.tmp"), buf, ATOM_LEN) ||
			    rename(wp("atom/t.tmp"), wp("atom/target")) < 0)
				_exit(1);
		}
		_exit(0);
	}
	t0 = now_s();
	while (waitpid(pid, &st, WNOHANG) == 0 && now_s() - t0 < 60) {
		reads++;
		fd = open(wp("atom/target"), O_RDONLY);
		if (fd < 0) {
			missing++;
			miss_err = errno;
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n != ATOM_LEN || memcmp(buf, buf + 1, ATOM_LEN - 1) != 0)
			torn++;
	}
	if (now_s() - t0 >= 60) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "300 replacing renames by another process succeed",
	      "writer failed");
	check(missing == 0,
	      "rename over a file is atomic: the target is never missing",
	      "open failed %d of %d times, last errno %s", missing, reads,
	      ename(miss_err));
	check(torn == 0,
	      "readers racing renames always see one complete version",
	      "%d of %d reads torn or short", torn, reads);
}

static void t_rename_dir(void)
{
	unsigned char big[10000];
	struct stat a, b;
	char lbuf[64];
	ssize_t n;

	fill(big, sizeof(big), 7);
	mk(wp("rdir"));
	mk(wp("rdir/src"));
	mk(wp("rdir/src/sub"));
	mk(wp("rdir/src/sub/deep"));
	mk(wp("rdir/dst"));
	puts_file(wp("rdir/src/f1"), "f1");
	put(wp("rdir/src/sub/f2"), big, sizeof(big));
	puts_file(wp("rdir/src/sub/deep/f3:2,S"), "f3");
	symlink("f1", wp("rdir/src/l"));
	lst(wp("rdir/src/sub/f2"), &a);
	ck_err("rename() of a directory with contents across directories",
	       SYS(rename(wp("rdir/src"), wp("rdir/dst/moved"))), 0);
	ck_err("old directory name is gone (ENOENT)", lst(wp("rdir/src"), &b),
	       ENOENT);
	ck_text("file in a renamed directory keeps its contents",
		wp("rdir/dst/moved/f1"), "f1");
	ck_content("file two levels down keeps its contents",
		   wp("rdir/dst/moved/sub/f2"), big, sizeof(big));
	ck_text("file three levels down keeps its contents",
		wp("rdir/dst/moved/sub/deep/f3:2,S"), "f3");
	lst(wp("rdir/dst/moved/sub/f2"), &b);
	ck_eq("st_ino of a file is unchanged by renaming its directory",
	      (long long)b.st_ino, (long long)a.st_ino);
	n = readlink(wp("rdir/dst/moved/l"), lbuf, sizeof(lbuf) - 1);
	lbuf[n > 0 ? n : 0] = '\0';
	check(n == 2 && strcmp(lbuf, "f1") == 0,
	      "symlink in a renamed directory reads back", "got '%s'", lbuf);
	ck_eq("renamed directory lists its 3 entries",
	      dir_count(wp("rdir/dst/moved")), 3);
	ck_err("new file in a renamed directory's subdirectory",
	       puts_file(wp("rdir/dst/moved/sub/deep/new"), "n"), 0);
	ck_err("rename() the directory back",
	       SYS(rename(wp("rdir/dst/moved"), wp("rdir/back"))), 0);
	check(dir_has(wp("rdir/back/sub/deep"), "new", NULL, NULL) == 1 &&
	      dir_has(wp("rdir/back/sub/deep"), "f3:2,S", NULL, NULL) == 1,
	      "... and its deepest directory lists both files",
	      "entries missing");
	ck_text("... and the new file reads back",
		wp("rdir/back/sub/deep/new"), "n");
}

/* ---- 2. hard links ---- */

static void t_links(void)
{
	struct stat a, b;
	int fd;

	mk(wp("lnk"));
	mk(wp("lnk/tmp"));
	mk(wp("lnk/new"));
	puts_file(wp("lnk/tmp/a"), "link data");
	ck_err("link() across directories (Maildir delivery)",
	       SYS(link(wp("lnk/tmp/a"), wp("lnk/new/a"))), 0);
	lst(wp("lnk/tmp/a"), &a);
	lst(wp("lnk/new/a"), &b);
	check(a.st_ino == b.st_ino && a.st_ino != 0,
	      "both names of a hard link have the same st_ino",
	      "got %llu and %llu", (unsigned long long)a.st_ino,
	      (unsigned long long)b.st_ino);
	check(a.st_nlink == 2 && b.st_nlink == 2,
	      "st_nlink is 2 on both names", "got %lu and %lu",
	      (unsigned long)a.st_nlink, (unsigned long)b.st_nlink);
	ck_err("link() onto an existing link gives EEXIST",
	       SYS(link(wp("lnk/tmp/a"), wp("lnk/new/a"))), EEXIST);
	puts_file(wp("lnk/other"), "other");
	ck_err("link() onto an existing file gives EEXIST",
	       SYS(link(wp("lnk/tmp/a"), wp("lnk/other"))), EEXIST);
	ck_text("... and the existing file is untouched", wp("lnk/other"),
		"other");
	fd = open(wp("lnk/new/a"), O_WRONLY | O_APPEND);
	if (fd >= 0) {
		write_all(fd, "+more", 5);
		close(fd);
	}
	ck_text("a write through one link is read through the other",
		wp("lnk/tmp/a"), "link data+more");
	ck_err("unlink() the original name",
	       SYS(unlink(wp("lnk/tmp/a"))), 0);
	ck_text("data survives unlinking the original", wp("lnk/new/a"),
		"link data+more");
	lst(wp("lnk/new/a"), &b);
	ck_eq("st_nlink drops to 1", (long long)b.st_nlink, 1);
	link(wp("lnk/new/a"), wp("lnk/c"));
	link(wp("lnk/new/a"), wp("lnk/tmp/d"));
	lst(wp("lnk/c"), &b);
	ck_eq("st_nlink counts three links", (long long)b.st_nlink, 3);
	mk(wp("lnk/dir"));
	ck_err("link() of a directory gives EPERM",
	       SYS(link(wp("lnk/dir"), wp("lnk/dirlink"))), EPERM);
	ck_err("link() of a missing file gives ENOENT",
	       SYS(link(wp("lnk/nope"), wp("lnk/x"))), ENOENT);
}

/* ---- 3. O_EXCL, O_APPEND, pwrite, truncate, sparse ---- */

static void t_excl_append(void)
{
	char *got = NULL;
	size_t glen = 0;
	int fd, fd2;

	mk(wp("io"));
	ck_err("O_CREAT|O_EXCL creates a new file", open_excl(wp("io/e")), 0);
	ck_err("O_CREAT|O_EXCL on an existing file gives EEXIST",
	       open_excl(wp("io/e")), EEXIST);
	symlink("nowhere", wp("io/dangling"));
	ck_err("O_CREAT|O_EXCL on a dangling symlink gives EEXIST",
	       open_excl(wp("io/dangling")), EEXIST);
	mk(wp("io/d"));
	ck_err("O_CREAT|O_EXCL on a directory gives EEXIST",
	       open_excl(wp("io/d")), EEXIST);

	puts_file(wp("io/ap"), "0123456789");
	fd = open(wp("io/ap"), O_RDWR | O_APPEND);
	fd2 = open(wp("io/ap"), O_WRONLY | O_APPEND);
	lseek(fd, 0, SEEK_SET);
	write_all(fd, "abc", 3);
	write_all(fd2, "XYZ", 3);
	write_all(fd, "def", 3);
	if (fd >= 0) {
		slurp_fd(fd, &got, &glen);
		close(fd);
	}
	if (fd2 >= 0)
		close(fd2);
	check(got && strcmp(got, "0123456789abcXYZdef") == 0,
	      "O_APPEND writes go to the end, also across two descriptors",
	      "got '%s'", got ? got : "(unreadable)");
	free(got);
	ck_text("... and read back after close", wp("io/ap"),
		"0123456789abcXYZdef");
	puts_file(wp("io/tr"), "long contents");
	fd = open(wp("io/tr"), O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
	ck_text("O_TRUNC empties a file", wp("io/tr"), "");
}

static void t_offsets(void)
{
	static unsigned char model[1 << 21];
	struct stat st;
	int fd;

	fd = open(wp("io/pw"), O_RDWR | O_CREAT | O_EXCL, 0644);
	fill(model, 20000, 1);
	write_all(fd, model, 20000);
	memcpy(model + 4094, "HELLO", 5);
	pwrite(fd, "HELLO", 5, 4094);
	fill(model + 8190, 100, 2);
	pwrite(fd, model + 8190, 100, 8190);
	memcpy(model, "@@", 2);
	pwrite(fd, "@@", 2, 0);
	memcpy(model + 19999, "!", 1);
	pwrite(fd, "!", 1, 19999);
	ck_content("pwrite at offsets across 4 KiB boundaries reads back",
		   wp("io/pw"), model, 20000);
	fstat(fd, &st);
	ck_eq("in-place writes keep st_size", st.st_size, 20000);

	memset(model + 20000, 0, 10000);
	memcpy(model + 30000, "tail", 4);
	pwrite(fd, "tail", 4, 30000);
	ck_content("write beyond EOF: the gap reads as zeros", wp("io/pw"),
		   model, 30004);

	ck_err("ftruncate() down", SYS(ftruncate(fd, 5000)), 0);
	fstat(fd, &st);
	ck_eq("ftruncate() down sets st_size", st.st_size, 5000);
	ck_content("ftruncate() down keeps the prefix", wp("io/pw"), model,
		   5000);
	ck_err("ftruncate() up", SYS(ftruncate(fd, 12000)), 0);
	memset(model + 5000, 0, 7000);
	ck_content("ftruncate() up reads zeros past the old end "
		   "(cut data does not come back)", wp("io/pw"), model, 12000);
	close(fd);
	ck_err("truncate() by path to a block boundary",
	       SYS(truncate(wp("io/pw"), 4096)), 0);
	ck_content("... keeps the first 4096 bytes", wp("io/pw"), model,
		   4096);
	truncate(wp("io/pw"), 0);
	ck_content("truncate() to 0 empties the file", wp("io/pw"), "", 0);

	fd = open(wp("io/sparse"), O_RDWR | O_CREAT | O_EXCL, 0644);
	memset(model, 0, sizeof(model));
	model[(1 << 20) + 3] = 'X';
	pwrite(fd, "X", 1, (1 << 20) + 3);
	close(fd);
	ck_content("sparse file: a 1 MiB hole before the data reads zeros",
		   wp("io/sparse"), model, (1 << 20) + 4);
	fd = open(wp("io/sparse2"), O_RDWR | O_CREAT | O_EXCL, 0644);
	ftruncate(fd, 3 << 19);
	close(fd);
	memset(model, 0, sizeof(model));
	ck_content("a new file extended by ftruncate() reads zeros",
		   wp("io/sparse2"), model, 3 << 19);
}

static void t_unlinked_open(void)
{
	char buf[16] = "";
	struct stat st;
	int fd;

	memset(&st, 0, sizeof(st));
	puts_file(wp("io/unl"), "still here");
	fd = open(wp("io/unl"), O_RDWR);
	unlink(wp("io/unl"));
	check(fd >= 0 && pread(fd, buf, 10, 0) == 10 &&
	      memcmp(buf, "still here", 10) == 0,
	      "an unlinked open file stays readable (POSIX)", "got '%.10s'",
	      buf);
	fstat(fd, &st);
	ck_eq("... and fstat gives st_nlink 0", (long long)st.st_nlink, 0);
	if (fd >= 0)
		close(fd);
}

/* ---- 4. directory mtimes ---- */

static struct timespec dm_seen[64];
static int dm_n;

static struct timespec mtime_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return ts_make(-1, 0);
	return st.st_mtim;
}

static void dm_record(struct timespec t)
{
	if (dm_n < 64)
		dm_seen[dm_n++] = t;
}

/* err: the action's errno; changed: whether the mtime must move. */
static void dm_check(const char *desc, int err, struct timespec before,
		     struct timespec after, int changed)
{
	if (err) {
		check(0, desc, "action failed: got errno %s want 0",
		      ename(err));
		return;
	}
	dm_record(after);
	if (changed)
		check(ts_cmp(after, before) > 0, desc,
		      "mtime %s -> %s, want later", ts_str(before),
		      ts_str(after));
	else
		check(ts_cmp(after, before) == 0, desc,
		      "mtime %s -> %s, want unchanged", ts_str(before),
		      ts_str(after));
}

#define DM_STEP(desc, dir, changed, action) do { \
	struct timespec b_ = mtime_of(dir), a_; \
	int e_; \
	pause_ms(PAUSE_MS); \
	e_ = (action); \
	a_ = mtime_of(dir); \
	dm_check(desc, e_, b_, a_, changed); \
} while (0)

static int write_fsync(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND), err;

	if (fd < 0)
		return errno;
	err = write_all(fd, s, strlen(s));
	if (!err && fsync(fd) < 0)
		err = errno;
	close(fd);
	return err;
}

static int read_things(const char *dir, const char *file)
{
	char *buf = NULL;
	size_t len;
	struct stat st;
	int err, fd;

	err = slurp(file, &buf, &len);
	free(buf);
	if (err)
		return err;
	if (dir_count(dir) < 0 || lstat(file, &st) < 0)
		return errno;
	fd = open(file, O_RDONLY);
	if (fd < 0)
		return errno;
	err = fsync(fd) < 0 ? errno : 0;
	close(fd);
	return err;
}

static void t_dir_mtime(void)
{
	char d[PATH_MAX], o[PATH_MAX];
	struct timespec b, a, bo, ao;
	struct stat s1, s2;
	int i, back = 0, nsec = 0, err;

	snprintf(d, sizeof(d), "%s", wp("dm"));
	snprintf(o, sizeof(o), "%s", wp("dmo"));
	mk(d);
	mk(o);
	DM_STEP("directory mtime changes when a file is created", d, 1,
		open_excl(wp("dm/f")));
	DM_STEP("directory mtime changes on link() into it", d, 1,
		SYS(link(wp("dm/f"), wp("dm/g"))));
	DM_STEP("directory mtime changes on unlink()", d, 1,
		SYS(unlink(wp("dm/g"))));
	DM_STEP("directory mtime changes on rename() inside it", d, 1,
		SYS(rename(wp("dm/f"), wp("dm/f:2,S"))));
	DM_STEP("directory mtime changes on mkdir()", d, 1,
		mk(wp("dm/sub")));
	DM_STEP("directory mtime changes on rmdir()", d, 1,
		SYS(rmdir(wp("dm/sub"))));
	DM_STEP("directory mtime changes on symlink()", d, 1,
		SYS(symlink("f:2,S", wp("dm/l"))));
	DM_STEP("directory mtime changes when a rename replaces a file", d, 1,
		SYS(rename(wp("dm/l"), wp("dm/f:2,S"))));
	puts_file(wp("dm/data"), "x");

	b = mtime_of(d);
	bo = mtime_of(o);
	pause_ms(PAUSE_MS);
	err = SYS(rename(wp("dm/data"), wp("dmo/data")));
	a = mtime_of(d);
	ao = mtime_of(o);
	dm_check("rename() out of a directory changes its mtime", err, b, a,
		 1);
	dm_check("... and the target directory's mtime", err, bo, ao, 1);
	DM_STEP("rename() into a directory changes its mtime", d, 1,
		SYS(rename(wp("dmo/data"), wp("dm/data"))));

	DM_STEP("directory mtime unchanged by writing a file in it", d, 0,
		write_fsync(wp("dm/data"), "more"));
	DM_STEP("directory mtime unchanged by chmod of a file in it", d, 0,
		SYS(chmod(wp("dm/data"), 0600)));
	DM_STEP("directory mtime unchanged by utimensat() on a file in it",
		d, 0, SYS(utimensat(AT_FDCWD, wp("dm/data"), NULL, 0)));

	lst(d, &s1);
	pause_ms(2 * PAUSE_MS);
	err = read_things(d, wp("dm/data"));
	pause_ms(2 * PAUSE_MS);
	lst(d, &s2);
	dm_check("directory mtime stays put after a pause, reads, readdir, "
		 "stat and fsync", err, s1.st_mtim, s2.st_mtim, 0);
	check(ts_cmp(s1.st_ctim, s2.st_ctim) == 0,
	      "... and so does its ctime", "ctime %s -> %s",
	      ts_str(s1.st_ctim), ts_str(s2.st_ctim));

	for (i = 0; i < dm_n; i++) {
		if (i > 0 && ts_cmp(dm_seen[i], dm_seen[i - 1]) < 0)
			back++;
		if (dm_seen[i].tv_nsec != 0)
			nsec++;
	}
	check(back == 0, "directory mtimes never went backwards",
	      "%d of %d steps went back", back, dm_n);
	check(nsec > 0, "directory mtimes carry nanoseconds",
	      "tv_nsec was 0 in all %d observations", dm_n);
}

/* ---- 5. file times ---- */

static void t_file_times(void)
{
	struct timespec ts[2], want, start = t_start;
	struct stat st, st2;
	char *buf = NULL;
	size_t len;
	int fd;

	start.tv_sec -= 1;
	mk(wp("ft"));
	mk(wp("ft/sub"));
	puts_file(wp("ft/f"), "times");
	ts[0] = ts_make(1500000000, 111111111);
	ts[1] = want = ts_make(1500000000, 123456789);
	ck_err("utimensat() sets atime and mtime",
	       SYS(utimensat(AT_FDCWD, wp("ft/f"), ts, 0)), 0);
	lst(wp("ft/f"), &st);
	ck_ts("mtime reads back with nanoseconds", st.st_mtim, want);
	ck_ts("atime reads back with nanoseconds", st.st_atim, ts[0]);
	check(ts_cmp(st.st_ctim, start) >= 0,
	      "ctime is real: utimensat() does not set it back",
	      "ctime %s before test start %s", ts_str(st.st_ctim),
	      ts_str(start));
	rename(wp("ft/f"), wp("ft/g"));
	ck_ts("mtime survives rename()", mtime_of(wp("ft/g")), want);
	rename(wp("ft/g"), wp("ft/sub/g:2,S"));
	ck_ts("mtime survives rename() across directories",
	      mtime_of(wp("ft/sub/g:2,S")), want);
	slurp(wp("ft/sub/g:2,S"), &buf, &len);
	free(buf);
	ck_ts("mtime unchanged by reading", mtime_of(wp("ft/sub/g:2,S")),
	      want);

	fd = open(wp("ft/sub/g:2,S"), O_WRONLY | O_APPEND);
	write_all(fd, "+", 1);
	close(fd);
	lst(wp("ft/sub/g:2,S"), &st);
	check(ts_cmp(st.st_mtim, start) >= 0, "write() updates mtime",
	      "mtime %s", ts_str(st.st_mtim));

	fd = open(wp("ft/cp"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	{
		static unsigned char big[100000];

		fill(big, sizeof(big), 3);
		write_all(fd, big, sizeof(big));
	}
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = want = ts_make(1600000000, 987654321);
	ck_err("futimens() on an open file after writing (cp -p)",
	       SYS(futimens(fd, ts)), 0);
	close(fd);
	lst(wp("ft/cp"), &st);
	ck_ts("mtime set before close() survives the close", st.st_mtim,
	      want);
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_NOW;
	utimensat(AT_FDCWD, wp("ft/cp"), ts, 0);
	lst(wp("ft/cp"), &st);
	check(ts_cmp(st.st_mtim, start) >= 0 &&
	      st.st_mtim.tv_sec <= time(NULL) + 1,
	      "UTIME_NOW sets mtime to the current time", "mtime %s",
	      ts_str(st.st_mtim));

	lst(wp("ft/cp"), &st);
	pause_ms(PAUSE_MS);
	chmod(wp("ft/cp"), 0600);
	lst(wp("ft/cp"), &st2);
	check(ts_cmp(st2.st_ctim, st.st_ctim) > 0, "chmod() changes ctime",
	      "ctime %s -> %s", ts_str(st.st_ctim), ts_str(st2.st_ctim));
	ck_ts("chmod() leaves mtime alone", st2.st_mtim, st.st_mtim);
	pause_ms(PAUSE_MS);
	write_fsync(wp("ft/cp"), "x");
	lst(wp("ft/cp"), &st);
	check(ts_cmp(st.st_ctim, st2.st_ctim) > 0, "write() changes ctime",
	      "ctime %s -> %s", ts_str(st2.st_ctim), ts_str(st.st_ctim));
}

/* ---- 6. inode numbers ---- */

#define N_INO 200

static int ino_in(ino_t x, const ino_t *set, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (set[i] == x)
			return 1;
	return 0;
}

static void t_inodes(void)
{
	ino_t ino[N_INO + 1], fresh[N_INO / 2], live[N_INO + 1], dino = 0;
	int i, dup = 0, reuse = 0, bad_d = 0, missing = 0, nlive = 0, fd;
	struct stat st, st2;
	char name[16];

	mk(wp("ino"));
	for (i = 0; i < N_INO; i++) {
		open_excl(wp("ino/f%03d", i));
		lst(wp("ino/f%03d", i), &st);
		ino[i] = st.st_ino;
		if (i > 0 && ino_in(st.st_ino, ino, i))
			dup++;
	}
	lst(wp("ino"), &st);
	if (ino_in(st.st_ino, ino, N_INO))
		dup++;
	check(dup == 0, "200 new files and their directory have distinct st_ino",
	      "%d duplicates", dup);
	for (i = 0; i < N_INO; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		if (dir_has(wp("ino"), name, NULL, &dino) != 1)
			missing++;
		else if (dino != ino[i])
			bad_d++;
	}
	ck_eq("readdir lists each of the 200 files exactly once", missing, 0);
	ck_eq("readdir d_ino matches st_ino", bad_d, 0);
	ck_eq("readdir lists no other entries", dir_count(wp("ino")), N_INO);

	fd = open(wp("ino/f000"), O_RDONLY);
	fstat(fd, &st);
	close(fd);
	ck_eq("fstat() and stat() agree on st_ino", (long long)st.st_ino,
	      (long long)ino[0]);

	for (i = 0; i < N_INO; i += 2)
		unlink(wp("ino/f%03d", i));
	for (i = 1; i < N_INO; i += 2)
		live[nlive++] = ino[i];
	for (i = 0; i < N_INO / 2; i++) {
		open_excl(wp("ino/n%03d", i));
		lst(wp("ino/n%03d", i), &st);
		fresh[i] = st.st_ino;
		if (ino_in(st.st_ino, live, nlive) ||
		    ino_in(st.st_ino, fresh, i))
			reuse++;
	}
	check(reuse == 0, "new files never reuse a live inode number",
	      "%d of 100 reused a live st_ino", reuse);

	lst(wp("ino/f001"), &st);
	rename(wp("ino/f001"), wp("ino/r001"));
	lst(wp("ino/r001"), &st2);
	ck_eq("st_ino stays the same across rename()", (long long)st2.st_ino,
	      (long long)st.st_ino);
	puts_file(wp("ino/r001"), "rewritten with O_TRUNC");
	chmod(wp("ino/r001"), 0600);
	truncate(wp("ino/r001"), 3);
	lst(wp("ino/r001"), &st2);
	ck_eq("st_ino stays the same after O_TRUNC, write, chmod, truncate",
	      (long long)st2.st_ino, (long long)st.st_ino);
}

/* ---- 7. fsync ---- */

static void t_fsync(void)
{
	int fd, dfd;

	mk(wp("sy"));
	puts_file(wp("sy/f"), "sync me");
	fd = open(wp("sy/f"), O_RDONLY);
	ck_err("fsync() on an O_RDONLY descriptor", SYS(fsync(fd)), 0);
	ck_err("fdatasync() on an O_RDONLY descriptor", SYS(fdatasync(fd)), 0);
	close(fd);
	dfd = open(wp("sy"), O_RDONLY | O_DIRECTORY);
	ck_err("fsync() on a directory descriptor (fsyncdir)",
	       SYS(fsync(dfd)), 0);
	ck_err("fdatasync() on a directory descriptor", SYS(fdatasync(dfd)),
	       0);
	ck_err("syncfs() on the filesystem", SYS(syncfs(dfd)), 0);
	close(dfd);
	fd = open(wp("sy/f"), O_WRONLY | O_APPEND);
	write_all(fd, "!", 1);
	ck_err("fsync() after a write", SYS(fsync(fd)), 0);
	write_all(fd, "!", 1);
	ck_err("fdatasync() after a write", SYS(fdatasync(fd)), 0);
	close(fd);
}

/* ---- 8. locks ---- */

struct lk_arg {
	const char *path;
	int cmd;	/* F_SETLK, F_OFD_SETLK, F_GETLK, or 0 for flock */
	short type;	/* F_RDLCK / F_WRLCK, or LOCK_* for flock */
	off_t start, len;
};

static void lk_child(void *varg, int out[4])
{
	struct lk_arg *a = varg;
	struct flock fl;
	int fd = open(a->path, O_RDWR);

	if (fd < 0) {
		out[0] = errno;
		return;
	}
	if (a->cmd == 0) {
		out[0] = SYS(flock(fd, a->type));
		return;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = a->type;
	fl.l_whence = SEEK_SET;
	fl.l_start = a->start;
	fl.l_len = a->len;
	out[0] = SYS(fcntl(fd, a->cmd, &fl));
	out[1] = fl.l_type;
	out[2] = (int)fl.l_pid;
}

static int lk_try(const char *path, int cmd, short type, off_t start,
		  off_t len, int out[4])
{
	struct lk_arg a = { path, cmd, type, start, len };

	if (run_child(lk_child, &a, out) < 0)
		out[0] = ECHILD;
	return out[0];
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return SYS(fcntl(fd, cmd, &fl));
}

static void t_posix_locks(const char *p)
{
	int fd, out[4];

	fd = open(p, O_RDWR);
	ck_err("fcntl(F_SETLK) write lock on bytes 0-99",
	       setlk(fd, F_SETLK, F_WRLCK, 0, 100), 0);
	ck_err("conflicting F_SETLK from another process gives EAGAIN",
	       lk_try(p, F_SETLK, F_WRLCK, 50, 100, out), EAGAIN);
	ck_err("conflicting F_SETLK read lock from another process gives "
	       "EAGAIN", lk_try(p, F_SETLK, F_RDLCK, 0, 1, out), EAGAIN);
	lk_try(p, F_GETLK, F_WRLCK, 0, 100, out);
	check(out[0] == 0 && out[1] == F_WRLCK && out[2] == (int)getpid(),
	      "F_GETLK from another process reports the holder's F_WRLCK and "
	      "pid", "got errno %s type %d pid %d want type %d pid %d",
	      ename(out[0]), out[1], out[2], F_WRLCK, (int)getpid());
	ck_err("non-overlapping F_SETLK from another process succeeds",
	       lk_try(p, F_SETLK, F_WRLCK, 200, 100, out), 0);
	ck_err("F_UNLCK", setlk(fd, F_SETLK, F_UNLCK, 0, 100), 0);
	ck_err("after F_UNLCK another process gets the lock",
	       lk_try(p, F_SETLK, F_WRLCK, 50, 100, out), 0);
	close(fd);
}

/* A child holds a write lock for 300 ms; F_SETLKW must wait for it. */
static void t_setlkw(const char *p)
{
	int sync_p[2], fd, st, err = ECHILD;
	double t0 = 0, t1 = 0;
	char c;
	pid_t pid;

	if (pipe(sync_p) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(sync_p[0]);
		fd = open(p, O_RDWR);
		if (fd < 0 || setlk(fd, F_SETLK, F_WRLCK, 0, 10) != 0)
			_exit(1);
		if (write(sync_p[1], "x", 1) != 1)
			_exit(1);
		pause_ms(300);
		_exit(0);
	}
	close(sync_p[1]);
	if (read(sync_p[0], &c, 1) == 1) {
		fd = open(p, O_RDWR);
		t0 = now_s();
		err = setlk(fd, F_SETLKW, F_WRLCK, 0, 10);
		t1 = now_s();
		close(fd);
	}
	close(sync_p[0]);
	waitpid(pid, &st, 0);
	check(err == 0 && t1 - t0 > 0.15,
	      "F_SETLKW waits until the other process releases",
	      "got errno %s after %.3f s", ename(err), t1 - t0);
}

static void t_ofd_locks(const char *p)
{
	int fd1, fd2, out[4];

	fd1 = open(p, O_RDWR);
	fd2 = open(p, O_RDWR);
	ck_err("fcntl(F_OFD_SETLK) write lock",
	       setlk(fd1, F_OFD_SETLK, F_WRLCK, 0, 100), 0);
	ck_err("conflicting F_OFD_SETLK on a second open file gives EAGAIN",
	       setlk(fd2, F_OFD_SETLK, F_WRLCK, 10, 10), EAGAIN);
	ck_err("conflicting F_OFD_SETLK from a child process gives EAGAIN",
	       lk_try(p, F_OFD_SETLK, F_WRLCK, 0, 10, out), EAGAIN);
	close(fd1);
	ck_err("an OFD lock is released by close()",
	       setlk(fd2, F_OFD_SETLK, F_WRLCK, 10, 10), 0);
	close(fd2);
}

static void t_flock(const char *p)
{
	int fd, out[4];

	fd = open(p, O_RDWR);
	ck_err("flock(LOCK_EX)", SYS(flock(fd, LOCK_EX)), 0);
	ck_err("conflicting flock(LOCK_EX) from a child gives EWOULDBLOCK",
	       lk_try(p, 0, LOCK_EX | LOCK_NB, 0, 0, out), EWOULDBLOCK);
	ck_err("flock(LOCK_SH) from a child against LOCK_EX gives EWOULDBLOCK",
	       lk_try(p, 0, LOCK_SH | LOCK_NB, 0, 0, out), EWOULDBLOCK);
	ck_err("flock() converts to LOCK_SH", SYS(flock(fd, LOCK_SH)), 0);
	ck_err("two processes share flock(LOCK_SH)",
	       lk_try(p, 0, LOCK_SH | LOCK_NB, 0, 0, out), 0);
	ck_err("flock(LOCK_UN)", SYS(flock(fd, LOCK_UN)), 0);
	ck_err("after LOCK_UN a child gets LOCK_EX",
	       lk_try(p, 0, LOCK_EX | LOCK_NB, 0, 0, out), 0);
	close(fd);
}

static void t_locks(void)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", wp("lk/f"));
	mk(wp("lk"));
	puts_file(p, "lock me");
	t_posix_locks(p);
	t_setlkw(p);
	t_ofd_locks(p);
	t_flock(p);
}

/* ---- 9. mmap ---- */

#define MM_LEN (3 * 4096 + 500)

static void t_mmap(void)
{
	static unsigned char model[MM_LEN];
	char p[PATH_MAX], *got = NULL;
	unsigned char *m;
	struct stat st;
	size_t glen = 0;
	int fd, fd2, err;

	snprintf(p, sizeof(p), "%s", wp("mm/f"));
	mk(wp("mm"));
	fill(model, MM_LEN, 9);
	put(p, model, MM_LEN);
	fd = open(p, O_RDWR);
	m = mmap(NULL, MM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = m == MAP_FAILED ? errno : 0;
	if (!ck_err("shared writable mmap() succeeds", err, 0)) {
		for (err = 0; err < 10; err++)
			check(0, "mmap check not run", "no mapping");
		close(fd);
		return;
	}
	check(memcmp(m, model, MM_LEN) == 0,
	      "mmap read sees the file's contents", "differs");
	memcpy(m + 4090, "across-a-page", 13);
	memcpy(model + 4090, "across-a-page", 13);
	m[MM_LEN - 1] = model[MM_LEN - 1] = '$';
	ck_err("msync(MS_SYNC)", SYS(msync(m, MM_LEN, MS_SYNC)), 0);
	err = slurp_fd(fd, &got, &glen);
	check(!err && glen == MM_LEN && memcmp(got, model, MM_LEN) == 0,
	      "read() sees mmap writes after msync()", "errno %s len %zu",
	      ename(err), glen);
	free(got);
	ck_content("a new descriptor sees mmap writes after msync()", p,
		   model, MM_LEN);
	fd2 = open(p, O_WRONLY);
	pwrite(fd2, "PWRITE", 6, 100);
	memcpy(model + 100, "PWRITE", 6);
	close(fd2);
	check(memcmp(m + 100, "PWRITE", 6) == 0,
	      "an existing shared mapping sees a later write()", "got '%.6s'",
	      (char *)m + 100);
	m[MM_LEN] = 'Z';	/* past EOF, inside the last page */
	memcpy(m + 8000, "no-msync", 8);
	memcpy(model + 8000, "no-msync", 8);
	ck_err("munmap()", SYS(munmap(m, MM_LEN)), 0);
	close(fd);
	ck_content("mmap writes without msync() are read back after munmap()",
		   p, model, MM_LEN);
	lst(p, &st);
	ck_eq("mmap writes past EOF do not change st_size", st.st_size,
	      MM_LEN);
	fd = open(p, O_RDONLY);
	fsync(fd);
	err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	ck_err("posix_fadvise(POSIX_FADV_DONTNEED) drops the cached pages",
	       err, 0);
	ck_content("... and the mmap-written data reads back from the "
		   "filesystem", p, model, MM_LEN);
}

/* ---- 10. readdir d_type, directory link counts ---- */

static void t_readdir(void)
{
	int t_reg = -1, t_dir = -1, t_lnk = -1;

	mk(wp("rd"));
	puts_file(wp("rd/file"), "f");
	mk(wp("rd/dir"));
	symlink("file", wp("rd/link"));
	dir_has(wp("rd"), "file", &t_reg, NULL);
	dir_has(wp("rd"), "dir", &t_dir, NULL);
	dir_has(wp("rd"), "link", &t_lnk, NULL);
	ck_eq("readdir d_type of a file is DT_REG", t_reg, DT_REG);
	ck_eq("readdir d_type of a directory is DT_DIR", t_dir, DT_DIR);
	ck_eq("readdir d_type of a symlink is DT_LNK", t_lnk, DT_LNK);
	check(dir_has(wp("rd"), ".", NULL, NULL) == 1 &&
	      dir_has(wp("rd"), "..", NULL, NULL) == 1,
	      "readdir lists . and .. once each", "missing");
}

static long long nlink_of(const char *path)
{
	struct stat st;

	return lst(path, &st) ? -1 : (long long)st.st_nlink;
}

static void t_dir_nlink(void)
{
	mk(wp("nl"));
	mk(wp("nl2"));
	ck_eq("an empty directory has st_nlink 2", nlink_of(wp("nl")), 2);
	puts_file(wp("nl/file"), "f");
	ck_eq("files do not count in a directory's st_nlink",
	      nlink_of(wp("nl")), 2);
	mk(wp("nl/a"));
	mk(wp("nl/b"));
	mk(wp("nl/c"));
	ck_eq("directory st_nlink is 2 + its 3 subdirectories",
	      nlink_of(wp("nl")), 5);
	rmdir(wp("nl/c"));
	ck_eq("rmdir() lowers the parent's st_nlink", nlink_of(wp("nl")), 4);
	rename(wp("nl/b"), wp("nl2/b"));
	check(nlink_of(wp("nl")) == 3 && nlink_of(wp("nl2")) == 3,
	      "rename() of a subdirectory moves one link between parents",
	      "got %lld and %lld want 3 and 3", nlink_of(wp("nl")),
	      nlink_of(wp("nl2")));
}

/* ---- 11. names ---- */

/* Create, rename to name, stat, readdir, read, rename, unlink. */
static void name_check(const char *desc, const char *name)
{
	const char *step = "create";
	struct stat st;
	int err;

	err = puts_file(wp("nm/plain"), name);
	if (!err) {
		step = "rename to it";
		err = SYS(rename(wp("nm/plain"), wp("nm/%s", name)));
	}
	if (!err) {
		step = "stat";
		err = lst(wp("nm/%s", name), &st);
	}
	if (!err && dir_has(wp("nm"), name, NULL, NULL) != 1) {
		step = "readdir";
		err = ENOENT;
	}
	if (!err) {
		step = "rename from it";
		err = SYS(rename(wp("nm/%s", name), wp("nm/%s2", name)));
	}
	if (!err) {
		step = "create with O_EXCL";
		err = open_excl(wp("nm/%s", name));
	}
	if (!err) {
		step = "unlink";
		err = SYS(unlink(wp("nm/%s2", name)));
	}
	if (!err) {
		step = "unlink";
		err = SYS(unlink(wp("nm/%s", name)));
	}
	check(!err, desc, "%s: got errno %s want 0", step, ename(err));
}

static void t_names(void)
{
	static const char chars[] = ":,=!;#+@";
	char name[64], desc[96];
	int i;

	mk(wp("nm"));
	for (i = 0; chars[i]; i++) {
		snprintf(name, sizeof(name), "x%cy%c", chars[i], chars[i]);
		snprintf(desc, sizeof(desc),
			 "a name with '%c' (create, rename, readdir, unlink)",
			 chars[i]);
		name_check(desc, name);
	}
	name_check("a Maildir name with all of : , = ! ; # + @",
		   "1700000000.M20222P12345Q1.host!a;b#c+d@e,S=2048,W=2099:2,FRS");
	name_check("a name with spaces and UTF-8",
		   "Entw\xc3\xbcrfe und Gel\xc3\xb6schtes \xe2\x9c\x93");
	name_check("a name starting with a dot", ".hidden");
}

static void t_long_names(void)
{
	char n255[256], m255[256], u255[256], n256[257], u256[257];
	int i, t = -1;

	memset(n255, 'a', 251);
	memcpy(n255 + 251, ":2,S", 5);
	memset(m255, 'm', 255);
	m255[255] = '\0';
	for (i = 0; i < 127; i++)
		memcpy(u255 + 2 * i, "\xc3\xa9", 2);
	memcpy(u255 + 254, "x", 2);
	memset(n256, 'b', 256);
	n256[256] = '\0';
	for (i = 0; i < 128; i++)
		memcpy(u256 + 2 * i, "\xc3\xa9", 2);
	u256[256] = '\0';

	mk(wp("ln"));
	ck_err("a 255-byte name: create", open_excl(wp("ln/%s", n255)), 0);
	ck_eq("a 255-byte name is listed by readdir",
	      dir_has(wp("ln"), n255, &t, NULL), 1);
	ck_err("a 255-byte name: rename to another 255-byte name",
	       SYS(rename(wp("ln/%s", n255), wp("ln/%s", m255))), 0);
	ck_err("a 255-byte name: link()",
	       SYS(link(wp("ln/%s", m255), wp("ln/%s", n255))), 0);
	ck_err("a 255-byte name: mkdir()", mk(wp("ln/%s/", u255)), 0);
	ck_err("a 255-byte UTF-8 name: create inside a 255-byte directory",
	       open_excl(wp("ln/%s/%s", u255, u255)), 0);
	ck_err("a 256-byte name: open(O_CREAT) gives ENAMETOOLONG",
	       open_excl(wp("ln/%s", n256)), ENAMETOOLONG);
	ck_err("a 256-byte UTF-8 name: open(O_CREAT) gives ENAMETOOLONG",
	       open_excl(wp("ln/%s", u256)), ENAMETOOLONG);
	ck_err("a 256-byte name: mkdir() gives ENAMETOOLONG",
	       mk(wp("ln/%s", n256)), ENAMETOOLONG);
	ck_err("a 256-byte name: rename() gives ENAMETOOLONG",
	       SYS(rename(wp("ln/%s", m255), wp("ln/%s", n256))),
	       ENAMETOOLONG);
	ck_err("a 256-byte name: link() gives ENAMETOOLONG",
	       SYS(link(wp("ln/%s", m255), wp("ln/%s", n256))), ENAMETOOLONG);
	ck_err("a 256-byte name: symlink() gives ENAMETOOLONG",
	       SYS(symlink("x", wp("ln/%s", n256))), ENAMETOOLONG);
	ck_err("a 256-byte name: stat() gives ENAMETOOLONG",
	       SYS(access(wp("ln/%s", n256), F_OK)), ENAMETOOLONG);
}

/* ---- 12. symlinks, chmod, chown, statfs ---- */

static int ck_readlink(const char *desc, const char *path, const char *want)
{
	char buf[4096];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return check(0, desc, "got errno %s want 0", ename(errno));
	buf[n] = '\0';
	return check(strcmp(buf, want) == 0, desc, "got '%.60s' (%zd bytes)",
		     buf, n);
}

static void t_symlinks(void)
{
	char target[1025];
	struct stat st;
	int fd, i;

	mk(wp("sl"));
	puts_file(wp("sl/target"), "tgt");
	ck_err("symlink()", SYS(symlink("target", wp("sl/l"))), 0);
	ck_readlink("readlink() returns the target", wp("sl/l"), "target");
	lst(wp("sl/l"), &st);
	check(S_ISLNK(st.st_mode) && st.st_size == 6,
	      "lstat(): S_IFLNK and st_size is the target's length",
	      "mode %o size %lld", st.st_mode, (long long)st.st_size);
	ck_text("open() follows a symlink", wp("sl/l"), "tgt");
	symlink("../a b/c:2,S=1#x", wp("sl/odd"));
	ck_readlink("a target with spaces and : , = #", wp("sl/odd"),
		    "../a b/c:2,S=1#x");
	memset(target, 'p', 1024);
	for (i = 0; i < 1024; i += 64)
		target[i] = '/';
	target[1024] = '\0';
	symlink(target, wp("sl/long"));
	ck_readlink("a 1024-byte target", wp("sl/long"), target);
	symlink("missing", wp("sl/dangling"));
	ck_err("stat() of a dangling symlink gives ENOENT",
	       SYS(stat(wp("sl/dangling"), &st)), ENOENT);
	ck_err("symlink() onto an existing name gives EEXIST",
	       SYS(symlink("x", wp("sl/target"))), EEXIST);
	fd = open(wp("sl/l"), O_RDONLY | O_NOFOLLOW);
	ck_err("open(O_NOFOLLOW) of a symlink gives ELOOP",
	       fd < 0 ? errno : 0, ELOOP);
	if (fd >= 0)
		close(fd);
	ck_err("readlink() of a regular file gives EINVAL",
	       SYS(readlink(wp("sl/target"), target, sizeof(target))), EINVAL);
	rename(wp("sl/odd"), wp("sl/odd2"));
	ck_readlink("a symlink survives rename()", wp("sl/odd2"),
		    "../a b/c:2,S=1#x");
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	return lst(path, &st) ? 0xffff : st.st_mode & 07777;
}

static void t_chmod(void)
{
	int fd;

	mk(wp("cm"));
	fd = open(wp("cm/f"), O_WRONLY | O_CREAT | O_EXCL, 0666);
	ck_oct("a new file's mode is 0666 minus the umask 022",
	       mode_of(wp("cm/f")), 0644);
	ck_err("fchmod()", SYS(fchmod(fd, 0600)), 0);
	ck_oct("... sets the mode", mode_of(wp("cm/f")), 0600);
	close(fd);
	ck_err("chmod()", SYS(chmod(wp("cm/f"), 0640)), 0);
	ck_oct("... sets the mode", mode_of(wp("cm/f")), 0640);
	rename(wp("cm/f"), wp("cm/g"));
	ck_oct("the mode survives rename()", mode_of(wp("cm/g")), 0640);
	mkdir(wp("cm/d"), 0777);
	ck_oct("a new directory's mode is 0777 minus the umask 022",
	       mode_of(wp("cm/d")), 0755);
	chmod(wp("cm/d"), 0750);
	ck_oct("chmod() on a directory", mode_of(wp("cm/d")), 0750);
}

static int ck_owner(const char *desc, const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	int err = lst(path, &st);

	if (err)
		return check(0, desc, "got errno %s want 0", ename(err));
	return check(st.st_uid == uid && st.st_gid == gid, desc,
		     "got %u:%u want %u:%u", (unsigned)st.st_uid,
		     (unsigned)st.st_gid, (unsigned)uid, (unsigned)gid);
}

static void t_chown(void)
{
	static const char *d[] = {
		"chown() to 1234:1234 as root",
		"chown(-1, gid) changes only the group",
		"fchown() back to 0:0",
		"lchown() changes the symlink's owner",
		"... and not its target's",
	};
	int fd, i;

	if (geteuid() != 0) {
		for (i = 0; i < 5; i++)
			skip(d[i], "not root");
		return;
	}
	mk(wp("co"));
	puts_file(wp("co/f"), "own");
	chown(wp("co/f"), OTHER_UID, OTHER_GID);
	ck_owner(d[0], wp("co/f"), OTHER_UID, OTHER_GID);
	chown(wp("co/f"), (uid_t)-1, FS_GID);
	ck_owner(d[1], wp("co/f"), OTHER_UID, FS_GID);
	fd = open(wp("co/f"), O_RDONLY);
	fchown(fd, 0, 0);
	close(fd);
	ck_owner(d[2], wp("co/f"), 0, 0);
	symlink("f", wp("co/l"));
	lchown(wp("co/l"), OTHER_UID, OTHER_GID);
	ck_owner(d[3], wp("co/l"), OTHER_UID, OTHER_GID);
	ck_owner(d[4], wp("co/f"), 0, 0);
}

static void t_statfs(void)
{
	struct statvfs sv;
	int err;

	err = SYS(statvfs(work, &sv));
	if (!ck_err("statvfs()", err, 0))
		memset(&sv, 0, sizeof(sv));
	check(sv.f_bsize > 0 && sv.f_frsize > 0 && sv.f_blocks > 0,
	      "statvfs: block size and block count are positive",
	      "f_bsize %lu f_frsize %lu f_blocks %llu", sv.f_bsize,
	      sv.f_frsize, (unsigned long long)sv.f_blocks);
	check(sv.f_bfree <= sv.f_blocks && sv.f_bavail <= sv.f_bfree,
	      "statvfs: f_bavail <= f_bfree <= f_blocks",
	      "f_bavail %llu f_bfree %llu f_blocks %llu",
	      (unsigned long long)sv.f_bavail,
	      (unsigned long long)sv.f_bfree,
	      (unsigned long long)sv.f_blocks);
	check(sv.f_ffree <= sv.f_files, "statvfs: f_ffree <= f_files",
	      "f_ffree %llu f_files %llu", (unsigned long long)sv.f_ffree,
	      (unsigned long long)sv.f_files);
	ck_eq("statvfs: f_namemax is 255, the name limit",
	      (long long)sv.f_namemax, 255);
}

/* ---- 13. the caller's uid and gid ---- */

struct own_arg {
	const char *dir;
	int fs;		/* setfsuid/setfsgid instead of setgid/setuid */
	uid_t uid;
	gid_t gid;
};

static int become(const struct own_arg *a)
{
	if (a->fs) {
		setfsgid(a->gid);
		setfsuid(a->uid);
		return (gid_t)setfsgid((gid_t)-1) == a->gid &&
		       (uid_t)setfsuid((uid_t)-1) == a->uid ? 0 : EPERM;
	}
	if (setgroups(0, NULL) < 0 || setgid(a->gid) < 0 ||
	    setuid(a->uid) < 0)
		return errno;
	return 0;
}

static void own_child(void *varg, int out[4])
{
	const struct own_arg *a = varg;
	int fd;

	out[1] = 0;
	if (chdir(a->dir) < 0 || (out[0] = become(a)) != 0)
		return;
	out[1] = 1;
	fd = open("file", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write_all(fd, "mine", 4) || close(fd) < 0) {
		out[0] = errno;
		return;
	}
	out[1] = 2;
	if ((out[0] = mk("dir")) != 0)
		return;
	out[1] = 3;
	if ((out[0] = SYS(symlink("file", "link"))) != 0)
		return;
	out[1] = 4;
	out[0] = SYS(chown("file", 0, 0));
	out[1] = 5;
	out[2] = write_fsync("../root-file", "x");
	out[3] = 0;
}

static void t_owner_one(const char *who, int fs, uid_t uid, gid_t gid)
{
	static const char *steps[] = {
		"chdir/set ids", "create a file", "mkdir", "symlink", "chown",
	};
	char desc[160], dir[PATH_MAX];
	struct own_arg a = { dir, fs, uid, gid };
	int out[4] = { -1, -1, -1, -1 };

	snprintf(dir, sizeof(dir), "%s", wp("ow/%s", fs ? "fs" : "set"));
	mkdir(dir, 0777);
	chmod(dir, 0777);
	if (run_child(own_child, &a, out) < 0)
		out[0] = ECHILD;
	snprintf(desc, sizeof(desc),
		 "a process with %s %u:%u creates a file, a directory and a "
		 "symlink", who, (unsigned)uid, (unsigned)gid);
	check(out[1] >= 4, desc, "%s: got errno %s want 0",
	      out[1] >= 0 && out[1] < 4 ? steps[out[1]] : "child",
	      ename(out[0]));
	snprintf(desc, sizeof(desc), "... the file is owned by %u:%u",
		 (unsigned)uid, (unsigned)gid);
	ck_owner(desc, wp("ow/%s/file", fs ? "fs" : "set"), uid, gid);
	ck_owner("... the directory too", wp("ow/%s/dir", fs ? "fs" : "set"),
		 uid, gid);
	ck_owner("... the symlink too", wp("ow/%s/link", fs ? "fs" : "set"),
		 uid, gid);
	ck_err("... and it may not chown its file to root (EPERM)",
	       out[1] == 5 ? out[0] : ECHILD, EPERM);
	ck_err("... nor write a root-owned 0644 file (EACCES)",
	       out[1] == 5 ? out[2] : ECHILD, EACCES);
}

static void t_owner(void)
{
	int i;

	if (geteuid() != 0) {
		for (i = 0; i < 12; i++)
			skip("creating files as another uid", "not root");
		return;
	}
	mkdir(wp("ow"), 0755);
	puts_file(wp("ow/root-file"), "root");
	chmod(wp("ow/root-file"), 0644);
	t_owner_one("uid:gid (setgid+setuid)", 0, OTHER_UID, OTHER_GID);
	t_owner_one("fsuid:fsgid (setfsgid+setfsuid)", 1, FS_UID, FS_GID);
}

/* ---- remount persistence ---- */

static uint64_t fnv(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Contents of a file, target of a symlink, sorted names of a directory. */
static int hash_of(const char *path, const struct stat *st, uint64_t *out)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	struct dirent **list;
	char buf[4096], *data;
	size_t len;
	ssize_t n;
	int i, err = 0;

	if (S_ISLNK(st->st_mode)) {
		n = readlink(path, buf, sizeof(buf));
		if (n < 0)
			return errno;
		h = fnv(h, buf, (size_t)n);
	} else if (S_ISDIR(st->st_mode)) {
		n = scandir(path, &list, NULL, alphasort);
		if (n < 0)
			return errno;
		for (i = 0; i < n; i++) {
			h = fnv(h, list[i]->d_name, strlen(list[i]->d_name) + 1);
			free(list[i]);
		}
		free(list);
	} else {
		err = slurp(path, &data, &len);
		if (err)
			return err;
		h = fnv(h, data, len);
		free(data);
	}
	*out = h;
	return 0;
}

static FILE *st_out;
static long st_count;
static size_t st_base;
static int st_err;

static int record_cb(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	uint64_t h = 0;
	int err;

	(void)type;
	(void)ftw;
	err = hash_of(path, st, &h);
	if (err && !st_err)
		st_err = err;
	fprintf(st_out, "%s\t%llu\t%o\t%u\t%u\t%lu\t%lld\t%lld\t%ld\t%016llx\n",
		path + st_base, (unsigned long long)st->st_ino,
		(unsigned)st->st_mode, (unsigned)st->st_uid,
		(unsigned)st->st_gid, (unsigned long)st->st_nlink,
		(long long)st->st_size, (long long)st->st_mtim.tv_sec,
		st->st_mtim.tv_nsec, (unsigned long long)h);
	st_count++;
	return 0;
}

static int persist_create(void)
{
	static unsigned char big[70000];
	struct timespec ts[2] = { { 1500000000, 1 }, { 1500000000, 123456789 } };
	char n255[256];
	int err = 0, fd;

	memset(n255, 'p', 255);
	n255[255] = '\0';
	fill(big, sizeof(big), 11);
	err |= mk(wp("persist"));
	err |= mk(wp("persist/cur"));
	err |= mk(wp("persist/new"));
	err |= mk(wp("persist/dir"));
	err |= mk(wp("persist/dir/sub"));
	err |= put(wp("persist/file"), big, sizeof(big));
	err |= SYS(utimensat(AT_FDCWD, wp("persist/file"), ts, 0));
	err |= puts_file(wp("persist/new/1.M1P1.h,S=5"), "hello");
	err |= SYS(rename(wp("persist/new/1.M1P1.h,S=5"),
			  wp("persist/cur/1.M1P1.h,S=5:2,S")));
	err |= SYS(link(wp("persist/cur/1.M1P1.h,S=5:2,S"),
			wp("persist/new/linked")));
	err |= puts_file(wp("persist/dir/sub/deep"), "deep");
	err |= SYS(symlink("file", wp("persist/link")));
	err |= puts_file(wp("persist/mode0640"), "m");
	err |= SYS(chmod(wp("persist/mode0640"), 0640));
	err |= puts_file(wp("persist/%s", n255), "long name");
	fd = open(wp("persist/sparse"), O_RDWR | O_CREAT | O_EXCL, 0644);
	err |= fd < 0 || pwrite(fd, "end", 3, 70000) != 3 || fsync(fd) < 0;
	if (fd >= 0)
		close(fd);
	if (geteuid() == 0) {
		err |= puts_file(wp("persist/owned"), "o");
		err |= SYS(chown(wp("persist/owned"), OTHER_UID, FS_GID));
	}
	return err;
}

static int phase1(const char *state)
{
	int err;

	err = persist_create();
	check(!err, "phase1: created the persistence tree", "a step failed");
	sync();
	pause_ms(PAUSE_MS);
	st_out = fopen(state, "w");
	if (!st_out) {
		check(0, "phase1: recorded the tree", "%s: %s", state,
		      ename(errno));
		return 1;
	}
	fprintf(st_out, "fs-semantics-state 1\n");
	st_base = strlen(work) + 1;
	err = nftw(wp("persist"), record_cb, 16, FTW_PHYS) < 0 ? errno : 0;
	if (fclose(st_out) != 0 && !err)
		err = errno;
	check(!err && !st_err && st_count >= 10,
	      "phase1: recorded inode numbers, mtimes and contents",
	      "errno %s, %ld entries", ename(err ? err : st_err), st_count);
	printf("# %ld entries in %s\n", st_count, state);
	return 0;
}

static void phase2_entry(const char *line)
{
	char rel[PATH_MAX], desc[PATH_MAX + 64], *path;
	unsigned long long ino, h;
	uint64_t h2 = 0;
	unsigned mode, uid, gid;
	unsigned long nlink;
	long long size, sec;
	long nsec;
	struct stat st;
	int err;

	if (sscanf(line, "%4095[^\t]\t%llu\t%o\t%u\t%u\t%lu\t%lld\t%lld\t%ld\t%llx",
		   rel, &ino, &mode, &uid, &gid, &nlink, &size, &sec, &nsec,
		   &h) != 10) {
		check(0, "phase2: state line parses", "%.60s", line);
		return;
	}
	snprintf(desc, sizeof(desc), "after remount %.40s%s: inode, mode, "
		 "owner, links, size, mtime, contents unchanged", rel,
		 strlen(rel) > 40 ? "..." : "");
	path = wp("%s", rel);
	err = lst(path, &st);
	if (!err)
		err = hash_of(path, &st, &h2);
	if (err)
		check(0, desc, "got errno %s want 0", ename(err));
	else if (st.st_ino != ino)
		check(0, desc, "st_ino got %llu want %llu",
		      (unsigned long long)st.st_ino, ino);
	else if (st.st_mode != mode || st.st_uid != uid || st.st_gid != gid)
		check(0, desc, "mode/owner got %o %u:%u want %o %u:%u",
		      st.st_mode, st.st_uid, st.st_gid, mode, uid, gid);
	else if (st.st_nlink != nlink || st.st_size != size)
		check(0, desc, "nlink/size got %lu %lld want %lu %lld",
		      (unsigned long)st.st_nlink, (long long)st.st_size,
		      nlink, size);
	else if (st.st_mtim.tv_sec != sec || st.st_mtim.tv_nsec != nsec)
		check(0, desc, "mtime got %s want %lld.%09ld",
		      ts_str(st.st_mtim), sec, nsec);
	else
		check(h2 == h, desc, "contents hash got %016llx want %016llx",
		      (unsigned long long)h2, h);
}

static int count_cb(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)type;
	(void)ftw;
	st_count++;
	return 0;
}

static int phase2(const char *state)
{
	ino_t seen[256];
	unsigned long long ino;
	char *line = NULL;
	size_t cap = 0;
	long n = 0;
	struct stat st;
	FILE *f = fopen(state, "r");

	if (!f || getline(&line, &cap, f) < 0 ||
	    strcmp(line, "fs-semantics-state 1\n") != 0) {
		check(0, "phase2: state file readable", "%s", state);
		if (f)
			fclose(f);
		free(line);
		return 1;
	}
	while (getline(&line, &cap, f) > 0) {
		if (n < 256 && sscanf(line, "%*[^\t]\t%llu", &ino) == 1)
			seen[n] = (ino_t)ino;
		n++;
		phase2_entry(line);
	}
	fclose(f);
	free(line);
	st_count = 0;
	nftw(wp("persist"), count_cb, 16, FTW_PHYS);
	ck_eq("after remount no entry appeared or vanished", st_count, n);
	/* outside persist/, whose mtime a second run would check again */
	open_excl(wp("after-remount.%ld", (long)getpid()));
	lst(wp("after-remount.%ld", (long)getpid()), &st);
	check(!ino_in(st.st_ino, seen, n < 256 ? (int)n : 256),
	      "after remount a new file does not reuse a recorded st_ino",
	      "got %llu", (unsigned long long)st.st_ino);
	unlink(wp("after-remount.%ld", (long)getpid()));
	return 0;
}

/* ---- main ---- */

static void run_all(void)
{
	t_rename_basic();
	t_rename_maildir();
	t_rename_errors();
	t_rename_atomic();
	t_rename_dir();
	t_links();
	t_excl_append();
	t_offsets();
	t_unlinked_open();
	t_dir_mtime();
	t_file_times();
	t_inodes();
	t_fsync();
	t_locks();
	t_mmap();
	t_readdir();
	t_dir_nlink();
	t_names();
	t_long_names();
	t_symlinks();
	t_chmod();
	t_chown();
	t_statfs();
	t_owner();
}

static int usage(void)
{
	fprintf(stderr, "usage: fs-semantics [-k] DIR\n"
		"       fs-semantics --phase1 DIR [STATE]\n"
		"       fs-semantics --phase2 DIR STATE\n");
	return 2;
}

static int set_work(const char *dir)
{
	if (!realpath(dir, work)) {
		fprintf(stderr, "fs-semantics: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int keep = 0, err;

	umask(022);
	clock_gettime(CLOCK_REALTIME, &t_start);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "--phase1") == 0 && argc <= 4) {
		if (set_work(argv[2]) < 0)
			return 2;
		phase1(argc == 4 ? argv[3] : "fs-semantics.state");
		goto out;
	}
	if (argc == 4 && strcmp(argv[1], "--phase2") == 0) {
		if (set_work(argv[2]) < 0)
			return 2;
		phase2(argv[3]);
		goto out;
	}
	if (argc == 3 && strcmp(argv[1], "-k") == 0) {
		keep = 1;
		argv++;
		argc--;
	}
	if (argc != 2 || argv[1][0] == '-')
		return usage();
	if (set_work(argv[1]) < 0)
		return 2;
	if (strlen(work) + 16 >= sizeof(work))
		return usage();
	memcpy(work + strlen(work), "/fss.XXXXXX", 12);
	if (!mkdtemp(work)) {
		fprintf(stderr, "fs-semantics: mkdtemp %s: %s\n", work,
			strerror(errno));
		return 2;
	}
	printf("# working in %s\n", work);
	run_all();
	if (!keep) {
		err = rm_rf(work);
		ck_err("the work tree is removed recursively", err, 0);
	}
out:
	printf("1..%d\n", n_test);
	if (n_fail)
		printf("# %d of %d checks failed\n", n_fail, n_test);
	return n_fail ? 1 : 0;
}

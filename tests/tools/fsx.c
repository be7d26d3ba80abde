/*
 * fsx: a seeded random-operations exerciser in the spirit of fsx, for
 * two trees at once. Every operation is done in MOUNTDIR (the filesystem
 * under test) and in NATIVEDIR (the oracle), and the results, sizes and
 * contents are compared after every step.
 *
 *   fsx [-q] [-n OPS] [-s SEED] [-N NFILES] [-l MAXLEN] [-o MAXOP]
 *       [-p EVERY] MOUNTDIR NATIVEDIR
 *
 * -n operations (20000), -s seed (from the clock), -N names per directory
 * (4), -l maximum file size (256 KiB), -o maximum bytes per operation
 * (64 KiB), -p print "# op N" every EVERY operations, -q print only the
 * summary line, without the "ok - " prefix.
 *
 * The files live under cur/ and new/ of each tree (NFILES names in each,
 * default 4). Operations: writes at random offsets (also beyond EOF),
 * O_APPEND writes, truncate up and down (by descriptor and by path),
 * reads, mmap reads, mmap writes (MAP_SHARED; msync, or only munmap),
 * renames and hard links among the names (across cur/ and new/), unlinks,
 * fsync/fdatasync, dropping the cached pages (posix_fadvise DONTNEED, so
 * reads come from the filesystem again), and close/reopen of up to four
 * long-lived descriptors that follow their files through renames.
 * A full comparison of both trees (contents, sizes, link counts, which
 * names are links of which) runs every 1000 operations and at the end.
 *
 * A run is deterministic for a seed: every choice comes from the seeded
 * generator and from the state of NATIVEDIR. On a mismatch fsx prints the
 * seed, the operation number, the last operations and the command line
 * that repeats the run, and exits 1. Exit 0 after a clean run, 2 on usage
 * or setup errors. Files are left in place, so a caller can compare the
 * trees again (for example after a remount).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 64
#define MAX_HANDLES 4
#define LOG_LEN 40
#define LOG_LINE 160
#define FULL_EVERY 1000

enum op {
	OP_WRITE, OP_APPEND, OP_TRUNC, OP_TRUNC_PATH, OP_READ, OP_MAPREAD,
	OP_MAPWRITE, OP_RENAME, OP_LINK, OP_UNLINK, OP_REOPEN, OP_FSYNC,
	OP_DROP, OP_COUNT
};

static const char *op_names[OP_COUNT] = {
	"write", "append", "truncate", "truncpath", "read", "mapread",
	"mapwrite", "rename", "link", "unlink", "reopen", "fsync", "drop",
};

/* Relative weights of the operations. */
static const int op_weight[OP_COUNT] = {
	20, 8, 8, 2, 12, 6, 8, 8, 5, 3, 6, 3, 3,
};

struct handle {
	int mfd, nfd;	/* mount and native descriptors */
	ino_t mino;	/* the mount's st_ino when opened: must not change */
	ino_t nino;	/* the native st_ino, to find the file's names */
};

/* One target of a data operation: a long-lived handle or a fresh open. */
struct target {
	int mfd, nfd;
	int temp;		/* opened for this operation only */
	int slot;		/* name, or -1 for a handle */
	int h;			/* handle index, or -1 */
};

static struct {
	const char *mroot, *nroot;
	uint64_t seed, rng;
	long ops, opno;
	int nfiles, nslots, quiet;
	long progress;
	long maxlen, maxop;
	size_t pagesize;
	struct handle h[MAX_HANDLES];
	int nh;
	unsigned char *wbuf, *mbuf, *nbuf;
	char log[LOG_LEN][LOG_LINE];
	long count[OP_COUNT];
} g;

/* ---- generator, log, failure ---- */

static uint64_t rnd64(void)
{
	uint64_t z = (g.rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static long rnd(long n)
{
	return (long)(rnd64() % (uint64_t)n);
}

static void rnd_fill(unsigned char *buf, size_t len)
{
	uint64_t x;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		x = rnd64();
		memcpy(buf + i, &x, 8);
	}
	if (i < len) {
		x = rnd64();
		memcpy(buf + i, &x, len - i);
	}
}

static void logop(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logop(const char *fmt, ...)
{
	char *line = g.log[g.opno % LOG_LEN];
	va_list ap;
	int n;

	n = snprintf(line, LOG_LINE, "%7ld ", g.opno);
	va_start(ap, fmt);
	vsnprintf(line + n, LOG_LINE - (size_t)n, fmt, ap);
	va_end(ap);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));

static void fail(const char *fmt, ...)
{
	long i, first;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "fsx: FAIL at op %ld (seed %llu): ", g.opno,
		(unsigned long long)g.seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nfsx: last operations:\n");
	first = g.opno >= LOG_LEN ? g.opno - LOG_LEN + 1 : 0;
	for (i = first; i <= g.opno; i++)
		fprintf(stderr, "  %s\n", g.log[i % LOG_LEN]);
	fprintf(stderr, "fsx: repeat with: fsx -s %llu -n %ld -N %d -l %ld "
		"-o %ld MOUNTDIR NATIVEDIR (fresh directories)\n",
		(unsigned long long)g.seed, g.opno + 1, g.nfiles, g.maxlen,
		g.maxop);
	if (!g.quiet)
		printf("not ok - fsx seed %llu failed at op %ld\n",
		       (unsigned long long)g.seed, g.opno);
	exit(1);
}

/* ---- paths and names ---- */

static const char *slot_name(int slot)
{
	static char buf[4][32];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/f%d", slot % 2 ? "new" : "cur",
		 slot / 2);
	return b;
}

static const char *path_in(const char *root, int slot)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", root, slot_name(slot));
	return b;
}

static const char *mpath(int slot)
{
	return path_in(g.mroot, slot);
}

static const char *npath(int slot)
{
	return path_in(g.nroot, slot);
}

/* Whether slot exists in the native tree; *st gets its stat. */
static int slot_exists(int slot, struct stat *st)
{
	struct stat tmp;

	return lstat(npath(slot), st ? st : &tmp) == 0;
}

static int pick_existing(void)
{
	int ex[MAX_NAMES], n = 0, i;

	for (i = 0; i < g.nslots; i++)
		if (slot_exists(i, NULL))
			ex[n++] = i;
	return n ? ex[rnd(n)] : -1;
}

/* ---- comparison ---- */

static void same_result(const char *what, long rm, int em, long rn, int en)
{
	if ((rm < 0) != (rn < 0) || (rm < 0 && em != en) ||
	    (rm >= 0 && rm != rn))
		fail("%s: mount returned %ld (%s), native %ld (%s)", what, rm,
		     rm < 0 ? strerror(em) : "ok", rn,
		     rn < 0 ? strerror(en) : "ok");
}

static size_t read_full(int fd, unsigned char *buf, size_t len,
			const char *what)
{
	size_t n = 0;
	ssize_t r;

	while (n < len) {
		r = pread(fd, buf + n, len - n, (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("%s: read: %s", what, strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return n;
}

static void compare_bytes(const unsigned char *m, const unsigned char *n,
			  size_t len, off_t base, const char *what)
{
	size_t i;

	if (memcmp(m, n, len) == 0)
		return;
	for (i = 0; i < len && m[i] == n[i]; i++)
		;
	fail("%s: contents differ at offset 0x%llx: mount 0x%02x native "
	     "0x%02x", what, (unsigned long long)(base + (off_t)i), m[i],
	     n[i]);
}

static void compare_fds(int mfd, int nfd, const char *what)
{
	struct stat ms, ns;
	size_t mn, nn;

	if (fstat(mfd, &ms) < 0 || fstat(nfd, &ns) < 0)
		fail("%s: fstat: %s", what, strerror(errno));
	if (ms.st_size != ns.st_size)
		fail("%s: size mount 0x%llx native 0x%llx", what,
		     (unsigned long long)ms.st_size,
		     (unsigned long long)ns.st_size);
	if ((size_t)ns.st_size > (size_t)g.maxlen + (size_t)g.maxop)
		fail("%s: native file grew to 0x%llx", what,
		     (unsigned long long)ns.st_size);
	mn = read_full(mfd, g.mbuf, (size_t)ms.st_size + 1, what);
	nn = read_full(nfd, g.nbuf, (size_t)ns.st_size + 1, what);
	if (mn != nn)
		fail("%s: read whole file: mount 0x%zx bytes, native 0x%zx",
		     what, mn, nn);
	compare_bytes(g.mbuf, g.nbuf, nn, 0, what);
}

/* A name: existence, type, link count, size and contents. */
static void compare_slot(int slot)
{
	struct stat ms, ns;
	int me, ne, mfd, nfd;

	me = lstat(mpath(slot), &ms) < 0 ? errno : 0;
	ne = lstat(npath(slot), &ns) < 0 ? errno : 0;
	if (me != ne)
		fail("%s: lstat mount %s, native %s", slot_name(slot),
		     me ? strerror(me) : "exists",
		     ne ? strerror(ne) : "exists");
	if (ne)
		return;
	if (ms.st_nlink != ns.st_nlink)
		fail("%s: st_nlink mount %lu native %lu", slot_name(slot),
		     (unsigned long)ms.st_nlink, (unsigned long)ns.st_nlink);
	if ((ms.st_mode & S_IFMT) != (ns.st_mode & S_IFMT))
		fail("%s: file type differs", slot_name(slot));
	mfd = open(mpath(slot), O_RDONLY);
	if (mfd < 0)
		fail("%s: open mount: %s", slot_name(slot), strerror(errno));
	nfd = open(npath(slot), O_RDONLY);
	if (nfd < 0)
		fail("%s: open native: %s", slot_name(slot), strerror(errno));
	compare_fds(mfd, nfd, slot_name(slot));
	close(mfd);
	close(nfd);
}

/* Which names are links of one file must agree between the trees. */
static void compare_links(void)
{
	struct stat ms[MAX_NAMES], ns[MAX_NAMES];
	int ex[MAX_NAMES], i, j;

	for (i = 0; i < g.nslots; i++) {
		ex[i] = lstat(npath(i), &ns[i]) == 0;
		if (ex[i] && lstat(mpath(i), &ms[i]) < 0)
			fail("%s: lstat mount: %s", slot_name(i),
			     strerror(errno));
	}
	for (i = 0; i < g.nslots; i++)
		for (j = i + 1; j < g.nslots; j++)
			if (ex[i] && ex[j] &&
			    (ns[i].st_ino == ns[j].st_ino) !=
			    (ms[i].st_ino == ms[j].st_ino))
				fail("%s and %s: links in one tree only "
				     "(mount ino %llu %llu)", slot_name(i),
				     slot_name(j),
				     (unsigned long long)ms[i].st_ino,
				     (unsigned long long)ms[j].st_ino);
}

static void check_handle(int i)
{
	struct stat st;
	char what[32];

	snprintf(what, sizeof(what), "handle %d", i);
	if (fstat(g.h[i].mfd, &st) < 0)
		fail("%s: fstat: %s", what, strerror(errno));
	if (st.st_ino != g.h[i].mino)
		fail("%s: st_ino changed from %llu to %llu", what,
		     (unsigned long long)g.h[i].mino,
		     (unsigned long long)st.st_ino);
	compare_fds(g.h[i].mfd, g.h[i].nfd, what);
}

static void compare_all(void)
{
	int i;

	for (i = 0; i < g.nslots; i++)
		compare_slot(i);
	compare_links();
	for (i = 0; i < g.nh; i++)
		check_handle(i);
}

/* ---- handles and targets ---- */

static void handle_close(int i)
{
	close(g.h[i].mfd);
	close(g.h[i].nfd);
	g.h[i] = g.h[--g.nh];
}

/*
 * Before a name is removed (unlink, or replaced by rename): when it is
 * the file's last name, close the handles on that file, so the test
 * never depends on unlinked-but-open files (fs-semantics checks those).
 */
static void release_name(int slot)
{
	struct stat st;
	int i;

	if (!slot_exists(slot, &st) || st.st_nlink > 1)
		return;
	for (i = g.nh - 1; i >= 0; i--)
		if (g.h[i].nino == st.st_ino)
			handle_close(i);
}

static void open_both(int slot, int flags, int *mfd, int *nfd)
{
	int em, en;

	*mfd = open(mpath(slot), flags, 0644);
	em = errno;
	*nfd = open(npath(slot), flags, 0644);
	en = errno;
	/* descriptor numbers differ: compare only success and errno */
	same_result("open", *mfd < 0 ? -1 : 0, em, *nfd < 0 ? -1 : 0, en);
}

static int handle_open(int slot)
{
	struct stat st;
	struct handle *h;

	if (g.nh == MAX_HANDLES)
		return -1;
	h = &g.h[g.nh];
	open_both(slot, O_RDWR, &h->mfd, &h->nfd);
	if (fstat(h->mfd, &st) < 0)
		fail("fstat: %s", strerror(errno));
	h->mino = st.st_ino;
	if (fstat(h->nfd, &st) < 0)
		fail("fstat native: %s", strerror(errno));
	h->nino = st.st_ino;
	return g.nh++;
}

/*
 * A handle (half of the time, when there is one), else a name opened for
 * this operation: an existing one, or a new one when create is set (or
 * no name exists).
 */
static struct target target_get(int create, int flags)
{
	struct target t = { -1, -1, 0, -1, -1 };

	if (g.nh > 0 && rnd(2) == 0) {
		t.h = (int)rnd(g.nh);
		t.mfd = g.h[t.h].mfd;
		t.nfd = g.h[t.h].nfd;
		return t;
	}
	t.slot = create ? (int)rnd(g.nslots) : pick_existing();
	if (t.slot < 0)
		t.slot = (int)rnd(g.nslots);
	t.temp = 1;
	open_both(t.slot, flags | O_CREAT, &t.mfd, &t.nfd);
	return t;
}

static const char *target_str(const struct target *t)
{
	static char buf[48];

	if (t->h >= 0)
		snprintf(buf, sizeof(buf), "handle %d", t->h);
	else
		snprintf(buf, sizeof(buf), "%s", slot_name(t->slot));
	return buf;
}

static void target_done(struct target *t)
{
	if (t->h >= 0) {
		check_handle(t->h);
		return;
	}
	compare_fds(t->mfd, t->nfd, slot_name(t->slot));
	close(t->mfd);
	close(t->nfd);
}

static off_t fd_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		fail("fstat: %s", strerror(errno));
	return st.st_size;
}

/* ---- data operations ---- */

static void both_pwrite(struct target *t, size_t len, off_t off)
{
	ssize_t rm, rn;
	int em, en;

	rm = pwrite(t->mfd, g.wbuf, len, off);
	em = errno;
	rn = pwrite(t->nfd, g.wbuf, len, off);
	en = errno;
	same_result("pwrite", (long)rm, em, (long)rn, en);
}

static void both_ftruncate(struct target *t, off_t size)
{
	int rm, rn, em, en;

	rm = ftruncate(t->mfd, size);
	em = errno;
	rn = ftruncate(t->nfd, size);
	en = errno;
	same_result("ftruncate", rm, em, rn, en);
}

static long op_len(long room)
{
	long max = room < g.maxop ? room : g.maxop;

	/* small writes are the common case in mail; keep big ones too */
	if (rnd(4) == 0 && max > 64)
		return 1 + rnd(64);
	return 1 + rnd(max);
}

static void do_write(void)
{
	struct target t = target_get(1, O_RDWR);
	off_t off = rnd(g.maxlen), size = fd_size(t.nfd);
	long len = op_len(g.maxlen - off);

	logop("write     %-10s off 0x%llx len 0x%lx (size 0x%llx)%s",
	      target_str(&t), (unsigned long long)off, len,
	      (unsigned long long)size, off > size ? " past EOF" : "");
	rnd_fill(g.wbuf, (size_t)len);
	both_pwrite(&t, (size_t)len, off);
	target_done(&t);
}

static void set_append(struct target *t, int on)
{
	int fl;

	fl = fcntl(t->mfd, F_GETFL);
	if (fcntl(t->mfd, F_SETFL, on ? fl | O_APPEND : fl & ~O_APPEND) < 0)
		fail("fcntl(F_SETFL, O_APPEND): %s", strerror(errno));
	fl = fcntl(t->nfd, F_GETFL);
	if (fcntl(t->nfd, F_SETFL, on ? fl | O_APPEND : fl & ~O_APPEND) < 0)
		fail("native fcntl(F_SETFL): %s", strerror(errno));
}

static void do_append(void)
{
	struct target t = target_get(1, O_RDWR | O_APPEND);
	off_t size = fd_size(t.nfd);
	long len = op_len(g.maxop);
	ssize_t rm, rn;
	int em, en;

	if (size + len > g.maxlen) {
		len = 1 + rnd(g.maxlen / 2);
		logop("truncate  %-10s to 0x%lx (file full, instead of append)",
		      target_str(&t), len);
		both_ftruncate(&t, len);
		target_done(&t);
		return;
	}
	logop("append    %-10s len 0x%lx (size 0x%llx)", target_str(&t), len,
	      (unsigned long long)size);
	if (t.h >= 0)
		set_append(&t, 1);
	rnd_fill(g.wbuf, (size_t)len);
	/* the position must not matter with O_APPEND */
	lseek(t.mfd, rnd(size + 1), SEEK_SET);
	lseek(t.nfd, 0, SEEK_SET);
	rm = write(t.mfd, g.wbuf, (size_t)len);
	em = errno;
	rn = write(t.nfd, g.wbuf, (size_t)len);
	en = errno;
	if (t.h >= 0)
		set_append(&t, 0);
	same_result("append", (long)rm, em, (long)rn, en);
	target_done(&t);
}

static off_t new_size(off_t size)
{
	if (size > 0 && rnd(2) == 0)
		return rnd(size);
	return rnd(g.maxlen + 1);
}

static void do_truncate(void)
{
	struct target t = target_get(1, O_RDWR);
	off_t size = fd_size(t.nfd), to = new_size(size);

	logop("truncate  %-10s 0x%llx -> 0x%llx (%s)", target_str(&t),
	      (unsigned long long)size, (unsigned long long)to,
	      to < size ? "down" : "up");
	both_ftruncate(&t, to);
	target_done(&t);
}

static void do_truncate_path(void)
{
	int slot = pick_existing(), rm, rn, em, en;
	struct stat st;
	off_t to;

	if (slot < 0)
		return;
	slot_exists(slot, &st);
	to = new_size(st.st_size);
	logop("truncpath %-10s 0x%llx -> 0x%llx", slot_name(slot),
	      (unsigned long long)st.st_size, (unsigned long long)to);
	rm = truncate(mpath(slot), to);
	em = errno;
	rn = truncate(npath(slot), to);
	en = errno;
	same_result("truncate", rm, em, rn, en);
	compare_slot(slot);
}

static void do_read(void)
{
	struct target t = target_get(0, O_RDONLY);
	off_t size = fd_size(t.nfd), off = rnd(size + 4096);
	long len = 1 + rnd(g.maxop);
	ssize_t rm, rn;
	int em, en;

	logop("read      %-10s off 0x%llx len 0x%lx (size 0x%llx)",
	      target_str(&t), (unsigned long long)off, len,
	      (unsigned long long)size);
	rm = pread(t.mfd, g.mbuf, (size_t)len, off);
	em = errno;
	rn = pread(t.nfd, g.nbuf, (size_t)len, off);
	en = errno;
	same_result("pread", (long)rm, em, (long)rn, en);
	if (rn > 0)
		compare_bytes(g.mbuf, g.nbuf, (size_t)rn, off, "pread");
	target_done(&t);
}

static void *map(int fd, size_t len, int prot, off_t off, const char *what)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, off);

	if (p == MAP_FAILED)
		fail("%s: mmap(MAP_SHARED) len 0x%zx off 0x%llx: %s", what,
		     len, (unsigned long long)off, strerror(errno));
	return p;
}

static void do_mapread(void)
{
	struct target t = target_get(0, O_RDWR);
	off_t size = fd_size(t.nfd), off, moff;
	unsigned char *m, *n;
	size_t len, mlen;

	if (size == 0) {
		logop("mapread   %-10s skipped: empty", target_str(&t));
		target_done(&t);
		return;
	}
	off = rnd(size);
	len = (size_t)op_len(size - off);
	moff = off & ~(off_t)(g.pagesize - 1);
	mlen = len + (size_t)(off - moff);
	logop("mapread   %-10s off 0x%llx len 0x%zx (size 0x%llx)",
	      target_str(&t), (unsigned long long)off, len,
	      (unsigned long long)size);
	m = map(t.mfd, mlen, PROT_READ, moff, "mapread");
	n = map(t.nfd, mlen, PROT_READ, moff, "mapread native");
	compare_bytes(m + (off - moff), n + (off - moff), len, off, "mapread");
	munmap(m, mlen);
	munmap(n, mlen);
	target_done(&t);
}

static void do_mapwrite(void)
{
	struct target t = target_get(1, O_RDWR);
	off_t size = fd_size(t.nfd), off = rnd(g.maxlen), moff;
	size_t len = (size_t)op_len(g.maxlen - off), mlen;
	unsigned char *m, *n;
	int how = (int)rnd(3);
	static const char *hows[] = { "msync", "msync-async", "munmap" };

	moff = off & ~(off_t)(g.pagesize - 1);
	mlen = len + (size_t)(off - moff);
	logop("mapwrite  %-10s off 0x%llx len 0x%zx (size 0x%llx) %s%s",
	      target_str(&t), (unsigned long long)off, len,
	      (unsigned long long)size, hows[how],
	      off + (off_t)len > size ? ", extended first" : "");
	if (off + (off_t)len > size)
		both_ftruncate(&t, off + (off_t)len);
	rnd_fill(g.wbuf, len);
	m = map(t.mfd, mlen, PROT_READ | PROT_WRITE, moff, "mapwrite");
	n = map(t.nfd, mlen, PROT_READ | PROT_WRITE, moff, "mapwrite native");
	memcpy(m + (off - moff), g.wbuf, len);
	memcpy(n + (off - moff), g.wbuf, len);
	if (how < 2 && msync(m, mlen, how ? MS_ASYNC : MS_SYNC) < 0)
		fail("msync: %s", strerror(errno));
	munmap(m, mlen);
	munmap(n, mlen);
	target_done(&t);
}

static void do_fsync(void)
{
	struct target t = target_get(0, O_RDONLY);
	int data = (int)rnd(2), rm, rn, em, en;

	logop("%-9s %-10s", data ? "fdatasync" : "fsync", target_str(&t));
	rm = data ? fdatasync(t.mfd) : fsync(t.mfd);
	em = errno;
	rn = data ? fdatasync(t.nfd) : fsync(t.nfd);
	en = errno;
	same_result(data ? "fdatasync" : "fsync", rm, em, rn, en);
	target_done(&t);
}

static void do_drop(void)
{
	struct target t = target_get(0, O_RDONLY);
	int err;

	logop("drop      %-10s fsync + POSIX_FADV_DONTNEED", target_str(&t));
	if (fsync(t.mfd) < 0)
		fail("fsync before dropping pages: %s", strerror(errno));
	err = posix_fadvise(t.mfd, 0, 0, POSIX_FADV_DONTNEED);
	if (err)
		fail("posix_fadvise(DONTNEED): %s", strerror(err));
	target_done(&t);
}

/* ---- name operations ---- */

static void do_rename(void)
{
	int src = pick_existing(), dst = (int)rnd(g.nslots), rm, rn, em, en;

	if (src < 0 || src == dst)
		return;
	logop("rename    %s -> %s%s", slot_name(src), slot_name(dst),
	      slot_exists(dst, NULL) ? " (replacing)" : "");
	release_name(dst);
	rm = rename(mpath(src), mpath(dst));
	em = errno;
	rn = rename(npath(src), npath(dst));
	en = errno;
	same_result("rename", rm, em, rn, en);
	compare_slot(src);
	compare_slot(dst);
	compare_links();
}

static void do_link(void)
{
	int src = pick_existing(), dst = (int)rnd(g.nslots), rm, rn, em, en;

	if (src < 0)
		return;
	logop("link      %s -> %s%s", slot_name(src), slot_name(dst),
	      slot_exists(dst, NULL) ? " (exists: EEXIST)" : "");
	rm = link(mpath(src), mpath(dst));
	em = errno;
	rn = link(npath(src), npath(dst));
	en = errno;
	same_result("link", rm, em, rn, en);
	compare_slot(src);
	compare_slot(dst);
	compare_links();
}

static void do_unlink(void)
{
	int slot = pick_existing(), rm, rn, em, en;

	if (slot < 0)
		return;
	logop("unlink    %s", slot_name(slot));
	release_name(slot);
	rm = unlink(mpath(slot));
	em = errno;
	rn = unlink(npath(slot));
	en = errno;
	same_result("unlink", rm, em, rn, en);
	compare_slot(slot);
	compare_links();
}

static void do_reopen(void)
{
	int slot, i;

	if (g.nh > 0 && (g.nh == MAX_HANDLES || rnd(2) == 0)) {
		i = (int)rnd(g.nh);
		logop("close     handle %d", i);
		check_handle(i);
		handle_close(i);
		return;
	}
	slot = pick_existing();
	if (slot < 0)
		return;
	i = handle_open(slot);
	logop("open      %s as handle %d", slot_name(slot), i);
	check_handle(i);
}

/* ---- main loop ---- */

static enum op pick_op(void)
{
	int total = 0, i;
	long r;

	for (i = 0; i < OP_COUNT; i++)
		total += op_weight[i];
	r = rnd(total);
	for (i = 0; i < OP_COUNT; i++) {
		if (r < op_weight[i])
			break;
		r -= op_weight[i];
	}
	return (enum op)i;
}

static void step(void)
{
	enum op op = pick_op();

	logop("%s (no-op)", op_names[op]);
	g.count[op]++;
	switch (op) {
	case OP_WRITE: do_write(); break;
	case OP_APPEND: do_append(); break;
	case OP_TRUNC: do_truncate(); break;
	case OP_TRUNC_PATH: do_truncate_path(); break;
	case OP_READ: do_read(); break;
	case OP_MAPREAD: do_mapread(); break;
	case OP_MAPWRITE: do_mapwrite(); break;
	case OP_RENAME: do_rename(); break;
	case OP_LINK: do_link(); break;
	case OP_UNLINK: do_unlink(); break;
	case OP_REOPEN: do_reopen(); break;
	case OP_FSYNC: do_fsync(); break;
	case OP_DROP: do_drop(); break;
	default: break;
	}
}

static void setup_tree(const char *root)
{
	char p[PATH_MAX];
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, i ? "new" : "cur");
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "fsx: mkdir %s: %s\n", p,
				strerror(errno));
			exit(2);
		}
	}
	for (i = 0; i < g.nslots; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, slot_name(i));
		if (unlink(p) < 0 && errno != ENOENT) {
			fprintf(stderr, "fsx: unlink %s: %s\n", p,
				strerror(errno));
			exit(2);
		}
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: fsx [-q] [-n OPS] [-s SEED] [-N NFILES] "
		"[-l MAXLEN] [-o MAXOP] [-p EVERY] MOUNTDIR NATIVEDIR\n");
	return 2;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	long v;
	char *end;
	int c;

	while ((c = getopt(argc, argv, "qn:s:N:l:o:p:")) != -1) {
		switch (c) {
		case 'q': g.quiet = 1; break;
		case 'p':
			if (parse_long(optarg, 1, LONG_MAX, &g.progress))
				return -1;
			break;
		case 'n':
			if (parse_long(optarg, 0, LONG_MAX, &g.ops))
				return -1;
			break;
		case 's':
			errno = 0;
			g.seed = strtoull(optarg, &end, 0);
			if (errno || *end)
				return -1;
			break;
		case 'N':
			if (parse_long(optarg, 1, MAX_NAMES / 2, &v))
				return -1;
			g.nfiles = (int)v;
			break;
		case 'l':
			if (parse_long(optarg, 1, 1L << 30, &g.maxlen))
				return -1;
			break;
		case 'o':
			if (parse_long(optarg, 1, 1L << 26, &g.maxop))
				return -1;
			break;
		default: return -1;
		}
	}
	if (argc - optind != 2)
		return -1;
	g.mroot = argv[optind];
	g.nroot = argv[optind + 1];
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	size_t cap;
	int i;

	g.ops = 20000;
	g.nfiles = 4;
	g.maxlen = 256 * 1024;
	g.maxop = 64 * 1024;
	clock_gettime(CLOCK_REALTIME, &t0);
	g.seed = (uint64_t)t0.tv_nsec ^ ((uint64_t)t0.tv_sec << 20) ^
		 (uint64_t)getpid();
	if (parse_args(argc, argv) < 0)
		return usage();
	g.rng = g.seed;
	g.nslots = 2 * g.nfiles;
	g.pagesize = (size_t)sysconf(_SC_PAGESIZE);
	cap = (size_t)g.maxlen + (size_t)g.maxop + g.pagesize + 1;
	g.wbuf = malloc(cap);
	g.mbuf = malloc(cap);
	g.nbuf = malloc(cap);
	if (!g.wbuf || !g.mbuf || !g.nbuf) {
		fprintf(stderr, "fsx: out of memory\n");
		return 2;
	}
	umask(022);
	setup_tree(g.mroot);
	setup_tree(g.nroot);
	if (!g.quiet)
		printf("# fsx seed %llu, %ld ops, %d names, max file 0x%lx, "
		       "max op 0x%lx\n", (unsigned long long)g.seed, g.ops,
		       g.nslots, g.maxlen, g.maxop);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (g.opno = 0; g.opno < g.ops; g.opno++) {
		step();
		if ((g.opno + 1) % FULL_EVERY == 0)
			compare_all();
		if (g.progress && (g.opno + 1) % g.progress == 0) {
			printf("# fsx: %ld ops done\n", g.opno + 1);
			fflush(stdout);
		}
	}
	g.opno = g.ops > 0 ? g.ops - 1 : 0;
	logop("final comparison");
	compare_all();
	while (g.nh > 0)
		handle_close(0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%sfsx seed %llu: %ld ops passed in %.1f s (", g.quiet ? "" :
	       "ok - ", (unsigned long long)g.seed, g.ops,
	       (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (i = 0; i < OP_COUNT; i++)
		printf("%s%s %ld", i ? ", " : "", op_names[i], g.count[i]);
	printf(")\n");
	return 0;
}

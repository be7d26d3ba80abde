/*
 * bench-commit: the cost of committing one changed message in a vault of
 * N messages in one Maildir folder (issue 4, "Performance"): the time of
 * sb_commit_changes() for the paths inotify would report, and how much
 * the repository (VAULT/.git without the local state in .git/sealbox)
 * grows for that commit.
 *
 *   bench-commit [-d DIR] [-s SCRATCH] [-r ROUNDS] [-p PACK] [N ...]
 *
 *   DIR      work directory on the disk under test
 *            (/var/tmp/sealbox-bench-commit; emptied first)
 *   SCRATCH  where the corpus is written before it is copied to DIR
 *            (/dev/shm: writing it through the store fsyncs every file)
 *   ROUNDS   changes measured per row; the median is shown (15)
 *   PACK     pack_threshold for the commits (0: the default)
 *   N        vault sizes (10000 100000)
 *
 * The vaults are made first; then the rounds alternate between them.
 * Wall and CPU time of the commit are shown (CPU time tells a slow
 * commit from a busy machine).
 *
 * Rows: a flag change (a rename in cur/, the message itself unchanged),
 * a new message delivered to cur/, and a commit after a restart (a full
 * scan against the stat cache with one message changed). Targets: one
 * message commits in at most 50 ms, the 100k time is at most 1.5 times
 * the 10k time, and the repository grows by at most 64 KiB.
 */

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "fs/store.h"
#include "sync/changes.h"
#include "sync/commit.h"
#include "sync/repo.h"
#include "sync/statcache.h"

#define MAXSIZES 8
#define MAXROUNDS 64
#define TARGET_MS 50.0
#define TARGET_RATIO 1.5
#define TARGET_GROWTH (64 * 1024)

enum { ROW_FLAG, ROW_NEW, ROW_SCAN, NROWS };

static const char *const row_name[NROWS] = {
	"flag change (rename in cur/)",
	"new message in cur/",
	"restart: cache load + full scan, 1 new",
};

struct result {
	long n;
	double first_s;			/* first commit of the whole vault */
	double ms[NROWS];		/* median wall time */
	double cpu_ms[NROWS];		/* median CPU time */
	long long grow[NROWS];		/* median, apparent bytes */
	long long grow_disk[NROWS];	/* median, allocated bytes */
};

struct vault {
	char dir[PATH_MAX];
	char cache[PATH_MAX + 32];
	struct sb_repo *r;
	struct sb_store *st;
	struct sb_statcache *sc;
	struct sb_signkey *key;
	struct sb_commit_opts o;
};

static int die(const char *what, int rc)
{
	fprintf(stderr, "bench-commit: %s: %s\n", what,
		rc ? sb_err_msg(rc) : strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sb_secrets *bench_secrets(void)
{
	uint8_t buf[37 + 32];
	struct sb_secrets *s = NULL;
	int rc;

	buf[0] = 1;
	buf[1] = buf[2] = buf[3] = 0;
	buf[4] = 1;
	memset(buf + 5, 0x11, 32);
	memset(buf + 37, 0x22, 32);
	if ((rc = sb_secrets_parse(&s, buf, sizeof(buf))))
		die("secrets", rc);
	return s;
}

static int sign_cb(char **armor, const void *buf, size_t len, void *ctx)
{
	return sb_sshsig_sign(armor, ctx, "git", buf, len);
}

static void run(const char *fmt, const char *a, const char *b)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	if (system(cmd))
		die(cmd, 0);
}

static int pack_threshold;	/* -p; 0: sync's default */

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *msg_name(long i, const char *flags)
{
	static char buf[4][128];
	static int k;
	char *b = buf[k++ & 3];

	snprintf(b, 128, "mail/cur/%ld.M%ldP%ld.bench.example:2,%s",
		 1600000000L + i, i * 7 % 1000000, 1000 + i % 30000, flags);
	return b;
}

/* A message of 2 to 8 KiB with headers and a text body. */
static size_t make_msg(char *buf, size_t size, long i)
{
	static const char words[] = "lorem ipsum dolor sit amet consectetur "
				    "adipiscing elit sed do eiusmod tempor ";
	size_t n, want = 2048 + next_rand() % 6144;

	n = (size_t)snprintf(buf, size,
			     "From: sender%ld@example.org\nTo: me@example.org\n"
			     "Subject: message %ld\nMessage-ID: <%ld.%llu@bench>\n"
			     "\n", i % 977, i, i,
			     (unsigned long long)next_rand());
	while (n + 40 < want && n + 40 < size) {
		size_t off = next_rand() % (sizeof(words) - 33);

		memcpy(buf + n, words + off, 32);
		n += 32;
		buf[n++] = next_rand() % 8 ? ' ' : '\n';
	}
	return n;
}

static void put_msg(struct sb_store *st, const char *name, long i)
{
	char buf[9000];
	size_t n = make_msg(buf, sizeof(buf), i);
	int rc = sb_store_write_file(st, name, buf, n, 0600, NULL);

	if (rc)
		die(name, rc);
}

/* The corpus on scratch, copied into the vault's directory. */
static void make_corpus(const char *dir, const char *scratch, long n)
{
	struct sb_secrets *s = bench_secrets();
	struct sb_store *st;
	char tmp[PATH_MAX];
	double t = now();
	long i;
	int rc;

	snprintf(tmp, sizeof(tmp), "%s/sb-bench-commit.XXXXXX", scratch);
	if (!mkdtemp(tmp))
		die(tmp, 0);
	if ((rc = sb_store_open(&st, tmp, s)) ||
	    (rc = sb_store_mkdir(st, "mail/cur", 0700)) ||
	    (rc = sb_store_mkdir(st, "mail/new", 0700)) ||
	    (rc = sb_store_mkdir(st, "mail/tmp", 0700)))
		die("corpus", rc);
	for (i = 0; i < n; i++)
		put_msg(st, msg_name(i, "S"), i);
	sb_store_free(st);
	sb_secrets_free(s);
	run("cp -a '%s/.' '%s/' && sync", tmp, dir);
	run("rm -rf '%s'%s", tmp, "");
	fprintf(stderr, "bench-commit: %ld messages written in %.1f s\n", n,
		now() - t);
}

static void vault_open(struct vault *v, const char *work, const char *scratch,
		       long n)
{
	struct sb_secrets *s;
	uint8_t seed[SB_ED25519_LEN];
	char sub[PATH_MAX + 16];
	int rc;

	snprintf(v->dir, sizeof(v->dir), "%s/vault-%ld", work, n);
	run("rm -rf '%s'%s", v->dir, "");
	if ((rc = sb_repo_init(&v->r, v->dir)))
		die("repository", rc);
	snprintf(sub, sizeof(sub), "%s/.git/sealbox", v->dir);
	if (mkdir(sub, 0700))
		die(sub, 0);
	snprintf(v->cache, sizeof(v->cache), "%s/statcache", sub);
	make_corpus(v->dir, scratch, n);
	s = bench_secrets();
	memset(seed, 0x5a, sizeof(seed));
	if ((rc = sb_store_open(&v->st, v->dir, s)) ||
	    (rc = sb_statcache_open(&v->sc, v->cache)) ||
	    (rc = sb_signkey_from_seed(&v->key, seed)))
		die("vault", rc);
	sb_secrets_free(s);
	v->o.message = "bench";
	v->o.name = "bench";
	v->o.email = "bench@sealbox";
	v->o.sign = sign_cb;
	v->o.sign_ctx = v->key;
	v->o.pack_threshold = pack_threshold;
}

static void vault_close(struct vault *v)
{
	sb_statcache_free(v->sc);
	sb_store_free(v->st);
	sb_signkey_free(v->key);
	sb_repo_free(v->r);
	run("rm -rf '%s'%s", v->dir, "");
}

/* Size of VAULT/.git without .git/sealbox (the local state). */
static long long tot_size, tot_disk;

static int sum_fn(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)ftw;
	if (strstr(path, "/.git/sealbox"))
		return 0;
	if (type == FTW_F) {
		tot_size += st->st_size;
		tot_disk += (long long)st->st_blocks * 512;
	}
	return 0;
}

static void repo_size(struct vault *v, long long *size, long long *disk)
{
	char git[PATH_MAX + 8];

	snprintf(git, sizeof(git), "%s/.git", v->dir);
	tot_size = tot_disk = 0;
	if (nftw(git, sum_fn, 32, FTW_PHYS))
		die(git, 0);
	*size = tot_size;
	*disk = tot_disk;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wall time into *secs, CPU time (user + system) into *cpu. */
static int commit(struct vault *v, struct sb_changes *c, double *secs,
		  double *cpu)
{
	char oid[SB_OID_HEX];
	double t = now(), u = cpu_now();
	int rc = sb_commit_changes(v->r, v->st, v->sc, c, &v->o, oid);

	*secs = now() - t;
	*cpu = cpu_now() - u;
	if (rc < 0)
		die("commit", rc);
	return rc;
}

static void add_plain(struct vault *v, struct sb_changes *c, const char *p)
{
	char b[PATH_MAX];
	int rc;

	if ((rc = sb_store_backing_path(v->st, b, sizeof(b), p)) ||
	    (rc = sb_changes_add(c, b)))
		die(p, rc);
}

static void rename_msg(struct vault *v, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX], fa[2 * PATH_MAX + 2], fb[2 * PATH_MAX + 2];
	int rc;

	if ((rc = sb_store_backing_path(v->st, a, sizeof(a), from)) ||
	    (rc = sb_store_backing_path(v->st, b, sizeof(b), to)))
		die(from, rc);
	snprintf(fa, sizeof(fa), "%s/%s", v->dir, a);
	snprintf(fb, sizeof(fb), "%s/%s", v->dir, b);
	if (rename(fa, fb))
		die(fa, 0);
}

/* A restart loads the stat cache from disk: timed with the scan. */
static void reopen_cache(struct vault *v, double *secs, double *cpu)
{
	double t = now(), u = cpu_now();
	int rc;

	sb_statcache_free(v->sc);
	if ((rc = sb_statcache_open(&v->sc, v->cache)))
		die("stat cache", rc);
	*secs = now() - t;
	*cpu = cpu_now() - u;
}

struct sample {
	double wall, cpu;
	long long grow, grow_disk;
};

/* One change of kind row; its times and the growth. */
static void one_change(struct vault *v, int row, long n, int round,
		       struct sample *out)
{
	long i = (long)((uint64_t)(round + 1) * 2654435761u % (uint64_t)n);
	long long s0, d0, s1, d1;
	struct sb_changes *c;
	char from[128], to[128];
	double w0 = 0, c0 = 0;

	if (sb_changes_new(&c))
		die("changes", -ENOMEM);
	repo_size(v, &s0, &d0);
	if (row == ROW_FLAG) {
		snprintf(from, sizeof(from), "%s", msg_name(i, "S"));
		snprintf(to, sizeof(to), "%s", msg_name(i, "RS"));
		rename_msg(v, from, to);
		add_plain(v, c, from);
		add_plain(v, c, to);
	} else {
		snprintf(to, sizeof(to), "%s", msg_name(n + round, "")); /* new */
		put_msg(v->st, to, n + round);
		if (row == ROW_SCAN)
			c->all = 1;
		else
			add_plain(v, c, to);
	}
	if (row == ROW_SCAN)
		reopen_cache(v, &w0, &c0);
	if (commit(v, c, &out->wall, &out->cpu) != 0)
		die("nothing was committed", 0);
	out->wall += w0;
	out->cpu += c0;
	repo_size(v, &s1, &d1);
	out->grow = s1 - s0;
	out->grow_disk = d1 - d0;
	sb_changes_free(c);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void first_commit(struct vault *v, struct result *res)
{
	struct sb_changes *c;
	double cpu;

	if (sb_changes_new(&c))
		die("changes", -ENOMEM);
	c->all = 1;
	commit(v, c, &res->first_s, &cpu);
	sb_changes_free(c);
	fprintf(stderr, "bench-commit: first commit of %ld messages: %.1f s "
		"(CPU %.1f s)\n", res->n, res->first_s, cpu);
}

static double median_d(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

static long long median_ll(long long *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_ll);
	return v[n / 2];
}

/*
 * Rounds go across the vault sizes in turn, so that whatever else runs
 * on the machine falls on all of them alike.
 */
static void measure(struct result *res, struct vault *v, int nv, int rounds)
{
	static struct sample sm[MAXSIZES][NROWS][MAXROUNDS];
	double w[MAXROUNDS], c[MAXROUNDS];
	long long g[MAXROUNDS], gd[MAXROUNDS];
	int row, k, i, nr;

	for (row = 0; row < NROWS; row++) {
		nr = row == ROW_SCAN ? (rounds + 1) / 2 : rounds;
		for (k = 0; k < nr; k++)
			for (i = 0; i < nv; i++)
				one_change(&v[i], row, res[i].n,
					   row * MAXROUNDS + k, &sm[i][row][k]);
	}
	for (i = 0; i < nv; i++)
		for (row = 0; row < NROWS; row++) {
			nr = row == ROW_SCAN ? (rounds + 1) / 2 : rounds;
			for (k = 0; k < nr; k++) {
				w[k] = sm[i][row][k].wall;
				c[k] = sm[i][row][k].cpu;
				g[k] = sm[i][row][k].grow;
				gd[k] = sm[i][row][k].grow_disk;
			}
			res[i].ms[row] = median_d(w, nr) * 1000;
			res[i].cpu_ms[row] = median_d(c, nr) * 1000;
			res[i].grow[row] = median_ll(g, nr);
			res[i].grow_disk[row] = median_ll(gd, nr);
		}
}

static void print_table(const struct result *res, int nres, int rounds,
			const double load[2])
{
	int i, row, ok = 1;

	printf("\n## Commit of one changed message (bench-commit)\n\n");
	printf("Median of %d rounds (restart row: %d); growth of VAULT/.git "
	       "without .git/sealbox, apparent bytes / allocated on disk.\n\n",
	       rounds, (rounds + 1) / 2);
	printf("| messages | change | commit ms | CPU ms | growth bytes | "
	       "on disk |\n");
	printf("|---------:|:-------|----------:|-------:|-------------:|"
	       "--------:|\n");
	for (i = 0; i < nres; i++)
		for (row = 0; row < NROWS; row++)
			printf("| %ld | %s | %.1f | %.1f | %lld | %lld |\n",
			       res[i].n, row_name[row], res[i].ms[row],
			       res[i].cpu_ms[row], res[i].grow[row],
			       res[i].grow_disk[row]);
	printf("\nLoad average %.2f before the rounds, %.2f after (rounds "
	       "alternate between the vault sizes).\n", load[0], load[1]);
	printf("\nFirst commit of the whole vault (scan, hash, pack): ");
	for (i = 0; i < nres; i++)
		printf("%s%ld messages %.1f s", i ? ", " : "", res[i].n,
		       res[i].first_s);
	printf("\n\nTargets:\n");
	for (i = 0; i < nres; i++)
		for (row = 0; row < ROW_SCAN; row++) {
			int t = res[i].ms[row] <= TARGET_MS;
			int g = res[i].grow[row] <= TARGET_GROWTH;

			ok &= t && g;
			printf("- %ld, %s: %.1f ms <= %.0f ms %s; %lld bytes <= "
			       "64 KiB %s\n", res[i].n, row_name[row],
			       res[i].ms[row], TARGET_MS, t ? "ok" : "MISSED",
			       res[i].grow[row], g ? "ok" : "MISSED");
		}
	for (i = 1; i < nres; i++)
		for (row = 0; row < ROW_SCAN; row++) {
			double r = res[i].ms[row] / res[0].ms[row];

			ok &= r <= TARGET_RATIO;
			printf("- %s: %ld vs %ld messages: %.2fx <= %.1fx %s\n",
			       row_name[row], res[i].n, res[0].n, r, TARGET_RATIO,
			       r <= TARGET_RATIO ? "ok" : "MISSED");
		}
	printf("\n%s\n", ok ? "All targets met." : "Some targets MISSED.");
}

int main(int argc, char **argv)
{
	const char *work = "/var/tmp/sealbox-bench-commit", *scratch = "/dev/shm";
	static struct vault v[MAXSIZES];
	struct result res[MAXSIZES];
	double load[2] = { 0, 0 };
	long sizes[MAXSIZES] = { 10000, 100000 };
	int nsizes = 2, rounds = 15, opt, i;

	while ((opt = getopt(argc, argv, "d:s:r:p:")) != -1) {
		if (opt == 'd')
			work = optarg;
		else if (opt == 's')
			scratch = optarg;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'p')
			pack_threshold = atoi(optarg);
		else
			goto usage;
	}
	if (rounds < 1 || rounds > MAXROUNDS || argc - optind > MAXSIZES)
		goto usage;
	if (optind < argc) {
		for (nsizes = 0; optind < argc; optind++) {
			sizes[nsizes] = atol(argv[optind]);
			if (sizes[nsizes++] < 1)
				goto usage;
		}
	}
	if (sb_crypto_init(0))
		die("crypto", 0);
	run("mkdir -p '%s'%s", work, "");
	memset(v, 0, sizeof(v));
	memset(res, 0, sizeof(res));
	for (i = 0; i < nsizes; i++) {
		res[i].n = sizes[i];
		vault_open(&v[i], work, scratch, sizes[i]);
		first_commit(&v[i], &res[i]);
	}
	getloadavg(&load[0], 1);
	measure(res, v, nsizes, rounds);
	getloadavg(&load[1], 1);
	for (i = 0; i < nsizes; i++)
		vault_close(&v[i]);
	print_table(res, nsizes, rounds, load);
	return 0;
usage:
	fprintf(stderr, "usage: bench-commit [-d DIR] [-s SCRATCH] "
		"[-r ROUNDS(1-%d)] [-p PACK] [N ...]\n", MAXROUNDS);
	return 2;
}

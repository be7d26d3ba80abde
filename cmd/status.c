#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/resolve.h"
#include "sync/history.h"
#include "sync/repo.h"
#include "sync/state.h"
#include "sync/statcache.h"

/*
 * sealbox status: what this device knows about its vault, without the
 * passphrase (nothing is decrypted). One "key: value" line each, stable
 * for scripts:
 *
 *   vault: /abs/VAULT
 *   mounted: /mnt (daemon pid 123)  |  mounted: no
 *   remote: URL  |  remote: none
 *   head: <oid>  |  head: none
 *   pending: N changes   (store files whose stat differs from the stat
 *                         cache, new ones and removed ones)
 *   ahead A, behind B    (refs/heads/main against the remote's main as
 *                         last seen: refs/sealbox/fetched, or what was
 *                         pushed on top of it since)
 *   verified: <oid>      (last remote head that passed verification)
 *   last sync: YYYY-MM-DD HH:MM:SS (N s ago)  |  last sync: never
 *   last attempt: ...    (when later than the last sync)
 *   last error: <message>
 *   refused: <oid> at <time>: <why>
 *   conflicts: N kept
 */

#define MAIN_REF "refs/heads/main"
#define FETCHED_REF "refs/sealbox/fetched"
#define PIDFILE ".git/sealbox/mount.pid"
#define STATCACHE ".git/sealbox/statcache"
#define CONFLICTS ".git/sealbox/conflicts"

struct pending {
	struct sb_statcache *sc;
	int rootfd;
	size_t n, cached;
};

static int vpath(char *buf, const char *vault, const char *rel)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", vault, rel);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static void fmt_when(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t, now = time(NULL);
	struct tm tm;
	char day[32];

	localtime_r(&tt, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
	if (now >= tt)
		snprintf(buf, size, "%s (%lld s ago)", day,
			 (long long)(now - tt));
	else
		snprintf(buf, size, "%s", day);
}

/* ---- pending changes: lstat against the stat cache ---- */

static int join(char *buf, const char *dir, const char *name)
{
	int n = *dir ? snprintf(buf, PATH_MAX, "%s/%s", dir, name)
		     : snprintf(buf, PATH_MAX, "%s", name);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static void pend_file(struct pending *p, const char *path,
		      const struct stat *st)
{
	struct sb_statcache_ent e;

	if (sb_statcache_get(p->sc, path, &e) || !sb_statcache_fresh(&e, st))
		p->n++;
}

static int pend_dir(struct pending *p, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	fd = openat(p->rootfd, *dir ? dir : ".",
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((rc = join(path, dir, de->d_name)) ||
		    sb_repo_path_ignored(path) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISDIR(st.st_mode))
			rc = pend_dir(p, path);
		else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
			pend_file(p, path, &st);
	}
	closedir(d);
	return rc;
}

static int pend_gone(const char *path, const struct sb_statcache_ent *e,
		     void *arg)
{
	struct pending *p = arg;
	struct stat st;

	(void)e;
	p->cached++;
	if (fstatat(p->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) ||
	    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
		p->n++;
	return 0;
}

static int count_pending(const char *vault, size_t *n, size_t *cached)
{
	struct pending p = { NULL, -1, 0, 0 };
	char file[PATH_MAX];
	int rc;

	if ((rc = vpath(file, vault, STATCACHE)) ||
	    (rc = sb_statcache_open(&p.sc, file)))
		return rc;
	p.rootfd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p.rootfd < 0)
		rc = -errno;
	if (!rc)
		rc = pend_dir(&p, "");
	if (!rc)
		rc = sb_statcache_each(p.sc, pend_gone, &p);
	if (p.rootfd >= 0)
		close(p.rootfd);
	sb_statcache_free(p.sc);
	*n = p.n;
	*cached = p.cached;
	return rc;
}

/* ---- the lines ---- */

static void show_mount(const char *vault)
{
	char file[PATH_MAX], mnt[PATH_MAX] = "";
	long pid = 0;
	FILE *f;

	if (vpath(file, vault, PIDFILE) || !(f = fopen(file, "r"))) {
		printf("mounted: no\n");
		return;
	}
	if (fscanf(f, "%ld\n", &pid) != 1 || !fgets(mnt, sizeof(mnt), f))
		mnt[0] = '\0';
	fclose(f);
	mnt[strcspn(mnt, "\n")] = '\0';
	if (pid <= 0 || (kill((pid_t)pid, 0) && errno != EPERM))
		printf("mounted: no (stale %s)\n", PIDFILE);
	else
		printf("mounted: %s (daemon pid %ld)\n", *mnt ? mnt : "?", pid);
}

static void show_remote(struct sb_repo *r)
{
	char *url = NULL;

	if (sb_repo_remote(r, &url) || !url)
		printf("remote: none\n");
	else
		printf("remote: %s\n", url);
	free(url);
}

static void show_pending(const char *vault, int has_head)
{
	size_t n = 0, cached = 0;
	int rc = count_pending(vault, &n, &cached);

	if (rc)
		printf("pending: unknown (%s)\n", sb_err_msg(rc));
	else if (!cached && has_head)
		printf("pending: unknown (no stat cache yet: the next sync "
		       "compares every file)\n");
	else
		printf("pending: %zu change%s\n", n, n == 1 ? "" : "s");
}

/*
 * The remote's main as last known: refs/sealbox/fetched, or what this
 * device pushed on top of it since.
 */
static int upstream(struct sb_repo *r, const struct sb_state *s,
		    char oid[SB_OID_HEX])
{
	int rc = sb_repo_ref(r, FETCHED_REF, oid);

	if (*s->pushed && (rc || sb_repo_descends(r, s->pushed, oid) == 1)) {
		memcpy(oid, s->pushed, SB_OID_HEX);
		rc = 0;
	}
	return rc;
}

static void show_ahead(struct sb_repo *r, const struct sb_state *s,
		       const char *head)
{
	char up[SB_OID_HEX];
	size_t ahead = 0, behind = 0;
	int rc;

	if (upstream(r, s, up)) {
		if (*head && !sb_history_count(r, head, SIZE_MAX - 1, &ahead))
			printf("ahead %zu, behind 0 (nothing fetched yet)\n",
			       ahead);
		else
			printf("ahead 0, behind 0 (nothing fetched yet)\n");
		return;
	}
	if (!*head)
		rc = sb_history_count(r, up, SIZE_MAX - 1, &behind);
	else
		rc = sb_history_ahead_behind(r, head, up, &ahead, &behind);
	if (rc)
		printf("ahead ?, behind ? (%s)\n", sb_err_msg(rc));
	else
		printf("ahead %zu, behind %zu\n", ahead, behind);
}

static void show_state(const struct sb_state *s)
{
	char when[128];

	printf("verified: %s\n", *s->verified ? s->verified : "none");
	if (s->last_sync) {
		fmt_when(when, sizeof(when), s->last_sync);
		printf("last sync: %s\n", when);
	} else {
		printf("last sync: never\n");
	}
	if (s->last_attempt > s->last_sync) {
		fmt_when(when, sizeof(when), s->last_attempt);
		printf("last attempt: %s\n", when);
	}
	if (s->last_error && *s->last_error)
		printf("last error: %s\n", s->last_error);
	if (*s->refused) {
		fmt_when(when, sizeof(when), s->refused_at);
		printf("refused: %s at %s: %s\n", s->refused, when,
		       s->refused_why ? s->refused_why : "?");
	}
	if (*s->apply_to)
		printf("interrupted: a checkout to %.12s (the next sync "
		       "finishes it)\n", s->apply_to);
}

static void show_conflicts(const char *vault)
{
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (!vpath(dir, vault, CONFLICTS) && (d = opendir(dir))) {
		while ((de = readdir(d)))
			if (de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
			    strspn(de->d_name, "0123456789") ==
				    strlen(de->d_name))
				n++;
		closedir(d);
	}
	printf("conflicts: %zu kept%s\n", n,
	       n ? " (`sealbox conflicts` lists them)" : "");
}

static int show(const char *vault)
{
	struct sb_repo *r = NULL;
	struct sb_state s;
	char head[SB_OID_HEX] = "";
	int rc;

	if ((rc = sb_repo_open(&r, vault)))
		return rc;
	if ((rc = sb_state_load(&s, vault))) {
		sb_repo_free(r);
		return rc;
	}
	if (sb_repo_ref(r, MAIN_REF, head))
		head[0] = '\0';
	printf("vault: %s\n", vault);
	show_mount(vault);
	show_remote(r);
	printf("head: %s\n", *head ? head : "none");
	show_pending(vault, *head != '\0');
	show_ahead(r, &s, head);
	show_state(&s);
	show_conflicts(vault);
	sb_state_clear(&s);
	sb_repo_free(r);
	return 0;
}

int sb_cmd_status(int argc, char **argv)
{
	struct sb_vault *v = NULL;
	char vault[PATH_MAX];
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return sb_usage("status VAULT|MOUNTPOINT");
	if ((rc = sb_resolve_vault(vault, sizeof(vault), argv[1])) ||
	    (rc = sb_vault_open(&v, vault)))
		return sb_error("%s", sb_err_msg(rc));
	rc = show(v->path);
	sb_vault_free(v);
	fflush(stdout);
	return rc ? sb_error("%s", sb_err_msg(rc)) : 0;
}

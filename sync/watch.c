#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#include "crypto/err.h"
#include "fs/store.h"
#include "sync/watch.h"

/*
 * One thread reads libinotifytools events and records store paths in
 * `pending` under `lock`; waiters sleep on `cond` (CLOCK_MONOTONIC).
 *
 * Watch names are libinotifytools' own (absolute, ending in '/'), looked
 * up by wd for every event. Directory renames inside the store rename the
 * watches (inotifytools_replace_filename); a directory moved out of the
 * store gets a name outside the root, so its events are ignored. The
 * kernel drops the watch of a removed directory by itself (IN_IGNORED);
 * libinotifytools cannot forget it without trying inotify_rm_watch again
 * (which fails and prints), so its entry stays and its wd is noted as
 * dead: wds are allocated cyclically and are not reused.
 *
 * libinotifytools adds a directory's watch after reading its entries, so
 * a subdirectory created in between would stay unwatched: every new or
 * renamed directory is walked afterwards, parents before children, and
 * whatever lacks a live watch gets one.
 */

/*
 * No IN_CLOSE_WRITE: the file system opens backing files read-write for
 * readers too, and every file read would look changed (a sync after
 * `cat` of a whole mailbox went through all of it). Every change of
 * contents is an IN_MODIFY: the store is written with write(), pwrite()
 * and ftruncate() only, never through a shared mapping.
 */
#define WATCH_MASK (IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | \
		    IN_MOVED_TO | IN_DELETE | IN_ONLYDIR | IN_DONT_FOLLOW)
/*
 * The kernel queues a rename's MOVED_FROM and MOVED_TO back to back, so a
 * directory MOVED_FROM not followed by its MOVED_TO left the store. When
 * another event slipped in between, the late MOVED_TO is taken for a
 * directory moved in, and ensure_watched() gives its watches their names
 * back.
 */
#define MAX_MOVES 4
#define DRAIN_MAX 100000
/*
 * Gathering: after each read from the kernel, the thread pauses GATHER_MS
 * so that the next read takes whatever a busy writer made meanwhile,
 * instead of one wake-up per event (a rename makes two, an append four
 * to six). libinotifytools returns events from one static buffer and
 * puts a fresh read at its start: an event at or below the previous
 * one's address is the first of a read. sb_watch_catch_up() and
 * sb_watch_stop() cut the pause short.
 */
#define GATHER_MS 10

struct move {
	uint32_t cookie;
	char *abs;		/* old absolute path, ending in '/' */
};

struct sb_watch {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sb_changes *pending;	/* under lock */
	uint64_t first_ns, last_ns;	/* under lock; 0: nothing pending */
	size_t sort_at;			/* under lock */
	int kicked, stopping, waiters;	/* under lock */
	unsigned long marks_seen;	/* under lock: wake-pipe events read */
	pthread_mutex_t catchup;	/* one sb_watch_catch_up() at a time */
	uint64_t quiet_ns, max_ns;

	/* the thread's own */
	char *root;			/* absolute, no trailing '/' */
	size_t rootlen;
	int wake[2], wake_wd;
	uintptr_t last_event;		/* address of the last event read */
	int *dead;
	size_t ndead, adead;
	struct move moves[MAX_MOVES];
	size_t nmoves;
	unsigned gone_seq;
};

static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static int active;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ns_to_ts(struct timespec *ts, uint64_t ns)
{
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

/* Marks a change at now; wakes waiters when a batch begins. Under lock. */
static void mark_locked(struct sb_watch *w)
{
	uint64_t t = now_ns();

	if (!w->first_ns) {
		w->first_ns = t;
		pthread_cond_broadcast(&w->cond);
	}
	w->last_ns = t;
}

static void note_all(struct sb_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->pending->all = 1;
	mark_locked(w);
	pthread_mutex_unlock(&w->lock);
}

static void note_path(struct sb_watch *w, const char *path)
{
	struct sb_changes *c = w->pending;

	pthread_mutex_lock(&w->lock);
	if (!c->n || strcmp(c->paths[c->n - 1], path)) {
		if (sb_changes_add(c, path))
			c->all = 1;	/* no memory: the scan finds it */
		else if (c->n >= w->sort_at) {
			sb_changes_sort(c);
			w->sort_at = 2 * c->n + 1024;
		}
	}
	mark_locked(w);
	pthread_mutex_unlock(&w->lock);
}

/* Index of wd in the sorted dead list, or where it would go. */
static size_t dead_pos(const struct sb_watch *w, int wd)
{
	size_t lo = 0, hi = w->ndead, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (w->dead[mid] < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int is_dead(const struct sb_watch *w, int wd)
{
	size_t i = dead_pos(w, wd);

	return i < w->ndead && w->dead[i] == wd;
}

static void add_dead(struct sb_watch *w, int wd)
{
	size_t i = dead_pos(w, wd), na;
	int *p;

	if (i < w->ndead && w->dead[i] == wd)
		return;
	if (w->ndead == w->adead) {
		na = w->adead ? 2 * w->adead : 16;
		p = realloc(w->dead, na * sizeof(*p));
		if (!p)
			return;	/* only a watch we cannot re-add by name */
		w->dead = p;
		w->adead = na;
	}
	memmove(w->dead + i + 1, w->dead + i, (w->ndead - i) * sizeof(int));
	w->dead[i] = wd;
	w->ndead++;
}

/* The store path of a libinotifytools name, or NULL outside the root. */
static const char *rel_of(const struct sb_watch *w, const char *name)
{
	if (!name || strncmp(name, w->root, w->rootlen) ||
	    name[w->rootlen] != '/')
		return NULL;
	return name + w->rootlen + 1;
}

static int is_tmp(const char *name)
{
	return !strncmp(name, SB_STORE_TMP, sizeof(SB_STORE_TMP) - 1);
}

/* Whether any component of a relative path is a store temporary. */
static int has_tmp(const char *rel)
{
	const char *p;

	for (p = rel; *p; p = strchr(p, '/') + 1) {
		if (is_tmp(p))
			return 1;
		if (!strchr(p, '/'))
			break;
	}
	return 0;
}

/* Gives a watch to abs ("/.../dir/") unless it has a live one by that
 * name; a watch the kernel already had under another name is renamed. */
static void ensure_watched(struct sb_watch *w, const char *abs)
{
	int wd = inotifytools_wd_from_filename(abs), err;
	const char *cur;
	char *old;

	if (wd > 0 && !is_dead(w, wd))
		return;
	if (!inotifytools_watch_file(abs, WATCH_MASK)) {
		err = inotifytools_error();
		if (err != ENOENT && err != ENOTDIR)
			note_all(w);
		return;
	}
	wd = inotifytools_wd_from_filename(abs);
	cur = wd > 0 ? inotifytools_filename_from_wd(wd) : NULL;
	if (!cur || !strcmp(cur, abs))
		return;
	old = strdup(cur);
	if (old)
		inotifytools_replace_filename(old, abs);
	else
		note_all(w);
	free(old);
}

static int is_dir(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

/* ensure_watched() for abs (PATH_MAX buffer ending in '/') and every
 * directory below it. */
static void watch_tree(struct sb_watch *w, char *abs)
{
	size_t len = strlen(abs);
	struct dirent *de;
	DIR *d;

	ensure_watched(w, abs);
	d = opendir(abs);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    is_tmp(de->d_name))
			continue;
		if (len == w->rootlen + 1 && !strcmp(de->d_name, ".git"))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (snprintf(abs + len, PATH_MAX - len, "%s/", de->d_name) >=
		    (int)(PATH_MAX - len)) {
			note_all(w);
			continue;
		}
		if (de->d_type == DT_DIR || is_dir(abs))
			watch_tree(w, abs);
	}
	abs[len] = '\0';
	closedir(d);
}

static int abs_path(const struct sb_watch *w, char *buf, const char *rel,
		    const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s%s/", w->root, rel, name);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* A directory appeared (created or moved in from outside). */
static void dir_new(struct sb_watch *w, const char *rel, const char *name)
{
	char *abs = malloc(PATH_MAX);

	if (!abs || abs_path(w, abs, rel, name))
		note_all(w);
	else
		watch_tree(w, abs);
	free(abs);
}

/* A directory left the store: its watches get a name outside the root. */
static void move_expire(struct sb_watch *w, size_t i)
{
	char gone[64];

	snprintf(gone, sizeof(gone), ":gone:%u/", ++w->gone_seq);
	inotifytools_replace_filename(w->moves[i].abs, gone);
	free(w->moves[i].abs);
	w->moves[i] = w->moves[--w->nmoves];
}

static void moves_expire(struct sb_watch *w)
{
	while (w->nmoves)
		move_expire(w, w->nmoves - 1);
}

static void dir_moved_from(struct sb_watch *w, uint32_t cookie,
			   const char *rel, const char *name)
{
	char *abs = malloc(PATH_MAX);

	if (!abs || abs_path(w, abs, rel, name)) {
		free(abs);
		note_all(w);
		return;
	}
	if (w->nmoves == MAX_MOVES)
		move_expire(w, 0);
	w->moves[w->nmoves].cookie = cookie;
	w->moves[w->nmoves].abs = abs;
	w->nmoves++;
}

/* The MOVED_TO half: a rename inside the store renames the watches
 * below, anything else is a directory moved in. */
static void dir_moved_to(struct sb_watch *w, uint32_t cookie,
			 const char *rel, const char *name)
{
	char *abs = malloc(PATH_MAX);
	size_t i;

	if (!abs || abs_path(w, abs, rel, name)) {
		free(abs);
		note_all(w);
		return;
	}
	for (i = 0; i < w->nmoves && w->moves[i].cookie != cookie; i++)
		;
	if (i < w->nmoves) {
		inotifytools_replace_filename(w->moves[i].abs, abs);
		free(w->moves[i].abs);
		w->moves[i] = w->moves[--w->nmoves];
	}
	moves_expire(w);
	if (!is_tmp(name) && !has_tmp(rel))
		watch_tree(w, abs);
	free(abs);
}

static void handle_dir(struct sb_watch *w, const struct inotify_event *e,
		       const char *rel)
{
	int tmp = is_tmp(e->name) || has_tmp(rel);

	if (e->mask & IN_MOVED_FROM)
		dir_moved_from(w, e->cookie, rel, e->name);
	else if (e->mask & IN_MOVED_TO)
		dir_moved_to(w, e->cookie, rel, e->name);
	else if ((e->mask & IN_CREATE) && !tmp)
		dir_new(w, rel, e->name);
}

/*
 * A write to the wake pipe reached the event queue: every event queued
 * before it has been handled (the queue is in order).
 */
static void mark_seen(struct sb_watch *w)
{
	char buf[64];

	while (read(w->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&w->lock);
	w->marks_seen++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* The pause after the first event of a read, cut short by the wake pipe. */
static void gather(struct sb_watch *w, const struct inotify_event *e)
{
	struct pollfd p = { w->wake[0], POLLIN, 0 };
	uintptr_t at = (uintptr_t)e;
	int fresh = at <= w->last_event;

	w->last_event = at;
	if (fresh && w->wake_wd >= 0)
		poll(&p, 1, GATHER_MS);
}

static void handle(struct sb_watch *w, const struct inotify_event *e)
{
	char path[PATH_MAX];
	const char *rel;

	if (e->mask & IN_Q_OVERFLOW) {
		note_all(w);
		return;
	}
	if (e->wd == w->wake_wd) {
		mark_seen(w);
		return;
	}
	if (e->mask & IN_IGNORED) {
		add_dead(w, e->wd);
		return;
	}
	if (!(e->mask & IN_MOVED_TO) || !(e->mask & IN_ISDIR))
		moves_expire(w);
	if (!e->len || !e->name[0])
		return;
	rel = rel_of(w, inotifytools_filename_from_wd(e->wd));
	if (!rel || (!*rel && !strcmp(e->name, ".git")))
		return;
	if (e->mask & IN_ISDIR)
		handle_dir(w, e, rel);
	if (is_tmp(e->name) || has_tmp(rel))
		return;
	if (snprintf(path, sizeof(path), "%s%s", rel, e->name) >=
	    (int)sizeof(path))
		note_all(w);
	else
		note_path(w, path);
}

static int stopping(struct sb_watch *w)
{
	int s;

	pthread_mutex_lock(&w->lock);
	s = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return s;
}

static void *watch_main(void *arg)
{
	struct sb_watch *w = arg;
	struct inotify_event *e;
	struct timespec pause = { 0, 100000000 };
	int n = 0;

	while (!stopping(w)) {
		e = inotifytools_next_event(1);
		if (e) {
			handle(w, e);
			gather(w, e);
			continue;
		}
		moves_expire(w);
		if (inotifytools_error() && inotifytools_error() != EINTR) {
			/* events may be lost: fall back to a scan */
			note_all(w);
			nanosleep(&pause, NULL);
		}
	}
	/* libinotifytools buffers events in static storage across
	 * inotifytools_cleanup(): leave nothing for the next watcher */
	while (n++ < DRAIN_MAX && inotifytools_next_events(0, 1))
		;
	return NULL;
}

static int parse_opts(struct sb_watch *w, const struct sb_watch_opts *o)
{
	unsigned quiet = o && o->quiet_ms ? o->quiet_ms : 2000;
	unsigned max = o && o->max_ms ? o->max_ms : 30000;

	w->quiet_ns = (uint64_t)quiet * 1000000u;
	w->max_ns = (uint64_t)max * 1000000u;
	return 0;
}

static int claim(void)
{
	int rc = 0;

	pthread_mutex_lock(&active_lock);
	if (active)
		rc = sb_err_set(-EBUSY, "a watcher is already running in this "
				"process (libinotifytools is global)");
	else
		active = 1;
	pthread_mutex_unlock(&active_lock);
	return rc;
}

static void unclaim(void)
{
	pthread_mutex_lock(&active_lock);
	active = 0;
	pthread_mutex_unlock(&active_lock);
}

static int init_sync(struct sb_watch *w)
{
	pthread_condattr_t ca;
	int rc;

	if ((rc = pthread_condattr_init(&ca)))
		return -rc;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		return -rc;
	if ((rc = pthread_mutex_init(&w->lock, NULL))) {
		pthread_cond_destroy(&w->cond);
		return -rc;
	}
	if ((rc = pthread_mutex_init(&w->catchup, NULL))) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		return -rc;
	}
	return 0;
}

static int set_root(struct sb_watch *w, const char *root)
{
	struct stat st;

	w->root = realpath(root, NULL);
	if (!w->root)
		return sb_err_set(-errno, "cannot watch %s: %s", root,
				  strerror(errno));
	if (stat(w->root, &st) || !S_ISDIR(st.st_mode))
		return sb_err_set(-ENOTDIR, "cannot watch %s: not a directory",
				  root);
	w->rootlen = strlen(w->root);
	if (w->rootlen == 1)
		return sb_err_set(-EINVAL, "will not watch /");
	return 0;
}

/* A pipe watched through /proc: a write wakes inotifytools_next_event()
 * at once on stop. Without it, stopping waits for the 1 s timeout. */
static void setup_wake(struct sb_watch *w)
{
	char p[64];

	w->wake[0] = w->wake[1] = w->wake_wd = -1;
	if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK)) {
		w->wake[0] = w->wake[1] = -1;
		return;
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", w->wake[0]);
	if (inotifytools_watch_file(p, IN_MODIFY))
		w->wake_wd = inotifytools_wd_from_filename(p);
}

static int watch_root(struct sb_watch *w)
{
	char *abs = malloc(PATH_MAX);
	char excl[PATH_MAX];
	const char *excludes[] = { excl, NULL };
	int rc = 0;

	if (!abs)
		return -ENOMEM;
	snprintf(excl, sizeof(excl), "%s/.git", w->root);
	if (!inotifytools_watch_recursively_with_exclude(w->root, WATCH_MASK,
							 excludes)) {
		rc = -inotifytools_error();
		if (!rc)
			rc = -EIO;
		rc = sb_err_set(rc, "cannot watch %s: %s", w->root,
				sb_err_str(rc));
		goto out;
	}
	snprintf(abs, PATH_MAX, "%s/", w->root);
	watch_tree(w, abs);
out:
	free(abs);
	return rc;
}

static void free_watch(struct sb_watch *w)
{
	size_t i;

	for (i = 0; i < w->nmoves; i++)
		free(w->moves[i].abs);
	if (w->wake[0] >= 0)
		close(w->wake[0]);
	if (w->wake[1] >= 0)
		close(w->wake[1]);
	sb_changes_free(w->pending);
	free(w->dead);
	free(w->root);
	free(w);
}

static int start_inotify(struct sb_watch *w)
{
	int rc;

	if (!inotifytools_initialize()) {
		rc = -inotifytools_error();
		return sb_err_set(rc ? rc : -EIO, "inotify: %s",
				  sb_err_str(rc ? rc : -EIO));
	}
	setup_wake(w);
	rc = watch_root(w);
	if (rc)
		inotifytools_cleanup();
	return rc;
}

int sb_watch_start(struct sb_watch **out, const char *root,
		   const struct sb_watch_opts *o)
{
	struct sb_watch *w;
	int rc;

	if ((rc = claim()))
		return rc;
	w = calloc(1, sizeof(*w));
	if (!w) {
		rc = -ENOMEM;
		goto out_unclaim;
	}
	w->wake[0] = w->wake[1] = -1;
	parse_opts(w, o);
	w->sort_at = 1024;
	if ((rc = sb_changes_new(&w->pending)) || (rc = set_root(w, root)))
		goto out_free;
	if ((rc = init_sync(w)))
		goto out_free;
	if ((rc = start_inotify(w)))
		goto out_sync;
	if ((rc = -pthread_create(&w->thread, NULL, watch_main, w))) {
		sb_err_set(rc, "cannot start the watcher thread");
		goto out_inotify;
	}
	*out = w;
	return 0;

out_inotify:
	inotifytools_cleanup();
out_sync:
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->catchup);
	pthread_mutex_destroy(&w->lock);
out_free:
	free_watch(w);
out_unclaim:
	unclaim();
	return rc;
}

/* When the pending batch is due, or 0 when nothing is pending. */
static uint64_t due_locked(const struct sb_watch *w)
{
	uint64_t quiet, max;

	if (!w->first_ns)
		return 0;
	quiet = w->last_ns + w->quiet_ns;
	max = w->first_ns + w->max_ns;
	return quiet < max ? quiet : max;
}

static int wait_locked(struct sb_watch *w, uint64_t deadline)
{
	struct timespec ts;
	uint64_t due, now, until;

	for (;;) {
		if (w->stopping)
			return -ECANCELED;
		if (w->kicked) {
			w->kicked = 0;
			return 1;
		}
		now = now_ns();
		due = due_locked(w);
		if (due && now >= due)
			return 1;
		if (deadline && now >= deadline)
			return 0;
		until = due && (!deadline || due < deadline) ? due : deadline;
		if (!until) {
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		ns_to_ts(&ts, until);
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
}

int sb_watch_wait(struct sb_watch *w, int timeout_ms)
{
	uint64_t deadline = 0;
	int rc;

	if (timeout_ms >= 0)
		deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	pthread_mutex_lock(&w->lock);
	w->waiters++;
	rc = wait_locked(w, deadline);
	if (!--w->waiters && w->stopping)
		pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int sb_watch_busy(struct sb_watch *w)
{
	int busy;

	pthread_mutex_lock(&w->lock);
	busy = w->first_ns != 0;
	pthread_mutex_unlock(&w->lock);
	return busy;
}

void sb_watch_kick(struct sb_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->kicked = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * Catch-ups run one at a time, so the previous marker was read before
 * this one is written and the kernel cannot merge the two into one
 * event: the next wake-pipe event read is this one's (or sb_watch_stop's,
 * which ends the wait anyway).
 */
int sb_watch_catch_up(struct sb_watch *w, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	unsigned long target;
	struct timespec ts;
	int rc = 0;

	if (w->wake_wd < 0)
		return 0;	/* no marker, and no pause either */
	pthread_mutex_lock(&w->catchup);
	pthread_mutex_lock(&w->lock);
	target = w->marks_seen + 1;
	pthread_mutex_unlock(&w->lock);
	if (write(w->wake[1], "m", 1) != 1)
		rc = -errno;
	pthread_mutex_lock(&w->lock);
	while (!rc && w->marks_seen < target) {
		if (w->stopping)
			rc = -ECANCELED;
		else if (now_ns() >= deadline)
			rc = -ETIMEDOUT;
		else {
			ns_to_ts(&ts, deadline);
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
	}
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&w->catchup);
	return rc;
}

int sb_watch_take(struct sb_watch *w, struct sb_changes *c)
{
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	if (w->pending->n) {
		rc = sb_changes_merge(c, w->pending);
	} else {
		/* sb_changes_merge() would memcpy() from NULL */
		c->all |= w->pending->all;
		w->pending->all = 0;
	}
	if (!rc) {
		w->first_ns = w->last_ns = 0;
		w->sort_at = 1024;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void sb_watch_stop(struct sb_watch *w)
{
	ssize_t n;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cond);
	while (w->waiters)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (w->wake[1] >= 0)
		n = write(w->wake[1], "x", 1);
	(void)n;
	pthread_join(w->thread, NULL);
	inotifytools_cleanup();
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->catchup);
	pthread_mutex_destroy(&w->lock);
	free_watch(w);
	unclaim();
}

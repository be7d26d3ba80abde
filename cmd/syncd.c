#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/control.h"
#include "cmd/keys.h"
#include "cmd/syncd.h"
#include "crypto/sign.h"
#include "fs/fs.h"
#include "sync/remote.h"
#include "sync/watch.h"

#define BACKOFF_MIN 5
#define BACKOFF_MAX 300
#define SYNC_NICE 10
/* How long an explicit sync waits for the watcher to read what is queued. */
#define CATCH_UP_MS 5000

struct sb_syncd {
	struct sb_vault *v;
	struct sb_repo *repo;
	struct sb_statcache *sc;
	struct sb_sync *engine;
	struct sb_fs *fs;
	struct sb_watch *watch;
	struct sb_control *control;
	pthread_t thread;
	int running;
	volatile int stopping;
	unsigned quiet_s, max_s, fetch_s;
};

static int sign_cb(char **armor, const void *buf, size_t len, void *ctx)
{
	const struct sb_device_keys *dev = ctx;

	return sb_sshsig_sign(armor, dev->sign, "git", buf, len);
}

static void invalidate(const char *plain, void *ctx)
{
	struct sb_syncd *d = ctx;

	if (d->fs)
		sb_fs_invalidate(d->fs, plain);
}

int sb_syncd_open(struct sb_syncd **out, struct sb_vault *v,
		  struct sb_store *st)
{
	struct sb_sync_cfg cfg;
	struct sb_syncd *d = calloc(1, sizeof(*d));
	char path[PATH_MAX];
	int rc;

	if (!d)
		return -ENOMEM;
	d->v = v;
	snprintf(path, sizeof(path), "%s/" SB_VAULT_STATE "/statcache", v->path);
	if ((rc = sb_repo_open(&d->repo, v->path)) ||
	    (rc = sb_statcache_open(&d->sc, path)))
		goto fail;
	memset(&cfg, 0, sizeof(cfg));
	cfg.vault = v->path;
	cfg.repo = d->repo;
	cfg.store = st;
	cfg.sc = d->sc;
	cfg.device = v->keys->name;
	cfg.sign = sign_cb;
	cfg.sign_ctx = v->keys;
	cfg.changed = invalidate;
	cfg.changed_ctx = d;
	if ((rc = sb_sync_new(&d->engine, &cfg)))
		goto fail;
	*out = d;
	return 0;
fail:
	sb_syncd_close(d);
	return rc;
}

struct sb_sync *sb_syncd_engine(struct sb_syncd *d)
{
	return d->engine;
}

void sb_syncd_close(struct sb_syncd *d)
{
	if (!d)
		return;
	sb_sync_free(d->engine);
	sb_statcache_free(d->sc);
	sb_repo_free(d->repo);
	free(d);
}

static unsigned setting(struct sb_repo *r, const char *key, int def)
{
	int v = sb_repo_config_int(r, key, def);

	return v > 0 ? (unsigned)v : (unsigned)def;
}

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * A commit of many paths (a bulk copy, a touch of every file) allocates
 * tens of MiB that it frees at once; glibc keeps freed heap pages
 * mapped unless asked, and the daemon would carry the largest commit's
 * memory for good. Cheap next to a commit.
 */
static void give_back_memory(void)
{
	malloc_trim(0);
}

/*
 * One round: commit what the watcher collected and, unless the remote is
 * in backoff, exchange with it. Returns the next time a fetch is due.
 */
static int64_t round_once(struct sb_syncd *d, struct sb_changes *c,
			  int64_t next, unsigned *backoff)
{
	struct sb_sync_report rep;
	int64_t t = now_s();
	int rc;

	if (t < next && *backoff) {
		sb_sync_commit(d->engine, c, &rep);
		return next;
	}
	rc = sb_sync_run(d->engine, c, &rep, NULL);
	if (rc == SB_ENET) {
		*backoff = *backoff ? *backoff * 2 : BACKOFF_MIN;
		if (*backoff > BACKOFF_MAX)
			*backoff = BACKOFF_MAX;
		return now_s() + *backoff;
	}
	*backoff = 0;
	return now_s() + d->fetch_s;
}

static void *loop(void *arg)
{
	struct sb_syncd *d = arg;
	struct sb_changes *c = NULL;
	int64_t next = now_s() + d->fetch_s;
	unsigned backoff = 0;
	int r;

	/*
	 * Background work yields to the file system: commits, fetches and
	 * pushes run at nice SYNC_NICE (this thread only, as Linux applies
	 * it), so that committing a large import does not slow the
	 * requests of the program that is still writing it.
	 */
	setpriority(PRIO_PROCESS, (id_t)gettid(), SYNC_NICE);
	if (sb_changes_new(&c))
		return NULL;
	c->all = 1;	/* catch up with what changed while nobody watched */
	while (!d->stopping) {
		int64_t left = next - now_s();

		r = sb_watch_wait(d->watch, left > 0 ? (int)left * 1000 : 0);
		/*
		 * A fetch falling due in the middle of a burst of changes
		 * waits for the burst's batch (at most commitMax away), which
		 * brings the fetch along: committing half a burst would take
		 * CPU from the program still writing and split its commit.
		 */
		if (r == 0 && sb_watch_busy(d->watch))
			r = sb_watch_wait(d->watch, -1);
		if (r < 0 || d->stopping)
			break;
		if (sb_watch_take(d->watch, c))
			c->all = 1;
		if (r == 1 || c->n || c->all || now_s() >= next) {
			next = round_once(d, c, next, &backoff);
			sb_changes_clear(c);
			give_back_memory();
		}
	}
	sb_changes_free(c);
	return NULL;
}

/* `sealbox sync` through the control socket: what the watcher holds too. */
static int on_sync(const char *args, FILE *out, void *arg)
{
	struct sb_syncd *d = arg;
	struct sb_sync_report rep;
	struct sb_changes *c = NULL;
	int rc;

	if ((rc = sb_changes_new(&c)))
		return rc;
	if (sb_watch_catch_up(d->watch, CATCH_UP_MS))
		c->all = 1;
	if (sb_watch_take(d->watch, c))
		c->all = 1;
	rc = sb_sync_run(d->engine, c, &rep, out);
	sb_changes_free(c);
	give_back_memory();
	if (!rc)
		sb_syncd_report(&rep, out);
	return rc;
}

void sb_syncd_report(const struct sb_sync_report *rep, FILE *out)
{
	if (!rep->committed && !rep->fast_forward && !rep->merged &&
	    !rep->pushed)
		fprintf(out, "up to date at %.12s\n", rep->head);
	if (rep->kept)
		fprintf(out, "%zu file%s changed here while syncing: they will "
			"be committed next\n", rep->kept,
			rep->kept == 1 ? "" : "s");
}

static int start_control(struct sb_syncd *d)
{
	int rc = sb_control_start(&d->control, d->v->path);

	if (!rc)
		rc = sb_control_register(d->control, "sync", on_sync, d);
	if (rc)
		return sb_error("cannot serve the control socket of %s: %s",
				d->v->path, sb_err_msg(rc));
	return 0;
}

int sb_syncd_start(struct sb_syncd *d, struct sb_fs *fs)
{
	struct sb_watch_opts wo;
	int rc;

	d->fs = fs;
	d->quiet_s = setting(d->repo, "sealbox.commitDelay", 2);
	d->max_s = setting(d->repo, "sealbox.commitMax", 30);
	d->fetch_s = setting(d->repo, "sealbox.fetchInterval", 60);
	wo.quiet_ms = d->quiet_s * 1000;
	wo.max_ms = d->max_s * 1000;
	if ((rc = sb_sync_recover(d->engine)))
		return sb_error("cannot finish the interrupted sync of %s: %s",
				d->v->path, sb_err_msg(rc));
	if ((rc = sb_watch_start(&d->watch, d->v->path, &wo)))
		return sb_error("cannot watch %s: %s", d->v->path,
				sb_err_msg(rc));
	if (pthread_create(&d->thread, NULL, loop, d)) {
		sb_watch_stop(d->watch);
		d->watch = NULL;
		return sb_error("cannot start the sync thread");
	}
	d->running = 1;
	sb_watch_kick(d->watch);
	return start_control(d);
}

void sb_syncd_stop(struct sb_syncd *d)
{
	struct sb_sync_report rep;
	struct sb_changes *c = NULL;

	if (!d || !d->running)
		return;
	sb_control_stop(d->control);
	d->control = NULL;
	d->stopping = 1;
	sb_watch_kick(d->watch);
	pthread_join(d->thread, NULL);
	d->running = 0;
	if (!sb_changes_new(&c)) {
		if (sb_watch_catch_up(d->watch, CATCH_UP_MS))
			c->all = 1;
		if (sb_watch_take(d->watch, c))
			c->all = 1;
		sb_sync_run(d->engine, c, &rep, NULL);
		sb_changes_free(c);
	}
	sb_watch_stop(d->watch);
	d->watch = NULL;
}

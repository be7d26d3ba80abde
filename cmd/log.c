#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/resolve.h"
#include "fs/store.h"
#include "sync/history.h"
#include "sync/state.h"
#include "sync/verify.h"

/*
 * sealbox log: the history of refs/heads/main, first parents, newest
 * first, with decrypted paths and a summary per folder.
 *
 * Trust: history is verified from the root (sb_verify_range) on every run
 * when it holds at most VERIFY_ALL commits (measured: 2,000 commits in
 * 2.6 s); a longer one is verified from the last verified head of the
 * sync state when main descends from it, the commits before it having
 * been verified by the syncs that brought them, and the output says so.
 * A commit is shown "verified" only when verification covered it and no
 * refused commit lies below it: sb_verify_range checks parents before
 * children, so the ancestors of a refused commit passed.
 */

#define MAIN_REF "refs/heads/main"
#define VERIFY_ALL 2000	/* about 1.3 ms each: 2.6 s */

static const char log_usage[] =
	"log [-n N] [--stat] [--passphrase-file FILE | --passphrase-fd N] "
	"VAULT|MOUNTPOINT";

struct log_opts {
	long max;			/* -n, or -1 */
	int stat;
	struct sb_pass_src pass;
	const char *arg;
};

struct log_ctx {
	struct sb_repo *r;
	struct sb_store *st;
	const struct log_opts *o;
	char bad[SB_OID_HEX];		/* refused commit, or "" */
	char verified[SB_OID_HEX];	/* state's last verified head */
	int partial;			/* only verified from `verified` */
};

static int parse_log(struct log_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stat", no_argument, NULL, 's' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->max = strtol(optarg, &end, 10);
			if (*end || o->max < 0)
				return sb_usage(log_usage);
			break;
		case 's': o->stat = 1; break;
		case 'p': o->pass.file = optarg; break;
		case 'P':
			if (sb_parse_fd(&o->pass.fd, optarg))
				return 2;
			break;
		default: return sb_usage(log_usage);
		}
	}
	if (optind != argc - 1)
		return sb_usage(log_usage);
	o->arg = argv[optind];
	return 0;
}

/* "2026-11-28 10:02:11 +0100" in the commit's own time zone. */
static void fmt_time(char *buf, size_t size, int64_t t, int tz)
{
	time_t local = (time_t)(t + (int64_t)tz * 60);
	struct tm tm;
	int a = tz < 0 ? -tz : tz;

	gmtime_r(&local, &tm);
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d %c%02d%02d",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, tz < 0 ? '-' : '+', a / 60, a % 60);
}

/* Verifies the history below head; prints one line saying how far. */
static int verify_history(struct log_ctx *x, const char *head)
{
	struct sb_verify_result vr;
	const char *base = NULL;
	size_t n = 0;
	int rc;

	memset(&vr, 0, sizeof(vr));
	if ((rc = sb_history_count(x->r, head, VERIFY_ALL, &n)))
		return rc;
	if (n > VERIFY_ALL && *x->verified &&
	    sb_repo_descends(x->r, head, x->verified) == 1) {
		base = x->verified;
		x->partial = 1;
	}
	rc = sb_verify_range(&vr, x->r, base, head, NULL);
	if (rc) {
		snprintf(x->bad, sizeof(x->bad), "%s",
			 *vr.bad_commit ? vr.bad_commit : head);
		printf("history: refused at %s: %s\n", x->bad,
		       sb_err_msg(rc));
		return 0;
	}
	if (base)
		printf("history: %zu new commit%s verified from %.12s (more "
		       "than %d commits: the older ones were verified by "
		       "earlier syncs, not again now)\n", vr.verified,
		       vr.verified == 1 ? "" : "s", base, VERIFY_ALL);
	else
		printf("history: %zu commit%s verified from the root\n",
		       vr.verified, vr.verified == 1 ? "" : "s");
	return 0;
}

/* Whether the commit oid is covered by verification. */
static int is_verified(struct log_ctx *x, const char *oid)
{
	if (!*x->bad)
		return 1;
	/* nothing above a refused commit is trusted */
	if (sb_repo_descends(x->r, oid, x->bad) != 0)
		return 0;
	/* the walk checks parents first: those below it passed */
	if (sb_repo_descends(x->r, x->bad, oid) == 1)
		return 1;
	return *x->verified && sb_repo_descends(x->r, x->verified, oid) == 1;
}

static void print_message(const char *msg)
{
	const char *p = msg, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		printf("%s%.*s\n", nl > p ? "    " : "", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

static int print_changes(struct log_ctx *x, const char *oid)
{
	struct sb_history_changes *ch = NULL;
	struct sb_history_summary *s = NULL;
	char line[PATH_MAX + 256];
	size_t i;
	int rc;

	if ((rc = sb_history_changes(&ch, x->r, x->st, oid)) ||
	    (rc = sb_history_summarize(&s, ch)))
		goto out;
	if (ch->n)
		putchar('\n');
	for (i = 0; i < s->n; i++) {
		sb_history_folder_line(line, sizeof(line), &s->f[i]);
		printf("    %s\n", line);
	}
	for (i = 0; x->o->stat && i < ch->n; i++)
		printf("    %c %s%s\n", ch->c[i].status, ch->c[i].path,
		       (ch->c[i].mode & S_IFMT) == S_IFDIR ? "/" : "");
out:
	sb_history_summary_free(s);
	sb_history_changes_free(ch);
	return rc;
}

static int print_commit(struct log_ctx *x, const struct sb_history_commit *c)
{
	char when[64];

	fmt_time(when, sizeof(when), c->time, c->tz);
	printf("\ncommit %s %s\n", c->oid,
	       is_verified(x, c->oid) ? "verified" : "UNVERIFIED");
	if (c->nparents > 1)
		printf("Merge:  %.12s %.12s%s\n", c->parents[0], c->parents[1],
		       c->nparents > 2 ? " ..." : "");
	printf("Device: %s\n", *c->signer ? c->signer : "unknown");
	printf("Date:   %s\n\n", when);
	print_message(c->message);
	return print_changes(x, c->oid);
}

static int walk(struct log_ctx *x, const char *head)
{
	struct sb_history *h = NULL;
	struct sb_history_commit c;
	long shown = 0;
	int rc;

	if ((rc = sb_history_open(&h, x->r, head)))
		return rc;
	while ((x->o->max < 0 || shown < x->o->max) &&
	       (rc = sb_history_next(h, &c)) == 1) {
		rc = print_commit(x, &c);
		sb_history_commit_clear(&c);
		if (rc)
			break;
		shown++;
	}
	sb_history_free(h);
	return rc < 0 ? rc : 0;
}

static int run_log(struct log_ctx *x, const char *vault)
{
	struct sb_state state;
	char head[SB_OID_HEX];
	int rc;

	if ((rc = sb_repo_ref(x->r, MAIN_REF, head)) == -ENOENT) {
		printf("no commits yet\n");
		return 0;
	}
	if (rc || (rc = sb_state_load(&state, vault)))
		return rc;
	snprintf(x->verified, sizeof(x->verified), "%s", state.verified);
	sb_state_clear(&state);
	if ((rc = verify_history(x, head)) || (rc = walk(x, head)))
		return rc;
	return *x->bad ? 1 : 0;
}

int sb_cmd_log(int argc, char **argv)
{
	struct log_opts o = { -1, 0, SB_PASS_SRC_INIT, NULL };
	struct log_ctx x;
	struct sb_vault *v = NULL;
	char vault[PATH_MAX];
	int rc;

	if ((rc = parse_log(&o, argc, argv)))
		return rc;
	if ((rc = sb_resolve_vault(vault, sizeof(vault), o.arg)))
		return sb_error("%s", sb_err_msg(rc));
	if (sb_cmd_unlock(&v, vault, &o.pass))
		return 1;
	memset(&x, 0, sizeof(x));
	x.o = &o;
	rc = sb_store_open(&x.st, v->path, v->secrets);
	if (!rc)
		rc = sb_repo_open(&x.r, v->path);
	if (!rc)
		rc = run_log(&x, v->path);
	fflush(stdout);
	if (rc < 0)
		sb_error("%s", sb_err_msg(rc));
	else if (rc)
		sb_error("history of %s holds a refused commit (%.12s); run "
			 "`sealbox fsck`", v->path, x.bad);
	sb_repo_free(x.r);
	sb_store_free(x.st);
	sb_vault_free(v);
	return rc ? 1 : 0;
}

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/resolve.h"
#include "fs/store.h"
#include "sync/conflicts.h"
#include "sync/repo.h"

/*
 * sealbox conflicts: the versions a merge kept (sync/conflicts.h).
 *
 *   sealbox conflicts [--passphrase-file FILE] VAULT|MOUNTPOINT
 *   sealbox conflicts restore [--passphrase-file FILE] ID VAULT|MOUNTPOINT
 *   sealbox conflicts drop ID VAULT|MOUNTPOINT
 *
 * A listing has one line per kept version:
 *   <id> <date> <time> property <path> <component>: <losing line>
 *       (lost by <device>)[ [restored]]
 *   <id> <date> <time> kept <path>: <kept copy> (lost by <device>)...
 * A restore writes into the store; the next commit (or sync) takes it.
 */

#define CONFLICTS ".git/sealbox/conflicts"

static const char conflicts_usage[] =
	"conflicts [--passphrase-file FILE | --passphrase-fd N] "
	"[restore ID | drop ID] VAULT|MOUNTPOINT";

struct conflicts_opts {
	struct sb_pass_src pass;
	const char *verb;		/* NULL: list */
	unsigned id;
	const char *arg;
};

static int parse_id(unsigned *id, const char *s)
{
	char *end;
	unsigned long v;

	if (*s < '1' || *s > '9')
		return 1;
	v = strtoul(s, &end, 10);
	if (*end || v > 999999999ul)
		return 1;
	*id = (unsigned)v;
	return 0;
}

static int parse_conflicts(struct conflicts_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rest;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'p')
			o->pass.file = optarg;
		else if (c != 'P' || sb_parse_fd(&o->pass.fd, optarg))
			return sb_usage(conflicts_usage);
	}
	rest = argc - optind;
	if (rest == 3 && (!strcmp(argv[optind], "restore") ||
			  !strcmp(argv[optind], "drop"))) {
		o->verb = argv[optind];
		if (parse_id(&o->id, argv[optind + 1]))
			return sb_usage(conflicts_usage);
		o->arg = argv[optind + 2];
		return 0;
	}
	if (rest == 1 && strcmp(argv[optind], "restore") &&
	    strcmp(argv[optind], "drop")) {
		o->arg = argv[optind];
		return 0;
	}
	return sb_usage(conflicts_usage);
}

static void print_rec(const struct sb_conflict_rec *r)
{
	const struct sb_merge_conflict *c = &r->c;
	time_t t = (time_t)r->when;
	char when[32];
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (c->kept)
		printf("%u %s kept %s: %s", r->id, when, c->path, c->kept);
	else
		printf("%u %s property %s %s: %s", r->id, when, c->path,
		       c->where ? c->where : "?",
		       c->line ? c->line : c->what ? c->what : "?");
	if (!c->kept && !c->line)
		printf(" (deleted)");
	printf(" (lost by %s)%s\n", c->loser ? c->loser : "?",
	       r->restored ? " [restored]" : "");
}

static int list(struct sb_store *st, const char *dir)
{
	struct sb_conflict_list *l = NULL;
	size_t i;
	int rc;

	if ((rc = sb_conflicts_list(&l, st, dir)))
		return rc;
	if (!l->n)
		printf("no kept versions\n");
	for (i = 0; i < l->n; i++)
		print_rec(&l->recs[i]);
	sb_conflicts_list_free(l);
	return 0;
}

static int restore(struct sb_store *st, const char *vault, const char *dir,
		   unsigned id)
{
	struct sb_repo *r = NULL;
	int rc;

	if ((rc = sb_repo_open(&r, vault)))
		return rc;
	rc = sb_conflicts_restore(st, r, dir, id);
	sb_repo_free(r);
	if (!rc)
		printf("restored %u; the next sync commits it\n", id);
	return rc;
}

static int with_store(const struct conflicts_opts *o, const char *vault,
		      const char *dir)
{
	struct sb_store *st = NULL;
	struct sb_vault *v = NULL;
	int rc;

	if (sb_cmd_unlock(&v, vault, &o->pass))
		return 1;
	rc = sb_store_open(&st, v->path, v->secrets);
	if (!rc)
		rc = o->verb ? restore(st, v->path, dir, o->id)
			     : list(st, dir);
	sb_store_free(st);
	sb_vault_free(v);
	return rc;
}

int sb_cmd_conflicts(int argc, char **argv)
{
	struct conflicts_opts o;
	char vault[PATH_MAX], dir[PATH_MAX + sizeof(CONFLICTS) + 1];
	int rc;

	memset(&o, 0, sizeof(o));
	o.pass.fd = -1;
	if ((rc = parse_conflicts(&o, argc, argv)))
		return rc;
	if ((rc = sb_resolve_vault(vault, sizeof(vault), o.arg)))
		return sb_error("%s", sb_err_msg(rc));
	snprintf(dir, sizeof(dir), "%s/" CONFLICTS, vault);
	if (o.verb && !strcmp(o.verb, "drop")) {
		rc = sb_conflicts_drop(dir, o.id);
		if (!rc)
			printf("dropped %u\n", o.id);
	} else {
		rc = with_store(&o, vault, dir);
		if (rc == 1)
			return 1;	/* unlock printed why */
	}
	fflush(stdout);
	return rc ? sb_error("%s", sb_err_msg(rc)) : 0;
}

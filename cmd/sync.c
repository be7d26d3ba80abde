#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/control.h"
#include "cmd/resolve.h"
#include "cmd/syncd.h"

static const char sync_usage[] =
	"sync [--passphrase-file FILE | --passphrase-fd N] VAULT|MOUNTPOINT";

static int parse(struct sb_pass_src *src, const char **path, int argc,
		 char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--passphrase-file") && i + 1 < argc)
			src->file = argv[++i];
		else if (!strcmp(argv[i], "--passphrase-fd") && i + 1 < argc) {
			if (sb_parse_fd(&src->fd, argv[++i]))
				return 2;
		} else if (argv[i][0] == '-' || *path)
			return sb_usage(sync_usage);
		else
			*path = argv[i];
	}
	return *path ? 0 : sb_usage(sync_usage);
}

/* Not mounted: unlock and run one sync here. */
static int sync_direct(const char *path, const struct sb_pass_src *src)
{
	struct sb_sync_report rep;
	struct sb_syncd *d = NULL;
	struct sb_store *st = NULL;
	struct sb_vault *v = NULL;
	int rc;

	if (sb_cmd_unlock(&v, path, src))
		return 1;
	rc = sb_store_open(&st, v->path, v->secrets);
	if (!rc)
		rc = sb_syncd_open(&d, v, st);
	if (!rc)
		rc = sb_sync_run(sb_syncd_engine(d), NULL, &rep, stdout);
	if (!rc)
		sb_syncd_report(&rep, stdout);
	else
		sb_error("sync of %s failed: %s", v->path, sb_err_msg(rc));
	sb_syncd_close(d);
	sb_store_free(st);
	sb_vault_free(v);
	return rc ? 1 : 0;
}

int sb_cmd_sync(int argc, char **argv)
{
	struct sb_pass_src src = SB_PASS_SRC_INIT;
	const char *path = NULL;
	char vault[PATH_MAX];
	int rc;

	if ((rc = parse(&src, &path, argc, argv)))
		return rc;
	if ((rc = sb_resolve_vault(vault, sizeof(vault), path)))
		return sb_error("%s", sb_err_msg(rc));
	rc = sb_control_call(vault, "sync", stdout);
	if (rc != -ENOENT)
		return rc;
	return sync_direct(vault, &src);
}

/*
 * sb-remote: fetch and push of a plain git repository (with a work tree)
 * through sync/remote.c, for the transport tests. The remote and its
 * settings come from the repository's config (sealbox remote set).
 *
 *   sb-remote [-p] fetch REPO        prints the fetched head
 *   sb-remote [-p] push REPO OID     pushes OID to the remote's main
 *
 * Exit codes: 0 done, 1 other error, 2 usage, 3 -ENOENT (no main yet),
 * 4 SB_ENET, 5 SB_EAUTH, 6 SB_EREJECT. The message goes to stderr as
 * "sb-remote: CODE: message".
 */

#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/remote.h"
#include "sync/repo.h"

static const char usage[] =
	"usage: sb-remote [-p] fetch REPO | sb-remote [-p] push REPO OID\n";

static int report(int rc)
{
	static const struct {
		int code;
		const char *name;
		int exit;
	} map[] = {
		{ -ENOENT, "ENOENT", 3 }, { SB_ENET, "SB_ENET", 4 },
		{ SB_EAUTH, "SB_EAUTH", 5 }, { SB_EREJECT, "SB_EREJECT", 6 },
	};
	size_t i;

	if (!rc)
		return 0;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].code == rc) {
			fprintf(stderr, "sb-remote: %s: %s\n", map[i].name,
				sb_err_msg(rc));
			return map[i].exit;
		}
	}
	fprintf(stderr, "sb-remote: error %d: %s\n", rc, sb_err_msg(rc));
	return 1;
}

static int run(int progress, const char *path,
	       const char *oid)
{
	struct sb_remote_config c;
	struct sb_repo *r = NULL;
	char head[SB_OID_HEX];
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = sb_repo_open(&r, path)) ||
	    (rc = sb_remote_config_load(r, &c)))
		goto out;
	c.progress = progress;
	if (oid) {
		rc = sb_remote_push(r, &c, oid);
	} else if (!(rc = sb_remote_fetch(r, &c, head))) {
		printf("%s\n", head);
	}
out:
	sb_remote_config_clear(&c);
	sb_repo_free(r);
	return report(rc);
}

int main(int argc, char **argv)
{
	int progress = argc > 1 && !strcmp(argv[1], "-p");

	argc -= progress;
	argv += progress;
	if (sb_crypto_init(0))
		return 1;
	if (argc == 3 && !strcmp(argv[1], "fetch"))
		return run(progress, argv[2], NULL);
	if (argc == 4 && !strcmp(argv[1], "push"))
		return run(progress, argv[2], argv[3]);
	fputs(usage, stderr);
	return 2;
}

#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "sync/remote.h"
#include "crypto/sign.h"
#include "sync/repo.h"

static void show_device(const struct sb_policy_device *d, const char *self)
{
	char fpr[SB_FPR_LEN];

	sb_ssh_fingerprint(fpr, d->sign_pub);
	printf("  %-20s %-6s %s%s\n", d->name, d->admin ? "admin" : "member",
	       fpr, strcmp(d->name, self) ? "" : "  (this device)");
}

static void show(const struct sb_vault *v, const char *remote)
{
	const struct sb_keyfile_info *k = &v->info;
	char fpr[SB_FPR_LEN], url[1024];
	size_t i;

	sb_ssh_fingerprint(fpr, k->sign_pub);
	printf("vault:        %s\n", v->path);
	printf("format:       %d\n", SB_VAULT_FORMAT);
	printf("key epoch:    %u\n", v->policy->epoch);
	printf("kdf:          argon2id t=%u m=%u MiB lanes=%u\n", k->kdf.time,
	       k->kdf.mem_kib / 1024, k->kdf.lanes);
	printf("device:       %s\n", k->name);
	printf("fingerprint:  %s\n", fpr);
	printf("head:         %s (signature verified)\n", v->head);
	sb_remote_url_redact(url, sizeof(url), remote ? remote : "(none)");
	printf("remote:       %s\n", url);
	printf("devices:\n");
	for (i = 0; i < v->policy->ndevices; i++)
		show_device(&v->policy->devices[i], k->name);
	sb_ssh_fingerprint(fpr, v->policy->recovery_sign);
	printf("recovery key: %s\n", fpr);
}

int sb_cmd_info(int argc, char **argv)
{
	struct sb_vault *v;
	struct sb_repo *repo;
	char *remote = NULL;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return sb_usage("info VAULT");
	if ((rc = sb_vault_open(&v, argv[1])))
		return sb_error("%s", sb_err_msg(rc));
	if ((rc = sb_repo_open(&repo, v->path)) == 0) {
		rc = sb_repo_remote(repo, &remote);
		sb_repo_free(repo);
	}
	if (!rc)
		show(v, remote);
	else
		sb_error("%s", sb_err_msg(rc));
	free(remote);
	sb_vault_free(v);
	return rc ? 1 : 0;
}

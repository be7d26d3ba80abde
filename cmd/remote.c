#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "sync/remote.h"
#include "sync/repo.h"

static const char remote_usage[] =
	"remote VAULT\n"
	"       sealbox remote set [--ssh-key FILE] [--known-hosts FILE] "
	"[--host-key \"TYPE BASE64\"] [--ca-file FILE] [--attempts N] URL VAULT";

static int open_repo(struct sb_repo **repo, const char *vault)
{
	int rc = sb_repo_open(repo, vault);

	if (rc)
		return sb_error("%s is not a vault: %s", vault, sb_err_msg(rc));
	return 0;
}

static void show_opt(const char *label, const char *v, const char *def)
{
	printf("%-12s %s\n", label, v ? v : def);
}

static int show(const char *vault)
{
	struct sb_remote_config c;
	struct sb_repo *repo;
	char url[2048];
	int rc;

	if (open_repo(&repo, vault))
		return 1;
	rc = sb_remote_config_load(repo, &c);
	sb_repo_free(repo);
	if (rc)
		return sb_error("%s: %s", vault, sb_err_msg(rc));
	if (c.url)
		sb_remote_url_redact(url, sizeof(url), c.url);
	show_opt("url:", c.url ? url : NULL, "(none)");
	show_opt("known-hosts:", c.known_hosts, "~/.ssh/known_hosts");
	show_opt("host-key:", c.host_key, "(none: known-hosts is used)");
	show_opt("ssh-key:", c.ssh_key,
		 "(none: ssh-agent, then ~/.ssh/id_ed25519)");
	show_opt("ca-file:", c.ca_file, "(none: the system CA store)");
	printf("%-12s %d\n", "attempts:", c.attempts > 0 ? c.attempts : 3);
	sb_remote_config_clear(&c);
	return 0;
}

/* Files are stored as absolute paths: the daemon runs elsewhere. */
static int abs_file(char **out, const char *opt, const char *path)
{
	char buf[PATH_MAX];

	if (!realpath(path, buf))
		return sb_error("%s %s: %s", opt, path, strerror(errno));
	if (access(buf, R_OK))
		return sb_error("%s %s: %s", opt, path, strerror(errno));
	if (!(*out = strdup(buf)))
		return sb_error("out of memory");
	return 0;
}

/* "TYPE BASE64" with nothing else but an optional comment. */
static int check_host_key(const char *k)
{
	const char *sp = strchr(k, ' ');

	if (!sp || sp == k || !sp[1] ||
	    (strncmp(k, "ssh-", 4) && strncmp(k, "ecdsa-", 6)))
		return sb_error("--host-key \"%s\": expected \"ssh-ed25519 "
				"AAAA...\" as in a .pub file or ssh-keyscan "
				"output", k);
	return 0;
}

static int parse_set(struct sb_remote_config *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ssh-key", required_argument, NULL, 'k' },
		{ "known-hosts", required_argument, NULL, 'K' },
		{ "host-key", required_argument, NULL, 'H' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "attempts", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int o, rc = 0;

	while (!rc && (o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (o) {
		case 'k': rc = abs_file(&c->ssh_key, "--ssh-key", optarg); break;
		case 'K':
			rc = abs_file(&c->known_hosts, "--known-hosts", optarg);
			break;
		case 'c': rc = abs_file(&c->ca_file, "--ca-file", optarg); break;
		case 'H':
			if (!(rc = check_host_key(optarg)) &&
			    !(c->host_key = strdup(optarg)))
				rc = sb_error("out of memory");
			break;
		case 'a':
			c->attempts = (int)strtol(optarg, &end, 10);
			if (*end || c->attempts < 1 || c->attempts > 100)
				return sb_error("--attempts %s: a number from 1 "
						"to 100", optarg);
			break;
		default: return sb_usage(remote_usage);
		}
	}
	if (!rc && optind != argc - 2)
		return sb_usage(remote_usage);
	return rc;
}

static int set(int argc, char **argv)
{
	struct sb_remote_config c;
	struct sb_repo *repo = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = parse_set(&c, argc, argv)))
		goto out;
	if (!(c.url = strdup(argv[optind]))) {
		rc = sb_error("out of memory");
		goto out;
	}
	if ((rc = open_repo(&repo, argv[optind + 1])))
		goto out;
	if ((rc = sb_remote_config_save(repo, &c)))
		rc = sb_error("%s: %s", argv[optind + 1], sb_err_msg(rc));
out:
	sb_repo_free(repo);
	sb_remote_config_clear(&c);
	return rc;
}

int sb_cmd_remote(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "set"))
		return set(argc - 1, argv + 1);
	if (argc != 2 || argv[1][0] == '-')
		return sb_usage(remote_usage);
	return show(argv[1]);
}

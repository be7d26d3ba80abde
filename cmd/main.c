#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "crypto/crypto.h"

#define SECMEM_POOL (1024 * 1024)

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "init", sb_cmd_init, "create a vault" },
	{ "clone", sb_cmd_clone, "add this device to a vault from its remote" },
	{ "info", sb_cmd_info, "show a vault's format, keys and devices" },
	{ "passwd", sb_cmd_passwd, "change this device's passphrase" },
	{ "mount", sb_cmd_mount, "mount a vault" },
	{ "umount", sb_cmd_umount, "unmount a vault" },
	{ "fsck", sb_cmd_fsck, "check every name and block of a vault" },
	{ "sync", sb_cmd_sync, "commit, fetch, verify, merge and push now" },
	{ "remote", sb_cmd_remote, "show or set a vault's remote" },
	{ "status", sb_cmd_status, "pending changes, sync state, conflicts" },
	{ "log", sb_cmd_log, "the verified history with decrypted paths" },
	{ "conflicts", sb_cmd_conflicts, "list, restore or drop kept versions" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int sb_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sealbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int sb_usage(const char *usage)
{
	fprintf(stderr, "usage: sealbox %s\n", usage);
	return 2;
}

static int help(FILE *f)
{
	size_t i;

	fputs("usage: sealbox <command> [options]\n\ncommands:\n", f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fputs("\nsealbox <command> --help shows a command's options.\n", f);
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return help(stderr);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return help(stdout);
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (sb_crypto_init(SECMEM_POOL))
			return sb_error("%s", sb_err_msg(SB_ECRYPTO));
		return commands[i].fn(argc - 1, argv + 1);
	}
	sb_error("unknown command \"%s\"", argv[1]);
	return help(stderr);
}

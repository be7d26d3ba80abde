#ifndef SB_CMD_H
#define SB_CMD_H

/*
 * The sealbox command line. Each command is sb_cmd_<name>(argc, argv)
 * with argv[0] the command name; it returns the process exit code
 * (0 success, 1 error, 2 usage) and prints its own one-line errors as
 * "sealbox: <what is wrong>[; <what to do>]" on stderr.
 */

#include "cmd/vault.h"
#include "crypto/err.h"

int sb_cmd_init(int argc, char **argv);
int sb_cmd_info(int argc, char **argv);
int sb_cmd_passwd(int argc, char **argv);
int sb_cmd_mount(int argc, char **argv);
int sb_cmd_umount(int argc, char **argv);
int sb_cmd_fsck(int argc, char **argv);
int sb_cmd_remote(int argc, char **argv);
int sb_cmd_log(int argc, char **argv);
int sb_cmd_status(int argc, char **argv);
int sb_cmd_conflicts(int argc, char **argv);
int sb_cmd_clone(int argc, char **argv);
int sb_cmd_sync(int argc, char **argv);

/* Prints "sealbox: <message>\n" to stderr; returns 1. */
int sb_error(const char *fmt, ...) SB_PRINTF(1, 2);
/* Prints the usage line for a command to stderr; returns 2. */
int sb_usage(const char *usage);

/* Where a passphrase comes from: a file, a file descriptor, or the tty. */
struct sb_pass_src {
	const char *file;	/* --passphrase-file, or NULL */
	int fd;			/* --passphrase-fd, or -1 */
};

#define SB_PASS_SRC_INIT { NULL, -1 }

/*
 * Reads a passphrase: the first line of the file or fd (newline removed),
 * or from the terminal without echo (asked twice when confirm is set).
 * *pass is secure memory: free with sb_pass_free(). Prints its own error
 * and returns non-zero on failure (empty passphrase, no terminal).
 */
int sb_pass_read(char **pass, size_t *len, const struct sb_pass_src *src,
		 const char *prompt, int confirm);
void sb_pass_free(char *pass, size_t len);

/*
 * Opens VAULT and unlocks it with a passphrase from src. On failure prints
 * the error ("sealbox: wrong passphrase for VAULT", a damaged file by name)
 * and returns 1; on success 0 with *out to free with sb_vault_free().
 */
int sb_cmd_unlock(struct sb_vault **out, const char *path,
		  const struct sb_pass_src *src);

#endif

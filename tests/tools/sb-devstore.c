/*
 * sb-devstore: a store with fixed, well-known secrets, for fs development
 * and unit tests only (never for real data):
 *
 *   sb-devstore mkdir STORE PATH          sb_store_mkdir
 *   sb-devstore put STORE PATH <DATA      sb_store_write_file
 *   sb-devstore cat STORE PATH            sb_store_read_file
 *   sb-devstore fsck STORE                sb_store_walk, exit 1 on damage
 *   sb-devstore mount [-d] [-o OPTS] STORE MNT   serve in the foreground
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/secrets.h"
#include "fs/fs.h"
#include "fs/store.h"

static int open_store(struct sb_store **st, const char *root)
{
	uint8_t buf[37 + 32];
	struct sb_secrets *s;
	int rc;

	buf[0] = 1;
	buf[1] = buf[2] = buf[3] = 0;
	buf[4] = 1;
	memset(buf + 5, 0x11, 32);
	memset(buf + 37, 0x22, 32);
	rc = sb_secrets_parse(&s, buf, sizeof(buf));
	if (!rc)
		rc = sb_store_open(st, root, s);
	sb_secrets_free(s);
	return rc;
}

static int read_stdin(uint8_t **out, size_t *len)
{
	size_t cap = 65536, n = 0, r;
	uint8_t *buf = malloc(cap), *p;

	while (buf && (r = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap) {
			p = realloc(buf, cap *= 2);
			if (!p)
				break;
			buf = p;
		}
	}
	*out = buf;
	*len = n;
	return buf ? 0 : -1;
}

static int walk_print(const struct sb_store_entry *e, void *arg)
{
	int *bad = arg;

	if (e->error) {
		(*bad)++;
		printf("damaged: %s: %s\n", e->path,
		       e->what ? e->what : sb_err_str(e->error));
	} else {
		printf("%c %s\n", S_ISDIR(e->type) ? 'd' : S_ISLNK(e->type) ?
		       'l' : 'f', e->path);
	}
	return 0;
}

static int cmd_mount(int argc, char **argv)
{
	struct sb_fs_config cfg = { 0, 0 };
	const char *opts = NULL;
	struct sb_store *st;
	struct sb_fs *fs;
	int rc;

	if (argc > 2 && !strcmp(argv[0], "-d")) {
		cfg.debug = 1;
		argc--;
		argv++;
	}
	if (argc > 2 && !strcmp(argv[0], "-o")) {
		opts = argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc != 2)
		return 2;
	rc = open_store(&st, argv[0]);
	if (!rc)
		rc = sb_fs_new(&fs, st, argv[1], opts, &cfg);
	if (rc) {
		fprintf(stderr, "sb-devstore: %s\n", sb_err_msg(rc));
		return 1;
	}
	rc = sb_fs_run(fs);
	sb_fs_free(fs);
	sb_store_free(st);
	return rc ? 1 : 0;
}

static int cmd_store(const char *cmd, const char *root, const char *path)
{
	struct sb_store *st;
	uint8_t *buf = NULL;
	size_t len;
	int rc, bad = 0;

	rc = open_store(&st, root);
	if (rc)
		goto out;
	if (!strcmp(cmd, "mkdir"))
		rc = sb_store_mkdir(st, path, 0755);
	else if (!strcmp(cmd, "put") && !(rc = read_stdin(&buf, &len)))
		rc = sb_store_write_file(st, path, buf, len, 0644, NULL);
	else if (!strcmp(cmd, "cat") &&
		 !(rc = sb_store_read_file(st, path, &buf, &len, NULL)))
		fwrite(buf, 1, len, stdout);
	else if (!strcmp(cmd, "fsck"))
		rc = sb_store_walk(st, 1, walk_print, &bad);
	free(buf);
	sb_store_free(st);
out:
	if (rc)
		fprintf(stderr, "sb-devstore: %s\n", sb_err_msg(rc));
	return rc || bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (sb_crypto_init(0))
		return 1;
	if (argc >= 2 && !strcmp(argv[1], "mount"))
		return cmd_mount(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "fsck"))
		return cmd_store(argv[1], argv[2], NULL);
	if (argc == 4)
		return cmd_store(argv[1], argv[2], argv[3]);
	fprintf(stderr, "usage: sb-devstore mkdir|put|cat STORE PATH | "
		"fsck STORE | mount [-o OPTS] STORE MNT\n");
	return 2;
}

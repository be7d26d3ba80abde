/*
 * Test-only hook: prints, in hex, every secret a vault holds for one
 * device, so a test can search the vault and the key store for them.
 * Not part of the sealbox command line.
 *
 *   sb-keydump VAULT DEVICE PASSFILE
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/keyfile.h"
#include "crypto/secrets.h"
#include "crypto/wrap.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	static uint8_t buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf))) < 0) {
		perror(path);
		exit(2);
	}
	close(fd);
	*len = (size_t)n;
	return buf;
}

static void hex(const char *label, const uint8_t *p, size_t n)
{
	size_t i;

	printf("%s ", label);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static void dump_secrets(const struct sb_secrets *s)
{
	uint8_t k[64];
	uint32_t e;

	hex("base", s->base, SB_SECRET_LEN);
	for (e = 0; e < s->nepochs; e++) {
		hex("content-secret", s->content[e], SB_SECRET_LEN);
		sb_secrets_content_key(k, s, e);
		hex("content-key", k, 32);
	}
	sb_secrets_names_key(k, s);
	hex("names-key", k, 64);
	sb_secrets_dirid_key(k, s);
	hex("dirid-key", k, 32);
}

int main(int argc, char **argv)
{
	char path[4096], pass[1024];
	struct sb_device_keys *dev;
	struct sb_secrets *s;
	uint8_t *buf, *plain;
	size_t len, plen, passlen;

	if (argc != 4 || sb_crypto_init(0))
		return 2;
	buf = slurp(argv[3], &passlen);
	passlen = passlen && buf[passlen - 1] == '\n' ? passlen - 1 : passlen;
	memcpy(pass, buf, passlen);
	snprintf(path, sizeof(path), "%s/.git/sealbox/device.key", argv[1]);
	buf = slurp(path, &len);
	if (sb_keyfile_open(&dev, buf, len, pass, passlen))
		return fprintf(stderr, "%s\n", sb_err_msg(1)), 1;
	hex("ed25519-seed", dev->sign->seed, 32);
	hex("x25519-secret", dev->box->secret, 32);
	snprintf(path, sizeof(path), "%s/.sealbox/keys/%s.wrap", argv[1], argv[2]);
	buf = slurp(path, &len);
	if (sb_unwrap(&plain, &plen, dev->box, buf, len) ||
	    sb_secrets_parse(&s, plain, plen))
		return fprintf(stderr, "%s\n", sb_err_msg(1)), 1;
	dump_secrets(s);
	sb_secrets_free(s);
	sb_secure_free(plain, plen);
	sb_device_keys_free(dev);
	return 0;
}

/*
 * Test-only front end to crypto/sign.c, so integration tests can hold
 * our keys, signatures and key files against OpenSSH's ssh-keygen. Not
 * part of the sealbox command line.
 *
 *   sb-sigtool privkey SEEDHEX [COMMENT]      OpenSSH private key file
 *   sb-sigtool pubkey SEEDHEX [COMMENT]       "ssh-ed25519 AAAA...[ COMMENT]"
 *   sb-sigtool fingerprint SEEDHEX            "SHA256:..."
 *   sb-sigtool allowed-signers PRINCIPAL SEEDHEX
 *   sb-sigtool sign SEEDHEX NAMESPACE < MSG   armored SSHSIG
 *   sb-sigtool verify NAMESPACE SIGFILE < MSG prints the signer's fingerprint
 *   sb-sigtool pubkey-from-privkey FILE       parses FILE, prints its public key
 *   sb-sigtool fingerprint-pubkey FILE        parses a public key file
 *
 * Output goes to stdout. Exit 0 on success; 1 with "error CODE: message"
 * on stderr when the library refuses (CODE is the SB_E* number, so a
 * test can tell a malformed input from a bad signature); 2 on misuse.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sign.h"

static int usage(void)
{
	fprintf(stderr, "usage: sb-sigtool privkey|pubkey|fingerprint SEEDHEX "
		"[COMMENT]\n"
		"       sb-sigtool allowed-signers PRINCIPAL SEEDHEX\n"
		"       sb-sigtool sign SEEDHEX NAMESPACE < MSG\n"
		"       sb-sigtool verify NAMESPACE SIGFILE < MSG\n"
		"       sb-sigtool pubkey-from-privkey|fingerprint-pubkey FILE\n");
	return 2;
}

static int fail(int rc)
{
	fprintf(stderr, "error %d: %s\n", rc, sb_err_msg(rc));
	return 1;
}

static char *slurp_fp(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, r;
	char *buf = malloc(cap + 1), *p;

	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			p = realloc(buf, 2 * cap + 1);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (buf && ferror(f)) {
		free(buf);
		return NULL;
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf;

	if (!f) {
		perror(path);
		exit(2);
	}
	buf = slurp_fp(f, len);
	if (f != stdin)
		fclose(f);
	if (!buf) {
		perror(path);
		exit(2);
	}
	return buf;
}

static int seed_key(struct sb_signkey **k, const char *hex)
{
	uint8_t seed[SB_ED25519_LEN];
	char pair[3] = { 0 };
	size_t i;
	int rc;

	if (strlen(hex) != 2 * SB_ED25519_LEN ||
	    strspn(hex, "0123456789abcdefABCDEF") != 2 * SB_ED25519_LEN) {
		fprintf(stderr, "sb-sigtool: a seed is 64 hex digits\n");
		exit(2);
	}
	for (i = 0; i < SB_ED25519_LEN; i++) {
		memcpy(pair, hex + 2 * i, 2);
		seed[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
	rc = sb_signkey_from_seed(k, seed);
	sb_wipe(seed, sizeof(seed));
	return rc;
}

static int print_and_free(int rc, char *s)
{
	if (rc)
		return fail(rc);
	fputs(s, stdout);
	free(s);
	return 0;
}

static int cmd_privkey(struct sb_signkey *k, const char *comment)
{
	char *text = NULL;
	int rc = sb_ssh_privkey_format(&text, k, comment);

	if (rc)
		return fail(rc);
	fputs(text, stdout);
	sb_secure_free(text, strlen(text) + 1);
	return 0;
}

static int cmd_pubkey(const uint8_t *pub, const char *comment)
{
	char *s = NULL;
	int rc = sb_ssh_pubkey_format(&s, pub, comment);

	if (rc)
		return fail(rc);
	printf("%s\n", s);
	free(s);
	return 0;
}

static int cmd_fingerprint(const uint8_t *pub)
{
	char fpr[SB_FPR_LEN];

	sb_ssh_fingerprint(fpr, pub);
	printf("%s\n", fpr);
	return 0;
}

static int cmd_sign(struct sb_signkey *k, const char *ns)
{
	char *msg, *armor = NULL;
	size_t len;
	int rc;

	msg = slurp("-", &len);
	rc = sb_sshsig_sign(&armor, k, ns, msg, len);
	free(msg);
	return print_and_free(rc, armor);
}

static int cmd_verify(const char *ns, const char *sigfile)
{
	uint8_t signer[SB_ED25519_LEN];
	char *sig, *msg;
	size_t slen, len;
	int rc;

	sig = slurp(sigfile, &slen);
	msg = slurp("-", &len);
	rc = sb_sshsig_verify(signer, sig, slen, ns, msg, len);
	free(sig);
	free(msg);
	return rc ? fail(rc) : cmd_fingerprint(signer);
}

static int cmd_from_privkey(const char *path)
{
	struct sb_signkey *k = NULL;
	size_t len;
	char *text = slurp(path, &len);
	int rc = sb_ssh_privkey_parse(&k, text, len);

	sb_wipe(text, len);
	free(text);
	if (rc)
		return fail(rc);
	rc = cmd_pubkey(k->pub, NULL);
	sb_signkey_free(k);
	return rc;
}

static int cmd_fingerprint_pubkey(const char *path)
{
	uint8_t pub[SB_ED25519_LEN];
	size_t len;
	char *text = slurp(path, &len);
	int rc = sb_ssh_pubkey_parse(pub, text, len);

	free(text);
	return rc ? fail(rc) : cmd_fingerprint(pub);
}

/* The subcommands that take a seed: argv[2] is the seed. */
static int with_seed(int argc, char **argv)
{
	const char *cmd = argv[1];
	struct sb_signkey *k = NULL;
	int rc;

	if ((rc = seed_key(&k, argv[2])))
		return fail(rc);
	if (!strcmp(cmd, "privkey") && argc <= 4)
		rc = cmd_privkey(k, argc == 4 ? argv[3] : NULL);
	else if (!strcmp(cmd, "pubkey") && argc <= 4)
		rc = cmd_pubkey(k->pub, argc == 4 ? argv[3] : NULL);
	else if (!strcmp(cmd, "fingerprint") && argc == 3)
		rc = cmd_fingerprint(k->pub);
	else if (!strcmp(cmd, "sign") && argc == 4)
		rc = cmd_sign(k, argv[3]);
	else
		rc = usage();
	sb_signkey_free(k);
	return rc;
}

static int cmd_allowed(const char *principal, const char *seedhex)
{
	struct sb_signkey *k = NULL;
	char *line = NULL;
	int rc;

	if ((rc = seed_key(&k, seedhex)))
		return fail(rc);
	rc = sb_allowed_signers_line(&line, principal, k->pub);
	sb_signkey_free(k);
	return print_and_free(rc, line);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (argc < 3)
		return usage();
	if (sb_crypto_init(0))
		return fail(SB_ECRYPTO);
	if (!strcmp(cmd, "verify") && argc == 4)
		return cmd_verify(argv[2], argv[3]);
	if (!strcmp(cmd, "pubkey-from-privkey") && argc == 3)
		return cmd_from_privkey(argv[2]);
	if (!strcmp(cmd, "fingerprint-pubkey") && argc == 3)
		return cmd_fingerprint_pubkey(argv[2]);
	if (!strcmp(cmd, "allowed-signers") && argc == 4)
		return cmd_allowed(argv[2], argv[3]);
	return with_seed(argc, argv);
}

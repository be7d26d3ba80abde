#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/base64.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/sha1.h"
#include "sync/remote.h"

/*
 * sb_remote_hostkey_check (sync/remote.h): OpenSSH's known_hosts format,
 * read here rather than through libssh2 so that hashed entries,
 * [host]:port, markers and the message on a mismatch are ours.
 */

/* ---- known_hosts ---- */

struct kh_state {
	const char *name;	/* "host" or "[host]:port" */
	const void *key;	/* raw blob, or NULL */
	size_t keylen;
	const unsigned char *sha256;
	char type[64];		/* the server key's type, "" when unknown */
	int match, mismatch, revoked;
	unsigned line;		/* of the first mismatch */
};

static int glob_match(const char *p, size_t plen, const char *s)
{
	if (!plen)
		return !*s;
	if (*p == '*')
		return glob_match(p + 1, plen - 1, s) ||
		       (*s && glob_match(p, plen, s + 1));
	if (!*s)
		return 0;
	if (*p != '?' && tolower((unsigned char)*p) != tolower((unsigned char)*s))
		return 0;
	return glob_match(p + 1, plen - 1, s + 1);
}

/* "|1|salt|hash" against name. */
static int hashed_match(const char *f, size_t len, const char *name)
{
	uint8_t salt[64], hash[64], mac[20];
	size_t slen = sizeof(salt), hlen = sizeof(hash);
	const char *bar;

	if (len < 4 || memcmp(f, "|1|", 3))
		return 0;
	f += 3;
	len -= 3;
	if (!(bar = memchr(f, '|', len)) || (size_t)(bar - f) > 88 ||
	    len - (bar - f) - 1 > 88)
		return 0;
	if (sb_base64_decode(salt, &slen, f, bar - f) ||
	    sb_base64_decode(hash, &hlen, bar + 1, len - (bar - f) - 1) ||
	    hlen != 20)
		return 0;
	if (sb_hmac_sha1(mac, salt, slen, name, strlen(name)))
		return 0;
	return !memcmp(mac, hash, 20);
}

/* 1 when a hosts field names name, 0 when not, -1 when a "!" pattern does. */
static int hosts_match(const char *f, size_t len, const char *name)
{
	const char *end = f + len, *comma;
	int found = 0, neg;

	if (len >= 3 && !memcmp(f, "|1|", 3))
		return hashed_match(f, len, name);
	for (; f < end; f = comma + 1) {
		if (!(comma = memchr(f, ',', end - f)))
			comma = end;
		neg = *f == '!';
		if (glob_match(f + neg, comma - f - neg, name)) {
			if (neg)
				return -1;
			found = 1;
		}
	}
	return found;
}

/* The key type named at the start of an ssh key blob, or "". */
static void blob_type(char type[64], const uint8_t *blob, size_t len)
{
	uint32_t n;

	type[0] = '\0';
	if (len < 4 || (n = sb_get_be32(blob)) >= 64 || n > len - 4)
		return;
	memcpy(type, blob + 4, n);
	type[n] = '\0';
}

static int key_equal(const struct kh_state *s, const uint8_t *blob,
		     size_t len)
{
	uint8_t h[32];

	if (s->key)
		return len == s->keylen && !memcmp(blob, s->key, len);
	sb_sha256(h, blob, len);
	return !memcmp(h, s->sha256, 32);
}

/* Splits the next whitespace-separated field off *p. */
static size_t next_field(const char **p, const char **field)
{
	const char *s = *p;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	*field = s;
	n = strcspn(s, " \t\r\n");
	*p = s + n;
	return n;
}

/* Compares one key field ("TYPE BASE64") with the server's key. */
static int key_field_check(struct kh_state *s, const char *type, size_t tlen,
			   const char *b64, size_t blen)
{
	uint8_t *blob;
	size_t len = blen;
	char btype[64];
	int rc = 0;

	if (!blen || !(blob = malloc(blen)))
		return -1;
	if (sb_base64_decode(blob, &len, b64, blen))
		goto out;
	blob_type(btype, blob, len);
	if (strlen(btype) != tlen || memcmp(btype, type, tlen))
		goto out;
	if (key_equal(s, blob, len))
		rc = 1;
	else if (!s->key || !strcmp(btype, s->type))
		rc = -1;
out:
	free(blob);
	return rc;
}

static void kh_line(struct kh_state *s, const char *p, unsigned lineno)
{
	const char *hosts, *type, *b64, *mark = "";
	size_t hlen, tlen, blen;
	int revoked = 0, m;

	hlen = next_field(&p, &hosts);
	if (!hlen || *hosts == '#')
		return;
	if (*hosts == '@') {
		mark = hosts;
		revoked = hlen == 8 && !memcmp(mark, "@revoked", 8);
		if (!revoked)
			return;		/* @cert-authority: no certificates */
		hlen = next_field(&p, &hosts);
	}
	tlen = next_field(&p, &type);
	blen = next_field(&p, &b64);
	if (!hlen || !tlen || !blen || hosts_match(hosts, hlen, s->name) != 1)
		return;
	m = key_field_check(s, type, tlen, b64, blen);
	if (m == 1 && revoked)
		s->revoked = 1;
	else if (m == 1)
		s->match = 1;
	else if (m == -1 && !revoked && !s->mismatch) {
		s->mismatch = 1;
		s->line = lineno;
	}
}

static int kh_scan(struct kh_state *s, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned n = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		kh_line(s, line, ++n);
	free(line);
	fclose(f);
	return 0;
}

static void fingerprint(char out[64], const struct kh_state *s)
{
	uint8_t h[32];
	size_t n;

	if (s->key)
		sb_sha256(h, s->key, s->keylen);
	else
		memcpy(h, s->sha256, 32);
	memcpy(out, "SHA256:", 7);
	n = sb_base64_encode(out + 7, h, 32);
	while (n && out[7 + n - 1] == '=')
		n--;
	out[7 + n] = '\0';
}

static int pinned_check(struct kh_state *s, const char *pinned,
			const char *fp)
{
	const char *type, *b64, *p = pinned;
	size_t tlen = next_field(&p, &type), blen = next_field(&p, &b64);

	if (key_field_check(s, type, tlen, b64, blen) == 1)
		return 0;
	return sb_err_set(SB_EAUTH, "ssh: the host key of %s (%s) is not the "
			  "pinned key (sealbox.hostKey in the vault's git "
			  "config); refusing to connect", s->name, fp);
}

static int kh_verdict(const struct kh_state *s, const char *path,
		      const char *fp)
{
	if (s->revoked)
		return sb_err_set(SB_EAUTH, "ssh: the host key of %s (%s) is "
				  "marked @revoked in %s; refusing to connect",
				  s->name, fp, path);
	if (s->match)
		return 0;
	if (s->mismatch)
		return sb_err_set(SB_EAUTH, "ssh: the host key of %s (%s) does "
				  "not match %s line %u; someone may be "
				  "impersonating the server: refusing to "
				  "connect", s->name, fp, path, s->line);
	return sb_err_set(SB_EAUTH, "ssh: %s is not a known host (no key in "
			  "%s); check that the server's key is %s and add "
			  "it there, or pin it with sealbox remote set "
			  "--host-key", s->name, path, fp);
}

int sb_remote_hostkey_check(const char *known_hosts, const char *pinned,
			    const char *host, int port, const void *key,
			    size_t keylen, const unsigned char *sha256)
{
	struct kh_state s = { .key = key, .keylen = keylen, .sha256 = sha256 };
	char name[300], path[PATH_MAX], fp[64];
	int rc;

	if (port <= 0 || port == 22)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	s.name = name;
	if (key)
		blob_type(s.type, key, keylen);
	fingerprint(fp, &s);
	if (pinned)
		return pinned_check(&s, pinned, fp);
	if (known_hosts)
		snprintf(path, sizeof(path), "%s", known_hosts);
	else if ((rc = sb_remote_home_file(path, sizeof(path), ".ssh/known_hosts")))
		return rc;
	if ((rc = kh_scan(&s, path)) && rc != -ENOENT)
		return sb_err_set(SB_EAUTH, "ssh: cannot read %s: %s; refusing "
				  "to connect to %s", path, strerror(-rc), name);
	return kh_verdict(&s, path, fp);
}

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/base64.h"
#include "crypto/err.h"
#include "crypto/sign.h"
#include "sync/policy.h"

#define KEY_B64 44

int sb_policy_new(struct sb_policy **out, const uint8_t rsign[SB_ED25519_LEN],
		  const uint8_t rbox[SB_X25519_LEN])
{
	struct sb_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	memcpy(p->recovery_sign, rsign, SB_ED25519_LEN);
	memcpy(p->recovery_box, rbox, SB_X25519_LEN);
	*out = p;
	return 0;
}

void sb_policy_free(struct sb_policy *p)
{
	if (!p)
		return;
	free(p->devices);
	free(p);
}

const struct sb_policy_device *sb_policy_device(const struct sb_policy *p,
						const char *name)
{
	size_t i;

	for (i = 0; i < p->ndevices; i++)
		if (!strcmp(p->devices[i].name, name))
			return &p->devices[i];
	return NULL;
}

const struct sb_policy_device *sb_policy_signer(const struct sb_policy *p,
						const uint8_t pub[SB_ED25519_LEN])
{
	size_t i;

	for (i = 0; i < p->ndevices; i++)
		if (!memcmp(p->devices[i].sign_pub, pub, SB_ED25519_LEN))
			return &p->devices[i];
	return NULL;
}

static int key_in_use(const struct sb_policy *p, const uint8_t *sign)
{
	return sb_policy_signer(p, sign) ||
	       !memcmp(p->recovery_sign, sign, SB_ED25519_LEN);
}

int sb_policy_add_device(struct sb_policy *p, const char *name, int admin,
			 const uint8_t sign_pub[SB_ED25519_LEN],
			 const uint8_t box_pub[SB_X25519_LEN])
{
	struct sb_policy_device *d;

	if (!sb_device_name_valid(name))
		return sb_err_set(SB_EFORMAT, "invalid device name \"%s\"", name);
	if (sb_policy_device(p, name))
		return sb_err_set(-EEXIST, "device %s is already in the policy",
				  name);
	if (key_in_use(p, sign_pub))
		return sb_err_set(-EEXIST, "that key is already in the policy");
	if (p->ndevices >= SB_POLICY_MAX_DEVICES)
		return sb_err_set(-EOVERFLOW, "too many devices");
	d = realloc(p->devices, (p->ndevices + 1) * sizeof(*d));
	if (!d)
		return -ENOMEM;
	p->devices = d;
	d += p->ndevices++;
	memset(d, 0, sizeof(*d));
	memcpy(d->name, name, strlen(name) + 1);
	d->admin = admin;
	memcpy(d->sign_pub, sign_pub, SB_ED25519_LEN);
	memcpy(d->box_pub, box_pub, SB_X25519_LEN);
	return 0;
}

/* Splits a line into at most max space-separated words, in place. */
static size_t words(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p) {
		if (n == max)
			return max + 1;
		w[n++] = p;
		p += strcspn(p, " ");
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static int key32(uint8_t out[32], const char *b64)
{
	uint8_t buf[33];
	size_t n;

	if (strlen(b64) != KEY_B64 || sb_base64_decode(buf, &n, b64, KEY_B64) ||
	    n != 32)
		return sb_err_set(SB_EFORMAT, "bad key \"%.60s\"", b64);
	memcpy(out, buf, 32);
	return 0;
}

/* Canonical decimal only: digits, no leading zero, fits 32 bits. */
static int parse_epoch(struct sb_policy *p, char **w, size_t n)
{
	const char *s = w[1];
	unsigned long long v = 0;

	if (n != 2 || !*s || strspn(s, "0123456789") != strlen(s) ||
	    strlen(s) > 10 || (s[0] == '0' && s[1]))
		return sb_err_set(SB_EFORMAT, "bad epoch line");
	for (; *s; s++)
		v = v * 10 + (unsigned)(*s - '0');
	if (v > 0xffffffffULL)
		return sb_err_set(SB_EFORMAT, "epoch out of range");
	p->epoch = (uint32_t)v;
	return 0;
}

static int parse_device(struct sb_policy *p, char **w, size_t n)
{
	uint8_t sign[32], box[32];
	int admin, rc;

	if (n != 5)
		return SB_EFORMAT;
	if (!strcmp(w[2], "admin"))
		admin = 1;
	else if (!strcmp(w[2], "member"))
		admin = 0;
	else
		return sb_err_set(SB_EFORMAT, "bad role \"%s\"", w[2]);
	if ((rc = key32(sign, w[3])) || (rc = key32(box, w[4])))
		return rc;
	rc = sb_policy_add_device(p, w[1], admin, sign, box);
	return rc == -EEXIST ? SB_EFORMAT : rc;
}

/* seen: bit 0 version line, bit 1 epoch, bit 2 recovery. */
static int parse_line(struct sb_policy *p, char *line, unsigned *seen)
{
	char *w[6];
	size_t n = words(line, w, 5);

	if (n == 0 || n > 5)
		return SB_EFORMAT;
	if (!(*seen & 1)) {
		if (n != 2 || strcmp(w[0], "sealbox-policy"))
			return SB_EFORMAT;
		if (strcmp(w[1], "1"))
			return sb_err_set(SB_EVERSION,
					  "policy version %.20s is not supported; "
					  "upgrade sealbox", w[1]);
		*seen |= 1;
		return 0;
	}
	if (!strcmp(w[0], "epoch") && !(*seen & 2)) {
		*seen |= 2;
		return parse_epoch(p, w, n);
	}
	if (!strcmp(w[0], "recovery") && !(*seen & 4) && n == 3) {
		*seen |= 4;
		return key32(p->recovery_sign, w[1]) ?: key32(p->recovery_box, w[2]);
	}
	if (!strcmp(w[0], "device") && (*seen & 4))
		return parse_device(p, w, n);
	return SB_EFORMAT;
}

static int parse_all(struct sb_policy *p, char *text)
{
	unsigned seen = 0;
	char *line = text, *nl;
	int rc, lineno = 0;

	for (; *line; line = nl + 1) {
		lineno++;
		if (!(nl = strchr(line, '\n')))
			return sb_err_set(SB_EFORMAT, "policy: last line unterminated");
		*nl = '\0';
		if (line[0] == '#')
			continue;
		if ((rc = parse_line(p, line, &seen)))
			return rc == SB_EFORMAT
				? sb_err_set(rc, "policy: malformed line %d", lineno)
				: rc;
	}
	if (seen != 7 || p->ndevices == 0)
		return sb_err_set(SB_EFORMAT, "policy: incomplete");
	return 0;
}

int sb_policy_parse(struct sb_policy **out, const char *buf, size_t len)
{
	struct sb_policy *p = calloc(1, sizeof(*p));
	char *text = malloc(len + 1);
	int rc = -ENOMEM;

	if (!p || !text)
		goto fail;
	memcpy(text, buf, len);
	text[len] = '\0';
	if (strlen(text) != len) {
		rc = sb_err_set(SB_EFORMAT, "policy: NUL byte");
		goto fail;
	}
	if ((rc = parse_all(p, text)))
		goto fail;
	free(text);
	*out = p;
	return 0;
fail:
	free(text);
	sb_policy_free(p);
	return rc;
}

/* A growable string for the formatters. */
struct sbuf {
	char *s;
	size_t len, cap;
	int err;
};

static void sbuf_add(struct sbuf *b, const char *fmt, ...) SB_PRINTF(2, 3);

static void sbuf_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->err = -ENOMEM;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static int sbuf_done(struct sbuf *b, char **out)
{
	if (b->err || !b->s) {
		free(b->s);
		return b->err ? b->err : -ENOMEM;
	}
	*out = b->s;
	return 0;
}

int sb_policy_format(char **out, const struct sb_policy *p)
{
	char k1[KEY_B64 + 1], k2[KEY_B64 + 1];
	struct sbuf b = { 0 };
	size_t i;

	sbuf_add(&b, "# sealbox policy: who may sign commits in this vault\n");
	sbuf_add(&b, "sealbox-policy %d\nepoch %u\n", SB_POLICY_VERSION, p->epoch);
	sb_base64_encode(k1, p->recovery_sign, 32);
	sb_base64_encode(k2, p->recovery_box, 32);
	sbuf_add(&b, "recovery %s %s\n", k1, k2);
	for (i = 0; i < p->ndevices; i++) {
		const struct sb_policy_device *d = &p->devices[i];

		sb_base64_encode(k1, d->sign_pub, 32);
		sb_base64_encode(k2, d->box_pub, 32);
		sbuf_add(&b, "device %s %s %s %s\n", d->name,
			 d->admin ? "admin" : "member", k1, k2);
	}
	return sbuf_done(&b, out);
}

static void add_signer(struct sbuf *b, const char *principal,
		       const uint8_t *pub)
{
	char *line = NULL;

	if (sb_allowed_signers_line(&line, principal, pub)) {
		b->err = b->err ? b->err : -ENOMEM;
		return;
	}
	sbuf_add(b, "%s", line);
	free(line);
}

int sb_policy_allowed_signers(char **out, const struct sb_policy *p)
{
	char principal[SB_DEVICE_NAME_MAX + 16];
	struct sbuf b = { 0 };
	size_t i;

	for (i = 0; i < p->ndevices; i++) {
		snprintf(principal, sizeof(principal), "%s@sealbox",
			 p->devices[i].name);
		add_signer(&b, principal, p->devices[i].sign_pub);
	}
	add_signer(&b, "recovery@sealbox", p->recovery_sign);
	return sbuf_done(&b, out);
}

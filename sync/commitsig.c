#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"
#include "sync/commitsig.h"

static int is_header(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && !memcmp(line, name, k) && line[k] == ' ';
}

/* Appends n bytes to a growing buffer that has room for them. */
static void put(char *buf, size_t *o, const char *p, size_t n)
{
	memcpy(buf + *o, p, n);
	*o += n;
}

static int split(const char *raw, size_t len, char *pay, size_t *po,
		 char *sig, size_t *so)
{
	const char *p = raw, *end = raw + len;
	int in_sig = 0, seen = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n;

		if (!nl)
			return sb_err_set(SB_EFORMAT, "commit header not terminated");
		n = (size_t)(nl - p);
		if (n == 0) {
			put(pay, po, p, (size_t)(end - p));
			return seen ? 0 : sb_err_set(SB_ESIG, "commit is not signed");
		}
		if (in_sig && p[0] == ' ') {
			put(sig, so, p + 1, n - 1);
			put(sig, so, "\n", 1);
		} else if (is_header(p, n, "gpgsig")) {
			if (seen++)
				return sb_err_set(SB_EFORMAT, "two signatures");
			in_sig = 1;
			put(sig, so, p + 7, n - 7);
			put(sig, so, "\n", 1);
		} else if (is_header(p, n, "gpgsig-sha256")) {
			return sb_err_set(SB_EFORMAT, "unexpected gpgsig-sha256");
		} else {
			in_sig = 0;
			put(pay, po, p, n + 1);
		}
		p = nl + 1;
	}
	return sb_err_set(SB_EFORMAT, "commit has no message separator");
}

int sb_commitsig_split(const char *raw, size_t len, char **payload,
		       size_t *plen, char **sig, size_t *slen)
{
	char *pay = malloc(len + 1), *s = malloc(len + 1);
	size_t po = 0, so = 0;
	int rc;

	if (!pay || !s) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = split(raw, len, pay, &po, s, &so)))
		goto fail;
	pay[po] = s[so] = '\0';
	*payload = pay;
	*plen = po;
	*sig = s;
	*slen = so;
	return 0;
fail:
	free(pay);
	free(s);
	return rc;
}

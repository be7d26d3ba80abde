#include <string.h>

#include "sync/ignore.h"

/*
 * The Maildir tmp/ rule is by name: a pure function cannot tell a Maildir
 * from another directory. vdir collections are named by the user, so
 * below "calendars/" and "contacts/" a directory called tmp is kept.
 */

static int prefixed(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && !memcmp(s, p, k);
}

static int suffixed(const char *s, size_t n, const char *x)
{
	size_t k = strlen(x);

	return n >= k && !memcmp(s + n - k, x, k);
}

static int named(const char *s, size_t n, const char *name)
{
	return n == strlen(name) && !memcmp(s, name, n);
}

/* Per-machine file (or directory) names, whatever their folder. */
static int local_name(const char *s, size_t n)
{
	return named(s, n, ".uidvalidity") ||
	       prefixed(s, n, ".mbsyncstate") ||
	       named(s, n, "dovecot-uidlist") ||
	       prefixed(s, n, "dovecot-uidvalidity") ||
	       prefixed(s, n, "dovecot.index") ||
	       named(s, n, "dovecot-keywords") ||
	       prefixed(s, n, "dovecot.list.index") ||
	       suffixed(s, n, ".lock") ||
	       prefixed(s, n, ".fuse_hidden") ||
	       (n > 5 && s[0] == '.' && suffixed(s, n, ".tmp")) ||
	       (n > 5 && s[0] == '.' && suffixed(s, n, ".swp")) ||
	       (n > 1 && s[n - 1] == '~') ||
	       prefixed(s, n, ".sealbox-");
}

static int vdir_root(const char *s, size_t n)
{
	return named(s, n, "calendars") || named(s, n, "contacts");
}

int sb_ignore_plain(const char *path)
{
	const char *p = path;
	int first = 1, vdir = 0;
	size_t n;

	while (*p) {
		n = strcspn(p, "/");
		if (n && local_name(p, n))
			return 1;
		if (n && first)
			vdir = vdir_root(p, n);
		if (n)
			first = 0;
		/* inside tmp/: anything with a component after "tmp" */
		if (!vdir && named(p, n, "tmp") && p[n] == '/' && p[n + 1])
			return 1;
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/resolve.h"
#include "crypto/err.h"

#define MOUNTINFO "/proc/self/mountinfo"
#define FSTYPE "fuse.sealbox"

/* Undoes mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* Mount point and source of a sealbox line; 0 for any other line. */
static int parse_line(const char *line, char *point, char *src)
{
	const char *sep = strstr(line, " - ");
	char type[64];

	if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
	    sscanf(sep + 3, "%63s %4095s", type, src) != 2 ||
	    strcmp(type, FSTYPE))
		return 0;
	unescape(point);
	unescape(src);
	return 1;
}

/*
 * Looks for a sealbox mount whose point (by_point) or source is key; the
 * other field goes to out. The last match wins (mounts stack).
 */
static int lookup(char *out, size_t size, const char *key, int by_point)
{
	char line[3 * PATH_MAX], point[PATH_MAX], src[PATH_MAX];
	int found = 0;
	FILE *f = fopen(MOUNTINFO, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!parse_line(line, point, src) ||
		    strcmp(by_point ? point : src, key))
			continue;
		snprintf(out, size, "%s", by_point ? src : point);
		found = 1;
	}
	fclose(f);
	return found;
}

int sb_resolve_vault(char *vault, size_t size, const char *arg)
{
	char abs[PATH_MAX];

	if (!realpath(arg, abs))
		return sb_err_set(-errno, "%s: %s", arg, strerror(errno));
	if (lookup(vault, size, abs, 1))
		return 0;
	if (strlen(abs) >= size)
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", arg);
	memcpy(vault, abs, strlen(abs) + 1);
	return 0;
}

int sb_resolve_mountpoint(char *mnt, size_t size, const char *vault)
{
	return lookup(mnt, size, vault, 0);
}

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/err.h"
#include "sync/state.h"

void sb_state_clear(struct sb_state *s)
{
	free(s->last_error);
	free(s->refused_why);
	free(s->extra);
	memset(s, 0, sizeof(*s));
}

int sb_state_set_msg(char **field, const char *msg)
{
	char *p, *copy = strdup(msg ? msg : "");

	if (!copy)
		return -ENOMEM;
	for (p = copy; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	free(*field);
	*field = copy;
	return 0;
}

static void set_oid(char dst[SB_OID_HEX], const char *v)
{
	size_t n = strspn(v, "0123456789abcdef");

	if (n == SB_OID_HEX - 1) {
		memcpy(dst, v, n);
		dst[n] = '\0';
	}
}

static int keep_extra(struct sb_state *s, const char *line)
{
	size_t old = s->extra ? strlen(s->extra) : 0, n = strlen(line);
	char *p = realloc(s->extra, old + n + 2);

	if (!p)
		return -ENOMEM;
	memcpy(p + old, line, n);
	p[old + n] = '\n';
	p[old + n + 1] = '\0';
	s->extra = p;
	return 0;
}

static int parse_line(struct sb_state *s, char *line)
{
	char *v = strchr(line, ' ');
	char *end;

	if (!v)
		return keep_extra(s, line);
	*v++ = '\0';
	if (!strcmp(line, "verified"))
		set_oid(s->verified, v);
	else if (!strcmp(line, "pushed"))
		set_oid(s->pushed, v);
	else if (!strcmp(line, "last-sync"))
		s->last_sync = strtoll(v, NULL, 10);
	else if (!strcmp(line, "last-attempt"))
		s->last_attempt = strtoll(v, NULL, 10);
	else if (!strcmp(line, "last-error"))
		return sb_state_set_msg(&s->last_error, v);
	else if (!strcmp(line, "refused")) {
		set_oid(s->refused, v);
		if (strlen(v) > SB_OID_HEX) {
			s->refused_at = strtoll(v + SB_OID_HEX, &end, 10);
			return sb_state_set_msg(&s->refused_why,
						*end == ' ' ? end + 1 : end);
		}
	} else if (!strcmp(line, "applying")) {
		/* "<from|-> <to>": "-" is a first checkout, from nothing */
		set_oid(s->apply_from, v);
		if ((end = strchr(v, ' ')))
			set_oid(s->apply_to, end + 1);
	} else {
		v[-1] = ' ';
		return keep_extra(s, line);
	}
	return 0;
}

int sb_state_load(struct sb_state *s, const char *vault)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", vault,
			     SB_STATE_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	if (!(f = fopen(path, "re")))
		return errno == ENOENT ? 0 : sb_err_set(-errno, "%s: %s", path,
							strerror(errno));
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (*line)
			rc = parse_line(s, line);
	}
	free(line);
	fclose(f);
	return rc;
}

static void put_oid(FILE *f, const char *key, const char *oid)
{
	if (*oid)
		fprintf(f, "%s %s\n", key, oid);
}

static void write_state(FILE *f, const struct sb_state *s)
{
	put_oid(f, "verified", s->verified);
	put_oid(f, "pushed", s->pushed);
	if (s->last_sync)
		fprintf(f, "last-sync %" PRId64 "\n", s->last_sync);
	if (s->last_attempt)
		fprintf(f, "last-attempt %" PRId64 "\n", s->last_attempt);
	if (s->last_error && *s->last_error)
		fprintf(f, "last-error %s\n", s->last_error);
	if (*s->refused)
		fprintf(f, "refused %s %" PRId64 " %s\n", s->refused,
			s->refused_at, s->refused_why ? s->refused_why : "");
	if (*s->apply_from || *s->apply_to)
		fprintf(f, "applying %s %s\n",
			*s->apply_from ? s->apply_from : "-", s->apply_to);
	if (s->extra)
		fputs(s->extra, f);
}

int sb_state_save(const struct sb_state *s, const char *vault)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;
	int fd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", vault,
			     SB_STATE_FILE) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = sb_err_set(-errno, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	write_state(f, s);
	if (fflush(f) || fsync(fileno(f)))
		rc = sb_err_set(-errno, "%s: %s", tmp, strerror(errno));
	if (fclose(f) && !rc)
		rc = sb_err_set(-errno, "%s: %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path))
		rc = sb_err_set(-errno, "%s: %s", path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

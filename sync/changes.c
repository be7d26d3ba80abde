#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync/changes.h"

int sb_changes_new(struct sb_changes **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void sb_changes_clear(struct sb_changes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->paths[i]);
	c->n = 0;
	c->all = 0;
}

void sb_changes_free(struct sb_changes *c)
{
	if (!c)
		return;
	sb_changes_clear(c);
	free(c->paths);
	free(c);
}

static int grow(struct sb_changes *c, size_t more)
{
	size_t want = c->n + more, na = c->alloc ? c->alloc : 64;
	char **p;

	if (want <= c->alloc)
		return 0;
	while (na < want)
		na *= 2;
	p = realloc(c->paths, na * sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->paths = p;
	c->alloc = na;
	return 0;
}

int sb_changes_add(struct sb_changes *c, const char *path)
{
	char *copy;

	while (*path == '/' || (path[0] == '.' && path[1] == '/'))
		path += *path == '/' ? 1 : 2;
	if (grow(c, 1) || !(copy = strdup(path)))
		return -ENOMEM;
	c->paths[c->n++] = copy;
	return 0;
}

int sb_changes_merge(struct sb_changes *c, struct sb_changes *from)
{
	if (grow(c, from->n))
		return -ENOMEM;
	if (from->n)
		memcpy(c->paths + c->n, from->paths,
		       from->n * sizeof(char *));
	c->n += from->n;
	c->all |= from->all;
	from->n = 0;
	from->all = 0;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether p[0..len) is among the sorted paths v[0..n). */
static int listed(char **v, size_t n, const char *p, size_t len)
{
	size_t lo = 0, hi = n, mid;
	int d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		d = strncmp(v[mid], p, len);
		if (!d && v[mid][len])
			d = 1;	/* longer: after p[0..len) */
		if (!d)
			return 1;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Whether a directory above p (or the root, "") is among v[0..n). */
static int below_listed(char **v, size_t n, const char *p)
{
	const char *s;

	if (n && !*v[0])
		return 1;	/* the whole store */
	for (s = strchr(p, '/'); s; s = strchr(s + 1, '/'))
		if (listed(v, n, p, (size_t)(s - p)))
			return 1;
	return 0;
}

void sb_changes_sort(struct sb_changes *c)
{
	size_t i, j = 0;

	if (!c->n)
		return;
	qsort(c->paths, c->n, sizeof(char *), cmp);
	for (i = 1; i < c->n; i++) {
		if (!strcmp(c->paths[i], c->paths[j]) ||
		    below_listed(c->paths, j + 1, c->paths[i]))
			free(c->paths[i]);
		else
			c->paths[++j] = c->paths[i];
	}
	c->n = j + 1;
}

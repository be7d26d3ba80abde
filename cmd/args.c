#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/cmd.h"

int sb_parse_fd(int *fd, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || v < 0 || v > 65535)
		return sb_error("bad file descriptor \"%s\"", arg);
	*fd = (int)v;
	return 0;
}

int sb_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

const char *sb_default_device_name(char *buf, size_t size)
{
	size_t i;

	if (gethostname(buf, size) || !buf[0])
		snprintf(buf, size, "device");
	buf[size - 1] = '\0';
	for (i = 0; buf[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-", buf[i]))
			buf[i] = '-';
	if (buf[0] == '.')
		buf[0] = '-';
	return buf;
}

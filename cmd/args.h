#ifndef SB_ARGS_H
#define SB_ARGS_H

/* Small helpers shared by the commands' option parsing. */

#include <stddef.h>

/* Parses a file descriptor number; prints an error and returns 1 if bad. */
int sb_parse_fd(int *fd, const char *arg);

/* 1 when path is a directory with no entries. */
int sb_dir_empty(const char *path);

/* This machine's host name made a valid device name, in buf. */
const char *sb_default_device_name(char *buf, size_t size);

#endif

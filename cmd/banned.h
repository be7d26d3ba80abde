#ifndef SB_BANNED_H
#define SB_BANNED_H

/*
 * Functions we do not use, as git's banned.h: unbounded copies and
 * formatting, and strtok's hidden state. The Makefile includes this in
 * every file; the system headers that declare them come first, then the
 * names are poisoned, so any use is a compile error.
 */

#include <stdio.h>
#include <string.h>

#pragma GCC poison strcpy strcat sprintf vsprintf strtok gets

#endif

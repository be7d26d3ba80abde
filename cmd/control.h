#ifndef SB_CONTROL_H
#define SB_CONTROL_H

/*
 * The mounted daemon's control socket (issue 4): commands such as
 * `sealbox sync` and `sealbox status` ask the daemon that has VAULT
 * mounted to do the work, and work directly when no daemon listens.
 *
 *   VAULT/.git/sealbox/              0700 (created when missing)
 *   VAULT/.git/sealbox/control.sock  unix stream socket, 0600
 *
 * Only processes of the daemon's own effective uid may talk to it
 * (SO_PEERCRED, checked on both ends).
 *
 * Protocol, one request per connection, lines ending in "\n":
 *
 *   client: <word>[ <arguments>]          at most 1023 bytes
 *   server: > <output line>               zero or more
 *   server: ok | error <one-line message> last line
 *
 * An unknown word is "error unknown request: <word>". A client that sends
 * no request within 10 seconds is dropped. At most 16 clients are served
 * at once (each by its own thread, so `status` answers during a long
 * `sync`); more get "error too many clients".
 *
 * Ownership: sb_control_start() -> sb_control_stop().
 */

#include <stdio.h>

#define SB_CONTROL_SOCK ".git/sealbox/control.sock"

struct sb_control;

/*
 * A request handler. args is what follows the word and its spaces ("" if
 * nothing); out takes the output, each line sent to the client as it
 * ends (the FILE is line buffered; do not close it). Returns 0, or a
 * negative error code with its message recorded through sb_err_set()
 * (the client sees "error <sb_err_msg(code)>"). Runs in a connection
 * thread: handlers of different clients may run at the same time.
 */
typedef int (*sb_control_fn)(const char *args, FILE *out, void *arg);

/*
 * Listens on VAULT/.git/sealbox/control.sock and serves it from a thread.
 * A socket file nobody listens on (left by a daemon that died) is
 * replaced; a live one is -EADDRINUSE ("a daemon already serves VAULT").
 * Register the handlers right after starting: until then a request is
 * an unknown one. Returns 0 or -errno with a message recorded.
 */
int sb_control_start(struct sb_control **out, const char *vault);

/*
 * Serves requests whose first word is word with fn(args, out, arg).
 * May be called before or while serving. -EEXIST for a word already
 * registered, -EINVAL for an empty word or one with blanks, -ENOMEM.
 */
int sb_control_register(struct sb_control *c, const char *word,
			sb_control_fn fn, void *arg);

/*
 * Stops accepting, drops clients that have not sent their request yet,
 * waits for the running handlers to finish (their clients still get the
 * output and the last line), removes the socket file and frees c.
 * NULL-safe.
 */
void sb_control_stop(struct sb_control *c);

/*
 * Client side: sends request (one line, without "\n") to the daemon
 * serving vault and copies its output lines to out (without the "> ";
 * NULL: dropped), flushing out after each line.
 * Returns 0 when the daemon answered "ok"; 1 when it answered "error
 * ..." or hung up, after printing "sealbox: <message>" to stderr;
 * -ENOENT when no daemon listens (no socket file, or a stale one), so
 * the caller can do the work itself; another -errno (with a message
 * recorded, nothing printed) when the socket cannot be used, e.g.
 * -EPERM for a daemon of another user.
 */
int sb_control_call(const char *vault, const char *request, FILE *out);

#endif

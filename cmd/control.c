#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmd/control.h"
#include "crypto/err.h"

/*
 * One accept thread; one joinable thread per connection, in a fixed table
 * the accept thread reaps. A pipe written once at stop wakes every poll()
 * (it is never drained).
 */

#define STATE_DIR ".git/sealbox"
#define SOCK_NAME "control.sock"
#define MAX_CONNS 16
#define REQ_MAX 1024
#define REQ_TIMEOUT_MS 10000
#define SEND_TIMEOUT_S 30

struct handler {
	char *word;
	sb_control_fn fn;
	void *arg;
};

struct conn {
	struct sb_control *ctl;
	pthread_t thread;
	int fd;
	int used, done;		/* under ctl->lock */
};

struct sb_control {
	char *vault;
	char path[PATH_MAX];	/* the socket file */
	int lfd, wake[2];
	dev_t dev;		/* the socket file we bound */
	ino_t ino;
	pthread_t thread;
	pthread_mutex_t lock;
	struct handler *h;	/* under lock */
	size_t nh;
	struct conn conns[MAX_CONNS];
};

/* Output of a handler: each line sent as "> line\n". */
struct sink {
	int fd;
	int mid;		/* inside a line */
	int broken;		/* the client went away: drop the rest */
};

static void send_all(struct sink *s, const char *p, size_t n)
{
	ssize_t k;

	while (n && !s->broken) {
		k = send(s->fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			s->broken = 1;
			break;
		}
		p += k;
		n -= (size_t)k;
	}
}

static void send_str(int fd, const char *str)
{
	struct sink s = { fd, 0, 0 };

	send_all(&s, str, strlen(str));
}

/* "error <message>\n" with the message kept on one line. */
static void send_error(int fd, const char *msg)
{
	char line[600];
	char *p;

	snprintf(line, sizeof(line), "error %s", msg);
	for (p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	send_str(fd, line);
	send_str(fd, "\n");
}

static ssize_t sink_write(void *cookie, const char *buf, size_t size)
{
	struct sink *s = cookie;
	const char *nl;
	size_t i = 0, n;

	while (i < size) {
		if (!s->mid)
			send_all(s, "> ", 2);
		nl = memchr(buf + i, '\n', size - i);
		n = nl ? (size_t)(nl - (buf + i)) + 1 : size - i;
		send_all(s, buf + i, n);
		s->mid = !nl;
		i += n;
	}
	/* a client that left must not make the handler fail */
	return (ssize_t)size;
}

static int sink_close(void *cookie)
{
	struct sink *s = cookie;

	if (s->mid)
		send_all(s, "\n", 1);
	return 0;
}

/*
 * The socket's address: its path, or the path through /proc/self/fd when
 * it does not fit in sun_path (*dirfd then holds the directory until the
 * caller closes it after bind or connect).
 */
static int sock_addr(struct sockaddr_un *sa, const char *dir, int *dirfd)
{
	int n;

	*dirfd = -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/" SOCK_NAME,
		     dir);
	if (n >= 0 && (size_t)n < sizeof(sa->sun_path))
		return 0;
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -errno;
	snprintf(sa->sun_path, sizeof(sa->sun_path),
		 "/proc/self/fd/%d/" SOCK_NAME, *dirfd);
	return 0;
}

static int state_dir(char *buf, const char *vault)
{
	int n = snprintf(buf, PATH_MAX, "%s/" STATE_DIR, vault);

	if (n < 0 || n >= PATH_MAX)
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", vault);
	return 0;
}

/* Whether the other end runs as our effective uid. */
static int check_peer(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return -errno;
	return cr.uid == geteuid() ? 0 : -EPERM;
}

/* ---- server ---- */

static const struct handler *find_locked(const struct sb_control *c,
					 const char *word)
{
	size_t i;

	for (i = 0; i < c->nh; i++)
		if (!strcmp(c->h[i].word, word))
			return &c->h[i];
	return NULL;
}

int sb_control_register(struct sb_control *c, const char *word,
			sb_control_fn fn, void *arg)
{
	struct handler *h;
	char *copy;
	int rc = 0;

	if (!*word || strpbrk(word, " \t\r\n"))
		return sb_err_set(-EINVAL, "bad control request word '%s'",
				  word);
	pthread_mutex_lock(&c->lock);
	if (find_locked(c, word)) {
		rc = sb_err_set(-EEXIST, "control request '%s' registered "
				"twice", word);
		goto out;
	}
	copy = strdup(word);
	h = realloc(c->h, (c->nh + 1) * sizeof(*h));
	if (!copy || !h) {
		free(copy);
		if (h)
			c->h = h;
		rc = -ENOMEM;
		goto out;
	}
	c->h = h;
	c->h[c->nh].word = copy;
	c->h[c->nh].fn = fn;
	c->h[c->nh].arg = arg;
	c->nh++;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Reads the request line into req (REQ_MAX). 0, or an error already
 * answered (or a client that left). */
static int read_request(struct conn *k, char *req)
{
	struct pollfd p[2] = { { k->fd, POLLIN, 0 },
			       { k->ctl->wake[0], POLLIN, 0 } };
	size_t len = 0;
	ssize_t n;
	char *nl;
	int r;

	for (;;) {
		r = poll(p, 2, REQ_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || p[1].revents) {
			send_error(k->fd, "the daemon is stopping");
			return -ECANCELED;
		}
		if (!r) {
			send_error(k->fd, "no request received");
			return -ETIMEDOUT;
		}
		n = recv(k->fd, req + len, REQ_MAX - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		len += (size_t)n;
		req[len] = '\0';
		if ((nl = strchr(req, '\n'))) {
			*nl = '\0';
			if (nl > req && nl[-1] == '\r')
				nl[-1] = '\0';
			return 0;
		}
		if (len == REQ_MAX - 1) {
			send_error(k->fd, "request too long");
			return -E2BIG;
		}
	}
}

static int call_handler(const struct handler *h, const char *args, int fd,
			const char **msg)
{
	static const cookie_io_functions_t io = {
		.write = sink_write, .close = sink_close,
	};
	struct sink s = { fd, 0, 0 };
	FILE *out = fopencookie(&s, "w", io);
	int rc;

	if (!out) {
		*msg = "out of memory";
		return -ENOMEM;
	}
	setvbuf(out, NULL, _IOLBF, 4096);
	sb_err_clear();
	rc = h->fn(args, out, h->arg);
	if (rc)
		*msg = sb_err_msg(rc);
	fclose(out);
	return rc;
}

static void run_request(struct sb_control *c, int fd, char *req)
{
	const char *args, *msg = NULL;
	struct handler h = { NULL, NULL, NULL };
	const struct handler *found;
	char unknown[REQ_MAX + 32];
	size_t wlen = strcspn(req, " \t");

	args = req + wlen + strspn(req + wlen, " \t");
	req[wlen] = '\0';
	pthread_mutex_lock(&c->lock);
	found = find_locked(c, req);
	if (found)
		h = *found;
	pthread_mutex_unlock(&c->lock);
	if (!h.fn) {
		snprintf(unknown, sizeof(unknown), "unknown request: %s", req);
		send_error(fd, unknown);
		return;
	}
	if (call_handler(&h, args, fd, &msg))
		send_error(fd, msg);
	else
		send_str(fd, "ok\n");
}

static void *conn_main(void *arg)
{
	struct conn *k = arg;
	struct timeval tv = { SEND_TIMEOUT_S, 0 };
	char req[REQ_MAX];

	setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (check_peer(k->fd))
		send_error(k->fd, "permission denied: the daemon belongs to "
			   "another user");
	else if (!read_request(k, req))
		run_request(k->ctl, k->fd, req);
	close(k->fd);
	pthread_mutex_lock(&k->ctl->lock);
	k->done = 1;
	pthread_mutex_unlock(&k->ctl->lock);
	return NULL;
}

/* Joins finished connection threads; returns a free slot or NULL. */
static struct conn *reap(struct sb_control *c)
{
	struct conn *k, *free_slot = NULL;
	size_t i;
	int done;

	for (i = 0; i < MAX_CONNS; i++) {
		k = &c->conns[i];
		pthread_mutex_lock(&c->lock);
		done = k->done;
		pthread_mutex_unlock(&c->lock);
		if (k->used && done) {
			pthread_join(k->thread, NULL);
			k->used = k->done = 0;
		}
		if (!k->used && !free_slot)
			free_slot = k;
	}
	return free_slot;
}

static void serve(struct sb_control *c, int fd)
{
	struct conn *k = reap(c);

	if (!k) {
		send_error(fd, "too many clients");
		close(fd);
		return;
	}
	k->ctl = c;
	k->fd = fd;
	k->used = 1;
	k->done = 0;
	if (pthread_create(&k->thread, NULL, conn_main, k)) {
		k->used = 0;
		send_error(fd, "cannot start a thread");
		close(fd);
	}
}

static void *accept_main(void *arg)
{
	struct sb_control *c = arg;
	struct pollfd p[2] = { { c->lfd, POLLIN, 0 },
			       { c->wake[0], POLLIN, 0 } };
	struct timespec pause = { 0, 50000000 };
	int fd;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve(c, fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			nanosleep(&pause, NULL);	/* e.g. EMFILE */
	}
	return NULL;
}

static int make_state_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return sb_err_set(-errno, "cannot create %s: %s", dir,
				  strerror(errno));
	if (lstat(dir, &st))
		return sb_err_set(-errno, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return sb_err_set(-EPERM, "%s is not a directory of ours",
				  dir);
	if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700))
		return sb_err_set(-errno, "chmod %s: %s", dir,
				  strerror(errno));
	return 0;
}

/* Removes a socket file nobody listens on; a live one is EADDRINUSE. */
static int clear_stale(struct sb_control *c, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(c->path, &st))
		return errno == ENOENT ? 0 : sb_err_set(-errno, "%s: %s",
							c->path,
							strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return sb_err_set(-EEXIST, "%s exists and is not a socket",
				  c->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sb_err_set(-errno, "socket: %s", strerror(errno));
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno
								   : 0;
	close(fd);
	if (!rc)
		return sb_err_set(-EADDRINUSE, "a daemon already serves %s",
				  c->vault);
	if (rc != -ECONNREFUSED)
		return sb_err_set(rc, "%s: %s", c->path, strerror(-rc));
	if (unlink(c->path) && errno != ENOENT)
		return sb_err_set(-errno, "cannot remove the stale %s: %s",
				  c->path, strerror(errno));
	return 0;
}

static int bind_sock(struct sb_control *c, const struct sockaddr_un *sa)
{
	struct stat st;

	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->lfd < 0)
		return sb_err_set(-errno, "socket: %s", strerror(errno));
	/* the directory is 0700: the moment before chmod exposes nothing */
	if (bind(c->lfd, (const struct sockaddr *)sa, sizeof(*sa)) ||
	    chmod(c->path, 0600) || lstat(c->path, &st) ||
	    listen(c->lfd, MAX_CONNS))
		return sb_err_set(-errno, "cannot listen on %s: %s", c->path,
				  strerror(errno));
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
}

static int open_sock(struct sb_control *c)
{
	char dir[PATH_MAX];
	struct sockaddr_un sa;
	int dirfd = -1, rc;

	if ((rc = state_dir(dir, c->vault)) || (rc = make_state_dir(dir)))
		return rc;
	if (snprintf(c->path, sizeof(c->path), "%s/" SOCK_NAME, dir) >=
	    (int)sizeof(c->path))
		return sb_err_set(-ENAMETOOLONG, "%s: path too long", dir);
	if ((rc = sock_addr(&sa, dir, &dirfd)))
		return sb_err_set(rc, "%s: %s", dir, strerror(-rc));
	rc = clear_stale(c, &sa);
	if (!rc)
		rc = bind_sock(c, &sa);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

/* Removes the socket file if it is still the one we bound. */
static void remove_sock(struct sb_control *c)
{
	struct stat st;

	if (!lstat(c->path, &st) && st.st_dev == c->dev &&
	    st.st_ino == c->ino)
		unlink(c->path);
}

static void free_control(struct sb_control *c)
{
	size_t i;

	if (c->lfd >= 0)
		close(c->lfd);
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	for (i = 0; i < c->nh; i++)
		free(c->h[i].word);
	free(c->h);
	free(c->vault);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int sb_control_start(struct sb_control **out, const char *vault)
{
	struct sb_control *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->lfd = c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->lock, NULL);
	if (!(c->vault = strdup(vault))) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (pipe2(c->wake, O_CLOEXEC)) {
		rc = sb_err_set(-errno, "pipe: %s", strerror(errno));
		goto out_free;
	}
	if ((rc = open_sock(c)))
		goto out_free;
	if ((rc = -pthread_create(&c->thread, NULL, accept_main, c))) {
		sb_err_set(rc, "cannot start the control thread");
		goto out_unlink;
	}
	*out = c;
	return 0;

out_unlink:
	remove_sock(c);
out_free:
	free_control(c);
	return rc;
}

void sb_control_stop(struct sb_control *c)
{
	ssize_t n;
	size_t i;

	if (!c)
		return;
	n = write(c->wake[1], "x", 1);
	(void)n;
	pthread_join(c->thread, NULL);
	close(c->lfd);
	c->lfd = -1;
	remove_sock(c);
	for (i = 0; i < MAX_CONNS; i++)
		if (c->conns[i].used)
			pthread_join(c->conns[i].thread, NULL);
	free_control(c);
}

/* ---- client ---- */

static int connect_daemon(int *out, const char *vault)
{
	char dir[PATH_MAX];
	struct sockaddr_un sa;
	int fd, dirfd, rc;

	if ((rc = state_dir(dir, vault)))
		return rc;
	if ((rc = sock_addr(&sa, dir, &dirfd)))
		return rc == -ENOENT ? sb_err_set(rc, "no daemon serves %s",
						  vault)
				     : sb_err_set(rc, "%s: %s", dir,
						  strerror(-rc));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 ? -errno : 0;
	if (!rc && connect(fd, (const struct sockaddr *)&sa, sizeof(sa)))
		rc = -errno;
	if (dirfd >= 0)
		close(dirfd);
	if (rc == -ENOENT || rc == -ECONNREFUSED || rc == -ENOTDIR)
		rc = sb_err_set(-ENOENT, "no daemon serves %s", vault);
	else if (rc)
		rc = sb_err_set(rc, "cannot reach the daemon of %s: %s",
				vault, strerror(-rc));
	else if ((rc = check_peer(fd)))
		rc = sb_err_set(-EPERM, "the daemon of %s belongs to another "
				"user", vault);
	if (rc && fd >= 0)
		close(fd);
	if (!rc)
		*out = fd;
	return rc;
}

/* Copies output lines to out until the last line. 0, or 1 printed. */
static int read_reply(FILE *in, FILE *out, const char *vault)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = -1;

	while (rc < 0 && (n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!strncmp(line, "> ", 2)) {
			if (out) {
				fprintf(out, "%s\n", line + 2);
				fflush(out);
			}
		} else if (!strcmp(line, "ok")) {
			rc = 0;
		} else if (!strncmp(line, "error ", 6)) {
			fprintf(stderr, "sealbox: %s\n", line + 6);
			rc = 1;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "sealbox: the daemon of %s hung up\n", vault);
		rc = 1;
	}
	free(line);
	return rc;
}

int sb_control_call(const char *vault, const char *request, FILE *out)
{
	struct sink s = { -1, 0, 0 };
	FILE *in;
	int fd, rc;

	if (strpbrk(request, "\r\n") || strlen(request) >= REQ_MAX)
		return sb_err_set(-EINVAL, "bad control request");
	if ((rc = connect_daemon(&fd, vault)))
		return rc;
	s.fd = fd;
	send_all(&s, request, strlen(request));
	send_all(&s, "\n", 1);
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return sb_err_set(-ENOMEM, "out of memory");
	}
	rc = read_reply(in, out, vault);
	fclose(in);
	return rc;
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/control.h"
#include "crypto/crypto.h"
#include "crypto/err.h"

/*
 * The control socket: requests and their output, errors, no daemon, a
 * stale socket file, a live one, stop with clients connected, clients
 * served side by side, another user refused.
 */

struct fix {
	char vault[64];
	char sock[PATH_MAX];
	struct sb_control *c;
	/* the "block" handler waits for release */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered, released;
};

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int h_echo(const char *args, FILE *out, void *arg)
{
	fprintf(out, "args=[%s]\n", args);
	fprintf(out, "two ");
	fprintf(out, "parts\nok\nerror not the end\nno newline");
	return 0;
}

static int h_fail(const char *args, FILE *out, void *arg)
{
	fprintf(out, "working\n");
	return sb_err_set(-EIO, "disk on fire\nsecond line");
}

static int h_slow(const char *args, FILE *out, void *arg)
{
	sleep_ms(300);
	fprintf(out, "done\n");
	return 0;
}

static int h_block(const char *args, FILE *out, void *arg)
{
	struct fix *f = arg;

	fprintf(out, "waiting\n");
	pthread_mutex_lock(&f->lock);
	f->entered = 1;
	pthread_cond_broadcast(&f->cond);
	while (!f->released)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
	fprintf(out, "released\n");
	return 0;
}

static void start(struct fix *f)
{
	assert_int_equal(sb_control_start(&f->c, f->vault), 0);
	assert_int_equal(sb_control_register(f->c, "echo", h_echo, f), 0);
	assert_int_equal(sb_control_register(f->c, "fail", h_fail, f), 0);
	assert_int_equal(sb_control_register(f->c, "slow", h_slow, f), 0);
	assert_int_equal(sb_control_register(f->c, "block", h_block, f), 0);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char git[128];

	snprintf(f->vault, sizeof(f->vault), "/tmp/t-control.XXXXXX");
	assert_non_null(mkdtemp(f->vault));
	snprintf(git, sizeof(git), "%s/.git", f->vault);
	assert_int_equal(mkdir(git, 0755), 0);
	snprintf(f->sock, sizeof(f->sock), "%s/" SB_CONTROL_SOCK, f->vault);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	sb_control_stop(f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->vault);
	if (system(cmd))
		return 1;
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
	return 0;
}

/* A call with its output and its stderr captured (NUL-terminated). */
struct result {
	int rc;
	char out[1024];
	char err[1024];
};

static void slurp(FILE *fp, char *buf, size_t size)
{
	size_t n;

	rewind(fp);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

static void call(struct result *r, const char *vault, const char *req)
{
	FILE *out = tmpfile(), *err = tmpfile();
	int saved;

	assert_non_null(out);
	assert_non_null(err);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(err), 2) >= 0);
	r->rc = sb_control_call(vault, req, out);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

static void test_request(void **state)
{
	struct fix *f = *state;
	struct result r;
	struct stat st;
	char dir[128];

	start(f);
	call(&r, f->vault, "echo  hello  world ");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "args=[hello  world ]\ntwo parts\nok\n"
			    "error not the end\nno newline\n");
	assert_string_equal(r.err, "");
	call(&r, f->vault, "echo");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "args=[]\n"));

	assert_int_equal(lstat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s/.git/sealbox", f->vault);
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_errors(void **state)
{
	struct fix *f = *state;
	struct result r;

	start(f);
	call(&r, f->vault, "fail now");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "working\n");
	assert_string_equal(r.err, "sealbox: disk on fire second line\n");
	call(&r, f->vault, "nope x");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "sealbox: unknown request: nope\n");
	call(&r, f->vault, "two\nlines");
	assert_int_equal(r.rc, -EINVAL);
	assert_int_equal(sb_control_register(f->c, "echo", h_echo, f),
			 -EEXIST);
	assert_int_equal(sb_control_register(f->c, "a b", h_echo, f),
			 -EINVAL);
	assert_int_equal(sb_control_register(f->c, "", h_echo, f), -EINVAL);
}

static void test_no_daemon(void **state)
{
	struct fix *f = *state;
	struct result r;

	/* no .git/sealbox at all */
	call(&r, f->vault, "echo");
	assert_int_equal(r.rc, -ENOENT);
	assert_string_equal(r.err, "");
	/* started and stopped: the socket file is gone */
	start(f);
	sb_control_stop(f->c);
	f->c = NULL;
	assert_int_equal(access(f->sock, F_OK), -1);
	call(&r, f->vault, "echo");
	assert_int_equal(r.rc, -ENOENT);
	call(&r, "/nonexistent/vault", "echo");
	assert_int_equal(r.rc, -ENOENT);
}

/* Leaves a socket file nobody listens on, as a killed daemon does. */
static void make_stale(struct fix *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[128];
	int fd;

	snprintf(dir, sizeof(dir), "%s/.git/sealbox", f->vault);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_true(strlen(f->sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->sock, strlen(f->sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	close(fd);
}

static void test_stale_and_live(void **state)
{
	struct fix *f = *state;
	struct sb_control *c2 = NULL;
	struct result r;

	make_stale(f);
	call(&r, f->vault, "echo");
	assert_int_equal(r.rc, -ENOENT);
	start(f);
	call(&r, f->vault, "echo");
	assert_int_equal(r.rc, 0);
	/* a second daemon for the same vault is refused */
	sb_err_clear();
	assert_int_equal(sb_control_start(&c2, f->vault), -EADDRINUSE);
	assert_null(c2);
	assert_non_null(strstr(sb_err_msg(-EADDRINUSE), "already serves"));
	call(&r, f->vault, "echo");
	assert_int_equal(r.rc, 0);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

static void read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

struct client {
	const char *vault, *req;
	struct result r;
};

static void *client_thread(void *arg)
{
	struct client *cl = arg;
	FILE *out = tmpfile();

	cl->r.rc = sb_control_call(cl->vault, cl->req, out);
	slurp(out, cl->r.out, sizeof(cl->r.out));
	return NULL;
}

static void test_stop_with_clients(void **state)
{
	struct fix *f = *state;
	struct client cl = { f->vault, "slow", { 0, "", "" } };
	char buf[256];
	pthread_t t;
	uint64_t t0, dt;
	int idle;

	start(f);
	idle = raw_connect(f->sock);
	assert_true(idle >= 0);
	assert_int_equal(pthread_create(&t, NULL, client_thread, &cl), 0);
	sleep_ms(100);
	t0 = ms_now();
	sb_control_stop(f->c);
	f->c = NULL;
	dt = ms_now() - t0;
	pthread_join(t, NULL);
	/* the running request finished and got its answer */
	assert_int_equal(cl.r.rc, 0);
	assert_string_equal(cl.r.out, "done\n");
	assert_true(dt >= 150);
	assert_true(dt < 2000);
	/* the idle client was told and dropped */
	read_all(idle, buf, sizeof(buf));
	close(idle);
	assert_string_equal(buf, "error the daemon is stopping\n");
	assert_int_equal(access(f->sock, F_OK), -1);
}

static void test_concurrent(void **state)
{
	struct fix *f = *state;
	struct client cl = { f->vault, "block", { 0, "", "" } };
	struct result r;
	pthread_t t;

	start(f);
	assert_int_equal(pthread_create(&t, NULL, client_thread, &cl), 0);
	pthread_mutex_lock(&f->lock);
	while (!f->entered)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
	/* a second client is served while the first one's handler runs */
	call(&r, f->vault, "echo second");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "args=[second]"));
	pthread_mutex_lock(&f->lock);
	f->released = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	pthread_join(t, NULL);
	assert_int_equal(cl.r.rc, 0);
	assert_string_equal(cl.r.out, "waiting\nreleased\n");
}

static void test_raw_protocol(void **state)
{
	struct fix *f = *state;
	char buf[2048];
	int fd;

	start(f);
	fd = raw_connect(f->sock);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "echo a\r\n", 8), 8);
	read_all(fd, buf, sizeof(buf));
	close(fd);
	assert_string_equal(buf, "> args=[a]\n> two parts\n> ok\n"
			    "> error not the end\n> no newline\nok\n");
	/* an endless line is refused */
	memset(buf, 'x', sizeof(buf));
	fd = raw_connect(f->sock);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	read_all(fd, buf, sizeof(buf));
	close(fd);
	assert_string_equal(buf, "error request too long\n");
}

/* A vault path too long for sun_path still works (through /proc). */
static void test_long_path(void **state)
{
	struct fix *f = *state;
	char deep[PATH_MAX], git[PATH_MAX];
	struct result r;
	size_t i;

	snprintf(deep, sizeof(deep), "%s/", f->vault);
	for (i = strlen(deep); i < 150; i++)
		deep[i] = 'v';
	deep[i] = '\0';
	assert_int_equal(mkdir(deep, 0700), 0);
	assert_true(snprintf(git, sizeof(git), "%s/.git", deep) > 0);
	assert_int_equal(mkdir(git, 0700), 0);
	call(&r, deep, "echo");
	assert_int_equal(r.rc, -ENOENT);
	assert_int_equal(sb_control_start(&f->c, deep), 0);
	assert_int_equal(sb_control_register(f->c, "echo", h_echo, f), 0);
	call(&r, deep, "echo long");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "args=[long]"));
}

/* Another uid that can reach the socket is still refused by the server. */
static void test_other_user(void **state)
{
	struct fix *f = *state;
	char dir[128], buf[256];
	pid_t pid;
	int fd, status;

	if (geteuid()) {
		skip();	/* needs root to connect as another user */
		return;
	}
	start(f);
	snprintf(dir, sizeof(dir), "%s/.git/sealbox", f->vault);
	assert_int_equal(chmod(f->vault, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(f->sock, 0666), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(3);
		/* our own side refuses a daemon of another user too */
		if (sb_control_call(f->vault, "echo", NULL) != -EPERM)
			_exit(4);
		fd = raw_connect(f->sock);
		if (fd < 0)
			_exit(5);
		/* the server may have hung up already */
		(void)!send(fd, "echo\n", 5, MSG_NOSIGNAL);
		read_all(fd, buf, sizeof(buf));
		_exit(strncmp(buf, "error permission denied", 23) ? 6 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_daemon, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_live, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_clients, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_raw_protocol, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_user, setup,
						teardown),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

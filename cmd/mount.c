#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/syncd.h"
#include "fs/fs.h"
#include "fs/store.h"

/*
 * sealbox mount / umount / fsck.
 *
 * Without -f, mount re-executes itself as "sealbox mount -f ... VAULT
 * MOUNTPOINT" in a new session (so the daemon's secure memory is locked
 * in a fresh process rather than in a fork that lost its mlock), hands it
 * the passphrase through a pipe and waits on a second pipe until the
 * daemon has mounted (or failed, printing its own error).
 */

#define PIDFILE ".git/sealbox/mount.pid"
#define UMOUNT_WAIT_MS 30000

static const char mount_usage[] =
	"mount [-f] [-d] [--passphrase-file FILE | --passphrase-fd N] "
	"[-o OPTIONS] VAULT MOUNTPOINT";
static const char umount_usage[] = "umount MOUNTPOINT";
static const char fsck_usage[] =
	"fsck [--passphrase-file FILE | --passphrase-fd N] VAULT";

struct mount_opts {
	int foreground;
	int debug;
	int ready_fd;
	struct sb_pass_src pass;
	char opts[4096];
	const char *vault;
	const char *mnt;
};

static int add_opt(struct mount_opts *o, const char *opt)
{
	size_t used = strlen(o->opts);
	int n = snprintf(o->opts + used, sizeof(o->opts) - used, "%s%s",
			 used ? "," : "", opt);

	return n < 0 || (size_t)n >= sizeof(o->opts) - used;
}

static int parse_mount(struct mount_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "fdo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->foreground = 1; break;
		case 'd': o->debug = o->foreground = 1; break;
		case 'o':
			if (add_opt(o, optarg))
				return sb_usage(mount_usage);
			break;
		case 'p': o->pass.file = optarg; break;
		case 'P':
			if (sb_parse_fd(&o->pass.fd, optarg))
				return 2;
			break;
		case 'R':
			if (sb_parse_fd(&o->ready_fd, optarg))
				return 2;
			break;
		default: return sb_usage(mount_usage);
		}
	}
	if (optind != argc - 2)
		return sb_usage(mount_usage);
	o->vault = argv[optind];
	o->mnt = argv[optind + 1];
	return 0;
}

static int pidfile_path(char *buf, size_t size, const char *vault)
{
	int n = snprintf(buf, size, "%s/" PIDFILE, vault);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int running(pid_t pid);

/* The pid of the daemon serving vault, or 0. */
static pid_t pidfile_read(const char *vault)
{
	char path[PATH_MAX];
	long pid = 0;
	FILE *f;

	if (pidfile_path(path, sizeof(path), vault))
		return 0;
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && running((pid_t)pid) ? (pid_t)pid : 0;
}

static int pidfile_write(const char *vault, const char *mnt)
{
	char path[PATH_MAX];
	FILE *f;

	if (pidfile_path(path, sizeof(path), vault))
		return -ENAMETOOLONG;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%ld\n%s\n", (long)getpid(), mnt);
	return fclose(f) ? -errno : 0;
}

static void pidfile_remove(const char *vault)
{
	char path[PATH_MAX];

	if (!pidfile_path(path, sizeof(path), vault))
		unlink(path);
}

/* Tells the waiting parent that the mount is ready; detaches stdio. */
static void signal_ready(int fd)
{
	int null;

	if (fd < 0)
		return;
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (write(fd, "ok\n", 3) != 3)
		_exit(1);
	close(fd);
}

static int serve_mounted(struct sb_fs *fs, const struct mount_opts *o,
			 const char *vault, const char *mnt)
{
	int rc;

	rc = pidfile_write(vault, mnt);
	if (rc)
		sb_error("cannot write %s/%s: %s", vault, PIDFILE,
			 sb_err_str(rc));
	signal_ready(o->ready_fd);
	rc = sb_fs_run(fs);
	pidfile_remove(vault);
	return rc ? 1 : 0;
}

static int serve(const struct mount_opts *o)
{
	struct sb_fs_config cfg = { o->ready_fd >= 0, o->debug };
	char mnt[PATH_MAX], vault[PATH_MAX];
	struct sb_store *st = NULL;
	struct sb_vault *v = NULL;
	struct sb_fs *fs = NULL;
	struct sb_syncd *sd = NULL;
	pid_t other;
	int rc;

	if (!realpath(o->mnt, mnt))
		return sb_error("%s: %s", o->mnt, strerror(errno));
	if (sb_cmd_unlock(&v, o->vault, &o->pass))
		return 1;
	snprintf(vault, sizeof(vault), "%s", v->path);
	other = pidfile_read(vault);
	if (other) {
		sb_vault_free(v);
		return sb_error("%s is already mounted (daemon pid %ld); "
				"sealbox umount it first", vault, (long)other);
	}
	rc = sb_store_open(&st, vault, v->secrets);
	if (!rc)
		rc = sb_syncd_open(&sd, v, st);
	if (!rc)
		rc = sb_fs_new(&fs, st, mnt, o->opts[0] ? o->opts : NULL, &cfg);
	if (rc) {
		sb_syncd_close(sd);
		sb_store_free(st);
		sb_vault_free(v);
		return sb_error("cannot mount %s on %s: %s", vault, mnt,
				sb_err_msg(rc));
	}
	rc = sb_syncd_start(sd, fs);
	if (!rc)
		rc = serve_mounted(fs, o, vault, mnt);
	sb_syncd_stop(sd);
	sb_syncd_close(sd);
	sb_fs_free(fs);
	sb_store_free(st);
	sb_vault_free(v);
	return rc;
}

/* Builds the daemon's command line. */
static void daemon_argv(char **av, char *pfd, char *rfd,
			const struct mount_opts *o)
{
	int i = 0;

	av[i++] = "sealbox";
	av[i++] = "mount";
	av[i++] = "-f";
	av[i++] = "--passphrase-fd";
	av[i++] = pfd;
	av[i++] = "--ready-fd";
	av[i++] = rfd;
	if (o->opts[0]) {
		av[i++] = "-o";
		av[i++] = (char *)o->opts;
	}
	av[i++] = "--";
	av[i++] = (char *)o->vault;
	av[i++] = (char *)o->mnt;
	av[i] = NULL;
}

static void exec_daemon(int pass_fd, int ready_fd, const struct mount_opts *o)
{
	char pfd[16], rfd[16], *av[16];

	snprintf(pfd, sizeof(pfd), "%d", pass_fd);
	snprintf(rfd, sizeof(rfd), "%d", ready_fd);
	daemon_argv(av, pfd, rfd, o);
	setsid();
	execv("/proc/self/exe", av);
	fprintf(stderr, "sealbox: cannot start the daemon: %s\n",
		strerror(errno));
	_exit(127);
}

/* Waits for "ok" from the daemon; its own errors went to our stderr. */
static int wait_ready(int fd, pid_t pid)
{
	char buf[8] = "";
	ssize_t n;
	int status;

	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n >= 2 && !strncmp(buf, "ok", 2))
		return 0;
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status))
		return WEXITSTATUS(status);
	return 1;
}

static int send_pass(int fd, const struct sb_pass_src *src)
{
	char *pass = NULL;
	size_t len = 0;
	int rc;

	rc = sb_pass_read(&pass, &len, src, "Passphrase: ", 0);
	if (!rc && (write(fd, pass, len) != (ssize_t)len ||
		    write(fd, "\n", 1) != 1))
		rc = sb_error("cannot hand the passphrase to the daemon");
	sb_pass_free(pass, len);
	close(fd);
	return rc;
}

static int spawn(const struct mount_opts *o)
{
	int pp[2], rp[2], rc;
	pid_t pid;

	if (pipe(pp) || pipe(rp))
		return sb_error("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return sb_error("fork: %s", strerror(errno));
	if (!pid) {
		close(pp[1]);
		close(rp[0]);
		exec_daemon(pp[0], rp[1], o);
	}
	close(pp[0]);
	close(rp[1]);
	rc = send_pass(pp[1], &o->pass);
	if (rc) {
		kill(pid, SIGTERM);
		close(rp[0]);
		waitpid(pid, NULL, 0);
		return rc;
	}
	return wait_ready(rp[0], pid);
}

int sb_cmd_mount(int argc, char **argv)
{
	struct mount_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.ready_fd = -1;
	o.pass.fd = -1;
	rc = parse_mount(&o, argc, argv);
	if (rc)
		return rc;
	if (o.foreground)
		return serve(&o);
	return spawn(&o);
}

/* Undoes mountinfo's octal escapes in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The vault (fsname) of the sealbox mount at mnt, into vault. */
static int find_mount(char *vault, size_t size, const char *mnt)
{
	char line[3 * PATH_MAX], point[PATH_MAX], type[64], src[PATH_MAX];
	const char *sep;
	int found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
		    sscanf(sep + 3, "%63s %4095s", type, src) != 2)
			continue;
		unescape(point);
		unescape(src);
		if (strcmp(point, mnt) || strcmp(type, "fuse.sealbox"))
			continue;
		snprintf(vault, size, "%s", src);
		found = 1;
	}
	fclose(f);
	return found;
}

/* An absolute path for a mount point that may not answer stat. */
static int canonical_mnt(char *buf, const char *mnt)
{
	char dir[PATH_MAX], base[PATH_MAX], *slash;
	char tmp[PATH_MAX];

	if (realpath(mnt, buf))
		return 0;
	snprintf(tmp, sizeof(tmp), "%s", mnt);
	while (strlen(tmp) > 1 && tmp[strlen(tmp) - 1] == '/')
		tmp[strlen(tmp) - 1] = '\0';
	slash = strrchr(tmp, '/');
	snprintf(base, sizeof(base), "%s", slash ? slash + 1 : tmp);
	if (slash == tmp)
		snprintf(dir, sizeof(dir), "/");
	else if (slash) {
		*slash = '\0';
		snprintf(dir, sizeof(dir), "%s", tmp);
	} else
		snprintf(dir, sizeof(dir), ".");
	if (!realpath(dir, tmp))
		return -errno;
	if (snprintf(buf, PATH_MAX, "%s/%s", strcmp(tmp, "/") ? tmp : "",
		     base) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int run_fusermount(const char *flags, const char *mnt)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 2);
		execlp("fusermount3", "fusermount3", flags, "--", mnt,
		       (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EBUSY;
}

static int do_unmount(const char *mnt, int lazy)
{
	if (geteuid() == 0)
		return umount2(mnt, lazy ? MNT_DETACH : 0) ? -errno : 0;
	return run_fusermount(lazy ? "-uz" : "-u", mnt);
}

/* 1 while pid runs (a zombie waiting for its reaper has ended). */
static int running(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

static void wait_exit(pid_t pid)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited < UMOUNT_WAIT_MS && running(pid); waited += 10)
		nanosleep(&ts, NULL);
}

int sb_cmd_umount(int argc, char **argv)
{
	char mnt[PATH_MAX], vault[PATH_MAX];
	pid_t pid;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return sb_usage(umount_usage);
	rc = canonical_mnt(mnt, argv[1]);
	if (rc)
		return sb_error("%s: %s", argv[1], strerror(-rc));
	if (!find_mount(vault, sizeof(vault), mnt))
		return sb_error("%s is not a sealbox mount", mnt);
	pid = pidfile_read(vault);
	rc = do_unmount(mnt, 0);
	if (rc && (!pid || rc == -ENOTCONN))
		rc = do_unmount(mnt, 1);	/* the daemon is gone */
	if (rc)
		return sb_error("cannot unmount %s: %s", mnt, strerror(-rc));
	/* Unmounted: the kernel flushed everything; the daemon would notice
	 * only when the kernel drops the connection, which may take a while. */
	if (pid && !kill(pid, SIGTERM))
		wait_exit(pid);
	else
		pidfile_remove(vault);
	return 0;
}

struct fsck_state {
	unsigned long entries;
	unsigned long damaged;
};

static int fsck_entry(const struct sb_store_entry *e, void *arg)
{
	struct fsck_state *s = arg;

	s->entries++;
	if (!e->error)
		return 0;
	s->damaged++;
	printf("damaged: %s: %s\n", e->path,
	       e->what ? e->what : sb_err_str(e->error));
	return 0;
}

static int parse_fsck(struct sb_pass_src *src, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'p')
			src->file = optarg;
		else if (c == 'P' && !sb_parse_fd(&src->fd, optarg))
			;
		else
			return sb_usage(fsck_usage);
	}
	return optind == argc - 1 ? 0 : sb_usage(fsck_usage);
}

int sb_cmd_fsck(int argc, char **argv)
{
	struct sb_pass_src src = SB_PASS_SRC_INIT;
	struct fsck_state s = { 0, 0 };
	struct sb_store *st = NULL;
	struct sb_vault *v = NULL;
	int rc;

	rc = parse_fsck(&src, argc, argv);
	if (rc)
		return rc;
	if (sb_cmd_unlock(&v, argv[optind], &src))
		return 1;
	rc = sb_store_open(&st, v->path, v->secrets);
	sb_vault_free(v);
	if (!rc)
		rc = sb_store_walk(st, 1, fsck_entry, &s);
	sb_store_free(st);
	if (rc)
		return sb_error("fsck stopped: %s", sb_err_msg(rc));
	printf("%lu entries checked, %lu damaged\n", s.entries, s.damaged);
	return s.damaged ? 1 : 0;
}

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
#include "cmd/vault.h"
#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/keyfile.h"
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "crypto/wrap.h"
#include "cmd/syncd.h"
#include "fs/fs.h"
#include "fs/store.h"

/*
 * sealbox mount / umount / fsck.
 *
 * Without -f, mount unlocks the vault itself (the passphrase KDF runs
 * here, so a wrong passphrase is reported before any daemon starts and
 * the KDF's memory never counts against the daemon), then re-executes
 * itself as "sealbox mount -f --keys-fd N ... VAULT MOUNTPOINT" in a new
 * session (so the daemon's secure memory is locked in a fresh process
 * rather than in a fork that lost its mlock), hands it the unlocked keys
 * through a pipe (never argv, the environment or a file), wipes its own
 * copy and waits on a second pipe until the daemon has mounted (or
 * failed, printing its own error).
 *
 * The keys on the pipe ("keys message"): "SBK1", the device name length
 * (1 byte) and name, the Ed25519 seed and the X25519 secret (32 bytes
 * each), then the vault secrets as sb_secrets_serialize() writes them,
 * up to end of file. The daemon reads it into secure memory.
 */

#define PIDFILE ".git/sealbox/mount.pid"
#define KEYS_MAGIC "SBK1"
#define KEYS_MAX (4 + 1 + SB_DEVICE_NAME_MAX + 2 * 32 + 5 + \
		  (SB_MAX_EPOCHS + 1) * SB_SECRET_LEN)
#define UMOUNT_WAIT_MS 30000
#define UMOUNT_BUSY_TRIES 40	/* 50 ms apart */

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
	int keys_fd;		/* the daemon: unlocked keys from the parent */
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
		{ "keys-fd", required_argument, NULL, 'K' },
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
		case 'K':
			if (sb_parse_fd(&o->keys_fd, optarg))
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

/* --- the keys message between the parent and the daemon --------------- */

/* Serializes v's device keys and secrets into secure memory. */
static int keys_pack(uint8_t **out, size_t *outlen, const struct sb_vault *v)
{
	size_t nlen = strlen(v->keys->name), slen = 0, len;
	uint8_t *sec = NULL, *buf;
	int rc = sb_secrets_serialize(&sec, &slen, v->secrets);

	if (rc)
		return rc;
	len = 5 + nlen + 2 * 32 + slen;
	buf = sb_secure_alloc(len);
	if (!buf) {
		sb_secure_free(sec, slen);
		return -ENOMEM;
	}
	memcpy(buf, KEYS_MAGIC, 4);
	buf[4] = (uint8_t)nlen;
	memcpy(buf + 5, v->keys->name, nlen);
	memcpy(buf + 5 + nlen, v->keys->sign->seed, 32);
	memcpy(buf + 5 + nlen + 32, v->keys->box->secret, 32);
	memcpy(buf + 5 + nlen + 64, sec, slen);
	sb_secure_free(sec, slen);
	*out = buf;
	*outlen = len;
	return 0;
}

/* Reads fd to end of file into secure memory (at most KEYS_MAX bytes). */
static int keys_read(uint8_t **out, size_t *outlen, int fd)
{
	uint8_t *buf = sb_secure_alloc(KEYS_MAX);
	size_t len = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		n = read(fd, buf + len, KEYS_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == KEYS_MAX)
			break;
	}
	close(fd);
	if (n < 0 || len == KEYS_MAX) {
		sb_secure_free(buf, KEYS_MAX);
		return n < 0 ? -errno : -EMSGSIZE;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* Device keys from the name, Ed25519 seed and X25519 secret in buf. */
static int keys_device(struct sb_device_keys **out, const uint8_t *buf,
		       size_t nlen)
{
	struct sb_device_keys *k = calloc(1, sizeof(*k));
	int rc;

	if (!k)
		return -ENOMEM;
	memcpy(k->name, buf + 5, nlen);
	rc = sb_signkey_from_seed(&k->sign, buf + 5 + nlen);
	if (!rc)
		rc = sb_boxkey_from_secret(&k->box, buf + 5 + nlen + 32);
	if (rc) {
		sb_device_keys_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

/* Fills v's keys and secrets from a keys message. */
static int keys_unpack(struct sb_vault *v, const uint8_t *buf, size_t len)
{
	size_t nlen;
	int rc;

	if (len < 5 || memcmp(buf, KEYS_MAGIC, 4))
		return sb_err_set(-EPROTO, "bad keys message");
	nlen = buf[4];
	if (nlen > SB_DEVICE_NAME_MAX || len < 5 + nlen + 64)
		return sb_err_set(-EPROTO, "bad keys message");
	rc = keys_device(&v->keys, buf, nlen);
	if (!rc)
		rc = sb_secrets_parse(&v->secrets, buf + 5 + nlen + 64,
				      len - 5 - nlen - 64);
	return rc;
}

/* The daemon's vault: opened here, its keys from the parent on fd. */
static int daemon_unlock(struct sb_vault **out, const char *path, int fd)
{
	struct sb_vault *v = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = keys_read(&buf, &len, fd);

	if (rc)
		return sb_error("cannot read the keys from the parent: %s",
				strerror(-rc));
	rc = sb_vault_open(&v, path);
	if (!rc)
		rc = keys_unpack(v, buf, len);
	sb_secure_free(buf, KEYS_MAX);
	if (rc) {
		sb_vault_free(v);
		return sb_error("%s", sb_err_msg(rc));
	}
	*out = v;
	return 0;
}

/* --- the daemon ----------------------------------------------------------- */

/*
 * Serves the mounted file system until it is unmounted: everything the
 * daemon does while mounted starts here (v: the unlocked vault, kept for
 * whatever runs next to the file system).
 */
/*
 * The daemon's one serve path: the sync service (cmd/syncd.h: watcher,
 * commits, fetch and push, control socket) runs beside the file system
 * and ends after it, with a last sync of what is pending.
 */
/*
 * Unmounted: the last sync runs with the default action of SIGTERM,
 * SIGINT and SIGHUP ignored (the file system's handlers are gone), or the
 * SIGTERM `sealbox umount` sends once the kernel has let go of the mount
 * would kill it halfway through a commit. kill -9 still ends it.
 */
static void last_sync_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int daemon_serve(struct sb_fs *fs, struct sb_store *st,
			struct sb_vault *v, const struct mount_opts *o,
			const char *mnt)
{
	struct sb_syncd *sd = NULL;
	int rc;

	rc = sb_syncd_open(&sd, v, st);
	if (rc)
		return sb_error("cannot start syncing %s: %s", v->path,
				sb_err_msg(rc));
	if (sb_syncd_start(sd, fs)) {
		sb_syncd_close(sd);
		return 1;
	}
	rc = pidfile_write(v->path, mnt);
	if (rc)
		sb_error("cannot write %s/%s: %s", v->path, PIDFILE,
			 sb_err_str(rc));
	signal_ready(o->ready_fd);
	rc = sb_fs_run(fs);
	last_sync_signals();
	sb_syncd_stop(sd);
	sb_syncd_close(sd);
	pidfile_remove(v->path);
	return rc ? 1 : 0;
}

static int serve(const struct mount_opts *o)
{
	struct sb_fs_config cfg = { o->ready_fd >= 0, o->debug };
	char mnt[PATH_MAX];
	struct sb_store *st = NULL;
	struct sb_vault *v = NULL;
	struct sb_fs *fs = NULL;
	pid_t other;
	int rc;

	if (!realpath(o->mnt, mnt))
		return sb_error("%s: %s", o->mnt, strerror(errno));
	if (o->keys_fd >= 0 ? daemon_unlock(&v, o->vault, o->keys_fd) :
	    sb_cmd_unlock(&v, o->vault, &o->pass))
		return 1;
	other = pidfile_read(v->path);
	if (other) {
		rc = sb_error("%s is already mounted (daemon pid %ld); "
			      "sealbox umount it first", v->path, (long)other);
		sb_vault_free(v);
		return rc;
	}
	rc = sb_store_open(&st, v->path, v->secrets);
	if (!rc)
		rc = sb_fs_new(&fs, st, mnt, o->opts[0] ? o->opts : NULL, &cfg);
	if (rc) {
		sb_error("cannot mount %s on %s: %s", v->path, mnt,
			 sb_err_msg(rc));
		sb_store_free(st);
		sb_vault_free(v);
		return 1;
	}
	rc = daemon_serve(fs, st, v, o, mnt);
	sb_fs_free(fs);
	sb_store_free(st);
	sb_vault_free(v);
	return rc;
}

/* --- the parent ----------------------------------------------------------- */

/* Builds the daemon's command line. */
static void daemon_argv(char **av, char *kfd, char *rfd,
			const struct mount_opts *o)
{
	int i = 0;

	av[i++] = "sealbox";
	av[i++] = "mount";
	av[i++] = "-f";
	av[i++] = "--keys-fd";
	av[i++] = kfd;
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

static void exec_daemon(int keys_fd, int ready_fd, const struct mount_opts *o)
{
	char kfd[16], rfd[16], *av[16];

	snprintf(kfd, sizeof(kfd), "%d", keys_fd);
	snprintf(rfd, sizeof(rfd), "%d", ready_fd);
	daemon_argv(av, kfd, rfd, o);
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

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Hands the keys to the daemon and wipes them here. */
static int send_keys(int fd, struct sb_vault *v)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = keys_pack(&buf, &len, v);

	sb_vault_free(v);
	if (rc) {
		close(fd);
		return sb_error("cannot pack the keys: %s", sb_err_msg(rc));
	}
	rc = write_all(fd, buf, len);
	sb_secure_free(buf, len);
	close(fd);
	return rc ? sb_error("cannot hand the keys to the daemon") : 0;
}

static int spawn(const struct mount_opts *o)
{
	struct sb_vault *v = NULL;
	int kp[2], rp[2], rc;
	pid_t pid;

	if (sb_cmd_unlock(&v, o->vault, &o->pass))
		return 1;
	if (pipe2(kp, O_CLOEXEC) || pipe2(rp, O_CLOEXEC)) {
		sb_vault_free(v);
		return sb_error("pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		sb_vault_free(v);
		return sb_error("fork: %s", strerror(errno));
	}
	if (!pid) {
		/* The daemon's ends survive exec; the keys in this copy of
		 * the parent's memory go with the exec. */
		close(kp[1]);
		close(rp[0]);
		if (fcntl(kp[0], F_SETFD, 0) || fcntl(rp[1], F_SETFD, 0))
			_exit(127);
		exec_daemon(kp[0], rp[1], o);
	}
	close(kp[0]);
	close(rp[1]);
	rc = send_keys(kp[1], v);
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
	o.keys_fd = -1;
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

/* The vault (fsname) of the sealbox mount at mnt, into vault; its FUSE
 * connection number (the device minor) into *conn. */
static int find_mount(char *vault, size_t size, const char *mnt,
		      unsigned *conn)
{
	unsigned major, minor;
	char line[3 * PATH_MAX], point[PATH_MAX], type[64], src[PATH_MAX];
	const char *sep;
	int found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %u:%u %*s %4095s", &major,
				   &minor, point) != 3 ||
		    sscanf(sep + 3, "%63s %4095s", type, src) != 2)
			continue;
		unescape(point);
		unescape(src);
		if (strcmp(point, mnt) || strcmp(type, "fuse.sealbox"))
			continue;
		snprintf(vault, size, "%s", src);
		*conn = minor;
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

/*
 * Unmounts, retrying EBUSY for a moment: a process that has just exited
 * (or closed its last file) may still hold the mount until the kernel has
 * finished releasing its files.
 */
static int unmount_busy_retry(const char *mnt)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int rc, tries;

	for (tries = 0;; tries++) {
		rc = do_unmount(mnt, 0);
		if (rc != -EBUSY || tries == UMOUNT_BUSY_TRIES)
			return rc;
		nanosleep(&ts, NULL);
	}
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

/*
 * The daemon is gone (or a zombie that cannot finish exiting: a thread
 * killed while the kernel held it in a cache invalidation waits for a
 * request no one will answer): abort its FUSE connection so that every
 * process waiting on the mount gets ENOTCONN. Best effort (fusectl may
 * not be mounted, or we may not be allowed).
 */
static void abort_conn(unsigned conn)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 conn);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = write(fd, "1", 1);
	(void)n;	/* nothing more to try */
	close(fd);
}

int sb_cmd_umount(int argc, char **argv)
{
	char mnt[PATH_MAX], vault[PATH_MAX];
	unsigned conn = 0;
	pid_t pid;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return sb_usage(umount_usage);
	rc = canonical_mnt(mnt, argv[1]);
	if (rc)
		return sb_error("%s: %s", argv[1], strerror(-rc));
	if (!find_mount(vault, sizeof(vault), mnt, &conn))
		return sb_error("%s is not a sealbox mount", mnt);
	pid = pidfile_read(vault);
	if (!pid)
		abort_conn(conn);
	rc = unmount_busy_retry(mnt);
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

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "crypto/crypto.h"

#define PASS_MAX 1024

/* Reads one line (without its newline) from fd into buf. */
static int read_line(int fd, char *buf, size_t *len)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0 || c == '\n')
			break;
		if (n == PASS_MAX)
			return -E2BIG;
		buf[n++] = c;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return 0;
}

static int read_tty(char *buf, size_t *len, const char *prompt)
{
	struct termios old, noecho;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return sb_error("no terminal to ask for the passphrase; "
				"use --passphrase-file or --passphrase-fd");
	if (write(fd, prompt, strlen(prompt)) < 0 || tcgetattr(fd, &old)) {
		close(fd);
		return sb_error("cannot use the terminal: %s", strerror(errno));
	}
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fd, TCSAFLUSH, &noecho);
	rc = read_line(fd, buf, len);
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = rc ? rc : -errno;
	close(fd);
	return rc ? sb_error("cannot read the passphrase: %s", strerror(-rc)) : 0;
}

static int read_source(char *buf, size_t *len, const struct sb_pass_src *src)
{
	int fd = src->fd, rc;

	if (src->file &&
	    (fd = open(src->file, O_RDONLY | O_CLOEXEC)) < 0)
		return sb_error("cannot open passphrase file %s: %s", src->file,
				strerror(errno));
	rc = read_line(fd, buf, len);
	if (src->file)
		close(fd);
	if (rc)
		return sb_error("cannot read the passphrase: %s", strerror(-rc));
	return 0;
}

static int confirm_tty(const char *first, size_t len)
{
	char *again = sb_secure_alloc(PASS_MAX + 1);
	size_t alen = 0;
	int rc;

	if (!again)
		return sb_error("out of secure memory");
	rc = read_tty(again, &alen, "Repeat the passphrase: ");
	if (!rc && (alen != len || !sb_memeq(again, first, len)))
		rc = sb_error("the passphrases do not match; nothing was changed");
	sb_secure_free(again, PASS_MAX + 1);
	return rc;
}

int sb_pass_read(char **pass, size_t *len, const struct sb_pass_src *src,
		 const char *prompt, int confirm)
{
	char *buf = sb_secure_alloc(PASS_MAX + 1);
	int tty = !src->file && src->fd < 0, rc;

	if (!buf)
		return sb_error("out of secure memory");
	rc = tty ? read_tty(buf, len, prompt) : read_source(buf, len, src);
	if (!rc && *len == 0)
		rc = sb_error("the passphrase is empty");
	if (!rc && tty && confirm)
		rc = confirm_tty(buf, *len);
	if (rc) {
		sb_secure_free(buf, PASS_MAX + 1);
		return rc;
	}
	*pass = buf;
	return 0;
}

void sb_pass_free(char *pass, size_t len)
{
	(void)len;
	sb_secure_free(pass, PASS_MAX + 1);
}

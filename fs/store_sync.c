#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "fs/backing.h"

/* The store's keys and names for sync/ (fs/store.h, "For sync/"). */

int sb_store_unseal(struct sb_store *st, uint8_t **out, size_t *outlen,
		    struct sb_meta *meta, const void *in, size_t inlen)
{
	uint8_t *plain = NULL, *res;
	size_t plen = 0;
	int rc;

	rc = sb_content_unseal(&plain, &plen, meta, st->keys, in, inlen);
	if (rc)
		return rc;
	res = malloc(plen + 1);
	if (res) {
		memcpy(res, plain, plen);
		res[plen] = '\0';
		*out = res;
		*outlen = plen;
	}
	sb_wipe(plain, plen);
	free(plain);
	return res ? 0 : -ENOMEM;
}

int sb_store_seal(struct sb_store *st, uint8_t **out, size_t *outlen,
		  const struct sb_meta *meta, const void *plain, size_t len)
{
	return sb_content_seal(out, outlen, st->keys, meta, plain, len);
}

int sb_store_header_meta(struct sb_store *st, struct sb_meta *meta,
			 const void *buf, size_t len)
{
	struct sb_cfile *f = NULL;
	int rc;

	if (len < SB_CONTENT_HEADER)
		return sb_err_set(SB_EFORMAT, "content file too short");
	rc = sb_cfile_open(&f, st->keys, buf, meta);
	sb_cfile_free(f);
	return rc;
}

int sb_store_backing_meta(struct sb_store *st, struct sb_meta *meta,
			  const char *backing)
{
	uint8_t hdr[SB_CONTENT_HEADER];
	ssize_t n;
	int fd, rc;

	fd = openat(st->rootfd, backing, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, hdr, sizeof(hdr), 0);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (!rc)
		rc = sb_store_header_meta(st, meta, hdr, (size_t)n);
	return rc;
}

/* One backing name of the directory id into name, as sb_bname_read(). */
static int name_with(struct sb_store *st, char *name, size_t *len,
		     const uint8_t id[SB_DIRID_LEN], const char *dir,
		     const char *comp, sb_store_sidecar_fn fn, void *ctx)
{
	char enc[SB_NAMES_ENC_MAX + 1], sc[PATH_MAX + 4];
	int n;

	switch (sb_names_kind(comp)) {
	case SB_NAME_SHORT:
		return sb_names_decrypt(st->names, name, len, id, comp,
					strlen(comp));
	case SB_NAME_LONG:
		break;
	case SB_NAME_INVALID:
		return sb_err_set(SB_EFORMAT, "not an encrypted name");
	default:
		return -EINVAL;
	}
	n = strcmp(dir, ".") ? snprintf(sc, sizeof(sc), "%s/%s.n", dir, comp)
			     : snprintf(sc, sizeof(sc), "%s.n", comp);
	if (n < 0 || (size_t)n >= sizeof(sc))
		return -ENAMETOOLONG;
	n = fn(enc, sizeof(enc), sc, ctx);
	if (n == -ENOENT)
		return sb_err_set(SB_EFORMAT, "long name without its sidecar");
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(enc))
		return sb_err_set(SB_EFORMAT, "sidecar too long");
	enc[n] = '\0';
	if ((n = sb_names_check_long(comp, enc, (size_t)n)))
		return n;
	return sb_names_decrypt(st->names, name, len, id, enc, strlen(enc));
}

int sb_store_plain_path_with(struct sb_store *st, char *buf, size_t size,
			     const char *backing, sb_store_sidecar_fn fn,
			     void *ctx)
{
	char dir[PATH_MAX] = ".", comp[SB_BNAME_MAX], name[SB_NAME_MAX + 1];
	char tmp[PATH_MAX];
	const char *p = backing;
	uint8_t id[SB_DIRID_LEN], next[SB_DIRID_LEN];
	size_t len, nlen, used = 0;
	int rc = 0;

	sb_names_root_id(id);
	if (!size)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	while (!rc && *p) {
		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (!len)
			break;
		if (len >= sizeof(comp))
			return -EINVAL;
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		rc = name_with(st, name, &nlen, id, dir, comp, fn, ctx);
		if (!rc && used + nlen + 2 > size)
			rc = -ENAMETOOLONG;
		if (rc)
			break;
		if (used)
			buf[used++] = '/';
		memcpy(buf + used, name, nlen + 1);
		used += nlen;
		rc = sb_names_dirid(st->names, next, id, name, nlen);
		memcpy(id, next, SB_DIRID_LEN);
		memcpy(tmp, dir, sizeof(tmp));
		if (!rc)
			rc = sb_path_join(dir, sizeof(dir), tmp, comp);
	}
	return rc;
}

/* The directory ID of the plaintext directory path (len bytes). */
static int dir_id(struct sb_store *st, uint8_t id[SB_DIRID_LEN],
		  const char *path, size_t len)
{
	uint8_t next[SB_DIRID_LEN];
	const char *p = path, *end = path + len;
	size_t n;
	int rc;

	sb_names_root_id(id);
	while (p < end) {
		if (*p == '/') {
			p++;
			continue;
		}
		for (n = 0; p + n < end && p[n] != '/'; n++)
			;
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if ((rc = sb_names_dirid(st->names, next, id, p, n)))
			return rc;
		memcpy(id, next, SB_DIRID_LEN);
		p += n;
	}
	return 0;
}

int sb_store_sidecar_name(struct sb_store *st, char *enc, const char *path)
{
	char bname[SB_BNAME_MAX];
	uint8_t id[SB_DIRID_LEN];
	const char *base;
	size_t len = strlen(path);
	int rc;

	while (len && path[len - 1] == '/')
		len--;
	base = memrchr(path, '/', len);
	base = base ? base + 1 : path;
	if (base == path + len)
		return -EINVAL;
	rc = dir_id(st, id, path, (size_t)(base - path));
	if (!rc)
		rc = sb_bname_make(st, bname, enc, id, base,
				   len - (size_t)(base - path));
	return rc;
}

int sb_store_rmdir_backing(struct sb_store *st, const char *backing)
{
	int rc = sb_store_clear_dir(st, backing);

	if (!rc && unlinkat(st->rootfd, backing, AT_REMOVEDIR))
		rc = -errno;
	return rc;
}

int sb_store_check_target(struct sb_store *st, const void *enc, size_t len)
{
	char target[SB_SYMLINK_MAX + 1];
	size_t tlen = 0;
	int rc;

	if (!len || len >= SB_SYMLINK_ENC_MAX || memchr(enc, '\0', len))
		return sb_err_set(SB_EFORMAT, "not an encrypted symlink target");
	rc = sb_names_decrypt_target(st->names, target, &tlen, enc, len);
	sb_wipe(target, sizeof(target));
	return rc;
}

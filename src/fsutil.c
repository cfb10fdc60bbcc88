/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fsutil.c - atomic replacement and bounded reads of files. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

void
fsutil_dirname(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL) {
		snprintf(out, n, ".");
		return;
	}
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= n)
		len = n - 1;
	memcpy(out, path, len);
	out[len] = '\0';
}

int
fsutil_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int
write_replace(int dirfd, const char *name, const void *buf, size_t len,
    mode_t mode, uid_t uid, gid_t gid, bool durable)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	unsigned char rnd[6];
	int fd = -1, dfd, saved, tries;

	/* O_EXCL on a random name: mkstemp, but relative to dirfd. */
	for (tries = 0; tries < 16 && fd < 0; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		if (snprintf(tmp, sizeof(tmp), "%s.tmp.%02x%02x%02x%02x%02x%02x",
		    name, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) >=
		    (int)sizeof(tmp)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) ||
	    fsutil_write_all(fd, buf, len) < 0 || (durable && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	if (!durable)
		return 0;
	/* The rename is durable only once the directory is. */
	if (dirfd == AT_FDCWD) {
		fsutil_dirname(name, dir, sizeof(dir));
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	} else
		(void)fsync(dirfd);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

int
fsutil_write_atomic_at(int dirfd, const char *name, const void *buf,
    size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	return write_replace(dirfd, name, buf, len, mode, uid, gid, true);
}

int
fsutil_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, uid_t uid, gid_t gid)
{
	return write_replace(AT_FDCWD, path, buf, len, mode, uid, gid, true);
}

int
fsutil_replace(const char *path, const void *buf, size_t len, mode_t mode)
{
	return write_replace(AT_FDCWD, path, buf, len, mode, (uid_t)-1,
	    (gid_t)-1, false);
}

int
fsutil_read_fd(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t cap, used = 0;
	char *buf;

	if (fstat(fd, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap);
	if (buf == NULL)
		return -1;
	for (;;) {
		ssize_t r;

		if (used + 1 >= cap) {
			char *nb;

			if (cap > max + 1) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		r = read(fd, buf + used, cap - used - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		used += (size_t)r;
		if (used > max) {
			free(buf);
			errno = EFBIG;
			return -1;
		}
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	return 0;
}

int
fsutil_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd, rc, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	rc = fsutil_read_fd(fd, max, out, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
fsutil_mkdir(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

void
fsutil_clean_temps(const char *path)
{
	char dir[PATH_MAX], prefix[PATH_MAX], full[PATH_MAX];
	const char *base = strrchr(path, '/');
	struct dirent *de;
	DIR *d;
	size_t plen;

	base = base ? base + 1 : path;
	fsutil_dirname(path, dir, sizeof(dir));
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s.tmp.", base);
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		if (snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) <
		    (int)sizeof(full))
			unlink(full);
	}
	closedir(d);
}

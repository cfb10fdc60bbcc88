/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fsutil.h - files that survive a crash at any instant.
 */
#ifndef SLUICE_FSUTIL_H
#define SLUICE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replace path with buf: write a temporary file in the same directory
 * with its final mode and owner (uid/gid (uid_t)-1/(gid_t)-1 = leave),
 * fsync it, rename it over path, fsync the directory.  A crash at any
 * moment leaves either the old or the new file, never a torn one or one
 * its readers cannot open.  Returns 0 or -1 (errno); the temporary file
 * is removed on failure.
 */
int fsutil_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, uid_t uid, gid_t gid);
/* The same relative to an open directory (AT_FDCWD: the current one);
 * name must not contain a slash unless dirfd is AT_FDCWD.  Nothing is
 * followed through a symbolic link. */
int fsutil_write_atomic_at(int dirfd, const char *name, const void *buf,
    size_t len, mode_t mode, uid_t uid, gid_t gid);

/*
 * Replace path with buf (temporary file and rename, so readers see the
 * old or the new content) without fsync: for state the engine's loop
 * writes, where a stall on a slow disk costs more than losing the last
 * change to a power failure.  Never for the policy.  0 or -1 (errno).
 */
int fsutil_replace(const char *path, const void *buf, size_t len, mode_t mode);

/*
 * Read a whole regular file of at most max bytes into a new NUL-terminated
 * buffer.  Returns 0, or -1 with errno (EFBIG when larger than max, checked
 * before reading).  *out and *len are untouched on failure.
 */
int fsutil_read_file(const char *path, size_t max, char **out, size_t *len);

/* Read all of an open fd (at most max bytes), as above. */
int fsutil_read_fd(int fd, size_t max, char **out, size_t *len);

/* write(2) all of buf, retrying on EINTR and short writes.  0 or -1. */
int fsutil_write_all(int fd, const void *buf, size_t len);

/* mkdir with mode unless it exists as a directory.  0 or -1 (errno). */
int fsutil_mkdir(const char *path, mode_t mode);

/* Remove leftovers "<base>.tmp.*" of fsutil_write_atomic in dir. */
void fsutil_clean_temps(const char *path);

/* dirname() into a caller buffer; "." when there is no slash. */
void fsutil_dirname(const char *path, char *out, size_t n);

#endif

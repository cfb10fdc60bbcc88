/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_eventlog_query.c - the event log's readers on stored files, which
 * anyone with write access to the state directory can shape.  The input
 * is split at NUL bytes into events.head, events.log.1 and events.log in
 * a private directory; eventlog_query() and eventlog_verify() read them.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[PATH_MAX];
static const char *names[] = { "events.head", "events.log.1", "events.log" };

static void
cleanup(void)
{
	char path[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void
put(const char *name, const uint8_t *p, size_t n)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		abort();
	if (n > 0 && write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eventlog_filter f = { -1, 0, 0 };
	const uint8_t *p = data, *end = data + size;
	char err[1024];
	uint64_t count;
	json_t *a;
	size_t i;

	if (dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/fuzz_eventlog.XXXXXX",
		    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(cleanup);
	}
	for (i = 0; i < 3; i++) {
		const uint8_t *z =
		    i < 2 ? memchr(p, 0, (size_t)(end - p)) : NULL;
		const uint8_t *stop = z != NULL ? z : end;

		put(names[i], p, (size_t)(stop - p));
		p = z != NULL ? z + 1 : end;
	}
	a = eventlog_query(dir, &f);
	if (a == NULL || !json_is_array(a))
		abort();
	json_decref(a);
	f.group = EVENTLOG_NETWORK;
	f.since = 1;
	f.limit = 2;
	a = eventlog_query(dir, &f);
	if (a == NULL || json_array_size(a) > 2)
		abort();
	json_decref(a);
	if (eventlog_verify(dir, &count, err, sizeof(err)) == 0 &&
	    memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	return 0;
}

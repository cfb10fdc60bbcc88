/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * notify-run - start a daemon under a private NOTIFY_SOCKET and wait for
 * READY=1, the way systemd does, so tests never guess with sleep.
 *
 *   notify-run TIMEOUT_MS PIDFILE -- COMMAND [ARG...]
 *
 * Prints "ready MS" (milliseconds from fork to READY=1) and exits 0 with
 * the daemon left running (its pid in PIDFILE).  Exits 1 if the daemon
 * exits or the timeout passes first; the daemon's own exit status is
 * printed as "exited N".
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	double t0, deadline;
	FILE *pf;
	pid_t pid;
	int fd, status;

	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: notify-run TIMEOUT_MS PIDFILE -- CMD...\n");
		return 2;
	}
	/* Abstract socket: nothing to clean up, no path length trouble. */
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
	    "sluice-test-notify-%ld", (long)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* An abstract name is exactly addrlen long: no trailing NULs. */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(sun.sun_path + 1))) < 0) {
		perror("notify socket");
		return 2;
	}
	snprintf(buf, sizeof(buf), "@%s", sun.sun_path + 1);
	setenv("NOTIFY_SOCKET", buf, 1);
	t0 = now_ms();
	deadline = t0 + atof(argv[1]);
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		/* Our stdout is often a $(...) pipe: the daemon must not hold it. */
		dup2(2, 1);
		execvp(argv[4], argv + 4);
		perror(argv[4]);
		_exit(127);
	}
	pf = fopen(argv[2], "w");
	if (pf != NULL) {
		fprintf(pf, "%ld\n", (long)pid);
		fclose(pf);
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		double left = deadline - now_ms();
		ssize_t n;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			printf("exited %d\n", WIFEXITED(status) ?
			    WEXITSTATUS(status) : 128 + WTERMSIG(status));
			return 1;
		}
		if (left <= 0) {
			printf("timeout\n");
			return 1;
		}
		/* Wake at least every 50 ms to notice an early exit. */
		if (poll(&p, 1, left > 50 ? 50 : (int)left + 1) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, "READY=1") != NULL) {
			printf("ready %.1f\n", now_ms() - t0);
			return 0;
		}
	}
}

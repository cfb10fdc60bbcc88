/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * modbus-server.c - the yardstick for agent mode (test/bench/agent.sh):
 * a Modbus TCP server built the way libmodbus' own examples build one
 * (tests/bandwidth-server-many-up.c, random-test-server.c): one thread,
 * modbus_tcp_listen(), a select() loop over every client, and
 * modbus_receive() + modbus_reply() on a modbus_mapping_t held in
 * memory.  That is what a master gets from a plain libmodbus server
 * answering from RAM, which is what sluice's agent does too.
 *
 *   modbus-server [--bind ADDR] [--port N] [--ready-file F]
 *
 * Holding registers 0-99, registers 0-9 holding 0-9 (what
 * contrib/sluice-modbus-sim answers there, so both servers send the same
 * bytes); no coils or input tables.  --port 0 (the default) takes a free
 * port; F then receives it, one line, written whole (rename).  Every
 * unit id is answered: libmodbus' TCP backend does not look at it.
 * SIGTERM or SIGINT ends it with exit 0; 1 is a start-up failure, 64 a
 * usage error.
 *
 * Clients: up to SERVER_MAX_CLIENTS.  libmodbus waits for the rest of a
 * frame with select() on the client's descriptor itself, so a descriptor
 * at or above FD_SETSIZE would overrun its fd_set: such a connection is
 * closed at once, whatever the count, and the shell's open-files limit
 * must leave room below FD_SETSIZE (it does: 1024 - 4 in use = 1020).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus/modbus.h>

#define SERVER_EXIT_USAGE	64
#define SERVER_MAX_CLIENTS	1024
#define SERVER_REGISTERS	100
#define SERVER_FILLED		10	/* registers 0..9 = 0..9 */
#define SERVER_BACKLOG		1024

static volatile sig_atomic_t server_stop;

static void
server_on_signal(int sig)
{
	(void)sig;
	server_stop = 1;
}

/*
 * SIGTERM and SIGINT stay blocked except inside pselect(), so a signal
 * that comes while a request is served ends the next wait instead of
 * being lost between the flag test and the wait.  *waitmask gets the
 * mask pselect() runs with.
 */
static int
server_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = server_on_signal;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	/* A client gone before its answer is no reason to exit. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	return sigprocmask(SIG_BLOCK, &block, waitmask);
}

/* Replace path with the port on one line, so a waiting script never
 * reads it half written. */
static int
server_ready(const char *path, unsigned port)
{
	char tmp[PATH_MAX];
	FILE *f;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) == EOF || rename(tmp, path) == -1) {
		n = errno;
		unlink(tmp);
		errno = n;
		return -1;
	}
	return 0;
}

static int
server_usage(void)
{
	fputs("usage: modbus-server [--bind ADDR] [--port N]"
	    " [--ready-file F]\n"
	    "  --bind ADDR       IPv4 address to listen on (127.0.0.1)\n"
	    "  --port N          TCP port, 0 = any free one (0)\n"
	    "  --ready-file F    write the port to F once listening\n",
	    stderr);
	return SERVER_EXIT_USAGE;
}

/* One request from fd, answered; -1 when the client is to be closed. */
static int
server_serve(modbus_t *ctx, modbus_mapping_t *map, int fd)
{
	uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
	int n;

	modbus_set_socket(ctx, fd);
	n = modbus_receive(ctx, req);
	if (n > 0)
		n = modbus_reply(ctx, req, n, map);
	return n == -1 ? -1 : 0;
}

static void
server_loop(modbus_t *ctx, modbus_mapping_t *map, int lfd,
    const sigset_t *waitmask)
{
	fd_set all, rd;
	int maxfd = lfd, nclients = 0, fd, cfd, n;

	FD_ZERO(&all);
	FD_SET(lfd, &all);
	while (!server_stop) {
		rd = all;
		n = pselect(maxfd + 1, &rd, NULL, NULL, NULL, waitmask);
		if (n == -1) {
			if (errno != EINTR) {
				perror("modbus-server: pselect");
				return;
			}
			continue;
		}
		for (fd = 0; fd <= maxfd && n > 0; fd++) {
			if (!FD_ISSET(fd, &rd))
				continue;
			n--;
			if (fd != lfd) {
				if (server_serve(ctx, map, fd) == -1) {
					close(fd);
					FD_CLR(fd, &all);
					nclients--;
				}
				continue;
			}
			cfd = accept(lfd, NULL, NULL);
			if (cfd == -1)
				continue;	/* gone already, or EMFILE */
			if (cfd >= FD_SETSIZE || nclients >= SERVER_MAX_CLIENTS) {
				close(cfd);
				continue;
			}
			FD_SET(cfd, &all);
			nclients++;
			if (cfd > maxfd)
				maxfd = cfd;
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bind_addr = "127.0.0.1", *ready = NULL;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	modbus_mapping_t *map;
	modbus_t *ctx;
	sigset_t waitmask;
	long port = 0;
	char *end;
	int c, lfd, i;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bind_addr = optarg;
			break;
		case 'p':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    port < 0 || port > 65535)
				return server_usage();
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			return server_usage();
		}
	}
	if (optind != argc)
		return server_usage();
	if (server_signals(&waitmask) == -1) {
		perror("modbus-server: signals");
		return 1;
	}
	if ((ctx = modbus_new_tcp(bind_addr, (int)port)) == NULL) {
		fprintf(stderr, "modbus-server: %s\n", modbus_strerror(errno));
		return 1;
	}
	map = modbus_mapping_new(0, 0, SERVER_REGISTERS, 0);
	if (map == NULL) {
		fprintf(stderr, "modbus-server: %s\n", modbus_strerror(errno));
		modbus_free(ctx);
		return 1;
	}
	for (i = 0; i < SERVER_FILLED; i++)
		map->tab_registers[i] = (uint16_t)i;
	lfd = modbus_tcp_listen(ctx, SERVER_BACKLOG);
	if (lfd == -1 || getsockname(lfd, (struct sockaddr *)&sin,
	    &slen) == -1 || (ready != NULL &&
	    server_ready(ready, ntohs(sin.sin_port)) == -1)) {
		fprintf(stderr, "modbus-server: %s:%ld: %s\n", bind_addr, port,
		    modbus_strerror(errno));
		if (lfd != -1)
			close(lfd);
		modbus_mapping_free(map);
		modbus_free(ctx);
		return 1;
	}
	server_loop(ctx, map, lfd, &waitmask);
	/* The clients' descriptors go with the process. */
	close(lfd);
	modbus_mapping_free(map);
	modbus_free(ctx);
	return 0;
}

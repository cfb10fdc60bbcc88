/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_priv.c - the monitor's message checks: whatever the engine sends,
 * priv_recv() either returns a well-formed message or EBADMSG. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "priv.h"

static int sv[2];

static int
setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
}

static int
teardown(void **state)
{
	(void)state;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static int
recv_one(int *fd)
{
	union priv_buf u;
	struct priv_hdr *hdr;
	void *body;

	return priv_recv(sv[1], &u, &hdr, &body, fd);
}

static void
test_valid(void **state)
{
	struct priv_notify n = { "READY=1" };
	union priv_buf u;
	struct priv_hdr *hdr;
	void *body;
	int fd;

	(void)state;
	assert_int_equal(priv_send(sv[0], PRIV_NOTIFY, 7, &n, sizeof(n), -1), 0);
	assert_int_equal(priv_recv(sv[1], &u, &hdr, &body, &fd), 1);
	assert_int_equal(hdr->type, PRIV_NOTIFY);
	assert_int_equal(hdr->id, 7);
	assert_int_equal(fd, -1);
	assert_string_equal(((struct priv_notify *)body)->state, "READY=1");
}

static void
test_fd_passing(void **state)
{
	int p[2], fd = -1;
	char c = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(priv_send(sv[0], PRIV_WRITE_POLICY, 1, NULL, 0, p[0]), 0);
	assert_int_equal(recv_one(&fd), 1);
	assert_true(fd >= 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'x');
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(p[0]);
	close(p[1]);
}

/* Raw packets the engine could send if it were compromised. */
static void
test_malformed(void **state)
{
	struct {
		struct priv_hdr h;
		char body[PRIV_MAX_BODY + 64];
	} m;
	size_t sizes[] = {
		0, 3, sizeof(struct priv_hdr) - 1,
	};
	size_t i;
	int fd;

	(void)state;
	memset(&m, 0, sizeof(m));
	/* Shorter than a header. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i] == 0)
			continue;   /* a zero-length packet reads as EOF */
		assert_int_equal(send(sv[0], &m, sizes[i], 0), (ssize_t)sizes[i]);
		assert_int_equal(recv_one(&fd), -1);
		assert_int_equal(errno, EBADMSG);
	}
	/* Bad magic. */
	m.h = (struct priv_hdr){ 0x12345678, PRIV_PING, 1, 0 };
	send(sv[0], &m, sizeof(m.h), 0);
	assert_int_equal(recv_one(&fd), -1);
	assert_int_equal(errno, EBADMSG);
	/* Unknown type. */
	m.h = (struct priv_hdr){ PRIV_MAGIC, 9999, 1, 0 };
	send(sv[0], &m, sizeof(m.h), 0);
	assert_int_equal(recv_one(&fd), -1);
	/* Declared length differs from the type's. */
	m.h = (struct priv_hdr){ PRIV_MAGIC, PRIV_NOTIFY, 1, 10 };
	send(sv[0], &m, sizeof(m.h) + 10, 0);
	assert_int_equal(recv_one(&fd), -1);
	/* Declared length right, packet short. */
	m.h = (struct priv_hdr){ PRIV_MAGIC, PRIV_NOTIFY, 1,
	    sizeof(struct priv_notify) };
	send(sv[0], &m, sizeof(m.h) + 5, 0);
	assert_int_equal(recv_one(&fd), -1);
	/* Packet longer than any message: truncated, rejected. */
	m.h = (struct priv_hdr){ PRIV_MAGIC, PRIV_VERIFY_PASSWORD, 1,
	    sizeof(struct priv_verify) };
	send(sv[0], &m, sizeof(m), 0);
	assert_int_equal(recv_one(&fd), -1);
	assert_int_equal(errno, EBADMSG);
	/* After all that, a good message still goes through. */
	assert_int_equal(priv_send(sv[0], PRIV_PING, 2, NULL, 0, -1), 0);
	assert_int_equal(recv_one(&fd), 1);
}

static void
test_two_fds_rejected(void **state)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct priv_hdr h = { PRIV_MAGIC, PRIV_WRITE_POLICY, 1, 0 };
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	int fds[2] = { 0, 1 }, fd;

	(void)state;
	memset(&cm, 0, sizeof(cm));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(sv[0], &msg, 0), (ssize_t)sizeof(h));
	assert_int_equal(recv_one(&fd), -1);
	assert_int_equal(errno, EBADMSG);
}

/* The serial-device request: exactly its size, or the engine goes. */
static void
test_open_device(void **state)
{
	struct {
		struct priv_hdr h;
		struct priv_open_device d;
	} m;
	union priv_buf u;
	struct priv_hdr *hdr;
	void *body;
	int fd;

	(void)state;
	memset(&m, 0, sizeof(m));
	strcpy(m.d.path, "/dev/ttyS1");
	assert_int_equal(priv_send(sv[0], PRIV_OPEN_DEVICE, 3, &m.d,
	    sizeof(m.d), -1), 0);
	assert_int_equal(priv_recv(sv[1], &u, &hdr, &body, &fd), 1);
	assert_int_equal(hdr->type, PRIV_OPEN_DEVICE);
	assert_string_equal(((struct priv_open_device *)body)->path,
	    "/dev/ttyS1");

	m.h = (struct priv_hdr){ PRIV_MAGIC, PRIV_OPEN_DEVICE, 4,
	    sizeof(m.d) - 1 };
	send(sv[0], &m, sizeof(m) - 1, 0);
	assert_int_equal(recv_one(&fd), -1);
	assert_int_equal(errno, EBADMSG);
	m.h.len = sizeof(m.d) + 1;
	send(sv[0], &m, sizeof(m), 0);
	assert_int_equal(recv_one(&fd), -1);
	assert_int_equal(errno, EBADMSG);
}

static void
test_sizes(void **state)
{
	(void)state;
	assert_int_equal(priv_body_size(PRIV_PING), 0);
	assert_int_equal(priv_body_size(PRIV_HASH_PASSWORD), sizeof(struct priv_hash));
	assert_int_equal(priv_body_size(0), -1);
	assert_true(PRIV_MAX_BODY >= sizeof(struct priv_hash));
	assert_true(PRIV_MAX_BODY >= sizeof(struct priv_reply_hash));
	assert_int_equal(priv_body_size(PRIV_OPEN_DEVICE),
	    sizeof(struct priv_open_device));
	assert_int_equal(sizeof(struct priv_open_device), 256);
	assert_true(PRIV_MAX_BODY >= sizeof(struct priv_open_device));
	/* Appended: the values the engine and an older monitor agree on. */
	assert_int_equal(PRIV_OPEN_DEVICE, PRIV_FIREWALL_COUNTERS + 1);
	assert_true(PRIV_OPEN_DEVICE < PRIV_REPLY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_passing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_fds_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_device, setup, teardown),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

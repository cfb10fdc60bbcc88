/* SPDX-License-Identifier: GPL-3.0-or-later */
/* priv.c - size-checked messages between engine and monitor. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "priv.h"

_Static_assert(sizeof(struct priv_open_device) <= PRIV_MAX_BODY,
    "PRIV_MAX_BODY must hold every body");

ssize_t
priv_body_size(uint32_t type)
{
	switch (type) {
	case PRIV_PING:
	case PRIV_WRITE_POLICY:
	case PRIV_FIREWALL_APPLY:
	case PRIV_FIREWALL_FLUSH:
	case PRIV_FIREWALL_COUNTERS:
		return 0;
	case PRIV_OPEN_LISTEN:
		return sizeof(struct priv_open_listen);
	case PRIV_OPEN_DEVICE:
		return sizeof(struct priv_open_device);
	case PRIV_WRITE_STATE:
		return sizeof(struct priv_write_state);
	case PRIV_HASH_PASSWORD:
		return sizeof(struct priv_hash);
	case PRIV_VERIFY_PASSWORD:
		return sizeof(struct priv_verify);
	case PRIV_NOTIFY:
		return sizeof(struct priv_notify);
	case PRIV_GENERATE_KEY:
		return sizeof(struct priv_keygen);
	case PRIV_REPLY:
		return sizeof(struct priv_reply);
	case PRIV_REPLY_HASH:
		return sizeof(struct priv_reply_hash);
	default:
		return -1;
	}
}

int
priv_send(int sock, uint32_t type, uint32_t id, const void *body, size_t len,
    int fd)
{
	struct priv_hdr hdr = { PRIV_MAGIC, type, id, (uint32_t)len };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) },
		{ (void *)(uintptr_t)body, len },
	};
	struct msghdr msg = { 0 };
	ssize_t n;

	msg.msg_iov = iov;
	msg.msg_iovlen = len > 0 ? 2 : 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(hdr) + len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
priv_recv(int sock, union priv_buf *buf, struct priv_hdr **hdrp, void **bodyp,
    int *fdp)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov = { buf->bytes, PRIV_MAX_MSG };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	struct priv_hdr *hdr = (struct priv_hdr *)(void *)buf;  /* aligned: a union member */
	ssize_t n, want;
	int fd = -1;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	/* Take every fd that came along, so none leaks on a bad message. */
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t i, nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = f;
			else {
				close(f);
				goto bad;
			}
		}
	}
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n < sizeof(*hdr) || hdr->magic != PRIV_MAGIC)
		goto bad;
	want = priv_body_size(hdr->type);
	if (want < 0 || hdr->len != (uint32_t)want ||
	    (size_t)n != sizeof(*hdr) + (size_t)want)
		goto bad;
	*hdrp = hdr;
	*bodyp = buf->bytes + sizeof(*hdr);
	*fdp = fd;
	return 1;
bad:
	if (fd >= 0)
		close(fd);
	errno = EBADMSG;
	return -1;
}

/* SPDX-License-Identifier: MIT */
/* vhost-user message framing (see message.h). */
#define _GNU_SOURCE
#include "message.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

const char *vu_request_name(uint32_t r)
{
	static const char *const names[] = {
		[VU_GET_FEATURES] = "GET_FEATURES", [VU_SET_FEATURES] = "SET_FEATURES",
		[VU_SET_OWNER] = "SET_OWNER", [VU_RESET_OWNER] = "RESET_OWNER",
		[VU_SET_MEM_TABLE] = "SET_MEM_TABLE", [VU_SET_LOG_BASE] = "SET_LOG_BASE",
		[VU_SET_LOG_FD] = "SET_LOG_FD", [VU_SET_VRING_NUM] = "SET_VRING_NUM",
		[VU_SET_VRING_ADDR] = "SET_VRING_ADDR", [VU_SET_VRING_BASE] = "SET_VRING_BASE",
		[VU_GET_VRING_BASE] = "GET_VRING_BASE", [VU_SET_VRING_KICK] = "SET_VRING_KICK",
		[VU_SET_VRING_CALL] = "SET_VRING_CALL", [VU_SET_VRING_ERR] = "SET_VRING_ERR",
		[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
		[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM", [VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
		[VU_GET_CONFIG] = "GET_CONFIG", [VU_SET_CONFIG] = "SET_CONFIG",
		[VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD", [VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	};
	if (r < sizeof(names) / sizeof(names[0]) && names[r])
		return names[r];
	return "unknown";
}

/* Reads exactly len bytes (the socket has a receive timeout). */
static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = recv(fd, (char *)buf + done, len - done, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Keeps the first VU_MAX_FDS descriptors of the control messages. */
static void take_fds(struct msghdr *mh, int *fds, unsigned *nfds)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < VU_MAX_FDS)
				fds[(*nfds)++] = f;
			else
				close(f);
		}
	}
}

int vu_msg_recv(int fd, struct vu_msg *m, int *fds, unsigned *nfds)
{
	unsigned char hdr[VU_HDR_SIZE];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	*nfds = 0;
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 1;
	if (n < 0)
		return -errno;
	take_fds(&mh, fds, nfds);
	int r = 0;
	if (mh.msg_flags & MSG_CTRUNC)
		r = -EMSGSIZE; /* some descriptors were dropped by the kernel */
	if (r == 0 && (size_t)n < sizeof(hdr))
		r = read_full(fd, hdr + n, sizeof(hdr) - (size_t)n);
	if (r == 0) {
		memcpy(&m->request, hdr, 4);
		memcpy(&m->flags, hdr + 4, 4);
		memcpy(&m->size, hdr + 8, 4);
		if ((m->flags & VU_FLAG_VERSION_MASK) != VU_VERSION || m->size > VU_MAX_PAYLOAD)
			r = -EPROTO;
	}
	if (r == 0)
		r = read_full(fd, m->p, m->size);
	if (r < 0) {
		for (unsigned i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return r;
}

int vu_msg_reply(int fd, uint32_t request, const void *payload, uint32_t size, int send_fd)
{
	unsigned char hdr[VU_HDR_SIZE];
	uint32_t flags = VU_VERSION | VU_FLAG_REPLY;
	if (size > VU_MAX_PAYLOAD)
		return -EMSGSIZE;
	memcpy(hdr, &request, 4);
	memcpy(hdr + 4, &flags, 4);
	memcpy(hdr + 8, &size, 4);
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)(uintptr_t)payload, size } };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	if (send_fd >= 0) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
	}
	size_t len = VU_HDR_SIZE + size, done = 0;
	while (done < len) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
		/* a short send: the rest without the fd, which went with the first byte */
		mh.msg_control = 0;
		mh.msg_controllen = 0;
		size_t skip = (size_t)n;
		while (mh.msg_iovlen && skip >= mh.msg_iov[0].iov_len) {
			skip -= mh.msg_iov[0].iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov[0].iov_base = (char *)mh.msg_iov[0].iov_base + skip;
			mh.msg_iov[0].iov_len -= skip;
		}
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* A vsock connection's state and credit (see vsock_conn.h). */
#define _GNU_SOURCE
#include "vsock_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

void conn_init(struct vsock_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	ev_handler_init(&c->h, 0);
	c->fd = fd;
	c->state = CONN_HANDSHAKE;
	c->buf_alloc = CONN_BUF_ALLOC;
}

void conn_peer_update(struct vsock_conn *c, const struct virtq_vsock_hdr *h)
{
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
}

uint32_t conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t free_bytes = 0;
	/* An inconsistent peer (-VIRTQ_EOVERFLOW) gets nothing until it
	 * announces sane numbers: free_bytes is 0 then. */
	(void)virtq_vsock_peer_credit(c->peer_buf_alloc, c->peer_fwd_cnt, c->tx_cnt, &free_bytes);
	return free_bytes;
}

bool conn_rx_fits(const struct vsock_conn *c, uint32_t len)
{
	uint32_t in_flight = c->rx_cnt - c->fwd_cnt; /* <= buf_alloc, kept by us */
	return in_flight <= c->buf_alloc && len <= c->buf_alloc - in_flight;
}

void conn_fill_hdr(struct vsock_conn *c, struct virtq_vsock_hdr *h, uint64_t guest_cid,
		   uint16_t op, uint32_t flags)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = guest_cid;
	h->src_port = c->local_port;
	h->dst_port = c->peer_port;
	h->type = VIRTQ_VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->buf_alloc = c->buf_alloc;
	h->fwd_cnt = c->fwd_cnt;
	c->fwd_reported = c->fwd_cnt;
}

uint16_t conn_next_owed(const struct vsock_conn *c, uint32_t *flags)
{
	*flags = 0;
	if (c->owed & OWE_RST)
		return VIRTQ_VSOCK_OP_RST; /* supersedes everything else */
	if (c->owed & OWE_REQUEST)
		return VIRTQ_VSOCK_OP_REQUEST;
	if (c->owed & OWE_RESPONSE)
		return VIRTQ_VSOCK_OP_RESPONSE;
	if (c->owed & OWE_CREDIT_UPDATE)
		return VIRTQ_VSOCK_OP_CREDIT_UPDATE;
	if (c->owed & OWE_CREDIT_REQUEST)
		return VIRTQ_VSOCK_OP_CREDIT_REQUEST;
	if (c->owed & OWE_SHUTDOWN) {
		*flags = c->shutdown_flags;
		return VIRTQ_VSOCK_OP_SHUTDOWN;
	}
	return 0;
}

void conn_owed_sent(struct vsock_conn *c, uint16_t op)
{
	switch (op) {
	case VIRTQ_VSOCK_OP_RST: c->owed = 0; break;
	case VIRTQ_VSOCK_OP_REQUEST: c->owed &= ~OWE_REQUEST; break;
	case VIRTQ_VSOCK_OP_RESPONSE: c->owed &= ~OWE_RESPONSE; break;
	case VIRTQ_VSOCK_OP_CREDIT_UPDATE: c->owed &= ~OWE_CREDIT_UPDATE; break;
	case VIRTQ_VSOCK_OP_CREDIT_REQUEST: c->owed &= ~OWE_CREDIT_REQUEST; break;
	case VIRTQ_VSOCK_OP_SHUTDOWN: c->owed &= ~OWE_SHUTDOWN; break;
	default: break;
	}
	/* Any packet carries our credit: an update owed is now done. */
	c->owed &= ~OWE_CREDIT_UPDATE;
}

/* Appends len bytes of segs, skipping the first skip bytes, to the buffer. */
static int buffer_rest(struct vsock_conn *c, const struct virtq_seg *segs, unsigned nseg,
		       size_t skip, size_t len)
{
	if (!c->buf) {
		c->buf = malloc(c->buf_alloc);
		if (!c->buf)
			return -ENOBUFS;
	}
	if (len > c->buf_alloc - c->buf_len)
		return -ENOBUFS; /* cannot happen: conn_rx_fits() was checked */
	for (unsigned i = 0; i < nseg && len > 0; i++) {
		const unsigned char *p = segs[i].addr;
		size_t n = segs[i].len;
		if (skip >= n) {
			skip -= n;
			continue;
		}
		p += skip;
		n -= skip;
		skip = 0;
		if (n > len)
			n = len;
		len -= n;
		while (n > 0) {
			uint32_t tail = (c->buf_head + c->buf_len) % c->buf_alloc;
			size_t k = c->buf_alloc - tail;
			if (k > n)
				k = n;
			memcpy(c->buf + tail, p, k);
			c->buf_len += (uint32_t)k;
			p += k;
			n -= k;
		}
	}
	return 0;
}

static int send_iov(int fd, const struct iovec *iov, size_t n, size_t *sent)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = n };
	ssize_t r;
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		*sent = 0;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	}
	*sent = (size_t)r;
	return 0;
}

int conn_flush(struct vsock_conn *c)
{
	while (c->buf_len > 0) {
		if (c->fd < 0)
			return -EPIPE;
		struct iovec iov[2];
		size_t n = 1, first = c->buf_alloc - c->buf_head;
		if (first >= c->buf_len) {
			first = c->buf_len;
		} else {
			iov[1].iov_base = c->buf;
			iov[1].iov_len = c->buf_len - first;
			n = 2;
		}
		iov[0].iov_base = c->buf + c->buf_head;
		iov[0].iov_len = first;
		size_t sent;
		int r = send_iov(c->fd, iov, n, &sent);
		if (r < 0)
			return r;
		if (sent == 0)
			break;
		c->buf_head = (uint32_t)((c->buf_head + sent) % c->buf_alloc);
		c->buf_len -= (uint32_t)sent;
		c->fwd_cnt += (uint32_t)sent;
	}
	if (c->buf_len == 0 && c->buf) {
		free(c->buf); /* idle connections hold no buffer */
		c->buf = 0;
		c->buf_head = 0;
	}
	return 0;
}

int conn_forward(struct vsock_conn *c, const struct virtq_seg *segs, unsigned nseg,
		 uint32_t len)
{
	size_t sent = 0;
	c->rx_cnt += len;
	if (c->buf_len == 0 && c->fd >= 0) {
		/* struct virtq_seg is layout-compatible with struct iovec */
		int r = send_iov(c->fd, (const struct iovec *)(const void *)segs, nseg, &sent);
		if (r < 0)
			return r;
		c->fwd_cnt += (uint32_t)sent;
	}
	if (sent < len)
		return buffer_rest(c, segs, nseg, sent, len - sent);
	return 0;
}

bool conn_wants_credit_update(const struct vsock_conn *c)
{
	/* The guest believes it may still send buf_alloc - (rx_cnt - fwd_reported)
	 * bytes. Tell it more once that falls below half of buf_alloc and we
	 * have something new to say. */
	uint32_t believed_in_flight = c->rx_cnt - c->fwd_reported;
	return c->fwd_cnt != c->fwd_reported && believed_in_flight >= c->buf_alloc / 2;
}

bool conn_ready_to_send(const struct vsock_conn *c)
{
	if (c->state != CONN_ESTABLISHED || !c->readable || c->host_eof || c->peer_no_recv ||
	    c->fd < 0)
		return false;
	return conn_peer_credit(c) > 0;
}

uint32_t conn_events(const struct vsock_conn *c)
{
	uint32_t ev = 0;
	if (c->fd < 0 || c->hup)
		return 0;
	if (c->state == CONN_HANDSHAKE)
		return EPOLLIN;
	if (c->state == CONN_ESTABLISHED && !c->readable && !c->host_eof && !c->peer_no_recv)
		ev |= EPOLLIN;
	if (c->buf_len > 0)
		ev |= EPOLLOUT;
	return ev;
}

void conn_release(struct vsock_conn *c)
{
	free(c->buf);
	c->buf = 0;
	c->buf_len = 0;
	c->buf_head = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

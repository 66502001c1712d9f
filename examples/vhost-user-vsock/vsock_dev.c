/* SPDX-License-Identifier: MIT */
/* The virtio-vsock device (see vsock_dev.h). */
#define _GNU_SOURCE
#include "vsock_dev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <virtq/virtq.h>
#include <virtq/vsock.h>

#include "host_sock.h"
#include "log.h"
#include "unix_sock.h"

#define BATCH 256u
#define FIRST_LOCAL_PORT (1u << 30)
#define BAD_LOG_MAX 20u

static struct vsock_dev *dev_of(struct vu_dev *vu)
{
	return vu->opaque;
}

static bool ring_running(struct vsock_dev *d, unsigned idx)
{
	return vu_dev_connected(&d->vu) && d->vu.vring[idx].started;
}

static void bad_packet(struct vsock_dev *d, const char *what, int err)
{
	if (d->bad_logged < BAD_LOG_MAX) {
		d->bad_logged++;
		log_info("guest: %s (%s)%s", what, err ? virtq_errname(err) : "protocol",
			 d->bad_logged == BAD_LOG_MAX ? "; not logging more of these" : "");
	}
}

/* ---- connection table and lists ------------------------------------------ */

static unsigned hash(uint32_t local, uint32_t peer)
{
	return (local * 2654435761u ^ peer * 40503u) % VSOCK_HASH;
}

static struct vsock_conn *lookup(struct vsock_dev *d, uint32_t local, uint32_t peer)
{
	for (struct vsock_conn *c = d->table[hash(local, peer)]; c; c = c->hnext)
		if (c->local_port == local && c->peer_port == peer)
			return c;
	return 0;
}

static void table_insert(struct vsock_dev *d, struct vsock_conn *c)
{
	unsigned b = hash(c->local_port, c->peer_port);
	c->hnext = d->table[b];
	d->table[b] = c;
	c->in_table = true;
}

static void table_remove(struct vsock_dev *d, struct vsock_conn *c)
{
	if (!c->in_table)
		return;
	struct vsock_conn **pp = &d->table[hash(c->local_port, c->peer_port)];
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	c->in_table = false;
}

#define LIST_FNS(name, prev, next, flag, head, tail)                                   \
	static void name##_add(struct vsock_dev *d, struct vsock_conn *c)              \
	{                                                                               \
		if (c->flag)                                                           \
			return;                                                        \
		c->prev = d->tail;                                                     \
		c->next = 0;                                                           \
		if (d->tail)                                                           \
			d->tail->next = c;                                             \
		else                                                                   \
			d->head = c;                                                   \
		d->tail = c;                                                           \
		c->flag = true;                                                        \
	}                                                                               \
	static void name##_del(struct vsock_dev *d, struct vsock_conn *c)              \
	{                                                                               \
		if (!c->flag)                                                          \
			return;                                                        \
		if (c->prev)                                                           \
			c->prev->next = c->next;                                       \
		else                                                                   \
			d->head = c->next;                                             \
		if (c->next)                                                           \
			c->next->prev = c->prev;                                       \
		else                                                                   \
			d->tail = c->prev;                                             \
		c->prev = c->next = 0;                                                 \
		c->flag = false;                                                       \
	}
LIST_FNS(ctrl, cprev, cnext, in_ctrl, ctrl_head, ctrl_tail)
LIST_FNS(ready, rprev, rnext, in_ready, ready_head, ready_tail)

static void conn_free(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->state == CONN_DEAD)
		return;
	table_remove(d, c);
	ctrl_del(d, c);
	ready_del(d, c);
	if (c->prev_all)
		c->prev_all->next_all = c->next_all;
	else
		d->all = c->next_all;
	if (c->next_all)
		c->next_all->prev_all = c->prev_all;
	ev_del(d->loop, &c->h);
	conn_release(c);
	c->state = CONN_DEAD;
	c->dead_next = d->dead;
	d->dead = c;
	d->nconns--;
}

void vsock_dev_reap(struct vsock_dev *d)
{
	while (d->dead) {
		struct vsock_conn *c = d->dead;
		d->dead = c->dead_next;
		free(c);
	}
}

static void on_conn_event(struct ev_handler *h, uint32_t events);

static struct vsock_conn *conn_new(struct vsock_dev *d, int fd, enum conn_state st)
{
	if (d->nconns >= VSOCK_MAX_CONNS)
		return 0;
	struct vsock_conn *c = malloc(sizeof(*c));
	if (!c)
		return 0;
	conn_init(c, fd);
	c->h.fn = on_conn_event;
	c->dev = d;
	c->state = st;
	c->next_all = d->all;
	if (d->all)
		d->all->prev_all = c;
	d->all = c;
	d->nconns++;
	if (ev_add(d->loop, &c->h, fd, st == CONN_HANDSHAKE ? EPOLLIN : 0) < 0) {
		c->fd = -1; /* the caller closes fd */
		conn_free(d, c);
		return 0;
	}
	return c;
}

/* Re-derives lists, epoll interest and owed packets from the state. */
static void conn_update(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->state == CONN_DEAD)
		return;
	if (c->closing && c->buf_len == 0 && c->state == CONN_ESTABLISHED) {
		/* The guest closed and everything reached the host: close, RST. */
		ev_del(d->loop, &c->h);
		conn_release(c);
		c->state = CONN_RESETTING;
		c->owed = OWE_RST;
	}
	if (c->state == CONN_ESTABLISHED && c->peer_no_send && c->buf_len == 0 && !c->wr_shut &&
	    c->fd >= 0) {
		(void)shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	if (c->state == CONN_ESTABLISHED && conn_wants_credit_update(c))
		c->owed |= OWE_CREDIT_UPDATE;
	if (c->owed)
		ctrl_add(d, c);
	else
		ctrl_del(d, c);
	if (conn_ready_to_send(c))
		ready_add(d, c);
	else
		ready_del(d, c);
	if (c->h.fd >= 0 && ev_mod(d->loop, &c->h, conn_events(c)) < 0)
		log_info("epoll_ctl failed on a host socket");
}

/* Our side gives up on a connection: close the host socket, tell the guest. */
static void conn_reset(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->state == CONN_HANDSHAKE || c->state == CONN_DEAD) {
		conn_free(d, c);
		return;
	}
	ev_del(d->loop, &c->h);
	conn_release(c);
	ready_del(d, c);
	c->state = CONN_RESETTING;
	c->owed = OWE_RST;
	conn_update(d, c);
}

static void drop_all(struct vsock_dev *d, const char *why)
{
	if (d->all)
		log_debug("dropping %u connections: %s", d->nconns, why);
	while (d->all)
		conn_free(d, d->all);
	d->rst_len = 0;
}

/* An RST for a packet that matches no connection. */
static void rst_reply(struct vsock_dev *d, const struct virtq_vsock_hdr *in)
{
	if (d->rst_len == VSOCK_RST_RING)
		return; /* the guest is not reading its RX queue: drop */
	struct virtq_vsock_hdr *h = &d->rst[(d->rst_head + d->rst_len++) % VSOCK_RST_RING];
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = d->guest_cid;
	h->src_port = in->dst_port;
	h->dst_port = in->src_port;
	h->type = VIRTQ_VSOCK_TYPE_STREAM;
	h->op = VIRTQ_VSOCK_OP_RST;
}

/* ---- RX: device -> guest --------------------------------------------------- */

static bool rx_has_work(const struct vsock_dev *d)
{
	return d->rst_len > 0 || d->ctrl_head || d->ready_head;
}

/* Writes the header; the bytes for virtq_add_used(), 0 if it cannot. */
static int64_t rx_finish(struct virtq_vsock_rx *rx, struct virtq_vsock_hdr *h)
{
	int64_t n = virtq_vsock_rx_finish(rx, h);
	return n < 0 ? 0 : n;
}

/*
 * Fills one RX buffer with the most urgent packet. Returns the bytes written
 * (for virtq_add_used), 0 to return a useless buffer empty, or -1 when there
 * is nothing to send (the chain must be given back with virtq_unpop).
 */
static int64_t rx_fill_one(struct vsock_dev *d, const struct virtq_chain *chain)
{
	struct virtq_vsock_rx rx;
	struct virtq_vsock_hdr h;
	int r = virtq_vsock_parse_rx(&rx, chain, VIRTQ_VSOCK_DEFAULT_MAX_PKT);
	if (r < 0) {
		bad_packet(d, "unusable RX buffer", r);
		return 0;
	}
	if (d->rst_len > 0) {
		h = d->rst[d->rst_head];
		d->rst_head = (d->rst_head + 1) % VSOCK_RST_RING;
		d->rst_len--;
		return rx_finish(&rx, &h);
	}
	if (d->ctrl_head) {
		struct vsock_conn *c = d->ctrl_head;
		uint32_t flags;
		uint16_t op = conn_next_owed(c, &flags);
		conn_fill_hdr(c, &h, d->guest_cid, op, flags);
		conn_owed_sent(c, op);
		int64_t n = rx_finish(&rx, &h);
		if (op == VIRTQ_VSOCK_OP_RST)
			conn_free(d, c);
		else
			conn_update(d, c);
		return n;
	}
	while (d->ready_head) {
		struct vsock_conn *c = d->ready_head;
		uint32_t want = conn_peer_credit(c), room = virtq_vsock_rx_room(&rx);
		if (room == 0)
			return -1; /* header-only buffer: keep it for control packets */
		if (want > room)
			want = room;
		int nseg = virtq_vsock_rx_segments(&rx, want, d->segs, VU_MAX_QUEUE_SIZE);
		if (nseg < 0) {
			bad_packet(d, "RX buffer too fragmented", nseg);
			return 0;
		}
		ssize_t got;
		do
			got = readv(c->fd, (const struct iovec *)(const void *)d->segs, nseg);
		while (got < 0 && errno == EINTR);
		if (got > 0) {
			(void)virtq_vsock_rx_commit(&rx, (size_t)got);
			c->tx_cnt += (uint32_t)got;
			d->bytes_to_guest += (uint64_t)got;
			conn_fill_hdr(c, &h, d->guest_cid, VIRTQ_VSOCK_OP_RW, 0);
			conn_owed_sent(c, VIRTQ_VSOCK_OP_RW);
			ready_del(d, c); /* round robin: back to the tail */
			conn_update(d, c);
			return rx_finish(&rx, &h);
		}
		if (got == 0) {
			/* The host will send no more: half-close toward the guest. */
			c->host_eof = true;
			conn_fill_hdr(c, &h, d->guest_cid, VIRTQ_VSOCK_OP_SHUTDOWN,
				      VIRTQ_VSOCK_SHUTDOWN_SEND);
			conn_owed_sent(c, VIRTQ_VSOCK_OP_SHUTDOWN);
			conn_update(d, c);
			return rx_finish(&rx, &h);
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->readable = false;
			conn_update(d, c);
			continue;
		}
		conn_reset(d, c); /* its RST goes out in this very buffer */
		return rx_fill_one(d, chain);
	}
	return -1;
}

static void rx_pump(struct vsock_dev *d)
{
	if (!ring_running(d, VSOCK_RX))
		return;
	struct virtq *q = &d->vu.vring[VSOCK_RX].q;
	struct virtq_chain chain;
	unsigned done = 0;
	d->more_rx = false;
	virtq_chain_init(&chain, d->rx_chain, VU_MAX_QUEUE_SIZE);
	(void)virtq_disable_notify(q);
	while (rx_has_work(d)) {
		if (done == BATCH) {
			d->more_rx = true;
			break;
		}
		int r = virtq_pop(q, &chain);
		if (r == 0) {
			/* out of buffers: ask for a kick, unless some just came */
			if (virtq_enable_notify(q) == 1) {
				(void)virtq_disable_notify(q);
				continue;
			}
			break;
		}
		if (r == -VIRTQ_ENOSPC && virtq_discard(q, &chain) == 1) {
			log_info("RX buffer of %u segments: more than we take, returned empty",
				 chain.needed);
			done++;
			continue;
		}
		if (r < 0) {
			if (r != -VIRTQ_EBROKEN)
				log_info("RX queue: %s: queue stopped until the device is reset",
					 virtq_strerror(r));
			break;
		}
		int64_t n = rx_fill_one(d, &chain);
		if (n < 0) {
			(void)virtq_unpop(q);
			break;
		}
		(void)virtq_add_used(q, chain.id, (uint32_t)n);
		done++;
	}
	/* Kicks stay enabled only if we ran out of buffers with work left. */
	if (virtq_publish_used(q) > 0 && virtq_needs_notify(q) == 1)
		vu_vring_notify(&d->vu, VSOCK_RX);
}

/* ---- TX: guest -> device --------------------------------------------------- */

static void guest_connect(struct vsock_dev *d, const struct virtq_vsock_hdr *h)
{
	int fd = host_connect_port(d->uds_path, h->dst_port);
	if (fd < 0) {
		log_debug("guest port %u -> host port %u: %s", h->src_port, h->dst_port,
			  strerror(-fd));
		rst_reply(d, h);
		return;
	}
	struct vsock_conn *c = conn_new(d, fd, CONN_ESTABLISHED);
	if (!c) {
		close(fd);
		rst_reply(d, h);
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	conn_peer_update(c, h);
	c->owed = OWE_RESPONSE;
	table_insert(d, c);
	log_debug("guest port %u connected to host port %u", h->src_port, h->dst_port);
	conn_update(d, c);
}

static void guest_data(struct vsock_dev *d, struct vsock_conn *c, struct virtq_vsock_tx *pkt)
{
	uint32_t len = pkt->hdr.len;
	if (len == 0)
		return;
	if (c->peer_no_send || c->closing || !conn_rx_fits(c, len)) {
		bad_packet(d, c->peer_no_send ? "data after SHUTDOWN" : "data beyond credit", 0);
		conn_reset(d, c);
		return;
	}
	int n = virtq_vsock_tx_segments(pkt, d->segs, VU_MAX_QUEUE_SIZE);
	if (n < 0) {
		bad_packet(d, "TX packet too fragmented", n);
		conn_reset(d, c);
		return;
	}
	int r = conn_forward(c, d->segs, (unsigned)n, len);
	if (r < 0) {
		log_debug("host port %u: write: %s", c->local_port, strerror(-r));
		conn_reset(d, c);
		return;
	}
	d->bytes_to_host += len;
}

static void guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	if (flags & VIRTQ_VSOCK_SHUTDOWN_RCV)
		c->peer_no_recv = true;
	if (flags & VIRTQ_VSOCK_SHUTDOWN_SEND)
		c->peer_no_send = true;
	if (c->peer_no_recv && c->peer_no_send)
		c->closing = true; /* conn_update closes once the buffer is drained */
}

/* A packet that failed to parse: if its header was read and names a
 * connection, reset that connection (the header's len lied). */
static void bad_tx(struct vsock_dev *d, const struct virtq_vsock_tx *pkt, int err)
{
	bad_packet(d, "malformed TX packet", err);
	if (err != -VIRTQ_EMSGSIZE && err != -VIRTQ_ESHORT)
		return;
	const struct virtq_vsock_hdr *h = &pkt->hdr; /* all zero if not read */
	if (h->src_cid != d->guest_cid || h->dst_cid != VSOCK_HOST_CID)
		return;
	struct vsock_conn *c = lookup(d, h->dst_port, h->src_port);
	if (c)
		conn_reset(d, c);
}

static void handle_tx(struct vsock_dev *d, const struct virtq_chain *chain)
{
	struct virtq_vsock_tx pkt;
	int r = virtq_vsock_parse_tx(&pkt, chain, VIRTQ_VSOCK_DEFAULT_MAX_PKT);
	if (r < 0) {
		bad_tx(d, &pkt, r);
		return;
	}
	const struct virtq_vsock_hdr *h = &pkt.hdr;
	if (h->src_cid != d->guest_cid || h->dst_cid != VSOCK_HOST_CID) {
		bad_packet(d, "packet with foreign CIDs dropped", 0);
		return;
	}
	struct vsock_conn *c = lookup(d, h->dst_port, h->src_port);
	if (h->type != VIRTQ_VSOCK_TYPE_STREAM) {
		if (c)
			conn_reset(d, c);
		else if (h->op != VIRTQ_VSOCK_OP_RST)
			rst_reply(d, h);
		return;
	}
	if (!c) {
		if (h->op == VIRTQ_VSOCK_OP_REQUEST)
			guest_connect(d, h);
		else if (h->op != VIRTQ_VSOCK_OP_RST)
			rst_reply(d, h);
		return;
	}
	if (h->op == VIRTQ_VSOCK_OP_RST) {
		log_debug("guest reset host port %u", c->local_port);
		conn_free(d, c);
		return;
	}
	conn_peer_update(c, h);
	switch (c->state) {
	case CONN_REQUESTING:
		if (h->op != VIRTQ_VSOCK_OP_RESPONSE) {
			conn_reset(d, c);
			return;
		}
		c->state = CONN_ESTABLISHED;
		if (c->fd < 0 || host_send_ok(c->fd, c->local_port) < 0) {
			conn_reset(d, c);
			return;
		}
		log_debug("host port %u connected to guest port %u", c->local_port, c->peer_port);
		break;
	case CONN_ESTABLISHED:
		switch (h->op) {
		case VIRTQ_VSOCK_OP_RW:
			guest_data(d, c, &pkt);
			break;
		case VIRTQ_VSOCK_OP_CREDIT_UPDATE:
			break; /* conn_peer_update() did it */
		case VIRTQ_VSOCK_OP_CREDIT_REQUEST:
			c->owed |= OWE_CREDIT_UPDATE;
			break;
		case VIRTQ_VSOCK_OP_SHUTDOWN:
			guest_shutdown(c, h->flags);
			break;
		default:
			bad_packet(d, "unexpected op on an established connection", 0);
			conn_reset(d, c);
			return;
		}
		break;
	case CONN_RESETTING:
		return; /* our RST is on its way */
	default:
		return;
	}
	conn_update(d, c);
}

static void tx_process(struct vsock_dev *d)
{
	if (!ring_running(d, VSOCK_TX))
		return;
	struct virtq *q = &d->vu.vring[VSOCK_TX].q;
	struct virtq_chain chain;
	unsigned done = 0;
	int r = 0;
	d->more_tx = false;
	virtq_chain_init(&chain, d->tx_chain, VU_MAX_QUEUE_SIZE);
	for (;;) {
		(void)virtq_disable_notify(q);
		while (done < BATCH && (r = virtq_pop(q, &chain)) == 1) {
			handle_tx(d, &chain);
			(void)virtq_add_used(q, chain.id, 0);
			done++;
		}
		if (r == -VIRTQ_ENOSPC && virtq_discard(q, &chain) == 1) {
			log_info("TX packet of %u segments: more than we take, dropped",
				 chain.needed);
			done++;
			r = 0;
		}
		if (virtq_publish_used(q) > 0 && virtq_needs_notify(q) == 1)
			vu_vring_notify(&d->vu, VSOCK_TX);
		if (r < 0) {
			if (r != -VIRTQ_EBROKEN)
				log_info("TX queue: %s: queue stopped until the device is reset",
					 virtq_strerror(r));
			break;
		}
		if (done >= BATCH) {
			d->more_tx = true;
			break;
		}
		if (virtq_enable_notify(q) != 1)
			break;
	}
	rx_pump(d);
}

bool vsock_dev_busy(const struct vsock_dev *d)
{
	return d->more_tx || d->more_rx;
}

void vsock_dev_continue(struct vsock_dev *d)
{
	if (d->more_tx)
		tx_process(d);
	if (d->more_rx)
		rx_pump(d);
}

/* ---- host side ---------------------------------------------------------------- */

static uint32_t alloc_local_port(struct vsock_dev *d, uint32_t peer)
{
	for (;;) {
		uint32_t p = d->next_port++;
		if (d->next_port == 0)
			d->next_port = FIRST_LOCAL_PORT;
		if (!lookup(d, p, peer))
			return p;
	}
}

static void host_handshake(struct vsock_dev *d, struct vsock_conn *c)
{
	uint32_t port;
	int r = host_read_connect(c->fd, &port);
	if (r == 0)
		return;
	if (r < 0 || !ring_running(d, VSOCK_RX)) {
		log_debug("host connection closed: %s", r < 0 ? strerror(-r) : "no guest");
		conn_free(d, c);
		return;
	}
	c->peer_port = port;
	c->local_port = alloc_local_port(d, port);
	c->state = CONN_REQUESTING;
	c->owed = OWE_REQUEST;
	table_insert(d, c);
	conn_update(d, c);
	rx_pump(d);
}

static void on_conn_event(struct ev_handler *h, uint32_t events)
{
	struct vsock_conn *c = (struct vsock_conn *)(void *)((char *)h - offsetof(struct vsock_conn, h));
	struct vsock_dev *d = c->dev;
	if (c->state == CONN_HANDSHAKE) {
		host_handshake(d, c);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* Reported whatever the interest: stop watching, and let reads
		 * and writes find out what is left. */
		c->hup = true;
		c->readable = true;
		ev_del(d->loop, &c->h);
	}
	if (events & EPOLLIN)
		c->readable = true;
	if (c->buf_len > 0 && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
		int r = conn_flush(c);
		if (r < 0) {
			log_debug("host port %u: write: %s", c->local_port, strerror(-r));
			conn_reset(d, c);
			rx_pump(d);
			return;
		}
	}
	conn_update(d, c);
	rx_pump(d);
}

static void on_listener(struct ev_handler *h, uint32_t events)
{
	(void)events;
	struct vsock_dev *d = (struct vsock_dev *)(void *)((char *)h - offsetof(struct vsock_dev, listener));
	for (unsigned i = 0; i < 64; i++) {
		int fd = unix_sock_accept(h->fd);
		if (fd < 0)
			return;
		if (!ring_running(d, VSOCK_RX) || !conn_new(d, fd, CONN_HANDSHAKE)) {
			log_debug("host connection refused: %s",
				  ring_running(d, VSOCK_RX) ? "too many connections" : "no guest");
			close(fd);
		}
	}
}

/* ---- vhost-user callbacks ------------------------------------------------------- */

/*
 * A ring resumed after a back-end restart (INFLIGHT_SHMFD) may have chains
 * the dead process popped and never completed: TX packets are handled again
 * (their connections died with that process: the guest gets RSTs), RX
 * buffers go back empty. Each is completed exactly once.
 */
static void resubmit_in_flight(struct vsock_dev *d, unsigned idx)
{
	struct virtq *q = &d->vu.vring[idx].q;
	static uint16_t heads[VU_MAX_QUEUE_SIZE];
	int n = virtq_in_flight_list(q, heads, VU_MAX_QUEUE_SIZE);
	if (n <= 0)
		return;
	struct virtq_chain chain;
	virtq_chain_init(&chain, d->tx_chain, VU_MAX_QUEUE_SIZE);
	for (int i = 0; i < n; i++) {
		if (idx == VSOCK_TX && virtq_resubmit(q, heads[i], &chain) == 1)
			handle_tx(d, &chain);
		/* an unreadable chain (-VIRTQ_ENOSPC, never for these
		 * segment arrays) is still completed: empty */
		(void)virtq_add_used(q, heads[i], 0);
	}
	log_info("ring %u: %d chains in flight before the restart completed again", idx, n);
	if (virtq_publish_used(q) > 0 && virtq_needs_notify(q) == 1)
		vu_vring_notify(&d->vu, idx);
}

static void ring_started(struct vu_dev *vu, unsigned idx)
{
	if (idx == VSOCK_TX || idx == VSOCK_RX)
		resubmit_in_flight(dev_of(vu), idx);
}

static void ring_stopped(struct vu_dev *vu, unsigned idx)
{
	/* The driver went away (reset, reboot, disconnect): so did every
	 * guest socket. */
	if (idx != VSOCK_EVENT)
		drop_all(dev_of(vu), "device stopped");
}

static void ring_kicked(struct vu_dev *vu, unsigned idx)
{
	struct vsock_dev *d = dev_of(vu);
	if (idx == VSOCK_TX)
		tx_process(d);
	else if (idx == VSOCK_RX)
		rx_pump(d);
	/* event queue: we have no events to send (no transport reset) */
}

static const void *config(struct vu_dev *vu, uint32_t *len)
{
	*len = sizeof(dev_of(vu)->config);
	return dev_of(vu)->config;
}

static const struct vu_dev_ops vsock_ops = {
	.ring_started = ring_started,
	.ring_stopped = ring_stopped,
	.ring_kicked = ring_kicked,
	.config = config,
};

int vsock_dev_init(struct vsock_dev *d, struct ev_loop *loop, uint64_t guest_cid,
		   const char *uds_path)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->guest_cid = guest_cid;
	d->uds_path = uds_path;
	d->next_port = FIRST_LOCAL_PORT;
	for (unsigned i = 0; i < 8; i++)
		d->config[i] = (unsigned char)(guest_cid >> (8 * i));
	const struct vu_dev_desc desc = {
		.ops = &vsock_ops, .opaque = d, .num_queues = VSOCK_NUM_QUEUES,
		/* virtq runs either layout; QEMU offers it with packed=on */
		.features = VIRTQ_FEATURE(VIRTQ_F_RING_PACKED),
		.protocol_features = VIRTQ_FEATURE(VU_PROTOCOL_F_INFLIGHT_SHMFD),
	};
	vu_dev_init(&d->vu, loop, &desc);
	ev_handler_init(&d->listener, on_listener);
	int fd = unix_sock_listen(uds_path);
	if (fd < 0)
		return fd;
	int r = ev_add(loop, &d->listener, fd, EPOLLIN);
	if (r < 0)
		close(fd);
	return r;
}

void vsock_dev_close(struct vsock_dev *d)
{
	if (vu_dev_connected(&d->vu))
		vu_dev_detach(&d->vu);
	drop_all(d, "shutting down");
	vsock_dev_reap(d);
	int fd = d->listener.fd;
	ev_del(d->loop, &d->listener);
	if (fd >= 0) {
		close(fd);
		(void)unlink(d->uds_path);
	}
}

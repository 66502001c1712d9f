/* SPDX-License-Identifier: MIT */
/* vhost-user back-end protocol (see vhost_user.h). */
#define _GNU_SOURCE
#include "vhost_user.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <virtq/state.h>
#include <virtq/virtq.h>

#include "dirty_log.h"
#include "log.h"
#include "message.h"

#define VU_CONFIG_HDR 12u
#define VU_CONFIG_MAX 256u

static int reply_u64(struct vu_dev *d, uint32_t request, uint64_t v)
{
	return vu_msg_reply(d->sock.fd, request, &v, sizeof(v), -1);
}

/* ---- handlers -------------------------------------------------------------
 * Each returns 0 (done), 1 (request refused: the front-end is told with
 * REPLY_ACK if it asked) or a negative errno (protocol error: disconnect).
 * A handler keeps a file descriptor by setting its slot to -1.
 */

static int on_set_features(struct vu_dev *d, const struct vu_msg *m)
{
	int r = vu_msg_need(m, 8);
	if (r)
		return r;
	uint64_t f = vu_get64(m, 0);
	if (f & ~d->offered_features) {
		log_info("SET_FEATURES: bits not offered: %#llx",
			 (unsigned long long)(f & ~d->offered_features));
		return 1;
	}
	d->features = f;
	d->features_set = true;
	log_debug("features acked: %#llx", (unsigned long long)f);
	vu_dirty_log_apply(d); /* LOG_ALL switched on or off */
	/* Without VHOST_USER_F_PROTOCOL_FEATURES rings start enabled. */
	if (!(f & VIRTQ_FEATURE(VU_F_PROTOCOL_FEATURES)))
		for (unsigned i = 0; i < d->num_queues; i++) {
			d->vring[i].enabled = true;
			vu_vring_try_start(d, i);
		}
	return 0;
}

static int on_set_protocol_features(struct vu_dev *d, const struct vu_msg *m)
{
	int r = vu_msg_need(m, 8);
	if (r)
		return r;
	uint64_t f = vu_get64(m, 0);
	if (f & ~d->offered_protocol_features)
		return 1;
	d->protocol_features = f;
	return 0;
}

/* The regions of a SET_MEM_TABLE message, or 1 (refused). */
static int mem_table_regions(const struct vu_msg *m, unsigned nfds, struct memtable_desc *desc,
			     uint32_t *count)
{
	int r = vu_msg_need(m, 8);
	if (r)
		return r;
	uint32_t n = vu_get32(m, 0);
	if (n == 0 || n > MEMTABLE_MAX_REGIONS || m->size < 8 + 32 * (uint64_t)n || nfds != n) {
		log_info("SET_MEM_TABLE: %u regions, %u fds, %u bytes: refused", n, nfds, m->size);
		return 1;
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t o = 8 + 32 * (size_t)i;
		desc[i].gpa = vu_get64(m, o);
		desc[i].size = vu_get64(m, o + 8);
		desc[i].uva = vu_get64(m, o + 16);
		desc[i].mmap_offset = vu_get64(m, o + 24);
	}
	*count = n;
	return 0;
}

static int on_set_mem_table(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	struct memtable_desc desc[MEMTABLE_MAX_REGIONS];
	uint32_t n = 0;
	int r = mem_table_regions(m, nfds, desc, &n);
	if (r)
		return r;
	struct memtable fresh;
	memtable_init(&fresh);
	r = memtable_map(&fresh, desc, fds, n);
	if (r < 0) {
		log_info("SET_MEM_TABLE refused: %s", strerror(-r));
		return 1;
	}
	/* Running rings keep their guest-physical addresses: park them in
	 * their saved state while the map changes, then restore. virtq_save()
	 * does not take a packed queue (-VIRTQ_ENOTSUP); drained, it needs no
	 * saved state: its base says where it stands, and vu_vring_try_start()
	 * resumes it there on the new map. One with chains in flight (neither
	 * device holds any between messages) is stopped. */
	static struct virtq_state saved[VU_MAX_QUEUES]; /* 64 KiB each; one thread */
	bool running[VU_MAX_QUEUES];
	for (unsigned i = 0; i < d->num_queues; i++) {
		running[i] = false;
		if (!d->vring[i].started)
			continue;
		if (vu_vring_packed(d)) {
			if (vu_vring_park_packed(d, i)) {
				log_info("ring %u (packed, drained) parked for the new memory table", i);
			} else {
				log_info("ring %u (packed) holds chains in flight: stopped for the new memory table",
					 i);
				vu_vring_stop(d, i);
			}
			continue;
		}
		running[i] = virtq_save(&d->vring[i].q, &saved[i]) == 0;
		virtq_reset(&d->vring[i].q);
	}
	memtable_replace(&d->mem, &fresh);
	for (unsigned i = 0; i < d->num_queues; i++) {
		if (running[i] && (r = virtq_restore(&d->vring[i].q, &d->mem.mem, &saved[i])) < 0) {
			log_info("ring %u does not fit the new memory table (%s): stopped", i,
				 virtq_errname(r));
			vu_vring_stop(d, i);
		}
		vu_vring_try_start(d, i);
	}
	log_debug("memory table: %u regions", n);
	return 0;
}

static int on_get_config(struct vu_dev *d, const struct vu_msg *m)
{
	int r = vu_msg_need(m, VU_CONFIG_HDR);
	if (r)
		return r;
	uint32_t off = vu_get32(m, 0), size = vu_get32(m, 4), flags = vu_get32(m, 8), clen = 0;
	const unsigned char *cfg = d->ops->config(d, &clen);
	unsigned char out[VU_CONFIG_HDR + VU_CONFIG_MAX];
	memset(out, 0, sizeof(out));
	if (size > VU_CONFIG_MAX || off > clen || size > clen - off) {
		log_info("GET_CONFIG: offset %u size %u outside the %u-byte config", off, size, clen);
		size = 0;
	}
	memcpy(out, &off, 4);
	memcpy(out + 4, &size, 4);
	memcpy(out + 8, &flags, 4);
	if (size)
		memcpy(out + VU_CONFIG_HDR, cfg + off, size);
	return vu_msg_reply(d->sock.fd, VU_GET_CONFIG, out, VU_CONFIG_HDR + size, -1);
}

/* Back to the state of a fresh connection, keeping the socket. */
static void dev_reset(struct vu_dev *d)
{
	for (unsigned i = 0; i < d->num_queues; i++)
		vu_vring_reset(d, i);
	vu_inflight_clear(d);
	vu_dirty_log_clear(d);
	memtable_clear(&d->mem);
	d->features = 0;
	d->features_set = false;
	d->protocol_features = 0;
}

static int dispatch(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	switch (m->request) {
	case VU_GET_FEATURES:
		return reply_u64(d, m->request, d->offered_features);
	case VU_SET_FEATURES:
		return on_set_features(d, m);
	case VU_SET_OWNER:
		return 0;
	case VU_RESET_OWNER:
		dev_reset(d);
		return 0;
	case VU_GET_PROTOCOL_FEATURES:
		return reply_u64(d, m->request, d->offered_protocol_features);
	case VU_SET_PROTOCOL_FEATURES:
		return on_set_protocol_features(d, m);
	case VU_SET_MEM_TABLE:
		return on_set_mem_table(d, m, fds, nfds);
	case VU_SET_LOG_BASE: {
		/* With LOG_SHMFD the front-end waits for a reply, REPLY_ACK or not */
		int r = vu_dirty_log_on_msg(d, m, fds, nfds);
		if (r >= 0 && (d->protocol_features & VIRTQ_FEATURE(VU_PROTOCOL_F_LOG_SHMFD)))
			return reply_u64(d, m->request, r == 0 ? 0 : 1);
		return r;
	}
	case VU_SET_LOG_FD:
		return vu_dirty_log_on_msg(d, m, fds, nfds);
	case VU_SET_VRING_NUM:
		return vu_vring_on_num(d, m);
	case VU_SET_VRING_ADDR:
		return vu_vring_on_addr(d, m);
	case VU_SET_VRING_BASE:
		return vu_vring_on_base(d, m);
	case VU_GET_VRING_BASE:
		return vu_vring_on_get_base(d, m);
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		return vu_vring_on_fd(d, m, fds, nfds);
	case VU_SET_VRING_ENABLE:
		return vu_vring_on_enable(d, m);
	case VU_GET_CONFIG:
		return on_get_config(d, m);
	case VU_GET_QUEUE_NUM:
		return reply_u64(d, m->request, d->num_queues);
	case VU_GET_INFLIGHT_FD:
		return vu_inflight_on_get(d, m);
	case VU_SET_INFLIGHT_FD:
		return vu_inflight_on_set(d, m, fds, nfds);
	default:
		/* Not offered (no other protocol features): refuse. */
		log_info("%s (%u) not supported%s", vu_request_name(m->request), m->request,
			 nfds ? ", unexpected fds" : "");
		return 1;
	}
}

static bool has_own_reply(uint32_t request)
{
	return request == VU_GET_FEATURES || request == VU_GET_PROTOCOL_FEATURES ||
	       request == VU_GET_VRING_BASE || request == VU_GET_CONFIG ||
	       request == VU_GET_QUEUE_NUM || request == VU_GET_INFLIGHT_FD ||
	       request == VU_SET_LOG_BASE;
}

static void on_socket(struct ev_handler *h, uint32_t events)
{
	struct vu_dev *d = (struct vu_dev *)(void *)((char *)h - offsetof(struct vu_dev, sock));
	static struct vu_msg m; /* 4 KiB; one front-end, one thread */
	int fds[VU_MAX_FDS];
	unsigned nfds = 0;
	int r = vu_msg_recv(h->fd, &m, fds, &nfds);
	(void)events; /* a hang-up shows as end of file or an error on recvmsg */
	if (r != 0) {
		/* EAGAIN here: a message's remainder did not come in time */
		if (r < 0)
			log_info("front-end connection: %s", strerror(-r));
		else
			log_info("front-end disconnected");
		vu_dev_detach(d);
		return;
	}
	log_debug("%s (%u), %u bytes, %u fds", vu_request_name(m.request), m.request, m.size, nfds);
	r = dispatch(d, &m, fds, nfds);
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r == 0 || r == 1) {
		if ((m.flags & VU_FLAG_NEED_REPLY) && !has_own_reply(m.request) &&
		    (d->protocol_features & VIRTQ_FEATURE(VU_PROTOCOL_F_REPLY_ACK)))
			r = reply_u64(d, m.request, r == 0 ? 0 : 1);
		else
			r = 0;
	}
	if (r < 0) {
		log_info("%s: protocol error (%s): disconnecting", vu_request_name(m.request),
			 strerror(-r));
		vu_dev_detach(d);
	}
}

/* ---- life cycle ---------------------------------------------------------- */

void vu_dev_init(struct vu_dev *d, struct ev_loop *loop, const struct vu_dev_desc *desc)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->ops = desc->ops;
	d->opaque = desc->opaque;
	d->num_queues = desc->num_queues < 1              ? 1
			: desc->num_queues > VU_MAX_QUEUES ? VU_MAX_QUEUES
							   : desc->num_queues;
	d->offered_features = desc->features | VIRTQ_FEATURE(VU_F_VERSION_1) |
			      VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			      VIRTQ_FEATURE(VU_F_PROTOCOL_FEATURES) | VIRTQ_FEATURE(VU_F_LOG_ALL);
	d->offered_protocol_features = desc->protocol_features |
				       VIRTQ_FEATURE(VU_PROTOCOL_F_REPLY_ACK) |
				       VIRTQ_FEATURE(VU_PROTOCOL_F_CONFIG) |
				       VIRTQ_FEATURE(VU_PROTOCOL_F_LOG_SHMFD);
	ev_handler_init(&d->sock, on_socket);
	memtable_init(&d->mem);
	vu_inflight_init(&d->inflight);
	vu_dirty_log_init(&d->dirty);
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		vu_vring_init(d, i);
}

int vu_dev_attach(struct vu_dev *d, int fd)
{
	struct timeval tv = { .tv_sec = 5 };
	/* A front-end that stops in the middle of a message cannot stall us
	 * for long: reads of a message's remainder time out. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int r = ev_add(d->loop, &d->sock, fd, EPOLLIN);
	if (r < 0)
		return r;
	log_info("front-end connected");
	return 0;
}

void vu_dev_detach(struct vu_dev *d)
{
	int fd = d->sock.fd;
	dev_reset(d);
	ev_del(d->loop, &d->sock);
	if (fd >= 0)
		close(fd);
}

bool vu_dev_connected(const struct vu_dev *d)
{
	return d->sock.fd >= 0;
}

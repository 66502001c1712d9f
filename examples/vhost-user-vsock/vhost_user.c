/* SPDX-License-Identifier: MIT */
/* vhost-user back-end protocol (see vhost_user.h). */
#define _GNU_SOURCE
#include "vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <virtq/state.h>
#include <virtq/virtq.h>

#include "log.h"

#define VU_VERSION 1u
#define VU_FLAG_VERSION_MASK 3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_HDR_SIZE 12u
#define VU_MAX_PAYLOAD 4096u
#define VU_MAX_FDS 8u
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD_MASK (1u << 8)
#define VU_CONFIG_HDR 12u
#define VU_CONFIG_MAX 256u

struct vu_msg {
	uint32_t request, flags, size;
	unsigned char p[VU_MAX_PAYLOAD];
};

/* Little helpers over the raw payload: vhost-user is host-endian. */
static uint32_t get32(const struct vu_msg *m, size_t off)
{
	uint32_t v;
	memcpy(&v, m->p + off, sizeof(v));
	return v;
}
static uint64_t get64(const struct vu_msg *m, size_t off)
{
	uint64_t v;
	memcpy(&v, m->p + off, sizeof(v));
	return v;
}

static const char *req_name(uint32_t r)
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
	};
	if (r < sizeof(names) / sizeof(names[0]) && names[r])
		return names[r];
	return "unknown";
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- rings ----------------------------------------------------------- */

static void vring_stop(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	if (v->started) {
		d->ops->ring_stopped(d, idx);
		v->base = virtq_next_avail(&v->q);
		log_debug("ring %u stopped at avail index %u%s", idx, v->base,
			  virtq_is_broken(&v->q) ? " (was broken)" : "");
	}
	ev_del(d->loop, &v->kick);
	close_fd(&v->kick_fd);
	virtq_reset(&v->q);
	v->started = false;
}

/* Starts ring idx once it has everything: memory, addresses, a kick fd and
 * the enabled state. */
static void vring_try_start(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	if (v->started || !v->enabled || v->kick_fd < 0 || !v->addr_set || d->mem.n == 0)
		return;
	uint64_t desc, avail, used;
	if (memtable_uva_to_gpa(&d->mem, v->desc_uva, VIRTQ_DESC_TABLE_BYTES(v->num), &desc) ||
	    memtable_uva_to_gpa(&d->mem, v->avail_uva, VIRTQ_AVAIL_RING_BYTES(v->num), &avail) ||
	    memtable_uva_to_gpa(&d->mem, v->used_uva, VIRTQ_USED_RING_BYTES(v->num), &used)) {
		log_info("ring %u: ring addresses outside the memory table: not started", idx);
		return;
	}
	const struct virtq_ring_addrs addrs = { .desc_area = desc, .driver_area = avail,
						.device_area = used };
	virtq_reset(&v->q);
	int r = virtq_set_size(&v->q, v->num);
	if (r == 0)
		r = virtq_set_addrs(&v->q, &addrs);
	if (r == 0)
		r = virtq_set_features(&v->q, d->features);
	/* A non-zero base resumes where the ring stopped: the chains the ring's
	 * in-flight area still holds are in flight again (inflight.h). */
	if (r == 0)
		r = v->base == 0 ? virtq_activate(&v->q) : virtq_resume(&v->q, v->base);
	if (r < 0) {
		log_info("ring %u: refused by virtq: %s: not started", idx, virtq_errname(r));
		virtq_reset(&v->q);
		return;
	}
	if (ev_add(d->loop, &v->kick, v->kick_fd, EPOLLIN) < 0) {
		log_info("ring %u: cannot watch the kick fd", idx);
		virtq_reset(&v->q);
		return;
	}
	v->started = true;
	log_debug("ring %u started: size %u, avail index %u", idx, v->num, v->base);
	d->ops->ring_started(d, idx);
	/* Buffers may have been posted before the kick fd was watched. */
	d->ops->ring_kicked(d, idx);
}

static void on_kick(struct ev_handler *h, uint32_t events)
{
	(void)events;
	struct vu_vring *v = (struct vu_vring *)(void *)((char *)h - offsetof(struct vu_vring, kick));
	uint64_t cnt;
	while (read(h->fd, &cnt, sizeof(cnt)) == (ssize_t)sizeof(cnt))
		;
	if (v->started)
		v->dev->ops->ring_kicked(v->dev, v->idx);
}

void vu_vring_notify(struct vu_dev *d, unsigned idx)
{
	if (idx >= VU_NUM_QUEUES || d->vring[idx].call_fd < 0)
		return;
	uint64_t one = 1;
	if (write(d->vring[idx].call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("ring %u: call eventfd write failed: %s", idx, strerror(errno));
}

/* ---- message I/O --------------------------------------------------------- */

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

/* Receives one message and its file descriptors. Returns 0, 1 on orderly
 * end of connection, or -errno. On error no fd stays open. */
static int vu_recv(int fd, struct vu_msg *m, int *fds, unsigned *nfds)
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
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
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

static int vu_send(int fd, uint32_t request, const void *payload, uint32_t size)
{
	unsigned char buf[VU_HDR_SIZE + VU_CONFIG_HDR + VU_CONFIG_MAX];
	uint32_t flags = VU_VERSION | VU_FLAG_REPLY;
	if (size > sizeof(buf) - VU_HDR_SIZE)
		return -EMSGSIZE;
	memcpy(buf, &request, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	memcpy(buf + VU_HDR_SIZE, payload, size);
	size_t len = VU_HDR_SIZE + size, done = 0;
	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

static int reply_u64(struct vu_dev *d, uint32_t request, uint64_t v)
{
	return vu_send(d->sock.fd, request, &v, sizeof(v));
}

/* ---- handlers -------------------------------------------------------------
 * Each returns 0 (done), 1 (request refused: the front-end is told with
 * REPLY_ACK if it asked) or a negative errno (protocol error: disconnect).
 * A handler keeps a file descriptor by setting its slot to -1.
 */

static int need_payload(const struct vu_msg *m, uint32_t size)
{
	return m->size < size ? -EPROTO : 0;
}

/* A vring message: at least size bytes, starting with a valid ring index. */
static int vring_msg(const struct vu_msg *m, uint32_t size, unsigned *idx)
{
	if (need_payload(m, size))
		return -EPROTO;
	uint32_t i = get32(m, 0);
	if (i >= VU_NUM_QUEUES)
		return -EPROTO;
	*idx = i;
	return 0;
}

static int on_set_features(struct vu_dev *d, const struct vu_msg *m)
{
	int r = need_payload(m, 8);
	if (r)
		return r;
	uint64_t f = get64(m, 0);
	if (f & ~d->offered_features) {
		log_info("SET_FEATURES: bits not offered: %#llx",
			 (unsigned long long)(f & ~d->offered_features));
		return 1;
	}
	d->features = f;
	d->features_set = true;
	/* Without VHOST_USER_F_PROTOCOL_FEATURES rings start enabled. */
	if (!(f & VIRTQ_FEATURE(VU_F_PROTOCOL_FEATURES)))
		for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
			d->vring[i].enabled = true;
			vring_try_start(d, i);
		}
	return 0;
}

static int on_set_mem_table(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	int r = need_payload(m, 8);
	if (r)
		return r;
	uint32_t n = get32(m, 0);
	if (n == 0 || n > MEMTABLE_MAX_REGIONS || m->size < 8 + 32 * (uint64_t)n || nfds != n) {
		log_info("SET_MEM_TABLE: %u regions, %u fds, %u bytes: refused", n, nfds, m->size);
		return 1;
	}
	struct memtable_desc desc[MEMTABLE_MAX_REGIONS];
	for (uint32_t i = 0; i < n; i++) {
		size_t o = 8 + 32 * (size_t)i;
		desc[i].gpa = get64(m, o);
		desc[i].size = get64(m, o + 8);
		desc[i].uva = get64(m, o + 16);
		desc[i].mmap_offset = get64(m, o + 24);
	}
	struct memtable fresh;
	memtable_init(&fresh);
	r = memtable_map(&fresh, desc, fds, n);
	if (r < 0) {
		log_info("SET_MEM_TABLE refused: %s", strerror(-r));
		return 1;
	}
	/* Running rings keep their guest-physical addresses: park them in
	 * their saved state while the map changes, then restore. */
	static struct virtq_state saved[VU_NUM_QUEUES]; /* 64 KiB each; one thread */
	bool running[VU_NUM_QUEUES];
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		running[i] = d->vring[i].started && virtq_save(&d->vring[i].q, &saved[i]) == 0;
		virtq_reset(&d->vring[i].q);
	}
	memtable_replace(&d->mem, &fresh);
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		if (running[i] && (r = virtq_restore(&d->vring[i].q, &d->mem.mem, &saved[i])) < 0) {
			log_info("ring %u does not fit the new memory table (%s): stopped", i,
				 virtq_errname(r));
			vring_stop(d, i);
		}
		vring_try_start(d, i);
	}
	log_debug("memory table: %u regions", n);
	return 0;
}

static int on_vring_num(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(m, 8, &idx);
	if (r)
		return r;
	uint32_t num = get32(m, 4);
	if (num == 0 || num > VU_MAX_QUEUE_SIZE || (num & (num - 1)) || d->vring[idx].started)
		return 1;
	d->vring[idx].num = num;
	return 0;
}

static int on_vring_addr(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(m, 40, &idx);
	if (r)
		return r;
	struct vu_vring *v = &d->vring[idx];
	if (v->started)
		return 1;
	/* index, flags (LOG: no dirty logging is offered), desc, used, avail, log */
	v->desc_uva = get64(m, 8);
	v->used_uva = get64(m, 16);
	v->avail_uva = get64(m, 24);
	v->addr_set = true;
	vring_try_start(d, idx);
	return 0;
}

static int on_vring_base(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(m, 8, &idx);
	if (r)
		return r;
	uint32_t base = get32(m, 4);
	if (base > UINT16_MAX || d->vring[idx].started)
		return 1;
	d->vring[idx].base = (uint16_t)base;
	return 0;
}

static int on_get_vring_base(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(m, 8, &idx);
	if (r)
		return r;
	vring_stop(d, idx);
	unsigned char out[8];
	uint32_t i32 = idx, base = d->vring[idx].base;
	memcpy(out, &i32, 4);
	memcpy(out + 4, &base, 4);
	return vu_send(d->sock.fd, VU_GET_VRING_BASE, out, sizeof(out));
}

/* SET_VRING_KICK / CALL / ERR: u64 index | NOFD flag, with one fd unless NOFD. */
static int on_vring_fd(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	int r = need_payload(m, 8);
	if (r)
		return r;
	uint64_t v64 = get64(m, 0);
	unsigned idx = (unsigned)(v64 & VU_VRING_IDX_MASK);
	bool nofd = (v64 & VU_VRING_NOFD_MASK) != 0;
	if (idx >= VU_NUM_QUEUES || (v64 & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD_MASK)))
		return -EPROTO;
	if (nfds != (nofd ? 0u : 1u))
		return 1;
	struct vu_vring *v = &d->vring[idx];
	int fd = nofd ? -1 : fds[0];
	if (!nofd)
		fds[0] = -1;
	switch (m->request) {
	case VU_SET_VRING_KICK:
		if (v->started)
			vring_stop(d, idx); /* a new kick fd while running: restart on it */
		close_fd(&v->kick_fd);
		if (fd < 0) {
			log_info("ring %u: polling mode (no kick fd) is not supported", idx);
			return 1;
		}
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		v->kick_fd = fd;
		/* Without VHOST_USER_F_PROTOCOL_FEATURES the ring is enabled now. */
		if (!(d->features & VIRTQ_FEATURE(VU_F_PROTOCOL_FEATURES)))
			v->enabled = true;
		vring_try_start(d, idx);
		break;
	case VU_SET_VRING_CALL:
		close_fd(&v->call_fd);
		v->call_fd = fd;
		break;
	default:
		close_fd(&v->err_fd);
		v->err_fd = fd;
		break;
	}
	return 0;
}

static int on_vring_enable(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(m, 8, &idx);
	if (r)
		return r;
	uint32_t on = get32(m, 4);
	if (on > 1)
		return 1;
	d->vring[idx].enabled = on == 1;
	if (on)
		vring_try_start(d, idx);
	return 0;
}

static int on_get_config(struct vu_dev *d, const struct vu_msg *m)
{
	int r = need_payload(m, VU_CONFIG_HDR);
	if (r)
		return r;
	uint32_t off = get32(m, 0), size = get32(m, 4), flags = get32(m, 8), clen = 0;
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
	return vu_send(d->sock.fd, VU_GET_CONFIG, out, VU_CONFIG_HDR + size);
}

/* Back to the state of a fresh connection, keeping the socket. */
static void dev_reset(struct vu_dev *d)
{
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		struct vu_vring *v = &d->vring[i];
		vring_stop(d, i);
		close_fd(&v->call_fd);
		close_fd(&v->err_fd);
		v->num = VU_MAX_QUEUE_SIZE;
		v->addr_set = false;
		v->base = 0;
		v->enabled = false;
	}
	memtable_clear(&d->mem);
	d->features = 0;
	d->features_set = false;
	d->protocol_features = 0;
}

static int dispatch(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	unsigned need_fds = 0;
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
		return reply_u64(d, m->request,
				 VIRTQ_FEATURE(VU_PROTOCOL_F_REPLY_ACK) |
					 VIRTQ_FEATURE(VU_PROTOCOL_F_CONFIG));
	case VU_SET_PROTOCOL_FEATURES: {
		int r = need_payload(m, 8);
		if (r)
			return r;
		uint64_t f = get64(m, 0);
		if (f & ~(VIRTQ_FEATURE(VU_PROTOCOL_F_REPLY_ACK) | VIRTQ_FEATURE(VU_PROTOCOL_F_CONFIG)))
			return 1;
		d->protocol_features = f;
		return 0;
	}
	case VU_SET_MEM_TABLE:
		return on_set_mem_table(d, m, fds, nfds);
	case VU_SET_VRING_NUM:
		return on_vring_num(d, m);
	case VU_SET_VRING_ADDR:
		return on_vring_addr(d, m);
	case VU_SET_VRING_BASE:
		return on_vring_base(d, m);
	case VU_GET_VRING_BASE:
		return on_get_vring_base(d, m);
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		return on_vring_fd(d, m, fds, nfds);
	case VU_SET_VRING_ENABLE:
		return on_vring_enable(d, m);
	case VU_GET_CONFIG:
		return on_get_config(d, m);
	case VU_GET_QUEUE_NUM:
		return reply_u64(d, m->request, VU_NUM_QUEUES);
	default:
		/* Not offered (no LOG_ALL, no other protocol features): refuse.
		 * Of these, only SET_LOG_FD comes with an fd. */
		need_fds = m->request == VU_SET_LOG_FD;
		log_info("%s (%u) not supported%s", req_name(m->request), m->request,
			 nfds != need_fds ? ", unexpected fds" : "");
		return 1;
	}
}

static bool has_own_reply(uint32_t request)
{
	return request == VU_GET_FEATURES || request == VU_GET_PROTOCOL_FEATURES ||
	       request == VU_GET_VRING_BASE || request == VU_GET_CONFIG ||
	       request == VU_GET_QUEUE_NUM;
}

static void on_socket(struct ev_handler *h, uint32_t events)
{
	struct vu_dev *d = (struct vu_dev *)(void *)((char *)h - offsetof(struct vu_dev, sock));
	static struct vu_msg m; /* 4 KiB; one front-end, one thread */
	int fds[VU_MAX_FDS];
	unsigned nfds = 0;
	int r = vu_recv(h->fd, &m, fds, &nfds);
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
	log_debug("%s (%u), %u bytes, %u fds", req_name(m.request), m.request, m.size, nfds);
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
		log_info("%s: protocol error (%s): disconnecting", req_name(m.request), strerror(-r));
		vu_dev_detach(d);
	}
}

/* ---- life cycle ---------------------------------------------------------- */

void vu_dev_init(struct vu_dev *d, struct ev_loop *loop, const struct vu_dev_ops *ops,
		 void *opaque, uint64_t device_features)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->ops = ops;
	d->opaque = opaque;
	d->offered_features = device_features | VIRTQ_FEATURE(VU_F_VERSION_1) |
			      VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
			      VIRTQ_FEATURE(VU_F_PROTOCOL_FEATURES);
	ev_handler_init(&d->sock, on_socket);
	memtable_init(&d->mem);
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		struct vu_vring *v = &d->vring[i];
		v->dev = d;
		v->idx = i;
		(void)virtq_init(&v->q, &d->mem.mem, VU_MAX_QUEUE_SIZE);
		(void)virtq_set_inflight(&v->q, v->inflight, sizeof(v->inflight));
		v->num = VU_MAX_QUEUE_SIZE;
		v->kick_fd = v->call_fd = v->err_fd = -1;
		ev_handler_init(&v->kick, on_kick);
	}
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

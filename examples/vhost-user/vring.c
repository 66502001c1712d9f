/* SPDX-License-Identifier: MIT */
/* vhost-user vrings (see vring.h). */
#define _GNU_SOURCE
#include "vring.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <virtq/virtq.h>

#include "log.h"
#include "vhost_user.h"

#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD_MASK (1u << 8)

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
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

void vu_vring_init(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	v->dev = d;
	v->idx = idx;
	(void)virtq_init(&v->q, &d->mem.mem, VU_MAX_QUEUE_SIZE);
	(void)virtq_set_inflight(&v->q, v->inflight, sizeof(v->inflight));
	v->num = VU_MAX_QUEUE_SIZE;
	v->kick_fd = v->call_fd = v->err_fd = -1;
	ev_handler_init(&v->kick, on_kick);
}

void vu_vring_stop(struct vu_dev *d, unsigned idx)
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

void vu_vring_reset(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	vu_vring_stop(d, idx);
	close_fd(&v->call_fd);
	close_fd(&v->err_fd);
	v->num = VU_MAX_QUEUE_SIZE;
	v->addr_set = false;
	v->base = 0;
	v->enabled = false;
}

/* The ring's areas as guest-physical addresses, 0 or -1 when one lies
 * outside the memory table. */
static int ring_addrs(const struct vu_dev *d, const struct vu_vring *v,
		      struct virtq_ring_addrs *a)
{
	if (memtable_uva_to_gpa(&d->mem, v->desc_uva, VIRTQ_DESC_TABLE_BYTES(v->num),
				&a->desc_area) ||
	    memtable_uva_to_gpa(&d->mem, v->avail_uva, VIRTQ_AVAIL_RING_BYTES(v->num),
				&a->driver_area) ||
	    memtable_uva_to_gpa(&d->mem, v->used_uva, VIRTQ_USED_RING_BYTES(v->num),
				&a->device_area))
		return -1;
	return 0;
}

void vu_vring_try_start(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	if (v->started || !v->enabled || v->kick_fd < 0 || !v->addr_set || d->mem.n == 0)
		return;
	struct virtq_ring_addrs addrs;
	if (ring_addrs(d, v, &addrs) < 0) {
		log_info("ring %u: ring addresses outside the memory table: not started", idx);
		return;
	}
	virtq_reset(&v->q);
	int r = vu_inflight_attach(d, idx);
	if (r == 0)
		r = virtq_set_size(&v->q, v->num);
	if (r == 0)
		r = virtq_set_addrs(&v->q, &addrs);
	if (r == 0)
		r = virtq_set_features(&v->q, d->features);
	/* A non-zero base resumes where the ring stopped: the chains the ring's
	 * in-flight area still holds are in flight again (<virtq/inflight.h>).
	 * A shared area always resumes: it may come from a back-end process
	 * that died, and the front-end then rewinds the base to used.idx. */
	bool resume = v->base != 0 || vu_inflight_shared(d, idx);
	if (r == 0)
		r = resume ? virtq_resume(&v->q, v->base) : virtq_activate(&v->q);
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
	uint16_t heads[1];
	int in_flight = virtq_in_flight_list(&v->q, heads, 0);
	if (in_flight == -VIRTQ_ENOSPC)
		log_info("ring %u resumed at avail index %u with chains in flight", idx,
			 virtq_next_avail(&v->q));
	log_debug("ring %u started: size %u, avail index %u", idx, v->num, v->base);
	d->ops->ring_started(d, idx);
	/* Buffers may have been posted before the kick fd was watched. */
	d->ops->ring_kicked(d, idx);
}

void vu_vring_notify(struct vu_dev *d, unsigned idx)
{
	if (idx >= d->num_queues || d->vring[idx].call_fd < 0)
		return;
	uint64_t one = 1;
	if (write(d->vring[idx].call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("ring %u: call eventfd write failed: %s", idx, strerror(errno));
}

/* ---- messages ------------------------------------------------------------ */

/* A vring message: at least size bytes, starting with a valid ring index. */
static int vring_msg(const struct vu_dev *d, const struct vu_msg *m, uint32_t size,
		     unsigned *idx)
{
	if (vu_msg_need(m, size))
		return -EPROTO;
	uint32_t i = vu_get32(m, 0);
	if (i >= d->num_queues)
		return -EPROTO;
	*idx = i;
	return 0;
}

int vu_vring_on_num(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(d, m, 8, &idx);
	if (r)
		return r;
	uint32_t num = vu_get32(m, 4);
	if (num == 0 || num > VU_MAX_QUEUE_SIZE || (num & (num - 1)) || d->vring[idx].started)
		return 1;
	d->vring[idx].num = num;
	return 0;
}

int vu_vring_on_addr(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(d, m, 40, &idx);
	if (r)
		return r;
	struct vu_vring *v = &d->vring[idx];
	if (v->started)
		return 1;
	/* index, flags (LOG: no dirty logging is offered), desc, used, avail, log */
	v->desc_uva = vu_get64(m, 8);
	v->used_uva = vu_get64(m, 16);
	v->avail_uva = vu_get64(m, 24);
	v->addr_set = true;
	vu_vring_try_start(d, idx);
	return 0;
}

int vu_vring_on_base(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(d, m, 8, &idx);
	if (r)
		return r;
	uint32_t base = vu_get32(m, 4);
	if (base > UINT16_MAX || d->vring[idx].started)
		return 1;
	d->vring[idx].base = (uint16_t)base;
	return 0;
}

int vu_vring_on_get_base(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(d, m, 8, &idx);
	if (r)
		return r;
	vu_vring_stop(d, idx);
	unsigned char out[8];
	uint32_t i32 = idx, base = d->vring[idx].base;
	memcpy(out, &i32, 4);
	memcpy(out + 4, &base, 4);
	return vu_msg_reply(d->sock.fd, VU_GET_VRING_BASE, out, sizeof(out), -1);
}

static int set_kick(struct vu_dev *d, unsigned idx, int fd)
{
	struct vu_vring *v = &d->vring[idx];
	if (v->started)
		vu_vring_stop(d, idx); /* a new kick fd while running: restart on it */
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
	vu_vring_try_start(d, idx);
	return 0;
}

/* SET_VRING_KICK / CALL / ERR: u64 index | NOFD flag, with one fd unless NOFD. */
int vu_vring_on_fd(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	int r = vu_msg_need(m, 8);
	if (r)
		return r;
	uint64_t v64 = vu_get64(m, 0);
	unsigned idx = (unsigned)(v64 & VU_VRING_IDX_MASK);
	bool nofd = (v64 & VU_VRING_NOFD_MASK) != 0;
	if (idx >= d->num_queues || (v64 & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD_MASK)))
		return -EPROTO;
	if (nfds != (nofd ? 0u : 1u))
		return 1;
	struct vu_vring *v = &d->vring[idx];
	int fd = nofd ? -1 : fds[0];
	if (!nofd)
		fds[0] = -1;
	switch (m->request) {
	case VU_SET_VRING_KICK:
		return set_kick(d, idx, fd);
	case VU_SET_VRING_CALL:
		close_fd(&v->call_fd);
		v->call_fd = fd;
		return 0;
	default:
		close_fd(&v->err_fd);
		v->err_fd = fd;
		return 0;
	}
}

int vu_vring_on_enable(struct vu_dev *d, const struct vu_msg *m)
{
	unsigned idx;
	int r = vring_msg(d, m, 8, &idx);
	if (r)
		return r;
	uint32_t on = vu_get32(m, 4);
	if (on > 1)
		return 1;
	d->vring[idx].enabled = on == 1;
	if (on)
		vu_vring_try_start(d, idx);
	return 0;
}

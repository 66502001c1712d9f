/* SPDX-License-Identifier: MIT */
/* vhost-user vrings (see vring.h). */
#define _GNU_SOURCE
#include "vring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

bool vu_vring_packed(const struct vu_dev *d)
{
	return (d->features & VIRTQ_FEATURE(VIRTQ_F_RING_PACKED)) != 0;
}

/* Records where running ring idx stands, as GET_VRING_BASE reports it.
 * Packed: completed chains are published first, as virtq_next_used()
 * counts them (<virtq/inflight.h>); the devices publish after every batch,
 * so this is normally a no-op. */
static void record_base(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	if (vu_vring_packed(d)) {
		(void)virtq_publish_used(&v->q);
		v->base = VIRTQ_PACKED_BASE(virtq_next_avail(&v->q), virtq_next_used(&v->q));
	} else {
		v->base = virtq_next_avail(&v->q);
	}
	v->base_set = true;
}

/* "avail index N" (split) or the packed base with its positions and wrap
 * counters, for the log */
static const char *base_text(const struct vu_dev *d, uint32_t base, char *buf, size_t len)
{
	if (vu_vring_packed(d))
		snprintf(buf, len, "packed base %#x (avail position %u wrap %u, used position %u wrap %u)",
			 base, base & 0x7fffu, (base >> 15) & 1u, (base >> 16) & 0x7fffu, base >> 31);
	else
		snprintf(buf, len, "avail index %u", base);
	return buf;
}

void vu_vring_stop(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	if (v->started) {
		d->ops->ring_stopped(d, idx);
		record_base(d, idx);
		char text[96];
		log_debug("ring %u stopped at %s%s", idx, base_text(d, v->base, text, sizeof(text)),
			  virtq_is_broken(&v->q) ? " (was broken)" : "");
	}
	ev_del(d->loop, &v->kick);
	close_fd(&v->kick_fd);
	virtq_reset(&v->q);
	v->started = false;
}

bool vu_vring_park_packed(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	if (!v->started || !vu_vring_packed(d) || virtq_is_broken(&v->q) || virtq_in_flight(&v->q))
		return false;
	record_base(d, idx);
	ev_del(d->loop, &v->kick); /* the kick fd stays: try_start watches it again */
	virtq_reset(&v->q);
	v->started = false;
	return true;
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
	v->base_set = false;
	v->reported = false;
	v->enabled = false;
}

/* The ring's areas as guest-physical addresses, 0 or -1 when one lies
 * outside the memory table. Packed: the descriptor ring and the two event
 * suppression structures (virtio 2.8.10), in SET_VRING_ADDR's desc, avail
 * (driver) and used (device) fields. */
static int ring_addrs(const struct vu_dev *d, const struct vu_vring *v,
		      struct virtq_ring_addrs *a)
{
	bool packed = vu_vring_packed(d);
	uint64_t desc_bytes = packed ? VIRTQ_PACKED_RING_BYTES(v->num) : VIRTQ_DESC_TABLE_BYTES(v->num);
	uint64_t driver_bytes = packed ? VIRTQ_PACKED_EVENT_BYTES : VIRTQ_AVAIL_RING_BYTES(v->num);
	uint64_t device_bytes = packed ? VIRTQ_PACKED_EVENT_BYTES : VIRTQ_USED_RING_BYTES(v->num);
	if (memtable_uva_to_gpa(&d->mem, v->desc_uva, desc_bytes, &a->desc_area) ||
	    memtable_uva_to_gpa(&d->mem, v->avail_uva, driver_bytes, &a->driver_area) ||
	    memtable_uva_to_gpa(&d->mem, v->used_uva, device_bytes, &a->device_area))
		return -1;
	return 0;
}

/* Marks the ring's descriptor journal never used (version 0, the layout of
 * <virtq/inflight.h>): the resume then takes the front-end's base, which
 * it can only do with nothing in flight. A journal that was used says
 * where the ring is better than a base a front-end that lost us resends,
 * but not better than one it chose after asking us. */
static void forget_journal(struct vu_vring *v)
{
	const uint16_t never_used = 0;
	memcpy((unsigned char *)v->q.journal + 8, &never_used, sizeof(never_used));
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
	/* A base other than a fresh ring's (split 0; packed positions 0 with
	 * both wrap counters 1) resumes where the ring stopped: the chains the
	 * ring's in-flight area still holds are in flight again
	 * (<virtq/inflight.h>). A shared area always resumes: it may come from
	 * a back-end process that died. For a split ring the front-end then
	 * rewinds the base to used.idx; a packed ring has no such index in
	 * guest memory, so QEMU sends the base it last knew, and the ring's
	 * descriptor journal says where it really is and what it holds. */
	bool packed = vu_vring_packed(d);
	uint32_t fresh = packed ? VIRTQ_PACKED_BASE_FRESH : 0;
	uint32_t base = v->base_set ? v->base : fresh;
	bool resume = base != fresh || vu_inflight_shared(d, idx);
	if (r == 0 && !packed && base > UINT16_MAX) {
		/* SET_VRING_BASE came before SET_FEATURES chose split rings */
		log_info("ring %u: base %#x is no split ring's avail index: not started", idx, base);
		virtq_reset(&v->q);
		return;
	}
	if (r == 0 && packed && resume && v->reported && base != v->reported_base)
		forget_journal(v); /* the front-end moves the ring: its base, not the journal */
	v->reported = false;
	if (r == 0 && !resume)
		r = virtq_activate(&v->q);
	else if (r == 0)
		r = packed ? virtq_resume_packed(&v->q, base) : virtq_resume(&v->q, (uint16_t)base);
	if (r < 0) {
		char text[96];
		log_info("ring %u: refused by virtq at %s: %s: not started%s", idx,
			 base_text(d, base, text, sizeof(text)), virtq_errname(r),
			 packed && r == -VIRTQ_ENOTSUP
				 ? " (chains in flight, and a journal never used: nothing records"
				   " their descriptors)"
				 : "");
		virtq_reset(&v->q);
		return;
	}
	if (ev_add(d->loop, &v->kick, v->kick_fd, EPOLLIN) < 0) {
		log_info("ring %u: cannot watch the kick fd", idx);
		virtq_reset(&v->q);
		return;
	}
	v->started = true;
	/* room for no head: -VIRTQ_ENOSPC says "some chains are in flight" */
	uint16_t heads[1];
	if (virtq_in_flight_list(&v->q, heads, 0) == -VIRTQ_ENOSPC)
		log_info("ring %u resumed at avail index %u with chains in flight", idx,
			 virtq_next_avail(&v->q));
	/* the layout in force, in a line the end-to-end tests check; where the
	 * ring really is, and the front-end's base when the in-flight record
	 * knew better (a packed ring's journal after a crash) */
	const uint32_t at = packed ? VIRTQ_PACKED_BASE(virtq_next_avail(&v->q), virtq_next_used(&v->q))
				   : virtq_next_avail(&v->q);
	char text[96], given[96] = "";
	if (packed && at != base)
		base_text(d, base, given, sizeof(given));
	log_info("ring %u started: %s, features %#llx, size %u, %s%s%s", idx,
		 packed ? "packed layout (VIRTIO_F_RING_PACKED, bit 34)" : "split layout",
		 (unsigned long long)d->features, v->num, base_text(d, at, text, sizeof(text)),
		 given[0] ? "; the front-end sent " : "", given);
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
	/* index, flags (LOG), desc, used, avail, log address. The used ring is
	 * logged at the guest-physical address of used_uva, which is what the
	 * log address names, so that one is not needed. */
	uint64_t desc = vu_get64(m, 8), used = vu_get64(m, 16), avail = vu_get64(m, 24);
	if (v->started) {
		/* QEMU sends the same addresses again with the LOG flag when
		 * migration starts; only a move is refused */
		bool same = desc == v->desc_uva && used == v->used_uva && avail == v->avail_uva;
		return same ? 0 : 1;
	}
	v->desc_uva = desc;
	v->used_uva = used;
	v->avail_uva = avail;
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
	/* split: a 16-bit avail index; packed: any 32-bit value, which
	 * virtq_resume_packed() checks at the start */
	bool split = d->features_set && !vu_vring_packed(d);
	if ((split && base > UINT16_MAX) || d->vring[idx].started)
		return 1;
	d->vring[idx].base = base;
	d->vring[idx].base_set = true;
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
	/* a ring never started nor given a base is at a fresh ring's */
	uint32_t fresh = vu_vring_packed(d) ? VIRTQ_PACKED_BASE_FRESH : 0;
	uint32_t i32 = idx, base = d->vring[idx].base_set ? d->vring[idx].base : fresh;
	memcpy(out, &i32, 4);
	memcpy(out + 4, &base, 4);
	d->vring[idx].reported = true;
	d->vring[idx].reported_base = base;
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

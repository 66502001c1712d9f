/* SPDX-License-Identifier: MIT */
/* Inflight I/O tracking in shared memory (see inflight.h). */
#define _GNU_SOURCE
#include "inflight.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <virtq/inflight.h>

#include "fd_extent.h"
#include "log.h"
#include "vhost_user.h"

/* struct VhostUserInflight: u64 mmap_size, u64 mmap_offset, u16 num_queues,
 * u16 queue_size (QEMU sends 24 bytes: the struct's padding). */
#define INFLIGHT_MSG_SIZE 20u

struct inflight_msg {
	uint64_t mmap_size, mmap_offset;
	uint16_t num_queues, queue_size;
};

static struct inflight_msg read_msg(const struct vu_msg *m)
{
	struct inflight_msg f;
	f.mmap_size = vu_get64(m, 0);
	f.mmap_offset = vu_get64(m, 8);
	memcpy(&f.num_queues, m->p + 16, 2);
	memcpy(&f.queue_size, m->p + 18, 2);
	return f;
}

static int reply(struct vu_dev *d, const struct inflight_msg *f, int fd)
{
	unsigned char out[24] = { 0 };
	memcpy(out, &f->mmap_size, 8);
	memcpy(out + 8, &f->mmap_offset, 8);
	memcpy(out + 16, &f->num_queues, 2);
	memcpy(out + 18, &f->queue_size, 2);
	return vu_msg_reply(d->sock.fd, VU_GET_INFLIGHT_FD, out, sizeof(out), fd);
}

static size_t round_up(size_t n)
{
	return (n + VU_INFLIGHT_AREA_ALIGN - 1) / VU_INFLIGHT_AREA_ALIGN * VU_INFLIGHT_AREA_ALIGN;
}

/* Of one queue's area: the per-id part, then the journal. */
static size_t per_id_bytes(uint16_t queue_size)
{
	return round_up(VIRTQ_INFLIGHT_BYTES(queue_size));
}

size_t vu_inflight_area_bytes(uint16_t queue_size)
{
	return per_id_bytes(queue_size) + round_up(VIRTQ_JOURNAL_BYTES(queue_size));
}

void vu_inflight_init(struct vu_inflight *f)
{
	memset(f, 0, sizeof(*f));
}

void vu_inflight_clear(struct vu_dev *d)
{
	struct vu_inflight *f = &d->inflight;
	if (f->map)
		munmap(f->map, f->map_len);
	vu_inflight_init(f);
	for (unsigned i = 0; i < d->num_queues; i++)
		(void)vu_inflight_attach(d, i);
}

/* A geometry we can serve: 1..num_queues queues of a power-of-two size. */
static bool geometry_ok(const struct vu_dev *d, const struct inflight_msg *f)
{
	return f->num_queues >= 1 && f->num_queues <= d->num_queues && f->queue_size >= 1 &&
	       f->queue_size <= VU_MAX_QUEUE_SIZE && !(f->queue_size & (f->queue_size - 1));
}

static bool negotiated(const struct vu_dev *d)
{
	return (d->protocol_features & VIRTQ_FEATURE(VU_PROTOCOL_F_INFLIGHT_SHMFD)) != 0;
}

int vu_inflight_on_get(struct vu_dev *d, const struct vu_msg *m)
{
	int r = vu_msg_need(m, INFLIGHT_MSG_SIZE);
	if (r)
		return r;
	struct inflight_msg f = read_msg(m);
	if (!negotiated(d) || !geometry_ok(d, &f)) {
		log_info("GET_INFLIGHT_FD: %u queues of %u%s: refused", f.num_queues, f.queue_size,
			 negotiated(d) ? "" : " without INFLIGHT_SHMFD");
		f.mmap_size = 0; /* "no inflight region" for the front-end */
		return reply(d, &f, -1);
	}
	f.mmap_size = (uint64_t)f.num_queues * vu_inflight_area_bytes(f.queue_size);
	f.mmap_offset = 0;
	/* a fresh memfd is zero: every area "never used" (version 0) */
	int fd = memfd_create("virtq-inflight", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)f.mmap_size) < 0) {
		log_info("GET_INFLIGHT_FD: memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		f.mmap_size = 0;
		return reply(d, &f, -1);
	}
	r = reply(d, &f, fd);
	close(fd); /* the front-end keeps it; we map what SET_INFLIGHT_FD gives */
	log_debug("inflight region: %u queues of %u, %llu bytes", f.num_queues, f.queue_size,
		  (unsigned long long)f.mmap_size);
	return r;
}

/* Whether [offset, offset + size) of fd can be mapped: no overflow, the
 * areas 8-aligned, and within the file (else touching them raises SIGBUS). */
static int check_region(int fd, const struct inflight_msg *f, size_t *map_len)
{
	if (f->mmap_offset % VIRTQ_INFLIGHT_ALIGN ||
	    f->mmap_size < (uint64_t)f->num_queues * vu_inflight_area_bytes(f->queue_size))
		return -EINVAL;
	return vu_fd_extent(fd, f->mmap_offset, f->mmap_size, map_len);
}

int vu_inflight_on_set(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	int r = vu_msg_need(m, INFLIGHT_MSG_SIZE);
	if (r)
		return r;
	if (nfds != 1 || !negotiated(d))
		return 1;
	struct inflight_msg f = read_msg(m);
	size_t map_len = 0;
	if (!geometry_ok(d, &f) || (r = check_region(fds[0], &f, &map_len)) < 0) {
		log_info("SET_INFLIGHT_FD: %u queues of %u, %llu bytes at %llu: refused",
			 f.num_queues, f.queue_size, (unsigned long long)f.mmap_size,
			 (unsigned long long)f.mmap_offset);
		return 1;
	}
	for (unsigned i = 0; i < d->num_queues; i++)
		if (d->vring[i].started) {
			log_info("SET_INFLIGHT_FD while ring %u runs: refused", i);
			return 1;
		}
	void *p = mmap(0, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (p == MAP_FAILED) {
		log_info("SET_INFLIGHT_FD: mmap: %s", strerror(errno));
		return 1;
	}
	vu_inflight_clear(d);
	d->inflight.map = p;
	d->inflight.map_len = map_len;
	d->inflight.offset = (size_t)f.mmap_offset;
	d->inflight.num_queues = f.num_queues;
	d->inflight.queue_size = f.queue_size;
	for (unsigned i = 0; i < d->num_queues; i++)
		(void)vu_inflight_attach(d, i);
	log_debug("inflight region in use: %u queues of %u", f.num_queues, f.queue_size);
	return 0;
}

bool vu_inflight_shared(const struct vu_dev *d, unsigned idx)
{
	return d->inflight.map && idx < d->inflight.num_queues;
}

int vu_inflight_attach(struct vu_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vring[idx];
	if (!vu_inflight_shared(d, idx)) {
		int r = virtq_set_inflight(&v->q, v->inflight, sizeof(v->inflight));
		return r ? r : virtq_set_journal(&v->q, v->journal, sizeof(v->journal));
	}
	const struct vu_inflight *f = &d->inflight;
	const size_t bytes = vu_inflight_area_bytes(f->queue_size),
		     per_id = per_id_bytes(f->queue_size);
	unsigned char *area = (unsigned char *)f->map + f->offset + idx * bytes;
	int r = virtq_set_inflight(&v->q, area, per_id);
	return r ? r : virtq_set_journal(&v->q, area + per_id, bytes - per_id);
}

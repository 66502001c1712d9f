/* SPDX-License-Identifier: MIT */
/*
 * Peer: Linux's vringh (drivers/vhost/vringh.c), the "user" flavour: rings and
 * buffers are addressed through a getrange() callback translating guest
 * addresses to our mapping, as vhost does for a userspace guest. Built by
 * scripts/bench.sh --peers against Debian's linux-source package with the
 * kernel's own userspace shims (tools/virtio); nothing of it is in our tree.
 *
 * Same guest driver (bench/guest.h) and same workloads as bench_virtq.c. The
 * device halves use vringh's API the way a vhost device would: getdesc, walk
 * the iovecs, complete (complete_multi for a batch), need_notify.
 */
#define _GNU_SOURCE
#include <linux/kernel.h>
#include <linux/err.h>
#include <linux/virtio.h>
#include <linux/vringh.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_config.h>
#include <linux/uaccess.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "guest.h"
#include "harness.h"

/* The shims' globals (tools/virtio/linux/uaccess.h, linux/kernel.h). */
void *__user_addr_min, *__user_addr_max;
void *__kmalloc_fake, *__kfree_ignore_start, *__kfree_ignore_end;

struct peer {
	unsigned char *mem;
	struct vringh vrh;
	struct vringh_iov riov, wiov;
	struct iovec rvec[2 * BG_QSIZE], wvec[2 * BG_QSIZE];
	struct vring_used_elem used[BG_QSIZE];
	struct bg g;
	uint64_t k;
};

static unsigned char *guest_mem;

/* Guest-physical [0, 16 MiB) is our mapping. */
static bool getrange(struct vringh *vrh, u64 addr, struct vringh_range *r)
{
	(void)vrh;
	if (addr >= BG_MEM_SIZE)
		return false;
	r->start = 0;
	r->end_incl = BG_MEM_SIZE - 1;
	r->offset = (u64)(uintptr_t)guest_mem;
	return true;
}

static uint64_t walk(const struct vringh_iov *v)
{
	uint64_t sum = 0;
	for (unsigned i = v->i; i < v->used; i++)
		sum += (uintptr_t)v->iov[i].iov_base + v->iov[i].iov_len;
	return sum;
}

static size_t iov_bytes(const struct vringh_iov *v)
{
	size_t n = 0;
	for (unsigned i = v->i; i < v->used; i++)
		n += v->iov[i].iov_len;
	return n - v->consumed;
}

static int getdesc(struct peer *p, u16 *head)
{
	return vringh_getdesc_user(&p->vrh, &p->riov, &p->wiov, getrange, head);
}

static int w1_multi(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		u16 head;
		int r;
		unsigned n = 0;
		bg_post_multi(&p->g);
		while ((r = getdesc(p, &head)) == 1) {
			sum += walk(&p->riov) + walk(&p->wiov);
			p->used[n].id = cpu_to_vringh32(&p->vrh, head);
			p->used[n].len = 0;
			n++;
		}
		if (r < 0 || n != BG_BATCH || vringh_complete_multi_user(&p->vrh, p->used, n) ||
		    bg_reap(&p->g, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static int one_chain(struct peer *p, uint64_t *sum)
{
	u16 head;
	if (getdesc(p, &head) != 1 || p->riov.used + p->wiov.used != BG_BATCH)
		return -1;
	*sum += walk(&p->riov) + walk(&p->wiov);
	if (vringh_complete_user(&p->vrh, head, (u32)iov_bytes(&p->wiov)))
		return -1;
	return bg_reap(&p->g, sum) == 1 ? 0 : -1;
}

static int w2_single(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bg_post_single(&p->g);
		if (one_chain(p, &sum))
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static int w3_single_indirect(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bg_post_indirect(&p->g);
		if (one_chain(p, &sum))
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W4: vringh adds used entries in a batch: 128 entries, one complete_multi. */
static int w4_add_used(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		for (unsigned i = 0; i < BG_BATCH; i++) {
			p->used[i].id = cpu_to_vringh32(&p->vrh, 123);
			p->used[i].len = cpu_to_vringh32(&p->vrh, 0x1000);
		}
		if (vringh_complete_multi_user(&p->vrh, p->used, BG_BATCH) ||
		    bg_reap(&p->g, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static int w5_steady(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, p->k++) {
		unsigned char req[16];
		u16 head;
		bg_post_steady(&p->g, p->k);
		if (getdesc(p, &head) != 1 ||
		    vringh_iov_pull_user(&p->riov, req, sizeof(req)) != (ssize_t)sizeof(req))
			return -1;
		sum += req[0] + walk(&p->wiov);
		if (vringh_complete_user(&p->vrh, head, 4096) ||
		    vringh_need_notify_user(&p->vrh) != 1 || bg_reap(&p->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W6: vringh has no vsock layer: the device parses on top of it as
 * vhost-vsock does (copy the header out, check len against what is left). */
static int w6_vsock_tx(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, p->k++) {
		unsigned char hdr[44];
		uint32_t len;
		u16 head;
		bg_post_vsock(&p->g, p->k);
		if (getdesc(p, &head) != 1 || p->wiov.used ||
		    vringh_iov_pull_user(&p->riov, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
			return -1;
		memcpy(&len, hdr + 24, sizeof(len));
		len = le32toh(len);
		if (len > 65536 || len > iov_bytes(&p->riov) || len != 4096)
			return -1;
		sum += hdr[16] + walk(&p->riov);
		if (vringh_complete_user(&p->vrh, head, 0) || bg_reap(&p->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static struct peer *setup(u64 features)
{
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->mem = mmap(NULL, BG_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED) {
		free(p);
		return NULL;
	}
	guest_mem = p->mem;
	__user_addr_min = p->mem;
	__user_addr_max = p->mem + BG_MEM_SIZE;
	if (vringh_init_user(&p->vrh, features | (1ULL << VIRTIO_F_VERSION_1), BG_QSIZE, true,
			     (void *)(p->mem + BG_DESC), (void *)(p->mem + BG_AVAIL),
			     (void *)(p->mem + BG_USED))) {
		munmap(p->mem, BG_MEM_SIZE);
		free(p);
		return NULL;
	}
	vringh_iov_init(&p->riov, p->rvec, 2 * BG_QSIZE);
	vringh_iov_init(&p->wiov, p->wvec, 2 * BG_QSIZE);
	bg_init(&p->g, p->mem);
	return p;
}

static void teardown(struct peer *p)
{
	if (p)
		munmap(p->mem, BG_MEM_SIZE);
	free(p);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		bench_fn fn;
		u64 features;
	} workloads[] = {
		{ "multi", w1_multi, 0 },
		{ "single", w2_single, 0 },
		{ "single_indirect", w3_single_indirect, 1ULL << VIRTIO_RING_F_INDIRECT_DESC },
		{ "add_used", w4_add_used, 0 },
		{ "steady", w5_steady, 1ULL << VIRTIO_RING_F_EVENT_IDX },
		{ "vsock_tx", w6_vsock_tx, 0 },
	};
	struct bench_opts o;
	int status = 0;
	bench_parse(&o, "vringh", argc, argv);
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (!bench_selected(&o, workloads[i].name))
			continue;
		struct peer *p = setup(workloads[i].features);
		if (!p || bench_run(&o, workloads[i].name, workloads[i].fn, p))
			status = 1;
		teardown(p);
	}
	return bench_finish(&o, status);
}

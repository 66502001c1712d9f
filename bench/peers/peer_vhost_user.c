/* SPDX-License-Identifier: MIT */
/*
 * Peer: QEMU's libvhost-user (subprojects/libvhost-user), the library
 * vhost-user backends link. Built by scripts/bench.sh --peers from Debian's
 * qemu source package; nothing of it is in our tree.
 *
 * The library's source is compiled into this file (PEER_LIBVHOST_USER_C is
 * its path) because the notification decision, vring_notify(), is static:
 * its public wrapper vu_queue_notify() also writes the call eventfd, a
 * syscall virtq leaves to the VMM. Everything else goes through the public
 * API: the device is set up as after the vhost-user handshake (one memory
 * region mapping guest-physical [0, 16 MiB), ring addresses set, queue
 * started), then vu_queue_pop / vu_queue_fill / vu_queue_flush / vu_queue_push.
 *
 * Same guest driver (bench/guest.h) and workloads as bench_virtq.c.
 */
#define _GNU_SOURCE
#include PEER_LIBVHOST_USER_C

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "guest.h"
#include "harness.h"

struct peer {
	unsigned char *mem;
	VuDev dev;
	VuVirtq *vq;
	struct bg g;
	uint64_t k;
	int fds[2];
};

static bool peer_failed;

static void on_panic(VuDev *dev, const char *err)
{
	(void)dev;
	fprintf(stderr, "libvhost-user: %s\n", err);
	peer_failed = true;
}

static void set_watch(VuDev *dev, int fd, int condition, vu_watch_cb cb, void *data)
{
	(void)dev, (void)fd, (void)condition, (void)cb, (void)data;
}

static void remove_watch(VuDev *dev, int fd)
{
	(void)dev, (void)fd;
}

static const VuDevIface iface;

static uint64_t walk(const struct iovec *v, unsigned n)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < n; i++)
		sum += (uintptr_t)v[i].iov_base + v[i].iov_len;
	return sum;
}

static size_t gather(void *dst, size_t len, const struct iovec *v, unsigned n)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		size_t take = v[i].iov_len < len - done ? v[i].iov_len : len - done;
		memcpy((char *)dst + done, v[i].iov_base, take);
		done += take;
	}
	return done;
}

static VuVirtqElement *pop(struct peer *p)
{
	return vu_queue_pop(&p->dev, p->vq, sizeof(VuVirtqElement));
}

static int w1_multi(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		VuVirtqElement *e;
		unsigned n = 0;
		bg_post_multi(&p->g);
		while ((e = pop(p))) {
			sum += walk(e->out_sg, e->out_num) + walk(e->in_sg, e->in_num);
			vu_queue_fill(&p->dev, p->vq, e, 0, n++);
			free(e);
		}
		vu_queue_flush(&p->dev, p->vq, n);
		if (peer_failed || n != BG_BATCH || bg_reap(&p->g, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static int one_chain(struct peer *p, uint64_t *sum)
{
	VuVirtqElement *e = pop(p);
	if (!e || e->out_num + e->in_num != BG_BATCH) {
		free(e);
		return -1;
	}
	*sum += walk(e->out_sg, e->out_num) + walk(e->in_sg, e->in_num);
	size_t wlen = 0;
	for (unsigned i = 0; i < e->in_num; i++)
		wlen += e->in_sg[i].iov_len;
	vu_queue_push(&p->dev, p->vq, e, (unsigned)wlen);
	free(e);
	return !peer_failed && bg_reap(&p->g, sum) == 1 ? 0 : -1;
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

/* W4: 128 x vu_queue_fill of element 123, one vu_queue_flush. */
static int w4_add_used(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	VuVirtqElement e = { .index = 123 };
	for (uint64_t it = 0; it < iters; it++) {
		p->vq->inuse = BG_BATCH; /* as after 128 pops, like bench_virtq.c */
		for (unsigned i = 0; i < BG_BATCH; i++)
			vu_queue_fill(&p->dev, p->vq, &e, 0x1000, i);
		vu_queue_flush(&p->dev, p->vq, BG_BATCH);
		if (peer_failed || bg_reap(&p->g, &sum) != BG_BATCH)
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
		bg_post_steady(&p->g, p->k);
		VuVirtqElement *e = pop(p);
		if (!e)
			return -1;
		if (gather(req, sizeof(req), e->out_sg, e->out_num) != sizeof(req)) {
			free(e);
			return -1;
		}
		sum += req[0] + walk(e->in_sg, e->in_num);
		vu_queue_push(&p->dev, p->vq, e, 4096);
		free(e);
		if (!vring_notify(&p->dev, p->vq) || peer_failed || bg_reap(&p->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W6: libvhost-user has no vsock layer: the device parses on top of it
 * (copy the header out, check len against the readable bytes left). */
static int w6_vsock_tx(void *ctx, uint64_t iters)
{
	struct peer *p = ctx;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, p->k++) {
		unsigned char hdr[44];
		uint32_t len;
		bg_post_vsock(&p->g, p->k);
		VuVirtqElement *e = pop(p);
		if (!e)
			return -1;
		size_t avail = 0;
		for (unsigned i = 0; i < e->out_num; i++)
			avail += e->out_sg[i].iov_len;
		if (e->in_num || gather(hdr, sizeof(hdr), e->out_sg, e->out_num) != sizeof(hdr)) {
			free(e);
			return -1;
		}
		memcpy(&len, hdr + 24, sizeof(len));
		len = le32toh(len);
		if (len > 65536 || len > avail - sizeof(hdr) || len != 4096) {
			free(e);
			return -1;
		}
		sum += hdr[16] + walk(e->out_sg, e->out_num);
		vu_queue_push(&p->dev, p->vq, e, 0);
		free(e);
		if (peer_failed || bg_reap(&p->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static struct peer *setup(uint64_t features)
{
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->mem = mmap(NULL, BG_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED || socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds) ||
	    !vu_init(&p->dev, 1, p->fds[0], on_panic, NULL, set_watch, remove_watch, &iface)) {
		fprintf(stderr, "libvhost-user: setup failed\n");
		exit(1);
	}
	/* What VHOST_USER_SET_FEATURES, SET_MEM_TABLE, SET_VRING_NUM/ADDR/BASE
	 * and SET_VRING_KICK would have left behind. */
	p->dev.features = features | (1ULL << VIRTIO_F_VERSION_1);
	p->dev.nregions = 1;
	p->dev.regions[0] = (VuDevRegion){ .gpa = 0, .size = BG_MEM_SIZE, .qva = 0,
					   .mmap_offset = 0, .mmap_addr = (uintptr_t)p->mem };
	p->vq = vu_get_queue(&p->dev, 0);
	p->vq->vring.num = BG_QSIZE;
	p->vq->vring.desc = (void *)(p->mem + BG_DESC);
	p->vq->vring.avail = (void *)(p->mem + BG_AVAIL);
	p->vq->vring.used = (void *)(p->mem + BG_USED);
	p->vq->enable = 1;
	p->vq->started = true;
	bg_init(&p->g, p->mem);
	return p;
}

static void teardown(struct peer *p)
{
	if (!p)
		return;
	vu_deinit(&p->dev);
	close(p->fds[1]);
	munmap(p->mem, BG_MEM_SIZE);
	free(p);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		bench_fn fn;
		uint64_t features;
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
	bench_parse(&o, "libvhost-user", argc, argv);
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (!bench_selected(&o, workloads[i].name))
			continue;
		struct peer *p = setup(workloads[i].features);
		peer_failed = false;
		if (bench_run(&o, workloads[i].name, workloads[i].fn, p))
			status = 1;
		teardown(p);
	}
	return bench_finish(&o, status);
}

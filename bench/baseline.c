/* SPDX-License-Identifier: MIT */
/*
 * The physical floor: the same workloads and the same guest driver, with a
 * device that trusts the ring completely. It copies descriptors out into a
 * segment array and nothing else: no index, length, address, loop, ordering
 * or overflow check, no memory map (guest memory is one flat mapping), no
 * error paths. It must never see guest data in a real VMM; it tells how much
 * of virtq's time is the validation that makes it safe.
 *
 * Ring accesses use the same C11 atomics (acquire on avail.idx, release on
 * used.idx, full fence before reading used_event) as virtq, because those are
 * required for correctness on any implementation, trusted or not.
 */
#define _DEFAULT_SOURCE /* mmap, MAP_ANONYMOUS */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "guest.h"
#include "harness.h"

struct seg {
	unsigned char *addr;
	uint32_t len;
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct bq {
	unsigned char *mem;
	struct desc *desc;
	_Atomic uint16_t *avail, *used; /* ring starts as arrays of u16 */
	uint16_t next_avail, next_used, signalled;
	bool event_idx;
	struct seg segs[2 * BG_QSIZE];
	uint32_t nseg, nread, write_len;
	uint16_t id;
	struct bg g;
	uint64_t k;
};

static void walk_table(struct bq *b, const struct desc *table, uint16_t i)
{
	for (;;) {
		struct desc d = table[i];
		b->segs[b->nseg++] = (struct seg){ b->mem + d.addr, d.len };
		if (d.flags & BG_F_WRITE)
			b->write_len += d.len;
		else
			b->nread++;
		if (!(d.flags & BG_F_NEXT))
			return;
		i = d.next;
	}
}

/* 1 with a chain in b->segs, 0 if the ring is empty. */
static int bpop(struct bq *b)
{
	uint16_t idx = atomic_load_explicit(&b->avail[1], memory_order_acquire);
	if (idx == b->next_avail)
		return 0;
	uint16_t head = atomic_load_explicit(&b->avail[2 + (b->next_avail & (BG_QSIZE - 1))],
					     memory_order_relaxed);
	b->next_avail++;
	b->nseg = b->nread = b->write_len = 0;
	b->id = head;
	const struct desc *d = &b->desc[head];
	if (d->flags & BG_F_INDIRECT)
		walk_table(b, (const struct desc *)(void *)(b->mem + d->addr), 0);
	else
		walk_table(b, b->desc, head);
	if (b->event_idx) /* avail_event */
		atomic_store_explicit(&b->used[2 + 4 * BG_QSIZE], b->next_avail,
				      memory_order_relaxed);
	return 1;
}

static void bused(struct bq *b, uint16_t id, uint32_t len)
{
	uint32_t *e = (uint32_t *)(void *)(b->mem + BG_USED + 4 + 8u * (b->next_used & (BG_QSIZE - 1)));
	e[0] = id;
	e[1] = len;
	b->next_used++;
}

static void bpublish(struct bq *b)
{
	atomic_store_explicit(&b->used[1], b->next_used, memory_order_release);
}

static int bnotify(struct bq *b)
{
	atomic_thread_fence(memory_order_seq_cst);
	uint16_t event = atomic_load_explicit(&b->avail[2 + BG_QSIZE], memory_order_relaxed);
	uint16_t old = b->signalled, now = b->next_used;
	b->signalled = now;
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

static uint64_t walk(const struct bq *b)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < b->nseg; i++)
		sum += (uintptr_t)b->segs[i].addr + b->segs[i].len;
	return sum;
}

static int w1_multi(void *p, uint64_t iters)
{
	struct bq *b = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bg_post_multi(&b->g);
		uint32_t n = 0;
		while (bpop(b)) {
			sum += walk(b);
			bused(b, b->id, 0);
			n++;
		}
		bpublish(b);
		if (n != BG_BATCH || bg_reap(&b->g, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static int one_chain(struct bq *b, uint64_t *sum)
{
	if (!bpop(b) || b->nseg != BG_BATCH)
		return -1;
	*sum += walk(b);
	bused(b, b->id, b->write_len);
	bpublish(b);
	return bg_reap(&b->g, sum) == 1 ? 0 : -1;
}

static int w2_single(void *p, uint64_t iters)
{
	struct bq *b = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bg_post_single(&b->g);
		if (one_chain(b, &sum))
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static int w3_single_indirect(void *p, uint64_t iters)
{
	struct bq *b = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bg_post_indirect(&b->g);
		if (one_chain(b, &sum))
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static int w4_add_used(void *p, uint64_t iters)
{
	struct bq *b = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		for (uint32_t i = 0; i < BG_BATCH; i++)
			bused(b, 123, 0x1000);
		bpublish(b);
		if (bg_reap(&b->g, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static int w5_steady(void *p, uint64_t iters)
{
	struct bq *b = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, b->k++) {
		unsigned char req[16];
		bg_post_steady(&b->g, b->k);
		if (!bpop(b) || b->nread != 1 || b->segs[0].len < sizeof(req))
			return -1;
		memcpy(req, b->segs[0].addr, sizeof(req));
		sum += req[0] + (uintptr_t)b->segs[1].addr;
		bused(b, b->id, 4096);
		bpublish(b);
		if (bnotify(b) != 1 || bg_reap(&b->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W6: header copied out of the first segment, len taken as is. */
static int w6_vsock_tx(void *p, uint64_t iters)
{
	struct bq *b = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, b->k++) {
		unsigned char hdr[44];
		uint32_t len;
		bg_post_vsock(&b->g, b->k);
		if (!bpop(b))
			return -1;
		memcpy(hdr, b->segs[0].addr, sizeof(hdr));
		memcpy(&len, hdr + 24, sizeof(len));
		if (len != 4096)
			return -1;
		sum += hdr[16] + (uintptr_t)b->segs[1].addr;
		bused(b, b->id, 0);
		bpublish(b);
		if (bg_reap(&b->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

static struct bq *setup(bool event_idx)
{
	struct bq *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->mem = mmap(NULL, BG_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED) {
		free(b);
		return NULL;
	}
	b->desc = (struct desc *)(void *)(b->mem + BG_DESC);
	b->avail = (_Atomic uint16_t *)(void *)(b->mem + BG_AVAIL);
	b->used = (_Atomic uint16_t *)(void *)(b->mem + BG_USED);
	b->event_idx = event_idx;
	bg_init(&b->g, b->mem);
	return b;
}

static void teardown(struct bq *b)
{
	if (b)
		munmap(b->mem, BG_MEM_SIZE);
	free(b);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		bench_fn fn;
		bool event_idx;
	} workloads[] = {
		{ "multi", w1_multi, false },	{ "single", w2_single, false },
		{ "single_indirect", w3_single_indirect, false },
		{ "add_used", w4_add_used, false }, { "steady", w5_steady, true },
		{ "vsock_tx", w6_vsock_tx, false },
	};
	struct bench_opts o;
	int status = 0;
	bench_parse(&o, "baseline", argc, argv);
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (!bench_selected(&o, workloads[i].name))
			continue;
		struct bq *b = setup(workloads[i].event_idx);
		if (!b || bench_run(&o, workloads[i].name, workloads[i].fn, b))
			status = 1;
		teardown(b);
	}
	return bench_finish(&o, status);
}

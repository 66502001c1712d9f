/* SPDX-License-Identifier: MIT */
/*
 * virtq's datapath on the workloads of bench/README.md "Workloads".
 * One iteration = the guest driver's half (bench/guest.h) + the device's half
 * through virtq's public API, both inside the timed loop.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "harness.h"
#include "virtq/mock.h"
#include "virtq/virtq.h"
#ifdef VIRTQ_BENCH_VSOCK
#include "virtq/vsock.h"
#endif

struct ctx {
	struct virtq_mock m;
	struct virtq q;
	struct bg g;
	struct virtq_chain c;
	struct virtq_seg segs[2 * BG_QSIZE];
	/* W1: one chain per posted buffer, each with its own segments */
	struct virtq_chain chains[BG_BATCH];
	struct virtq_seg chain_segs[BG_BATCH][4];
	struct virtq_used_elem done[BG_BATCH]; /* W1, W4: the batch's completions */
	uint64_t k; /* iterations so far (W5, W6 cycle through descriptor pairs) */
	struct virtq_log log; /* W7: dirty logging on */
	uint64_t log_words[VIRTQ_LOG_BYTES(BG_MEM_SIZE) / 8];
	/* The packed workloads' driver (guest.h), after every split field so
	 * that the split workloads' code is the same as without it. */
	struct bgp gp;
};

/* What a workload runs with besides its features. */
#define WITH_LOG 1u     /* a dirty log over all guest memory, switched on */
#define WITH_JOURNAL 2u /* packed: the descriptor journal (inflight.h) */

/* Guest memory and an active queue with the workloads' layout (guest.h),
 * with what `with` says. */
static struct ctx *setup(uint64_t features, unsigned with)
{
	const bool logged = with & WITH_LOG;
	struct ctx *x = calloc(1, sizeof(*x));
	struct virtq_mock_config cfg;
	if (!x)
		return NULL;
	virtq_mock_config_default(&cfg);
	cfg.regions[0].size = BG_MEM_SIZE;
	cfg.queue_size = BG_QSIZE;
	cfg.features = features | VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	cfg.desc_gpa = BG_DESC;
	cfg.avail_gpa = BG_AVAIL;
	cfg.used_gpa = BG_USED;
	cfg.buf_gpa = BG_BUF;
	if (virtq_mock_init(&x->m, &cfg) || virtq_mock_configure(&x->m, &x->q) ||
	    (!(with & WITH_JOURNAL) && virtq_set_journal(&x->q, NULL, 0)) ||
	    virtq_activate(&x->q)) {
		fprintf(stderr, "bench: queue setup failed\n");
		free(x);
		return NULL;
	}
	if (logged && (virtq_log_init(&x->log, &x->m.mem, x->log_words, sizeof(x->log_words)) ||
		       virtq_set_log(&x->q, &x->log))) {
		fprintf(stderr, "bench: log setup failed\n");
		virtq_mock_destroy(&x->m);
		free(x);
		return NULL;
	}
	virtq_log_set_enabled(&x->log, logged);
	if (features & VIRTQ_FEATURE(VIRTQ_F_RING_PACKED))
		bgp_init(&x->gp, virtq_mock_host(&x->m, 0, BG_MEM_SIZE));
	else
		bg_init(&x->g, virtq_mock_host(&x->m, 0, BG_MEM_SIZE));
	virtq_chain_init(&x->c, x->segs, 2 * BG_QSIZE);
	for (uint32_t i = 0; i < BG_BATCH; i++)
		virtq_chain_init(&x->chains[i], x->chain_segs[i], 4);
	return x;
}

static void teardown(struct ctx *x)
{
	if (x)
		virtq_mock_destroy(&x->m);
	free(x);
}

/* "Iterate" a chain as a zero-copy device does: walk its segments (the iovec
 * it hands to readv/writev). */
static uint64_t walk(const struct virtq_chain *c)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < c->nseg; i++)
		sum += (uintptr_t)c->segs[i].addr + c->segs[i].len;
	return sum;
}

/* W1: 128 one-descriptor chains popped (one batch call), iterated, used
 * (one batch call); one publish. */
static int w1_multi(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bg_post_multi(&x->g);
		if (virtq_pop_many(&x->q, x->chains, BG_BATCH) != (int)BG_BATCH)
			return -1;
		for (uint32_t i = 0; i < BG_BATCH; i++) {
			sum += walk(&x->chains[i]);
			x->done[i] = (struct virtq_used_elem){ x->chains[i].id, 0 };
		}
		if (virtq_add_used_many(&x->q, x->done, BG_BATCH) ||
		    virtq_publish_used(&x->q) != (int)BG_BATCH || bg_reap(&x->g, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* Device half of W2 and W3: one chain of 128 buffers. */
static int one_chain(struct ctx *x, uint64_t *sum)
{
	if (virtq_pop(&x->q, &x->c) != 1 || x->c.nseg != BG_BATCH)
		return -1;
	*sum += walk(&x->c);
	if (virtq_add_used(&x->q, x->c.id, x->c.write_len) || virtq_publish_used(&x->q) != 1 ||
	    bg_reap(&x->g, sum) != 1)
		return -1;
	return 0;
}

/* W2: one 128-descriptor chain. */
static int w2_single(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bg_post_single(&x->g);
		if (one_chain(x, &sum))
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W3: one indirect table of 128 descriptors. */
static int w3_single_indirect(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bg_post_indirect(&x->g);
		if (one_chain(x, &sum))
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/*
 * Bench-only shortcut: add_used needs chains in flight, which 128 pops
 * outside this workload would have left. Heads 0..127 are marked in flight
 * in the in-flight area (its documented layout, inflight.h: inflight byte at
 * 16 + 16 * head) and next_avail moved as the pops would have.
 */
static void w4_pretend_popped(struct ctx *x)
{
	unsigned char *area = x->m.inflight;
	for (uint32_t i = 0; i < BG_BATCH; i++)
		area[16 + 16 * i] = 1;
	x->q.next_avail = (uint16_t)(x->q.next_avail + BG_BATCH);
}

/* W4: 128 x add_used(head, 0x1000) in one batch call, one publish. Each head once: a second
 * completion of a head is refused, so the workload's single id 123 is 0..127. */
static int w4_add_used(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		w4_pretend_popped(x);
		for (uint32_t i = 0; i < BG_BATCH; i++)
			x->done[i] = (struct virtq_used_elem){ (uint16_t)i, 0x1000 };
		if (virtq_add_used_many(&x->q, x->done, BG_BATCH) ||
		    virtq_publish_used(&x->q) != (int)BG_BATCH || bg_reap(&x->g, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W5: EVENT_IDX, one 2-descriptor chain per iteration: pop, read the 16 B
 * request through a cursor, describe the 4096 B writable part as segments
 * (zero-copy readv), add_used + publish + needs_notify (virtq_complete). */
static int w5_steady(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, x->k++) {
		struct virtq_cursor in, out;
		struct virtq_seg iov[4];
		unsigned char req[16];
		bg_post_steady(&x->g, x->k);
		if (virtq_pop(&x->q, &x->c) != 1)
			return -1;
		virtq_chain_reader(&in, &x->c);
		virtq_chain_writer(&out, &x->c);
		if (virtq_chain_read(&in, req, sizeof(req)) != (int64_t)sizeof(req))
			return -1;
		int n = virtq_chain_segments(&out, 4096, iov, 4);
		if (n != 1)
			return -1;
		sum += req[0] + (uintptr_t)iov[0].addr;
		/* add_used + publish + needs_notify, fused */
		if (virtq_complete(&x->q, x->c.id, 4096) != 1 || bg_reap(&x->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W7: W5 with dirty logging on: virtq logs the used ring writes, the
 * device logs the 4096 B it wrote with virtq_chain_log_written(). */
static int w7_steady_logged(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, x->k++) {
		struct virtq_cursor in;
		unsigned char req[16];
		bg_post_steady(&x->g, x->k);
		if (virtq_pop(&x->q, &x->c) != 1)
			return -1;
		virtq_chain_reader(&in, &x->c);
		if (virtq_chain_read(&in, req, sizeof(req)) != (int64_t)sizeof(req) ||
		    virtq_chain_log_written(&x->c, 4096))
			return -1;
		sum += req[0];
		if (virtq_add_used(&x->q, x->c.id, 4096) || virtq_publish_used(&x->q) != 1)
			return -1;
		if (virtq_needs_notify(&x->q) != 1 || bg_reap(&x->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum + x->log_words[0]);
	return 0;
}

#ifdef VIRTQ_BENCH_VSOCK
/* W6: a vsock TX packet (44 B header + 4096 B data) popped, parsed, its data
 * described as segments, used, published. */
static int w6_vsock_tx(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, x->k++) {
		struct virtq_vsock_tx pkt;
		struct virtq_seg iov[4];
		bg_post_vsock(&x->g, x->k);
		if (virtq_pop(&x->q, &x->c) != 1 ||
		    virtq_vsock_parse_tx(&pkt, &x->c, VIRTQ_VSOCK_DEFAULT_MAX_PKT) ||
		    pkt.hdr.len != 4096)
			return -1;
		int n = virtq_vsock_tx_segments(&pkt, iov, 4);
		if (n != 1)
			return -1;
		sum += pkt.hdr.src_port + (uintptr_t)iov[0].addr;
		if (virtq_add_used(&x->q, x->c.id, 0) || virtq_publish_used(&x->q) != 1 ||
		    bg_reap(&x->g, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}
#endif

/* ---- the same workloads in the packed layout (virtio 2.8) ----
 * The device half is the split one's, call for call: only the driver
 * (guest.h, bgp_*) and the ring differ. Kept apart from the split functions
 * so that their code, and the perf gate's figures for them, do not move. */

/* W1, packed. */
static int w1_multi_packed(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bgp_post_multi(&x->gp);
		if (virtq_pop_many(&x->q, x->chains, BG_BATCH) != (int)BG_BATCH)
			return -1;
		for (uint32_t i = 0; i < BG_BATCH; i++) {
			sum += walk(&x->chains[i]);
			x->done[i] = (struct virtq_used_elem){ x->chains[i].id, 0 };
		}
		if (virtq_add_used_many(&x->q, x->done, BG_BATCH) ||
		    virtq_publish_used(&x->q) != (int)BG_BATCH || bgp_reap(&x->gp, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* Device half of W2 and W3, packed. */
static int one_chain_packed(struct ctx *x, uint64_t *sum)
{
	if (virtq_pop(&x->q, &x->c) != 1 || x->c.nseg != BG_BATCH)
		return -1;
	*sum += walk(&x->c);
	if (virtq_add_used(&x->q, x->c.id, x->c.write_len) || virtq_publish_used(&x->q) != 1 ||
	    bgp_reap(&x->gp, sum) != 1)
		return -1;
	return 0;
}

/* W2, packed: one chain of 128 ring descriptors. */
static int w2_single_packed(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bgp_post_single(&x->gp);
		if (one_chain_packed(x, &sum))
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W3, packed: one indirect table of 128 descriptors. */
static int w3_single_indirect_packed(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++) {
		bgp_post_indirect(&x->gp);
		if (one_chain_packed(x, &sum))
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/*
 * W4's shortcut for a packed ring: as w4_pretend_popped(), plus what a
 * packed pop also moves: avail_pos (and its wrap counter) past the 128
 * one-slot chains and desc_owned by their slots. Each head's ring slot
 * count (1, inflight.h: u16 at 16 + 16 * head + 2) stays in the area after
 * publish; w4_add_used_packed() writes it once, so the per-iteration
 * shortcut costs what the split one does plus the three queue fields.
 */
static void w4_pretend_popped_packed(struct ctx *x)
{
	unsigned char *area = x->m.inflight;
	for (uint32_t i = 0; i < BG_BATCH; i++)
		area[16 + 16 * i] = 1;
	uint32_t pos = x->q.avail_pos + BG_BATCH;
	if (pos >= BG_QSIZE) {
		pos -= BG_QSIZE;
		x->q.avail_wrap = !x->q.avail_wrap;
	}
	x->q.avail_pos = (uint16_t)pos;
	x->q.desc_owned = (uint16_t)(x->q.desc_owned + BG_BATCH);
	x->q.next_avail = (uint16_t)(x->q.next_avail + BG_BATCH);
}

/* W4, packed: 128 x add_used(head, 0x1000) in one batch call, one publish;
 * the driver reads the 128 used descriptors back. */
static int w4_add_used_packed(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	unsigned char *area = x->m.inflight;
	for (uint32_t i = 0; i < BG_BATCH; i++) {
		const uint16_t one = 1;
		memcpy(area + 16 + 16 * i + 2, &one, sizeof(one));
		x->gp.slots[i] = 1;
	}
	for (uint64_t it = 0; it < iters; it++) {
		w4_pretend_popped_packed(x);
		for (uint32_t i = 0; i < BG_BATCH; i++)
			x->done[i] = (struct virtq_used_elem){ (uint16_t)i, 0x1000 };
		if (virtq_add_used_many(&x->q, x->done, BG_BATCH) ||
		    virtq_publish_used(&x->q) != (int)BG_BATCH || bgp_reap(&x->gp, &sum) != BG_BATCH)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

/* W5, packed: the driver event structure asks for an interrupt at the next
 * used descriptor (DESC, EVENT_IDX), so needs_notify answers 1 each time. */
static int w5_steady_packed(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, x->k++) {
		struct virtq_cursor in, out;
		struct virtq_seg iov[4];
		unsigned char req[16];
		bgp_post_steady(&x->gp, x->k);
		if (virtq_pop(&x->q, &x->c) != 1)
			return -1;
		virtq_chain_reader(&in, &x->c);
		virtq_chain_writer(&out, &x->c);
		if (virtq_chain_read(&in, req, sizeof(req)) != (int64_t)sizeof(req))
			return -1;
		int n = virtq_chain_segments(&out, 4096, iov, 4);
		if (n != 1)
			return -1;
		sum += req[0] + (uintptr_t)iov[0].addr;
		if (virtq_complete(&x->q, x->c.id, 4096) != 1 || bgp_reap(&x->gp, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}

#ifdef VIRTQ_BENCH_VSOCK
/* W6, packed. */
static int w6_vsock_tx_packed(void *p, uint64_t iters)
{
	struct ctx *x = p;
	uint64_t sum = 0;
	for (uint64_t it = 0; it < iters; it++, x->k++) {
		struct virtq_vsock_tx pkt;
		struct virtq_seg iov[4];
		bgp_post_vsock(&x->gp, x->k);
		if (virtq_pop(&x->q, &x->c) != 1 ||
		    virtq_vsock_parse_tx(&pkt, &x->c, VIRTQ_VSOCK_DEFAULT_MAX_PKT) ||
		    pkt.hdr.len != 4096)
			return -1;
		int n = virtq_vsock_tx_segments(&pkt, iov, 4);
		if (n != 1)
			return -1;
		sum += pkt.hdr.src_port + (uintptr_t)iov[0].addr;
		if (virtq_add_used(&x->q, x->c.id, 0) || virtq_publish_used(&x->q) != 1 ||
		    bgp_reap(&x->gp, &sum) != 1)
			return -1;
	}
	bench_consume(sum);
	return 0;
}
#endif

struct workload {
	const char *name;
	bench_fn fn;
	uint64_t features;
	unsigned with;
};

#define PACKED VIRTQ_FEATURE(VIRTQ_F_RING_PACKED)

/* Each packed variant right after its split workload, so the output lists
 * them side by side. */
static const struct workload workloads[] = {
	{ "multi", w1_multi, 0, 0 },
	{ "multi_packed", w1_multi_packed, PACKED, 0 },
	{ "single", w2_single, 0, 0 },
	{ "single_packed", w2_single_packed, PACKED, 0 },
	{ "single_indirect", w3_single_indirect, VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC), 0 },
	{ "single_indirect_packed", w3_single_indirect_packed,
	  PACKED | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC), 0 },
	{ "add_used", w4_add_used, 0, 0 },
	{ "add_used_packed", w4_add_used_packed, PACKED, 0 },
	{ "steady", w5_steady, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), 0 },
	{ "steady_packed", w5_steady_packed, PACKED | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), 0 },
#ifdef VIRTQ_BENCH_VSOCK
	{ "vsock_tx", w6_vsock_tx, 0, 0 },
	{ "vsock_tx_packed", w6_vsock_tx_packed, PACKED, 0 },
#endif
	{ "steady_logged", w7_steady_logged, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), WITH_LOG },
	/* what the descriptor journal costs: W1 and W5 packed, with one */
	{ "multi_packed_journal", w1_multi_packed, PACKED, WITH_JOURNAL },
	{ "steady_packed_journal", w5_steady_packed, PACKED | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX),
	  WITH_JOURNAL },
};

int main(int argc, char **argv)
{
	struct bench_opts o;
	int status = 0;
	bench_parse(&o, "virtq", argc, argv);
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		const struct workload *w = &workloads[i];
		if (!bench_selected(&o, w->name))
			continue;
		struct ctx *x = setup(w->features, w->with);
		if (!x || bench_run(&o, w->name, w->fn, x))
			status = 1;
		teardown(x);
	}
	return bench_finish(&o, status);
}

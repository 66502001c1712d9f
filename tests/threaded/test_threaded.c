/* SPDX-License-Identifier: MIT */
/*
 * A real guest thread against a device thread, sharing one split virtqueue
 * (run it under ThreadSanitizer: scripts/test.sh --tsan).
 *
 * The guest thread is the only user of the mock driver: it keeps posting
 * chains (1..16 descriptors, direct or indirect, a readable request then a
 * writable reply part, each split at random points and sometimes across the
 * boundary between two guest memory regions) and consumes used entries. A
 * request carries a sequence number, its own shape and a checksum. The device
 * thread is the only user of the queue: it runs the README's device loop
 * (virtq_pop, check the request, write a reply that transforms the sequence
 * number and checksum and fills the rest of the writable part, virtq_add_used,
 * virtq_publish_used, virtq_needs_notify), but holds up to a few served
 * chains and completes them in random order, as a device with requests of
 * different durations does, checking its own list against
 * virtq_in_flight_list(); it completes all it holds before it sleeps. The
 * guest checks every reply. Lost, duplicated, reordered (popped out of
 * order) or corrupted buffers fail the test.
 *
 * Notifications go through two doorbells (kick: guest -> device, interrupt:
 * device -> guest), rung only when virtq_mock_should_kick() /
 * virtq_needs_notify() say so. Each side sleeps on its doorbell when it has
 * nothing to do, after re-enabling notifications and re-checking the ring as
 * the protocol requires; sleeps never poll the ring. So a missed notification
 * leaves both sides asleep, and a watchdog thread fails the test if neither
 * side makes progress for a while, saying who waits for what.
 *
 * Configurations: EVENT_IDX on and off, times notification suppression on
 * (the device disables kicks while it polls, the guest disables interrupts
 * while it is busy) and off (both stay enabled), with different queue sizes.
 * Each starts its ring indices a few hundred short of 65536, so every run
 * crosses the 16-bit wraparound. Random yields and short spins at the
 * protocol's windows (before re-enabling notifications) and random drains
 * (the ring runs empty, both sides sleep) vary the interleavings.
 *
 * What it cannot catch: a missing full fence (virtio 2.7.13 (c), (d)) only
 * loses a notification if the CPU reorders a store after a later load within
 * a window of nanoseconds; ThreadSanitizer does not model that either.
 *
 *   test_threaded [--seconds S] [--soak S] [--config K] [--seed N] [--watchdog S]
 *
 * --seconds: total run time, shared by the configurations (default 3);
 * --soak S: the same for S seconds, reporting chains/s per configuration;
 * --config K: only configuration K; --watchdog S: hang detector (default 5 s).
 * Exit status 0 on success, 1 on a failure (described on stderr).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>

#include "doorbell.h"

/* ---- what travels in a chain ---------------------------------------------- */

#define MAX_DESCS 16u    /* descriptors per chain (also bounded by the queue size) */
#define MAX_PAYLOAD 512u /* request payload and reply filler, bytes */
#define REQ_HDR 24u      /* seq u64, payload_len u32, write_len u32, ndesc u16,
			  * indirect u8, pad u8, csum u32 */
#define REPLY_HDR 16u    /* ~seq u64, reply_csum(csum) u32, read_len u32 */
#define REQ_CSUM_OFF 20u

struct req_hdr {
	uint64_t seq;
	uint32_t payload_len, write_len;
	uint16_t ndesc;
	uint8_t indirect;
	uint32_t csum;
};

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void req_pack(unsigned char *p, const struct req_hdr *h)
{
	put64(p, h->seq);
	put32(p + 8, h->payload_len);
	put32(p + 12, h->write_len);
	memcpy(p + 16, &h->ndesc, 2);
	p[18] = h->indirect;
	p[19] = 0;
	put32(p + REQ_CSUM_OFF, h->csum);
}

static struct req_hdr req_unpack(const unsigned char *p)
{
	struct req_hdr h = { .seq = get64(p), .payload_len = get32(p + 8),
			     .write_len = get32(p + 12), .indirect = p[18],
			     .csum = get32(p + REQ_CSUM_OFF) };
	memcpy(&h.ndesc, p + 16, 2);
	return h;
}

/* FNV-1a over a whole request except its csum field. */
static uint32_t req_csum(const unsigned char *req, uint32_t len)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < len; i++)
		if (i < REQ_CSUM_OFF || i >= REQ_CSUM_OFF + 4)
			h = (h ^ req[i]) * 16777619u;
	return h;
}

static uint32_t reply_csum(uint32_t csum) { return (csum << 7 | csum >> 25) ^ 0xA5A5A5A5u; }

/* Reply byte at offset i (>= REPLY_HDR) of the request with sequence seq. */
static unsigned char reply_filler(uint64_t seq, uint32_t i)
{
	return (unsigned char)((seq * 0x9E3779B97F4A7C15u + i * 0x100000001B3u) >> 56);
}

static uint64_t rnd(uint64_t *s) /* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Du;
}

static uint32_t rnd_below(uint64_t *s, uint32_t n) { return (uint32_t)(rnd(s) % n); }

/*
 * Sometimes lets the other thread run, or spins a little, at the points where
 * the notification protocol has a window (between the last look at the ring
 * and re-enabling notifications): it widens those windows so that a missing
 * re-check or a lost notification shows up within seconds.
 */
static void jitter(uint64_t *rng)
{
	uint32_t x = rnd_below(rng, 16);
	if (x == 0) {
		sched_yield();
	} else if (x == 1) {
		volatile uint32_t spin = rnd_below(rng, 2000);
		while (spin)
			spin = spin - 1;
	}
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- guest memory layout ----------------------------------------------------- */

/*
 * Two adjacent 1 MiB regions. Rings at the start of region 0; the mock's
 * allocator (indirect tables) from 64 KiB to the slots; one slot of buffers
 * per chain that can be in flight (the queue size), straddling the region
 * boundary at a slot offset where buffers lie, so some are split in two.
 */
#define REGION_BYTES (1u << 20)
#define TABLES_GPA 0x10000u
#define SLOT_BYTES 2048u
#define SLOT_SKEW 100u

static uint64_t slots_gpa(uint32_t nslots)
{
	return REGION_BYTES - (uint64_t)(nslots / 2) * SLOT_BYTES - SLOT_SKEW;
}

/* ---- one run: configuration, shared state, failure ------------------------- */

struct config {
	bool event_idx;
	bool suppress; /* notification suppression toggled (else always enabled) */
	uint32_t queue_size;
};

static const struct config configs[] = {
	{ .event_idx = false, .suppress = true, .queue_size = 8 },
	{ .event_idx = true, .suppress = true, .queue_size = 64 },
	{ .event_idx = false, .suppress = false, .queue_size = 256 },
	{ .event_idx = true, .suppress = false, .queue_size = 16 },
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

enum side_state { RUNNING, WAIT_INTERRUPT, WAIT_KICK, FINISHED };

static const char *state_name(int s)
{
	switch (s) {
	case WAIT_INTERRUPT: return "waits for an interrupt";
	case WAIT_KICK: return "waits for a kick";
	case FINISHED: return "has finished";
	default: return "is running";
	}
}

struct stats {
	uint64_t chains, indirect, kicks, interrupts, guest_sleeps, device_sleeps, drains;
	uint64_t out_of_order; /* completions of a chain popped after another one held */
};

struct run {
	const struct config *cfg;
	uint64_t seed;
	uint16_t start_idx; /* ring indices when the threads start */
	double deadline;
	struct virtq_mock m; /* the guest thread's (main's before and after) */
	struct virtq q;      /* the device thread's (main's before and after) */
	struct doorbell kick, irq;
	atomic_bool failed, stop, done;
	pthread_mutex_t fail_mu;
	char why[1024];
	/* progress and what each side last said about itself, for the watchdog */
	atomic_uint_fast64_t guest_progress, device_progress;
	atomic_int guest_state, device_state;
	atomic_uint guest_avail, guest_consumed, guest_outstanding;
	atomic_uint device_popped, device_published;
	atomic_uint_fast64_t kicks_sent, irqs_sent;
	struct stats guest_stats, device_stats; /* each thread's own, read after join */
};

/* Records the first failure and wakes both sides; returns -1. */
__attribute__((format(printf, 2, 3))) static int run_fail(struct run *r, const char *fmt, ...);
static int run_fail(struct run *r, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&r->fail_mu);
	if (!atomic_load(&r->failed)) {
		va_start(ap, fmt);
		vsnprintf(r->why, sizeof(r->why), fmt, ap);
		va_end(ap);
		atomic_store(&r->failed, true);
	}
	pthread_mutex_unlock(&r->fail_mu);
	doorbell_ring(&r->kick); /* wake both sides: they see failed and leave */
	doorbell_ring(&r->irq);
	return -1;
}

/* ---- the guest thread ----------------------------------------------------------- */

struct inflight {
	bool live;
	uint64_t seq;
	uint32_t slot, nbufs, read_len, write_len, csum;
	struct virtq_mock_buf bufs[MAX_DESCS];
};

struct guest {
	struct run *r;
	struct virtq_mock *m;
	uint64_t rng;
	uint32_t size, max_descs;
	struct inflight *chains; /* by head */
	uint32_t *free_slots, nfree_slots;
	uint64_t next_seq, next_done; /* posted, completed */
	unsigned char req[REQ_HDR + MAX_PAYLOAD], reply[REPLY_HDR + MAX_PAYLOAD];
};

static uint32_t outstanding(const struct guest *g)
{
	return (uint32_t)(g->next_seq - g->next_done);
}

static void guest_publish_status(struct guest *g, int state)
{
	struct run *r = g->r;
	atomic_store(&r->guest_avail, (unsigned)g->m->avail_idx);
	atomic_store(&r->guest_consumed, (unsigned)g->m->last_used);
	atomic_store(&r->guest_outstanding, outstanding(g));
	atomic_store(&r->guest_state, state);
}

/* Splits len bytes into n pieces of at least one byte, placed one after the
 * other in the slot from *off with small random gaps. */
static void guest_layout(struct guest *g, struct virtq_mock_buf *bufs, uint32_t n,
			 uint32_t len, bool writable, uint64_t slot_gpa, uint32_t *off)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t left = n - 1 - i; /* pieces after this one */
		uint32_t piece = left ? 1 + rnd_below(&g->rng, len - left) : len;
		if (left && rnd_below(&g->rng, 2))
			piece = 1 + (piece - 1) / 4; /* skew towards small pieces */
		bufs[i] = (struct virtq_mock_buf){ slot_gpa + *off, piece, writable };
		*off += piece + rnd_below(&g->rng, 8);
		len -= piece;
	}
}

/* Reads the buffers of one part of a chain back into dst. */
static int guest_read_bufs(struct guest *g, const struct virtq_mock_buf *bufs, uint32_t n,
			   unsigned char *dst)
{
	for (uint32_t i = 0; i < n; i++) {
		if (virtq_mock_read(g->m, bufs[i].gpa, dst, bufs[i].len))
			return -1;
		dst += bufs[i].len;
	}
	return 0;
}

enum post_result { POSTED, BLOCKED, TABLES_FULL, POST_FAILED };

static enum post_result guest_post(struct guest *g, unsigned flags)
{
	struct run *r = g->r;
	uint32_t n = 1 + rnd_below(&g->rng, g->max_descs);
	const bool indirect = rnd_below(&g->rng, 2);
	if (g->nfree_slots == 0 || g->m->num_free < (indirect ? 1 : n))
		return BLOCKED;
	const uint32_t nread = n == 1 ? 1 : 1 + rnd_below(&g->rng, n - 1), nwrite = n - nread;
	struct req_hdr h = {
		.seq = g->next_seq,
		.payload_len = rnd_below(&g->rng, MAX_PAYLOAD + 1),
		.write_len = nwrite ? REPLY_HDR + rnd_below(&g->rng, MAX_PAYLOAD + 1) : 0,
		.ndesc = (uint16_t)n,
		.indirect = indirect,
	};
	const uint32_t read_len = REQ_HDR + h.payload_len;
	for (uint32_t i = REQ_HDR; i < read_len; i++)
		g->req[i] = (unsigned char)rnd(&g->rng);
	req_pack(g->req, &h);
	h.csum = req_csum(g->req, read_len);
	put32(g->req + REQ_CSUM_OFF, h.csum);

	const uint32_t slot = g->free_slots[g->nfree_slots - 1];
	const uint64_t slot_gpa = slots_gpa(g->size) + (uint64_t)slot * SLOT_BYTES;
	struct virtq_mock_buf bufs[MAX_DESCS];
	uint32_t off = rnd_below(&g->rng, 16);
	guest_layout(g, bufs, nread, read_len, false, slot_gpa, &off);
	guest_layout(g, bufs + nread, nwrite, h.write_len, true, slot_gpa, &off);
	const unsigned char *src = g->req;
	for (uint32_t i = 0; i < nread; i++) {
		if (virtq_mock_write(g->m, bufs[i].gpa, src, bufs[i].len)) {
			run_fail(r, "guest: cannot write request buffer at 0x%" PRIx64, bufs[i].gpa);
			return POST_FAILED;
		}
		src += bufs[i].len;
	}

	int head = virtq_mock_add_chain(g->m, bufs, n, flags | (indirect ? VIRTQ_MOCK_INDIRECT : 0));
	if (head == -VIRTQ_ENOSPC && indirect)
		return TABLES_FULL; /* descriptors were free: the table area is used up */
	if (head < 0) {
		run_fail(r, "guest: virtq_mock_add_chain: %s", virtq_errname(head));
		return POST_FAILED;
	}
	struct inflight *c = &g->chains[head];
	if (c->live) {
		run_fail(r, "guest: the mock handed out head %d, still in flight", head);
		return POST_FAILED;
	}
	*c = (struct inflight){ .live = true, .seq = h.seq, .slot = slot, .nbufs = n,
				.read_len = read_len, .write_len = h.write_len, .csum = h.csum };
	memcpy(c->bufs, bufs, n * sizeof(bufs[0]));
	g->nfree_slots--;
	g->next_seq++;
	g->r->guest_stats.indirect += indirect;
	return POSTED;
}

/* Checks one used entry against what was posted; frees its slot. */
static int guest_complete(struct guest *g, uint32_t id, uint32_t len)
{
	struct run *r = g->r;
	if (id >= g->size || !g->chains[id].live)
		return run_fail(r, "guest: used id %u was not in flight (duplicate or unknown); "
				   "expected seq %" PRIu64, id, g->next_done);
	struct inflight *c = &g->chains[id];
	/* Completions come in any order (the device holds some back); the
	 * device checks that chains are popped in order, and the final checks
	 * that none is lost. */
	if (len != c->write_len)
		return run_fail(r, "guest: seq %" PRIu64 ": used len %u, expected %u", c->seq, len,
				c->write_len);
	uint32_t nr = 0; /* readable buffers */
	while (nr < c->nbufs && !c->bufs[nr].writable)
		nr++;
	/* The request must be intact: the device may not write readable buffers. */
	if (guest_read_bufs(g, c->bufs, nr, g->req) || req_csum(g->req, c->read_len) != c->csum ||
	    get64(g->req) != c->seq)
		return run_fail(r, "guest: seq %" PRIu64 ": request buffers changed", c->seq);
	if (c->write_len) {
		if (guest_read_bufs(g, c->bufs + nr, c->nbufs - nr, g->reply))
			return run_fail(r, "guest: cannot read reply");
		if (get64(g->reply) != ~c->seq || get32(g->reply + 8) != reply_csum(c->csum) ||
		    get32(g->reply + 12) != c->read_len)
			return run_fail(r, "guest: seq %" PRIu64 ": bad reply header (seq field %" PRIu64
					   ", csum 0x%08x, len %u; want 0x%08x, %u)", c->seq,
					~get64(g->reply), get32(g->reply + 8), get32(g->reply + 12),
					reply_csum(c->csum), c->read_len);
		for (uint32_t i = REPLY_HDR; i < c->write_len; i++)
			if (g->reply[i] != reply_filler(c->seq, i))
				return run_fail(r, "guest: seq %" PRIu64 ": reply byte %u of %u is "
						   "0x%02x, want 0x%02x", c->seq, i, c->write_len,
						g->reply[i], reply_filler(c->seq, i));
	}
	c->live = false;
	g->free_slots[g->nfree_slots++] = c->slot; /* reusable: the device returned it */
	g->next_done++;
	atomic_fetch_add(&r->guest_progress, 1);
	return 0;
}

static int guest_consume(struct guest *g)
{
	uint32_t id, len;
	int got;
	while ((got = virtq_mock_get_used(g->m, &id, &len)) == 1)
		if (guest_complete(g, id, len))
			return -1;
	if (got < 0)
		return run_fail(g->r, "guest: virtq_mock_get_used: %s", virtq_errname(got));
	return 0;
}

/* Sleeps until an interrupt, unless used entries are pending. */
static void guest_wait_used(struct guest *g)
{
	struct run *r = g->r;
	jitter(&g->rng);
	int pending = virtq_mock_enable_interrupts(g->m);
	if (pending < 0) {
		run_fail(r, "guest: virtq_mock_enable_interrupts: %s", virtq_errname(pending));
		return;
	}
	if (!pending) {
		guest_publish_status(g, WAIT_INTERRUPT);
		doorbell_wait(&r->irq, &r->failed);
		g->r->guest_stats.guest_sleeps++;
		guest_publish_status(g, RUNNING);
	}
	if (r->cfg->suppress)
		virtq_mock_disable_interrupts(g->m); /* busy consuming: no interrupts */
}

static void guest_kick_if_needed(struct guest *g)
{
	if (virtq_mock_should_kick(g->m)) {
		atomic_fetch_add(&g->r->kicks_sent, 1);
		doorbell_ring(&g->r->kick);
	}
}

static void guest_loop(struct guest *g)
{
	struct run *r = g->r;
	bool draining = false, tables_full = false;
	if (r->cfg->suppress)
		virtq_mock_disable_interrupts(g->m);
	while (!atomic_load(&r->failed)) {
		if (guest_consume(g))
			return;
		const bool time_up = now_s() >= r->deadline;
		if (draining || tables_full || time_up) {
			if (outstanding(g)) {
				guest_wait_used(g);
				continue;
			}
			if (time_up)
				return;
			if (tables_full)
				virtq_mock_alloc_reset(g->m); /* no table is in use any more */
			draining = tables_full = false;
		}
		/* A burst of chains, published one by one or all at once. */
		const uint32_t burst = 1 + rnd_below(&g->rng, 2 * g->size);
		const unsigned flags = rnd_below(&g->rng, 4) ? 0 : VIRTQ_MOCK_NO_PUBLISH;
		uint32_t posted = 0;
		enum post_result res = POSTED;
		while (posted < burst && (res = guest_post(g, flags)) == POSTED)
			posted++;
		if (res == POST_FAILED)
			return;
		if (posted) {
			if (flags & VIRTQ_MOCK_NO_PUBLISH)
				virtq_mock_publish(g->m);
			guest_publish_status(g, RUNNING);
			guest_kick_if_needed(g);
		}
		if (res == TABLES_FULL) {
			tables_full = true;
			r->guest_stats.drains++;
		} else if (res == BLOCKED && posted == 0) {
			guest_wait_used(g); /* ring or slots full */
		} else if (rnd_below(&g->rng, 8) == 0) {
			draining = true; /* let the ring run empty: the device sleeps */
			r->guest_stats.drains++;
		}
		jitter(&g->rng);
	}
}

static void *guest_thread(void *arg)
{
	struct run *r = arg;
	struct guest g = { .r = r, .m = &r->m, .rng = r->seed * 2 + 1,
			   .size = r->cfg->queue_size };
	g.max_descs = g.size < MAX_DESCS ? g.size : MAX_DESCS;
	g.chains = calloc(g.size, sizeof(*g.chains));
	g.free_slots = calloc(g.size, sizeof(*g.free_slots));
	if (!g.chains || !g.free_slots) {
		run_fail(r, "guest: out of memory");
	} else {
		for (uint32_t i = 0; i < g.size; i++)
			g.free_slots[g.nfree_slots++] = g.size - 1 - i;
		guest_loop(&g);
	}
	if (!atomic_load(&r->failed) && g.next_done != g.next_seq)
		run_fail(r, "guest: stopped with %u chains outstanding", outstanding(&g));
	r->guest_stats.chains = g.next_done;
	guest_publish_status(&g, FINISHED);
	atomic_store(&r->stop, true);
	doorbell_ring(&r->kick); /* the device leaves once the ring is empty */
	free(g.chains);
	free(g.free_slots);
	return NULL;
}

/* ---- the device thread ------------------------------------------------------- */

#define DEVICE_SEGS 64u /* 16 descriptors, each split at most once */
#define DEVICE_HOLD 6u  /* served chains held back, completed in random order */

struct held {
	uint16_t id;
	uint32_t len;
};

struct device {
	struct run *r;
	struct virtq *q;
	uint64_t rng;
	uint64_t next_seq;
	uint32_t popped, published, completions;
	struct held held[DEVICE_HOLD + 1]; /* oldest pop first; one over while holding */
	uint32_t nheld, hold_cap;
	unsigned char buf[REQ_HDR + MAX_PAYLOAD];
};

/* The queue's in-flight list is exactly the chains the device holds. */
static int device_check_list(struct device *d)
{
	uint16_t heads[DEVICE_HOLD + 1];
	int n = virtq_in_flight_list(d->q, heads, DEVICE_HOLD + 1);
	if (n != (int)d->nheld)
		return run_fail(d->r, "device: virtq_in_flight_list: %d, holding %u", n, d->nheld);
	for (uint32_t i = 0; i < d->nheld; i++)
		if (heads[i] != d->held[i].id)
			return run_fail(d->r, "device: in-flight list[%u] = %u, holding %u", i,
					heads[i], d->held[i].id);
	return 0;
}

/* Completes the held chain at index i. */
static int device_complete(struct device *d, uint32_t i)
{
	const struct held h = d->held[i];
	d->r->device_stats.out_of_order += i > 0;
	memmove(d->held + i, d->held + i + 1, (d->nheld - i - 1) * sizeof(d->held[0]));
	d->nheld--;
	int e = virtq_add_used(d->q, h.id, h.len);
	if (e)
		return run_fail(d->r, "device: virtq_add_used(%u): %s", h.id, virtq_errname(e));
	e = virtq_add_used(d->q, h.id, h.len);
	if (e != -VIRTQ_EINVAL)
		return run_fail(d->r, "device: a second virtq_add_used(%u): %s", h.id,
				virtq_errname(e));
	if (++d->completions % 64 == 0)
		return device_check_list(d);
	return 0;
}

/* Holds a served chain; completes random ones while more than it may hold,
 * and sometimes one more. */
static int device_hold(struct device *d, uint16_t id, uint32_t len)
{
	d->held[d->nheld++] = (struct held){ id, len };
	while (d->nheld > d->hold_cap || (d->nheld && rnd_below(&d->rng, 3) == 0))
		if (device_complete(d, rnd_below(&d->rng, d->nheld)))
			return -1;
	return 0;
}

/* Completes everything held, in random order. */
static int device_complete_all(struct device *d)
{
	while (d->nheld)
		if (device_complete(d, rnd_below(&d->rng, d->nheld)))
			return -1;
	return 0;
}

static void device_publish_status(struct device *d, int state)
{
	atomic_store(&d->r->device_popped, (unsigned)(uint16_t)(d->r->start_idx + d->popped));
	atomic_store(&d->r->device_published,
		     (unsigned)(uint16_t)(d->r->start_idx + d->published));
	atomic_store(&d->r->device_state, state);
}

/* Checks the request in c, writes the reply, returns the chain. */
static int device_serve(struct device *d, struct virtq_chain *c)
{
	struct run *r = d->r;
	struct virtq_cursor in, out;
	virtq_chain_reader(&in, c);
	if (virtq_chain_read(&in, d->buf, REQ_HDR) != REQ_HDR)
		return run_fail(r, "device: chain %u: readable part of %u bytes is shorter than a "
				   "request header (expected seq %" PRIu64 ")", c->id, c->read_len,
				d->next_seq);
	const struct req_hdr h = req_unpack(d->buf);
	if (h.payload_len > MAX_PAYLOAD || h.write_len > REPLY_HDR + MAX_PAYLOAD ||
	    (h.write_len && h.write_len < REPLY_HDR) || c->read_len != REQ_HDR + h.payload_len ||
	    c->write_len != h.write_len || c->ndesc != (uint32_t)h.ndesc + h.indirect)
		return run_fail(r, "device: chain %u (seq %" PRIu64 "): read %u / write %u bytes in "
				   "%u descriptors, the request says %u / %u in %u + %u",
				c->id, h.seq, c->read_len, c->write_len, c->ndesc,
				REQ_HDR + h.payload_len, h.write_len, h.ndesc, h.indirect);
	if (virtq_chain_read(&in, d->buf + REQ_HDR, h.payload_len) != h.payload_len ||
	    req_csum(d->buf, c->read_len) != h.csum)
		return run_fail(r, "device: chain %u (seq %" PRIu64 "): checksum mismatch", c->id,
				h.seq);
	if (h.seq != d->next_seq)
		return run_fail(r, "device: popped seq %" PRIu64 ", expected %" PRIu64
				   " (lost, duplicated or reordered)", h.seq, d->next_seq);
	d->next_seq++;

	uint32_t written = 0;
	if (h.write_len) {
		unsigned char reply[REPLY_HDR + MAX_PAYLOAD];
		put64(reply, ~h.seq);
		put32(reply + 8, reply_csum(h.csum));
		put32(reply + 12, c->read_len);
		for (uint32_t i = REPLY_HDR; i < h.write_len; i++)
			reply[i] = reply_filler(h.seq, i);
		virtq_chain_writer(&out, c);
		/* in two steps, so a write also starts in the middle of a segment */
		uint32_t first = rnd_below(&d->rng, h.write_len + 1);
		int64_t a = virtq_chain_write(&out, reply, first);
		int64_t b = virtq_chain_write(&out, reply + first, h.write_len - first);
		if (a != first || b != h.write_len - first)
			return run_fail(r, "device: seq %" PRIu64 ": short reply write", h.seq);
		written = (uint32_t)virtq_chain_offset(&out);
	}
	return device_hold(d, c->id, written);
}

static void device_publish(struct device *d)
{
	struct run *r = d->r;
	int n = virtq_publish_used(d->q);
	if (n < 0) {
		run_fail(r, "device: virtq_publish_used: %s", virtq_errname(n));
		return;
	}
	d->published += (uint32_t)n;
	atomic_fetch_add(&r->device_progress, (uint64_t)n);
	int notify = virtq_needs_notify(d->q);
	if (notify < 0) {
		run_fail(r, "device: virtq_needs_notify: %s", virtq_errname(notify));
	} else if (notify) {
		atomic_fetch_add(&r->irqs_sent, 1);
		doorbell_ring(&r->irq);
	}
}

/* The README's device loop, with sleeps on the kick doorbell. */
static void device_loop(struct device *d)
{
	struct run *r = d->r;
	struct virtq_seg segs[DEVICE_SEGS];
	struct virtq_chain chain;
	virtq_chain_init(&chain, segs, DEVICE_SEGS);
	while (!atomic_load(&r->failed)) {
		if (r->cfg->suppress)
			virtq_disable_notify(d->q); /* we are polling: no kicks */
		int p;
		uint32_t batch = 0, publish_every = 1 + rnd_below(&d->rng, 8);
		while ((p = virtq_pop(d->q, &chain)) == 1) {
			d->popped++;
			if (device_serve(d, &chain))
				return;
			if (++batch == publish_every) {
				device_publish(d);
				batch = 0;
			}
			if (rnd_below(&d->rng, 8) == 0)
				jitter(&d->rng);
		}
		if (device_complete_all(d)) /* the guest may wait for any of them */
			return;
		device_publish(d);
		if (p < 0) {
			run_fail(r, "device: virtq_pop: %s", virtq_errname(p));
			return;
		}
		jitter(&d->rng);
		int more = virtq_enable_notify(d->q);
		if (more < 0) {
			run_fail(r, "device: virtq_enable_notify: %s", virtq_errname(more));
			return;
		}
		if (more)
			continue;
		if (atomic_load(&r->stop))
			return; /* the guest is done and the ring is empty */
		device_publish_status(d, WAIT_KICK);
		doorbell_wait(&r->kick, &r->failed);
		r->device_stats.device_sleeps++;
		device_publish_status(d, RUNNING);
	}
}

static void *device_thread(void *arg)
{
	struct run *r = arg;
	struct device d = { .r = r, .q = &r->q, .rng = r->seed * 2 + 3 };
	d.hold_cap = r->cfg->queue_size < DEVICE_HOLD ? r->cfg->queue_size : DEVICE_HOLD;
	device_loop(&d);
	r->device_stats.chains = d.popped;
	device_publish_status(&d, FINISHED);
	return NULL;
}

/* ---- the watchdog ---------------------------------------------------------------- */

static double watchdog_seconds = 5.0;

static void *watchdog_thread(void *arg)
{
	struct run *r = arg;
	uint64_t last_g = 0, last_d = 0;
	double last_change = now_s();
	const struct timespec tick = { 0, 20000000L };
	while (!atomic_load(&r->done)) {
		nanosleep(&tick, NULL);
		uint64_t g = atomic_load(&r->guest_progress), d = atomic_load(&r->device_progress);
		if (g != last_g || d != last_d) {
			last_g = g;
			last_d = d;
			last_change = now_s();
			continue;
		}
		if (now_s() - last_change < watchdog_seconds || atomic_load(&r->failed))
			continue;
		run_fail(r, "watchdog: no progress for %.1f s: guest %s (last reported: avail.idx "
			    "%u published, used consumed up to %u, %u chains outstanding; %"
			    PRIuFAST64 " kicks sent); device %s (last reported: next_avail %u, "
			    "used.idx %u published; %" PRIuFAST64 " interrupts sent). A notification "
			    "was missed, or a side stopped.",
			 watchdog_seconds, state_name(atomic_load(&r->guest_state)),
			 atomic_load(&r->guest_avail), atomic_load(&r->guest_consumed),
			 atomic_load(&r->guest_outstanding),
			 atomic_load(&r->kicks_sent), state_name(atomic_load(&r->device_state)),
			 atomic_load(&r->device_popped), atomic_load(&r->device_published),
			 atomic_load(&r->irqs_sent));
		/* Both sides should leave now; if one is stuck elsewhere, end here. */
		for (int i = 0; i < 100 && !atomic_load(&r->done); i++)
			nanosleep(&tick, NULL);
		if (!atomic_load(&r->done)) {
			pthread_mutex_lock(&r->fail_mu);
			fprintf(stderr, "test_threaded: FAIL: %s\n(threads did not stop)\n", r->why);
			pthread_mutex_unlock(&r->fail_mu);
			_exit(1);
		}
	}
	return NULL;
}

/* ---- main ---------------------------------------------------------------------- */

static int setup(struct run *r)
{
	struct virtq_mock_config mc;
	virtq_mock_config_default(&mc);
	mc.nregions = 2;
	mc.regions[0] = (struct virtq_mock_region){ .gpa = 0, .size = REGION_BYTES };
	mc.regions[1] = (struct virtq_mock_region){ .gpa = REGION_BYTES, .size = REGION_BYTES };
	mc.queue_size = r->cfg->queue_size;
	mc.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) |
		      (r->cfg->event_idx ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0);
	mc.buf_gpa = TABLES_GPA;
	mc.buf_end = slots_gpa(mc.queue_size) & ~(uint64_t)15;
	int e = virtq_mock_init(&r->m, &mc);
	if (e)
		return fprintf(stderr, "virtq_mock_init: %s\n", virtq_errname(e));
	if ((e = virtq_mock_attach(&r->m, &r->q))) {
		virtq_mock_destroy(&r->m);
		return fprintf(stderr, "virtq_mock_attach: %s\n", virtq_errname(e));
	}
	if (doorbell_init(&r->kick) || doorbell_init(&r->irq) ||
	    pthread_mutex_init(&r->fail_mu, NULL)) {
		virtq_mock_destroy(&r->m);
		return fprintf(stderr, "cannot create doorbells\n");
	}
	return 0;
}

/*
 * Before the threads start: moves every ring index to just short of 65536 by
 * running chains one at a time on this thread, so each run also crosses the
 * 16-bit wraparound (and EVENT_IDX's arithmetic across it) concurrently.
 */
static int warm_up(struct run *r, uint16_t start_idx)
{
	struct virtq_seg seg;
	struct virtq_chain c;
	uint32_t id, len;
	const struct virtq_mock_buf buf = { slots_gpa(r->cfg->queue_size), REQ_HDR, false };
	virtq_chain_init(&c, &seg, 1);
	for (uint16_t i = 0; i != start_idx; i++) {
		int ok = virtq_mock_add_chain(&r->m, &buf, 1, 0) >= 0;
		virtq_mock_should_kick(&r->m); /* keeps the driver's kick state current */
		ok = ok && virtq_pop(&r->q, &c) == 1 && !virtq_add_used(&r->q, c.id, 0) &&
		     virtq_publish_used(&r->q) == 1 && virtq_needs_notify(&r->q) >= 0 &&
		     virtq_mock_get_used(&r->m, &id, &len) == 1 && id == c.id;
		if (!ok)
			return fprintf(stderr, "test_threaded: warm-up failed at index %u\n", i), -1;
	}
	return 0;
}

static void teardown(struct run *r)
{
	doorbell_destroy(&r->kick);
	doorbell_destroy(&r->irq);
	pthread_mutex_destroy(&r->fail_mu);
	virtq_mock_destroy(&r->m);
	free(r);
}

/* After both threads: nothing left anywhere, both sides agree. */
static void final_checks(struct run *r)
{
	struct virtq_seg seg;
	struct virtq_chain c;
	uint32_t id, len;
	virtq_chain_init(&c, &seg, 1);
	if (r->guest_stats.chains != r->device_stats.chains)
		run_fail(r, "guest completed %" PRIu64 " chains, device popped %" PRIu64,
			 r->guest_stats.chains, r->device_stats.chains);
	else if (r->device_stats.chains > 1000 && r->device_stats.out_of_order == 0)
		run_fail(r, "device: no chain completed out of order: the test lost its point");
	else if (virtq_in_flight(&r->q) != 0 || virtq_pop(&r->q, &c) != 0)
		run_fail(r, "device: chains left in flight or available at the end");
	else if (virtq_mock_get_used(&r->m, &id, &len) != 0 || r->m.num_free != r->cfg->queue_size)
		run_fail(r, "guest: used entries or descriptors left over at the end");
}

static int run_config(unsigned k, uint64_t base_seed, double seconds, bool soak,
		      struct stats *total, double *total_seconds)
{
	const struct config *cfg = &configs[k];
	const uint64_t seed = base_seed + k;
	struct run *r = calloc(1, sizeof(*r));
	pthread_t guest, device, dog;
	if (!r)
		return 1;
	r->cfg = cfg;
	r->seed = seed;
	if (setup(r)) {
		free(r);
		return 1;
	}
	/* the threads start a few hundred chains before the indices wrap */
	const uint16_t start_idx = (uint16_t)(65536 - 64 - seed % 1024);
	r->start_idx = start_idx;
	if (warm_up(r, start_idx)) {
		teardown(r);
		return 1;
	}
	const double start = now_s();
	r->deadline = start + seconds;
	int ok = !pthread_create(&dog, NULL, watchdog_thread, r);
	ok = ok && !pthread_create(&device, NULL, device_thread, r);
	ok = ok && !pthread_create(&guest, NULL, guest_thread, r);
	if (!ok) {
		fprintf(stderr, "test_threaded: cannot create threads\n");
		exit(1);
	}
	pthread_join(guest, NULL);
	pthread_join(device, NULL);
	if (!atomic_load(&r->failed))
		final_checks(r);
	atomic_store(&r->done, true);
	pthread_join(dog, NULL);
	const double elapsed = now_s() - start;

	struct stats s = r->guest_stats;
	s.kicks = atomic_load(&r->kicks_sent);
	s.interrupts = atomic_load(&r->irqs_sent);
	s.device_sleeps = r->device_stats.device_sleeps;
	s.out_of_order = r->device_stats.out_of_order;
	printf("event_idx=%-3s suppress=%-3s size=%-3u  %9" PRIu64 " chains (%" PRIu64
	       " indirect, %" PRIu64 " out of order, %" PRIu64 " index wraps), %" PRIu64
	       " kicks, %" PRIu64 " interrupts, sleeps: device %" PRIu64 " guest %" PRIu64
	       ", drains %" PRIu64,
	       cfg->event_idx ? "on" : "off", cfg->suppress ? "on" : "off", cfg->queue_size,
	       s.chains, s.indirect, s.out_of_order, (start_idx + s.chains) / 65536, s.kicks,
	       s.interrupts, s.device_sleeps, s.guest_sleeps, s.drains);
	if (soak)
		printf(", %.0f chains/s", (double)s.chains / elapsed);
	printf("\n");
	fflush(stdout);
	total->chains += s.chains;
	*total_seconds += elapsed;

	int failed = atomic_load(&r->failed);
	if (failed)
		fprintf(stderr, "test_threaded: FAIL (event_idx=%s suppress=%s size=%u; rerun with "
				"--config %u --seed %" PRIu64 "): %s\n", cfg->event_idx ? "on" : "off",
			cfg->suppress ? "on" : "off", cfg->queue_size, k, base_seed, r->why);
	teardown(r);
	return failed;
}

static void usage(void)
{
	fprintf(stderr, "usage: test_threaded [--seconds S] [--soak S] [--config 0..%u] "
			"[--seed N] [--watchdog S]\n", (unsigned)NCONFIGS - 1);
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 3;
	bool soak = false;
	int only = -1;
	uint64_t seed = 0x76697274710a;
	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!v)
			usage();
		if (!strcmp(argv[i], "--seconds") || !strcmp(argv[i], "--soak")) {
			soak |= !strcmp(argv[i], "--soak");
			seconds = strtod(v, &end);
		} else if (!strcmp(argv[i], "--watchdog")) {
			watchdog_seconds = strtod(v, &end);
		} else if (!strcmp(argv[i], "--config")) {
			only = (int)strtol(v, &end, 10);
			if (only < 0 || only >= (int)NCONFIGS)
				usage();
		} else if (!strcmp(argv[i], "--seed")) {
			seed = strtoull(v, &end, 0);
		} else {
			usage();
		}
		if (!end || *end || end == v)
			usage();
	}
	if (!(seconds > 0) || !(watchdog_seconds > 0))
		usage();
	const unsigned n = only < 0 ? (unsigned)NCONFIGS : 1;
	struct stats total = { 0 };
	double total_seconds = 0;
	int failed = 0;
	printf("seed %" PRIu64 ", %.1f s per configuration\n", seed, seconds / n);
	for (unsigned k = 0; k < NCONFIGS && !failed; k++)
		if (only < 0 || (unsigned)only == k)
			failed = run_config(k, seed, seconds / n, soak, &total, &total_seconds);
	if (soak)
		printf("total: %" PRIu64 " chains in %.1f s = %.0f chains/s\n", total.chains,
		       total_seconds, (double)total.chains / total_seconds);
	return failed ? 1 : 0;
}

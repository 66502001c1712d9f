/* SPDX-License-Identifier: MIT */
/*
 * Per-head in-flight tracking in the caller's area (layout: include/virtq/
 * inflight.h, vhost-user's split QueueRegionSplit).
 *
 * The queue code speaks only of heads: "popped", "completed", "published",
 * "in flight?". The functions below map that onto the split layout, which
 * packed queues use too (the padding holds each id's ring slot count and
 * journal head); a packed queue's descriptor copies live in its journal
 * (journal.h).
 *
 * The area is host memory owned by the caller (maybe a memfd shared with the
 * front-end), not guest memory, and nobody touches it while the queue runs.
 * Fields are accessed by offset through memcpy, so any 8-aligned buffer
 * works whatever its declared type. Indices taken from the area are masked
 * with the queue size before use: a scribbled area cannot send us outside it.
 */
#ifndef VIRTQ_INFLIGHT_INTERNAL_H
#define VIRTQ_INFLIGHT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "queue_internal.h"
#include "virtq/inflight.h"

/* Header fields. */
#define INFLIGHT_FEATURES 0u
#define INFLIGHT_VERSION 8u
#define INFLIGHT_DESC_NUM 10u
#define INFLIGHT_LAST_BATCH_HEAD 12u
#define INFLIGHT_USED_IDX 14u
#define INFLIGHT_HEADER_BYTES 16u
/* Fields of desc[i], at INFLIGHT_HEADER_BYTES + 16 * i. */
#define INFLIGHT_ENTRY_BYTES 16u
#define ENTRY_INFLIGHT 0u
#define ENTRY_USED_MARK 1u /* first padding byte: virtq's "used, not published" */
#define ENTRY_RING_SLOTS 2u /* packed: the chain's ring descriptors (split: padding) */
#define ENTRY_NEXT 6u
#define ENTRY_COUNTER 8u

#define INFLIGHT_LAYOUT_VERSION 1u

/* Entry of head in the area at base, for a queue of size mask + 1. Loops
 * keep base and mask in locals: the kill-order fences make the compiler
 * reload anything it reads from the struct. */
static inline unsigned char *inflight_entry_at(unsigned char *base, uint16_t mask, uint32_t head)
{
	return base + INFLIGHT_HEADER_BYTES + (size_t)(head & mask) * INFLIGHT_ENTRY_BYTES;
}

static inline unsigned char *inflight_entry(const struct virtq *q, uint32_t head)
{
	return inflight_entry_at(q->inflight, q->size_minus_1, head);
}

static inline uint16_t inflight_get16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void inflight_put16(unsigned char *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline uint64_t inflight_get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void inflight_put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline unsigned char *inflight_header(const struct virtq *q, unsigned field)
{
	return (unsigned char *)q->inflight + field;
}

/* In flight: popped and not completed, the only state add_used and unpop
 * accept. */
static inline bool inflight_entry_in_flight(const unsigned char *e)
{
	return e[ENTRY_INFLIGHT] == 1 && e[ENTRY_USED_MARK] == 0;
}

static inline bool inflight_in_flight(const struct virtq *q, uint32_t head)
{
	return inflight_entry_in_flight(inflight_entry(q, head));
}

/* Recorded at all: popped and not yet published (in flight, or completed
 * and waiting for publish). */
static inline bool inflight_recorded(const struct virtq *q, uint32_t head)
{
	return inflight_entry(q, head)[ENTRY_INFLIGHT] != 0;
}

/*
 * A chain of ndesc descriptors was popped. Pop order first, then the flag
 * that makes the entry count (vhost-user: counter, then inflight): a
 * back-end killed in between has not handed the chain out, and its
 * successor pops it afresh. The split layout has no use for ndesc; a packed
 * queue records it (inflight_set_ring_slots), to skip the chain's slots.
 */
static inline void inflight_popped(struct virtq *q, uint16_t head, uint32_t ndesc)
{
	(void)ndesc;
	unsigned char *e = inflight_entry(q, head);
	inflight_put64(e + ENTRY_COUNTER, q->pop_counter++);
	inflight_put16(e + ENTRY_NEXT, q->last_popped); /* undo list for unpop */
	/* the mark of a free head is 0: publish and resume clear it */
	/* vhost-user inflight tracking: counter before inflight (kill-safe order). */
	atomic_signal_fence(memory_order_release);
	e[ENTRY_INFLIGHT] = 1;
	q->last_popped = head;
}

/* Packed rings: how many ring descriptors the chain of head took, so that
 * its used descriptor skips them (2.8.6; QEMU's used_elems[].ndescs). The
 * value is masked on use like every index from the area. */
static inline void inflight_set_ring_slots(const struct virtq *q, uint16_t head, uint16_t slots)
{
	inflight_put16(inflight_entry(q, head) + ENTRY_RING_SLOTS, slots);
}

static inline uint16_t inflight_ring_slots(const struct virtq *q, uint16_t head)
{
	return inflight_get16(inflight_entry(q, head) + ENTRY_RING_SLOTS);
}

/* The inverse of the last inflight_popped() (virtq_unpop). */
static inline void inflight_unpopped(struct virtq *q, uint16_t head)
{
	unsigned char *e = inflight_entry(q, head);
	e[ENTRY_INFLIGHT] = 0;
	q->last_popped = inflight_get16(e + ENTRY_NEXT);
	q->pop_counter--;
}

/*
 * The chain's used element was written: link it into the batch list (which
 * tells a successor which heads a half-finished publish completed) and mark
 * it, so a second completion is refused. inflight stays 1 until published.
 */
static inline void inflight_entry_completed(struct virtq *q, unsigned char *e, uint16_t head)
{
	unsigned char *batch_head = inflight_header(q, INFLIGHT_LAST_BATCH_HEAD);
	inflight_put16(e + ENTRY_NEXT, inflight_get16(batch_head));
	inflight_put16(batch_head, head);
	e[ENTRY_USED_MARK] = 1;
}

/*
 * Batch completion (virtq_add_used_many) in two passes. The first marks every
 * head before anything else is written, so an id given twice finds its own
 * mark and the batch is refused whole; a refused batch unmarks what it
 * marked. A process killed after marking leaves entries (1, 1) outside the
 * batch list, which resume takes as in flight again: their used elements
 * were never published. The second pass writes the used elements and links
 * the heads into the batch list, as inflight_entry_completed() does one at a
 * time (batch.c).
 */
static inline void inflight_entry_claim(unsigned char *e)
{
	e[ENTRY_USED_MARK] = 1;
}

static inline void inflight_entry_unclaim(unsigned char *e)
{
	e[ENTRY_USED_MARK] = 0;
}

static inline void inflight_completed(struct virtq *q, uint16_t head)
{
	inflight_entry_completed(q, inflight_entry(q, head), head);
}

/*
 * A published head is the device's no more: its flag, then its mark, so a
 * process killed in between leaves (0, 1), which resume knows to be half
 * settled. Returns the next head of the batch list.
 */
static inline uint16_t inflight_settle(unsigned char *base, uint16_t mask, uint16_t head)
{
	unsigned char *e = inflight_entry_at(base, mask, head);
	e[ENTRY_INFLIGHT] = 0;
	/* vhost-user inflight tracking: inflight cleared first (kill-safe order) */
	atomic_signal_fence(memory_order_release);
	e[ENTRY_USED_MARK] = 0;
	return inflight_get16(e + ENTRY_NEXT);
}

/*
 * used.idx was just published for the last n completions: clear them and
 * record used.idx as settled, in that order (a successor that finds
 * used_idx != used.idx finishes the job from the batch list).
 */
static inline void inflight_published(struct virtq *q, uint16_t n, uint16_t used_idx)
{
	unsigned char *const base = q->inflight;
	const uint16_t mask = q->size_minus_1;
	uint16_t head = inflight_get16(base + INFLIGHT_LAST_BATCH_HEAD);
	/* vhost-user inflight tracking: used.idx before the flags are cleared
	 * (kill-safe order; nobody reads the area concurrently). */
	atomic_signal_fence(memory_order_seq_cst);
	for (uint16_t i = 0; i < n; i++)
		head = inflight_settle(base, mask, head);
	/* vhost-user inflight tracking: flags cleared before used_idx says so. */
	atomic_signal_fence(memory_order_release);
	inflight_put16(base + INFLIGHT_USED_IDX, used_idx);
}

/* Starts the area afresh for q's size with used.idx at used_idx; O(size). */
void virtq_inflight_start(struct virtq *q, uint16_t used_idx);

/* Whether an area is attached that holds a queue of `size`. */
static inline bool inflight_fits(const struct virtq *q, uint32_t size)
{
	return q->inflight && size <= q->inflight_max_size;
}

/*
 * For save and restore (state.c): every chain held, oldest pop first, the
 * completed unpublished ones marked VIRTQ_STATE_HEAD_USED, into heads[]
 * (room for the size); returns how many of the newest in-flight chains
 * virtq_unpop() may take back.
 */
uint32_t virtq_inflight_collect(const struct virtq *q, uint16_t *heads);

/* Rebuilds the area from such a list of n heads (nothing checked: state.c
 * did), used.idx at used_idx. */
void virtq_inflight_rebuild(struct virtq *q, const uint16_t *heads, uint32_t n, uint32_t unpop_depth,
		      uint16_t used_idx);

#endif /* VIRTQ_INFLIGHT_INTERNAL_H */

/* SPDX-License-Identifier: MIT */
/*
 * The descriptor journal of a packed queue (layout and protocol:
 * include/virtq/inflight.h, vhost-user's QueueRegionPacked).
 *
 * The datapath calls below need a journal; pop and publish are compiled
 * with and without one (packed_pop.c, packed_used.c), so a queue without
 * costs one predictable branch. The journal is host memory the caller
 * owns, which nobody touches while the queue runs; it is validated by
 * resume, and every index taken from it is masked with the queue size
 * anyway, so a scribbled journal cannot send us outside it.
 */
#ifndef VIRTQ_JOURNAL_H
#define VIRTQ_JOURNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "inflight.h"
#include "ring_access.h"

/* Header fields. */
#define JOURNAL_FEATURES 0u
#define JOURNAL_VERSION 8u
#define JOURNAL_DESC_NUM 10u
#define JOURNAL_FREE_HEAD 12u
#define JOURNAL_OLD_FREE_HEAD 14u
#define JOURNAL_USED_IDX 16u
#define JOURNAL_OLD_USED_IDX 18u
#define JOURNAL_USED_WRAP 20u
#define JOURNAL_OLD_USED_WRAP 21u
#define JOURNAL_HEADER_BYTES 32u
/* Fields of desc[i], at JOURNAL_HEADER_BYTES + 32 * i. */
#define JOURNAL_ENTRY_BYTES 32u
#define JENTRY_INFLIGHT 0u
#define JENTRY_NEXT 2u
#define JENTRY_LAST 4u
#define JENTRY_NUM 6u
#define JENTRY_COUNTER 8u
#define JENTRY_ID 16u
#define JENTRY_FLAGS 18u
#define JENTRY_LEN 20u
#define JENTRY_ADDR 24u
/* In the per-id in-flight area: the id's journal head (split: padding). */
#define ENTRY_JOURNAL_HEAD 4u

#define JOURNAL_LAYOUT_VERSION 1u

static inline unsigned char *journal_entry(const struct virtq *q, uint32_t i)
{
	return (unsigned char *)q->journal + JOURNAL_HEADER_BYTES +
	       (size_t)(i & q->size_minus_1) * JOURNAL_ENTRY_BYTES;
}

static inline unsigned char *journal_header(const struct virtq *q, unsigned field)
{
	return (unsigned char *)q->journal + field;
}

static inline uint16_t journal_get16(const struct virtq *q, unsigned field)
{
	return inflight_get16(journal_header(q, field));
}

static inline void journal_put16(const struct virtq *q, unsigned field, uint16_t v)
{
	inflight_put16(journal_header(q, field), v);
}

static inline uint16_t journal_next(const struct virtq *q, uint32_t i)
{
	return inflight_get16(journal_entry(q, i) + JENTRY_NEXT);
}

/* Where a walk copies its ring descriptors: the free list from free_head. */
struct journal_cursor {
	uint16_t entry; /* the entry the next copy goes to */
	uint16_t last;  /* the entry the last copy went to */
};

static inline void journal_cursor_start(const struct virtq *q, struct journal_cursor *cur)
{
	cur->entry = cur->last = journal_get16(q, JOURNAL_FREE_HEAD);
}

/*
 * One ring descriptor, as read once and validated by the walk, into the
 * next free entry (the caller checked there is a journal); nothing counts
 * until virtq_journal_popped() commits. False when no entry is free: the
 * entries of completed chains come back only at publish, and a driver that
 * makes descriptors available in slots it has not seen used (which only a
 * malicious one does) could otherwise have a pop overwrite them.
 */
static inline bool journal_copy(const struct virtq *q, struct journal_cursor *cur,
				const struct packed_desc *d)
{
	if (VIRTQ_UNLIKELY(cur->entry > q->size_minus_1))
		return false;
	unsigned char *e = journal_entry(q, cur->entry);
	inflight_put64(e + JENTRY_ADDR, d->addr);
	memcpy(e + JENTRY_LEN, &d->len, sizeof(d->len));
	inflight_put16(e + JENTRY_ID, d->id);
	inflight_put16(e + JENTRY_FLAGS, d->flags);
	cur->last = cur->entry;
	cur->entry = inflight_get16(e + JENTRY_NEXT);
	return true;
}

/* Puts chain `first` (its entries through its last) at the front of the
 * free list. */
static inline void journal_release(const struct virtq *q, uint16_t first)
{
	const uint16_t last = inflight_get16(journal_entry(q, first) + JENTRY_LAST);
	inflight_put16(journal_entry(q, last) + JENTRY_NEXT, journal_get16(q, JOURNAL_FREE_HEAD));
	journal_put16(q, JOURNAL_FREE_HEAD, first);
}

/*
 * The chain of buffer id, `slots` ring descriptors copied from the old free
 * head on (cur), is the device's: its head records length, end and pop
 * order, then is flagged, then the free list moves past it, then
 * old_free_head commits (vhost-user's order: a back-end killed before the
 * commit has not handed the chain out, and recovery puts the entries back).
 * Out of line: the journal's stores would make the pop reload the queue.
 */
void virtq_journal_popped(struct virtq *q, const struct journal_cursor *cur, uint16_t id,
			  uint32_t slots, uint64_t counter);

/* virtq_unpop(): the newest chain goes back, committed at once. */
void virtq_journal_unpopped(struct virtq *q, uint16_t id);

/* The journal head of buffer id (held: checked by the caller). */
static inline uint16_t journal_head_of(const struct virtq *q, uint16_t id)
{
	return inflight_get16(inflight_entry(q, id) + ENTRY_JOURNAL_HEAD);
}

/* Publish, before the batch becomes visible: the n heads of the per-id
 * batch list (from batch_head) return their entries, and the used position
 * after the batch is recorded (not committed). */
void virtq_journal_publishing(struct virtq *q, uint16_t batch_head, uint16_t n);
/* ... and after: the heads are cleared, then everything commits. */
void virtq_journal_published(struct virtq *q, uint16_t batch_head, uint16_t n);

/* Starts the journal afresh, if any: nothing held, the used position the
 * queue's (used_pos, used_wrap). */
void virtq_journal_start(struct virtq *q);

/* Whether a queue of `size` may start (activation, resume, restore): an
 * in-flight area that holds it, and for a packed queue no journal or one
 * that holds it too. */
static inline bool records_fit(const struct virtq *q, uint32_t size, bool packed)
{
	return inflight_fits(q, size) && (!packed || !q->journal || size <= q->journal_max_size);
}

/* The copies of the chain of held buffer id, for virtq_resubmit(): its
 * first entry and its length. */
static inline uint16_t journal_chain(const struct virtq *q, uint16_t id, uint32_t *num)
{
	const uint16_t first = journal_head_of(q, id);
	*num = inflight_get16(journal_entry(q, first) + JENTRY_NUM);
	return first;
}

static inline struct packed_desc journal_desc(const struct virtq *q, uint16_t entry)
{
	const unsigned char *e = journal_entry(q, entry);
	struct packed_desc d;
	d.addr = inflight_get64(e + JENTRY_ADDR);
	memcpy(&d.len, e + JENTRY_LEN, sizeof(d.len));
	d.id = inflight_get16(e + JENTRY_ID);
	d.flags = inflight_get16(e + JENTRY_FLAGS);
	return d;
}

/*
 * virtq_resume_packed() from a journal that was used: checks it all (0 or
 * -VIRTQ_EBADSTATE, nothing changed), then recovers it, rebuilds the per-id
 * area from it and starts the queue at its positions. rings as checked by
 * virtq_queue_start_checks().
 */
int virtq_journal_resume(struct virtq *q, const struct queue_rings *rings);

#endif /* VIRTQ_JOURNAL_H */

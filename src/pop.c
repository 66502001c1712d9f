/* SPDX-License-Identifier: MIT */
/*
 * virtq_pop(): one avail entry -> one validated chain of host segments.
 *
 * Every descriptor is copied out of guest memory once (ring_read_desc) and
 * only the copy is validated and used, so a guest rewriting descriptors
 * concurrently cannot make us use a value we did not check. Work is bounded:
 * at most size descriptors in the direct walk plus at most size entries of
 * one indirect table, each split over at most VIRTQ_MEM_MAX_REGIONS regions.
 */
#include "chain_build.h"
#include "checked.h"
#include "mem_lookup.h"
#include "queue_internal.h"
#include "ring_access.h"
#include "split_layout.h"

struct walk {
	struct virtq *q;
	struct virtq_chain *c;
	uint64_t total;     /* readable + writable bytes so far */
	bool writable_seen; /* a writable descriptor has been seen */
};

/* Appends one descriptor's buffer, split at region boundaries. */
static int walk_buffer(struct walk *w, const struct ring_desc *d)
{
	const bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	uint64_t gpa = d->addr, last;
	uint32_t len = d->len;

	if (!writable && w->writable_seen)
		return -VIRTQ_EBADDESC;
	w->writable_seen |= writable;
	if (len == 0)
		return 0; /* nothing to access: no segment */
	w->total += len; /* at most size * 2 * 2^32: no u64 overflow */
	if (w->total > UINT32_MAX)
		return -VIRTQ_EOVERFLOW;
	if (!checked_range_last(gpa, len, &last))
		return -VIRTQ_EOVERFLOW;
	while (len) {
		const struct virtq_mem_region *r = mem_region_of(w->q->mem, gpa, &w->q->region_hint);
		if (!r)
			return -VIRTQ_EBADADDR;
		uint64_t tail = region_tail(r, gpa);
		uint32_t chunk = tail < len ? (uint32_t)tail : len;
		int err = chain_push(w->c, region_host(r, gpa), chunk, writable);
		if (err)
			return err;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* Walks the indirect table d points to (virtio 2.7.5.3). */
static int walk_indirect(struct walk *w, const struct ring_desc *d)
{
	uint64_t last;
	if (!queue_has(w->q, VIRTQ_F_INDIRECT_DESC) || (d->flags & VIRTQ_DESC_F_NEXT))
		return -VIRTQ_EBADDESC;
	if (d->len == 0 || d->len % RING_DESC_BYTES)
		return -VIRTQ_EBADDESC;
	const uint32_t n = d->len / RING_DESC_BYTES;
	if (n > queue_size(w->q))
		return -VIRTQ_ELOOP;
	if (!checked_range_last(d->addr, d->len, &last))
		return -VIRTQ_EOVERFLOW;
	void *table = virtq_mem_translate(w->q->mem, d->addr, d->len);
	if (!table)
		return -VIRTQ_EBADADDR;

	uint32_t i = 0;
	for (uint32_t walked = 0;; walked++) {
		if (walked == n)
			return -VIRTQ_ELOOP;
		struct ring_desc e = ring_read_desc(ring_at(table, (uint64_t)i * RING_DESC_BYTES));
		w->c->ndesc++;
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return -VIRTQ_EBADDESC; /* nested indirect */
		int err = walk_buffer(w, &e);
		if (err)
			return err;
		if (!(e.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (e.next >= n)
			return -VIRTQ_EBADIDX;
		i = e.next;
	}
}

static int walk_chain(struct virtq *q, struct virtq_chain *c, uint16_t head)
{
	struct walk w = { .q = q, .c = c };
	const uint32_t size = queue_size(q);
	uint32_t i = head;
	for (uint32_t walked = 0;; walked++) {
		if (walked == size)
			return -VIRTQ_ELOOP;
		struct ring_desc d = ring_read_desc(ring_at(q->desc, (uint64_t)i * RING_DESC_BYTES));
		c->ndesc++;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return walk_indirect(&w, &d);
		int err = walk_buffer(&w, &d);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= size)
			return -VIRTQ_EBADIDX;
		i = d.next;
	}
}

/* Re-reads avail.idx. Returns 1 if entries are pending, 0 if none, or an error. */
static int refresh_avail(struct virtq *q)
{
	/* 2.7.13 (a): acquire pairs with the driver's release of avail.idx, so the
	 * ring entries and descriptors read after this are the published ones. */
	uint16_t idx = ring_load16_acquire(ring_at(q->avail, AVAIL_IDX));
	uint16_t pending = (uint16_t)(idx - q->next_avail);
	if (pending > queue_size(q))
		return queue_fail(q, -VIRTQ_EBADIDX);
	q->shadow_avail = idx;
	return pending != 0;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (!c)
		return -VIRTQ_EINVAL;
	if (q->next_avail == q->shadow_avail && (r = refresh_avail(q)) <= 0)
		return r;
	if (q->in_flight >= queue_size(q))
		return -VIRTQ_EBUSY;

	uint32_t slot = q->next_avail & q->size_minus_1;
	uint16_t head = ring_load16(ring_at(q->avail, avail_ring_off(slot)));
	virtq_chain_clear(c);
	if (head > q->size_minus_1)
		return queue_fail(q, -VIRTQ_EBADIDX);
	r = walk_chain(q, c, head);
	if (r) {
		uint32_t read = c->ndesc;
		virtq_chain_clear(c);
		c->ndesc = read; /* how far the walk got: bounded work is observable */
		return r == -VIRTQ_ENOSPC ? r : queue_fail(q, r);
	}
	c->id = head;
	q->next_avail++;
	q->in_flight++;
	if (q->notify_enabled && queue_has(q, VIRTQ_F_EVENT_IDX))
		ring_store16(ring_at(q->used, avail_event_off(queue_size(q))), q->next_avail);
	return 1;
}

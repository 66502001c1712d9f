/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueue (virtio 2.8): one available chain -> one validated chain
 * of host segments, with the same rules and codes as the split walk (pop.c)
 * where the layouts agree, and these where they differ:
 *   - the chain at avail_pos is available when its first descriptor's flags
 *     say so for the driver's wrap counter (2.8.1: AVAIL == wrap, USED !=
 *     wrap); the flags are read first, with acquire (2.8.21);
 *   - a chain continues in the next ring slot while NEXT is set (2.8.6),
 *     wrapping at the ring's end (the wrap counter flips), through at most
 *     the slots the driver owns: size minus those the device holds (ELOOP);
 *   - the buffer id is the last descriptor's (2.8.6), or the indirect one's
 *     (2.8.19): below the size and not held by the device (EBADIDX);
 *   - an indirect descriptor comes alone (not after NEXT, not with NEXT:
 *     EBADDESC), its table's len / 16 entries are used in order (NEXT and
 *     id ignored in the table, 2.8.19), none of them indirect (EBADDESC).
 * Every descriptor is read once, every buffer mapped by buffer_map.h (split
 * at region boundaries, permissions, IOMMU), the chain built by
 * chain_build.h: chains, cursors and vsock do not know the layout.
 */
#include "buffer_map.h"
#include "chain_build.h"
#include "checked.h"
#include "inflight.h"
#include "journal.h"
#include "packed.h"
#include "packed_layout.h"
#include "ring_access.h"

/* One buffer of the chain into b: order and total, no wrap, guest memory. */
static VIRTQ_ALWAYS_INLINE int add_buffer(struct virtq *q, struct chain_builder *b,
					  const struct packed_desc *d)
{
	const bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	uint64_t last;
	int r = chain_builder_account(b, d->len, writable);
	if (r || d->len == 0)
		return r;
	if (!checked_range_last(d->addr, d->len, &last))
		return -VIRTQ_EOVERFLOW;
	const enum mem_access access = writable ? MEM_ACCESS_WRITE : MEM_ACCESS_READ;
	r = q->iotlb ? iommu_buffer(q, b->segs, b->cap, b->nseg, d->addr, d->len, access)
		     : split_buffer(q, b->segs, b->cap, b->nseg, d->addr, d->len, access);
	if (r < 0)
		return r;
	b->nseg = (uint32_t)r;
	return 0;
}

/* The indirect descriptor d's table (2.8.19): feature negotiated, no NEXT,
 * len a non-zero multiple of 16 of at most size entries, one readable
 * region; every entry a buffer, none indirect. *read counts entries read. */
static VIRTQ_ALWAYS_INLINE int walk_table(struct virtq *q, struct chain_builder *b,
					  const struct packed_desc *d, uint32_t *read)
{
	uint64_t last;
	void *table = NULL; /* set when the mapping below returns 0 */
	if (!queue_has(q, VIRTQ_F_INDIRECT_DESC) || (d->flags & VIRTQ_DESC_F_NEXT))
		return -VIRTQ_EBADDESC;
	if (d->len == 0 || d->len % PACKED_DESC_BYTES)
		return -VIRTQ_EBADDESC;
	const uint32_t n = d->len / PACKED_DESC_BYTES;
	if (n > queue_size(q))
		return -VIRTQ_ELOOP;
	if (!checked_range_last(d->addr, d->len, &last))
		return -VIRTQ_EOVERFLOW;
	int r = q->iotlb ? iommu_table(q, d->addr, d->len, &table)
			 : virtq_mem_map_one(q->mem, d->addr, d->len, MEM_ACCESS_READ, &table);
	if (r)
		return r;
	for (uint32_t i = 0; i < n; i++) {
		struct packed_desc e =
			ring_read_packed_table_entry(ring_at(table, packed_desc_off(i)));
		(*read)++;
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return -VIRTQ_EBADDESC; /* nested */
		if ((r = add_buffer(q, b, &e)))
			return r;
	}
	return 0;
}

/* What a walk found besides the chain. */
struct packed_walk {
	uint16_t id;    /* buffer id */
	uint32_t slots; /* ring descriptors the chain takes */
};

/*
 * Walks the chain whose first descriptor, at avail_pos, is first (already
 * read and found available) into c. c->ndesc counts the descriptors read
 * (ring and table), also on error. With `journal`, each ring descriptor is
 * copied into the journal as it is read; a constant in each caller, so the
 * walk without one is the walk as it was.
 */
static VIRTQ_ALWAYS_INLINE int walk_ring(struct virtq *q, struct virtq_chain *c,
					 struct packed_desc d, struct packed_walk *w,
					 struct journal_cursor *copies, const bool journal)
{
	struct chain_builder b;
	const uint32_t size = queue_size(q), limit = size - q->desc_owned;
	uint32_t pos = q->avail_pos, read = 1;
	int r;
	chain_builder_start(&b, c);
	w->slots = 1;
	if (journal) {
		journal_cursor_start(q, copies);
		if (!journal_copy(q, copies, &d)) {
			c->ndesc = read;
			return -VIRTQ_EBUSY;
		}
	}
	if (d.flags & VIRTQ_DESC_F_INDIRECT) {
		r = walk_table(q, &b, &d, &read);
	} else {
		while (!(r = add_buffer(q, &b, &d)) && (d.flags & VIRTQ_DESC_F_NEXT)) {
			if (w->slots == limit) {
				r = -VIRTQ_ELOOP; /* into slots the device holds */
				break;
			}
			pos = (pos + 1) & q->size_minus_1; /* the next slot, wrapping at the end */
			/* relaxed: the first descriptor's acquire ordered the chain */
			d = ring_read_packed_desc(ring_at(q->desc, packed_desc_off(pos)), false);
			w->slots++;
			read++;
			if (journal && !journal_copy(q, copies, &d)) {
				r = -VIRTQ_EBUSY; /* no journal entry free */
				break;
			}
			if (d.flags & VIRTQ_DESC_F_INDIRECT) {
				r = -VIRTQ_EBADDESC; /* indirect inside a chain */
				break;
			}
		}
	}
	c->ndesc = read;
	if (r)
		return r;
	if (d.id > q->size_minus_1 || inflight_recorded(q, d.id))
		return -VIRTQ_EBADIDX; /* outside the queue, or the device holds it */
	w->id = d.id;
	return chain_builder_finish(&b, c, d.id, read);
}

/* The walk as the compiler places it best, without and with a journal. */
static int walk_chain(struct virtq *q, struct virtq_chain *c, struct packed_desc d,
		      struct packed_walk *w)
{
	return walk_ring(q, c, d, w, NULL, false);
}

static int walk_chain_journaled(struct virtq *q, struct virtq_chain *c, struct packed_desc d,
				struct packed_walk *w, struct journal_cursor *copies)
{
	return walk_ring(q, c, d, w, copies, true);
}

/* An error leaves the chain without segments (pop.c: chain_failed). */
static int chain_failed(struct virtq *q, struct virtq_chain *c, int err)
{
	c->nseg = c->nread = c->read_len = c->write_len = 0;
	if (err == -VIRTQ_ENOSPC)
		return err;
	c->needed = 0;
	/* IOMMU miss, or no journal entry free: the chain stays available */
	if (err == -VIRTQ_EAGAIN || err == -VIRTQ_EBUSY)
		return err;
	c->id = 0;
	return queue_fail(q, err);
}

/* The chain is the device's now: in flight with its slot count, avail_pos
 * past it (the wrap counter flips at the ring's end, 2.8.1). */
static VIRTQ_ALWAYS_INLINE void consume(struct virtq *q, const struct packed_walk *w,
					const struct journal_cursor *copies, const bool journal)
{
	if (journal)
		virtq_journal_popped(q, copies, w->id, w->slots, q->pop_counter);
	inflight_popped(q, w->id, w->slots);
	inflight_set_ring_slots(q, w->id, (uint16_t)w->slots);
	q->avail_pos = packed_step(q, q->avail_pos, w->slots, &q->avail_wrap);
	q->desc_owned = (uint16_t)(q->desc_owned + w->slots);
	q->next_avail++;
	if (q->notify_enabled && queue_has(q, VIRTQ_F_EVENT_IDX))
		virtq_packed_event_follow(q);
}

/* Walks the next available chain into c; count_only (discard) consumes a
 * well-formed chain whatever c can hold. Returns 1, 0 (empty) or an error.
 * `journal` as for walk_ring(). */
static VIRTQ_ALWAYS_INLINE int pop_ring(struct virtq *q, struct virtq_chain *c, bool count_only,
					const bool journal)
{
	struct packed_walk w = { 0, 0 };
	struct journal_cursor copies = { 0, 0 };
	/* 2.8.21: acquire on the first descriptor's flags pairs with the
	 * driver's release of them, so the chain read after is the published one. */
	struct packed_desc first =
		ring_read_packed_desc(ring_at(q->desc, packed_desc_off(q->avail_pos)), true);
	if (!packed_is_avail(first.flags, q->avail_wrap))
		return 0;
	if (VIRTQ_UNLIKELY(queue_in_flight(q) >= queue_size(q) || q->desc_owned >= queue_size(q))) {
		c->ndesc = 0;
		return -VIRTQ_EBUSY; /* not fatal: the chain stays available */
	}
	int r = journal ? walk_chain_journaled(q, c, first, &w, &copies)
			: walk_chain(q, c, first, &w);
	if (count_only && r == -VIRTQ_ENOSPC)
		r = 0;
	if (VIRTQ_UNLIKELY(r))
		return chain_failed(q, c, r);
	consume(q, &w, &copies, journal);
	c->log = q->log;
	return 1;
}

/* The pop without a journal, compiled as it was before there was one. */
static int pop_plain(struct virtq *q, struct virtq_chain *c, bool count_only)
{
	return pop_ring(q, c, count_only, false);
}

static VIRTQ_NOINLINE int pop_journaled(struct virtq *q, struct virtq_chain *c, bool count_only)
{
	return pop_ring(q, c, count_only, true);
}

static inline int pop_one(struct virtq *q, struct virtq_chain *c, bool count_only)
{
	if (VIRTQ_UNLIKELY(q->journal != NULL))
		return pop_journaled(q, c, count_only);
	return pop_plain(q, c, count_only);
}

int virtq_packed_pop(struct virtq *q, struct virtq_chain *c)
{
	return pop_one(q, c, false);
}

int virtq_packed_pop_many(struct virtq *q, struct virtq_chain *chains, uint32_t max)
{
	uint32_t n = 0;
	int r = 0;
	while (n < max && (r = pop_one(q, &chains[n], false)) == 1)
		n++;
	/* as virtq_pop_many(): a fatal error voids the call, a non-fatal one waits */
	if (r < 0 && (n == 0 || q->broken))
		return r;
	return (int)n;
}

int virtq_packed_discard(struct virtq *q, struct virtq_chain *c)
{
	struct virtq_chain count_only;
	virtq_chain_init(&count_only, NULL, 0);
	int r = pop_one(q, &count_only, true);
	if (c) {
		c->ndesc = count_only.ndesc;
		c->needed = r == 1 ? count_only.needed : 0;
		c->id = r == 1 ? count_only.id : 0;
	}
	if (r != 1)
		return r;
	r = virtq_packed_add_used(q, count_only.id, 0); /* just popped: in flight */
	return r ? r : 1;
}

/*
 * The chain of held buffer id again, from the journal's copies of its ring
 * descriptors (its slots may hold used descriptors by now), with the pop's
 * rules for every buffer and table. The copies' structure (NEXT on all but
 * the last, an indirect one alone, the id) is as this process's walk wrote
 * it, or as resume checked it before taking the journal (journal.c:
 * check_chain): not checked again.
 */
static int walk_copies(struct virtq *q, struct virtq_chain *c, uint16_t id)
{
	struct chain_builder b;
	uint32_t num, read = 1;
	uint16_t entry = journal_chain(q, id, &num);
	struct packed_desc d = journal_desc(q, entry);
	int r;
	chain_builder_start(&b, c);
	if (d.flags & VIRTQ_DESC_F_INDIRECT) {
		r = walk_table(q, &b, &d, &read);
	} else {
		for (uint32_t k = 1; !(r = add_buffer(q, &b, &d)) && k < num; k++) {
			entry = journal_next(q, entry);
			d = journal_desc(q, entry);
			read++;
		}
	}
	c->ndesc = read;
	return r ? r : chain_builder_finish(&b, c, id, read);
}

int virtq_packed_resubmit(struct virtq *q, uint16_t id, struct virtq_chain *c)
{
	if (!q->journal)
		return -VIRTQ_ENOTSUP; /* the ring slots may hold used descriptors by now */
	int r = walk_copies(q, c, id);
	if (VIRTQ_UNLIKELY(r))
		return chain_failed(q, c, r);
	c->log = q->log;
	return 1;
}

void virtq_packed_rewind(struct virtq *q, uint16_t head)
{
	const uint32_t slots = inflight_ring_slots(q, head);
	/* slots back is size - slots ahead, which crosses the end exactly when
	 * going back does not: flipped once more */
	q->avail_pos = packed_step(q, q->avail_pos, queue_size(q) - slots, &q->avail_wrap);
	q->avail_wrap = !q->avail_wrap;
	q->desc_owned = (uint16_t)(q->desc_owned - slots);
	if (q->notify_enabled && queue_has(q, VIRTQ_F_EVENT_IDX))
		virtq_packed_event_follow(q);
}

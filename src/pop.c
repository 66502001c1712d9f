/* SPDX-License-Identifier: MIT */
/*
 * virtq_pop(): one avail entry -> one validated chain of host segments.
 *
 * Every descriptor is copied out of guest memory once (ring_read_desc) and
 * only the copy is validated and used, so a guest rewriting descriptors
 * concurrently cannot make us use a value we did not check. Work is bounded:
 * at most size descriptors in the direct walk plus at most size entries of
 * one indirect table, each split over at most the memory map's regions.
 *
 * Speed: the chain under construction lives in locals (registers) during the
 * walk and is written to the caller's struct once at the end; the memory
 * region that held the previous buffer is cached in locals too, so a buffer
 * inside it costs two comparisons. The cache lives for one call (one pop, or
 * every chain of a virtq_pop_many): the memory map does not change during a
 * call, and a slow-path lookup refreshes it. The checks are the same, in the
 * same order, whatever path a buffer takes.
 */
#include "buffer_map.h"
#include "checked.h"
#include "compiler.h"
#include "inflight.h"
#include "iommu_internal.h"
#include "mem_lookup.h"
#include "packed.h"
#include "queue_internal.h"
#include "ring_access.h"
#include "split_layout.h"

/*
 * The region hint as locals: guest [gpa, last] is host [host, ...). The
 * hint never names a region with permission flags, nor any region while a
 * translator is in use (split_buffer and iommu_buffer leave it at
 * QUEUE_NO_HINT then), so the fast path needs no permission or translation
 * check: those buffers take the slow path.
 */
struct cached_region {
	uint64_t gpa, last;
	unsigned char *host;
};

static inline struct cached_region cache_region(const struct virtq *q)
{
	const struct virtq_mem *m = q->mem;
	if (q->region_hint < m->nregions) {
		const struct virtq_mem_region *r = &m->regions[q->region_hint];
		return (struct cached_region){ r->gpa, r->gpa + (r->size - 1), r->host };
	}
	return (struct cached_region){ 1, 0, NULL }; /* matches nothing */
}

#define NO_WRITABLE_YET UINT32_MAX

/*
 * Walks the chain starting at head into c (virtio 2.7.5, 2.7.5.3).
 * Direct descriptors: at most size of them (ELOOP), next < size (EBADIDX).
 * An indirect descriptor ends the direct walk: only with the feature, not
 * with NEXT, len a non-zero multiple of 16 and at most size entries, table
 * inside guest memory; then at most n table entries, next < n, no nesting.
 * Every buffer: readable ones first (EBADDESC), chain total <= 2^32 - 1
 * (EOVERFLOW), no wrap (EOVERFLOW), inside guest memory (EBADADDR) whose
 * regions allow the access, read or write (EACCES), one segment per region
 * crossed. The indirect table needs read access too. Segments beyond c->cap are counted, not
 * stored, and the walk goes on: ENOSPC only for a well-formed chain, with
 * c->needed saying how many segments it takes.
 *
 * State is kept small so it stays in registers: the readable part's segment
 * count and length are snapshots taken at the first writable descriptor
 * (nread == NO_WRITABLE_YET before), and the descriptor count is derived
 * from the walk counters.
 */
static VIRTQ_ALWAYS_INLINE int walk_chain(struct virtq *q, struct virtq_chain *c, uint16_t head,
					  struct cached_region *region)
{
/* An error after reading the current descriptor: report how many were read. */
#define FAIL(err)                                               \
	do {                                                    \
		c->ndesc = direct_ndesc + walked + 1;           \
		return (err);                                   \
	} while (0)
	struct virtq_seg *const segs = c->segs;
	const uint32_t cap = c->cap;
	struct cached_region cr = *region;
	void *table = q->desc;
	uint32_t limit = queue_size(q), i = head, walked = 0;
	uint32_t nseg = 0, nread = NO_WRITABLE_YET, direct_ndesc = 0;
	uint64_t total = 0, read_len = 0;
	//@ ghost uint32_t size = (uint32_t)q->size_minus_1 + 1u;
	//@ ghost uint32_t reads = 0;

	/* Bounded work (proofs/wp/walk.c): reads + what is left <= 2 x size. */
	/*@ loop invariant 0 <= walked <= limit <= size && i < limit;
	    loop invariant direct_ndesc == 0 ==> limit == size;
	    loop invariant reads + (direct_ndesc == 0 ? size : 0) + limit - walked <= 2 * size;
	    loop assigns i, walked, limit, direct_ndesc, nseg, nread, total, read_len, table, cr,
	                 reads, q->region_hint, segs[0 .. cap - 1];
	    loop variant (direct_ndesc == 0 ? size : 0) + limit - walked; */
	for (;;) {
		if (VIRTQ_UNLIKELY(walked == limit)) {
			c->ndesc = direct_ndesc + walked; /* descriptors read */
			return -VIRTQ_ELOOP;
		}
		struct ring_desc d = ring_read_desc(ring_at(table, (uint64_t)i * RING_DESC_BYTES));
		//@ ghost reads++;
		if (VIRTQ_UNLIKELY(d.flags & VIRTQ_DESC_F_INDIRECT)) {
			uint64_t last;
			if (direct_ndesc)
				FAIL(-VIRTQ_EBADDESC); /* nested indirect */
			if (!queue_has(q, VIRTQ_F_INDIRECT_DESC) || (d.flags & VIRTQ_DESC_F_NEXT))
				FAIL(-VIRTQ_EBADDESC);
			if (d.len == 0 || d.len % RING_DESC_BYTES)
				FAIL(-VIRTQ_EBADDESC);
			const uint32_t n = d.len / RING_DESC_BYTES;
			if (n > queue_size(q))
				FAIL(-VIRTQ_ELOOP);
			if (!checked_range_last(d.addr, d.len, &last))
				FAIL(-VIRTQ_EOVERFLOW);
			int err = q->iotlb ? iommu_table(q, d.addr, d.len, &table)
					   : virtq_mem_map_one(q->mem, d.addr, d.len, MEM_ACCESS_READ,
							       &table);
			if (err)
				FAIL(err);
			direct_ndesc = walked + 1; /* including this one */
			limit = n;
			i = 0;
			walked = 0;
			continue;
		}

		const bool writable = d.flags & VIRTQ_DESC_F_WRITE;
		if (writable) {
			if (nread == NO_WRITABLE_YET) { /* first writable: snapshot */
				nread = nseg;
				read_len = total;
			}
		} else if (VIRTQ_UNLIKELY(nread != NO_WRITABLE_YET)) {
			FAIL(-VIRTQ_EBADDESC);
		}
		if (VIRTQ_LIKELY(d.len != 0)) {
			uint64_t last;
			total += d.len; /* at most size * 2 * 2^32: no u64 overflow */
			if (VIRTQ_UNLIKELY(total > UINT32_MAX))
				FAIL(-VIRTQ_EOVERFLOW);
			/* checked_range_last(), len != 0 being known */
			if (VIRTQ_UNLIKELY(!checked_add_u64(d.addr, d.len - 1u, &last)))
				FAIL(-VIRTQ_EOVERFLOW);
			if (VIRTQ_LIKELY(d.addr >= cr.gpa && last <= cr.last)) {
				if (VIRTQ_LIKELY(nseg < cap)) {
					segs[nseg].addr = cr.host + (size_t)(d.addr - cr.gpa);
					segs[nseg].len = d.len;
				}
				nseg++;
			} else {
				const enum mem_access access =
					writable ? MEM_ACCESS_WRITE : MEM_ACCESS_READ;
				int r = VIRTQ_UNLIKELY(q->iotlb != NULL)
						? iommu_buffer(q, segs, cap, nseg, d.addr, d.len, access)
						: split_buffer(q, segs, cap, nseg, d.addr, d.len, access);
				if (r < 0)
					FAIL(r);
				nseg = (uint32_t)r;
				cr = *region = cache_region(q);
			}
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (VIRTQ_UNLIKELY(d.next >= limit))
			FAIL(-VIRTQ_EBADIDX);
		i = d.next;
		walked++;
	}
	c->ndesc = direct_ndesc + walked + 1;
	c->needed = nseg;
	c->id = head;
	if (VIRTQ_UNLIKELY(nseg > cap))
		return -VIRTQ_ENOSPC;
	if (nread == NO_WRITABLE_YET) {
		nread = nseg;
		read_len = total;
	}
	c->nseg = nseg;
	c->nread = nread;
	c->read_len = (uint32_t)read_len;
	c->write_len = (uint32_t)(total - read_len);
	return 0;
#undef FAIL
}

/* The same walk for discard and resubmit, which need not be as fast as pop:
 * one more copy of it, not two. */
static VIRTQ_NOINLINE int walk_chain_slow(struct virtq *q, struct virtq_chain *c, uint16_t head)
{
	struct cached_region region = cache_region(q);
	return walk_chain(q, c, head, &region);
}

/* Re-reads avail.idx. Returns 1 if entries are pending, 0 if none, or an error. */
static int refresh_avail(struct virtq *q)
{
	/* 2.7.13 (a): acquire pairs with the driver's release of avail.idx, so the
	 * ring entries and descriptors read after this are the published ones. */
	uint16_t idx = ring_load16_acquire(ring_at(q->avail, AVAIL_IDX));
	uint16_t pending = (uint16_t)(idx - q->next_avail);
	if (VIRTQ_UNLIKELY(pending > queue_size(q)))
		return queue_fail(q, -VIRTQ_EBADIDX);
	q->shadow_avail = idx;
	return pending != 0;
}

/* An error leaves the chain without segments; what the walk learnt stays:
 * ndesc always (bounded work is observable), id and needed for ENOSPC. */
static int chain_failed(struct virtq *q, struct virtq_chain *c, int err)
{
	c->nseg = c->nread = c->read_len = c->write_len = 0;
	if (err == -VIRTQ_ENOSPC)
		return err;
	if (err == -VIRTQ_EAGAIN) { /* IOMMU miss: the chain stays available */
		c->needed = 0;
		return err;
	}
	c->needed = 0;
	c->id = 0;
	return queue_fail(q, err);
}

/*
 * The next available chain's head, checked: < size, and not recorded in the
 * in-flight area (a driver reposting a chain it has not got back would have
 * one head in flight twice). Returns 1 with *head, 0 if the ring is empty,
 * or an error (fatal ones latched).
 */
static VIRTQ_ALWAYS_INLINE int next_head(struct virtq *q, struct virtq_chain *c, uint16_t *head)
{
	int r;
	if (q->next_avail == q->shadow_avail && (r = refresh_avail(q)) <= 0)
		return r;
	if (VIRTQ_UNLIKELY(queue_in_flight(q) >= queue_size(q)))
		return -VIRTQ_EBUSY;
	uint32_t slot = q->next_avail & q->size_minus_1;
	*head = ring_load16(ring_at(q->avail, avail_ring_off(slot)));
	if (VIRTQ_UNLIKELY(*head > q->size_minus_1 || inflight_recorded(q, *head))) {
		c->ndesc = 0;
		return chain_failed(q, c, -VIRTQ_EBADIDX);
	}
	return 1;
}

/* The chain is the device's now: recorded in flight, the avail slot consumed. */
static VIRTQ_ALWAYS_INLINE void consume(struct virtq *q, uint16_t head, uint32_t ndesc)
{
	inflight_popped(q, head, ndesc);
	q->next_avail++;
	if (q->notify_enabled && queue_has(q, VIRTQ_F_EVENT_IDX))
		ring_store16(ring_at(q->used, avail_event_off(queue_size(q))), q->next_avail);
}

/* What consume() wrote, logged (log.h); a tail call of the pop paths, so
 * that a queue without a log pays one branch. Returns 1. */
static VIRTQ_NOINLINE int consumed_logged(struct virtq *q)
{
	if (q->notify_enabled && queue_has(q, VIRTQ_F_EVENT_IDX))
		virtq_queue_log_used(q, avail_event_off(queue_size(q)), 2);
	return 1;
}

/* virtq_pop() after its entry checks (q usable, c not NULL), with the
 * region cache of the call (walk_chain). */
static VIRTQ_ALWAYS_INLINE int pop_ready(struct virtq *q, struct virtq_chain *c,
					 struct cached_region *region)
{
	uint16_t head;
	int r;
	if ((r = next_head(q, c, &head)) <= 0)
		return r;
	r = walk_chain(q, c, head, region);
	if (VIRTQ_UNLIKELY(r))
		return chain_failed(q, c, r);
	consume(q, head, c->ndesc);
	if (VIRTQ_UNLIKELY((c->log = q->log) != NULL))
		return consumed_logged(q);
	return 1;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	int r = queue_usable(q);
	if (VIRTQ_UNLIKELY(r))
		return r;
	if (VIRTQ_UNLIKELY(!c))
		return -VIRTQ_EINVAL;
	if (VIRTQ_UNLIKELY(q->packed)) /* the layout: one branch per call */
		return virtq_packed_pop(q, c);
	struct cached_region region = cache_region(q);
	return pop_ready(q, c, &region);
}

/* A batch call (include/virtq/queue.h; the others are in batch.c), here so
 * that the walk is inlined into its loop: the entry checks, the call and the
 * register saves are paid once per batch, not per chain. */
int virtq_pop_many(struct virtq *q, struct virtq_chain *chains, uint32_t max)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (!chains && max)
		return -VIRTQ_EINVAL;
	if (VIRTQ_UNLIKELY(q->packed))
		return virtq_packed_pop_many(q, chains, max);
	/* One region cache for the batch: the map cannot change during a call. */
	struct cached_region region = cache_region(q);
	uint32_t n = 0;
	while (n < max && (r = pop_ready(q, &chains[n], &region)) == 1)
		n++;
	/* A fatal error broke the queue: the chains of this call are void with it.
	 * A non-fatal one after some chains waits for the next call. */
	if (r < 0 && (n == 0 || q->broken))
		return r;
	return (int)n; /* n <= in flight <= 32768 */
}

int virtq_discard(struct virtq *q, struct virtq_chain *c)
{
	struct virtq_chain count_only;
	uint16_t head;
	if (c)
		virtq_chain_clear(c);
	int r = queue_usable(q);
	if (r)
		return r;
	if (q->packed)
		return virtq_packed_discard(q, c);
	virtq_chain_init(&count_only, NULL, 0);
	if ((r = next_head(q, &count_only, &head)) > 0) {
		r = walk_chain_slow(q, &count_only, head);
		if (r == -VIRTQ_ENOSPC || (r == 0 && count_only.needed == 0))
			r = 1; /* well-formed: every segment counted, none stored */
		else
			r = chain_failed(q, &count_only, r);
	}
	if (c) {
		c->ndesc = count_only.ndesc;
		c->needed = r == 1 ? count_only.needed : 0;
		c->id = r == 1 ? head : 0;
	}
	if (r != 1)
		return r;
	consume(q, head, count_only.ndesc);
	if (q->log)
		consumed_logged(q);
	r = virtq_add_used(q, head, 0); /* just popped: in flight */
	return r ? r : 1;
}

int virtq_resubmit(struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	int r = queue_usable(q);
	if (r)
		return r;
	if (!c || head > q->size_minus_1 || !inflight_in_flight(q, head))
		return -VIRTQ_EINVAL;
	if (q->packed)
		return virtq_packed_resubmit(q, head, c);
	r = walk_chain_slow(q, c, head);
	if (r)
		return chain_failed(q, c, r);
	c->log = q->log;
	return 1;
}

/* SPDX-License-Identifier: MIT */
/*
 * In-flight area: attaching, starting afresh, listing in pop order, and
 * resuming from what an earlier back-end instance left (inflight.h).
 *
 * Resume trusts nothing in the area: one read-only pass checks all of it,
 * and only then is anything changed, so a rejected resume leaves the area as
 * it was for whoever looks at it next.
 */
#include "inflight.h"
#include "journal.h"
#include "packed.h"
#include "ring_access.h"
#include "virtq/state.h"
#include "split_layout.h"

/* A counter this large was not written by a back-end that popped one chain at
 * a time since the epoch; refusing it keeps stamp arithmetic far from wrap. */
#define INFLIGHT_COUNTER_LIMIT (UINT64_C(1) << 62)

int virtq_set_inflight(struct virtq *q, void *area, size_t bytes)
{
	if (!q || !q->mem || q->active || !area || bytes < VIRTQ_INFLIGHT_BYTES(1) ||
	    ((uintptr_t)area & (VIRTQ_INFLIGHT_ALIGN - 1)))
		return -VIRTQ_EINVAL;
	size_t heads = (bytes - INFLIGHT_HEADER_BYTES) / INFLIGHT_ENTRY_BYTES;
	q->inflight = area;
	q->inflight_max_size = heads >= VIRTQ_MAX_SIZE ? VIRTQ_MAX_SIZE : (uint32_t)heads;
	return 0;
}

void virtq_inflight_start(struct virtq *q, uint16_t used_idx)
{
	memset(q->inflight, 0, VIRTQ_INFLIGHT_BYTES(queue_size(q)));
	inflight_put16(inflight_header(q, INFLIGHT_DESC_NUM), (uint16_t)queue_size(q));
	inflight_put16(inflight_header(q, INFLIGHT_USED_IDX), used_idx);
	/* vhost-user inflight tracking: the version makes the area count, so it
	 * comes last (a process killed before leaves an area never used). */
	atomic_signal_fence(memory_order_release);
	inflight_put16(inflight_header(q, INFLIGHT_VERSION), INFLIGHT_LAYOUT_VERSION);
}

static uint64_t entry_counter(const struct virtq *q, uint16_t head)
{
	return inflight_get64(inflight_entry(q, head) + ENTRY_COUNTER);
}

static uint16_t entry_next(const struct virtq *q, uint16_t head)
{
	return inflight_get16(inflight_entry(q, head) + ENTRY_NEXT);
}

/* Pop order: by stamp; equal stamps (only a corrupt area has them) by head. */
static bool popped_before(const struct virtq *q, uint16_t a, uint16_t b)
{
	uint64_t ca = entry_counter(q, a), cb = entry_counter(q, b);
	return ca < cb || (ca == cb && a < b);
}

static void sift_down(const struct virtq *q, uint16_t *h, uint32_t root, uint32_t n)
{
	for (;;) {
		uint32_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && popped_before(q, h[child], h[child + 1]))
			child++;
		if (!popped_before(q, h[root], h[child]))
			return;
		uint16_t t = h[root];
		h[root] = h[child];
		h[child] = t;
		root = child;
	}
}

/* Heapsort: in place in the caller's array, O(n log n), no allocation. */
static void sort_by_pop_order(const struct virtq *q, uint16_t *h, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		sift_down(q, h, i, n);
	for (uint32_t end = n; end > 1; end--) {
		uint16_t t = h[0];
		h[0] = h[end - 1];
		h[end - 1] = t;
		sift_down(q, h, 0, end - 1);
	}
}

/* The heads recorded, sorted by pop order: those in flight only, or also
 * those completed and waiting for publish. The scan stops at the `expected`
 * heads the indices count (at most that many are written). */
static uint32_t collect(const struct virtq *q, uint16_t *heads, uint32_t expected, bool completed)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < queue_size(q) && n < expected; i++)
		if (completed ? inflight_recorded(q, i) : inflight_in_flight(q, i))
			heads[n++] = (uint16_t)i;
	sort_by_pop_order(q, heads, n);
	return n;
}

int virtq_in_flight_list(const struct virtq *q, uint16_t *heads, uint32_t cap)
{
	int r = queue_usable_query(q);
	if (r)
		return r;
	if (!heads && cap)
		return -VIRTQ_EINVAL;
	const uint32_t n = queue_in_flight(q);
	if (n > cap)
		return -VIRTQ_ENOSPC;
	return (int)collect(q, heads, n, false);
}

uint32_t virtq_inflight_collect(const struct virtq *q, uint16_t *heads)
{
	const uint32_t n = collect(q, heads, (uint16_t)(q->next_avail - q->published_used), true);
	uint32_t depth = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!inflight_in_flight(q, heads[i]))
			heads[i] |= VIRTQ_STATE_HEAD_USED;
	for (uint16_t top = q->last_popped; depth < n && q->pop_counter > depth; depth++) {
		if (!inflight_in_flight(q, top) || entry_counter(q, top) != q->pop_counter - 1 - depth)
			break;
		top = entry_next(q, top);
	}
	return depth;
}

/*
 * Stamps: 0 .. n - depth - 1 for the chains that can no longer be unpopped,
 * then a gap, then the undoable ones, linked newest to oldest: unpop takes
 * back exactly the last `depth` chains, as on the queue that was saved. The
 * completed ones form the batch list publish settles.
 */
void virtq_inflight_rebuild(struct virtq *q, const uint16_t *heads, uint32_t n, uint32_t unpop_depth,
		      uint16_t used_idx)
{
	virtq_inflight_start(q, used_idx);
	uint16_t previous = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint16_t head = heads[i] & (uint16_t)~VIRTQ_STATE_HEAD_USED;
		unsigned char *e = inflight_entry(q, head);
		inflight_put64(e + ENTRY_COUNTER, i + (i >= n - unpop_depth));
		e[ENTRY_INFLIGHT] = 1;
		if (heads[i] & VIRTQ_STATE_HEAD_USED) {
			inflight_completed(q, head);
			continue;
		}
		inflight_put16(e + ENTRY_NEXT, i ? previous : head);
		previous = head;
	}
	q->pop_counter = n + 1u;
	q->last_popped = previous;
}

/* ---- resume ---------------------------------------------------------------- */

/* What the check pass found, for the apply pass. */
struct resume_plan {
	bool fresh;           /* version 0: never used */
	uint16_t batch;       /* heads published by used.idx but not yet cleared */
	uint32_t in_flight;   /* chains in flight after recovery */
	uint32_t half_settled; /* flag cleared, mark not: killed between the two */
	uint64_t max_counter; /* newest stamp among them */
};

/*
 * Whether the first len (>= 1) heads of the list from head are distinct,
 * every next being < size. The list is a path in a functional graph, so it
 * runs into a cycle after mu steps, of length lambda (Brent's algorithm,
 * O(mu + lambda) <= O(size) steps, nothing written); the first mu + lambda
 * heads are distinct and the next one repeats.
 */
static bool list_prefix_distinct(const struct virtq *q, uint16_t head, uint32_t len)
{
	uint32_t power = 1, lambda = 1, mu = 0;
	uint16_t tortoise = head, hare = entry_next(q, head);
	while (tortoise != hare) {
		if (power == lambda) {
			tortoise = hare;
			power *= 2;
			lambda = 0;
		}
		hare = entry_next(q, hare);
		lambda++;
	}
	tortoise = hare = head;
	for (uint32_t i = 0; i < lambda; i++)
		hare = entry_next(q, hare);
	while (tortoise != hare) {
		tortoise = entry_next(q, tortoise);
		hare = entry_next(q, hare);
		mu++;
	}
	return len <= mu + lambda;
}

/* Every entry on its own: flag and mark 0 or 1, next and stamp in range.
 * Counts the recorded heads, their newest stamp, and the half-settled ones
 * (a mark without its flag, which only a publish killed between the two
 * stores leaves: check_batch() must find each in the batch). */
static int check_entries(const struct virtq *q, struct resume_plan *plan)
{
	const uint32_t size = queue_size(q);
	for (uint32_t i = 0; i < size; i++) {
		const unsigned char *e = inflight_entry(q, i);
		const uint8_t flag = e[ENTRY_INFLIGHT], mark = e[ENTRY_USED_MARK];
		if (flag > 1 || mark > 1 || inflight_get16(e + ENTRY_NEXT) >= size)
			return -VIRTQ_EBADSTATE;
		plan->half_settled += mark && !flag;
		if (!flag)
			continue;
		uint64_t counter = inflight_get64(e + ENTRY_COUNTER);
		if (counter >= INFLIGHT_COUNTER_LIMIT)
			return -VIRTQ_EBADSTATE;
		plan->in_flight++;
		if (counter > plan->max_counter)
			plan->max_counter = counter;
	}
	return 0;
}

/* The last batch: published by used.idx, maybe not yet cleared. */
static int check_batch(const struct virtq *q, uint16_t used_idx, struct resume_plan *plan)
{
	const uint16_t batch_head = inflight_get16(inflight_header(q, INFLIGHT_LAST_BATCH_HEAD));
	plan->batch = (uint16_t)(used_idx - inflight_get16(inflight_header(q, INFLIGHT_USED_IDX)));
	if (batch_head >= queue_size(q) || plan->batch > queue_size(q))
		return -VIRTQ_EBADSTATE;
	if (plan->batch && !list_prefix_distinct(q, batch_head, plan->batch))
		return -VIRTQ_EBADSTATE;
	uint16_t head = batch_head;
	uint32_t half_settled = 0;
	for (uint32_t i = 0; i < plan->batch; i++) {
		const unsigned char *e = inflight_entry(q, head);
		/* completed, settled, or half settled: never plainly in flight */
		if (e[ENTRY_INFLIGHT] && !e[ENTRY_USED_MARK])
			return -VIRTQ_EBADSTATE;
		plan->in_flight -= e[ENTRY_INFLIGHT];
		half_settled += !e[ENTRY_INFLIGHT] && e[ENTRY_USED_MARK];
		head = entry_next(q, head);
	}
	return half_settled == plan->half_settled ? 0 : -VIRTQ_EBADSTATE;
}

static int resume_check(const struct virtq *q, uint16_t used_idx, struct resume_plan *plan)
{
	const uint16_t version = inflight_get16(inflight_header(q, INFLIGHT_VERSION));
	*plan = (struct resume_plan){ .fresh = version == 0 };
	if (plan->fresh)
		return 0;
	if (version != INFLIGHT_LAYOUT_VERSION ||
	    inflight_get64(inflight_header(q, INFLIGHT_FEATURES)) != 0 ||
	    inflight_get16(inflight_header(q, INFLIGHT_DESC_NUM)) != queue_size(q))
		return -VIRTQ_EBADSTATE;
	int r = check_entries(q, plan);
	return r ? r : check_batch(q, used_idx, plan);
}

/*
 * Finishes the killed publish, then every other recorded head is in flight
 * again, then used_idx: in publish's order, so a resume killed half way is
 * resumed again from what it left.
 */
static void resume_apply(struct virtq *q, uint16_t used_idx, const struct resume_plan *plan)
{
	uint16_t head = inflight_get16(inflight_header(q, INFLIGHT_LAST_BATCH_HEAD));
	for (uint32_t i = 0; i < plan->batch; i++)
		head = inflight_settle(q->inflight, q->size_minus_1, head);
	for (uint32_t i = 0; i < queue_size(q); i++)
		inflight_entry(q, i)[ENTRY_USED_MARK] = 0;
	/* vhost-user inflight tracking: flags settled before used_idx says so. */
	atomic_signal_fence(memory_order_release);
	inflight_put16(inflight_header(q, INFLIGHT_USED_IDX), used_idx);
}

int virtq_resume(struct virtq *q, uint16_t next_avail)
{
	struct queue_rings rings;
	struct resume_plan plan;
	if (q && (q->features & VIRTQ_FEATURE(VIRTQ_F_RING_PACKED)))
		return -VIRTQ_ENOTSUP; /* packed: virtq_resume_packed() */
	int r = virtq_queue_start_checks(q, &rings);
	if (r)
		return r;
	/* 2.7.13 (b): pairs with the earlier instance's release of used.idx, so
	 * the used elements it published are visible before we write more. */
	const uint16_t used_idx = ring_load16_acquire(ring_at(rings.used, USED_IDX));
	r = resume_check(q, used_idx, &plan);
	if (r)
		return r;
	const uint16_t resume_at = (uint16_t)(used_idx + plan.in_flight);
	if (next_avail != resume_at && next_avail != used_idx)
		return -VIRTQ_EBADSTATE;
	if (plan.fresh)
		virtq_inflight_start(q, used_idx);
	else
		resume_apply(q, used_idx, &plan);
	virtq_queue_start(q, &rings, resume_at, used_idx);
	/* A gap after the newest stamp: the resumed chains cannot be unpopped
	 * (their avail slots are not known to be the last ones consumed). */
	q->pop_counter = plan.in_flight ? plan.max_counter + 2 : 0;
	q->last_popped = 0;
	return 0;
}

/* A packed queue resumes only when the area records nothing in flight. */
static int packed_resume_check(const struct virtq *q)
{
	struct resume_plan plan = { 0 };
	if (inflight_get16(inflight_header(q, INFLIGHT_VERSION)) == 0)
		return 0;
	if (inflight_get16(inflight_header(q, INFLIGHT_VERSION)) != INFLIGHT_LAYOUT_VERSION ||
	    inflight_get64(inflight_header(q, INFLIGHT_FEATURES)) != 0 ||
	    inflight_get16(inflight_header(q, INFLIGHT_DESC_NUM)) != queue_size(q))
		return -VIRTQ_EBADSTATE;
	int r = check_entries(q, &plan);
	if (r)
		return r;
	return plan.in_flight || plan.half_settled ? -VIRTQ_ENOTSUP : 0;
}

int virtq_resume_packed(struct virtq *q, uint32_t vring_base)
{
	struct queue_rings rings;
	if (q && !(q->features & VIRTQ_FEATURE(VIRTQ_F_RING_PACKED)))
		return -VIRTQ_EINVAL;
	int r = virtq_queue_start_checks(q, &rings);
	if (r)
		return r;
	const uint16_t avail = (uint16_t)vring_base, used = (uint16_t)(vring_base >> 16);
	const uint16_t pos_mask = (uint16_t)~VIRTQ_RING_EVENT_WRAP;
	/* checked as stored: the position, not the base it is taken from */
	const uint16_t avail_pos = avail & pos_mask, used_pos = used & pos_mask;
	if (avail_pos >= queue_size(q) || used_pos >= queue_size(q))
		return -VIRTQ_EBADSTATE;
	if (q->journal && journal_get16(q, JOURNAL_VERSION) != 0)
		return virtq_journal_resume(q, &rings); /* the journal knows better */
	r = packed_resume_check(q);
	if (r)
		return r;
	if (avail != used)
		return -VIRTQ_ENOTSUP; /* chains in flight, recorded nowhere */
	virtq_queue_start(q, &rings, 0, 0);
	q->avail_pos = q->used_pos = q->batch_pos = avail_pos;
	q->avail_wrap = q->used_wrap = (avail & VIRTQ_RING_EVENT_WRAP) != 0;
	if (queue_has(q, VIRTQ_F_EVENT_IDX))
		virtq_packed_event_follow(q);
	virtq_inflight_start(q, 0);
	virtq_journal_start(q);
	q->pop_counter = 0;
	q->last_popped = 0;
	return 0;
}

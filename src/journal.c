/* SPDX-License-Identifier: MIT */
/*
 * The descriptor journal of a packed queue: attaching, starting afresh,
 * publish's two halves, and recovery after a crash (inflight.h).
 *
 * Recovery trusts nothing in the journal: one pass checks all of it (the
 * per-id area, derived data that resume rebuilds anyway, serves as its
 * scratch), and only then is the journal changed.
 */
#include "journal.h"
#include "packed.h"
#include "packed_layout.h"

/* As in inflight.c: stamps this large were not written by a real back-end. */
#define JOURNAL_COUNTER_LIMIT (UINT64_C(1) << 62)

int virtq_set_journal(struct virtq *q, void *area, size_t bytes)
{
	if (!q || !q->mem || q->active)
		return -VIRTQ_EINVAL;
	if (!area) {
		q->journal = NULL;
		q->journal_max_size = 0;
		return 0;
	}
	if (bytes < VIRTQ_JOURNAL_BYTES(1) || ((uintptr_t)area & (VIRTQ_INFLIGHT_ALIGN - 1)))
		return -VIRTQ_EINVAL;
	size_t entries = (bytes - JOURNAL_HEADER_BYTES) / JOURNAL_ENTRY_BYTES;
	q->journal = area;
	q->journal_max_size = entries >= VIRTQ_MAX_SIZE ? VIRTQ_MAX_SIZE : (uint32_t)entries;
	return 0;
}

/* Commits the current free head and used position (the old_ fields). */
static void commit(struct virtq *q)
{
	journal_put16(q, JOURNAL_OLD_FREE_HEAD, journal_get16(q, JOURNAL_FREE_HEAD));
	journal_put16(q, JOURNAL_OLD_USED_IDX, journal_get16(q, JOURNAL_USED_IDX));
	*journal_header(q, JOURNAL_OLD_USED_WRAP) = *journal_header(q, JOURNAL_USED_WRAP);
}

static void set_used(struct virtq *q, uint16_t pos, bool wrap)
{
	journal_put16(q, JOURNAL_USED_IDX, pos);
	*journal_header(q, JOURNAL_USED_WRAP) = wrap;
}

void virtq_journal_start(struct virtq *q)
{
	if (!q->journal)
		return;
	const uint32_t size = queue_size(q);
	memset(q->journal, 0, VIRTQ_JOURNAL_BYTES(size));
	for (uint32_t i = 0; i < size; i++)
		inflight_put16(journal_entry(q, i) + JENTRY_NEXT, (uint16_t)(i + 1));
	journal_put16(q, JOURNAL_DESC_NUM, (uint16_t)size);
	set_used(q, q->used_pos, q->used_wrap);
	commit(q);
	/* vhost-user inflight tracking: the version makes the journal count,
	 * so it comes last (a process killed before leaves one never used). */
	atomic_signal_fence(memory_order_release);
	journal_put16(q, JOURNAL_VERSION, JOURNAL_LAYOUT_VERSION);
}

void virtq_journal_popped(struct virtq *q, const struct journal_cursor *cur, uint16_t id,
			  uint32_t slots, uint64_t counter)
{
	const uint16_t first = journal_get16(q, JOURNAL_FREE_HEAD);
	unsigned char *h = journal_entry(q, first);
	inflight_put16(h + JENTRY_LAST, cur->last);
	inflight_put16(h + JENTRY_NUM, (uint16_t)slots);
	inflight_put64(h + JENTRY_COUNTER, counter);
	/* vhost-user inflight tracking: the head's fields before its flag. */
	atomic_signal_fence(memory_order_release);
	h[JENTRY_INFLIGHT] = 1;
	inflight_put16(inflight_entry(q, id) + ENTRY_JOURNAL_HEAD, first);
	journal_put16(q, JOURNAL_FREE_HEAD, cur->entry);
	/* vhost-user inflight tracking: free_head before old_free_head commits. */
	atomic_signal_fence(memory_order_release);
	journal_put16(q, JOURNAL_OLD_FREE_HEAD, cur->entry);
}

void virtq_journal_unpopped(struct virtq *q, uint16_t id)
{
	const uint16_t first = journal_head_of(q, id);
	journal_release(q, first);
	journal_entry(q, first)[JENTRY_INFLIGHT] = 0;
	/* vhost-user inflight tracking: the flag cleared before the commit. */
	atomic_signal_fence(memory_order_release);
	journal_put16(q, JOURNAL_OLD_FREE_HEAD, journal_get16(q, JOURNAL_FREE_HEAD));
}

void virtq_journal_publishing(struct virtq *q, uint16_t batch_head, uint16_t n)
{
	uint16_t id = batch_head;
	for (uint16_t i = 0; i < n; i++) {
		journal_release(q, journal_head_of(q, id));
		id = inflight_get16(inflight_entry(q, id) + ENTRY_NEXT);
	}
	set_used(q, q->used_pos, q->used_wrap);
	/* vhost-user inflight tracking: the batch's entries and used position
	 * recorded before its first flags make it visible. */
	atomic_signal_fence(memory_order_release);
}

void virtq_journal_published(struct virtq *q, uint16_t batch_head, uint16_t n)
{
	uint16_t id = batch_head;
	/* vhost-user inflight tracking: the batch is visible before its heads
	 * are cleared. */
	atomic_signal_fence(memory_order_seq_cst);
	for (uint16_t i = 0; i < n; i++) {
		journal_entry(q, journal_head_of(q, id))[JENTRY_INFLIGHT] = 0;
		id = inflight_get16(inflight_entry(q, id) + ENTRY_NEXT);
	}
	/* vhost-user inflight tracking: heads cleared before the commit. */
	atomic_signal_fence(memory_order_release);
	commit(q);
}

/* ---- recovery ------------------------------------------------------------- */

/* What the check pass found, for the apply pass. */
struct journal_plan {
	bool keep_batch;    /* the last batch became visible: commit it, else roll back */
	uint16_t free_head; /* after that */
	uint16_t used_pos;
	bool used_wrap;
	uint32_t held;      /* ring descriptors of the chains held */
	uint64_t max_counter;
};

/* Scratch marks in the per-id area, one byte each per index < size. */
#define SCRATCH_ENTRY_SEEN 0u
#define SCRATCH_ID_TAKEN 1u

static bool mark(const struct virtq *q, uint32_t i, unsigned which)
{
	unsigned char *m = inflight_entry(q, i) + which;
	if (*m)
		return false;
	*m = 1;
	return true;
}

static int check_header(const struct virtq *q, const struct queue_rings *rings,
			struct journal_plan *plan)
{
	const uint32_t size = queue_size(q);
	const uint16_t used = journal_get16(q, JOURNAL_USED_IDX),
		       old_used = journal_get16(q, JOURNAL_OLD_USED_IDX);
	const uint8_t wrap = *journal_header(q, JOURNAL_USED_WRAP),
		      old_wrap = *journal_header(q, JOURNAL_OLD_USED_WRAP);
	const uint16_t free_head = journal_get16(q, JOURNAL_FREE_HEAD),
		       old_free_head = journal_get16(q, JOURNAL_OLD_FREE_HEAD);
	if (journal_get16(q, JOURNAL_VERSION) != JOURNAL_LAYOUT_VERSION ||
	    inflight_get64(journal_header(q, JOURNAL_FEATURES)) != 0 ||
	    journal_get16(q, JOURNAL_DESC_NUM) != size || free_head > size || old_free_head > size ||
	    used >= size || old_used >= size || wrap > 1 || old_wrap > 1)
		return -VIRTQ_EBADSTATE;
	plan->keep_batch = false;
	if (used != old_used || wrap != old_wrap) {
		/* vhost-user reconnect: pairs with the earlier instance's release
		 * of the batch's first flags; still available there: not published */
		uint16_t flags = ring_load16_acquire(
			ring_at(rings->desc, packed_desc_off(old_used) + PACKED_DESC_FLAGS));
		plan->keep_batch = !packed_is_avail(flags, old_wrap != 0);
	}
	plan->free_head = plan->keep_batch ? free_head : old_free_head;
	plan->used_pos = plan->keep_batch ? used : old_used;
	plan->used_wrap = plan->keep_batch ? wrap != 0 : old_wrap != 0;
	return 0;
}

/* The free list: ends (an index >= size) within size entries, none twice.
 * Returns how many entries it holds, or -VIRTQ_EBADSTATE. */
static int64_t check_free_list(const struct virtq *q, uint16_t head)
{
	const uint32_t size = queue_size(q);
	uint32_t n = 0;
	for (uint32_t i = head; i < size; i = journal_next(q, i)) {
		if (!mark(q, i, SCRATCH_ENTRY_SEEN))
			return -VIRTQ_EBADSTATE;
		n++;
	}
	return n;
}

/* One chain held, from its flagged head h: num entries through next,
 * ending at last, on no other list; the copies' flags as a walk left them
 * (NEXT on all but the last, an indirect one alone); its buffer id (the
 * last copy's) < size and nobody else's; its stamp in range. */
static int check_chain(const struct virtq *q, uint16_t h, struct journal_plan *plan)
{
	const uint32_t size = queue_size(q);
	const unsigned char *head = journal_entry(q, h);
	const uint32_t num = inflight_get16(head + JENTRY_NUM);
	const uint64_t counter = inflight_get64(head + JENTRY_COUNTER);
	if (num == 0 || num > size - plan->held || counter >= JOURNAL_COUNTER_LIMIT)
		return -VIRTQ_EBADSTATE;
	uint32_t e = h;
	for (uint32_t k = 0;; k++) {
		/* past the head, entries are neither seen nor flagged: one chain each */
		if (e >= size ||
		    (k && (!mark(q, e, SCRATCH_ENTRY_SEEN) || journal_entry(q, e)[JENTRY_INFLIGHT])))
			return -VIRTQ_EBADSTATE;
		const struct packed_desc d = journal_desc(q, (uint16_t)e);
		const bool more = k + 1 < num;
		if (((d.flags & VIRTQ_DESC_F_NEXT) != 0) != more ||
		    ((d.flags & VIRTQ_DESC_F_INDIRECT) && num != 1))
			return -VIRTQ_EBADSTATE;
		if (!more) {
			if (e != inflight_get16(head + JENTRY_LAST) || d.id >= size ||
			    !mark(q, d.id, SCRATCH_ID_TAKEN))
				return -VIRTQ_EBADSTATE;
			break;
		}
		e = journal_next(q, e);
	}
	plan->held += num;
	if (counter > plan->max_counter)
		plan->max_counter = counter;
	return 0;
}

/* Every entry is free or on exactly one chain held. */
static int check_entries(const struct virtq *q, struct journal_plan *plan)
{
	const uint32_t size = queue_size(q);
	memset(q->inflight, 0, VIRTQ_INFLIGHT_BYTES(size));
	int64_t free_entries = check_free_list(q, plan->free_head);
	if (free_entries < 0)
		return (int)free_entries;
	plan->held = 0;
	plan->max_counter = 0;
	for (uint32_t h = 0; h < size; h++) {
		if (inflight_entry(q, h)[SCRATCH_ENTRY_SEEN])
			continue; /* free, or inside a chain already checked */
		const uint8_t flag = journal_entry(q, h)[JENTRY_INFLIGHT];
		if (flag > 1)
			return -VIRTQ_EBADSTATE;
		if (!flag)
			continue;
		(void)mark(q, h, SCRATCH_ENTRY_SEEN);
		int r = check_chain(q, (uint16_t)h, plan);
		if (r)
			return r;
	}
	/* no entry leaked: neither free nor held */
	return (uint64_t)free_entries + plan->held == size ? 0 : -VIRTQ_EBADSTATE;
}

/*
 * Commit or roll back, clear what the free list holds, then the per-id area
 * from the chains held: in publish's order, so a resume killed half way is
 * resumed again from what it left.
 */
static uint32_t recover(struct virtq *q, const struct journal_plan *plan)
{
	const uint32_t size = queue_size(q);
	if (plan->keep_batch) {
		commit(q);
	} else {
		journal_put16(q, JOURNAL_FREE_HEAD, plan->free_head);
		set_used(q, plan->used_pos, plan->used_wrap);
	}
	for (uint32_t i = plan->free_head; i < size; i = journal_next(q, i))
		journal_entry(q, i)[JENTRY_INFLIGHT] = 0;
	memset(q->inflight, 0, VIRTQ_INFLIGHT_BYTES(size));
	inflight_put16(inflight_header(q, INFLIGHT_DESC_NUM), (uint16_t)size);
	uint32_t chains = 0;
	for (uint32_t h = 0; h < size; h++) {
		unsigned char *head = journal_entry(q, h);
		if (!head[JENTRY_INFLIGHT])
			continue;
		const uint16_t last = inflight_get16(head + JENTRY_LAST);
		const uint16_t id = inflight_get16(journal_entry(q, last) + JENTRY_ID);
		unsigned char *e = inflight_entry(q, id);
		inflight_put64(e + ENTRY_COUNTER, inflight_get64(head + JENTRY_COUNTER));
		inflight_put16(e + ENTRY_RING_SLOTS, inflight_get16(head + JENTRY_NUM));
		inflight_put16(e + ENTRY_JOURNAL_HEAD, (uint16_t)h);
		e[ENTRY_INFLIGHT] = 1;
		chains++;
	}
	/* vhost-user inflight tracking: the per-id area is whole before it counts. */
	atomic_signal_fence(memory_order_release);
	inflight_put16(inflight_header(q, INFLIGHT_VERSION), INFLIGHT_LAYOUT_VERSION);
	return chains;
}

/*
 * The slots of the chains held, from the used position on, are the
 * device's: the dead instance may have written used descriptors there
 * that never became visible (a batch's later ones are written whole at
 * add time, packed_used.c), and the driver would take them for used once
 * a new publish brings it there. Marked not used again: the avail form of
 * their lap.
 */
static void scrub_unpublished_used(struct virtq *q, uint16_t pos, bool wrap, uint32_t n)
{
	const uint16_t first = pos;
	for (uint32_t i = 0; i < n; i++) {
		ring_store16(ring_at(q->desc, packed_desc_off(pos) + PACKED_DESC_FLAGS),
			     packed_avail_bits(wrap));
		pos = packed_step(q, pos, 1, &wrap);
	}
	if (VIRTQ_UNLIKELY(q->log != NULL) && n)
		virtq_packed_log_descs(q, first, n);
}

int virtq_journal_resume(struct virtq *q, const struct queue_rings *rings)
{
	struct journal_plan plan = { 0 };
	int r = check_header(q, rings, &plan);
	if (!r)
		r = check_entries(q, &plan);
	if (r)
		return r;
	const uint32_t chains = recover(q, &plan);
	virtq_queue_start(q, rings, (uint16_t)chains, 0);
	q->used_pos = q->batch_pos = plan.used_pos;
	q->used_wrap = plan.used_wrap;
	q->avail_wrap = plan.used_wrap;
	q->avail_pos = packed_step(q, plan.used_pos, plan.held, &q->avail_wrap);
	q->desc_owned = (uint16_t)plan.held;
	scrub_unpublished_used(q, plan.used_pos, plan.used_wrap, plan.held);
	if (queue_has(q, VIRTQ_F_EVENT_IDX))
		virtq_packed_event_follow(q);
	/* a gap after the newest stamp: the resumed chains cannot be unpopped */
	q->pop_counter = chains ? plan.max_counter + 2 : 0;
	q->last_popped = 0;
	return 0;
}

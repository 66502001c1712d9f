/* SPDX-License-Identifier: MIT */
/*
 * Queue state: save, self-consistency check, restore.
 *
 * A state handed to virtq_restore() comes from a file or a migration stream:
 * nothing in it is trusted. It is checked against itself, against the
 * queue's own limits and against the rings in guest memory, all before the
 * queue is touched, so a rejected state leaves nothing of itself behind.
 */
#include <stddef.h>
#include <string.h>

#include "inflight.h"
#include "journal.h"
#include "queue_internal.h"
#include "ring_access.h"
#include "split_layout.h"
#include "virtq/state.h"

/* Everything but heads[], which is large and meaningful only up to the counts. */
static void clear_fields(struct virtq_state *s)
{
	memset(s, 0, offsetof(struct virtq_state, heads));
}

static uint16_t unpublished_of(const struct virtq_state *s)
{
	return (uint16_t)(s->next_used - s->published_used);
}

/*
 * A packed queue is saved when it holds nothing (state.h: the ring slots of
 * chains in flight cannot be re-walked). Nothing in flight, nothing
 * unpublished, then no ring slot is the device's and used_pos is avail_pos
 * in the same lap. Slot counts the front-end wrote into the in-flight area
 * can leave desc_owned, or (desc_owned 0 again) the wrap counters, apart
 * with no chain held; such a queue is not one a state can reproduce. The
 * positions themselves then agree: both moved by the slot counts, whose
 * difference is desc_owned mod 2^16, a multiple of the size.
 */
static bool packed_drained(const struct virtq *q)
{
	return queue_in_flight(q) == 0 && q->next_used == q->published_used &&
	       q->desc_owned == 0 && q->avail_wrap == q->used_wrap;
}

int virtq_save(const struct virtq *q, struct virtq_state *s)
{
	if (!q || !q->mem || !s)
		return -VIRTQ_EINVAL;
	if (q->packed && !packed_drained(q))
		return -VIRTQ_ENOTSUP; /* chains in flight: needs descriptor copies */
	clear_fields(s);
	s->max_size = (uint32_t)q->max_size_minus_1 + 1u;
	s->size = queue_size(q);
	s->features = q->features;
	s->desc_gpa = q->desc_gpa;
	s->avail_gpa = q->avail_gpa;
	s->used_gpa = q->used_gpa;
	s->active = q->active;
	s->broken = q->broken;
	s->next_avail = q->next_avail;
	s->next_used = q->next_used;
	s->published_used = q->published_used;
	s->in_flight = queue_in_flight(q);
	s->signalled_used = q->signalled_used;
	s->signalled_valid = q->signalled_valid;
	s->notify_enabled = q->notify_enabled;
	if (q->packed) {
		s->avail_pos = q->avail_pos;
		s->avail_wrap = q->avail_wrap;
		s->used_pos = q->used_pos;
		s->used_wrap = q->used_wrap;
		s->signal_slots = q->signal_slots;
	}
	if (q->active)
		s->unpop_depth = virtq_inflight_collect(q, s->heads);
	return 0;
}

static bool state_packed(const struct virtq_state *s)
{
	return (s->features >> VIRTQ_F_RING_PACKED) & 1u;
}

static bool packed_fields_clear(const struct virtq_state *s)
{
	return !s->avail_pos && !s->used_pos && !s->avail_wrap && !s->used_wrap &&
	       !s->signal_slots;
}

/*
 * An active packed queue as virtq_save() saves one: holding nothing, so the
 * device owns no ring slot and used_pos is avail_pos in the same lap, both
 * inside the ring; publish adds at most size slots to signal_slots while it
 * is <= size, so it never exceeds 2 * size.
 */
static bool packed_consistent(const struct virtq_state *s)
{
	return s->in_flight == 0 && s->next_used == s->published_used && s->avail_pos < s->size &&
	       s->used_pos == s->avail_pos && s->used_wrap == s->avail_wrap &&
	       s->signal_slots <= 2u * s->size;
}

static bool valid_queue_size(uint32_t size)
{
	return is_pow2(size) && size <= VIRTQ_MAX_SIZE;
}

/* Before activation nothing has moved: everything is as virtq_reset() left it. */
static bool at_reset_values(const struct virtq_state *s)
{
	return !s->broken && s->next_avail == 0 && s->next_used == 0 && s->published_used == 0 &&
	       s->in_flight == 0 && s->signalled_used == 0 && !s->signalled_valid &&
	       !s->notify_enabled && s->unpop_depth == 0 && packed_fields_clear(s);
}

/*
 * The device-side counters of an active queue agree with each other: pop
 * moves next_avail and in_flight together, unpop moves both back, add_used
 * moves next_used on and in_flight back. So next_avail - next_used (mod 2^16)
 * is in_flight, which pop keeps <= size; and add_used publishes before more
 * than size entries are pending. Each chain held, in flight or unpublished,
 * is a distinct head: pop refuses a head already held.
 */
static bool indices_consistent(const struct virtq_state *s)
{
	if (s->in_flight > s->size || s->unpop_depth > s->in_flight)
		return false;
	if ((uint16_t)(s->next_avail - s->next_used) != s->in_flight)
		return false;
	return s->in_flight + unpublished_of(s) <= s->size;
}

/*
 * The heads held: as many in flight and completed as the indices say, each
 * < size, none twice (a bitmap of the largest queue), the undoable ones the
 * newest entries and in flight.
 */
static bool heads_consistent(const struct virtq_state *s)
{
	unsigned char seen[VIRTQ_MAX_SIZE / 8];
	const uint32_t n = s->in_flight + unpublished_of(s);
	uint32_t completed = 0, newest_in_flight = 0;
	memset(seen, 0, sizeof(seen));
	for (uint32_t i = 0; i < n; i++) {
		const uint16_t h = s->heads[i] & (uint16_t)~VIRTQ_STATE_HEAD_USED;
		const bool used = s->heads[i] & VIRTQ_STATE_HEAD_USED;
		if (h >= s->size || ((unsigned)seen[h / 8] >> (h % 8)) & 1u)
			return false;
		seen[h / 8] |= (unsigned char)(1u << (h % 8));
		completed += used;
		newest_in_flight = used ? 0 : newest_in_flight + 1;
	}
	return completed == unpublished_of(s) && s->unpop_depth <= newest_in_flight;
}

int virtq_state_check(const struct virtq_state *s)
{
	if (!s)
		return -VIRTQ_EINVAL;
	if (!valid_queue_size(s->max_size) || !valid_queue_size(s->size) ||
	    s->size > s->max_size)
		return -VIRTQ_EBADSTATE;
	if (!s->active)
		return at_reset_values(s) ? 0 : -VIRTQ_EBADSTATE;
	if (state_packed(s) ? !packed_consistent(s) : !packed_fields_clear(s))
		return -VIRTQ_EBADSTATE;
	return indices_consistent(s) && heads_consistent(s) ? 0 : -VIRTQ_EBADSTATE;
}

/*
 * used.idx is the device's: the driver never writes it, so in the memory
 * image that goes with the state it still holds the last published value.
 */
static bool used_idx_matches(void *used, uint16_t published_used)
{
	/* 2.7.13 (b) pairs the device's release store of used.idx with this
	 * acquire: if the queue was last run by another thread (the one that
	 * saved it), seeing its final used.idx also makes the used elements it
	 * wrote before visible here, so the entries we add next land after them. */
	return ring_load16_acquire(ring_at(used, USED_IDX)) == published_used;
}

/* Every check of virtq_restore(), in its documented order; q is not modified. */
static int restore_checks(const struct virtq *q, const struct virtq_mem *mem,
			  const struct virtq_state *s, struct queue_rings *rings)
{
	if (!mem || !s || q->mem != mem)
		return -VIRTQ_EINVAL;
	int r = virtq_state_check(s);
	if (r)
		return r;
	/* size 0 cannot pass virtq_state_check(); it is ruled out here too, in
	 * the test restore_apply()'s size_minus_1 relies on (0 would become 65536) */
	if (s->size == 0 || s->size > (uint32_t)q->max_size_minus_1 + 1u)
		return -VIRTQ_EINVAL;
	if (!s->active)
		return 0;
	if ((r = virtq_queue_check_features(s->features, q->iommu)))
		return r;
	if (!records_fit(q, s->size, state_packed(s)))
		return -VIRTQ_EINVAL;
	r = virtq_queue_map_rings(mem, queue_translator(s->features, q->iommu), s->size,
				  state_packed(s), s->desc_gpa, s->avail_gpa, s->used_gpa, rings);
	if (r)
		return r;
	/* packed: no index only the device writes (state.h), nothing to compare */
	if (state_packed(s))
		return 0;
	return used_idx_matches(rings->used, s->published_used) ? 0 : -VIRTQ_EBADSTATE;
}

/* Fields not in the state keep virtq_reset()'s values (the region hint 0);
 * the in-flight area is rebuilt from the state's heads. */
static void restore_apply(struct virtq *q, const struct virtq_state *s,
			  const struct queue_rings *rings)
{
	virtq_reset(q);
	q->size_minus_1 = (uint16_t)(s->size - 1u);
	q->features = s->features;
	q->desc_gpa = s->desc_gpa;
	q->avail_gpa = s->avail_gpa;
	q->used_gpa = s->used_gpa;
	q->active = s->active;
	q->broken = s->broken;
	q->desc = rings->desc;
	q->avail = rings->avail;
	q->used = rings->used;
	q->used_phys = rings->used_phys;
	q->desc_phys = rings->desc_phys;
	q->iotlb = queue_translator(s->features, q->iommu);
	q->region_hint = QUEUE_NO_HINT; /* the first buffer looks its region up */
	q->next_avail = s->next_avail;
	/* avail.idx is re-read at the first pop: nothing is assumed available. */
	q->shadow_avail = s->next_avail;
	q->next_used = s->next_used;
	q->published_used = s->published_used;
	q->signalled_used = s->signalled_used;
	q->signalled_valid = s->signalled_valid;
	q->notify_enabled = s->notify_enabled;
	if (s->active && state_packed(s)) {
		/* nothing held (virtq_state_check): no slot owned, no batch open,
		 * whose first slot and flags (batch_*) the next add_used sets */
		q->packed = true;
		q->avail_pos = s->avail_pos;
		q->avail_wrap = s->avail_wrap;
		q->used_pos = q->batch_pos = s->used_pos;
		q->used_wrap = s->used_wrap;
		q->signal_slots = s->signal_slots;
		virtq_journal_start(q); /* nothing held: a fresh journal at used_pos */
	}
	if (s->active)
		virtq_inflight_rebuild(q, s->heads, s->in_flight + unpublished_of(s), s->unpop_depth,
				 s->published_used);
}

int virtq_restore(struct virtq *q, const struct virtq_mem *mem, const struct virtq_state *s)
{
	struct queue_rings rings = { 0 };
	if (!q)
		return -VIRTQ_EINVAL;
	int r = restore_checks(q, mem, s, &rings);
	if (r) {
		virtq_reset(q);
		return r;
	}
	restore_apply(q, s, &rings);
	return 0;
}

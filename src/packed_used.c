/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueue (virtio 2.8): returning chains to the driver.
 *
 * The used descriptor of a chain goes to used_pos, a ring slot the device
 * owns: the descriptors of every chain in flight were read when it was
 * popped, and used_pos trails avail_pos by desc_owned, the slots of the
 * chains in flight. It then skips the completed chain's slot count (2.8.6,
 * recorded at pop in the in-flight area), as the driver does when it reads
 * it back, and the used wrap counter flips at the ring's end (2.8.1).
 *
 * Batches (2.8.9 "write out ... then the flags of the first"): every used
 * descriptor of a batch but the first is written whole at add time; the
 * first's flags wait for publish, which stores them with release, so the
 * driver, reading in ring order, sees the whole batch or none of it.
 */
#include "inflight.h"
#include "journal.h"
#include "packed.h"
#include "packed_layout.h"
#include "ring_access.h"

/* Writes the used descriptor of chain id (in flight, checked) at used_pos. */
static void write_used(struct virtq *q, uint16_t id, uint32_t len)
{
	void *d = ring_at(q->desc, packed_desc_off(q->used_pos));
	const uint16_t flags = packed_used_bits(q->used_wrap);
	/* consume() (packed_pop.c) wrote slots <= size, but the front-end can
	 * write the area: packed_step() keeps used_pos inside the ring anyway */
	const uint32_t slots = inflight_ring_slots(q, id);
	ring_store32(ring_at(d, PACKED_DESC_LEN), len);
	ring_store16(ring_at(d, PACKED_DESC_ID), id);
	if (q->next_used == q->published_used) { /* the first of a batch: flags at publish */
		q->batch_pos = q->used_pos;
		q->batch_flags = flags;
	} else {
		/* relaxed: publish's release of the first flags orders this one */
		ring_store16(ring_at(d, PACKED_DESC_FLAGS), flags);
	}
	if (VIRTQ_UNLIKELY(q->log != NULL))
		virtq_packed_log_descs(q, q->used_pos, 1);
	q->used_pos = packed_step(q, q->used_pos, slots, &q->used_wrap);
	q->desc_owned = (uint16_t)(q->desc_owned - slots);
	q->next_used++;
}

int virtq_packed_add_used(struct virtq *q, uint16_t id, uint32_t len)
{
	if (id > q->size_minus_1)
		return -VIRTQ_EINVAL;
	unsigned char *entry = inflight_entry(q, id);
	if (!inflight_entry_in_flight(entry))
		return -VIRTQ_EINVAL;
	write_used(q, id, len);
	inflight_entry_completed(q, entry, id);
	return 0;
}

int virtq_packed_add_used_many(struct virtq *q, const struct virtq_used_elem *elems, uint32_t n)
{
	/* the ids were claimed by the caller (batch.c: claim_all) */
	for (uint32_t i = 0; i < n; i++) {
		write_used(q, elems[i].id, elems[i].len);
		inflight_completed(q, elems[i].id);
	}
	return 0;
}

/* Ring slots from `from` to `to`, one lap at most: a batch spans 1..size. */
static uint32_t slots_between(const struct virtq *q, uint16_t from, uint16_t to)
{
	const uint32_t size = queue_size(q);
	const uint32_t d = to >= from ? (uint32_t)(to - from) : to + size - from;
	return d ? d : size;
}

/* publish with `journal` constant, as packed_pop.c's walk_ring(). */
static VIRTQ_ALWAYS_INLINE int publish(struct virtq *q, const bool journal)
{
	const uint16_t n = (uint16_t)(q->next_used - q->published_used);
	if (!n)
		return 0;
	void *first = ring_at(q->desc, packed_desc_off(q->batch_pos));
	uint16_t batch_head = 0;
	if (journal) {
		batch_head = inflight_get16(inflight_header(q, INFLIGHT_LAST_BATCH_HEAD));
		virtq_journal_publishing(q, batch_head, n);
	}
	/* 2.8.9 (batch) / 2.8.21: release orders every used descriptor of the
	 * batch before the first one's flags make the batch visible. */
	ring_store16_release(ring_at(first, PACKED_DESC_FLAGS), q->batch_flags);
	if (VIRTQ_UNLIKELY(q->log != NULL))
		virtq_packed_log_descs(q, q->batch_pos, 1); /* log (a): after the write */
	inflight_published(q, n, q->next_used);
	if (journal)
		virtq_journal_published(q, batch_head, n);
	const uint32_t slots = slots_between(q, q->batch_pos, q->used_pos);
	/* saturates above size: the notification decision then knows nothing */
	q->signal_slots = q->signal_slots > queue_size(q) ? q->signal_slots : q->signal_slots + slots;
	q->published_used = q->next_used;
	return n;
}

static VIRTQ_NOINLINE int publish_journaled(struct virtq *q)
{
	return publish(q, true);
}

int virtq_packed_publish(struct virtq *q)
{
	if (VIRTQ_UNLIKELY(q->journal != NULL))
		return publish_journaled(q);
	return publish(q, false);
}

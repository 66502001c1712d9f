/* SPDX-License-Identifier: MIT */
/*
 * The packed layout's half of every datapath call (virtio 2.8). The public
 * calls (pop.c, used.c, batch.c, queue.c) run their entry checks, then
 * dispatch once on q->packed to these; the split path is unchanged.
 */
#ifndef VIRTQ_PACKED_H
#define VIRTQ_PACKED_H

#include "queue_internal.h"

/* packed_pop.c: virtq_pop(), virtq_pop_many(), virtq_discard(), virtq_unpop()
 * after their entry checks (q usable, arguments checked). */
int virtq_packed_pop(struct virtq *q, struct virtq_chain *c);
int virtq_packed_pop_many(struct virtq *q, struct virtq_chain *chains, uint32_t max);
int virtq_packed_discard(struct virtq *q, struct virtq_chain *c);
/* virtq_resubmit() after its entry checks: from the journal's copies
 * (-VIRTQ_ENOTSUP without a journal). */
int virtq_packed_resubmit(struct virtq *q, uint16_t id, struct virtq_chain *c);
/* Undoes the ring side of the pop of head, the newest chain in flight
 * (virtq_unpop() checked it and undoes the in-flight side). */
void virtq_packed_rewind(struct virtq *q, uint16_t head);

/* packed_used.c: completion, after the entry checks. */
int virtq_packed_add_used(struct virtq *q, uint16_t id, uint32_t len);
int virtq_packed_add_used_many(struct virtq *q, const struct virtq_used_elem *elems, uint32_t n);
int virtq_packed_publish(struct virtq *q);

/* packed_event.c: event suppression (2.8.10), after the entry checks. */
int virtq_packed_needs_notify(struct virtq *q);
int virtq_packed_enable_notify(struct virtq *q);
int virtq_packed_disable_notify(struct virtq *q);
/* The device event structure after a pop moved avail_pos (EVENT_IDX form). */
void virtq_packed_event_follow(struct virtq *q);
/* Starts a packed queue: positions 0, wrap counters 1 (2.8.1), notifications
 * wanted in the device event structure. */
void virtq_packed_start(struct virtq *q);

/* Dirty logging of n used descriptors from ring slot pos on (wrapping), and
 * of the device event structure. */
void virtq_packed_log_descs(struct virtq *q, uint16_t pos, uint32_t n);

/*
 * The ring position `ahead` slots after pos (pos + ahead), flipping *wrap
 * when the step crosses the ring's end (2.8.1). Masked rather than reduced
 * once, so that the position is inside the ring whatever the slot count:
 * counts come back from the in-flight area, which the front-end can write.
 */
static inline uint16_t packed_step(const struct virtq *q, uint32_t pos, uint32_t ahead, bool *wrap)
{
	const uint32_t end = pos + ahead;
	if (end > q->size_minus_1)
		*wrap = !*wrap;
	return (uint16_t)(end & q->size_minus_1);
}

#endif /* VIRTQ_PACKED_H */

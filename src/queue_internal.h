/* SPDX-License-Identifier: MIT */
/* Helpers shared by the split-queue source files. */
#ifndef VIRTQ_QUEUE_INTERNAL_H
#define VIRTQ_QUEUE_INTERNAL_H

#include <stdbool.h>

#include "virtq/queue.h"

static inline bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static inline uint32_t queue_size(const struct virtq *q)
{
	return (uint32_t)q->size_minus_1 + 1u;
}

static inline bool queue_has(const struct virtq *q, unsigned feature_bit)
{
	return (q->features >> feature_bit) & 1u;
}

/* Latches the queue broken after a fatal guest error and returns err. */
static inline int queue_fail(struct virtq *q, int err)
{
	q->broken = true;
	return err;
}

/* virtio 2.7.7.2: whether moving used.idx from old to new_idx crosses event. */
static inline bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* The common entry check of every datapath call. */
static inline int queue_usable(const struct virtq *q)
{
	if (!q)
		return -VIRTQ_EINVAL;
	if (q->broken)
		return -VIRTQ_EBROKEN;
	if (!q->active)
		return -VIRTQ_ENOTREADY;
	return 0;
}

/* Host addresses of a queue's three rings. */
struct queue_rings {
	void *desc, *avail, *used;
};

/*
 * Validates the rings of a queue of `size` at the given guest addresses and
 * maps them, without touching any queue: desc 16-aligned, avail 2-aligned,
 * used 4-aligned in guest and host (-VIRTQ_EINVAL); each ring's full extent,
 * event field included, inside one region (-VIRTQ_EBADADDR) allowing read
 * (desc, avail) or read and write (used) (-VIRTQ_EACCES); no wrap
 * computing the extents (-VIRTQ_EOVERFLOW). Shared by activation and restore,
 * so a restored queue is held to exactly the rules of an activated one.
 */
int virtq_queue_map_rings(const struct virtq_mem *mem, uint32_t size, uint64_t desc_gpa,
			  uint64_t avail_gpa, uint64_t used_gpa, struct queue_rings *rings);

/*
 * The feature contract (queue.h): VERSION_1 present, nothing refused.
 * Returns 0 or -VIRTQ_ENOTSUP. Shared by activation, resume and restore.
 */
int virtq_queue_check_features(uint64_t features);

/*
 * What activation and resume check before starting: q inactive, the features
 * (virtq_queue_check_features), an in-flight
 * area for its size (-VIRTQ_EINVAL), the rings (virtq_queue_map_rings). q is not
 * modified.
 */
int virtq_queue_start_checks(const struct virtq *q, struct queue_rings *rings);

/*
 * Starts q on rings at the given indices, notifications wanted: the device
 * owns the used ring's flags and avail_event and writes them here. The
 * in-flight area and the pop order are the caller's business.
 */
void virtq_queue_start(struct virtq *q, const struct queue_rings *rings, uint16_t next_avail,
		 uint16_t next_used);

/* Chains popped and not yet completed: every popped chain is either in flight
 * or has exactly one used entry. */
static inline uint16_t queue_in_flight(const struct virtq *q)
{
	return (uint16_t)(q->next_avail - q->next_used);
}

#endif /* VIRTQ_QUEUE_INTERNAL_H */

/* SPDX-License-Identifier: MIT */
/* Helpers shared by the queue source files, both layouts. */
#ifndef VIRTQ_QUEUE_INTERNAL_H
#define VIRTQ_QUEUE_INTERNAL_H

#include <stdbool.h>

#include "compiler.h"
#include "log_internal.h"
#include "virtq/iommu.h"
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

/* A region hint that names no region (pop.c: cache_region). */
#define QUEUE_NO_HINT UINT32_MAX

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

/* Re-translates the rings of a queue whose rings an invalidation met
 * (iommu.h): -VIRTQ_EAGAIN (the call that found them stale did nothing:
 * call again; also when re-translation succeeded, so that the entry check
 * stays a tail call) or a fatal error. */
int virtq_queue_remap(struct virtq *q);

/* The common entry check of every datapath call. Stale rings (iommu.h) ride
 * on the broken flag, so they cost nothing until an invalidation. */
static inline int queue_usable(struct virtq *q)
{
	if (!q)
		return -VIRTQ_EINVAL;
	if (VIRTQ_UNLIKELY(q->broken))
		return q->rings_stale ? virtq_queue_remap(q) : -VIRTQ_EBROKEN;
	if (!q->active)
		return -VIRTQ_ENOTREADY;
	return 0;
}

/* The same check for queries that touch no ring: stale rings do not matter. */
static inline int queue_usable_query(const struct virtq *q)
{
	if (!q)
		return -VIRTQ_EINVAL;
	if (q->broken && !q->rings_stale)
		return -VIRTQ_EBROKEN;
	if (!q->active)
		return -VIRTQ_ENOTREADY;
	return 0;
}

/*
 * Dirty logging of what virtq writes to the used ring (log.h), called right
 * after the store: one predictable branch without a log.
 */
void virtq_queue_log_used(struct virtq *q, uint64_t off, uint64_t len);
/* Logs n used elements from ring index idx on (wrapping); returns 0, so
 * that a completion can end with it as a tail call. */
int virtq_queue_log_elems(struct virtq *q, uint16_t idx, uint32_t n);

static inline void queue_log_used(struct virtq *q, uint64_t off, uint64_t len)
{
	if (VIRTQ_UNLIKELY(q->log != NULL))
		virtq_queue_log_used(q, off, len);
}

/* Host addresses of a queue's three rings, and the used ring's
 * guest-physical address (its IOVA translated, with ACCESS_PLATFORM). */
struct queue_rings {
	void *desc, *avail, *used;
	uint64_t desc_phys, used_phys;
};

/*
 * Validates the rings of a queue of `size` at the given guest addresses and
 * maps them, without touching any queue: desc 16-aligned, avail 2-aligned,
 * used 4-aligned in guest and host (-VIRTQ_EINVAL); each ring's full extent,
 * event field included, inside one region (-VIRTQ_EBADADDR) allowing read
 * (desc, avail) or read and write (used) (-VIRTQ_EACCES); no wrap
 * computing the extents (-VIRTQ_EOVERFLOW). With a translator (iotlb) the
 * addresses are IOVAs, each ring inside one mapping with the access it
 * needs (iommu.h; -VIRTQ_EAGAIN on a miss). Shared by activation and restore,
 * so a restored queue is held to exactly the rules of an activated one.
 * packed (virtio 2.8.10): the descriptor ring 16-aligned, read and write
 * (the device writes used descriptors into it); the driver event structure
 * 4-aligned, read; the device event structure 4-aligned, read and write.
 */
int virtq_queue_map_rings(const struct virtq_mem *mem, const struct virtq_iommu *iotlb,
			  uint32_t size, bool packed, uint64_t desc_gpa, uint64_t avail_gpa,
			  uint64_t used_gpa, struct queue_rings *rings);

/* Bytes of each ring part of a queue of size in the layout (iommu.c). */
static inline uint64_t queue_desc_bytes(bool packed, uint32_t size)
{
	return packed ? VIRTQ_PACKED_RING_BYTES(size) : VIRTQ_DESC_TABLE_BYTES(size);
}

static inline uint64_t queue_driver_bytes(bool packed, uint32_t size)
{
	return packed ? VIRTQ_PACKED_EVENT_BYTES : VIRTQ_AVAIL_RING_BYTES(size);
}

static inline uint64_t queue_device_bytes(bool packed, uint32_t size)
{
	return packed ? VIRTQ_PACKED_EVENT_BYTES : VIRTQ_USED_RING_BYTES(size);
}

/*
 * The feature contract (queue.h): VERSION_1 present, nothing refused,
 * ACCESS_PLATFORM only with a translator. Returns 0 or -VIRTQ_ENOTSUP.
 * Shared by activation, resume and restore.
 */
int virtq_queue_check_features(uint64_t features, const struct virtq_iommu *iommu);

/* The translator a queue with these features uses: NULL without ACCESS_PLATFORM. */
static inline const struct virtq_iommu *queue_translator(uint64_t features,
							  const struct virtq_iommu *iommu)
{
	return (features >> VIRTQ_F_ACCESS_PLATFORM) & 1u ? iommu : NULL;
}


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

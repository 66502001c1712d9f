/* SPDX-License-Identifier: MIT */
/* Split virtqueue configuration, activation and bookkeeping. */
#include <string.h>

#include "checked.h"
#include "inflight.h"
#include "iommu_internal.h"
#include "mem_lookup.h"
#include "journal.h"
#include "packed.h"
#include "packed_layout.h"
#include "queue_internal.h"
#include "ring_access.h"
#include "split_layout.h"

int virtq_init(struct virtq *q, const struct virtq_mem *mem, uint32_t max_size)
{
	if (!q || !mem || !is_pow2(max_size) || max_size > VIRTQ_MAX_SIZE)
		return -VIRTQ_EINVAL;
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->max_size_minus_1 = (uint16_t)(max_size - 1);
	q->size_minus_1 = q->max_size_minus_1;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	if (!q || !q->mem)
		return;
	const struct virtq_mem *mem = q->mem;
	uint16_t max_minus_1 = q->max_size_minus_1;
	void *inflight = q->inflight;
	uint32_t inflight_max_size = q->inflight_max_size;
	void *journal = q->journal;
	uint32_t journal_max_size = q->journal_max_size;
	struct virtq_log *log = q->log;
	const struct virtq_iommu *iommu = q->iommu;
	memset(q, 0, sizeof(*q));
	q->log = log;
	q->iommu = iommu;
	q->mem = mem;
	q->max_size_minus_1 = max_minus_1;
	q->size_minus_1 = max_minus_1;
	q->inflight = inflight;
	q->inflight_max_size = inflight_max_size;
	q->journal = journal;
	q->journal_max_size = journal_max_size;
}

static int configurable(const struct virtq *q)
{
	if (!q || !q->mem || q->active)
		return -VIRTQ_EINVAL;
	return 0;
}

int virtq_set_size(struct virtq *q, uint32_t size)
{
	int r = configurable(q);
	if (r)
		return r;
	if (!is_pow2(size) || size > (uint32_t)q->max_size_minus_1 + 1u)
		return -VIRTQ_EINVAL;
	q->size_minus_1 = (uint16_t)(size - 1);
	return 0;
}

int virtq_set_addrs(struct virtq *q, const struct virtq_ring_addrs *addrs)
{
	int r = configurable(q);
	if (r)
		return r;
	if (!addrs)
		return -VIRTQ_EINVAL;
	q->desc_gpa = addrs->desc_area;
	q->avail_gpa = addrs->driver_area;
	q->used_gpa = addrs->device_area;
	return 0;
}

int virtq_set_features(struct virtq *q, uint64_t features)
{
	int r = configurable(q);
	if (r)
		return r;
	q->features = features;
	return 0;
}

/* Bits whose meaning virtq does not implement (queue.h, feature contract). */
#define REFUSED_FEATURES \
	(VIRTQ_FEATURE(VIRTQ_F_ACCESS_PLATFORM) | VIRTQ_FEATURE(VIRTQ_F_IN_ORDER))

uint64_t virtq_supported_features(void)
{
	return VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) |
	       VIRTQ_FEATURE(VIRTQ_F_VERSION_1) | VIRTQ_FEATURE(VIRTQ_F_ACCESS_PLATFORM) |
	       VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
}

int virtq_queue_check_features(uint64_t features, const struct virtq_iommu *iommu)
{
	uint64_t refused = REFUSED_FEATURES;
	if (iommu)
		refused &= ~VIRTQ_FEATURE(VIRTQ_F_ACCESS_PLATFORM);
	if (!(features & VIRTQ_FEATURE(VIRTQ_F_VERSION_1)) || (features & refused))
		return -VIRTQ_ENOTSUP;
	return 0;
}

/* Host address of one ring: whole extent in one region allowing the access
 * (and in one IOMMU mapping allowing it, with a translator), aligned in
 * guest and host. *phys is its guest-physical address. */
static int map_ring(const struct virtq_mem *mem, const struct virtq_iommu *iotlb, uint64_t addr,
		    uint64_t bytes, uint64_t align, enum mem_access access, void **host,
		    uint64_t *phys)
{
	uint64_t last, gpa = addr, covered;
	int r;
	if (addr & (align - 1))
		return -VIRTQ_EINVAL;
	if (!checked_range_last(addr, bytes, &last))
		return -VIRTQ_EOVERFLOW;
	if (iotlb) {
		if ((r = virtq_iommu_lookup(iotlb, addr, bytes, access, &gpa, &covered)))
			return r;
		if (covered < bytes)
			return -VIRTQ_EBADADDR; /* a ring lies in one mapping */
	}
	if ((r = virtq_mem_map_one(mem, gpa, bytes, access, host)))
		return r;
	if ((uintptr_t)*host & (align - 1))
		return -VIRTQ_EINVAL;
	*phys = gpa;
	return 0;
}

int virtq_queue_map_rings(const struct virtq_mem *mem, const struct virtq_iommu *iotlb,
			  uint32_t size, bool packed, uint64_t desc_gpa, uint64_t avail_gpa,
			  uint64_t used_gpa, struct queue_rings *rings)
{
	struct queue_rings r;
	uint64_t phys;
	int err;
	if ((err = map_ring(mem, iotlb, desc_gpa, queue_desc_bytes(packed, size), 16,
			    packed ? MEM_ACCESS_RW : MEM_ACCESS_READ, &r.desc, &r.desc_phys)) ||
	    (err = map_ring(mem, iotlb, avail_gpa, queue_driver_bytes(packed, size),
			    packed ? 4 : 2, MEM_ACCESS_READ, &r.avail, &phys)) ||
	    (err = map_ring(mem, iotlb, used_gpa, queue_device_bytes(packed, size), 4,
			    MEM_ACCESS_RW, &r.used, &r.used_phys)))
		return err;
	*rings = r;
	return 0;
}

int virtq_queue_start_checks(const struct virtq *q, struct queue_rings *rings)
{
	int r = configurable(q);
	if (r)
		return r;
	if ((r = virtq_queue_check_features(q->features, q->iommu)))
		return r;
	if (!records_fit(q, queue_size(q), queue_has(q, VIRTQ_F_RING_PACKED)))
		return -VIRTQ_EINVAL;
	if (q->log && (r = virtq_log_covers_mem(q->log)))
		return r;
	return virtq_queue_map_rings(q->mem, queue_translator(q->features, q->iommu), queue_size(q),
				     queue_has(q, VIRTQ_F_RING_PACKED), q->desc_gpa, q->avail_gpa,
				     q->used_gpa, rings);
}

void virtq_queue_start(struct virtq *q, const struct queue_rings *rings, uint16_t next_avail,
		 uint16_t next_used)
{
	q->desc = rings->desc;
	q->avail = rings->avail;
	q->used = rings->used;
	q->used_phys = rings->used_phys;
	q->desc_phys = rings->desc_phys;
	q->packed = queue_has(q, VIRTQ_F_RING_PACKED);
	q->iotlb = queue_translator(q->features, q->iommu);
	q->rings_stale = false;
	q->region_hint = QUEUE_NO_HINT; /* the first buffer looks its region up */
	q->next_avail = q->shadow_avail = next_avail;
	q->next_used = q->published_used = q->signalled_used = next_used;
	q->signalled_valid = false;
	q->broken = false;
	q->notify_enabled = true;
	q->active = true;
	if (q->packed) {
		virtq_packed_start(q);
		return;
	}
	/* The device owns the used ring: start with notifications wanted. */
	ring_store16(ring_at(rings->used, USED_FLAGS), 0);
	queue_log_used(q, USED_FLAGS, 2);
	if (queue_has(q, VIRTQ_F_EVENT_IDX)) {
		ring_store16(ring_at(rings->used, avail_event_off(queue_size(q))), next_avail);
		queue_log_used(q, avail_event_off(queue_size(q)), 2);
	}
}

int virtq_activate(struct virtq *q)
{
	struct queue_rings rings;
	int r = virtq_queue_start_checks(q, &rings);
	if (r)
		return r;
	virtq_queue_start(q, &rings, 0, 0);
	virtq_inflight_start(q, 0);
	if (q->packed)
		virtq_journal_start(q);
	q->pop_counter = 0;
	q->last_popped = 0;
	return 0;
}

/*
 * The most recently popped chain still undoable is last_popped, if it is in
 * flight and carries the newest pop stamp; each popped entry links to the
 * one popped before it, so repeated unpops walk back while that holds. A
 * completed chain in between stops the walk: its avail slot is consumed.
 */
int virtq_unpop(struct virtq *q)
{
	int r = queue_usable(q);
	if (r)
		return r;
	const uint16_t head = q->last_popped;
	if (q->pop_counter == 0 || !inflight_in_flight(q, head) ||
	    inflight_get64(inflight_entry(q, head) + ENTRY_COUNTER) != q->pop_counter - 1)
		return -VIRTQ_EINVAL;
	if (q->packed) {
		virtq_packed_rewind(q, head);
		if (q->journal)
			virtq_journal_unpopped(q, head);
	}
	inflight_unpopped(q, head);
	q->next_avail--;
	return 0;
}

bool virtq_is_broken(const struct virtq *q)
{
	return q && q->broken && !q->rings_stale;
}

bool virtq_is_active(const struct virtq *q)
{
	return q && q->active;
}

uint32_t virtq_in_flight(const struct virtq *q)
{
	return q ? queue_in_flight(q) : 0;
}

uint16_t virtq_next_avail(const struct virtq *q)
{
	if (q && q->packed)
		return packed_off_wrap(q->avail_pos, q->avail_wrap);
	return q ? q->next_avail : 0;
}

uint16_t virtq_next_used(const struct virtq *q)
{
	if (q && q->packed)
		return packed_off_wrap(q->used_pos, q->used_wrap);
	return q ? q->next_used : 0;
}

uint32_t virtq_size(const struct virtq *q)
{
	return q ? queue_size(q) : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Whether virtq_activate() must accept a queue's configuration, from
 * queue.h and virtio 1.x 2.7 alone: ring sizes (2.7: 16 * size, 6 + 2 *
 * size, 6 + 8 * size with the event fields), alignments (2.7, table "Queue
 * Part Alignment"), one region per ring, an in-flight area for the size.
 */
#include <virtq/virtq.h>

#include "accept.h"

/* The region holding all of [gpa, gpa + bytes), bytes > 0, or NULL. Written
 * with subtractions only, so a region or range ending at 2^64 is fine. */
static const struct accept_region *holding(const struct accept_memory *mem, uint64_t gpa,
					   uint64_t bytes)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct accept_region *r = &mem->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size && bytes <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

#define NO_WRITES 1u /* VIRTQ_MEM_READONLY */
#define NO_READS 2u  /* VIRTQ_MEM_WRITEONLY */

/* One ring: its guest address aligned, its extent not wrapping, inside one
 * region that allows the device's access, and its host address aligned
 * like its guest address. */
static int ring(const struct accept_memory *mem, uint64_t gpa, uint64_t bytes, uint64_t align,
		uint32_t forbidden)
{
	if (gpa % align != 0)
		return -VIRTQ_EINVAL;
	if (gpa > UINT64_MAX - (bytes - 1u))
		return -VIRTQ_EOVERFLOW;
	const struct accept_region *r = holding(mem, gpa, bytes);
	if (!r)
		return -VIRTQ_EBADADDR;
	if (r->flags & forbidden)
		return -VIRTQ_EACCES;
	if ((uintptr_t)(r->host + (gpa - r->gpa)) % align != 0)
		return -VIRTQ_EINVAL;
	return 0;
}

int accept_rings(const struct accept_memory *mem, uint32_t size, uint64_t desc, uint64_t avail,
		 uint64_t used)
{
	int r;
	if ((r = ring(mem, desc, 16u * (uint64_t)size, 16, NO_READS)) ||
	    (r = ring(mem, avail, 6u + 2u * (uint64_t)size, 2, NO_READS)) ||
	    (r = ring(mem, used, 6u + 8u * (uint64_t)size, 4, NO_READS | NO_WRITES)))
		return r;
	return 0;
}

uint32_t accept_area_heads(size_t bytes)
{
	return bytes < 16u ? 0 : (uint32_t)((bytes - 16u) / 16u > 32768u ? 32768u : (bytes - 16u) / 16u);
}

int accept_features(uint64_t features)
{
	const uint64_t version_1 = UINT64_C(1) << 32, refused = UINT64_C(7) << 33;
	return (features & version_1) && !(features & refused) ? 0 : -VIRTQ_ENOTSUP;
}

/* Configuration is frozen while active (docs/rules.md); the features come
 * first (queue.h), the area before the rings (the order state.h gives for
 * restore, "same code"). */
int accept_activate(const struct accept_memory *mem, const struct accept_queue *q)
{
	int r;
	if (!q->initialized || q->active)
		return -VIRTQ_EINVAL;
	if ((r = accept_features(q->features)))
		return r;
	if (q->area_heads < q->size)
		return -VIRTQ_EINVAL;
	return accept_rings(mem, q->size, q->desc, q->avail, q->used);
}

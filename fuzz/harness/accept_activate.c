/* SPDX-License-Identifier: MIT */
/*
 * Whether virtq_activate() must accept a queue's configuration, from
 * queue.h and virtio 1.x 2.7 alone: ring sizes (2.7: 16 * size, 6 + 2 *
 * size, 6 + 8 * size with the event fields), alignments (2.7, table "Queue
 * Part Alignment"), one region per ring, an in-flight area for the size;
 * with ACCESS_PLATFORM, one IOMMU mapping per ring (iommu.h).
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

/* iommu.h: a ring at an IOVA lies in one mapping (the first containing its
 * first byte: a miss is -VIRTQ_EAGAIN), which neither wraps (EOVERFLOW) nor
 * lacks the access (EACCES) nor ends inside the ring (EBADADDR); *gpa is
 * where that puts the ring. */
static int translated(const struct accept_memory *mem, uint64_t iova, uint64_t bytes,
		      uint32_t forbidden, uint64_t *gpa)
{
	const uint32_t perm = (forbidden & NO_READS ? 1u : 0u) | (forbidden & NO_WRITES ? 2u : 0u);
	for (uint32_t i = 0; i < mem->nmaps; i++) {
		const struct accept_map *m = &mem->maps[i];
		if (iova - m->iova >= m->size)
			continue;
		if (m->iova > UINT64_MAX - (m->size - 1u) || m->gpa > UINT64_MAX - (m->size - 1u))
			return -VIRTQ_EOVERFLOW;
		if ((m->perm & perm) != perm)
			return -VIRTQ_EACCES;
		if (m->size - (iova - m->iova) < bytes)
			return -VIRTQ_EBADADDR;
		*gpa = m->gpa + (iova - m->iova);
		return 0;
	}
	return -VIRTQ_EAGAIN;
}

/* One ring: its address aligned, its extent not wrapping, translated (with
 * an IOMMU), inside one region that allows the device's access, and its
 * host address aligned like its guest address. */
static int ring(const struct accept_memory *mem, uint64_t addr, uint64_t bytes, uint64_t align,
		uint32_t forbidden)
{
	uint64_t gpa = addr;
	int err;
	if (addr % align != 0)
		return -VIRTQ_EINVAL;
	if (addr > UINT64_MAX - (bytes - 1u))
		return -VIRTQ_EOVERFLOW;
	if (mem->iommu && (err = translated(mem, addr, bytes, forbidden, &gpa)))
		return err;
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

/* The packed layout (queue.h, docs/rules.md): the descriptor ring, 16
 * bytes a slot, 16-aligned, read and written; the two event suppression
 * structures, 4 bytes, 4-aligned, the driver's read, the device's read and
 * written; desc first, then driver, then device. */
int accept_packed_rings(const struct accept_memory *mem, uint32_t size, uint64_t desc,
			uint64_t driver, uint64_t device)
{
	int r;
	if ((r = ring(mem, desc, 16u * (uint64_t)size, 16, NO_READS | NO_WRITES)) ||
	    (r = ring(mem, driver, 4u, 4, NO_READS)) ||
	    (r = ring(mem, device, 4u, 4, NO_READS | NO_WRITES)))
		return r;
	return 0;
}

uint32_t accept_area_heads(size_t bytes)
{
	return bytes < 16u ? 0 : (uint32_t)((bytes - 16u) / 16u > 32768u ? 32768u : (bytes - 16u) / 16u);
}

int accept_features(uint64_t features, bool translator)
{
	const uint64_t version_1 = UINT64_C(1) << 32, access_platform = UINT64_C(1) << 33;
	const uint64_t refused = (UINT64_C(7) << 33) & ~(translator ? access_platform : 0);
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
	if ((r = accept_features(q->features, mem->iommu)))
		return r;
	if (q->area_heads < q->size)
		return -VIRTQ_EINVAL;
	return accept_rings(mem, q->size, q->desc, q->avail, q->used);
}

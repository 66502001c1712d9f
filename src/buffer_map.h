/* SPDX-License-Identifier: MIT */
/*
 * Guest buffers and indirect tables to host addresses, for the ring walkers
 * of both layouts (pop.c, packed_pop.c): split at region boundaries,
 * permissions checked, IOVAs translated first with ACCESS_PLATFORM. Static
 * in each walker's file, so the split walk keeps its inlining.
 */
#ifndef VIRTQ_BUFFER_MAP_H
#define VIRTQ_BUFFER_MAP_H

#include "compiler.h"
#include "iommu_internal.h"
#include "mem_lookup.h"
#include "queue_internal.h"

/*
 * Slow path of a buffer that is not wholly inside the cached region (or
 * lies in a region with permissions): splits [gpa, gpa + len) at region
 * boundaries into segs[nseg..), storing only what fits below cap and
 * counting the rest. Returns the new segment count, -VIRTQ_EBADADDR, or
 * -VIRTQ_EACCES for a region that does not allow the access.
 */
static int split_buffer(struct virtq *q, struct virtq_seg *segs, uint32_t cap, uint32_t nseg,
			uint64_t gpa, uint32_t len, enum mem_access access)
{
	while (len) {
		const struct virtq_mem_region *r = mem_region_of(q->mem, gpa, &q->region_hint);
		if (!r)
			return -VIRTQ_EBADADDR;
		if (!region_allows(r, access))
			return -VIRTQ_EACCES;
		uint64_t tail = region_tail(r, gpa);
		uint32_t chunk = tail < len ? (uint32_t)tail : len;
		if (nseg < cap)
			segs[nseg] = (struct virtq_seg){ .addr = region_host(r, gpa), .len = chunk };
		nseg++;
		gpa += chunk;
		len -= chunk;
		if (r->flags)
			q->region_hint = QUEUE_NO_HINT; /* never cached: see cache_region */
	}
	return (int)nseg;
}

/*
 * A buffer at an I/O virtual address (ACCESS_PLATFORM): each mapping the
 * translator returns is split at region boundaries like a guest-physical
 * buffer. Returns the new segment count, -VIRTQ_EAGAIN on a miss, or the
 * errors of virtq_iommu_lookup() and split_buffer().
 */
static VIRTQ_NOINLINE int iommu_buffer(struct virtq *q, struct virtq_seg *segs, uint32_t cap,
				       uint32_t nseg, uint64_t iova, uint32_t len,
				       enum mem_access access)
{
	int r = 0;
	while (len) {
		uint64_t gpa, covered;
		if ((r = virtq_iommu_lookup(q->iotlb, iova, len, access, &gpa, &covered)))
			break;
		if ((r = split_buffer(q, segs, cap, nseg, gpa, (uint32_t)covered, access)) < 0)
			break;
		nseg = (uint32_t)r;
		iova += covered; /* within the buffer, which does not wrap */
		len -= (uint32_t)covered;
	}
	/* Descriptors hold IOVAs: nothing cached, on every way out. A region
	 * split_buffer() cached before a miss would let the next pop take an
	 * IOVA inside it as a guest address, untranslated. */
	q->region_hint = QUEUE_NO_HINT;
	return r < 0 ? r : (int)nseg;
}

/* An indirect table at an IOVA: one mapping, one region, readable. */
static VIRTQ_NOINLINE int iommu_table(struct virtq *q, uint64_t iova, uint32_t len, void **table)
{
	uint64_t gpa, covered;
	int r = virtq_iommu_lookup(q->iotlb, iova, len, MEM_ACCESS_READ, &gpa, &covered);
	if (r)
		return r;
	if (covered < len)
		return -VIRTQ_EBADADDR;
	q->region_hint = QUEUE_NO_HINT;
	return virtq_mem_map_one(q->mem, gpa, len, MEM_ACCESS_READ, table);
}

#endif /* VIRTQ_BUFFER_MAP_H */

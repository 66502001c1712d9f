/* SPDX-License-Identifier: MIT */
/* IOMMU translation for ACCESS_PLATFORM (iommu.h). */
#include "checked.h"
#include "iommu_internal.h"
#include "queue_internal.h"
#include "split_layout.h"

/* The IOMMU access bits an access needs. */
static uint32_t wanted(enum mem_access access)
{
	return (access & MEM_ACCESS_READ ? VIRTQ_IOMMU_READ : 0u) |
	       (access & MEM_ACCESS_WRITE ? VIRTQ_IOMMU_WRITE : 0u);
}

int virtq_iommu_lookup(const struct virtq_iommu *tr, uint64_t iova, uint64_t len,
		       enum mem_access access, uint64_t *gpa, uint64_t *avail)
{
	struct virtq_iommu_map m = { 0 };
	uint64_t iova_last, gpa_last;
	const uint32_t want = wanted(access);
	int r = tr->translate(tr->opaque, iova, len, want, &m);
	if (r == -VIRTQ_EAGAIN)
		return r;
	if (r || m.size == 0)
		return -VIRTQ_EBADADDR;
	if (!checked_range_last(m.iova, m.size, &iova_last) ||
	    !checked_range_last(m.gpa, m.size, &gpa_last))
		return -VIRTQ_EOVERFLOW;
	if (iova < m.iova || iova > iova_last)
		return -VIRTQ_EBADADDR;
	if ((m.perm & want) != want)
		return -VIRTQ_EACCES;
	const uint64_t tail = iova_last - iova + 1u; /* >= 1; at most 2^64 - 1 */
	*gpa = m.gpa + (iova - m.iova);
	*avail = tail < len ? tail : len;
	return 0;
}

int virtq_set_iommu(struct virtq *q, const struct virtq_iommu *iommu)
{
	if (!q || !q->mem || q->active || (iommu && !iommu->translate))
		return -VIRTQ_EINVAL;
	q->iommu = iommu;
	return 0;
}

/* Whether [a, a + alen) and [b, b + blen) meet; lengths > 0, no wrap assumed
 * for the ring (checked at activation), the caller's range clamped. */
static bool meets(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	const uint64_t b_last = blen - 1u > UINT64_MAX - b ? UINT64_MAX : b + (blen - 1u);
	return a <= b_last && b <= a + (alen - 1u);
}

int virtq_iommu_invalidate(struct virtq *q, uint64_t iova, uint64_t size)
{
	if (!q)
		return -VIRTQ_EINVAL;
	if (!q->active || q->broken || !q->iotlb || size == 0)
		return 0;
	const uint32_t n = queue_size(q);
	if (meets(q->desc_gpa, queue_desc_bytes(q->packed, n), iova, size) ||
	    meets(q->avail_gpa, queue_driver_bytes(q->packed, n), iova, size) ||
	    meets(q->used_gpa, queue_device_bytes(q->packed, n), iova, size)) {
		/* rides on broken: queue_usable() re-translates before any access */
		q->rings_stale = true;
		q->broken = true;
	}
	return 0;
}

int virtq_queue_remap(struct virtq *q)
{
	struct queue_rings rings;
	int r = virtq_queue_map_rings(q->mem, q->iotlb, queue_size(q), q->packed, q->desc_gpa,
				      q->avail_gpa, q->used_gpa, &rings);
	if (r == -VIRTQ_EAGAIN)
		return r;
	q->rings_stale = false;
	if (r)
		return r; /* broken for good: the rings cannot be trusted */
	q->desc = rings.desc;
	q->avail = rings.avail;
	q->used = rings.used;
	q->used_phys = rings.used_phys;
	q->desc_phys = rings.desc_phys;
	q->broken = false;
	return -VIRTQ_EAGAIN; /* nothing done: call again */
}

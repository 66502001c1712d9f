/* SPDX-License-Identifier: MIT */
/* IOMMU translation shared by activation and the chain walk (iommu.h). */
#ifndef VIRTQ_IOMMU_INTERNAL_H
#define VIRTQ_IOMMU_INTERNAL_H

#include <stdint.h>

#include "mem_lookup.h"
#include "virtq/iommu.h"

/*
 * Translates iova for up to len bytes and an access: *gpa is its
 * guest-physical address, *avail how many of the len bytes the mapping
 * covers (> 0). Returns 0, -VIRTQ_EAGAIN (miss), or for translator output
 * that cannot be trusted -VIRTQ_EBADADDR (empty, not containing iova, any
 * other callback error), -VIRTQ_EOVERFLOW (a range wraps), -VIRTQ_EACCES
 * (the mapping lacks the access).
 */
int virtq_iommu_lookup(const struct virtq_iommu *tr, uint64_t iova, uint64_t len,
		       enum mem_access access, uint64_t *gpa, uint64_t *avail);

#endif /* VIRTQ_IOMMU_INTERNAL_H */

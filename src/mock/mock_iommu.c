/* SPDX-License-Identifier: MIT */
/* Mock driver: an IOMMU mapping table and its translator (mock.h). */
#include <string.h>

#include "mock_internal.h"

static int mock_translate(void *opaque, uint64_t iova, uint64_t len, uint32_t access,
			  struct virtq_iommu_map *out)
{
	struct virtq_mock_iommu *t = opaque;
	(void)len;
	(void)access; /* permissions are virtq's to check */
	if (t->forced) {
		*out = t->forced_map;
		return 0;
	}
	for (uint32_t i = 0; i < t->nmaps; i++) {
		if (iova - t->maps[i].iova < t->maps[i].size) {
			*out = t->maps[i];
			return 0;
		}
	}
	t->misses++;
	t->last_miss = iova;
	return -VIRTQ_EAGAIN;
}

void virtq_mock_iommu_init(struct virtq_mock_iommu *t)
{
	if (!t)
		return;
	memset(t, 0, sizeof(*t));
	t->iommu = (struct virtq_iommu){ .translate = mock_translate, .opaque = t };
}

int virtq_mock_iommu_map(struct virtq_mock_iommu *t, uint64_t iova, uint64_t size, uint64_t gpa,
			 uint32_t perm)
{
	if (!t)
		return -VIRTQ_EINVAL;
	if (t->nmaps == VIRTQ_MOCK_IOMMU_MAPS)
		return -VIRTQ_ENOSPC;
	t->maps[t->nmaps++] =
		(struct virtq_iommu_map){ .iova = iova, .size = size, .gpa = gpa, .perm = perm };
	return 0;
}

static bool meets(const struct virtq_iommu_map *m, uint64_t iova, uint64_t size)
{
	return size && m->size && iova <= m->iova + (m->size - 1) && m->iova <= iova + (size - 1);
}

int virtq_mock_iommu_unmap(struct virtq_mock_iommu *t, uint64_t iova, uint64_t size)
{
	uint32_t kept = 0;
	if (!t)
		return -VIRTQ_EINVAL;
	const uint32_t before = t->nmaps;
	for (uint32_t i = 0; i < t->nmaps; i++)
		if (!meets(&t->maps[i], iova, size))
			t->maps[kept++] = t->maps[i];
	t->nmaps = kept;
	return (int)(before - kept);
}

/* SPDX-License-Identifier: MIT */
/* Region lookup shared by the memory map and the chain walker (hot path). */
#ifndef VIRTQ_MEM_LOOKUP_H
#define VIRTQ_MEM_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "virtq/mem.h"

/* Index of the first region starting above gpa (nregions if none): O(log n). */
static inline uint32_t mem_first_above(const struct virtq_mem *m, uint64_t gpa)
{
	uint32_t lo = 0, hi = m->nregions;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->regions[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The region containing gpa, or NULL. *hint is the index of the region that
 * answered last time: checked first, so a run of lookups in one region costs
 * one comparison. Otherwise a binary search over the sorted table.
 */
static inline const struct virtq_mem_region *mem_region_of(const struct virtq_mem *m,
							   uint64_t gpa, uint32_t *hint)
{
	if (*hint < m->nregions) {
		const struct virtq_mem_region *r = &m->regions[*hint];
		if (gpa - r->gpa < r->size)
			return r;
	}
	uint32_t lo = mem_first_above(m, gpa);
	if (lo == 0)
		return NULL;
	const struct virtq_mem_region *r = &m->regions[lo - 1];
	if (gpa - r->gpa >= r->size)
		return NULL;
	*hint = lo - 1;
	return r;
}

/*
 * An access the device makes, as the region flag that forbids it: a region
 * allows the access when it has none of these bits. MEM_ACCESS_RW needs
 * both read and write.
 */
enum mem_access {
	MEM_ACCESS_READ = VIRTQ_MEM_WRITEONLY,
	MEM_ACCESS_WRITE = VIRTQ_MEM_READONLY,
	MEM_ACCESS_RW = VIRTQ_MEM_WRITEONLY | VIRTQ_MEM_READONLY,
};

static inline int region_allows(const struct virtq_mem_region *r, enum mem_access access)
{
	return !(r->flags & (uint32_t)access);
}

/*
 * Host address of [gpa, gpa + len) for an access: the whole range inside one
 * region (else -VIRTQ_EBADADDR) that allows the access (else -VIRTQ_EACCES).
 * The range must not wrap (the caller checked). For rings and indirect tables.
 */
int virtq_mem_map_one(const struct virtq_mem *m, uint64_t gpa, uint64_t len, enum mem_access access,
		void **host);

static inline void *region_host(const struct virtq_mem_region *r, uint64_t gpa)
{
	return (unsigned char *)r->host + (size_t)(gpa - r->gpa);
}

/* Bytes from gpa to the end of its region r. */
static inline uint64_t region_tail(const struct virtq_mem_region *r, uint64_t gpa)
{
	return r->size - (gpa - r->gpa);
}

#endif /* VIRTQ_MEM_LOOKUP_H */

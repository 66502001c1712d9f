/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "checked.h"
#include "mem_lookup.h"
#include "virtq/mem.h"

int virtq_mem_init(struct virtq_mem *m, struct virtq_mem_region *regions, uint32_t capacity)
{
	if (!m)
		return -VIRTQ_EINVAL;
	*m = (struct virtq_mem){ 0 };
	if (!regions && capacity)
		return -VIRTQ_EINVAL;
	m->regions = regions;
	m->capacity = capacity;
	return 0;
}

static int region_overlaps(const struct virtq_mem_region *r, uint64_t first, uint64_t last)
{
	return first <= r->gpa + (r->size - 1) && r->gpa <= last;
}

int virtq_mem_add_region(struct virtq_mem *m, uint64_t gpa, uint64_t size, void *host)
{
	return virtq_mem_add_region_flags(m, gpa, size, host, 0);
}

int virtq_mem_add_region_flags(struct virtq_mem *m, uint64_t gpa, uint64_t size, void *host,
			       uint32_t flags)
{
	uint64_t last;
	if (!m || !host || size == 0)
		return -VIRTQ_EINVAL;
	if (flags != 0 && flags != VIRTQ_MEM_READONLY && flags != VIRTQ_MEM_WRITEONLY)
		return -VIRTQ_EINVAL;
	if (!checked_range_last(gpa, size, &last) || size - 1 > UINTPTR_MAX - (uintptr_t)host)
		return -VIRTQ_EOVERFLOW;
	if (m->nregions >= m->capacity)
		return -VIRTQ_ENOSPC;

	uint32_t pos = mem_first_above(m, gpa);
	if (pos > 0 && region_overlaps(&m->regions[pos - 1], gpa, last))
		return -VIRTQ_EINVAL;
	if (pos < m->nregions && region_overlaps(&m->regions[pos], gpa, last))
		return -VIRTQ_EINVAL;

	if (pos < m->nregions) /* else &regions[pos + 1] may be one past the array */
		memmove(&m->regions[pos + 1], &m->regions[pos],
			(m->nregions - pos) * sizeof(m->regions[0]));
	m->regions[pos] =
		(struct virtq_mem_region){ .gpa = gpa, .size = size, .host = host, .flags = flags };
	m->nregions++;
	return 0;
}

void *virtq_mem_translate(const struct virtq_mem *m, uint64_t gpa, uint64_t len)
{
	uint32_t hint = 0;
	if (!m)
		return NULL;
	const struct virtq_mem_region *r = mem_region_of(m, gpa, &hint);
	if (!r || len > region_tail(r, gpa))
		return NULL;
	return region_host(r, gpa);
}

int virtq_mem_map_one(const struct virtq_mem *m, uint64_t gpa, uint64_t len, enum mem_access access,
		void **host)
{
	uint32_t hint = 0;
	const struct virtq_mem_region *r = mem_region_of(m, gpa, &hint);
	if (!r || len > region_tail(r, gpa))
		return -VIRTQ_EBADADDR;
	if (!region_allows(r, access))
		return -VIRTQ_EACCES;
	*host = region_host(r, gpa);
	return 0;
}

int virtq_mem_split(const struct virtq_mem *m, uint64_t gpa, uint64_t len,
		    struct virtq_seg *segs, unsigned max)
{
	uint64_t last;
	uint32_t hint = 0;
	unsigned n = 0;
	if (!m || (!segs && max))
		return -VIRTQ_EINVAL;
	if (len == 0)
		return 0;
	if (!checked_range_last(gpa, len, &last))
		return -VIRTQ_EOVERFLOW;
	while (len) {
		const struct virtq_mem_region *r = mem_region_of(m, gpa, &hint);
		if (!r)
			return -VIRTQ_EBADADDR;
		uint64_t chunk = region_tail(r, gpa);
		if (chunk > len)
			chunk = len;
		if (n == max)
			return -VIRTQ_ENOSPC;
		segs[n++] = (struct virtq_seg){ .addr = region_host(r, gpa), .len = (size_t)chunk };
		gpa += chunk; /* cannot wrap: the range was checked above */
		len -= chunk;
	}
	return (int)n;
}

/*
 * Whether every byte of [gpa, gpa + len) is guest memory allowing the
 * access. Checked before a copy starts, so that a copy is all-or-nothing
 * without a segment array whose size would depend on the table's capacity.
 */
static int check_mapped(const struct virtq_mem *m, uint64_t gpa, uint64_t len,
			enum mem_access access)
{
	uint64_t last;
	uint32_t hint = 0;
	if (len == 0)
		return 0;
	if (!checked_range_last(gpa, len, &last))
		return -VIRTQ_EOVERFLOW;
	for (;;) {
		const struct virtq_mem_region *r = mem_region_of(m, gpa, &hint);
		if (!r)
			return -VIRTQ_EBADADDR;
		if (!region_allows(r, access))
			return -VIRTQ_EACCES;
		uint64_t tail = region_tail(r, gpa);
		if (tail >= len)
			return 0;
		gpa += tail; /* cannot wrap: the range was checked above */
		len -= tail;
	}
}

enum copy_dir { FROM_GUEST, TO_GUEST };

static int copy_range(const struct virtq_mem *m, uint64_t gpa, unsigned char *buf, size_t len,
		      enum copy_dir dir)
{
	uint32_t hint = 0;
	if (!m || (!buf && len))
		return -VIRTQ_EINVAL;
	int r = check_mapped(m, gpa, len, dir == FROM_GUEST ? MEM_ACCESS_READ : MEM_ACCESS_WRITE);
	while (r == 0 && len) {
		const struct virtq_mem_region *reg = mem_region_of(m, gpa, &hint);
		uint64_t tail = region_tail(reg, gpa);
		size_t chunk = tail < len ? (size_t)tail : len;
		if (dir == FROM_GUEST)
			memcpy(buf, region_host(reg, gpa), chunk);
		else
			memcpy(region_host(reg, gpa), buf, chunk);
		buf += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return r;
}

int virtq_mem_read(const struct virtq_mem *m, uint64_t gpa, void *dst, size_t len)
{
	return copy_range(m, gpa, dst, len, FROM_GUEST);
}

int virtq_mem_write(const struct virtq_mem *m, uint64_t gpa, const void *src, size_t len)
{
	/* the buffer is only read in this direction */
	return copy_range(m, gpa, (unsigned char *)(uintptr_t)src, len, TO_GUEST);
}

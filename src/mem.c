/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "checked.h"
#include "mem_lookup.h"
#include "virtq/mem.h"

void virtq_mem_init(struct virtq_mem *m)
{
	if (m)
		memset(m, 0, sizeof(*m));
}

static int region_overlaps(const struct virtq_mem_region *r, uint64_t first, uint64_t last)
{
	return first <= r->gpa + (r->size - 1) && r->gpa <= last;
}

int virtq_mem_add_region(struct virtq_mem *m, uint64_t gpa, uint64_t size, void *host)
{
	uint64_t last;
	if (!m || !host || size == 0)
		return -VIRTQ_EINVAL;
	if (!checked_range_last(gpa, size, &last) || size - 1 > UINTPTR_MAX - (uintptr_t)host)
		return -VIRTQ_EOVERFLOW;
	if (m->nregions == VIRTQ_MEM_MAX_REGIONS)
		return -VIRTQ_ENOSPC;

	uint32_t pos = 0;
	while (pos < m->nregions && m->regions[pos].gpa < gpa)
		pos++;
	if (pos > 0 && region_overlaps(&m->regions[pos - 1], gpa, last))
		return -VIRTQ_EINVAL;
	if (pos < m->nregions && region_overlaps(&m->regions[pos], gpa, last))
		return -VIRTQ_EINVAL;

	memmove(&m->regions[pos + 1], &m->regions[pos],
		(m->nregions - pos) * sizeof(m->regions[0]));
	m->regions[pos] = (struct virtq_mem_region){ .gpa = gpa, .size = size, .host = host };
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

/* A range crosses at most every region once. */
static int split_whole(const struct virtq_mem *m, uint64_t gpa, size_t len,
		       struct virtq_seg segs[VIRTQ_MEM_MAX_REGIONS])
{
	int n = virtq_mem_split(m, gpa, len, segs, VIRTQ_MEM_MAX_REGIONS);
	return n == -VIRTQ_ENOSPC ? -VIRTQ_EBADADDR : n;
}

int virtq_mem_read(const struct virtq_mem *m, uint64_t gpa, void *dst, size_t len)
{
	struct virtq_seg segs[VIRTQ_MEM_MAX_REGIONS];
	if (!dst && len)
		return -VIRTQ_EINVAL;
	int n = split_whole(m, gpa, len, segs);
	unsigned char *out = dst;
	for (int i = 0; i < n; i++) {
		memcpy(out, segs[i].addr, segs[i].len);
		out += segs[i].len;
	}
	return n < 0 ? n : 0;
}

int virtq_mem_write(const struct virtq_mem *m, uint64_t gpa, const void *src, size_t len)
{
	struct virtq_seg segs[VIRTQ_MEM_MAX_REGIONS];
	if (!src && len)
		return -VIRTQ_EINVAL;
	int n = split_whole(m, gpa, len, segs);
	const unsigned char *in = src;
	for (int i = 0; i < n; i++) {
		memcpy(segs[i].addr, in, segs[i].len);
		in += segs[i].len;
	}
	return n < 0 ? n : 0;
}

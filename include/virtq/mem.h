/* SPDX-License-Identifier: MIT */
/*
 * Guest memory map: a sorted table of non-overlapping regions, each mapping a
 * guest-physical range to host memory the VMM has mapped.
 *
 * Every guest address virtq dereferences goes through this table. A range is
 * only usable if it lies wholly inside guest memory; a range that spans two
 * adjacent regions is split into one segment per region, because adjacent
 * guest-physical regions are usually not adjacent in the host.
 *
 * The table is read-only after setup and may be shared by queues running on
 * different threads: lookup hints live in the caller (struct virtq), not here.
 */
#ifndef VIRTQ_MEM_H
#define VIRTQ_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "virtq/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VIRTQ_MEM_MAX_REGIONS
#define VIRTQ_MEM_MAX_REGIONS 32
#endif

/*
 * A host view of part of a guest buffer. Layout-compatible with POSIX
 * struct iovec (pointer, then size_t), so an array of segments can be passed
 * to readv/writev with a cast.
 */
struct virtq_seg {
	void *addr;
	size_t len;
};

struct virtq_mem_region {
	uint64_t gpa;  /* first guest-physical address */
	uint64_t size; /* bytes, > 0; gpa + size - 1 does not wrap */
	void *host;    /* host address of gpa */
};

struct virtq_mem {
	uint32_t nregions;
	struct virtq_mem_region regions[VIRTQ_MEM_MAX_REGIONS]; /* sorted by gpa */
};

/* Empties the table. */
VIRTQ_API void virtq_mem_init(struct virtq_mem *m);

/*
 * Adds a region. Rejects NULL host, size 0, a guest or host range that wraps
 * (-VIRTQ_EOVERFLOW), overlap with an existing region (-VIRTQ_EINVAL) and a
 * full table (-VIRTQ_ENOSPC). Returns 0 on success.
 */
VIRTQ_API int virtq_mem_add_region(struct virtq_mem *m, uint64_t gpa, uint64_t size, void *host);

/*
 * Host address of [gpa, gpa + len) if the whole range lies inside one region,
 * else NULL. A zero-length range is accepted when gpa lies inside a region.
 */
VIRTQ_API void *virtq_mem_translate(const struct virtq_mem *m, uint64_t gpa, uint64_t len);

/*
 * Splits [gpa, gpa + len) into host segments, one per region crossed.
 * Returns the number of segments written to segs (0 for len 0),
 * -VIRTQ_EOVERFLOW if the range wraps, -VIRTQ_EBADADDR if any byte is outside
 * guest memory, -VIRTQ_ENOSPC if more than max segments are needed.
 */
VIRTQ_API int virtq_mem_split(const struct virtq_mem *m, uint64_t gpa, uint64_t len,
			      struct virtq_seg *segs, unsigned max);

/*
 * Copies len bytes between guest memory and a host buffer, across region
 * boundaries. All-or-nothing: nothing is copied unless the whole range is
 * guest memory. Returns 0 or the errors of virtq_mem_split().
 */
VIRTQ_API int virtq_mem_read(const struct virtq_mem *m, uint64_t gpa, void *dst, size_t len);
VIRTQ_API int virtq_mem_write(const struct virtq_mem *m, uint64_t gpa, const void *src, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_MEM_H */

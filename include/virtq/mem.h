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
 * The caller owns the region storage and chooses its capacity
 * (virtq_mem_init), so struct virtq_mem has the same size in every build and a
 * VMM sizes the table for its transport: vhost-user's CONFIGURE_MEM_SLOTS
 * allows VIRTQ_MEM_VHOST_USER_SLOTS regions. Lookups are a binary search
 * (O(log n)) behind a one-region cache, so a large table costs nothing while
 * buffers stay in one region.
 *
 * The table is read-only after setup and may be shared by queues running on
 * different threads: lookup hints live in the caller (struct virtq), not here.
 *
 * Permissions. Each region says what the device may do with its bytes
 * (flags below; 0, as in a zero-initialised region, is read and write):
 *   - a readable descriptor's buffer, an indirect table, the descriptor
 *     table and the avail ring need read access;
 *   - a writable descriptor's buffer needs write access;
 *   - the used ring needs both (virtq writes it and reads used.idx back when
 *     resuming or restoring).
 * A violation is -VIRTQ_EACCES: fatal in virtq_pop() like -VIRTQ_EBADADDR,
 * refused by virtq_activate(), virtq_resume() and virtq_restore() for the
 * rings. So a writable descriptor pointing into guest ROM is the guest's
 * error, not a SIGSEGV in the device. Permissions are part of the table:
 * like the regions, they do not change while a queue uses them (rebuild the
 * table and re-activate, as for any memory map change).
 * virtq_mem_read() and virtq_mem_write() check them; virtq_mem_translate()
 * and virtq_mem_split() do not (a VMM using them reads the region's flags).
 */
#ifndef VIRTQ_MEM_H
#define VIRTQ_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "virtq/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most memory slots a vhost-user front-end may use
 * (VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, GET_MAX_MEM_SLOTS). */
#define VIRTQ_MEM_VHOST_USER_SLOTS 509u

/*
 * A host view of part of a guest buffer. Layout-compatible with POSIX
 * struct iovec (pointer, then size_t), so an array of segments can be passed
 * to readv/writev with a cast.
 */
struct virtq_seg {
	void *addr;
	size_t len;
};

/* Region flags: the access the device does not have (0: read and write). */
#define VIRTQ_MEM_READONLY 1u  /* the device may not write: ROM, read-only backends */
#define VIRTQ_MEM_WRITEONLY 2u /* the device may not read */

struct virtq_mem_region {
	uint64_t gpa;   /* first guest-physical address */
	uint64_t size;  /* bytes, > 0; gpa + size - 1 does not wrap */
	void *host;     /* host address of gpa */
	uint32_t flags; /* VIRTQ_MEM_READONLY or VIRTQ_MEM_WRITEONLY, or 0 */
};

struct virtq_mem {
	uint32_t nregions;                /* regions in use */
	uint32_t capacity;                /* entries of regions[] */
	struct virtq_mem_region *regions; /* the caller's storage, sorted by gpa */
};

/*
 * Starts an empty table over the caller's storage of capacity regions, which
 * must stay valid (and untouched by the caller) as long as the table is used:
 *
 *	struct virtq_mem_region slots[VIRTQ_MEM_VHOST_USER_SLOTS];
 *	virtq_mem_init(&mem, slots, VIRTQ_MEM_VHOST_USER_SLOTS);
 *
 * Returns 0, or -VIRTQ_EINVAL for a NULL table or NULL storage with a
 * non-zero capacity (the table is then left empty with capacity 0).
 */
VIRTQ_API int virtq_mem_init(struct virtq_mem *m, struct virtq_mem_region *regions,
			     uint32_t capacity);

/*
 * Adds a region. Rejects NULL host, size 0, a guest or host range that wraps
 * (-VIRTQ_EOVERFLOW), overlap with an existing region (-VIRTQ_EINVAL) and a
 * table at its capacity (-VIRTQ_ENOSPC). Returns 0 on success.
 */
VIRTQ_API int virtq_mem_add_region(struct virtq_mem *m, uint64_t gpa, uint64_t size, void *host);

/*
 * Adds a region with permissions: flags is 0 (read and write, the same as
 * virtq_mem_add_region()), VIRTQ_MEM_READONLY or VIRTQ_MEM_WRITEONLY. Both
 * at once, or any other bit, is -VIRTQ_EINVAL; otherwise as above.
 */
VIRTQ_API int virtq_mem_add_region_flags(struct virtq_mem *m, uint64_t gpa, uint64_t size,
					 void *host, uint32_t flags);

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
 * guest memory the device may read (virtq_mem_read) or write
 * (virtq_mem_write). Returns 0, -VIRTQ_EACCES for a byte in a region
 * without that permission, or the errors of virtq_mem_split().
 */
VIRTQ_API int virtq_mem_read(const struct virtq_mem *m, uint64_t gpa, void *dst, size_t len);
VIRTQ_API int virtq_mem_write(const struct virtq_mem *m, uint64_t gpa, const void *src, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_MEM_H */

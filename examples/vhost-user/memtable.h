/* SPDX-License-Identifier: MIT */
/*
 * The guest memory table of a vhost-user front-end (SET_MEM_TABLE): shared
 * memory file descriptors mapped read-write into this process, exposed to
 * virtq as a struct virtq_mem (guest-physical -> host), plus the front-end's
 * own addresses ("userspace_addr"), in which vhost-user expresses ring
 * addresses (SET_VRING_ADDR).
 *
 * Every field of a region comes from the socket and is validated: no
 * arithmetic overflow, no overlap (virtq_mem_add_region checks it), the file
 * large enough for the mapping (else touching it would raise SIGBUS).
 */
#ifndef VU_MEMTABLE_H
#define VU_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include <virtq/mem.h>

/* vhost-user's VHOST_MEMORY_BASELINE_NREGIONS */
#define MEMTABLE_MAX_REGIONS 8u

/* One region as the front-end describes it. */
struct memtable_desc {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;         /* the front-end's address of gpa */
	uint64_t mmap_offset; /* offset of gpa in the file */
};

struct memtable_region {
	struct memtable_desc d;
	void *map;      /* our mapping of the file from offset 0 */
	size_t map_len; /* mmap_offset + size */
};

struct memtable {
	uint32_t n;
	struct memtable_region r[MEMTABLE_MAX_REGIONS];
	struct virtq_mem mem; /* what the queues use; its address never changes */
	struct virtq_mem_region slots[MEMTABLE_MAX_REGIONS]; /* mem's storage */
};

void memtable_init(struct memtable *t);

/*
 * Maps n regions (fds[i] backs desc[i]) into a new table *out, which must be
 * empty (memtable_init). The fds are not closed (mmap keeps its own reference).
 * On error nothing stays mapped. Returns 0 or a negative errno (EINVAL for
 * overlapping regions or a file too small, EOVERFLOW, mmap's errors).
 */
int memtable_map(struct memtable *out, const struct memtable_desc *desc, const int *fds,
		 uint32_t n);

/* Unmaps everything; the table is empty afterwards. */
void memtable_clear(struct memtable *t);

/*
 * Moves src's regions into dst, whose old mappings are unmapped. dst->mem
 * keeps its address (queues hold a pointer to it); src ends empty.
 */
void memtable_replace(struct memtable *dst, struct memtable *src);

/* Guest-physical address of the front-end address uva, if [uva, uva + len)
 * lies in one region. Returns 0 or -1. */
int memtable_uva_to_gpa(const struct memtable *t, uint64_t uva, uint64_t len, uint64_t *gpa);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * virtq mock driver: a fake guest for tests, fuzzing and benchmarks
 * (library virtq_mock; it allocates, the core library never does).
 *
 * It owns guest memory (one or more regions, adjacent or with holes, each its
 * own lazily zeroed mapping between two PROT_NONE guard pages; the slack up to
 * the trailing guard page holds guard bytes that AddressSanitizer poisons),
 * lays out the three rings without overlap (used_event at the end of the avail
 * ring, avail_event at the end of the used ring), posts chains as a well-behaved
 * driver would, reads used entries back, and offers raw writes for building
 * malicious rings: any descriptor value at any index, any avail entry, any
 * avail idx, any flags.
 *
 * Packed mode: with VIRTQ_F_RING_PACKED in the config's features the same
 * calls (add_chain, get_used, should_kick, enable/disable_interrupts) drive
 * a packed ring (virtio 2.8) as Linux's packed driver does: desc_gpa is the
 * descriptor ring, avail_gpa the driver event suppression structure,
 * used_gpa the device's (the AUTO layout leaves room for either layout).
 * The virtq_mock_packed_* calls below build malicious packed rings.
 *
 * It also answers "did the device write anywhere it must not?": take a
 * snapshot, let the device run, and compare; only the used ring and the
 * writable buffers of posted chains may change. Writes the mock itself makes
 * (it is the driver) after the snapshot are not counted against the device.
 *
 * Errors are the library's: -VIRTQ_EINVAL, -VIRTQ_EBADADDR, -VIRTQ_ENOSPC.
 */
#ifndef VIRTQ_MOCK_H
#define VIRTQ_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/chain.h"
#include "virtq/common.h"
#include "virtq/inflight.h"
#include "virtq/iommu.h"
#include "virtq/log.h"
#include "virtq/mem.h"
#include "virtq/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTQ_MOCK_MAX_REGIONS 8
/* Value of the guard bytes between a region's end and its guard page. */
#define VIRTQ_MOCK_GUARD_BYTE 0xA5u
/* "Choose for me" for ring and buffer addresses in the config. */
#define VIRTQ_MOCK_AUTO UINT64_MAX
/* Returned by virtq_mock_alloc() when the buffer area is exhausted. */
#define VIRTQ_MOCK_NOMEM UINT64_MAX

/*
 * A guest region. flags are the memory map's (mem.h): a VIRTQ_MEM_READONLY
 * region is mapped PROT_READ where the device sees it (virtq_mem, segment
 * addresses), so a device write that virtq failed to refuse is a SIGSEGV in
 * the test; the mock itself, the driver, writes it through a second,
 * writable mapping of the same pages. VIRTQ_MEM_WRITEONLY cannot be mapped
 * so (PROT_WRITE implies read): the region is readable and writable, and
 * only virtq's checks keep the device from reading it.
 */
struct virtq_mock_region {
	uint64_t gpa;
	uint64_t size;
	uint32_t flags;
};

struct virtq_mock_config {
	uint32_t nregions;
	struct virtq_mock_region regions[VIRTQ_MOCK_MAX_REGIONS];
	uint32_t queue_size; /* any value: invalid ones make activation fail */
	uint64_t features;   /* passed to the queue by virtq_mock_attach() */
	/* Ring addresses; VIRTQ_MOCK_AUTO lays them out at the start of region 0:
	 * desc at its start, avail and used each on the next 4 KiB boundary. */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Buffer allocator area [buf_gpa, buf_end); AUTO: from the first 64 KiB
	 * boundary after the rings to the end of that region. */
	uint64_t buf_gpa, buf_end;
	/* Guest memory and the in-flight area as shared mappings, so that a
	 * device process fork()ed from the test writes what the test (and the
	 * device's successor) reads: kill-and-restart tests. */
	bool shared_memory;
};

/* One buffer of a chain the driver posts. */
struct virtq_mock_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* Flags of virtq_mock_add_chain(). */
#define VIRTQ_MOCK_INDIRECT 1u   /* put the buffers in an indirect table */
#define VIRTQ_MOCK_NO_PUBLISH 2u /* write the avail entry, leave avail.idx */

struct virtq_mock_range {
	uint64_t gpa, len;
};

struct virtq_mock {
	struct virtq_mem mem; /* the device's view: what queues get */
	struct virtq_mem_region mem_regions[VIRTQ_MOCK_MAX_REGIONS]; /* mem's storage */
	/* The driver's view: the same pages, all writable, no flags. */
	struct virtq_mem driver_mem;
	struct virtq_mem_region driver_regions[VIRTQ_MOCK_MAX_REGIONS];
	unsigned char *driver_alias[VIRTQ_MOCK_MAX_REGIONS]; /* a read-only region's
							      * writable mapping */
	struct virtq_mock_config cfg;
	unsigned char *alloc[VIRTQ_MOCK_MAX_REGIONS];    /* guard page, region, guard page */
	unsigned char *snapshot[VIRTQ_MOCK_MAX_REGIONS]; /* copy for write checks */
	/* driver state */
	uint16_t avail_idx; /* next avail idx to publish */
	uint16_t last_used; /* used entries consumed */
	uint16_t kicked_idx; /* avail idx at the last kick decision */
	uint32_t num_free;  /* free descriptors */
	uint32_t fresh;     /* descriptors [fresh, size) were never used */
	uint32_t recycled;  /* descriptors on the free list */
	uint16_t free_head; /* the free list: returned descriptors */
	uint16_t *free_next;  /* free list and chain links (driver side, not guest memory) */
	uint16_t *chain_ndesc; /* per head: descriptors to free when used */
	uint64_t buf_next;     /* bump allocator */
	/* ranges the device may write since the last snapshot */
	struct virtq_mock_range *allowed;
	uint32_t nallowed, allowed_cap;
	/* Packed mode (virtio 2.8): the driver's ring state. Buffer ids come
	 * from the same free list as split heads; chain_ndesc[id] holds the
	 * ring slots of the chain with that id. */
	uint16_t packed_avail_pos;  /* next slot to make available */
	uint16_t packed_used_pos;   /* next slot to read a used descriptor from */
	bool packed_avail_wrap;     /* driver ring wrap counter (2.8.1) */
	bool packed_used_wrap;      /* used wrap counter, as the driver tracks it */
	uint32_t packed_kick_slots; /* slots made available since the last kick decision */
	/* The device's in-flight area (inflight.h), sized for the largest queue;
	 * virtq_mock_configure() attaches it. It is device memory, not guest
	 * memory: wipes and driver resets leave it alone, as a back-end's
	 * survives the guest. */
	void *inflight;
	size_t inflight_bytes;
	/* The device's descriptor journal (inflight.h), the same way; packed
	 * queues use it, split ones ignore it. */
	void *journal;
	size_t journal_bytes;
	/* The translator virtq_mock_configure() gives each queue (NULL: none),
	 * for ACCESS_PLATFORM; kept by pointer. */
	const struct virtq_iommu *iommu;
};

/* Defaults: one 1 MiB region at GPA 0, queue size 256, rings AUTO. */
VIRTQ_API void virtq_mock_config_default(struct virtq_mock_config *cfg);

/*
 * Allocates guest memory and zeroes it, lays out the rings, and sets the
 * driver side to a fresh queue. Regions must be valid for virtq_mem (the mock
 * refuses overlaps); ring addresses need not be: malicious layouts are the
 * point. Returns 0, -VIRTQ_EINVAL or -VIRTQ_ENOSPC (out of host memory).
 */
VIRTQ_API int virtq_mock_init(struct virtq_mock *m, const struct virtq_mock_config *cfg);
VIRTQ_API void virtq_mock_destroy(struct virtq_mock *m);

/* virtq_init + set_inflight and set_journal (the mock's) + set_size + set_addrs +
 * set_features from the config (+ set_iommu with m->iommu): a queue ready
 * to activate or resume.
 * Returns the first error. */
VIRTQ_API int virtq_mock_configure(struct virtq_mock *m, struct virtq *q);

/* virtq_mock_configure + virtq_activate. Returns the first error. */
VIRTQ_API int virtq_mock_attach(struct virtq_mock *m, struct virtq *q);

/* virtq_mock_configure + virtq_resume(q, next_avail): a restarted back-end
 * on the same guest and in-flight area. Returns the first error. */
VIRTQ_API int virtq_mock_resume(struct virtq_mock *m, struct virtq *q, uint16_t next_avail);

/* Zeroes all guest memory and resets the driver side: like a fresh
 * virtq_mock_init() with the same config, without remapping (fast reuse). */
VIRTQ_API void virtq_mock_wipe(struct virtq_mock *m);

/* Like destroy + init with cfg when cfg has the same regions (and sharing)
 * as the mock's (queue size, features, ring and buffer addresses may
 * differ): memory is wiped, not remapped. -VIRTQ_EINVAL if they differ. */
VIRTQ_API int virtq_mock_reconfigure(struct virtq_mock *m, const struct virtq_mock_config *cfg);

/* Back to a fresh driver side (free list, indices, rings zeroed); memory kept. */
VIRTQ_API void virtq_mock_reset_driver(struct virtq_mock *m);

/* Guest memory access (bounds-checked, across regions), as the driver: host
 * addresses are the driver's view, writable also in read-only regions. */
VIRTQ_API void *virtq_mock_host(struct virtq_mock *m, uint64_t gpa, uint64_t len);
VIRTQ_API int virtq_mock_read(struct virtq_mock *m, uint64_t gpa, void *dst, size_t len);
VIRTQ_API int virtq_mock_write(struct virtq_mock *m, uint64_t gpa, const void *src, size_t len);
VIRTQ_API int virtq_mock_fill(struct virtq_mock *m, uint64_t gpa, int byte, size_t len);

/* Buffer area allocator; VIRTQ_MOCK_NOMEM when exhausted. align: power of two. */
VIRTQ_API uint64_t virtq_mock_alloc(struct virtq_mock *m, uint64_t len, uint64_t align);
VIRTQ_API void virtq_mock_alloc_reset(struct virtq_mock *m);

/*
 * Posts a chain like a correct driver: takes descriptors from the free list
 * (one for an indirect chain, whose table is allocated from the buffer area),
 * writes them, writes the avail entry and, unless VIRTQ_MOCK_NO_PUBLISH,
 * publishes avail.idx with release ordering. Writable buffers become allowed
 * write ranges. Returns the head index, or -VIRTQ_ENOSPC (no free
 * descriptors or buffer space), -VIRTQ_EINVAL (n == 0), -VIRTQ_EBADADDR
 * (rings outside memory).
 */
VIRTQ_API int virtq_mock_add_chain(struct virtq_mock *m, const struct virtq_mock_buf *bufs,
				   uint32_t n, unsigned flags);

/* Publishes avail.idx (release) for chains added with VIRTQ_MOCK_NO_PUBLISH. */
VIRTQ_API int virtq_mock_publish(struct virtq_mock *m);

/*
 * Consumes the next used entry: 1 with *id and *len set (descriptors of a known
 * head go back to the free list), 0 if none is pending.
 */
VIRTQ_API int virtq_mock_get_used(struct virtq_mock *m, uint32_t *id, uint32_t *len);

/* Whether the driver must kick for what it published since the last call:
 * EVENT_IDX avail_event, else the used ring's NO_NOTIFY flag. */
VIRTQ_API bool virtq_mock_should_kick(struct virtq_mock *m);

/*
 * Interrupt suppression, driver side (virtio 2.7.7, 2.7.10), for drivers that
 * sleep until the device interrupts them (e.g. on another thread).
 * Disabling is a hint: without EVENT_IDX it sets the avail ring's
 * NO_INTERRUPT flag; with EVENT_IDX, used_event simply stops moving (as in
 * Linux), so at most one more interrupt comes.
 * Enabling asks for an interrupt at the next used entry (clears NO_INTERRUPT,
 * or sets used_event to the entries consumed), then, after a full fence,
 * re-reads used.idx: 1 if used entries are pending (consume them before
 * sleeping: the device may have decided against an interrupt before it saw
 * interrupts enabled), 0 if the driver may sleep until an interrupt.
 * Both return -VIRTQ_EBADADDR if the ring field is outside guest memory.
 */
VIRTQ_API int virtq_mock_disable_interrupts(struct virtq_mock *m);
VIRTQ_API int virtq_mock_enable_interrupts(struct virtq_mock *m);

/* Raw ring writes for malicious rings; they bypass the free list.
 * idx/slot are not reduced modulo the size: out-of-table values are allowed
 * and fail with -VIRTQ_EBADADDR only when outside guest memory. */
VIRTQ_API int virtq_mock_set_desc(struct virtq_mock *m, uint32_t idx, uint64_t addr,
				  uint32_t len, uint16_t flags, uint16_t next);
/* A descriptor at any guest address (indirect tables). */
VIRTQ_API int virtq_mock_write_desc_at(struct virtq_mock *m, uint64_t gpa, uint64_t addr,
				       uint32_t len, uint16_t flags, uint16_t next);
VIRTQ_API int virtq_mock_set_avail_entry(struct virtq_mock *m, uint32_t slot, uint16_t head);
VIRTQ_API int virtq_mock_set_avail_idx(struct virtq_mock *m, uint16_t idx);
VIRTQ_API int virtq_mock_set_avail_flags(struct virtq_mock *m, uint16_t flags);
VIRTQ_API int virtq_mock_set_used_event(struct virtq_mock *m, uint16_t event);

/* Device-written fields, as the guest sees them. */
VIRTQ_API uint16_t virtq_mock_used_idx(struct virtq_mock *m);
VIRTQ_API uint16_t virtq_mock_used_flags(struct virtq_mock *m);
VIRTQ_API uint16_t virtq_mock_avail_event(struct virtq_mock *m);
/* The used element at ring slot (modulo size). */
VIRTQ_API int virtq_mock_used_elem(struct virtq_mock *m, uint32_t slot, uint32_t *id,
				   uint32_t *len);

/* Write checking. */
VIRTQ_API int virtq_mock_snapshot(struct virtq_mock *m);
VIRTQ_API int virtq_mock_allow_write(struct virtq_mock *m, uint64_t gpa, uint64_t len);
/* 0 if the device changed only allowed bytes since the snapshot; 1 if it
 * changed another byte, whose address goes to *bad_gpa (if not NULL);
 * -VIRTQ_EINVAL without a snapshot. */
VIRTQ_API int virtq_mock_check_writes(struct virtq_mock *m, uint64_t *bad_gpa);
/*
 * The dirty-log oracle: 0 if every guest byte that changed since the
 * snapshot (the driver's own writes excepted) lies in a page whose bit is
 * set in log; 1 if one does not, its address to *bad_gpa (if not NULL);
 * -VIRTQ_EINVAL without a snapshot or log.
 */
VIRTQ_API int virtq_mock_check_dirty(struct virtq_mock *m, const struct virtq_log *log,
				     uint64_t *bad_gpa);
/* true if no guard byte after any region was modified (guard pages fault). */
VIRTQ_API bool virtq_mock_guards_intact(struct virtq_mock *m);

/* Guest address of a host pointer inside guest memory (the device's mapping
 * or the driver's, which virtq_mock_host() returns); false if outside. */
VIRTQ_API bool virtq_mock_gpa_of(const struct virtq_mock *m, const void *host, uint64_t *gpa);

/* ---- packed mode (cfg.features has VIRTQ_F_RING_PACKED) ------------------- */

/* Whether the mock drives a packed ring. */
VIRTQ_API bool virtq_mock_is_packed(const struct virtq_mock *m);

/* The flags bits AVAIL/USED of a descriptor made available in a lap whose
 * wrap counter is wrap (2.8.1): what a raw descriptor needs to be seen. */
VIRTQ_API uint16_t virtq_mock_packed_avail_bits(bool wrap);

/*
 * Raw packed descriptor at ring slot (not reduced modulo the size), every
 * field as given, flags last with release (as a driver publishes a chain's
 * first descriptor). -VIRTQ_EBADADDR outside guest memory.
 */
VIRTQ_API int virtq_mock_packed_set_desc(struct virtq_mock *m, uint32_t slot, uint64_t addr,
					 uint32_t len, uint16_t id, uint16_t flags);
/* A packed descriptor (indirect table entry) at any guest address. */
VIRTQ_API int virtq_mock_packed_write_desc_at(struct virtq_mock *m, uint64_t gpa, uint64_t addr,
					      uint32_t len, uint16_t id, uint16_t flags);
/* The used descriptor at ring slot (modulo size), as the driver reads it. */
VIRTQ_API int virtq_mock_packed_used_desc(struct virtq_mock *m, uint32_t slot, uint16_t *id,
					  uint32_t *len, uint16_t *flags);
/* The driver's next available slot and wrap counter; setting them moves
 * the driver (wrap-counter manipulation for malicious rings). */
VIRTQ_API uint16_t virtq_mock_packed_avail_pos(const struct virtq_mock *m);
VIRTQ_API bool virtq_mock_packed_avail_wrap(const struct virtq_mock *m);
VIRTQ_API void virtq_mock_packed_set_avail(struct virtq_mock *m, uint16_t pos, bool wrap);
/* The driver event suppression structure (2.8.10), written as given. */
VIRTQ_API int virtq_mock_packed_set_driver_event(struct virtq_mock *m, uint16_t off_wrap,
						 uint16_t flags);
/* The device event suppression structure, as the driver reads it. */
VIRTQ_API int virtq_mock_packed_device_event(struct virtq_mock *m, uint16_t *off_wrap,
					     uint16_t *flags);

/*
 * A mock IOMMU (iommu.h): a table of mappings the test fills, and a
 * translator over it for virtq_set_iommu(&q, &t->iommu). A miss is counted
 * (misses, last_miss). With `forced` set, every lookup answers forced_map
 * as it is, for testing what virtq makes of bad translator output.
 */
#define VIRTQ_MOCK_IOMMU_MAPS 16
struct virtq_mock_iommu {
	struct virtq_iommu iommu;
	struct virtq_iommu_map maps[VIRTQ_MOCK_IOMMU_MAPS];
	uint32_t nmaps;
	uint32_t misses;
	uint64_t last_miss;
	bool forced;
	struct virtq_iommu_map forced_map;
};

VIRTQ_API void virtq_mock_iommu_init(struct virtq_mock_iommu *t);
/* Adds a mapping (no overlap check: the translator answers the first that
 * contains an IOVA). -VIRTQ_ENOSPC when full. */
VIRTQ_API int virtq_mock_iommu_map(struct virtq_mock_iommu *t, uint64_t iova, uint64_t size,
				   uint64_t gpa, uint32_t perm);
/* Removes every mapping that meets [iova, iova + size). Returns how many. */
VIRTQ_API int virtq_mock_iommu_unmap(struct virtq_mock_iommu *t, uint64_t iova, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_MOCK_H */

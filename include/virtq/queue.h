/* SPDX-License-Identifier: MIT */
/*
 * Virtqueue, device side: split (virtio 1.x, section 2.7) or packed (2.8,
 * with VIRTIO_F_RING_PACKED negotiated); the layout is chosen at activation
 * and every call below works for both (docs/architecture.md, "Ring layouts").
 *
 * Life cycle, driven by the VMM's transport code:
 *   virtq_init(q, mem, max_size)
 *   virtq_set_inflight(q, area, bytes)  the device's in-flight record (inflight.h)
 *   virtq_set_size / virtq_set_addrs / virtq_set_features   (guest configures)
 *   virtq_activate(q)          validates everything once, caches ring pointers
 *     (or virtq_resume(q, next_avail): carry on after a back-end restart)
 *   loop: virtq_pop -> device I/O -> virtq_add_used -> virtq_publish_used
 *         -> virtq_needs_notify
 *     or, many chains at once: virtq_pop_many -> ... -> virtq_complete_many
 *     (virtq_add_used_many + publish + needs_notify), or one chain per kick:
 *     virtq_pop -> ... -> virtq_complete (add_used + publish + needs_notify)
 *   virtq_reset(q)             back to the state after virtq_init
 *
 * Chains may be completed in any order; each popped chain is recorded per
 * head in the in-flight area until it is completed (inflight.h).
 *
 * The struct is owned by the caller; its fields are private (read them with
 * the accessors). A queue is not thread-safe: one device thread per queue.
 * Distinct queues may run concurrently, also on a shared struct virtq_mem.
 *
 * Guest errors that make the ring untrustworthy (see common.h, "fatal") latch
 * the queue broken; the VMM then typically sets DEVICE_NEEDS_RESET.
 */
#ifndef VIRTQ_QUEUE_H
#define VIRTQ_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/chain.h"
#include "virtq/common.h"
#include "virtq/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest queue size of a split or packed virtqueue (virtio 1.x 2.7, 2.8). */
#define VIRTQ_MAX_SIZE 32768u

/*
 * Feature bits, numbered as in the virtio spec, so negotiated feature words
 * can be passed unchanged. The feature contract (virtq_activate()):
 *   - VERSION_1 is required: virtq implements the little-endian virtio 1.x
 *     rings only, not legacy ones;
 *   - RING_PACKED selects the packed layout (2.8) at activation: the three
 *     addresses are then the descriptor ring, the driver and the device
 *     event suppression structures;
 *   - IN_ORDER changes what the rings mean and is not implemented: refused;
 *   - ACCESS_PLATFORM (ring and buffer addresses are I/O virtual addresses)
 *     needs a translator (virtq_set_iommu, iommu.h) and is refused without
 *     one, as treating them as guest-physical would bypass the guest's IOMMU;
 *   - every other bit (device-specific bits 0..23, transport bits such as
 *     NOTIFICATION_DATA or RING_RESET) does not change how virtq parses the
 *     rings and is ignored.
 * A refusal is -VIRTQ_ENOTSUP.
 */
#define VIRTQ_F_INDIRECT_DESC 28
#define VIRTQ_F_EVENT_IDX 29
#define VIRTQ_F_VERSION_1 32
#define VIRTQ_F_ACCESS_PLATFORM 33
#define VIRTQ_F_RING_PACKED 34
#define VIRTQ_F_IN_ORDER 35
#define VIRTQ_FEATURE(bit) (UINT64_C(1) << (bit))

/* Descriptor flags (virtio 2.7.5). */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
/* Ring flags (virtio 2.7.6, 2.7.8). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* Packed descriptor flags (virtio 2.8.1): the wrap counter bits. */
#define VIRTQ_DESC_F_AVAIL (1u << 7)
#define VIRTQ_DESC_F_USED (1u << 15)
/* Packed event suppression flags (virtio 2.8.10), and the wrap bit of off_wrap. */
#define VIRTQ_RING_EVENT_FLAGS_ENABLE 0u
#define VIRTQ_RING_EVENT_FLAGS_DISABLE 1u
#define VIRTQ_RING_EVENT_FLAGS_DESC 2u
#define VIRTQ_RING_EVENT_WRAP (1u << 15)

/* Ring extents in guest memory, event fields included (virtio 2.7). */
#define VIRTQ_DESC_TABLE_BYTES(size) (16u * (uint64_t)(size))
#define VIRTQ_AVAIL_RING_BYTES(size) (6u + 2u * (uint64_t)(size))
#define VIRTQ_USED_RING_BYTES(size) (6u + 8u * (uint64_t)(size))
/* Packed extents (virtio 2.8.10): the descriptor ring (16-aligned), each event
 * suppression structure { le16 off_wrap; le16 flags; } (4-aligned). */
#define VIRTQ_PACKED_RING_BYTES(size) (16u * (uint64_t)(size))
#define VIRTQ_PACKED_EVENT_BYTES 4u

/*
 * Guest-physical addresses of a queue's three parts, named as in
 * virtio 1.x 2.6 (transports list them in different orders: vhost-user's
 * SET_VRING_ADDR gives desc, used, avail; virtio-pci desc, driver, device).
 * Packed: the descriptor ring, the driver and the device event suppression.
 */
struct virtq_ring_addrs {
	uint64_t desc_area;   /* descriptor table (packed: descriptor ring) */
	uint64_t driver_area; /* avail ring, written by the driver (packed: driver event) */
	uint64_t device_area; /* used ring, written by the device (packed: device event) */
};

struct virtq_log;
struct virtq_iommu;

struct virtq {
	/* configuration, frozen while active */
	const struct virtq_mem *mem;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	void *inflight;             /* caller's in-flight area (inflight.h) */
	uint32_t inflight_max_size; /* the largest queue size that area holds */
	uint64_t features;
	uint16_t max_size_minus_1; /* largest size the device supports, minus 1 */
	uint16_t size_minus_1; /* size - 1, so that size 32768 fits */
	bool active;
	bool broken;
	/* cached at activation */
	void *desc;  /* host address of the descriptor table */
	void *avail; /* host address of the avail ring */
	void *used;  /* host address of the used ring */
	/* device-side indices */
	uint16_t next_avail;   /* next avail ring position to pop */
	uint16_t shadow_avail; /* avail.idx as last read */
	uint16_t next_used;    /* next used ring position to fill */
	uint16_t published_used; /* used.idx as last written */
	uint16_t signalled_used; /* used.idx at the last notification decision */
	bool signalled_valid;    /* false until the first decision after activate */
	bool notify_enabled;     /* device wants driver notifications */
	uint16_t last_popped;    /* head of the most recent pop still undoable */
	uint64_t pop_counter;    /* pop order stamp of the next chain popped */
	uint32_t region_hint;    /* last region hit by translation */
	struct virtq_log *log;   /* dirty log (log.h), or NULL */
	const struct virtq_iommu *iommu; /* translator (iommu.h), or NULL */
	const struct virtq_iommu *iotlb; /* the translator in use: ACCESS_PLATFORM on */
	uint64_t used_phys;      /* guest-physical address of the used ring */
	bool rings_stale;        /* an invalidation met a ring: re-translate (iommu.h) */
	/* Packed layout (virtio 2.8), chosen at activation: desc is the
	 * descriptor ring, avail the driver event suppression structure, used
	 * the device's. next_avail / next_used count chains popped / completed
	 * in both layouts; the ring positions and wrap counters are here. */
	bool packed;
	bool avail_wrap;         /* driver ring wrap counter at avail_pos */
	bool used_wrap;          /* device ring wrap counter at used_pos */
	uint16_t avail_pos;      /* ring slot of the next descriptor to pop */
	uint16_t used_pos;       /* ring slot of the next used descriptor */
	uint16_t desc_owned;     /* ring slots popped, not yet returned used */
	uint16_t batch_pos;      /* first used descriptor not yet published */
	uint16_t batch_flags;    /* its flags, written last (release) at publish */
	uint32_t signal_slots;   /* ring slots published since the last notify decision */
	uint64_t desc_phys;      /* guest-physical address of the descriptor ring */
	void *journal;           /* packed: caller's descriptor journal (inflight.h), or NULL */
	uint32_t journal_max_size; /* the largest queue size that journal holds */
};

/*
 * The virtqueue feature bits virtq implements (INDIRECT_DESC, EVENT_IDX,
 * VERSION_1, ACCESS_PLATFORM, RING_PACKED): a VMM offers these, plus its device's own
 * bits, and never one of the refused bits above (ACCESS_PLATFORM only with
 * a translator). Device-specific and transport bits are not in
 * the mask, as they are not virtq's to decide.
 */
VIRTQ_API uint64_t virtq_supported_features(void);

/*
 * Prepares q for configuration. max_size is the largest queue size the
 * device supports: a power of two from 1 to 32768. The memory map is kept by
 * pointer and must outlive the queue; it may be extended before activation.
 * Returns 0 or -VIRTQ_EINVAL.
 */
VIRTQ_API int virtq_init(struct virtq *q, const struct virtq_mem *mem, uint32_t max_size);

/* Queue size chosen by the driver: a power of two, 1..max_size.
 * -VIRTQ_EINVAL for a bad size or while active. The initial size is max_size. */
VIRTQ_API int virtq_set_size(struct virtq *q, uint32_t size);

/* Guest-physical ring addresses; validated by virtq_activate().
 * -VIRTQ_EINVAL while active or for NULL. */
VIRTQ_API int virtq_set_addrs(struct virtq *q, const struct virtq_ring_addrs *addrs);

/* Negotiated feature bits (VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX), ...), checked
 * against the feature contract by virtq_activate(). -VIRTQ_EINVAL while active. */
VIRTQ_API int virtq_set_features(struct virtq *q, uint64_t features);

/*
 * Attaches a dirty log (log.h) to q, or detaches it (log NULL); any time,
 * active or not, from the thread running q. The log must be for q's memory
 * map (-VIRTQ_EINVAL) and cover all of it (virtq_log_covers_mem,
 * -VIRTQ_ENOSPC; activation checks it again). Whether anything is logged is
 * the log's switch (virtq_log_set_enabled); chains popped from q carry the
 * log. virtq_reset() keeps the log attached, like the in-flight area.
 */
VIRTQ_API int virtq_set_log(struct virtq *q, struct virtq_log *log);

/*
 * Validates the configuration and starts the queue: the negotiated features
 * keep the feature contract above (-VIRTQ_ENOTSUP, checked first), desc table 16-aligned,
 * avail ring 2-aligned, used ring 4-aligned (-VIRTQ_EINVAL), each ring's full
 * extent including used_event/avail_event inside one guest memory region
 * (-VIRTQ_EBADADDR) whose permissions allow the device's access: read for the
 * descriptor table and avail ring, read and write for the used ring
 * (-VIRTQ_EACCES, mem.h), no overflow computing the extents (-VIRTQ_EOVERFLOW).
 * The host addresses must be aligned like the guest addresses (-VIRTQ_EINVAL).
 * An in-flight area large enough for the size must be attached
 * (virtq_set_inflight, -VIRTQ_EINVAL); activation starts it afresh. An
 * attached dirty log must cover the memory map (-VIRTQ_ENOSPC).
 * A newly activated queue starts at avail and used index 0, as a driver
 * expects after setting DRIVER_OK; resuming elsewhere is virtq_resume()
 * (after a back-end restart) or virtq_restore() (snapshot, migration).
 */
VIRTQ_API int virtq_activate(struct virtq *q);

/* Back to the state right after virtq_init(): inactive, not broken, size
 * max_size, addresses and features cleared; the in-flight area stays attached
 * and unchanged (virtq_resume() can carry on from it). Guest memory is not
 * touched. */
VIRTQ_API void virtq_reset(struct virtq *q);

/*
 * Pops the next available chain into c (whose segment array the caller set
 * with virtq_chain_init()).
 * Returns 1 with a chain, 0 if the ring is empty, or a negative error:
 *   -VIRTQ_EBADIDX   avail.idx ahead of us by more than size; head or next >= size;
 *                    head already in flight (the driver reposted a chain it
 *                    has not got back)
 *   -VIRTQ_EBADDESC  indirect rules broken, readable after writable
 *   -VIRTQ_ELOOP     chain longer than the queue size or its indirect table
 *   -VIRTQ_EBADADDR  a buffer or indirect table outside guest memory
 *   -VIRTQ_EACCES    a writable buffer in read-only memory, a readable buffer
 *                    or indirect table in write-only memory (mem.h)
 *   -VIRTQ_EOVERFLOW address range wraps, or chain total > 2^32 - 1 bytes
 *   -VIRTQ_EBUSY     size chains already in flight (not fatal)
 *   -VIRTQ_ENOSPC    c->segs too small (not fatal; the chain stays available)
 *   -VIRTQ_EAGAIN    an IOVA has no IOMMU translation (not fatal; the chain
 *                    stays available: resolve the miss, pop again; iommu.h)
 * The first six are fatal: the queue is broken afterwards. On any error the
 * chain has no segments; c->ndesc tells how many descriptors were read.
 * -VIRTQ_ENOSPC is decided only after the whole chain was walked and found
 * well-formed (a malformed chain is fatal, however long): c->id is then its
 * head and c->needed the segments it needs, so the device can retry with a
 * larger array or refuse the chain with virtq_discard().
 * Each descriptor is read from guest memory exactly once, and at most
 * 2 * size are read per call (size direct, size in one indirect table).
 */
VIRTQ_API int virtq_pop(struct virtq *q, struct virtq_chain *c);

/*
 * Consumes the next available chain without handing it to the device and
 * completes it with length 0: how a device refuses a request it cannot
 * serve (e.g. after -VIRTQ_ENOSPC) without wedging the queue. The chain is
 * walked and checked like virtq_pop() (same codes, fatal ones break the
 * queue) but its segments are not stored; if c is not NULL, c->id, c->ndesc
 * and c->needed describe it (c->nseg is 0). Returns 1 (discarded; the used
 * entry is published with the next virtq_publish_used()), 0 if the ring is
 * empty, or a negative code.
 */
VIRTQ_API int virtq_discard(struct virtq *q, struct virtq_chain *c);

/*
 * Makes the most recently popped chain available again (the device could not
 * handle it yet); repeated, the one popped before it, and so on. Only while
 * that chain is still in flight: -VIRTQ_EINVAL if it was completed (then
 * the next pop would hand out a completed chain again, and the chain that
 * should come back would never be completed), or if nothing was popped.
 */
VIRTQ_API int virtq_unpop(struct virtq *q);

/*
 * Returns a chain to the driver: id is virtq_chain.id, len the number of bytes
 * the device wrote into the chain's writable part. The entry becomes visible
 * at the next virtq_publish_used(). Chains may be completed in any order.
 * -VIRTQ_EINVAL if id >= size or the chain id is not in flight (never popped,
 * or completed already): nothing is written, the queue carries on.
 */
VIRTQ_API int virtq_add_used(struct virtq *q, uint16_t id, uint32_t len);

/* Makes all added used entries visible to the driver (writes used.idx).
 * Returns the number of entries published. */
VIRTQ_API int virtq_publish_used(struct virtq *q);

/* ---- batch calls (src/batch.c): the queue's state checked once per call */

/*
 * Pops up to max chains into chains[0 .. max), each with its own segment
 * array (virtq_chain_init()), every chain walked and checked as by
 * virtq_pop(). Returns the number popped (1 .. max), 0 if the ring is empty,
 * or a negative error:
 *   - a fatal one (virtq_pop()'s list) wherever it occurs: the queue is
 *     broken, the chains of this call with it;
 *   - -VIRTQ_ENOSPC or -VIRTQ_EBUSY (not fatal) only for the first chain:
 *     met later, the call returns the chains popped before, and the next call
 *     meets it first (the chain stays available; after -VIRTQ_ENOSPC,
 *     chains[0].id and .needed tell which and how many segments).
 * -VIRTQ_EINVAL for chains NULL with max > 0, as virtq_pop()'s entry checks.
 */
VIRTQ_API int virtq_pop_many(struct virtq *q, struct virtq_chain *chains, uint32_t max);

/* One completion: virtq_add_used()'s id and len. */
struct virtq_used_elem {
	uint16_t id;  /* virtq_chain.id */
	uint32_t len; /* bytes written into the chain's writable part */
};

/*
 * virtq_add_used() for elems[0 .. n), in that order, as one step: the state
 * is checked once and every id before anything is written. -VIRTQ_EINVAL if
 * any id is >= size, not in flight, or given twice: then nothing is added
 * and the queue carries on. Returns 0, or the entry checks' codes. The
 * entries become visible at the next virtq_publish_used().
 */
VIRTQ_API int virtq_add_used_many(struct virtq *q, const struct virtq_used_elem *elems,
				  uint32_t n);

/*
 * The fused completion of one chain, for a device that completes each chain
 * as it is done: virtq_add_used(q, id, len), virtq_publish_used(q) and
 * virtq_needs_notify(q) in one call. Returns 1 (notify the driver), 0, or
 * virtq_add_used()'s error, in which case nothing was written or published.
 */
VIRTQ_API int virtq_complete(struct virtq *q, uint16_t id, uint32_t len);

/* The same for many chains: virtq_add_used_many(), publish, needs_notify.
 * Returns 1 (notify), 0, or virtq_add_used_many()'s error (nothing written). */
VIRTQ_API int virtq_complete_many(struct virtq *q, const struct virtq_used_elem *elems,
				  uint32_t n);

/*
 * Whether the driver must be notified (interrupt) for the entries published
 * since the last call: honours used_event with VIRTIO_F_EVENT_IDX, else the
 * avail ring's NO_INTERRUPT flag. Returns 1 (notify), 0, or a negative error.
 * Right for any number of entries published between two calls: once 65536
 * or more were (used.idx back where it was, or past used_event with the
 * 16-bit arithmetic unable to tell), the answer is the one for a first call.
 */
VIRTQ_API int virtq_needs_notify(struct virtq *q);

/*
 * Asks the driver to notify (kick) on new buffers. Returns 1 if buffers
 * became available meanwhile (the device must pop again before sleeping),
 * 0 if not, or a negative error.
 */
VIRTQ_API int virtq_enable_notify(struct virtq *q);

/* Tells the driver that kicks are not needed (the device is polling).
 * With EVENT_IDX this is a hint only: the driver may still kick. */
VIRTQ_API int virtq_disable_notify(struct virtq *q);

/*
 * The EVENT_IDX rule (virtio 2.7.7.2): true if moving an index from old to
 * new crosses event, i.e. event lies in [old, new) with 16-bit wraparound.
 * Exposed for drivers and tests; virtq uses it for used_event.
 */
VIRTQ_API bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx);

VIRTQ_API bool virtq_is_broken(const struct virtq *q);
VIRTQ_API bool virtq_is_active(const struct virtq *q);
/* Chains popped and not yet returned with virtq_add_used(). */
VIRTQ_API uint32_t virtq_in_flight(const struct virtq *q);
/* The avail ring index the next pop reads (vhost-user GET_VRING_BASE), and
 * the used ring index the next add_used writes; 0 for NULL. Packed: the ring
 * position with the wrap counter in bit 15 (VIRTQ_RING_EVENT_WRAP). */
VIRTQ_API uint16_t virtq_next_avail(const struct virtq *q);
VIRTQ_API uint16_t virtq_next_used(const struct virtq *q);
/* Current queue size (max_size until the driver sets another). */
VIRTQ_API uint32_t virtq_size(const struct virtq *q);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_QUEUE_H */

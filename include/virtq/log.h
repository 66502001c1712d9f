/* SPDX-License-Identifier: MIT */
/*
 * Dirty-page log for live migration, in the vhost-user log format
 * (VHOST_USER_SET_LOG_BASE, VHOST_F_LOG_ALL): one bit per 4 KiB page of
 * guest-physical memory, bit N of the log for the page at N * 4096, kept in
 * little-endian 64-bit words (bit N is bit N % 64 of word N / 64, so also
 * bit N % 8 of byte N / 8) and set with atomic OR, since the VMM's migration
 * thread clears bits concurrently. The log memory is the caller's (for
 * vhost-user, the shared memory the front-end sent), of a size the caller
 * gives.
 *
 * KVM's dirty log does not see writes made by user-space devices, so a
 * device must log every guest byte it writes. With a log attached to a queue
 * (virtq_set_log) and switched on (virtq_log_set_enabled), virtq logs what it
 * writes itself: used elements, used.idx, used flags, avail_event, and the
 * bytes a cursor writes into a chain (virtq_chain_write, the vsock RX path).
 * A device that writes segments directly (writev) reports the bytes with
 * virtq_chain_log_written().
 *
 * Order (docs/memory-ordering.md): each write is logged after it is made,
 * and a used element is logged before the used.idx that publishes it is
 * written; used.idx is logged right after it. The OR is a release, so a
 * migration thread that reads the bit with acquire also sees the data.
 *
 * Switching on and off: any time, from the thread running the queues (as a
 * vhost-user back-end does when it handles SET_FEATURES with LOG_ALL);
 * chains in flight are covered from the next write on, as they refer to the
 * log, not to a snapshot of its state. Cost while off: one predictable
 * branch per ring write or cursor write; nothing at all without a log
 * attached.
 */
#ifndef VIRTQ_LOG_H
#define VIRTQ_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/chain.h"
#include "virtq/common.h"
#include "virtq/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Page size of the log: 4 KiB, as in vhost-user. */
#define VIRTQ_LOG_PAGE_SHIFT 12
#define VIRTQ_LOG_PAGE_SIZE (UINT64_C(1) << VIRTQ_LOG_PAGE_SHIFT)
/* Log bytes that cover guest-physical addresses [0, end): whole 64-bit words. */
#define VIRTQ_LOG_BYTES(end) ((((uint64_t)(end) + 64u * VIRTQ_LOG_PAGE_SIZE - 1u) / \
			       (64u * VIRTQ_LOG_PAGE_SIZE)) * 8u)

struct virtq_log {
	uint64_t *words;             /* the caller's log memory */
	uint64_t nwords;             /* 64-bit words in it: pages [0, 64 * nwords) */
	const struct virtq_mem *mem; /* maps segments back to guest-physical pages */
	uint32_t enabled;            /* read and written atomically */
};

/*
 * Prepares a log over the caller's memory [base, base + bytes) for guest
 * memory mem (whose regions turn chain segments back into guest-physical
 * addresses). base 8-aligned, bytes a non-zero multiple of 8, mem not NULL
 * (else -VIRTQ_EINVAL). The log starts switched off; its memory is not
 * touched (the VMM clears it). Returns 0.
 */
VIRTQ_API int virtq_log_init(struct virtq_log *log, const struct virtq_mem *mem, void *base,
			     uint64_t bytes);

/* Switches logging on or off (see above for when). */
VIRTQ_API void virtq_log_set_enabled(struct virtq_log *log, bool on);
VIRTQ_API bool virtq_log_enabled(const struct virtq_log *log);

/*
 * Marks the pages of [gpa, gpa + len) dirty, whether logging is on or not
 * (for the VMM's own writes). Returns 0, -VIRTQ_EOVERFLOW if the range wraps,
 * -VIRTQ_ENOSPC if a page lies beyond the log (no bit is set then),
 * -VIRTQ_EINVAL for NULL.
 */
VIRTQ_API int virtq_log_range(struct virtq_log *log, uint64_t gpa, uint64_t len);

/*
 * Whether the log covers every byte of its memory map: -VIRTQ_ENOSPC if a
 * region ends beyond the log's last page, else 0. virtq_set_log() and
 * activation check it, so logging what a queue writes cannot fail.
 */
VIRTQ_API int virtq_log_covers_mem(const struct virtq_log *log);

/*
 * For devices that write a chain's segments themselves (writev, DMA): logs
 * the first n bytes of the chain's writable part, if the chain was popped
 * from a queue with a log and logging is on. Returns 0; -VIRTQ_EINVAL if
 * c is NULL or n > c->write_len (nothing logged); -VIRTQ_ENOSPC if a byte
 * lies beyond the log (cannot happen for a queue whose log passed
 * virtq_log_covers_mem(), unless the memory map changed). Segments that are
 * not guest memory (appended by the caller) have no page to log and are
 * skipped. Host memory mapped at several guest addresses is logged at each.
 */
VIRTQ_API int virtq_chain_log_written(const struct virtq_chain *c, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_LOG_H */

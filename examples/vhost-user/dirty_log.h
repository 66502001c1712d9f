/* SPDX-License-Identifier: MIT */
/*
 * Dirty page logging for live migration (VHOST_F_LOG_ALL with
 * VHOST_USER_PROTOCOL_F_LOG_SHMFD). SET_LOG_BASE hands over the log: shared
 * memory (one fd) of mmap_size bytes at mmap_offset, one bit per 4 KiB page
 * of guest-physical memory, mapped here and wrapped in virtq's dirty log
 * (<virtq/log.h>). While the acked features hold LOG_ALL the log is attached
 * to every ring and switched on, so virtq logs the used rings, cursor writes
 * and vsock RX commits; a device that writes segments itself (blk's preadv
 * and status byte) logs them with vu_dirty_log_written. Without LOG_ALL it
 * is detached.
 *
 * Everything in SET_LOG_BASE is checked: exactly one fd, a size that is a
 * non-zero multiple of 8, a page-aligned offset, offset + size without
 * overflow and inside the file (else touching the log would raise SIGBUS),
 * and a log that covers the whole memory table. A refused log leaves the
 * previous one in place. SET_LOG_FD (an eventfd QEMU does not send) is
 * refused, its fd closed.
 */
#ifndef VU_DIRTY_LOG_H
#define VU_DIRTY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtq/log.h>

#include "message.h"

#define VU_F_LOG_ALL 26          /* VHOST_F_LOG_ALL */
#define VU_PROTOCOL_F_LOG_SHMFD 1 /* VHOST_USER_PROTOCOL_F_LOG_SHMFD */

struct vu_dev;

struct vu_dirty_log {
	void *map;       /* mapping of the front-end's log; NULL when none */
	size_t map_len;
	struct virtq_log log; /* over map, for the device's memory table */
	uint64_t written_bytes, writes; /* logged through vu_dirty_log_written */
};

void vu_dirty_log_init(struct vu_dirty_log *l);
/* SET_LOG_BASE (0 accepted, 1 refused; the fd slot becomes -1 when kept)
 * and SET_LOG_FD (1). */
int vu_dirty_log_on_msg(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds);
/* Attaches the log to every ring and switches it on if LOG_ALL is acked and
 * a log was given; else detaches it. After SET_FEATURES and SET_LOG_BASE. */
void vu_dirty_log_apply(struct vu_dev *d);
/* Whether the rings log now. */
bool vu_dirty_log_active(const struct vu_dev *d);
/* What a device wrote into the first n bytes of c's writable part itself
 * (readv, preadv, a store): logged (virtq_chain_log_written) and counted
 * while logging is on. */
void vu_dirty_log_written(struct vu_dev *d, const struct virtq_chain *c, size_t n);
/* Detaches and unmaps the log (a fresh connection), saying how much the
 * device logged. */
void vu_dirty_log_clear(struct vu_dev *d);

#endif

/* SPDX-License-Identifier: MIT */
/* Dirty logging shared by the queue and the chain cursors (log.h). */
#ifndef VIRTQ_LOG_INTERNAL_H
#define VIRTQ_LOG_INTERNAL_H

#include <stddef.h>

#include "virtq/log.h"

/* Logs [host, host + len) at the guest pages of every region mapping it;
 * -VIRTQ_ENOSPC for a page beyond the log (its bit is not set). */
int virtq_log_host(struct virtq_log *log, const void *host, size_t len);

/* Logs the next n bytes after the cursor (at most what remains), without
 * moving it: for bytes a device wrote into described segments (vsock RX
 * zero-copy). 0 or -VIRTQ_ENOSPC. */
int virtq_cursor_log_ahead(const struct virtq_cursor *cur, size_t n);

/* A cursor write of [at, at + n): logged if the log is switched on. */
static inline int log_cursor_write(struct virtq_log *log, const void *at, size_t n)
{
	return virtq_log_enabled(log) ? virtq_log_host(log, at, n) : 0;
}

#endif /* VIRTQ_LOG_INTERNAL_H */

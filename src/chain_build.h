/* SPDX-License-Identifier: MIT */
/* Appending segments to a chain: shared by ring parsers and virtq_chain_append(). */
#ifndef VIRTQ_CHAIN_BUILD_H
#define VIRTQ_CHAIN_BUILD_H

#include <stdbool.h>

#include "virtq/chain.h"

/*
 * Appends one segment. The caller has already checked ordering (readable
 * before writable) and that the chain total stays within 2^32 - 1 bytes.
 */
static inline int chain_push(struct virtq_chain *c, void *addr, uint32_t len, bool writable)
{
	if (c->nseg == c->cap)
		return -VIRTQ_ENOSPC;
	c->segs[c->nseg++] = (struct virtq_seg){ .addr = addr, .len = len };
	if (writable) {
		c->write_len += len;
	} else {
		c->nread++;
		c->read_len += len;
	}
	return 0;
}

#endif /* VIRTQ_CHAIN_BUILD_H */

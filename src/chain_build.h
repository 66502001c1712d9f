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

/*
 * A chain under construction by a ring walker (packed_pop.c), whatever the
 * ring layout: buffers are accounted in ring order (readable ones first,
 * total <= 2^32 - 1), their segments stored while they fit in the caller's
 * array and counted beyond it, so that -VIRTQ_ENOSPC is decided only for a
 * well-formed chain, with the count it needs (virtq_pop()).
 */
struct chain_builder {
	struct virtq_seg *segs;
	uint32_t cap;
	uint32_t nseg;   /* segments counted (stored while < cap) */
	uint32_t nread;  /* segments before the first writable buffer */
	bool writing;    /* a writable buffer was seen */
	uint64_t total, read_len;
};

static inline void chain_builder_start(struct chain_builder *b, const struct virtq_chain *c)
{
	*b = (struct chain_builder){ .segs = c->segs, .cap = c->cap };
}

/* One more buffer of len bytes: readable after writable is -VIRTQ_EBADDESC,
 * a total above 2^32 - 1 is -VIRTQ_EOVERFLOW. Its segments follow. */
static inline int chain_builder_account(struct chain_builder *b, uint32_t len, bool writable)
{
	if (writable && !b->writing) {
		b->writing = true;
		b->nread = b->nseg;
		b->read_len = b->total;
	} else if (!writable && b->writing) {
		return -VIRTQ_EBADDESC;
	}
	b->total += len; /* at most 2 * 32768 buffers of < 2^32: no u64 overflow */
	return b->total > UINT32_MAX ? -VIRTQ_EOVERFLOW : 0;
}

/* The walk is over: c gets the chain (0), or id and needed only with
 * -VIRTQ_ENOSPC when it did not fit. */
static inline int chain_builder_finish(struct chain_builder *b, struct virtq_chain *c, uint16_t id,
				       uint32_t ndesc)
{
	c->ndesc = ndesc;
	c->needed = b->nseg;
	c->id = id;
	if (b->nseg > b->cap)
		return -VIRTQ_ENOSPC;
	if (!b->writing) {
		b->nread = b->nseg;
		b->read_len = b->total;
	}
	c->nseg = b->nseg;
	c->nread = b->nread;
	c->read_len = (uint32_t)b->read_len;
	c->write_len = (uint32_t)(b->total - b->read_len);
	return 0;
}

#endif /* VIRTQ_CHAIN_BUILD_H */

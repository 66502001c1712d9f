/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <string.h>

/* The library's own definitions of the functions chain.h also inlines:
 * their names in parentheses, so the header's macros leave them alone. */
#include "chain_build.h"
#include "compiler.h"
#include "virtq/chain.h"

void virtq_chain_init(struct virtq_chain *c, struct virtq_seg *segs, uint32_t cap)
{
	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	c->segs = segs;
	c->cap = segs ? cap : 0;
}

void virtq_chain_clear(struct virtq_chain *c)
{
	if (!c)
		return;
	c->nseg = c->nread = c->read_len = c->write_len = c->ndesc = c->needed = 0;
	c->id = 0;
}

int virtq_chain_append(struct virtq_chain *c, void *addr, size_t len, int writable)
{
	if (!c || (!addr && len))
		return -VIRTQ_EINVAL;
	if (!writable && c->nseg != c->nread)
		return -VIRTQ_EBADDESC;
	if (len > UINT32_MAX - ((uint64_t)c->read_len + c->write_len))
		return -VIRTQ_EOVERFLOW;
	if (len == 0)
		return 0;
	return chain_push(c, addr, (uint32_t)len, writable != 0);
}

static void cursor_over(struct virtq_cursor *cur, const struct virtq_seg *first,
			const struct virtq_seg *end, size_t total)
{
	*cur = (struct virtq_cursor){ .seg = first, .end = end, .total = total };
}

void (virtq_chain_reader)(struct virtq_cursor *cur, const struct virtq_chain *c)
{
	if (cur && c)
		cursor_over(cur, c->segs, c->segs + c->nread, c->read_len);
	else if (cur)
		cursor_over(cur, NULL, NULL, 0);
}

void (virtq_chain_writer)(struct virtq_cursor *cur, const struct virtq_chain *c)
{
	if (cur && c)
		cursor_over(cur, c->segs + c->nread, c->segs + c->nseg, c->write_len);
	else if (cur)
		cursor_over(cur, NULL, NULL, 0);
}

enum copy_dir { COPY_NONE, COPY_OUT, COPY_IN };

static size_t cursor_move(struct virtq_cursor *cur, unsigned char *buf, size_t len,
			  enum copy_dir dir)
{
	size_t moved = 0;
	if (len > cur->total - cur->done)
		len = cur->total - cur->done; /* a limited cursor stops early */
	while (moved < len && cur->seg != cur->end) {
		size_t n = cur->seg->len - cur->off;
		if (n > len - moved)
			n = len - moved;
		unsigned char *at = (unsigned char *)cur->seg->addr + cur->off;
		if (dir == COPY_OUT)
			memcpy(buf + moved, at, n);
		else if (dir == COPY_IN)
			memcpy(at, buf + moved, n);
		moved += n;
		cur->off += n;
		if (cur->off == cur->seg->len) {
			cur->seg++;
			cur->off = 0;
		}
	}
	cur->done += moved;
	return moved;
}

/*
 * Fast path of read and write: 0 < len bytes inside the current segment and
 * within the cursor's limit, the common case of a header read or a small
 * reply. Sets *at to where to copy and advances the cursor exactly as
 * cursor_move() would; false leaves everything to cursor_move().
 */
static inline bool cursor_fast(struct virtq_cursor *cur, size_t len, unsigned char **at)
{
	if (cur->seg == cur->end || len > cur->total - cur->done)
		return false;
	const struct virtq_seg *seg = cur->seg;
	const size_t room = seg->len - cur->off;
	if (len > room || len == 0)
		return false;
	*at = (unsigned char *)seg->addr + cur->off;
	if (len == room) { /* the segment's end: on to the next, as the loop does */
		cur->seg = seg + 1;
		cur->off = 0;
	} else {
		cur->off += len;
	}
	cur->done += len;
	return true;
}

static VIRTQ_NOINLINE int64_t read_slow(struct virtq_cursor *cur, void *dst, size_t len)
{
	return (int64_t)cursor_move(cur, dst, len, COPY_OUT);
}

static VIRTQ_NOINLINE int64_t write_slow(struct virtq_cursor *cur, const void *src, size_t len)
{
	/* COPY_IN only reads from buf: the cast drops const for the shared helper. */
	return (int64_t)cursor_move(cur, (unsigned char *)(uintptr_t)src, len, COPY_IN);
}

int64_t (virtq_chain_read)(struct virtq_cursor *cur, void *dst, size_t len)
{
	unsigned char *at;
	if (VIRTQ_UNLIKELY(!cur || (!dst && len)))
		return -VIRTQ_EINVAL;
	if (VIRTQ_LIKELY(cursor_fast(cur, len, &at))) {
		memcpy(dst, at, len);
		return (int64_t)len;
	}
	return read_slow(cur, dst, len);
}

int64_t (virtq_chain_write)(struct virtq_cursor *cur, const void *src, size_t len)
{
	unsigned char *at;
	if (VIRTQ_UNLIKELY(!cur || (!src && len)))
		return -VIRTQ_EINVAL;
	if (VIRTQ_LIKELY(cursor_fast(cur, len, &at))) {
		memcpy(at, src, len);
		return (int64_t)len;
	}
	return write_slow(cur, src, len);
}

int64_t virtq_chain_skip(struct virtq_cursor *cur, size_t len)
{
	if (!cur)
		return -VIRTQ_EINVAL;
	return (int64_t)cursor_move(cur, NULL, len, COPY_NONE);
}

int (virtq_chain_limit)(struct virtq_cursor *cur, size_t len)
{
	if (!cur)
		return -VIRTQ_EINVAL;
	if (len > cur->total - cur->done)
		return -VIRTQ_ESHORT;
	cur->total = cur->done + len;
	return 0;
}

size_t (virtq_chain_remaining)(const struct virtq_cursor *cur)
{
	return cur ? cur->total - cur->done : 0;
}

size_t (virtq_chain_offset)(const struct virtq_cursor *cur)
{
	return cur ? cur->done : 0;
}

int (virtq_chain_segments)(const struct virtq_cursor *cur, size_t len, struct virtq_seg *out,
			 uint32_t cap)
{
	if (!cur || (!out && cap))
		return -VIRTQ_EINVAL;
	if (len > cur->total - cur->done)
		return -VIRTQ_ESHORT;
	const struct virtq_seg *seg = cur->seg;
	size_t off = cur->off;
	/* Fast path: the bytes lie in the current segment (one iovec). */
	if (VIRTQ_LIKELY(len != 0 && seg != cur->end && len <= seg->len - off && cap != 0)) {
		out[0] = (struct virtq_seg){ .addr = (unsigned char *)seg->addr + off, .len = len };
		return 1;
	}
	uint32_t n = 0;
	while (len) {
		size_t take = seg->len - off;
		if (take > len)
			take = len;
		if (take) {
			if (n == cap)
				return -VIRTQ_ENOSPC;
			out[n++] = (struct virtq_seg){ .addr = (unsigned char *)seg->addr + off,
						       .len = take };
		}
		len -= take;
		seg++;
		off = 0;
	}
	return (int)n;
}

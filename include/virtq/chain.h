/* SPDX-License-Identifier: MIT */
/*
 * A popped descriptor chain, seen as host segments, and cursors over it.
 *
 * A chain is independent of the ring layout that produced it: the split ring
 * fills it today, a packed ring can fill the same structure. Devices (and
 * virtq's vsock layer) only use this header, never ring internals.
 *
 * Segments are ordered: the readable ones (device reads, driver wrote) first,
 * then the writable ones. Each segment lies inside one guest memory region and
 * inside one descriptor's buffer. The caller owns the segment array.
 */
#ifndef VIRTQ_CHAIN_H
#define VIRTQ_CHAIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "virtq/common.h"
#include "virtq/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

struct virtq_chain {
	struct virtq_seg *segs; /* caller-owned array */
	uint32_t cap;           /* entries in segs */
	uint32_t nseg;          /* segments filled */
	uint32_t nread;         /* segs[0 .. nread) are readable, the rest writable */
	uint32_t read_len;      /* bytes in readable segments */
	uint32_t write_len;     /* bytes in writable segments */
	uint32_t ndesc;         /* descriptors walked, including an indirect one */
	uint32_t needed;        /* segments the chain needs: nseg after a pop, the
				 * cap to retry with after -VIRTQ_ENOSPC */
	uint16_t id;            /* pass to virtq_add_used(); after -VIRTQ_ENOSPC
				 * too (or to virtq_discard() the chain) */
};

/* Attaches a caller-owned segment array of cap entries and empties the chain. */
VIRTQ_API void virtq_chain_init(struct virtq_chain *c, struct virtq_seg *segs, uint32_t cap);

/* Empties the chain, keeping its segment array. */
VIRTQ_API void virtq_chain_clear(struct virtq_chain *c);

/*
 * Appends [addr, addr + len) as a segment, readable or writable. Used by ring
 * parsers and by tests; a readable segment after a writable one is refused
 * (-VIRTQ_EBADDESC), as is a full array (-VIRTQ_ENOSPC) and a total above
 * 2^32 - 1 bytes (-VIRTQ_EOVERFLOW).
 */
VIRTQ_API int virtq_chain_append(struct virtq_chain *c, void *addr, size_t len, int writable);

/*
 * A cursor walks either the readable or the writable part of a chain, copying
 * across segment boundaries. It never goes past the part it was made for.
 * The chain must outlive the cursor and must not change while it is used.
 */
struct virtq_cursor {
	const struct virtq_seg *seg; /* current segment */
	const struct virtq_seg *end; /* one past the last segment of this part */
	size_t off;                  /* offset inside *seg */
	size_t done;                 /* bytes consumed so far */
	size_t total;                /* bytes this cursor may consume in all */
};

/* A cursor over the readable part (what the driver sent). */
VIRTQ_API void virtq_chain_reader(struct virtq_cursor *cur, const struct virtq_chain *c);

/* A cursor over the writable part (where the device replies). */
VIRTQ_API void virtq_chain_writer(struct virtq_cursor *cur, const struct virtq_chain *c);

/*
 * Copies up to len bytes out of (read) or into (write) the chain and advances.
 * Returns the number of bytes copied, which is short only at the end of the
 * part, or -VIRTQ_EINVAL for a NULL cursor or buffer with len > 0.
 * Reading from a writer or writing through a reader is allowed: the cursor
 * only knows its part of the chain, the caller decides.
 */
VIRTQ_API int64_t virtq_chain_read(struct virtq_cursor *cur, void *dst, size_t len);
VIRTQ_API int64_t virtq_chain_write(struct virtq_cursor *cur, const void *src, size_t len);

/* Advances by up to len bytes without copying; returns bytes skipped. */
VIRTQ_API int64_t virtq_chain_skip(struct virtq_cursor *cur, size_t len);

/* Restricts the cursor to the next len bytes: reads, writes and skips stop
 * there. -VIRTQ_ESHORT if fewer than len bytes remain (cursor unchanged). */
VIRTQ_API int virtq_chain_limit(struct virtq_cursor *cur, size_t len);

/* Bytes left in this part of the chain. */
VIRTQ_API size_t virtq_chain_remaining(const struct virtq_cursor *cur);

/* Bytes consumed so far: for a writer, the length to report to virtq_add_used(). */
VIRTQ_API size_t virtq_chain_offset(const struct virtq_cursor *cur);

/*
 * Describes the next len bytes as segments without copying or advancing
 * (zero-copy I/O with readv/writev). Returns the number of segments written
 * to out, -VIRTQ_ESHORT if fewer than len bytes remain, -VIRTQ_ENOSPC if more
 * than cap segments are needed, -VIRTQ_EINVAL on NULL arguments.
 */
VIRTQ_API int virtq_chain_segments(const struct virtq_cursor *cur, size_t len,
				    struct virtq_seg *out, uint32_t cap);

/*
 * Inline fast paths (docs/abi.md "Inline fast paths"). The calls above are
 * also compiled into the caller for their common case: cursor set-up, a read
 * or write inside the current segment, bytes inside one segment as a view,
 * the limit, the counters. Everything else (NULL arguments, crossing segments, the end
 * of a part) calls the library's function, which stays exported with the
 * same behaviour; `(virtq_chain_read)(...)` calls it directly. Define
 * VIRTQ_NO_INLINE before including virtq's headers to always call it.
 */
#ifndef VIRTQ_NO_INLINE

static inline void virtq_chain_reader_inline(struct virtq_cursor *cur,
					     const struct virtq_chain *c)
{
	if (!cur || !c) {
		(virtq_chain_reader)(cur, c);
		return;
	}
	cur->seg = c->segs;
	cur->end = c->segs + c->nread;
	cur->off = 0;
	cur->done = 0;
	cur->total = c->read_len;
}

static inline void virtq_chain_writer_inline(struct virtq_cursor *cur,
					     const struct virtq_chain *c)
{
	if (!cur || !c) {
		(virtq_chain_writer)(cur, c);
		return;
	}
	cur->seg = c->segs + c->nread;
	cur->end = c->segs + c->nseg;
	cur->off = 0;
	cur->done = 0;
	cur->total = c->write_len;
}

/* Where 0 < len bytes at the cursor lie inside its current segment and its
 * limit, or NULL. */
static inline unsigned char *virtq_cursor_fast_at(const struct virtq_cursor *cur, size_t len)
{
	if (len == 0 || cur->seg == cur->end || len > cur->total - cur->done ||
	    len > cur->seg->len - cur->off)
		return NULL;
	return (unsigned char *)cur->seg->addr + cur->off;
}

/* Advances past len bytes found by virtq_cursor_fast_at(), onto the next
 * segment at this one's end, as the library does. */
static inline void virtq_cursor_fast_advance(struct virtq_cursor *cur, size_t len)
{
	if (len == cur->seg->len - cur->off) {
		cur->seg++;
		cur->off = 0;
	} else {
		cur->off += len;
	}
	cur->done += len;
}

static inline int64_t virtq_chain_read_inline(struct virtq_cursor *cur, void *dst, size_t len)
{
	unsigned char *at = cur && dst ? virtq_cursor_fast_at(cur, len) : NULL;
	if (!at)
		return (virtq_chain_read)(cur, dst, len);
	memcpy(dst, at, len);
	virtq_cursor_fast_advance(cur, len);
	return (int64_t)len;
}

static inline int64_t virtq_chain_write_inline(struct virtq_cursor *cur, const void *src,
					       size_t len)
{
	unsigned char *at = cur && src ? virtq_cursor_fast_at(cur, len) : NULL;
	if (!at)
		return (virtq_chain_write)(cur, src, len);
	memcpy(at, src, len);
	virtq_cursor_fast_advance(cur, len);
	return (int64_t)len;
}

static inline int virtq_chain_limit_inline(struct virtq_cursor *cur, size_t len)
{
	if (!cur)
		return (virtq_chain_limit)(cur, len);
	if (len > cur->total - cur->done)
		return -VIRTQ_ESHORT;
	cur->total = cur->done + len;
	return 0;
}

static inline size_t virtq_chain_remaining_inline(const struct virtq_cursor *cur)
{
	return cur ? cur->total - cur->done : 0;
}

static inline size_t virtq_chain_offset_inline(const struct virtq_cursor *cur)
{
	return cur ? cur->done : 0;
}

static inline int virtq_chain_segments_inline(const struct virtq_cursor *cur, size_t len,
					      struct virtq_seg *out, uint32_t cap)
{
	unsigned char *at = cur && out && cap ? virtq_cursor_fast_at(cur, len) : NULL;
	if (!at)
		return (virtq_chain_segments)(cur, len, out, cap);
	out[0].addr = at;
	out[0].len = len;
	return 1;
}

#define virtq_chain_reader(cur, c) virtq_chain_reader_inline(cur, c)
#define virtq_chain_writer(cur, c) virtq_chain_writer_inline(cur, c)
#define virtq_chain_read(cur, dst, len) virtq_chain_read_inline(cur, dst, len)
#define virtq_chain_write(cur, src, len) virtq_chain_write_inline(cur, src, len)
#define virtq_chain_limit(cur, len) virtq_chain_limit_inline(cur, len)
#define virtq_chain_remaining(cur) virtq_chain_remaining_inline(cur)
#define virtq_chain_offset(cur) virtq_chain_offset_inline(cur)
#define virtq_chain_segments(cur, len, out, cap) virtq_chain_segments_inline(cur, len, out, cap)

#endif /* VIRTQ_NO_INLINE */

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_CHAIN_H */

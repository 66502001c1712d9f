/* SPDX-License-Identifier: MIT */
/* virtio-blk request rules (see blk_req.h). */
#include "blk_req.h"

#include <string.h>

#define HDR_BYTES 16u
#define RANGE_BYTES 16u

static unsigned fail(struct blk_req *r, unsigned status, const char *why)
{
	r->why = why;
	return status;
}

/* The last writable byte, or NULL. */
static unsigned char *status_byte(const struct virtq_chain *c)
{
	if (c->write_len == 0 || c->nseg == 0)
		return 0;
	const struct virtq_seg *last = &c->segs[c->nseg - 1];
	if (last->len == 0)
		return 0; /* cannot happen: pop drops empty segments; be safe */
	return (unsigned char *)last->addr + last->len - 1;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Whether [sector, sector + sectors) lies within the capacity. */
static bool in_range(const struct blk_limits *l, uint64_t sector, uint64_t sectors)
{
	uint64_t end;
	return !__builtin_add_overflow(sector, sectors, &end) && end <= l->capacity;
}

/* The data segments of a cursor's next len bytes, within seg_max/size_max. */
static unsigned data_segments(struct blk_req *r, const struct virtq_cursor *cur, uint32_t len,
			      const struct blk_limits *l, struct virtq_seg *data, unsigned cap)
{
	r->data_len = len;
	r->ndata = 0;
	if (len == 0)
		return BLK_S_OK;
	uint32_t max = l->seg_max < cap ? l->seg_max : cap;
	int n = virtq_chain_segments(cur, len, data, max);
	if (n < 0)
		return fail(r, BLK_S_IOERR, "more data segments than seg_max");
	for (int i = 0; i < n; i++)
		if (data[i].len > l->size_max)
			return fail(r, BLK_S_IOERR, "a data segment larger than size_max");
	r->ndata = (unsigned)n;
	return BLK_S_OK;
}

static unsigned parse_rw(struct blk_req *r, const struct virtq_chain *c,
			 const struct blk_limits *l, struct virtq_seg *data, unsigned cap)
{
	struct virtq_cursor cur;
	uint32_t len;
	if (r->type == BLK_T_IN) {
		if (c->read_len != HDR_BYTES)
			return fail(r, BLK_S_IOERR, "IN with readable data after the header");
		len = c->write_len - 1;
		virtq_chain_writer(&cur, c);
	} else {
		if (c->write_len != 1)
			return fail(r, BLK_S_IOERR, "OUT with writable data besides the status");
		if (l->read_only)
			return fail(r, BLK_S_IOERR, "OUT on a read-only image");
		len = c->read_len - HDR_BYTES;
		virtq_chain_reader(&cur, c);
		(void)virtq_chain_skip(&cur, HDR_BYTES);
	}
	if (len % BLK_SECTOR)
		return fail(r, BLK_S_IOERR, "data not a multiple of 512 bytes");
	if (!in_range(l, r->sector, len / BLK_SECTOR))
		return fail(r, BLK_S_IOERR, "sectors beyond the capacity");
	return data_segments(r, &cur, len, l, data, cap);
}

static unsigned parse_ranges(struct blk_req *r, const struct virtq_chain *c,
			     const struct blk_limits *l)
{
	bool discard = r->type == BLK_T_DISCARD;
	uint32_t max_seg = discard ? l->max_discard_seg : l->max_write_zeroes_seg;
	uint32_t max_sectors = discard ? l->max_discard_sectors : l->max_write_zeroes_sectors;
	if (l->read_only)
		return fail(r, BLK_S_IOERR, "DISCARD or WRITE_ZEROES on a read-only image");
	uint32_t len = c->read_len - HDR_BYTES;
	if (c->write_len != 1 || len == 0 || len % RANGE_BYTES)
		return fail(r, BLK_S_IOERR, "ranges not a multiple of 16 bytes, or writable data");
	uint32_t n = len / RANGE_BYTES;
	if (n > max_seg || n > BLK_MAX_RANGES)
		return fail(r, BLK_S_IOERR, "more ranges than max_discard_seg/max_write_zeroes_seg");
	struct virtq_cursor cur;
	virtq_chain_reader(&cur, c);
	(void)virtq_chain_skip(&cur, HDR_BYTES);
	for (uint32_t i = 0; i < n; i++) {
		unsigned char raw[RANGE_BYTES];
		if (virtq_chain_read(&cur, raw, sizeof(raw)) != (int64_t)sizeof(raw))
			return fail(r, BLK_S_IOERR, "short range");
		struct blk_range *g = &r->range[i];
		g->sector = le64(raw);
		g->sectors = le32(raw + 8);
		g->flags = le32(raw + 12);
		if (g->flags & ~BLK_WZ_F_UNMAP || (discard && g->flags))
			return fail(r, BLK_S_UNSUPP, "range flags not supported");
		if (g->sectors > max_sectors)
			return fail(r, BLK_S_IOERR, "range longer than max_*_sectors");
		if (!in_range(l, g->sector, g->sectors))
			return fail(r, BLK_S_IOERR, "range beyond the capacity");
	}
	r->nrange = n;
	return BLK_S_OK;
}

unsigned blk_req_parse(struct blk_req *r, const struct virtq_chain *c,
		       const struct blk_limits *l, struct virtq_seg *data, unsigned cap)
{
	memset(r, 0, offsetof(struct blk_req, range));
	r->nrange = 0;
	r->why = 0;
	r->status = status_byte(c);
	if (!r->status)
		return fail(r, BLK_S_IOERR, "no writable status byte at the end");
	unsigned char hdr[HDR_BYTES];
	struct virtq_cursor cur;
	virtq_chain_reader(&cur, c);
	if (c->read_len < HDR_BYTES || virtq_chain_read(&cur, hdr, HDR_BYTES) != HDR_BYTES)
		return fail(r, BLK_S_IOERR, "header shorter than 16 readable bytes");
	r->type = le32(hdr);
	r->sector = le64(hdr + 8); /* hdr + 4: ioprio, ignored */
	switch (r->type) {
	case BLK_T_IN:
	case BLK_T_OUT:
		return parse_rw(r, c, l, data, cap);
	case BLK_T_FLUSH:
		return BLK_S_OK;
	case BLK_T_GET_ID:
		virtq_chain_writer(&cur, c);
		return data_segments(r, &cur, c->write_len - 1 < BLK_ID_BYTES ? c->write_len - 1
									 : BLK_ID_BYTES,
				     l, data, cap);
	case BLK_T_DISCARD:
		if (!l->discard)
			return fail(r, BLK_S_UNSUPP, "DISCARD not offered");
		return parse_ranges(r, c, l);
	case BLK_T_WRITE_ZEROES:
		if (!l->write_zeroes)
			return fail(r, BLK_S_UNSUPP, "WRITE_ZEROES not offered");
		return parse_ranges(r, c, l);
	default:
		return fail(r, BLK_S_UNSUPP, "request type not supported");
	}
}

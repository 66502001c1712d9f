/* SPDX-License-Identifier: MIT */
/*
 * fuzz_blk: the blk example's request parser (examples/blk/blk_req.c) over
 * chains of any shape and content, and device limits of any value.
 *
 * Input (missing bytes read as 0): byte 0 flags (bit 0 read-only, bit 1
 * DISCARD offered, bit 2 WRITE_ZEROES offered), byte 1 seg_max (1 + v % 16),
 * bytes 2-3 size_max (512 + u16), bytes 4-11 capacity in sectors (u64),
 * bytes 12-15 max range sectors, byte 16 max ranges (v % 40); then segments:
 * one byte (bit 7 writable) and a u16 length (mod 4097), whose bytes follow
 * (readable ones from the input, writable ones 0xee), until the input ends or
 * 16 segments. A readable segment after a writable one is dropped, as virtq
 * never builds such a chain.
 *
 * Oracles: the parser writes nothing (the guest memory is unchanged); the
 * status is the chain's last writable byte, or NULL exactly when there is
 * none; a rejection has a reason and is IOERR or UNSUPP; an accepted request
 * has a known type and obeys every rule of blk_req.h, checked here again
 * from the flat copy of the chain: data segments inside the right part of
 * the chain, their sum the data length, a multiple of 512, within the
 * capacity, at most seg_max segments of at most size_max bytes, the header
 * the first 16 readable bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtq/chain.h>

/* The parser is an example's file: compiled into this target directly, so
 * that every fuzz build (CMake, ClusterFuzzLite's build.sh) gets it. */
#include "../examples/blk/blk_req.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEGS 16u
#define SEG_LEN_MAX 4096u

static unsigned char guest[MAX_SEGS * SEG_LEN_MAX], before[sizeof(guest)];

#define ORACLE(cond)                                                               \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "oracle failed at fuzz_blk.c:%d: %s\n", __LINE__, \
				#cond);                                            \
			abort();                                                   \
		}                                                                  \
	} while (0)

static uint64_t get(const uint8_t *d, size_t size, size_t *at, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++, (*at)++)
		if (*at < size)
			v |= (uint64_t)d[*at] << (8 * i);
	return v;
}

/* Whether [p, p + len) lies in segments [from, to) of c. */
static bool inside(const struct virtq_chain *c, uint32_t from, uint32_t to, const void *p,
		   size_t len)
{
	const unsigned char *b = p;
	for (uint32_t i = from; i < to; i++) {
		const unsigned char *s = c->segs[i].addr;
		if (b >= s && len <= c->segs[i].len && (size_t)(b - s) <= c->segs[i].len - len)
			return true;
	}
	return false;
}

static void check_accepted(const struct blk_req *r, const struct virtq_chain *c,
			   const struct blk_limits *l, const struct virtq_seg *segs)
{
	uint64_t total = 0;
	bool in = r->type == BLK_T_IN || r->type == BLK_T_GET_ID;
	ORACLE(r->ndata <= l->seg_max);
	for (unsigned i = 0; i < r->ndata; i++) {
		ORACLE(segs[i].len > 0 && segs[i].len <= l->size_max);
		ORACLE(in ? inside(c, c->nread, c->nseg, segs[i].addr, segs[i].len)
			  : inside(c, 0, c->nread, segs[i].addr, segs[i].len));
		/* never the status byte */
		ORACLE(!(r->status >= (unsigned char *)segs[i].addr &&
			 r->status < (unsigned char *)segs[i].addr + segs[i].len));
		total += segs[i].len;
	}
	ORACLE(total == r->data_len);
	switch (r->type) {
	case BLK_T_IN:
	case BLK_T_OUT:
		ORACLE(r->data_len % BLK_SECTOR == 0);
		ORACLE(r->sector <= l->capacity && r->data_len / BLK_SECTOR <= l->capacity - r->sector);
		ORACLE(r->type == BLK_T_IN ? c->read_len == 16 && r->data_len == c->write_len - 1
					   : c->write_len == 1 && r->data_len == c->read_len - 16 &&
						     !l->read_only);
		break;
	case BLK_T_GET_ID:
		ORACLE(r->data_len <= BLK_ID_BYTES);
		break;
	case BLK_T_FLUSH:
		break;
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		ORACLE(!l->read_only && r->nrange >= 1 && r->nrange <= BLK_MAX_RANGES);
		ORACLE(r->type == BLK_T_DISCARD ? l->discard : l->write_zeroes);
		ORACLE(c->read_len == 16 + 16 * r->nrange);
		for (unsigned i = 0; i < r->nrange; i++) {
			const struct blk_range *g = &r->range[i];
			ORACLE(g->sector <= l->capacity && g->sectors <= l->capacity - g->sector);
			ORACLE(r->type == BLK_T_DISCARD ? g->flags == 0 : g->flags <= BLK_WZ_F_UNMAP);
		}
		break;
	default:
		ORACLE(false && "accepted an unknown type");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;
	unsigned flags = (unsigned)get(data, size, &at, 1);
	struct blk_limits l = { .read_only = flags & 1, .discard = flags & 2,
				.write_zeroes = flags & 4 };
	l.seg_max = 1 + (uint32_t)get(data, size, &at, 1) % 16;
	l.size_max = 512 + (uint32_t)get(data, size, &at, 2);
	l.capacity = get(data, size, &at, 8);
	l.max_discard_sectors = l.max_write_zeroes_sectors = (uint32_t)get(data, size, &at, 4);
	l.max_discard_seg = l.max_write_zeroes_seg = (uint32_t)get(data, size, &at, 1) % 40;

	struct virtq_seg chain_segs[MAX_SEGS], out[MAX_SEGS];
	struct virtq_chain c;
	virtq_chain_init(&c, chain_segs, MAX_SEGS);
	memset(guest, 0xee, sizeof(guest));
	size_t used = 0;
	while (at < size && c.nseg < MAX_SEGS) {
		unsigned kind = (unsigned)get(data, size, &at, 1);
		uint32_t len = (uint32_t)get(data, size, &at, 2) % (SEG_LEN_MAX + 1);
		bool writable = kind & 0x80;
		if (!writable)
			for (uint32_t i = 0; i < len; i++)
				guest[used + i] = (unsigned char)get(data, size, &at, 1);
		if (len && virtq_chain_append(&c, guest + used, len, writable) == 0)
			used += len;
	}
	memcpy(before, guest, sizeof(guest));

	struct blk_req r;
	unsigned st = blk_req_parse(&r, &c, &l, out, MAX_SEGS);
	ORACLE(memcmp(before, guest, sizeof(guest)) == 0);
	if (c.write_len == 0)
		ORACLE(r.status == 0);
	else
		ORACLE(r.status == (unsigned char *)c.segs[c.nseg - 1].addr + c.segs[c.nseg - 1].len - 1);
	if (st != BLK_S_OK) {
		ORACLE((st == BLK_S_IOERR || st == BLK_S_UNSUPP) && r.why);
		return 0;
	}
	/* the header: the first 16 readable bytes, wherever the segments split */
	unsigned char hdr[16];
	struct virtq_cursor cur;
	virtq_chain_reader(&cur, &c);
	ORACLE(r.status && virtq_chain_read(&cur, hdr, 16) == 16);
	ORACLE(r.type == le32(hdr) && r.sector == le64(hdr + 8));
	check_accepted(&r, &c, &l, out);
	return 0;
}

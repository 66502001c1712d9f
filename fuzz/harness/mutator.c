/* SPDX-License-Identifier: MIT */
/*
 * A scenario-level custom mutator for libFuzzer: decode, change one thing a
 * byte mutation would rarely get right, encode. Half the time it leaves the
 * input to libFuzzer's own byte mutations. Switched off at run time with
 * VIRTQ_FUZZ_NO_CUSTOM_MUTATOR=1, to measure whether it helps
 * (scripts/find-known-bugs --no-custom-mutator).
 *
 * Structural changes: insert, delete, duplicate or swap operations; flip a
 * modifier bit (sane <-> raw); set one field, found by walking the scenario
 * with the same visitor as the codecs, to a boundary value of that field
 * (below); a fresh operation gets some of its operands at boundaries.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "scenario.h"
#include "scenario_visit.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/*
 * Boundary values (fuzz/README.md, "Mutator"): each field gets the values at
 * the edges of the rules that read it, computed from the scenario's own
 * header -- queue size, region ends -- rather than one fixed list:
 *   indices, heads, next, ids, deltas   size - 1, size, size + 1, 2 * size,
 *                                       the 65535/65536 wrap;
 *   addresses                           2^64 - k, each region's ends +- 1, 4 GiB;
 *   32-bit lengths and values           0, 16 * n +- 1 for indirect tables,
 *                                       2^31 +- 1 (two of them cross 2^32),
 *                                       UINT32_MAX - k, the vsock header (44)
 *                                       and maximum packet (65536) +- 1;
 *   16-bit lengths, loc offsets         a region's size - k, page sizes +- 1;
 *   event indices, other 16-bit values  0, 65535, 32768, size +- 1.
 */
struct boundary_context {
	uint64_t size;                  /* queue size */
	uint64_t gpa[4], bytes[4];      /* buffer regions as the guest lays them out */
	uint32_t nregions;
};

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* The layout of harness/guest.c, recomputed from the header alone. */
static struct boundary_context context_of(const struct scn_header *h)
{
	struct boundary_context cx = { .size = 1u << ((h->size_log2 + 4u) % 16u) };
	const uint64_t base = harness_memory_base(h);
	const uint64_t avail = align_up(16 * cx.size, 4096);
	const uint64_t used = align_up(avail + 6 + 2 * cx.size, 4096);
	cx.gpa[0] = base + align_up(used + 6 + 8 * cx.size, 65536);
	cx.bytes[0] = 65536;
	cx.nregions = 1 + (h->regions & 3u);
	for (uint32_t i = 1; i < cx.nregions; i++) {
		cx.gpa[i] = cx.gpa[i - 1] + cx.bytes[i - 1] + (h->regions & 4u ? 0 : 4096);
		cx.bytes[i] = 4096u * (1u + h->region_kib % 16u);
	}
	return cx;
}

static uint64_t pick_index(const struct boundary_context *cx, uint64_t r)
{
	const uint64_t v[] = { 0, 1, cx->size - 1, cx->size, cx->size + 1, 2 * cx->size - 1,
			       2 * cx->size, 65535, 65536 - cx->size, 32767, 32768 };
	return v[r % (sizeof(v) / sizeof(v[0]))];
}

static uint64_t pick_addr(const struct boundary_context *cx, uint64_t r)
{
	static const uint64_t top[] = { 1, 2, 4, 8, 16, 44, 4096, 65536 };
	const uint32_t region = (uint32_t)((r >> 8) % cx->nregions);
	const uint64_t start = cx->gpa[region], end = start + cx->bytes[region];
	switch (r % 8) {
	case 0:
		return UINT64_MAX - top[(r >> 16) % 8] + 1; /* 2^64 - k */
	case 1:
		return end - 1 - ((r >> 16) % 4) * 15; /* the last bytes of a region */
	case 2:
		return end + ((r >> 16) % 2); /* just past it: a hole or the next region */
	case 3:
		return start - 1 - ((r >> 16) % 2);
	case 4:
		return UINT64_C(1) << 32 | ((r >> 16) % 2 ? 0 : UINT64_MAX >> 32);
	case 5:
		return end - 16 * (1 + (r >> 16) % 4); /* a table's worth before the end */
	default:
		return start + ((r >> 16) % 3);
	}
}

static uint64_t pick_len32(const struct boundary_context *cx, uint64_t r)
{
	const uint64_t v[] = { 0, 1, 15, 16, 17, 16 * cx->size - 1, 16 * cx->size,
			       16 * cx->size + 1, 16 * cx->size + 16, 43, 44, 45, 65535, 65536,
			       65537, 0x7fffffffu, 0x80000000u, 0x80000001u, 0xfffff000u,
			       0xffffffffu - 44, 0xffffffffu - 43, 0xfffffffeu, 0xffffffffu,
			       cx->bytes[0], cx->bytes[0] + 1 };
	return v[r % (sizeof(v) / sizeof(v[0]))];
}

static uint64_t pick_len16(const struct boundary_context *cx, uint64_t r)
{
	const uint32_t region = (uint32_t)((r >> 8) % cx->nregions);
	const uint64_t v[] = { 0, 1, 15, 16, 17, 43, 44, 45, 4095, 4096, 4097,
			       cx->bytes[region] - 1, cx->bytes[region], 65535 };
	return v[r % (sizeof(v) / sizeof(v[0]))];
}

/* A loc's offset: right at its region's end, or its start. */
static uint64_t pick_offset(const struct boundary_context *cx, uint64_t r)
{
	static const uint64_t back[] = { 1, 2, 4, 8, 16, 44, 45 };
	const uint64_t bytes = cx->bytes[(r >> 8) % cx->nregions];
	return r % 4 == 0 ? r % 3 : bytes - back[(r >> 16) % 7];
}

static uint64_t pick_u16(const struct boundary_context *cx, uint64_t r)
{
	const uint64_t v[] = { 0, 1, 65535, 65534, 32768, 32767, cx->size - 1, cx->size, cx->size + 1 };
	return v[r % (sizeof(v) / sizeof(v[0]))];
}

static uint64_t pick_u8(uint64_t r)
{
	static const uint64_t v[] = { 0, 1, 2, 3, 7, 8, 15, 16, 17, 127, 128, 254, 255 };
	return v[r % (sizeof(v) / sizeof(v[0]))];
}

static bool named(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(name, *names))
			return true;
	return false;
}

/* The boundary value for one field, by its name and width. */
static uint64_t boundary(const struct boundary_context *cx, const char *name, unsigned bytes,
			 bool loc_offset, uint64_t r)
{
	static const char *const indices[] = { "idx", "head", "next", "id", "delta", "nth",
					       "start_back", NULL };
	if (loc_offset)
		return pick_offset(cx, r);
	if (bytes == 8)
		return pick_addr(cx, r);
	if (named(name, indices))
		return pick_index(cx, r);
	if (bytes == 4)
		return pick_len32(cx, r);
	if (bytes == 2)
		return !strcmp(name, "len") ? pick_len16(cx, r) : pick_u16(cx, r);
	return pick_u8(r);
}

/* A codec that counts fields and overwrites the chosen one. */
struct field_setter {
	struct scn_codec base;
	uint32_t index, target;
	const struct boundary_context *cx;
	uint64_t random;
};

static void set_value(struct field_setter *s, const char *name, uint64_t *v, unsigned bytes,
		      bool loc_offset)
{
	if (s->index++ != s->target)
		return;
	const uint64_t b = boundary(s->cx, name, bytes, loc_offset, s->random);
	*v = bytes == 8 ? b : b & ((UINT64_C(1) << (8 * bytes)) - 1);
}

static void set_num(struct scn_codec *c, const char *name, uint64_t *v, unsigned bytes)
{
	set_value((struct field_setter *)c, name, v, bytes, false);
}

/* A loc is a region (u8) and an offset (u16, the region-end values). */
static void set_loc(struct scn_codec *c, const char *name, struct scn_loc *l)
{
	uint64_t region = l->region, offset = l->offset;
	set_value((struct field_setter *)c, name, &region, 1, false);
	set_value((struct field_setter *)c, name, &offset, 2, true);
	l->region = (uint8_t)region;
	l->offset = (uint16_t)offset;
}

static void set_buf(struct scn_codec *c, const char *name, struct scn_buf *b)
{
	uint64_t len = b->len;
	set_loc(c, name, &b->loc);
	set_value((struct field_setter *)c, "len", &len, 2, false);
	b->len = (uint16_t)len;
}

/* Sets one field of one operation (or of the header, op < 0) to a boundary. */
static void set_field(struct scenario *s, int op, uint64_t *rng)
{
	const struct boundary_context cx = context_of(&s->hdr);
	struct field_setter count = { .base = { set_num, set_loc, set_buf, true },
				      .target = UINT32_MAX, .cx = &cx };
	struct scn_header hdr = s->hdr;
	struct scn_op one = op < 0 ? (struct scn_op){ 0 } : s->ops[op];
	if (op < 0)
		scenario_visit_header(&count.base, &hdr);
	else
		scenario_visit_op(&count.base, &one);
	if (count.index == 0)
		return;
	struct field_setter set = { .base = { set_num, set_loc, set_buf, true },
				    .target = (uint32_t)(next_random(rng) % count.index),
				    .cx = &cx, .random = next_random(rng) };
	if (op < 0)
		scenario_visit_header(&set.base, &s->hdr);
	else
		scenario_visit_op(&set.base, &s->ops[op]);
}

static void structural(struct scenario *s, uint64_t *rng)
{
	const uint32_t n = s->nops;
	const uint32_t at = n ? (uint32_t)(next_random(rng) % n) : 0;
	switch (next_random(rng) % 6) {
	case 0: /* insert a fresh operation, some operands at boundaries */
		if (n < SCN_MAX_OPS) {
			memmove(&s->ops[at + 1], &s->ops[at], (n - at) * sizeof(s->ops[0]));
			memset(&s->ops[at], 0, sizeof(s->ops[0]));
			s->ops[at].code_byte = (uint8_t)next_random(rng);
			s->nops++;
			for (uint64_t k = next_random(rng) % 4; k > 0; k--)
				set_field(s, (int)at, rng);
		}
		break;
	case 1: /* delete one */
		if (n) {
			memmove(&s->ops[at], &s->ops[at + 1], (n - at - 1) * sizeof(s->ops[0]));
			s->nops--;
		}
		break;
	case 2: /* duplicate one */
		if (n && n < SCN_MAX_OPS) {
			memmove(&s->ops[at + 1], &s->ops[at], (n - at) * sizeof(s->ops[0]));
			s->nops++;
		}
		break;
	case 3: /* swap two */
		if (n > 1) {
			uint32_t other = (uint32_t)(next_random(rng) % n);
			struct scn_op tmp = s->ops[at];
			s->ops[at] = s->ops[other];
			s->ops[other] = tmp;
		}
		break;
	case 4: /* flip a modifier bit: sane <-> raw, direct <-> indirect, ... */
		if (n)
			s->ops[at].code_byte ^= (uint8_t)(0x20u << (next_random(rng) % 3));
		break;
	default: /* one field to a boundary value; the header now and then */
		set_field(s, n && next_random(rng) % 8 ? (int)at : -1, rng);
		break;
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static struct scenario s;
	static uint8_t out[SCN_MAX_BYTES];
	static int disabled = -1;
	uint64_t rng = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 1;
	if (disabled < 0)
		disabled = getenv("VIRTQ_FUZZ_NO_CUSTOM_MUTATOR") != NULL;
	if (LLVMFuzzerMutate && (disabled || next_random(&rng) % 2))
		return LLVMFuzzerMutate(data, size, max_size);
	scenario_decode(&s, data, size);
	structural(&s, &rng);
	scenario_sync_format(&s); /* a header mutation may have changed the format */
	size_t n = scenario_encode(&s, out, sizeof(out));
	if (n == 0 || n > max_size)
		return LLVMFuzzerMutate ? LLVMFuzzerMutate(data, size, max_size) : size;
	memcpy(data, out, n);
	return n;
}

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
 * with the same visitor as the codecs, to a boundary value.
 */
#include <stdlib.h>
#include <string.h>

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

/* Values at the edges of what the library checks. */
static const uint64_t boundaries[] = {
	0, 1, 2, 15, 16, 17, 43, 44, 45, 255, 256, 4095, 4096, 32767, 32768, 65535, 65536,
	0x7fffffffu, 0x80000000u, 0xffffffd4u, 0xfffffff0u, 0xffffffffu,
	UINT64_MAX - 15, UINT64_MAX,
};

/* A codec that counts fields and overwrites the chosen one. */
struct field_setter {
	struct scn_codec base;
	uint32_t index, target;
	uint64_t value;
};

static void set_num(struct scn_codec *c, const char *name, uint64_t *v, unsigned bytes)
{
	struct field_setter *s = (struct field_setter *)c;
	(void)name;
	if (s->index++ == s->target)
		*v = bytes == 8 ? s->value : s->value & ((UINT64_C(1) << (8 * bytes)) - 1);
}

/* Sets one field of one operation (or of the header, op < 0) to a boundary. */
static void set_field(struct scenario *s, int op, uint64_t *rng)
{
	struct field_setter count = { .base = { set_num, scn_loc_as_nums, scn_buf_as_nums, true }, .target = UINT32_MAX };
	struct scenario copy = *s;
	if (op < 0)
		scenario_visit_header(&count.base, &copy.hdr);
	else
		scenario_visit_op(&count.base, &copy.ops[op]);
	if (count.index == 0)
		return;
	struct field_setter set = { .base = { set_num, scn_loc_as_nums, scn_buf_as_nums, true },
				    .target = (uint32_t)(next_random(rng) % count.index),
				    .value = boundaries[next_random(rng) % (sizeof(boundaries) / sizeof(boundaries[0]))] };
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
	case 0: /* insert a fresh operation */
		if (n < SCN_MAX_OPS) {
			memmove(&s->ops[at + 1], &s->ops[at], (n - at) * sizeof(s->ops[0]));
			memset(&s->ops[at], 0, sizeof(s->ops[0]));
			s->ops[at].code_byte = (uint8_t)next_random(rng);
			s->nops++;
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
	size_t n = scenario_encode(&s, out, sizeof(out));
	if (n == 0 || n > max_size)
		return LLVMFuzzerMutate ? LLVMFuzzerMutate(data, size, max_size) : size;
	memcpy(data, out, n);
	return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * Queue state in scenarios: save_restore moves the queue through the byte
 * encoding into a fresh struct virtq, which then replaces it; the model goes
 * on unchanged, so every later operation checks that restore(save(q))
 * behaves like q. start_back uses the same path to begin near 65535.
 */
#include <string.h>

#include <virtq/state.h>

#include "harness.h"

static void encode_exact(const struct virtq_state *s, uint8_t out[VIRTQ_STATE_V1_SIZE])
{
	FUZZ_SAME(virtq_state_encode(s, out, VIRTQ_STATE_V1_SIZE), VIRTQ_STATE_V1_SIZE,
		  "state_encode");
}

/* A corrupted encoding: rejected with a documented code, or a state that
 * encodes back to exactly those bytes. The queue itself is left alone. */
static void corrupt_and_decode(uint8_t bytes[VIRTQ_STATE_V1_SIZE], uint8_t where, uint8_t bit)
{
	struct virtq_state s;
	uint8_t again[VIRTQ_STATE_V1_SIZE];
	bytes[where % VIRTQ_STATE_V1_SIZE] ^= (uint8_t)(1u << (bit % 8));
	int r = virtq_state_decode(&s, bytes, VIRTQ_STATE_V1_SIZE);
	harness_check_error_text(r);
	FUZZ_CHECK(r == 0 || r == -VIRTQ_EFORMAT || r == -VIRTQ_EVERSION || r == -VIRTQ_EBADSTATE,
		   "state_decode returned %d", r);
	if (r == 0) {
		encode_exact(&s, again);
		FUZZ_CHECK(!memcmp(again, bytes, sizeof(again)), "decoded state encodes differently");
	}
}

/* The model's restore: the library trusts the state but not the rings. */
static int expect_restore(const struct harness *h)
{
	const struct model *md = &h->model;
	if (md->active && model_read16(md, md->used + 2) != md->published)
		return -VIRTQ_EBADSTATE; /* the guest scribbled on used.idx */
	return 0;
}

static void restore_into_fresh_queue(struct harness *h, const struct virtq_state *s)
{
	struct virtq fresh;
	struct virtq_state again;
	uint8_t before[VIRTQ_STATE_V1_SIZE], after[VIRTQ_STATE_V1_SIZE];
	FUZZ_SAME(virtq_init(&fresh, &h->guest->mem, VIRTQ_MAX_SIZE), 0, "init fresh queue");
	int want = expect_restore(h);
	FUZZ_SAME(virtq_restore(&fresh, &h->guest->mem, s), want, "restore");
	if (want) {
		model_reset(&h->model); /* a rejected restore leaves the queue reset, */
		h->model.at_max_size = true; /* which puts the size back to the maximum */
	} else {
		FUZZ_SAME(virtq_save(&fresh, &again), 0, "save restored");
		encode_exact(s, before);
		encode_exact(&again, after);
		FUZZ_CHECK(!memcmp(before, after, sizeof(before)), "save(restore(s)) != s");
		h->model.shadow_avail = h->model.next_avail; /* restore re-reads avail.idx */
	}
	h->q = fresh;
}

void harness_save_restore(struct harness *h, const struct scn_op *op)
{
	struct virtq_state s, decoded;
	uint8_t bytes[VIRTQ_STATE_V1_SIZE];
	FUZZ_SAME(virtq_save(&h->q, &s), 0, "save");
	encode_exact(&s, bytes);
	if (scn_mods(op) & SCN_MOD_C) {
		corrupt_and_decode(bytes, op->slot, op->cap);
		return;
	}
	FUZZ_SAME(virtq_state_decode(&decoded, bytes, sizeof(bytes)), 0, "state_decode");
	uint8_t again[VIRTQ_STATE_V1_SIZE];
	encode_exact(&decoded, again);
	FUZZ_CHECK(!memcmp(again, bytes, sizeof(bytes)), "decode(encode(s)) != s");
	restore_into_fresh_queue(h, &decoded);
}

/* Moves every index of a fresh, active queue to 65536 - back. */
void harness_start_back(struct harness *h, uint8_t back)
{
	struct virtq_state s;
	struct model *md = &h->model;
	const uint16_t start = (uint16_t)(65536u - back);
	if (!back || !md->active)
		return;
	FUZZ_SAME(virtq_save(&h->q, &s), 0, "save");
	s.next_avail = s.next_used = s.published_used = start;
	/* The driver side: its indices, and used.idx as the device last wrote it. */
	struct virtq_mock *g = h->guest;
	const uint8_t le[2] = { (uint8_t)start, (uint8_t)(start >> 8) };
	FUZZ_SAME(virtq_mock_write(g, md->used + 2, le, 2), 0, "write used.idx");
	FUZZ_SAME(virtq_mock_set_avail_idx(g, start), 0, "write avail.idx");
	g->last_used = g->kicked_idx = start;
	md->next_avail = md->shadow_avail = md->next_used = md->published = start;
	FUZZ_SAME(virtq_restore(&h->q, &g->mem, &s), 0, "restore at start_back");
}

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

/* Encodes s into out (VIRTQ_STATE_MAX_BYTES): version 1 exactly when
 * nothing is held. Returns the length. */
static size_t encode_exact(const struct virtq_state *s, uint8_t *out)
{
	const uint32_t held = s->in_flight + (uint16_t)(s->next_used - s->published_used);
	const size_t len = held ? VIRTQ_STATE_V2_FIXED_SIZE + 2u * held : VIRTQ_STATE_V1_SIZE;
	FUZZ_SAME(virtq_state_encoded_size(s), len, "state_encoded_size");
	FUZZ_SAME(virtq_state_encode(s, out, VIRTQ_STATE_MAX_BYTES), len, "state_encode");
	return len;
}

/* A corrupted encoding: rejected with a documented code, or a state that
 * encodes back to exactly those bytes. The queue itself is left alone. */
static void corrupt_and_decode(uint8_t *bytes, size_t len, uint8_t where, uint8_t bit)
{
	static struct virtq_state s;
	static uint8_t again[VIRTQ_STATE_MAX_BYTES];
	bytes[where % len] ^= (uint8_t)(1u << (bit % 8));
	int r = virtq_state_decode(&s, bytes, len);
	harness_check_error_text(r);
	FUZZ_CHECK(r == 0 || r == -VIRTQ_EFORMAT || r == -VIRTQ_EVERSION || r == -VIRTQ_EBADSTATE,
		   "state_decode returned %d", r);
	if (r == 0)
		FUZZ_CHECK(encode_exact(&s, again) == len && !memcmp(again, bytes, len),
			   "decoded state encodes differently");
}

/* The model's restore: the library trusts the state but not the rings. */
static int expect_restore(const struct harness *h)
{
	const struct model *md = &h->model;
	int r;
	if (md->active && md->iommu && (r = model_rings_check(md)))
		return r; /* the rings translated afresh, with today's mappings */
	if (md->active && model_read16(md, md->used + 2) != md->published)
		return -VIRTQ_EBADSTATE; /* the guest scribbled on used.idx */
	return 0;
}

static void restore_into_fresh_queue(struct harness *h, const struct virtq_state *s)
{
	struct virtq fresh;
	static struct virtq_state again;
	static uint8_t before[VIRTQ_STATE_MAX_BYTES], after[VIRTQ_STATE_MAX_BYTES];
	FUZZ_SAME(virtq_init(&fresh, &h->guest->mem, VIRTQ_MAX_SIZE), 0, "init fresh queue");
	/* The device's area moves with it (the old queue is dropped). */
	FUZZ_SAME(virtq_set_inflight(&fresh, h->guest->inflight, h->guest->inflight_bytes), 0,
		  "attach the in-flight area");
	if (h->iommu_on)
		FUZZ_SAME(virtq_set_iommu(&fresh, &h->iommu.iommu), 0, "attach the IOMMU");
	int want = expect_restore(h);
	FUZZ_SAME(virtq_restore(&fresh, &h->guest->mem, s), want, "restore");
	if (want) {
		model_reset(&h->model); /* a rejected restore leaves the queue reset, */
		h->model.at_max_size = true; /* which puts the size back to the maximum */
	} else {
		FUZZ_SAME(virtq_save(&fresh, &again), 0, "save restored");
		const size_t n = encode_exact(s, before);
		FUZZ_CHECK(encode_exact(&again, after) == n && !memcmp(before, after, n),
			   "save(restore(s)) != s");
		h->model.shadow_avail = h->model.next_avail; /* restore re-reads avail.idx */
	}
	h->q = fresh;
}

/*
 * SAVE_RESTORE+B: the queue moves on as after chains were popped, completed
 * and published one at a time with no notification decision in between,
 * up to 65535 publishes since the last decision (all a state can say) --
 * through a saved state with every index moved, so it costs one restore
 * and crosses the 16-bit index wrap. Only on an active, drained queue with
 * nothing posted (else the ring slots would move under the chains) whose
 * rings translate. The
 * publishes that follow cross the 16-bit notification window for real.
 */
static void advance(struct harness *h)
{
	uint16_t delta = 65535;
	static struct virtq_state s;
	struct model *md = &h->model;
	struct virtq_mock *g = h->guest;
	if (!md->active || md->broken || model_in_flight(md) || md->next_used != md->published ||
	    g->avail_idx != md->next_avail)
		return;
	/* the restore translates the rings afresh: not after an IOMMU unmap
	 * took them away (that restore's refusal is save_restore's to check) */
	if (md->iommu && model_rings_check(md))
		return;
	if (md->signalled_valid && md->published_since_signal + delta > 65535)
		delta = (uint16_t)(65535 - md->published_since_signal);
	FUZZ_SAME(virtq_save(&h->q, &s), 0, "save before advancing");
	const uint16_t to = (uint16_t)(s.next_avail + delta);
	s.next_avail = s.next_used = s.published_used = to;
	const uint8_t le[2] = { (uint8_t)to, (uint8_t)(to >> 8) };
	FUZZ_SAME(virtq_mock_write(g, md->used + 2, le, 2), 0, "write used.idx");
	FUZZ_SAME(virtq_mock_set_avail_idx(g, to), 0, "write avail.idx");
	g->last_used = g->kicked_idx = to;
	md->next_avail = md->shadow_avail = md->next_used = md->published = to;
	md->published_since_signal += delta;
	FUZZ_SAME(virtq_restore(&h->q, &g->mem, &s), 0, "restore after advancing");
}

void harness_save_restore(struct harness *h, const struct scn_op *op)
{
	static struct virtq_state s, decoded;
	static uint8_t bytes[VIRTQ_STATE_MAX_BYTES], again[VIRTQ_STATE_MAX_BYTES];
	if (scn_mods(op) & SCN_MOD_B) {
		advance(h);
		return;
	}
	if (scn_mods(op) & SCN_MOD_A) { /* used.idx is the device's: restore must notice */
		const uint8_t le[2] = { (uint8_t)op->idx, (uint8_t)(op->idx >> 8) };
		virtq_mock_write(h->guest, h->model.used + 2, le, 2);
	}
	FUZZ_SAME(virtq_save(&h->q, &s), 0, "save");
	const size_t len = encode_exact(&s, bytes);
	if (scn_mods(op) & SCN_MOD_C) {
		corrupt_and_decode(bytes, len, op->slot, op->cap);
		return;
	}
	FUZZ_SAME(virtq_state_decode(&decoded, bytes, len), 0, "state_decode");
	FUZZ_CHECK(encode_exact(&decoded, again) == len && !memcmp(again, bytes, len),
		   "decode(encode(s)) != s");
	restore_into_fresh_queue(h, &decoded);
}

/* Moves every index of a fresh, active queue to 65536 - back. */
void harness_start_back(struct harness *h, uint8_t back)
{
	static struct virtq_state s;
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

/* SPDX-License-Identifier: MIT */
/*
 * Queue lifecycle in scenarios: discarding a chain, the back-end restarting
 * on its in-flight area (reconnect), and resubmitting what was in flight.
 *
 * A reconnect is checked twice: against the model, which reads the area by
 * its documented layout and predicts virtq_resume() (also for an area the
 * scenario corrupted), and, when the area is intact, against what the model
 * knew before the restart: the chains in flight afterwards are exactly the
 * ones that were in flight (and the completions whose used.idx never became
 * visible), in their pop order -- nothing lost, nothing completed twice.
 */
#include <string.h>

#include "harness.h"

void harness_forget_stale_area(struct harness *h)
{
	if (!h->model.active)
		memset(h->guest->inflight, 0, VIRTQ_INFLIGHT_BYTES(h->model.size));
}

/* What virtq_in_flight_list() must say of the model's queue. */
static int expected_list(const struct model *md, uint16_t *heads)
{
	if (md->broken && !md->rings_stale) /* a query: stale rings do not matter */
		return -VIRTQ_EBROKEN;
	if (!md->active)
		return -VIRTQ_ENOTREADY;
	return (int)model_in_flight_list(md, heads);
}

/* The library's list is the model's; returns its length (0 if unusable). */
static uint32_t check_in_flight_list(struct harness *h, uint16_t *want)
{
	static uint16_t got[VIRTQ_MAX_SIZE];
	const int n = expected_list(&h->model, want);
	FUZZ_SAME(virtq_in_flight_list(&h->q, got, VIRTQ_MAX_SIZE), n, "in_flight_list");
	for (int i = 0; i < n; i++)
		FUZZ_SAME(got[i], want[i], "in-flight head in pop order");
	if (n > 0)
		FUZZ_SAME(virtq_in_flight_list(&h->q, got, (uint32_t)n - 1), -VIRTQ_ENOSPC,
			  "in_flight_list, one entry short");
	return n > 0 ? (uint32_t)n : 0;
}

static void discard(struct harness *h)
{
	static struct model_chain want;
	struct virtq_chain c;
	virtq_chain_init(&c, NULL, 0);
	c.nseg = 7; /* must come back 0 */
	harness_toctou_model_begin(h);
	const int expect = model_discard(&h->model, &want); /* the model first, as for pop */
	harness_toctou_model_end(h);
	harness_toctou_library_begin(h);
	const int got = virtq_discard(&h->q, &c);
	harness_toctou_library_end(h);
	FUZZ_SAME(got, expect, "discard");
	FUZZ_SAME(c.nseg, 0, "discard keeps no segments");
	harness_check_chain_info(h, &c, &want, got);
	if (got != 1)
		return;
	harness_check_used_elem(h, want.id, 0);
	harness_check_avail_event(h);
}

/* The back-end died inside publish: used.idx is written, the first
 * `cleared & 127` heads of its batch list (the newest completions) are
 * settled, and with bit 7 the next one half (flag cleared, mark not). */
static void die_publishing(struct harness *h, uint8_t cleared)
{
	const struct model *md = &h->model;
	const uint16_t n = (uint16_t)(md->next_used - md->published);
	const uint8_t le[2] = { (uint8_t)md->next_used, (uint8_t)(md->next_used >> 8) };
	unsigned char *area = h->guest->inflight;
	const uint32_t settled = (cleared & 127u) % (n + 1u);
	FUZZ_SAME(virtq_mock_write(h->guest, md->used + 2, le, 2), 0, "used.idx of the dead");
	for (uint32_t k = 0; k < settled; k++) {
		unsigned char *e = area + 16 + 16 * md->unpublished[n - 1 - k];
		e[0] = e[1] = 0;
	}
	if ((cleared & 128u) && settled < n)
		area[16 + 16 * md->unpublished[n - 1 - settled]] = 0;
}

/* Before the restart: the chains the next instance must see in flight. */
static uint32_t survivors(const struct model *md, bool torn, uint16_t *heads)
{
	static struct model copy;
	copy = *md;
	for (uint32_t i = 0; i < copy.size; i++)
		if (copy.head[i] == MODEL_USED)
			copy.head[i] = torn ? MODEL_FREE : MODEL_IN_FLIGHT;
	return model_in_flight_list(&copy, heads);
}

static void reconnect(struct harness *h, const struct scn_op *op)
{
	static uint16_t before[VIRTQ_MAX_SIZE], after[VIRTQ_MAX_SIZE];
	struct model *md = &h->model;
	const unsigned mods = scn_mods(op);
	const bool torn = (mods & SCN_MOD_B) && md->active && !md->broken;
	const bool corrupt = (mods & SCN_MOD_C) && op->nread != 0;
	const uint32_t nbefore = md->active ? survivors(md, torn, before) : 0;
	uint16_t base = md->next_avail;
	if (torn)
		die_publishing(h, op->fill);
	if (mods & SCN_MOD_A)
		base = model_read16(md, md->used + 2); /* the front-end rewound */
	if (corrupt) {
		unsigned char *area = h->guest->inflight;
		area[op->len32 % VIRTQ_INFLIGHT_BYTES(md->size)] ^= op->nread;
	}
	/* The survivors are predictable from the model alone if the used.idx
	 * the new instance reads is the device's (the guest may scribble). */
	const uint16_t device_used = torn ? md->next_used : md->published;
	const bool predictable = md->active && !corrupt &&
				 model_read16(md, md->used + 2) == device_used;
	/* The model reads the area before the library recovers it. */
	const int want = model_resume(md, h->guest->inflight, base);
	const int got = virtq_mock_resume(h->guest, &h->q, base);
	FUZZ_SAME(got, want, "resume");
	for (unsigned i = 0; i < SCN_SLOTS; i++)
		h->slots[i].valid = false; /* the chains died with the process */
	md->at_max_size = false;       /* configured again */
	if (got) { /* the VMM gives up on the old state: a device reset */
		model_reset(md);
		harness_check_writes(h);
		harness_reactivate(h);
		virtq_mock_snapshot(h->guest);
		return;
	}
	const uint32_t n = check_in_flight_list(h, after);
	if (predictable) {
		FUZZ_SAME(n, nbefore, "chains in flight across the restart");
		for (uint32_t i = 0; i < n; i++)
			FUZZ_SAME(after[i], before[i], "chain in flight across the restart");
	}
	FUZZ_SAME(model_read16(md, md->used), 0, "used flags after resume");
	if (md->event_idx)
		FUZZ_SAME(model_read16(md, model_avail_event_gpa(md)), md->next_avail,
			  "avail_event after resume");
}

static void resubmit(struct harness *h, const struct scn_op *op)
{
	static uint16_t heads[VIRTQ_MAX_SIZE];
	struct harness_slot *sl = &h->slots[op->slot % SCN_SLOTS];
	const uint32_t n = check_in_flight_list(h, heads);
	const uint16_t head = n ? heads[op->entry % n] : op->entry; /* else not in flight */
	const uint32_t cap = op->cap ? op->cap : HARNESS_MAX_SEGS;
	virtq_chain_init(&sl->chain, sl->segs, cap);
	harness_toctou_model_begin(h);
	const int want = model_resubmit(&h->model, head, &sl->want, cap);
	harness_toctou_model_end(h);
	harness_toctou_library_begin(h);
	const int got = virtq_resubmit(&h->q, head, &sl->chain);
	harness_toctou_library_end(h);
	FUZZ_SAME(got, want, "resubmit");
	harness_check_chain_info(h, &sl->chain, &sl->want, got);
	sl->valid = got == 1;
	if (sl->valid)
		harness_slot_filled(h, sl);
}

void harness_lifecycle_op(struct harness *h, const struct scn_op *op)
{
	switch (scn_opcode(op)) {
	case SCN_DISCARD:
		discard(h);
		break;
	case SCN_RECONNECT:
		reconnect(h, op);
		break;
	case SCN_RESUBMIT:
		resubmit(h, op);
		break;
	default:
		break;
	}
}

/* SPDX-License-Identifier: MIT */
/* Device operations: each runs on the library and on the model; results,
 * chains and ring writes must agree. */
#include <string.h>

#include "harness.h"

static struct harness_slot *slot_of(struct harness *h, const struct scn_op *op)
{
	return &h->slots[op->slot % SCN_SLOTS];
}

/* The library's chain, mapped back to guest addresses, is the model's. */
void harness_check_chain(struct harness *h, const struct harness_slot *sl)
{
	const struct virtq_chain *c = &sl->chain;
	const struct model_chain *w = &sl->want;
	FUZZ_SAME(c->id, w->id, "chain id");
	FUZZ_SAME(c->nseg, w->nseg, "segments");
	FUZZ_SAME(c->nread, w->nread, "readable segments");
	FUZZ_SAME(c->read_len, w->read_len, "readable bytes");
	FUZZ_SAME(c->write_len, w->write_len, "writable bytes");
	for (uint32_t i = 0; i < c->nseg; i++) {
		uint64_t gpa = 0;
		FUZZ_CHECK(virtq_mock_gpa_of(h->guest, c->segs[i].addr, &gpa),
			   "segment %u is outside guest memory", i);
		FUZZ_CHECK(gpa == w->segs[i].gpa && c->segs[i].len == w->segs[i].len,
			   "segment %u: library gpa 0x%llx len %zu, model gpa 0x%llx len %u", i,
			   (unsigned long long)gpa, c->segs[i].len,
			   (unsigned long long)w->segs[i].gpa, w->segs[i].len);
		/* the last byte is in guest memory too: the segment fits its region */
		FUZZ_CHECK(virtq_mock_gpa_of(h->guest, (char *)c->segs[i].addr + c->segs[i].len - 1,
					     NULL),
			   "segment %u ends outside guest memory", i);
	}
}

/* Both chains, before an oracle aborts on them: what a crash report needs. */
static void dump_chains(struct harness *h, const struct harness_slot *sl, int got, int want)
{
	fprintf(stderr, "pop: library %d%s, model %d%s\n", got, harness_code_name(got), want,
		harness_code_name(want));
	for (uint32_t i = 0; i < sl->chain.nseg; i++) {
		uint64_t gpa = UINT64_MAX;
		virtq_mock_gpa_of(h->guest, sl->chain.segs[i].addr, &gpa);
		fprintf(stderr, "  library seg %u: gpa 0x%llx len %zu\n", i, (unsigned long long)gpa,
			sl->chain.segs[i].len);
	}
	for (uint32_t i = 0; i < sl->want.nseg; i++)
		fprintf(stderr, "  model   seg %u: gpa 0x%llx len %u%s\n", i,
			(unsigned long long)sl->want.segs[i].gpa, sl->want.segs[i].len,
			sl->want.segs[i].writable ? " writable" : "");
}

/* What pop, discard and resubmit report besides their chain: the work done,
 * and for -VIRTQ_ENOSPC which chain and how many segments it needs. */
void harness_check_chain_info(struct harness *h, const struct virtq_chain *c,
			      const struct model_chain *want, int got)
{
	FUZZ_SAME(c->ndesc, want->ndesc, "descriptors read");
	FUZZ_CHECK(c->ndesc <= 2 * h->model.size, "%u descriptors read, size %u", c->ndesc,
		   h->model.size);
	if (got == 1 || got == -VIRTQ_ENOSPC) {
		FUZZ_SAME(c->id, want->id, "chain id");
		FUZZ_SAME(c->needed, want->needed, "segments needed");
	}
}

/* A slot got a chain: its writable buffers may be written, cursors start. */
void harness_slot_filled(struct harness *h, struct harness_slot *sl)
{
	harness_check_chain(h, sl);
	harness_check_segment_access(h, sl);
	for (uint32_t i = sl->want.nread; i < sl->want.nseg; i++)
		virtq_mock_allow_write(h->guest, sl->want.segs[i].gpa, sl->want.segs[i].len);
	harness_restart_cursors(h, sl);
}

/* avail_event follows next_avail while notifications are wanted (EVENT_IDX). */
void harness_check_avail_event(struct harness *h)
{
	if (h->model.event_idx && h->model.notify_enabled)
		FUZZ_SAME(model_read16(&h->model, model_avail_event_gpa(&h->model)),
			  h->model.next_avail, "avail_event after pop");
}

static void count_pop(int got)
{
	harness_stats.pops++;
	harness_stats.chains += got == 1;
	harness_stats.pop_errors += got < 0 && got != -VIRTQ_EBROKEN && got != -VIRTQ_ENOTREADY;
	harness_stats.pop_unusable += got == -VIRTQ_EBROKEN || got == -VIRTQ_ENOTREADY;
	if (got < 0 && -got < VIRTQ_ERROR_COUNT)
		harness_stats.pop_error_codes[-got]++;
}

static void pop(struct harness *h, const struct scn_op *op)
{
	struct harness_slot *sl = slot_of(h, op);
	const uint32_t cap = op->cap ? op->cap : HARNESS_MAX_SEGS;
	virtq_chain_init(&sl->chain, sl->segs, cap);
	/* The model first: pop reads the rings, then writes avail_event, which a
	 * guest may have placed over its own descriptors; the model must read
	 * what the library read. */
	harness_toctou_model_begin(h);
	int want = model_pop(&h->model, &sl->want, cap);
	harness_toctou_model_end(h);
	harness_toctou_library_begin(h);
	int got = virtq_pop(&h->q, &sl->chain);
	harness_toctou_library_end(h);
	if (got == 1) /* on its own first: a report names the access, not the difference */
		harness_check_segment_access(h, sl);
	if (got != want)
		dump_chains(h, sl, got, want);
	FUZZ_SAME(got, want, "pop");
	harness_check_chain_info(h, &sl->chain, &sl->want, got);
	sl->valid = got == 1;
	count_pop(got);
	if (!sl->valid)
		return;
	harness_slot_filled(h, sl);
	harness_check_avail_event(h);
}

/*
 * POP with C: virtq_pop_many into the slots from op->slot to the last, one
 * slot only while pops write avail_event (EVENT_IDX, notifications on): the
 * model runs first and cannot see what the library's earlier pops of the
 * same call wrote over descriptors the later ones read.
 */
static void pop_many(struct harness *h, const struct scn_op *op)
{
	struct virtq_chain chains[SCN_SLOTS];
	const uint32_t first = op->slot % SCN_SLOTS, cap = op->cap ? op->cap : HARNESS_MAX_SEGS;
	uint32_t k = SCN_SLOTS - first, n = 0;
	int want = 0;
	if (h->model.event_idx && h->model.notify_enabled)
		k = 1;
	for (uint32_t i = 0; i < k; i++)
		virtq_chain_init(&chains[i], h->slots[first + i].segs, cap);
	while (n < k && (want = model_pop(&h->model, &h->slots[first + n].want, cap)) == 1)
		n++;
	/* the error is the result when it comes first or broke the queue */
	if (!(want < 0 && (n == 0 || h->model.broken)))
		want = (int)n;
	int got = virtq_pop_many(&h->q, chains, k);
	FUZZ_SAME(got, want, "pop_many");
	count_pop(got);
	for (uint32_t i = 0; i < k && i <= n; i++) {
		struct harness_slot *sl = &h->slots[first + i];
		sl->chain = chains[i];
		sl->valid = got > 0 && i < n;
		if (i < n || got < 0)
			harness_check_chain_info(h, &sl->chain, &sl->want, i < n ? 1 : got);
		if (sl->valid)
			harness_slot_filled(h, sl);
	}
	if (got > 0)
		harness_check_avail_event(h);
}

void harness_check_used_elem(struct harness *h, uint16_t id, uint32_t len)
{
	unsigned char e[8];
	const struct model *md = &h->model;
	uint64_t gpa = md->used + 4 + 8ull * ((uint16_t)(md->next_used - 1) % md->size);
	FUZZ_CHECK(model_read(md, gpa, e, 8), "used element outside memory");
	uint32_t got_id = harness_le32(e), got_len = harness_le32(e + 4);
	FUZZ_CHECK(got_id == id && got_len == len, "used element {%u, %u}, want {%u, %u}", got_id,
		   got_len, id, len);
}

static void check_used_idx(struct harness *h)
{
	FUZZ_SAME(model_read16(&h->model, h->model.used + 2), h->model.published, "used.idx");
}

static void add_used(struct harness *h, const struct scn_op *op)
{
	struct harness_slot *sl = slot_of(h, op);
	uint16_t id = scn_mods(op) & SCN_MOD_A ? op->idx : sl->valid ? sl->chain.id : 0;
	uint32_t len = scn_mods(op) & SCN_MOD_B ? (uint32_t)virtq_chain_offset(&sl->writer) : op->len32;
	uint16_t published = h->model.published;
	int got = virtq_add_used(&h->q, id, len);
	FUZZ_SAME(got, model_add_used(&h->model, id), "add_used");
	if (got)
		return;
	harness_check_used_elem(h, id, len);
	if (published != h->model.published)
		check_used_idx(h);
}

/* ADD_USED with C: the fused completion of one chain. */
static void complete(struct harness *h, const struct scn_op *op)
{
	struct harness_slot *sl = slot_of(h, op);
	uint16_t id = scn_mods(op) & SCN_MOD_A ? op->idx : sl->valid ? sl->chain.id : 0;
	uint32_t len = scn_mods(op) & SCN_MOD_B ? (uint32_t)virtq_chain_offset(&sl->writer) : op->len32;
	int want = model_add_used(&h->model, id);
	if (!want) {
		model_publish(&h->model);
		want = model_needs_notify(&h->model);
	}
	int got = virtq_complete(&h->q, id, len);
	FUZZ_SAME(got, want, "complete");
	if (got < 0)
		return;
	harness_check_used_elem(h, id, len);
	check_used_idx(h);
}

/* PUBLISH with C: every valid slot's chain completed in one call, each with
 * the bytes its writer wrote; with A not published (add_used_many). */
static void complete_many(struct harness *h, const struct scn_op *op)
{
	struct virtq_used_elem elems[SCN_SLOTS];
	uint16_t ids[SCN_SLOTS];
	const bool publish = !(scn_mods(op) & SCN_MOD_A);
	const uint16_t published = h->model.published;
	uint32_t n = 0;
	for (uint32_t i = 0; i < SCN_SLOTS; i++) {
		const struct harness_slot *sl = &h->slots[i];
		if (!sl->valid)
			continue;
		ids[n] = sl->chain.id;
		elems[n++] = (struct virtq_used_elem){ sl->chain.id,
						       (uint32_t)virtq_chain_offset(&sl->writer) };
	}
	int want = model_add_used_many(&h->model, ids, n);
	if (!want && publish) {
		model_publish(&h->model);
		want = model_needs_notify(&h->model);
	}
	int got = publish ? virtq_complete_many(&h->q, elems, n) : virtq_add_used_many(&h->q, elems, n);
	FUZZ_SAME(got, want, publish ? "complete_many" : "add_used_many");
	if (got < 0)
		return;
	const struct model *md = &h->model;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char e[8];
		uint64_t gpa = md->used + 4 + 8ull * ((uint16_t)(md->next_used - n + i) % md->size);
		FUZZ_CHECK(model_read(md, gpa, e, 8), "used element outside memory");
		FUZZ_CHECK(harness_le32(e) == elems[i].id && harness_le32(e + 4) == elems[i].len,
			   "used element %u of the batch: {%u, %u}, want {%u, %u}", i,
			   harness_le32(e), harness_le32(e + 4), elems[i].id, elems[i].len);
	}
	if (published != h->model.published)
		check_used_idx(h);
}

static void notify_ops(struct harness *h, enum scn_opcode code)
{
	const struct model *md = &h->model;
	int got;
	switch (code) {
	case SCN_PUBLISH:
		got = virtq_publish_used(&h->q);
		FUZZ_SAME(got, model_publish(&h->model), "publish");
		if (got > 0) /* with nothing to publish, used.idx is not written: the guest
			      * may have scribbled over it, as over any ring field */
			check_used_idx(h);
		break;
	case SCN_NEEDS_NOTIFY:
		FUZZ_SAME(virtq_needs_notify(&h->q), model_needs_notify(&h->model), "needs_notify");
		break;
	case SCN_ENABLE_NOTIFY:
		got = virtq_enable_notify(&h->q);
		FUZZ_SAME(got, model_enable_notify(&h->model), "enable_notify");
		if (got >= 0 && md->event_idx)
			FUZZ_SAME(model_read16(md, model_avail_event_gpa(md)), md->shadow_avail,
				  "avail_event after enable_notify");
		else if (got >= 0)
			FUZZ_SAME(model_read16(md, md->used), 0, "used flags after enable_notify");
		break;
	case SCN_DISABLE_NOTIFY:
		got = virtq_disable_notify(&h->q);
		FUZZ_SAME(got, model_disable_notify(&h->model), "disable_notify");
		if (got >= 0 && !md->event_idx)
			FUZZ_SAME(model_read16(md, md->used), VIRTQ_USED_F_NO_NOTIFY,
				  "used flags after disable_notify");
		break;
	default:
		break;
	}
}

void harness_reactivate(struct harness *h)
{
	virtq_reset(&h->q);
	virtq_mock_reset_driver(h->guest);
	virtq_mock_alloc_reset(h->guest);
	model_reset(&h->model);
	h->model.at_max_size = false; /* attach sets the size again */
	harness_activate(h);
	harness_forget_stale_area(h);
	for (unsigned i = 0; i < SCN_SLOTS; i++)
		h->slots[i].valid = false;
}

void harness_device_op(struct harness *h, const struct scn_op *op)
{
	switch (scn_opcode(op)) {
	case SCN_POP:
		if (scn_mods(op) & SCN_MOD_C)
			pop_many(h, op);
		else
			pop(h, op);
		break;
	case SCN_UNPOP:
		FUZZ_SAME(virtq_unpop(&h->q), model_unpop(&h->model), "unpop");
		break;
	case SCN_ADD_USED:
		if (scn_mods(op) & SCN_MOD_C)
			complete(h, op);
		else
			add_used(h, op);
		break;
	case SCN_PUBLISH:
		if (scn_mods(op) & SCN_MOD_C)
			complete_many(h, op);
		else
			notify_ops(h, SCN_PUBLISH);
		break;
	case SCN_NEEDS_NOTIFY:
	case SCN_ENABLE_NOTIFY:
	case SCN_DISABLE_NOTIFY:
		notify_ops(h, scn_opcode(op));
		break;
	case SCN_SAVE_RESTORE:
		harness_save_restore(h, op);
		break;
	case SCN_RESET:
		if (scn_mods(op) & SCN_MOD_A)
			harness_misuse(h);
		harness_check_writes(h); /* the driver reset forgets the allowed ranges */
		harness_reactivate(h);
		virtq_mock_snapshot(h->guest);
		break;
	case SCN_DISCARD:
	case SCN_RECONNECT:
	case SCN_RESUBMIT:
		harness_lifecycle_op(h, op);
		break;
	default:
		break;
	}
}

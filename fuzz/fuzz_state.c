/* SPDX-License-Identifier: MIT */
/*
 * fuzz_state: arbitrary bytes as a saved queue state (a file or a migration
 * stream), versions 1 to 3 (split and packed queues). Decode and restore
 * answer exactly what the independent predicates of harness/accept_state.c
 * say (written from state.h, not from the code):
 * accepted when they must be, refused with the documented code otherwise. An
 * accepted encoding re-encodes to exactly the same bytes (into one byte less
 * it is refused, nothing written); a rejected restore leaves the queue reset;
 * an accepted one saves back to the same state and pops only chains inside
 * guest memory. virtq_state_check() of an accepted state with one packed
 * field changed (no decode yields most of those) agrees with the predicate.
 *
 * The restoring queue's own limits come from feature bits 60-63, which virtq
 * ignores (state.h: restore applies the queue's max size, not s->max_size):
 * bits 62-63 give the queue's max size (1: s->size, 2: half of it, else the
 * largest), bits 60-61 the heads its in-flight area holds (1: s->size, 2:
 * half of it, else the largest), so both bounds are met exactly and missed
 * by one power of two.
 */
#include <stddef.h>
#include <string.h>

#include <virtq/state.h>

#include "harness/accept.h"
#include "harness/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtq_mock *guest(void)
{
	static struct virtq_mock m;
	static bool ready;
	if (!ready) {
		struct virtq_mock_config cfg;
		virtq_mock_config_default(&cfg);
		cfg.nregions = 2; /* 1 MiB at 0 and 64 KiB after a hole: rings fit, or not */
		cfg.regions[1] = (struct virtq_mock_region){ .gpa = 2u << 20, .size = 64u << 10 };
		FUZZ_CHECK(virtq_mock_init(&m, &cfg) == 0, "mock guest");
		ready = true;
	}
	return &m;
}

static bool is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The restored queue holds exactly the state's chains: those in flight, in
 * their order; the completed, unpublished ones cannot be completed again. */
static void check_in_flight(struct virtq *q, const struct virtq_state *s)
{
	static uint16_t heads[VIRTQ_MAX_SIZE];
	if (!s->active || s->broken)
		return;
	FUZZ_CHECK(virtq_in_flight_list(q, heads, VIRTQ_MAX_SIZE) == (int)s->in_flight,
		   "restored chains in flight: not as many as the state's");
	const uint32_t held = s->in_flight + (uint16_t)(s->next_used - s->published_used);
	for (uint32_t i = 0, k = 0; i < held; i++) {
		const uint16_t head = s->heads[i] & (uint16_t)~VIRTQ_STATE_HEAD_USED;
		if (s->heads[i] & VIRTQ_STATE_HEAD_USED)
			FUZZ_CHECK(virtq_add_used(q, head, 0) == -VIRTQ_EINVAL,
				   "an unpublished completion was completed again");
		else
			FUZZ_CHECK(heads[k++] == head, "restored chains in flight in another order");
	}
}

/* A restored queue pops only what lies in guest memory, with documented codes. */
static void drive(struct virtq_mock *m, struct virtq *q)
{
	static struct virtq_seg segs[256];
	struct virtq_chain c;
	virtq_chain_init(&c, segs, 256);
	for (int i = 0; i < 4; i++) {
		int r = virtq_pop(q, &c);
		harness_check_error_text(r);
		FUZZ_CHECK(c.ndesc <= 2 * virtq_size(q), "pop read %u descriptors", c.ndesc);
		for (uint32_t s = 0; s < c.nseg; s++)
			FUZZ_CHECK(virtq_mock_gpa_of(m, segs[s].addr, NULL) &&
					   virtq_mock_gpa_of(m, (char *)segs[s].addr + segs[s].len - 1, NULL),
				   "segment outside guest memory");
		if (r != 1)
			break;
		harness_check_error_text(virtq_add_used(q, c.id, 0));
	}
	harness_check_error_text(virtq_publish_used(q));
	harness_check_error_text(virtq_needs_notify(q));
	harness_check_error_text(virtq_enable_notify(q));
}

/* The library's decoding is the table's, field for field. */
static void expect_same_state(const struct virtq_state *got, const struct virtq_state *want)
{
#define SAME_FIELD(f)                                                                  \
	FUZZ_CHECK(got->f == want->f, "decoded " #f " 0x%llx, state.h's table 0x%llx",     \
		   (unsigned long long)got->f, (unsigned long long)want->f)
	SAME_FIELD(max_size);
	SAME_FIELD(size);
	SAME_FIELD(features);
	SAME_FIELD(desc_gpa);
	SAME_FIELD(avail_gpa);
	SAME_FIELD(used_gpa);
	SAME_FIELD(active);
	SAME_FIELD(broken);
	SAME_FIELD(next_avail);
	SAME_FIELD(next_used);
	SAME_FIELD(published_used);
	SAME_FIELD(in_flight);
	SAME_FIELD(signalled_used);
	SAME_FIELD(signalled_valid);
	SAME_FIELD(notify_enabled);
	SAME_FIELD(unpop_depth);
	SAME_FIELD(avail_pos);
	SAME_FIELD(avail_wrap);
	SAME_FIELD(used_pos);
	SAME_FIELD(used_wrap);
	SAME_FIELD(signal_slots);
	const uint32_t held = want->in_flight + (uint16_t)(want->next_used - want->published_used);
	for (uint32_t i = 0; i < held; i++)
		SAME_FIELD(heads[i]);
#undef SAME_FIELD
}

/* A limit chosen by two feature bits: s->size, half of it, or the largest. */
static uint32_t limit_of(const struct virtq_state *s, unsigned shift)
{
	switch ((s->features >> shift) & 3u) {
	case 1:
		return s->size;
	case 2:
		return s->size > 1 ? s->size / 2 : 1;
	default:
		return VIRTQ_MAX_SIZE;
	}
}

/* The fields of a state, heads[] (meaningful up to the counts) aside. */
#define STATE_FIELDS offsetof(struct virtq_state, heads)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_state s, again, want;
	static uint8_t bytes[VIRTQ_STATE_MAX_BYTES], back[VIRTQ_STATE_MAX_BYTES];
	int r = virtq_state_decode(&s, data, size);
	FUZZ_SAME(r, accept_state_decode(data, size, &want), "state_decode against state.h");
	FUZZ_SAME(virtq_state_check(&s), r ? -VIRTQ_EBADSTATE : 0, "state_check of the decoded");
	if (r) {
		FUZZ_CHECK(is_zero(&s, STATE_FIELDS), "a rejected decode left a state behind");
		FUZZ_SAME(virtq_state_encode(&s, bytes, sizeof(bytes)), -VIRTQ_EBADSTATE,
			  "encode of the state a rejected decode left");
		return 0;
	}
	FUZZ_CHECK(virtq_state_encode(&s, bytes, sizeof(bytes)) == (int)size &&
			   !memcmp(bytes, data, size),
		   "encode(decode(b)) != b");
	/* one byte too few: refused before any byte is written (the fixed part tells) */
	const size_t head = size < 64 ? size : 64;
	memset(back, 0xa5, head);
	FUZZ_SAME(virtq_state_encode(&s, back, size - 1), -VIRTQ_ENOSPC, "encode, too few bytes");
	for (size_t i = 0; i < head; i++)
		FUZZ_CHECK(back[i] == 0xa5, "a refused encode wrote byte %zu", i);

	expect_same_state(&s, &want);

	/* States no decode yields, as a VMM could hand restore one: each packed
	 * field changed in turn (by an amount the last byte gives). Both
	 * predicates agree. */
	static struct virtq_state edited;
	const uint16_t by = (uint16_t)(1u + data[size - 1]);
	for (unsigned field = 0; field < 5; field++) {
		edited = s;
		switch (field) {
		case 0: edited.avail_pos = (uint16_t)(edited.avail_pos + by); break;
		case 1: edited.used_pos = (uint16_t)(edited.used_pos ^ by); break;
		case 2: edited.avail_wrap = !edited.avail_wrap; break;
		case 3: edited.used_wrap = !edited.used_wrap; break;
		default: edited.signal_slots += by; break;
		}
		FUZZ_SAME(virtq_state_check(&edited), accept_state_check(&edited),
			  "state_check of a state with one packed field changed");
	}

	struct virtq_mock *m = guest();
	struct virtq q;
	struct accept_memory mem;
	const struct accept_queue limits = { .initialized = true,
					     .max_size = limit_of(&s, 62),
					     .area_heads = limit_of(&s, 60) };
	virtq_mock_wipe(m);
	harness_accept_memory(&m->mem, &mem);
	FUZZ_CHECK(virtq_init(&q, &m->mem, limits.max_size) == 0, "init");
	FUZZ_CHECK(virtq_set_inflight(&q, m->inflight, VIRTQ_INFLIGHT_BYTES(limits.area_heads)) == 0,
		   "in-flight area");
	/* Make used.idx agree with the state half the time, so restore goes deep. */
	if (s.active && (s.next_avail & 1u)) {
		const uint8_t le[2] = { (uint8_t)s.published_used, (uint8_t)(s.published_used >> 8) };
		virtq_mock_write(m, s.used_gpa + 2, le, 2);
	}
	virtq_mock_snapshot(m);
	r = virtq_restore(&q, &m->mem, &s);
	FUZZ_SAME(r, accept_restore(&mem, &limits, &s), "restore against state.h");
	FUZZ_CHECK(virtq_mock_check_writes(m, NULL) == 0, "restore wrote guest memory");
	if (r) {
		FUZZ_CHECK(!virtq_is_active(&q) && !virtq_is_broken(&q), "rejected restore left state");
		return 0;
	}
	FUZZ_CHECK(virtq_save(&q, &again) == 0, "save");
	again.max_size = s.max_size; /* restore keeps the queue's own maximum */
	FUZZ_CHECK(virtq_state_encode(&again, back, sizeof(back)) == (int)size &&
			   !memcmp(back, data, size),
		   "save(restore(s)) != s");
	check_in_flight(&q, &s);
	drive(m, &q);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Packed queue state (state.h, version 3): a packed queue saved while it
 * holds nothing, encoded, decoded and restored onto a fresh struct virtq
 * carries on exactly as the original. Twins: two mock guests get the same
 * driver operations from the start, so their guest memory is identical;
 * one queue runs on, the other is migrated, and from then on every result
 * (codes, chains, positions, notification decisions, used descriptors the
 * driver reads) and every byte of guest memory must agree. Also: restore's
 * checks on packed states, and save refusing a packed queue that holds
 * chains.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define F(bit) VIRTQ_FEATURE(VIRTQ_F_##bit)


static void done(struct fixture *f)
{
	fixture_stop(f);
	free(f);
}

/* ---- what a run shows: every result, in order ------------------------------ */

#define TRACE_MAX 8192

struct trace {
	int64_t v[TRACE_MAX];
	size_t n;
};

static void rec(struct trace *t, int64_t v)
{
	assert_true(t->n < TRACE_MAX);
	t->v[t->n++] = v;
}

static void rec_chain(struct trace *t, struct fixture *f)
{
	rec(t, f->c.id);
	rec(t, f->c.nseg);
	rec(t, f->c.nread);
	rec(t, f->c.ndesc);
	for (uint32_t i = 0; i < f->c.nseg; i++) {
		uint64_t gpa = 0;
		assert_true(virtq_mock_gpa_of(&f->m, f->c.segs[i].addr, &gpa));
		rec(t, (int64_t)gpa);
		rec(t, (int64_t)f->c.segs[i].len);
	}
}

static void rec_positions(struct trace *t, struct fixture *f)
{
	rec(t, virtq_next_avail(&f->q));
	rec(t, virtq_next_used(&f->q));
	rec(t, virtq_in_flight(&f->q));
	uint16_t off_wrap = 0, flags = 0;
	assert_err(virtq_mock_packed_device_event(&f->m, &off_wrap, &flags), 0);
	rec(t, off_wrap);
	rec(t, flags);
}

/*
 * One round of driver and device work, the same for every round number on
 * any queue: 1..3 chains (fewer on queues below 8) of 1 or 2 descriptors (some indirect), popped (one
 * of them unpopped and popped again), completed out of order with lengths
 * that name the round, published in one or two batches, a notification
 * decision under a driver event structure that changes per round (DESC
 * offsets near the ring's end, ENABLE, DISABLE), notifications enabled and
 * disabled, the driver reading back every used descriptor. `decide` false
 * leaves the last publish without a decision (signal_slots stays set).
 */
static void run_round(struct fixture *f, struct trace *t, unsigned round, bool decide)
{
	uint16_t ids[3];
	const uint32_t size = virtq_size(&f->q);
	const unsigned n = 1 + round % (size >= 8 ? 3 : size / 2); /* <= 2 slots each */
	for (unsigned i = 0; i < n; i++)
		fixture_post(f, 8u * (i + 1), (round + i) % 2 ? 16 : 0,
			     (round % 4 == 3 && i == 0) ? VIRTQ_MOCK_INDIRECT : 0);
	for (unsigned i = 0; i < n; i++) {
		int r = virtq_pop(&f->q, &f->c);
		rec(t, r);
		assert_int_equal(r, 1);
		if (round % 5 == 2 && i == 0) { /* take it back, pop it again */
			rec(t, virtq_unpop(&f->q));
			rec(t, virtq_pop(&f->q, &f->c));
		}
		rec_chain(t, f);
		ids[i] = (uint16_t)f->c.id;
		if (f->c.nseg > f->c.nread)
			memset(f->c.segs[f->c.nseg - 1].addr, 'a' + (int)(round % 26), 1);
	}
	rec(t, virtq_pop(&f->q, &f->c)); /* empty */
	rec(t, virtq_unpop(&f->q));	 /* the last popped, still in flight */
	rec(t, virtq_pop(&f->q, &f->c));
	rec_positions(t, f);
	for (unsigned j = 0; j < n; j++) {
		const uint16_t id = ids[round % 2 ? n - 1 - j : j];
		rec(t, virtq_add_used(&f->q, id, round * 16 + j));
		if (j == 0 && n > 1 && round % 3 == 0)
			rec(t, virtq_publish_used(&f->q)); /* a batch of one first */
	}
	rec(t, virtq_unpop(&f->q)); /* everything completed: refused */
	rec(t, virtq_publish_used(&f->q));
	rec_positions(t, f);
	const uint16_t off = (uint16_t)((round * 5u) % size);
	const bool wrap = (round / 2) % 2;
	const uint16_t flags = round % 7 == 5   ? VIRTQ_RING_EVENT_FLAGS_DISABLE
			       : round % 7 == 6 ? VIRTQ_RING_EVENT_FLAGS_ENABLE
						: VIRTQ_RING_EVENT_FLAGS_DESC;
	assert_err(virtq_mock_packed_set_driver_event(
			   &f->m, (uint16_t)(off | (wrap ? VIRTQ_RING_EVENT_WRAP : 0u)), flags),
		   0);
	if (decide)
		rec(t, virtq_needs_notify(&f->q));
	rec(t, round % 4 == 1 ? virtq_disable_notify(&f->q) : virtq_enable_notify(&f->q));
	uint32_t id = 0, len = 0;
	int r;
	while ((r = virtq_mock_get_used(&f->m, &id, &len)) == 1) {
		rec(t, id);
		rec(t, len);
	}
	rec(t, r);
	rec_positions(t, f);
}

static void expect_same_trace(const struct trace *a, const struct trace *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] != b->v[i])
			fail_msg("result %zu: original %lld, restored %lld", i, (long long)a->v[i],
				 (long long)b->v[i]);
}

/* Every byte of the twins' guest memory (one region in the fixture). */
static void expect_same_memory(struct fixture *a, struct fixture *b)
{
	const size_t len = (size_t)a->m.cfg.regions[0].size;
	unsigned char *x = malloc(len), *y = malloc(len);
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(a->m.cfg.nregions, 1);
	assert_err(virtq_mock_read(&a->m, a->m.cfg.regions[0].gpa, x, len), 0);
	assert_err(virtq_mock_read(&b->m, b->m.cfg.regions[0].gpa, y, len), 0);
	for (size_t i = 0; i < len; i++)
		if (x[i] != y[i])
			fail_msg("guest memory byte 0x%zx: original 0x%02x, restored 0x%02x", i,
				 x[i], y[i]);
	free(x);
	free(y);
}

static void expect_same_save(struct fixture *a, struct fixture *b)
{
	static struct virtq_state sa, sb;
	static unsigned char ea[VIRTQ_STATE_MAX_BYTES], eb[VIRTQ_STATE_MAX_BYTES];
	assert_err(virtq_save(&a->q, &sa), 0);
	assert_err(virtq_save(&b->q, &sb), 0);
	const int na = virtq_state_encode(&sa, ea, sizeof(ea));
	assert_err(virtq_state_encode(&sb, eb, sizeof(eb)), na);
	assert_memory_equal(ea, eb, (size_t)na);
}

/* Saves b, through the encoding, and restores it onto a fresh struct virtq
 * (configured as a VMM would, not activated); guest memory untouched. */
static void migrate(struct fixture *b)
{
	static struct virtq_state s, d;
	static unsigned char bytes[VIRTQ_STATE_MAX_BYTES];
	const size_t len = (size_t)b->m.cfg.regions[0].size;
	unsigned char *before = malloc(len), *after = malloc(len);
	assert_non_null(before);
	assert_non_null(after);
	assert_err(virtq_save(&b->q, &s), 0);
	assert_err(virtq_state_encode(&s, bytes, sizeof(bytes)), VIRTQ_STATE_V3_FIXED_SIZE);
	assert_int_equal(bytes[4], 3); /* version 3 */
	assert_err(virtq_state_decode(&d, bytes, VIRTQ_STATE_V3_FIXED_SIZE), 0);
	assert_err(virtq_mock_read(&b->m, b->m.cfg.regions[0].gpa, before, len), 0);
	memset(&b->q, 0x5a, sizeof(b->q));
	assert_err(virtq_mock_configure(&b->m, &b->q), 0);
	assert_err(virtq_restore(&b->q, &b->m.mem, &d), 0);
	assert_err(virtq_mock_read(&b->m, b->m.cfg.regions[0].gpa, after, len), 0);
	assert_memory_equal(before, after, len);
	free(before);
	free(after);
}

struct continuation {
	const char *name;
	uint32_t size;
	uint64_t features;
	unsigned prefix, rounds; /* rounds before the save, after it */
	bool decide_before_save; /* else signal_slots is set at the save */
	bool disabled_at_save;   /* notifications disabled when saved */
};

static const struct continuation continuations[] = {
	{ "continue_event_idx", 8, F(EVENT_IDX), 7, 24, false, false },
	{ "continue_event_idx_decided", 8, F(EVENT_IDX), 6, 24, true, false },
	{ "continue_event_idx_disabled", 16, F(EVENT_IDX), 9, 24, false, true },
	{ "continue_flags_only", 8, 0, 5, 24, false, false },
	{ "continue_size_2", 2, F(EVENT_IDX), 3, 16, false, false },
	{ "continue_fresh", 4, F(EVENT_IDX), 0, 16, false, false },
};

static void test_restore_continues(void **state)
{
	const struct continuation *c = *state;
	struct fixture *a = fixture_new_packed(c->size, c->features | F(INDIRECT_DESC));
	struct fixture *b = fixture_new_packed(c->size, c->features | F(INDIRECT_DESC));
	struct trace *ta = calloc(1, sizeof(*ta)), *tb = calloc(1, sizeof(*tb));
	assert_non_null(ta);
	assert_non_null(tb);
	for (unsigned r = 0; r < c->prefix; r++) {
		const bool decide = r + 1 < c->prefix || c->decide_before_save;
		run_round(a, ta, r, decide);
		run_round(b, tb, r, decide);
	}
	if (c->disabled_at_save) {
		assert_err(virtq_disable_notify(&a->q), 0);
		assert_err(virtq_disable_notify(&b->q), 0);
	}
	expect_same_trace(ta, tb);
	migrate(b);
	rec_positions(ta, a);
	rec_positions(tb, b);
	for (unsigned r = c->prefix; r < c->prefix + c->rounds; r++) {
		run_round(a, ta, r, true);
		run_round(b, tb, r, true);
	}
	expect_same_trace(ta, tb);
	expect_same_memory(a, b);
	expect_same_save(a, b);
	uint64_t bad = 0;
	if (virtq_mock_check_writes(&b->m, &bad))
		fail_msg("restored queue wrote outside allowed bytes at 0x%llx",
			 (unsigned long long)bad);
	free(ta);
	free(tb);
	done(a);
	done(b);
}

/* ---- save refuses what it cannot carry --------------------------------------- */

static void test_save_refuses_chains_held(void **state)
{
	(void)state;
	static struct virtq_state s, untouched;
	struct fixture *f = fixture_new_packed(8, F(EVENT_IDX));
	int a = fixture_post(f, 8, 0, 0), b = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	memset(&s, 0x33, sizeof(s));
	untouched = s;
	assert_err(virtq_save(&f->q, &s), -VIRTQ_ENOTSUP);
	assert_err(virtq_add_used(&f->q, (uint16_t)b, 1), 0); /* out of order */
	assert_err(virtq_save(&f->q, &s), -VIRTQ_ENOTSUP);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_save(&f->q, &s), -VIRTQ_ENOTSUP); /* a still in flight */
	assert_err(virtq_add_used(&f->q, (uint16_t)a, 1), 0);
	assert_err(virtq_save(&f->q, &s), -VIRTQ_ENOTSUP); /* a unpublished */
	assert_memory_equal(&s, &untouched, sizeof(s));
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_save(&f->q, &s), 0);
	assert_int_equal(s.avail_pos, 3);
	assert_int_equal(s.used_pos, 3);
	assert_true(s.avail_wrap && s.used_wrap);
	assert_int_equal(s.signal_slots, 3); /* published, no decision yet */
	assert_int_equal(virtq_state_encoded_size(&s), VIRTQ_STATE_V3_FIXED_SIZE);
	done(f);
}

/* The front-end can write the in-flight area: slot counts scribbled there
 * leave ring slots held, or the wrap counters apart, with no chain held (the
 * queue then waits: test_packed: test_scribbled_slot_count). Such a queue
 * is not one a state reproduces: save refuses it. */
static void test_save_refuses_scribbled_slots(void **state)
{
	(void)state;
	static struct virtq_state s;
	struct fixture *f = fixture_new_packed(4, 0);
	int a = fixture_post(f, 8, 8, 0), b = fixture_post(f, 8, 8, 0); /* 2 slots each */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	const uint16_t six = 6, minus_two = 0xfffe; /* 6 + (2^16 - 2) == 2 + 2 mod 2^16 */
	memcpy((unsigned char *)f->m.inflight + 16 + 16 * a + 2, &six, sizeof(six));
	assert_err(virtq_add_used(&f->q, (uint16_t)a, 0), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)b, 0), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_save(&f->q, &s), -VIRTQ_ENOTSUP); /* 4 - 6 slots held */
	done(f);
	f = fixture_new_packed(4, 0);
	a = fixture_post(f, 8, 8, 0), b = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	memcpy((unsigned char *)f->m.inflight + 16 + 16 * a + 2, &six, sizeof(six));
	memcpy((unsigned char *)f->m.inflight + 16 + 16 * b + 2, &minus_two, sizeof(minus_two));
	assert_err(virtq_add_used(&f->q, (uint16_t)a, 0), 0);
	assert_err(virtq_add_used(&f->q, (uint16_t)b, 0), 0);
	assert_err(virtq_publish_used(&f->q), 2);
	/* no slot held, the same position, but the used wrap counter flipped
	 * twice where the avail one flipped once */
	assert_int_equal(virtq_next_avail(&f->q), 0);
	assert_int_equal(virtq_next_used(&f->q), VIRTQ_RING_EVENT_WRAP);
	assert_err(virtq_save(&f->q, &s), -VIRTQ_ENOTSUP);
	done(f);
}

/* A broken packed queue holding nothing saves and restores broken. */
static void test_broken_restores_broken(void **state)
{
	(void)state;
	static struct virtq_state s;
	struct fixture *f = fixture_new_packed(8, 0);
	/* an available descriptor with an id outside the queue: EBADIDX */
	assert_err(virtq_mock_packed_set_desc(&f->m, 0, 0x10000, 8, 9,
					      virtq_mock_packed_avail_bits(true)),
		   0);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBADIDX);
	assert_err(virtq_save(&f->q, &s), 0);
	assert_true(s.broken);
	memset(&f->q, 0x5a, sizeof(f->q));
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
	assert_err(virtq_restore(&f->q, &f->m.mem, &s), 0);
	assert_true(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBROKEN);
	done(f);
}

/* ---- restore's checks on packed states -------------------------------------- */

static void expect_refused(struct fixture *f, const struct virtq_state *s, int err)
{
	memset(&f->q, 0x5a, sizeof(f->q));
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
	assert_err(virtq_restore(&f->q, &f->m.mem, s), err);
	assert_false(virtq_is_active(&f->q));
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_ENOTREADY);
}

static void test_restore_rejects_packed(void **state)
{
	(void)state;
	static struct virtq_state good, s;
	struct fixture *f = fixture_new_packed(8, F(EVENT_IDX));
	fixture_post(f, 8, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)f->c.id, 0), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_save(&f->q, &good), 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	s = good;
	s.avail_pos = s.used_pos = 8; /* == size */
	expect_refused(f, &s, -VIRTQ_EBADSTATE);
	s = good;
	s.used_pos = 0; /* apart from avail_pos */
	expect_refused(f, &s, -VIRTQ_EBADSTATE);
	s = good;
	s.used_wrap = !s.used_wrap;
	expect_refused(f, &s, -VIRTQ_EBADSTATE);
	s = good;
	s.signal_slots = 17;
	expect_refused(f, &s, -VIRTQ_EBADSTATE);
	s = good;
	s.next_avail++, s.in_flight = 1, s.heads[0] = 0; /* a chain in flight */
	expect_refused(f, &s, -VIRTQ_EBADSTATE);
	s = good;
	s.desc_gpa += 8; /* the descriptor ring 16-aligned */
	expect_refused(f, &s, -VIRTQ_EINVAL);
	s = good;
	s.avail_gpa += 2; /* the driver event structure 4-aligned */
	expect_refused(f, &s, -VIRTQ_EINVAL);
	s = good;
	s.used_gpa = f->m.cfg.regions[0].size; /* the device event outside memory */
	expect_refused(f, &s, -VIRTQ_EBADADDR);
	s = good;
	s.max_size = s.size = 16; /* the queue's maximum is the fixture's: fine */
	s.avail_pos = s.used_pos = 15;
	memset(&f->q, 0x5a, sizeof(f->q));
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
	assert_err(virtq_restore(&f->q, &f->m.mem, &s), 0);
	assert_int_equal(virtq_next_avail(&f->q), 15 | VIRTQ_RING_EVENT_WRAP);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0); /* nothing written */
	/* the restore limit is the queue's own */
	memset(&f->q, 0x5a, sizeof(f->q));
	assert_err(virtq_init(&f->q, &f->m.mem, 8), 0);
	assert_err(virtq_set_inflight(&f->q, f->m.inflight, f->m.inflight_bytes), 0);
	assert_err(virtq_restore(&f->q, &f->m.mem, &s), -VIRTQ_EINVAL);
	/* an in-flight area for the size */
	memset(&f->q, 0x5a, sizeof(f->q));
	assert_err(virtq_init(&f->q, &f->m.mem, VIRTQ_MAX_SIZE), 0);
	assert_err(virtq_restore(&f->q, &f->m.mem, &good), -VIRTQ_EINVAL);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	done(f);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_save_refuses_chains_held),
		cmocka_unit_test(test_save_refuses_scribbled_slots),
		cmocka_unit_test(test_broken_restores_broken),
		cmocka_unit_test(test_restore_rejects_packed),
	};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
	struct CMUnitTest tests[COUNT(fixed) + COUNT(continuations)];
	size_t n = 0;
	for (size_t i = 0; i < COUNT(fixed); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < COUNT(continuations); i++)
		tests[n++] = (struct CMUnitTest){ .name = continuations[i].name,
						  .test_func = test_restore_continues,
						  .initial_state =
							  (void *)(uintptr_t)&continuations[i] };
	return cmocka_run_group_tests_name("packed queue state", tests, NULL, NULL);
}

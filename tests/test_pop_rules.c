/* SPDX-License-Identifier: MIT */
/*
 * One test per pop rejection rule of docs/rules.md ("Pop"): the mock
 * builds the malicious ring, virtq_pop() must return the exact error, latch
 * the queue broken, write nothing outside the guest's writable buffers, and
 * work again after a reset.
 */
#include <stdlib.h>

#include "fixture.h"

#define SIZE 8u /* fixture_config() queue size */
#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT

struct bad_ring {
	const char *name;
	void (*build)(struct fixture *f); /* writes descriptors; head 0 is made available */
	int err;
	uint64_t features; /* on top of fixture_config() */
	bool two_regions;  /* [0, 1 MiB) and [2 MiB, 3 MiB) with a hole between */
};

static uint64_t buf(struct fixture *f) { return fixture_buf(f, 64, 'b'); }

static void desc(struct fixture *f, uint32_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	assert_err(virtq_mock_set_desc(&f->m, idx, addr, len, flags, next), 0);
}

static void idesc(struct fixture *f, uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
		  uint16_t flags, uint16_t next)
{
	assert_err(virtq_mock_write_desc_at(&f->m, table + 16u * i, addr, len, flags, next), 0);
}

/* avail.idx - next_avail > size */
static void avail_idx_ahead(struct fixture *f) { virtq_mock_set_avail_idx(&f->m, SIZE + 1); }
static void head_out_of_range(struct fixture *f) { virtq_mock_set_avail_entry(&f->m, 0, SIZE); }
static void next_out_of_range(struct fixture *f) { desc(f, 0, buf(f), 64, F_NEXT, SIZE); }
static void direct_self_loop(struct fixture *f) { desc(f, 0, buf(f), 64, F_NEXT, 0); }
static void direct_loop(struct fixture *f)
{
	desc(f, 0, buf(f), 64, F_NEXT, 1);
	desc(f, 1, buf(f), 64, F_NEXT, 0);
}
/* A loop through zero-length descriptors costs no segments: only the bound stops it. */
static void zero_length_loop(struct fixture *f)
{
	desc(f, 0, 0, 0, F_NEXT, 1);
	desc(f, 1, 0, 0, F_NEXT, 0);
}
static void indirect_table(struct fixture *f, uint32_t len, uint16_t flags)
{
	uint64_t t = fixture_buf(f, 16 * (SIZE + 1), 0);
	for (uint32_t i = 0; i < SIZE + 1; i++)
		idesc(f, t, i, buf(f), 64, 0, 0);
	desc(f, 0, t, len, flags, 0);
}
static void indirect_without_feature(struct fixture *f) { indirect_table(f, 32, F_INDIRECT); }
static void indirect_with_next(struct fixture *f)
{
	indirect_table(f, 32, F_INDIRECT | F_NEXT);
	desc(f, 0, f->m.cfg.buf_gpa, 32, F_INDIRECT | F_NEXT, 1);
}
static void indirect_len_zero(struct fixture *f) { indirect_table(f, 0, F_INDIRECT); }
static void indirect_len_unaligned(struct fixture *f) { indirect_table(f, 24, F_INDIRECT); }
static void indirect_longer_than_size(struct fixture *f)
{
	indirect_table(f, 16 * (SIZE + 1), F_INDIRECT);
}
static void indirect_nested(struct fixture *f)
{
	uint64_t t = fixture_buf(f, 32, 0), inner = fixture_buf(f, 16, 0);
	idesc(f, inner, 0, buf(f), 64, 0, 0);
	idesc(f, t, 0, inner, 16, F_INDIRECT, 0);
	desc(f, 0, t, 32, F_INDIRECT, 0);
}
static void indirect_loop(struct fixture *f)
{
	uint64_t t = fixture_buf(f, 32, 0);
	idesc(f, t, 0, buf(f), 64, F_NEXT, 1);
	idesc(f, t, 1, buf(f), 64, F_NEXT, 0);
	desc(f, 0, t, 32, F_INDIRECT, 0);
}
static void indirect_next_outside_table(struct fixture *f)
{
	uint64_t t = fixture_buf(f, 48, 0);
	idesc(f, t, 0, buf(f), 64, F_NEXT, 3); /* table has 3 entries: 0..2 */
	desc(f, 0, t, 48, F_INDIRECT, 0);
}
static void indirect_table_outside_memory(struct fixture *f)
{
	desc(f, 0, f->m.cfg.buf_end - 16, 32, F_INDIRECT, 0);
}
static void indirect_table_wraps(struct fixture *f) { desc(f, 0, UINT64_MAX - 15, 32, F_INDIRECT, 0); }
static void indirect_after_direct_in_table_order(struct fixture *f)
{
	uint64_t t = fixture_buf(f, 32, 0);
	idesc(f, t, 0, buf(f), 64, F_WRITE | F_NEXT, 1);
	idesc(f, t, 1, buf(f), 64, 0, 0); /* readable after writable */
	desc(f, 0, t, 32, F_INDIRECT, 0);
}
static void readable_after_writable(struct fixture *f)
{
	desc(f, 0, buf(f), 64, F_WRITE | F_NEXT, 1);
	desc(f, 1, buf(f), 64, 0, 0);
}
static void readable_after_empty_writable(struct fixture *f)
{
	desc(f, 0, buf(f), 0, F_WRITE | F_NEXT, 1);
	desc(f, 1, buf(f), 64, 0, 0);
}
static void buffer_outside_memory(struct fixture *f) { desc(f, 0, 1u << 20, 16, 0, 0); }
static void buffer_past_region_end(struct fixture *f) { desc(f, 0, (1u << 20) - 8, 16, F_WRITE, 0); }
static void buffer_into_hole(struct fixture *f) { desc(f, 0, (1u << 20) - 8, 16, 0, 0); }
static void buffer_in_hole(struct fixture *f) { desc(f, 0, 3u << 19, 1, 0, 0); }
static void buffer_wraps(struct fixture *f) { desc(f, 0, UINT64_MAX - 7, 16, 0, 0); }
static void second_buffer_bad(struct fixture *f)
{
	desc(f, 0, buf(f), 64, F_NEXT, 1);
	desc(f, 1, UINT64_C(1) << 40, 64, F_WRITE, 0);
}

/* The driver reposts head 0 while the device holds it (inflight.h). */
static void head_in_flight(struct fixture *f)
{
	desc(f, 0, buf(f), 64, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_mock_set_avail_entry(&f->m, 1, 0), 0);
	assert_err(virtq_mock_set_avail_idx(&f->m, 2), 0);
}
/* ... or after the device completed it, before the used entry is published. */
static void head_completed_unpublished(struct fixture *f)
{
	head_in_flight(f);
	assert_err(virtq_add_used(&f->q, 0, 0), 0);
}

static const struct bad_ring cases[] = {
	{ "avail_idx_ahead", avail_idx_ahead, -VIRTQ_EBADIDX, 0, false },
	{ "head_out_of_range", head_out_of_range, -VIRTQ_EBADIDX, 0, false },
	{ "head_in_flight", head_in_flight, -VIRTQ_EBADIDX, 0, false },
	{ "head_completed_unpublished", head_completed_unpublished, -VIRTQ_EBADIDX, 0, false },
	{ "next_out_of_range", next_out_of_range, -VIRTQ_EBADIDX, 0, false },
	{ "direct_self_loop", direct_self_loop, -VIRTQ_ELOOP, 0, false },
	{ "direct_loop", direct_loop, -VIRTQ_ELOOP, 0, false },
	{ "zero_length_loop", zero_length_loop, -VIRTQ_ELOOP, 0, false },
	{ "indirect_without_feature", indirect_without_feature, -VIRTQ_EBADDESC, 0, false },
	{ "indirect_with_next", indirect_with_next, -VIRTQ_EBADDESC, 0, false },
	{ "indirect_len_zero", indirect_len_zero, -VIRTQ_EBADDESC, 0, false },
	{ "indirect_len_unaligned", indirect_len_unaligned, -VIRTQ_EBADDESC, 0, false },
	{ "indirect_longer_than_size", indirect_longer_than_size, -VIRTQ_ELOOP, 0, false },
	{ "indirect_nested", indirect_nested, -VIRTQ_EBADDESC, 0, false },
	{ "indirect_loop", indirect_loop, -VIRTQ_ELOOP, 0, false },
	{ "indirect_next_outside_table", indirect_next_outside_table, -VIRTQ_EBADIDX, 0, false },
	{ "indirect_table_outside_memory", indirect_table_outside_memory, -VIRTQ_EBADADDR, 0, false },
	{ "indirect_table_wraps", indirect_table_wraps, -VIRTQ_EOVERFLOW, 0, false },
	{ "indirect_readable_after_writable", indirect_after_direct_in_table_order, -VIRTQ_EBADDESC, 0, false },
	{ "readable_after_writable", readable_after_writable, -VIRTQ_EBADDESC, 0, false },
	{ "readable_after_empty_writable", readable_after_empty_writable, -VIRTQ_EBADDESC, 0, false },
	{ "buffer_outside_memory", buffer_outside_memory, -VIRTQ_EBADADDR, 0, false },
	{ "buffer_past_region_end", buffer_past_region_end, -VIRTQ_EBADADDR, 0, false },
	{ "buffer_into_hole", buffer_into_hole, -VIRTQ_EBADADDR, 0, true },
	{ "buffer_in_hole", buffer_in_hole, -VIRTQ_EBADADDR, 0, true },
	{ "buffer_wraps", buffer_wraps, -VIRTQ_EOVERFLOW, 0, false },
	{ "second_buffer_bad", second_buffer_bad, -VIRTQ_EBADADDR, 0, false },
};

static int case_setup(void **state)
{
	const struct bad_ring *rule = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	fixture_config(&f->cfg);
	if (rule->build == indirect_without_feature)
		f->cfg.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	f->cfg.features |= rule->features;
	if (rule->two_regions) {
		f->cfg.nregions = 2;
		f->cfg.regions[1] = (struct virtq_mock_region){ .gpa = 2u << 20, .size = 1u << 20 };
	}
	fixture_start(f);
	f->param = rule;
	*state = f;
	return 0;
}

static void test_bad_ring(void **state)
{
	struct fixture *f = *state;
	const struct bad_ring *rule = f->param;
	/* Head 0 is available; the builder may override any of it. */
	assert_err(virtq_mock_set_avail_entry(&f->m, 0, 0), 0);
	assert_err(virtq_mock_set_avail_idx(&f->m, 1), 0);
	rule->build(f);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	fixture_expect_fatal(f, rule->err);
}

/* Loops stop after exactly the bound: size direct descriptors, or the
 * indirect descriptor plus its table's entry count. */
static void test_loop_bounds(void **state)
{
	(void)state;
	const struct { void (*build)(struct fixture *); uint32_t ndesc; } rows[] = {
		{ direct_self_loop, SIZE }, { direct_loop, SIZE }, { zero_length_loop, SIZE },
		{ indirect_loop, 1 + 2 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fixture *f = calloc(1, sizeof(*f));
		fixture_config(&f->cfg);
		fixture_start(f);
		virtq_mock_set_avail_entry(&f->m, 0, 0);
		virtq_mock_set_avail_idx(&f->m, 1);
		rows[i].build(f);
		assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_ELOOP);
		assert_int_equal(f->c.ndesc, rows[i].ndesc);
		fixture_stop(f);
		free(f);
	}
}

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 1];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ .name = cases[i].name,
						  .test_func = test_bad_ring,
						  .setup_func = case_setup,
						  .teardown_func = fixture_teardown,
						  .initial_state = (void *)(uintptr_t)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_loop_bounds);
	return cmocka_run_group_tests_name("pop rejection rules", tests, NULL, NULL);
}

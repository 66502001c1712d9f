/* SPDX-License-Identifier: MIT */
/*
 * One test per packed-ring rejection rule of docs/rules.md ("Packed pop"):
 * the mock builds the malicious packed ring, virtq_pop() must return the
 * exact error, latch the queue broken, write nothing outside the guest's
 * writable buffers (and no descriptor at all), and work again after a reset
 * (fixture_expect_fatal, in packed mode through the mock).
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define SIZE 8u /* fixture_config() queue size */
#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT
#define AV(wrap) virtq_mock_packed_avail_bits(wrap) /* "available" in that lap */

struct bad_ring {
	const char *name;
	void (*build)(struct fixture *f); /* writes the ring: slot 0, wrap 1 is next */
	int err;
	bool no_indirect; /* INDIRECT_DESC not negotiated */
	bool two_regions; /* [0, 1 MiB) and [2 MiB, 3 MiB) with a hole between */
};

static uint64_t buf(struct fixture *f) { return fixture_buf(f, 64, 'b'); }

/* Ring slot desc in the first lap (wrap 1): available unless flags say otherwise. */
static void desc(struct fixture *f, uint32_t slot, uint64_t addr, uint32_t len, uint16_t id,
		 uint16_t flags)
{
	assert_err(virtq_mock_packed_set_desc(&f->m, slot, addr, len, id, (uint16_t)(flags | AV(true))), 0);
}

static void idesc(struct fixture *f, uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
		  uint16_t flags)
{
	assert_err(virtq_mock_packed_write_desc_at(&f->m, table + 16u * i, addr, len, 0, flags), 0);
}

static void id_out_of_range(struct fixture *f) { desc(f, 0, buf(f), 64, SIZE, 0); }
static void id_out_of_range_in_last(struct fixture *f)
{
	desc(f, 1, buf(f), 64, SIZE, 0); /* the last descriptor's id counts */
	desc(f, 0, buf(f), 64, 0, F_NEXT);
}
/* The driver reposts id 0 while the device holds it. */
static void id_in_flight(struct fixture *f)
{
	desc(f, 0, buf(f), 64, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	desc(f, 1, buf(f), 64, 0, 0);
}
/* ... or after the device completed it, before the used descriptor is published. */
static void id_completed_unpublished(struct fixture *f)
{
	id_in_flight(f);
	assert_err(virtq_add_used(&f->q, 0, 0), 0);
}
/* NEXT on every slot: the chain would run past the ring's end into itself. */
static void chain_longer_than_ring(struct fixture *f)
{
	for (uint32_t i = SIZE; i-- > 0;)
		desc(f, i, 0, 0, 0, F_NEXT);
}
/* Slots 0..2 are held by a chain in flight: a chain from slot 3 may take
 * 5 slots at most (3..7); the 6th would be a slot the device holds. */
static void chain_into_device_slots(struct fixture *f)
{
	desc(f, 2, buf(f), 8, 1, 0);
	desc(f, 1, buf(f), 8, 1, F_NEXT);
	desc(f, 0, buf(f), 8, 1, F_NEXT);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	for (uint32_t i = 3; i < SIZE; i++)
		desc(f, i, buf(f), 8, 2, F_NEXT);
	/* slot 0 of the next lap: looks available (wrap 0), but the device holds it */
	assert_err(virtq_mock_packed_set_desc(&f->m, 0, buf(f), 8, 2, AV(false)), 0);
	desc(f, 3, buf(f), 8, 2, F_NEXT);
}
static void indirect_table(struct fixture *f, uint32_t len, uint16_t flags)
{
	uint64_t t = fixture_buf(f, 16 * (SIZE + 1), 0);
	for (uint32_t i = 0; i < SIZE + 1; i++)
		idesc(f, t, i, buf(f), 64, 0);
	desc(f, 0, t, len, 0, flags);
}
static void indirect_without_feature(struct fixture *f) { indirect_table(f, 32, F_INDIRECT); }
static void indirect_with_next(struct fixture *f)
{
	desc(f, 1, buf(f), 64, 0, 0);
	indirect_table(f, 32, F_INDIRECT | F_NEXT);
}
static void indirect_inside_chain(struct fixture *f)
{
	uint64_t t = fixture_buf(f, 16, 0);
	idesc(f, t, 0, buf(f), 64, 0);
	desc(f, 1, t, 16, 0, F_INDIRECT);
	desc(f, 0, buf(f), 64, 0, F_NEXT);
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
	idesc(f, inner, 0, buf(f), 64, 0);
	idesc(f, t, 0, buf(f), 64, 0);
	idesc(f, t, 1, inner, 16, F_INDIRECT);
	desc(f, 0, t, 32, 0, F_INDIRECT);
}
static void indirect_table_outside_memory(struct fixture *f)
{
	desc(f, 0, f->m.cfg.buf_end - 16, 32, 0, F_INDIRECT);
}
static void indirect_table_wraps(struct fixture *f) { desc(f, 0, UINT64_MAX - 15, 32, 0, F_INDIRECT); }
static void indirect_readable_after_writable(struct fixture *f)
{
	uint64_t t = fixture_buf(f, 32, 0);
	idesc(f, t, 0, buf(f), 64, F_WRITE);
	idesc(f, t, 1, buf(f), 64, 0);
	desc(f, 0, t, 32, 0, F_INDIRECT);
}
static void indirect_buffer_outside_memory(struct fixture *f)
{
	uint64_t t = fixture_buf(f, 32, 0);
	idesc(f, t, 0, buf(f), 64, 0);
	idesc(f, t, 1, 1u << 20, 64, F_WRITE);
	desc(f, 0, t, 32, 0, F_INDIRECT);
}
static void readable_after_writable(struct fixture *f)
{
	desc(f, 1, buf(f), 64, 0, 0);
	desc(f, 0, buf(f), 64, 0, F_WRITE | F_NEXT);
}
static void readable_after_empty_writable(struct fixture *f)
{
	desc(f, 1, buf(f), 64, 0, 0);
	desc(f, 0, buf(f), 0, 0, F_WRITE | F_NEXT);
}
static void buffer_outside_memory(struct fixture *f) { desc(f, 0, 1u << 20, 16, 0, 0); }
static void buffer_past_region_end(struct fixture *f) { desc(f, 0, (1u << 20) - 8, 16, 0, F_WRITE); }
static void buffer_into_hole(struct fixture *f) { desc(f, 0, (1u << 20) - 8, 16, 0, 0); }
static void buffer_in_hole(struct fixture *f) { desc(f, 0, 3u << 19, 1, 0, 0); }
static void buffer_wraps(struct fixture *f) { desc(f, 0, UINT64_MAX - 7, 16, 0, 0); }
static void second_buffer_bad(struct fixture *f)
{
	desc(f, 1, UINT64_C(1) << 40, 64, 0, F_WRITE);
	desc(f, 0, buf(f), 64, 0, F_NEXT);
}
/* A chain across the ring's end whose second part is bad: the walk follows
 * the ring into the next lap. */
static void bad_buffer_after_ring_end(struct fixture *f)
{
	for (uint32_t i = 0; i < SIZE - 1; i++) { /* move the device to slot 7 */
		desc(f, i, buf(f), 8, (uint16_t)i, 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_err(virtq_complete(&f->q, (uint16_t)i, 0), 1);
	}
	/* slot 0 of the next lap (wrap 0), then slot 7, the chain's first */
	assert_err(virtq_mock_packed_set_desc(&f->m, 0, 1u << 20, 64, 7, AV(false) | F_WRITE), 0);
	desc(f, SIZE - 1, buf(f), 64, 7, F_NEXT);
}

static const struct bad_ring cases[] = {
	{ "id_out_of_range", id_out_of_range, -VIRTQ_EBADIDX, false, false },
	{ "id_out_of_range_in_last", id_out_of_range_in_last, -VIRTQ_EBADIDX, false, false },
	{ "id_in_flight", id_in_flight, -VIRTQ_EBADIDX, false, false },
	{ "id_completed_unpublished", id_completed_unpublished, -VIRTQ_EBADIDX, false, false },
	{ "chain_longer_than_ring", chain_longer_than_ring, -VIRTQ_ELOOP, false, false },
	{ "chain_into_device_slots", chain_into_device_slots, -VIRTQ_ELOOP, false, false },
	{ "indirect_without_feature", indirect_without_feature, -VIRTQ_EBADDESC, true, false },
	{ "indirect_with_next", indirect_with_next, -VIRTQ_EBADDESC, false, false },
	{ "indirect_inside_chain", indirect_inside_chain, -VIRTQ_EBADDESC, false, false },
	{ "indirect_len_zero", indirect_len_zero, -VIRTQ_EBADDESC, false, false },
	{ "indirect_len_unaligned", indirect_len_unaligned, -VIRTQ_EBADDESC, false, false },
	{ "indirect_longer_than_size", indirect_longer_than_size, -VIRTQ_ELOOP, false, false },
	{ "indirect_nested", indirect_nested, -VIRTQ_EBADDESC, false, false },
	{ "indirect_table_outside_memory", indirect_table_outside_memory, -VIRTQ_EBADADDR, false, false },
	{ "indirect_table_wraps", indirect_table_wraps, -VIRTQ_EOVERFLOW, false, false },
	{ "indirect_readable_after_writable", indirect_readable_after_writable, -VIRTQ_EBADDESC, false, false },
	{ "indirect_buffer_outside_memory", indirect_buffer_outside_memory, -VIRTQ_EBADADDR, false, false },
	{ "readable_after_writable", readable_after_writable, -VIRTQ_EBADDESC, false, false },
	{ "readable_after_empty_writable", readable_after_empty_writable, -VIRTQ_EBADDESC, false, false },
	{ "buffer_outside_memory", buffer_outside_memory, -VIRTQ_EBADADDR, false, false },
	{ "buffer_past_region_end", buffer_past_region_end, -VIRTQ_EBADADDR, false, false },
	{ "buffer_into_hole", buffer_into_hole, -VIRTQ_EBADADDR, false, true },
	{ "buffer_in_hole", buffer_in_hole, -VIRTQ_EBADADDR, false, true },
	{ "buffer_wraps", buffer_wraps, -VIRTQ_EOVERFLOW, false, false },
	{ "second_buffer_bad", second_buffer_bad, -VIRTQ_EBADADDR, false, false },
	{ "bad_buffer_after_ring_end", bad_buffer_after_ring_end, -VIRTQ_EBADADDR, false, false },
};

static int case_setup(void **state)
{
	const struct bad_ring *rule = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	fixture_config(&f->cfg);
	f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	if (rule->no_indirect)
		f->cfg.features &= ~VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
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
	unsigned char ring[16 * SIZE], after[16 * SIZE];
	uint64_t bad = 0;
	rule->build(f);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_mock_read(&f->m, f->m.cfg.desc_gpa, ring, sizeof(ring)), 0);
	assert_err(virtq_pop(&f->q, &f->c), rule->err);
	assert_int_equal(f->c.nseg, 0);
	assert_true(f->c.ndesc <= 2 * SIZE);
	assert_true(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBROKEN);
	assert_err(virtq_add_used(&f->q, 0, 0), -VIRTQ_EBROKEN);
	assert_err(virtq_publish_used(&f->q), -VIRTQ_EBROKEN);
	assert_err(virtq_needs_notify(&f->q), -VIRTQ_EBROKEN);
	assert_err(virtq_enable_notify(&f->q), -VIRTQ_EBROKEN);
	/* no descriptor written (a failed pop returns nothing), nothing else either */
	assert_err(virtq_mock_read(&f->m, f->m.cfg.desc_gpa, after, sizeof(after)), 0);
	assert_memory_equal(ring, after, sizeof(ring));
	if (virtq_mock_check_writes(&f->m, &bad))
		fail_msg("device wrote outside allowed ranges at gpa 0x%llx", (unsigned long long)bad);
	assert_true(virtq_mock_guards_intact(&f->m));
	/* after a reset and a fresh driver, a well-formed chain pops again */
	virtq_reset(&f->q);
	virtq_mock_reset_driver(&f->m);
	virtq_mock_alloc_reset(&f->m);
	assert_err(virtq_mock_attach(&f->m, &f->q), 0);
	int id = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, id);
	assert_int_equal(f->c.read_len, 8);
}

/* Not available is not malformed: wrong wrap bits, both bits, or neither
 * are an empty ring (0), whatever the rest of the descriptor says. */
static void test_not_available_is_empty(void **state)
{
	(void)state;
	const uint16_t flags[] = { 0, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED, VIRTQ_DESC_F_USED,
				   VIRTQ_DESC_F_USED | F_NEXT | F_INDIRECT };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct fixture *f = calloc(1, sizeof(*f));
		fixture_config(&f->cfg);
		f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
		fixture_start(f);
		assert_err(virtq_mock_packed_set_desc(&f->m, 0, UINT64_MAX, 64, SIZE + 3, flags[i]), 0);
		assert_err(virtq_pop(&f->q, &f->c), 0);
		assert_false(virtq_is_broken(&f->q));
		fixture_stop(f);
		free(f);
	}
}

/* All slots held by the device: EBUSY, not fatal, the chain stays. */
static void test_busy_not_fatal(void **state)
{
	(void)state;
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	fixture_start(f);
	for (uint32_t i = 0; i < SIZE; i++) {
		fixture_post(f, 8, 0, 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
	}
	/* the next lap's slot 0 made to look available: the device holds it */
	assert_err(virtq_mock_packed_set_desc(&f->m, 0, 0, 0, 0, AV(false)), 0);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBUSY);
	assert_false(virtq_is_broken(&f->q));
	fixture_stop(f);
	free(f);
}

/* Total chain length: 2^32 - 1 allowed, 2^32 EOVERFLOW (4 GiB lazily mapped). */
static void test_total_length_limit(void **state)
{
	(void)state;
	if (sizeof(void *) < 8)
		skip();
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	f->cfg.regions[0].size = (UINT64_C(1) << 32) + (1u << 20);
	fixture_start(f);
	const uint64_t a = 1u << 16, b = a + 0x80000000u;
	desc(f, 1, b, 0x7fffffffu, 0, F_WRITE);
	desc(f, 0, a, 0x80000000u, 0, F_NEXT);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.write_len, 0x7fffffffu);
	desc(f, 3, b, 0x80000000u, 1, F_WRITE);
	desc(f, 2, a, 0x80000000u, 1, F_NEXT);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EOVERFLOW);
	assert_true(virtq_is_broken(&f->q));
	fixture_stop(f);
	free(f);
}

/* Permissions: a writable buffer in read-only memory, a readable one in
 * write-only memory: EACCES. */
static void test_permissions(void **state)
{
	(void)state;
	for (int ro = 0; ro < 2; ro++) {
		struct fixture *f = calloc(1, sizeof(*f));
		fixture_config(&f->cfg);
		f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
		f->cfg.nregions = 2;
		f->cfg.regions[1] = (struct virtq_mock_region){
			.gpa = 2u << 20, .size = 1u << 16,
			.flags = ro ? VIRTQ_MEM_READONLY : VIRTQ_MEM_WRITEONLY };
		fixture_start(f);
		desc(f, 0, 2u << 20, 64, 0, ro ? F_WRITE : 0);
		assert_err(virtq_mock_snapshot(&f->m), 0);
		fixture_expect_fatal(f, -VIRTQ_EACCES);
		fixture_stop(f);
		free(f);
	}
}

/* Completion rules: an id not in flight, or twice, is refused and nothing
 * is written. */
static void test_add_used_rules(void **state)
{
	(void)state;
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	fixture_start(f);
	int id = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_add_used(&f->q, SIZE, 0), -VIRTQ_EINVAL);
	assert_err(virtq_add_used(&f->q, (uint16_t)(id + 1), 0), -VIRTQ_EINVAL);
	const struct virtq_used_elem twice[2] = { { (uint16_t)id, 0 }, { (uint16_t)id, 0 } };
	assert_err(virtq_add_used_many(&f->q, twice, 2), -VIRTQ_EINVAL);
	assert_err(virtq_publish_used(&f->q), 0);
	uint64_t bad;
	assert_err(virtq_mock_check_writes(&f->m, &bad), 0);
	unsigned char before[16], now[16];
	assert_err(virtq_mock_read(&f->m, f->m.cfg.desc_gpa, before, 16), 0);
	assert_err(virtq_complete(&f->q, (uint16_t)id, 8), 1);
	assert_err(virtq_complete(&f->q, (uint16_t)id, 8), -VIRTQ_EINVAL);
	assert_err(virtq_mock_read(&f->m, f->m.cfg.desc_gpa, now, 16), 0);
	assert_memory_equal(before, now, 8); /* the address field is the driver's */
	assert_false(virtq_is_broken(&f->q));
	fixture_stop(f);
	free(f);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 5];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ .name = cases[i].name,
						  .test_func = test_bad_ring,
						  .setup_func = case_setup,
						  .teardown_func = fixture_teardown,
						  .initial_state = (void *)(uintptr_t)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_not_available_is_empty);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_busy_not_fatal);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_total_length_limit);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_permissions);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_add_used_rules);
	return cmocka_run_group_tests_name("packed pop rejection rules", tests, NULL, NULL);
}

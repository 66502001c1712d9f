/* SPDX-License-Identifier: MIT */
/* virtq_pop(): chains of every valid shape, and the non-fatal refusals. */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT

static void *host(struct fixture *f, uint64_t gpa) { return virtq_mock_host(&f->m, gpa, 1); }

static void assert_seg(const struct virtq_seg *s, void *addr, size_t len)
{
	assert_ptr_equal(s->addr, addr);
	assert_int_equal(s->len, len);
}

static void test_empty_ring(void **state)
{
	struct fixture *f = *state;
	assert_err(virtq_pop(&f->q, &f->c), 0);
	assert_false(virtq_is_broken(&f->q));
	assert_int_equal(virtq_in_flight(&f->q), 0);
}

static void test_readable_then_writable(void **state)
{
	struct fixture *f = *state;
	uint64_t r = fixture_buf(f, 100, 'r'), w = fixture_buf(f, 200, 0);
	struct virtq_mock_buf bufs[] = { { r, 100, false }, { w, 200, true } };
	int head = virtq_mock_add_chain(&f->m, bufs, 2, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, head);
	assert_int_equal(f->c.nseg, 2);
	assert_int_equal(f->c.nread, 1);
	assert_int_equal(f->c.read_len, 100);
	assert_int_equal(f->c.write_len, 200);
	assert_int_equal(f->c.ndesc, 2);
	assert_seg(&f->c.segs[0], host(f, r), 100);
	assert_seg(&f->c.segs[1], host(f, w), 200);
	assert_int_equal(virtq_in_flight(&f->q), 1);
	assert_err(virtq_pop(&f->q, &f->c), 0);
}

static void test_chains_in_order(void **state)
{
	struct fixture *f = *state;
	int heads[3];
	for (int i = 0; i < 3; i++)
		heads[i] = fixture_post(f, 10u + (uint32_t)i, 0, 0);
	for (int i = 0; i < 3; i++) {
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_int_equal(f->c.id, heads[i]);
		assert_int_equal(f->c.read_len, 10 + i);
	}
	assert_int_equal(virtq_in_flight(&f->q), 3);
}

/* The longest direct chain: exactly size descriptors. */
static void test_chain_of_queue_size(void **state)
{
	struct fixture *f = *state;
	struct virtq_mock_buf bufs[8];
	for (int i = 0; i < 8; i++)
		bufs[i] = (struct virtq_mock_buf){ fixture_buf(f, 16, 'a'), 16, i >= 5 };
	assert_true(virtq_mock_add_chain(&f->m, bufs, 8, 0) >= 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.ndesc, 8);
	assert_int_equal(f->c.nread, 5);
	assert_int_equal(f->c.nseg, 8);
	assert_int_equal(f->c.read_len, 80);
	assert_int_equal(f->c.write_len, 48);
}

static void test_indirect_chain(void **state)
{
	struct fixture *f = *state;
	struct virtq_mock_buf bufs[8];
	for (int i = 0; i < 8; i++) /* a table of exactly size entries */
		bufs[i] = (struct virtq_mock_buf){ fixture_buf(f, 32, 'i'), 32, i >= 3 };
	int head = virtq_mock_add_chain(&f->m, bufs, 8, VIRTQ_MOCK_INDIRECT);
	assert_true(head >= 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, head);
	assert_int_equal(f->c.ndesc, 9); /* the indirect descriptor + its table */
	assert_int_equal(f->c.nread, 3);
	assert_int_equal(f->c.nseg, 8);
	for (int i = 0; i < 8; i++)
		assert_seg(&f->c.segs[i], host(f, bufs[i].gpa), 32);
}

/* Spec 2.7.5.3: a direct chain may end in an indirect descriptor. */
static void test_direct_then_indirect(void **state)
{
	struct fixture *f = *state;
	uint64_t a = fixture_buf(f, 8, 'a'), b = fixture_buf(f, 8, 'b'), t = fixture_buf(f, 16, 0);
	assert_err(virtq_mock_write_desc_at(&f->m, t, b, 8, F_WRITE, 0), 0);
	virtq_mock_set_desc(&f->m, 0, a, 8, F_NEXT, 5);
	virtq_mock_set_desc(&f->m, 5, t, 16, F_INDIRECT | F_WRITE /* ignored */, 0);
	virtq_mock_set_avail_entry(&f->m, 0, 0);
	virtq_mock_set_avail_idx(&f->m, 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nseg, 2);
	assert_int_equal(f->c.nread, 1);
	assert_seg(&f->c.segs[0], host(f, a), 8);
	assert_seg(&f->c.segs[1], host(f, b), 8);
}

static void test_zero_length_descriptors_skipped(void **state)
{
	struct fixture *f = *state;
	uint64_t a = fixture_buf(f, 8, 'a');
	virtq_mock_set_desc(&f->m, 0, 0xdead0000, 0, F_NEXT, 1); /* never dereferenced */
	virtq_mock_set_desc(&f->m, 1, a, 8, F_NEXT, 2);
	virtq_mock_set_desc(&f->m, 2, 0, 0, F_WRITE, 0);
	virtq_mock_set_avail_entry(&f->m, 0, 0);
	virtq_mock_set_avail_idx(&f->m, 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.ndesc, 3);
	assert_int_equal(f->c.nseg, 1);
	assert_int_equal(f->c.write_len, 0);
}

/* A buffer over two adjacent regions becomes two segments, one per region. */
static void test_split_at_region_boundary(void **state)
{
	(void)state;
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	f->cfg.nregions = 2;
	f->cfg.regions[1] = (struct virtq_mock_region){ .gpa = 1u << 20, .size = 1u << 20 };
	fixture_start(f);
	const uint64_t at = (1u << 20) - 8;
	struct virtq_mock_buf b = { at, 16, true };
	assert_true(virtq_mock_add_chain(&f->m, &b, 1, 0) >= 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nseg, 2);
	assert_seg(&f->c.segs[0], host(f, at), 8);
	assert_seg(&f->c.segs[1], host(f, 1u << 20), 8);
	assert_ptr_not_equal((char *)f->c.segs[0].addr + 8, f->c.segs[1].addr);
	struct virtq_cursor w;
	virtq_chain_writer(&w, &f->c);
	assert_err(virtq_chain_write(&w, "0123456789abcdef", 16), 16);
	char back[16];
	assert_err(virtq_mock_read(&f->m, at, back, 16), 0);
	assert_memory_equal(back, "0123456789abcdef", 16);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	assert_true(virtq_mock_guards_intact(&f->m));
	fixture_stop(f);
	free(f);
}

/* avail.idx exactly size ahead is a full ring, not an error. */
static void test_full_ring_accepted(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 8; i++)
		fixture_post(f, 4, 0, VIRTQ_MOCK_NO_PUBLISH);
	virtq_mock_publish(&f->m);
	for (int i = 0; i < 8; i++)
		assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_pop(&f->q, &f->c), 0);
}

/* in-flight >= size: -VIRTQ_EBUSY, not fatal; returning one chain unblocks. */
static void test_busy_when_all_in_flight(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 8; i++)
		fixture_post(f, 4, 0, 0);
	for (int i = 0; i < 8; i++)
		assert_err(virtq_pop(&f->q, &f->c), 1);
	/* A driver posts a ninth entry while the device holds everything. */
	virtq_mock_set_avail_entry(&f->m, 8 % 8, 3);
	virtq_mock_set_avail_idx(&f->m, 9);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBUSY);
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_add_used(&f->q, 3, 0), 0);
	assert_err(virtq_publish_used(&f->q), 1); /* the driver may reuse head 3 now */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, 3);
}

/* Segment array too small: -VIRTQ_ENOSPC, nothing consumed, retry works. */
static void test_nospc_keeps_chain(void **state)
{
	struct fixture *f = *state;
	struct virtq_mock_buf bufs[4];
	for (int i = 0; i < 4; i++)
		bufs[i] = (struct virtq_mock_buf){ fixture_buf(f, 8, 'x'), 8, false };
	int head = virtq_mock_add_chain(&f->m, bufs, 4, 0);
	struct virtq_seg small[3];
	struct virtq_chain c;
	virtq_chain_init(&c, small, 3);
	assert_err(virtq_pop(&f->q, &c), -VIRTQ_ENOSPC);
	assert_int_equal(c.nseg, 0);
	assert_false(virtq_is_broken(&f->q));
	assert_int_equal(virtq_in_flight(&f->q), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, head);
	assert_int_equal(f->c.nseg, 4);
}

static void test_unpop(void **state)
{
	struct fixture *f = *state;
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL);
	int a = fixture_post(f, 4, 0, 0), b = fixture_post(f, 5, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, b);
	assert_err(virtq_unpop(&f->q), 0);
	assert_int_equal(virtq_in_flight(&f->q), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, b);
	assert_err(virtq_unpop(&f->q), 0);
	assert_err(virtq_unpop(&f->q), 0);
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, a);
}

static void test_misuse(void **state)
{
	struct fixture *f = *state;
	struct virtq idle;
	assert_err(virtq_pop(NULL, &f->c), -VIRTQ_EINVAL);
	assert_err(virtq_pop(&f->q, NULL), -VIRTQ_EINVAL);
	assert_err(virtq_init(&idle, &f->m.mem, 8), 0);
	assert_err(virtq_pop(&idle, &f->c), -VIRTQ_ENOTREADY);
	assert_err(virtq_unpop(&idle), -VIRTQ_ENOTREADY);
	assert_false(virtq_is_broken(&idle));
}

/* Total chain length: 2^32 - 1 bytes is allowed, 2^32 is -VIRTQ_EOVERFLOW.
 * Needs 4 GiB of guest memory: the mock maps it lazily. */
static void test_total_length_limit(void **state)
{
	(void)state;
	if (sizeof(void *) < 8)
		skip();
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	f->cfg.regions[0].size = (UINT64_C(1) << 32) + (1u << 20);
	fixture_start(f);
	const uint64_t a = 1u << 16, b = a + 0x80000000u;
	virtq_mock_set_desc(&f->m, 0, a, 0x80000000u, F_NEXT, 1);
	virtq_mock_set_desc(&f->m, 1, b, 0x7fffffffu, F_WRITE, 0);
	virtq_mock_set_avail_entry(&f->m, 0, 0);
	virtq_mock_set_avail_idx(&f->m, 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.read_len, 0x80000000u);
	assert_int_equal(f->c.write_len, 0x7fffffffu);
	virtq_mock_set_desc(&f->m, 2, a, 0x80000000u, F_NEXT, 3);
	virtq_mock_set_desc(&f->m, 3, b, 0x80000000u, F_WRITE, 0);
	virtq_mock_set_avail_entry(&f->m, 1, 2);
	virtq_mock_set_avail_idx(&f->m, 2);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EOVERFLOW);
	assert_true(virtq_is_broken(&f->q));
	fixture_stop(f);
	free(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_empty_ring),
		T(test_readable_then_writable),
		T(test_chains_in_order),
		T(test_chain_of_queue_size),
		T(test_indirect_chain),
		T(test_direct_then_indirect),
		T(test_zero_length_descriptors_skipped),
		cmocka_unit_test(test_split_at_region_boundary),
		T(test_full_ring_accepted),
		T(test_busy_when_all_in_flight),
		T(test_nospc_keeps_chain),
		T(test_unpop),
		T(test_misuse),
		cmocka_unit_test(test_total_length_limit),
	};
	return cmocka_run_group_tests_name("pop", tests, NULL, NULL);
}

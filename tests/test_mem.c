/* SPDX-License-Identifier: MIT */
/* Guest memory map: region rules, translation, splitting, bounded copies. */
#include <string.h>

#include "fixture.h"

static unsigned char host_a[4096], host_b[4096], host_c[4096];
/* Storage of the tables below: a vhost-user back-end's worth of slots. */
static struct virtq_mem_region slots[VIRTQ_MEM_VHOST_USER_SLOTS];

static void init_table(struct virtq_mem *m)
{
	assert_err(virtq_mem_init(m, slots, VIRTQ_MEM_VHOST_USER_SLOTS), 0);
}

static void test_region_rules(void **state)
{
	(void)state;
	struct virtq_mem m;
	init_table(&m);
	assert_err(virtq_mem_add_region(NULL, 0, 1, host_a), -VIRTQ_EINVAL);
	assert_err(virtq_mem_add_region(&m, 0, 0, host_a), -VIRTQ_EINVAL);
	assert_err(virtq_mem_add_region(&m, 0, 16, NULL), -VIRTQ_EINVAL);
	assert_err(virtq_mem_add_region(&m, UINT64_MAX, 2, host_a), -VIRTQ_EOVERFLOW);
	assert_err(virtq_mem_add_region(&m, 1, UINT64_MAX, host_a), -VIRTQ_EOVERFLOW);
	assert_err(virtq_mem_add_region(&m, 0, UINT64_MAX, host_a), -VIRTQ_EOVERFLOW); /* host wraps */
	assert_err(virtq_mem_add_region(&m, UINT64_MAX, 1, host_a), 0); /* last byte: fine */
	assert_err(virtq_mem_add_region(&m, 0x2000, 0x1000, host_b), 0);
	assert_err(virtq_mem_add_region(&m, 0x1000, 0x1000, host_a), 0); /* adjacent below */
	assert_err(virtq_mem_add_region(&m, 0x3000, 0x1000, host_c), 0); /* adjacent above */
	/* overlaps: inside, straddling either end, covering, identical */
	static const uint64_t overlap[][2] = { { 0x2100, 0x10 }, { 0x0f00, 0x200 }, { 0x3f00, 0x200 },
					       { 0x0, 0x10000 },  { 0x2000, 0x1000 }, { 0x1fff, 2 } };
	for (size_t i = 0; i < sizeof(overlap) / sizeof(overlap[0]); i++)
		assert_err(virtq_mem_add_region(&m, overlap[i][0], overlap[i][1], host_a),
			   -VIRTQ_EINVAL);
	assert_int_equal(m.nregions, 4);
	for (uint32_t i = 1; i < m.nregions; i++) /* sorted */
		assert_true(m.regions[i - 1].gpa < m.regions[i].gpa);
}

static void test_init_rules(void **state)
{
	(void)state;
	struct virtq_mem m;
	assert_err(virtq_mem_init(NULL, slots, 1), -VIRTQ_EINVAL);
	assert_err(virtq_mem_init(&m, NULL, 1), -VIRTQ_EINVAL);
	assert_int_equal(m.capacity, 0); /* left empty: adding fails cleanly */
	assert_err(virtq_mem_add_region(&m, 0, 16, host_a), -VIRTQ_ENOSPC);
	assert_err(virtq_mem_init(&m, NULL, 0), 0);
	assert_err(virtq_mem_add_region(&m, 0, 16, host_a), -VIRTQ_ENOSPC);
	assert_null(virtq_mem_translate(&m, 0, 1));
}

/* The caller's capacity is the limit, whatever it is; nothing is written past it. */
static void test_capacity_is_callers(void **state)
{
	(void)state;
	struct virtq_mem_region two[3];
	struct virtq_mem m;
	memset(two, 0x5a, sizeof(two));
	assert_err(virtq_mem_init(&m, two, 2), 0);
	assert_err(virtq_mem_add_region(&m, 0x2000, 16, host_b), 0);
	assert_err(virtq_mem_add_region(&m, 0x1000, 16, host_a), 0);
	assert_err(virtq_mem_add_region(&m, 0x0000, 16, host_c), -VIRTQ_ENOSPC);
	assert_err(virtq_mem_add_region(&m, 0x3000, 16, host_c), -VIRTQ_ENOSPC);
	assert_int_equal(m.nregions, 2);
	assert_int_equal(two[0].gpa, 0x1000);
	assert_int_equal(two[1].gpa, 0x2000);
	const unsigned char *sentinel = (const unsigned char *)&two[2];
	for (size_t i = 0; i < sizeof(two[2]); i++)
		assert_int_equal(sentinel[i], 0x5a);
}

/* vhost-user's 509 slots, inserted in reverse order, each found by lookup. */
static void test_vhost_user_slots(void **state)
{
	(void)state;
	const uint32_t n = VIRTQ_MEM_VHOST_USER_SLOTS;
	struct virtq_mem m;
	init_table(&m);
	for (uint64_t i = 0; i < n; i++)
		assert_err(virtq_mem_add_region(&m, (n - i) * 0x10000, 16, host_a), 0);
	assert_err(virtq_mem_add_region(&m, 0, 16, host_a), -VIRTQ_ENOSPC);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t gpa = (uint64_t)(i + 1) * 0x10000;
		assert_ptr_equal(virtq_mem_translate(&m, gpa + 8, 8), host_a + 8);
		assert_null(virtq_mem_translate(&m, gpa + 8, 9));
		assert_null(virtq_mem_translate(&m, gpa + 16, 1));
		assert_null(virtq_mem_translate(&m, gpa - 1, 1));
	}
	/* a range over every region needs one segment per region */
	static struct virtq_seg segs[VIRTQ_MEM_VHOST_USER_SLOTS];
	struct virtq_mem adj;
	init_table(&adj);
	for (uint64_t i = 0; i < n; i++)
		assert_err(virtq_mem_add_region(&adj, i * 16, 16, host_b), 0);
	assert_err(virtq_mem_split(&adj, 8, n * 16 - 8, segs, n), (int)n);
	assert_ptr_equal(segs[0].addr, host_b + 8);
	assert_ptr_equal(segs[n - 1].addr, host_b);
	assert_err(virtq_mem_split(&adj, 0, n * 16, segs, n - 1), -VIRTQ_ENOSPC);
	unsigned char big[VIRTQ_MEM_VHOST_USER_SLOTS * 16];
	assert_err(virtq_mem_read(&adj, 0, big, sizeof(big)), 0); /* no segment limit */
	assert_err(virtq_mem_read(&adj, 1, big, sizeof(big)), -VIRTQ_EBADADDR);
}

static void setup_three(struct virtq_mem *m)
{
	/* [0x1000,0x2000) a, [0x2000,0x3000) b adjacent, hole, [0x5000,0x6000) c */
	init_table(m);
	assert_err(virtq_mem_add_region(m, 0x5000, 0x1000, host_c), 0);
	assert_err(virtq_mem_add_region(m, 0x1000, 0x1000, host_a), 0);
	assert_err(virtq_mem_add_region(m, 0x2000, 0x1000, host_b), 0);
}

static void test_translate(void **state)
{
	(void)state;
	struct virtq_mem m;
	setup_three(&m);
	assert_ptr_equal(virtq_mem_translate(&m, 0x1000, 0x1000), host_a);
	assert_ptr_equal(virtq_mem_translate(&m, 0x2fff, 1), host_b + 0xfff);
	assert_ptr_equal(virtq_mem_translate(&m, 0x5800, 0), host_c + 0x800);
	assert_null(virtq_mem_translate(&m, 0x1fff, 2)); /* spans a and b */
	assert_null(virtq_mem_translate(&m, 0x0fff, 1)); /* below */
	assert_null(virtq_mem_translate(&m, 0x3000, 0)); /* hole */
	assert_null(virtq_mem_translate(&m, 0x6000, 1)); /* above */
	assert_null(virtq_mem_translate(&m, 0x1000, UINT64_MAX));
	assert_null(virtq_mem_translate(NULL, 0x1000, 1));
}

static void test_split(void **state)
{
	(void)state;
	struct virtq_mem m;
	struct virtq_seg s[4];
	setup_three(&m);
	assert_err(virtq_mem_split(&m, 0x1ff0, 0x20, s, 4), 2);
	assert_ptr_equal(s[0].addr, host_a + 0xff0);
	assert_int_equal(s[0].len, 0x10);
	assert_ptr_equal(s[1].addr, host_b);
	assert_int_equal(s[1].len, 0x10);
	assert_err(virtq_mem_split(&m, 0x1000, 0x2000, s, 4), 2);
	assert_err(virtq_mem_split(&m, 0x1000, 0x2000, s, 1), -VIRTQ_ENOSPC);
	assert_err(virtq_mem_split(&m, 0x2ff0, 0x20, s, 4), -VIRTQ_EBADADDR); /* into the hole */
	assert_err(virtq_mem_split(&m, UINT64_MAX, 2, s, 4), -VIRTQ_EOVERFLOW);
	assert_err(virtq_mem_split(&m, 0x9999, 0, s, 4), 0);
	assert_err(virtq_mem_split(&m, 0x5000, 1, NULL, 4), -VIRTQ_EINVAL);
}

static void test_read_write(void **state)
{
	(void)state;
	struct virtq_mem m;
	unsigned char in[32], out[32];
	setup_three(&m);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i + 1);
	assert_err(virtq_mem_write(&m, 0x1ff0, in, 32), 0);
	assert_memory_equal(host_a + 0xff0, in, 16);
	assert_memory_equal(host_b, in + 16, 16);
	assert_err(virtq_mem_read(&m, 0x1ff0, out, 32), 0);
	assert_memory_equal(out, in, 32);
	/* all-or-nothing: a range ending in the hole copies nothing */
	memset(host_b + 0xff0, 0, 16);
	assert_err(virtq_mem_write(&m, 0x2ff0, in, 32), -VIRTQ_EBADADDR);
	for (int i = 0; i < 16; i++)
		assert_int_equal(host_b[0xff0 + i], 0);
	assert_err(virtq_mem_read(&m, 0x2ff0, out, 32), -VIRTQ_EBADADDR);
	assert_err(virtq_mem_read(&m, UINT64_MAX, out, 2), -VIRTQ_EOVERFLOW);
	assert_err(virtq_mem_write(&m, UINT64_MAX, in, 2), -VIRTQ_EOVERFLOW);
	assert_err(virtq_mem_read(NULL, 0x1000, out, 1), -VIRTQ_EINVAL);
	assert_err(virtq_mem_read(&m, 0x1000, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_mem_write(&m, 0x1000, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_mem_read(&m, 0x1000, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rules),   cmocka_unit_test(test_capacity_is_callers),
		cmocka_unit_test(test_vhost_user_slots), cmocka_unit_test(test_region_rules),
		cmocka_unit_test(test_translate),    cmocka_unit_test(test_split),
		cmocka_unit_test(test_read_write),
	};
	return cmocka_run_group_tests_name("guest memory", tests, NULL, NULL);
}

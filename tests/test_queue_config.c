/* SPDX-License-Identifier: MIT */
/* Queue configuration and activation: every configuration rule of docs/rules.md. */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

struct bad_config {
	const char *name;
	uint32_t size;
	uint64_t desc, avail, used; /* 0: keep the mock's layout */
	int err;
};

#define MiB (UINT64_C(1) << 20)

/* The ring addresses as the transport names them. */
#define RINGS(desc, avail, used)                                                       \
	(&(struct virtq_ring_addrs){ .desc_area = (desc), .driver_area = (avail),       \
				     .device_area = (used) })

/* Queue size 8: desc 128 B, avail 6 + 16 = 22 B, used 6 + 64 = 70 B. The
 * guest has one region [0, 1 MiB). */
static const struct bad_config configs[] = {
	{ "desc_misaligned", 8, 0x10008, 0, 0, -VIRTQ_EINVAL },
	{ "avail_misaligned", 8, 0, 0x10001, 0, -VIRTQ_EINVAL },
	{ "used_misaligned", 8, 0, 0, 0x10002, -VIRTQ_EINVAL },
	{ "desc_outside_memory", 8, MiB, 0, 0, -VIRTQ_EBADADDR },
	{ "desc_table_tail_outside", 8, MiB - 112, 0, 0, -VIRTQ_EBADADDR },
	/* avail ring fits without used_event (20 B) but not with it (22 B) */
	{ "used_event_outside", 8, 0, MiB - 20, 0, -VIRTQ_EBADADDR },
	/* used ring fits without avail_event (68 B) but not with it (70 B) */
	{ "avail_event_outside", 8, 0, 0, MiB - 68, -VIRTQ_EBADADDR },
	{ "desc_wraps", 8, UINT64_MAX - 15, 0, 0, -VIRTQ_EOVERFLOW },
	{ "avail_wraps", 8, 0, UINT64_MAX - 1, 0, -VIRTQ_EOVERFLOW },
	{ "used_wraps", 8, 0, 0, UINT64_MAX - 3, -VIRTQ_EOVERFLOW },
};

static void test_bad_config(void **state)
{
	const struct bad_config *bc = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtq q;
	fixture_config(&f->cfg);
	fixture_start(f);
	assert_err(virtq_init(&q, &f->m.mem, 8), 0);
	assert_err(virtq_set_inflight(&q, f->m.inflight, f->m.inflight_bytes), 0);
	assert_err(virtq_set_features(&q, VIRTQ_FEATURE(VIRTQ_F_VERSION_1)), 0);
	assert_err(virtq_set_addrs(&q, RINGS(bc->desc ? bc->desc : f->m.cfg.desc_gpa,
					     bc->avail ? bc->avail : f->m.cfg.avail_gpa,
					     bc->used ? bc->used : f->m.cfg.used_gpa)), 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_activate(&q), bc->err);
	assert_false(virtq_is_active(&q));
	assert_err(virtq_pop(&q, &f->c), -VIRTQ_ENOTREADY);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	/* Fixing the configuration makes activation succeed. */
	assert_err(virtq_set_addrs(&q, RINGS(f->m.cfg.desc_gpa, f->m.cfg.avail_gpa,
					     f->m.cfg.used_gpa)), 0);
	assert_err(virtq_activate(&q), 0);
	fixture_stop(f);
	free(f);
}

static void test_size_rules(void **state)
{
	struct fixture *f = *state;
	struct virtq q;
	static const uint32_t bad[] = { 0, 3, 6, 100, 512, 65536, UINT32_MAX };
	assert_err(virtq_init(&q, &f->m.mem, 256), 0);
	assert_int_equal(virtq_size(&q), 256);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_err(virtq_set_size(&q, bad[i]), -VIRTQ_EINVAL);
	assert_int_equal(virtq_size(&q), 256);
	for (uint32_t s = 1; s <= 256; s *= 2) {
		assert_err(virtq_set_size(&q, s), 0);
		assert_int_equal(virtq_size(&q), s);
	}
	static const uint32_t bad_max[] = { 0, 3, 65536, 1u << 31 };
	for (size_t i = 0; i < sizeof(bad_max) / sizeof(bad_max[0]); i++)
		assert_err(virtq_init(&q, &f->m.mem, bad_max[i]), -VIRTQ_EINVAL);
	assert_err(virtq_init(&q, &f->m.mem, VIRTQ_MAX_SIZE), 0);
	assert_int_equal(virtq_size(&q), VIRTQ_MAX_SIZE);
	assert_err(virtq_init(NULL, &f->m.mem, 8), -VIRTQ_EINVAL);
	assert_err(virtq_init(&q, NULL, 8), -VIRTQ_EINVAL);
}

/* Size, addresses and features are frozen while the queue is active. */
static void test_frozen_while_active(void **state)
{
	struct fixture *f = *state;
	assert_true(virtq_is_active(&f->q));
	assert_err(virtq_set_size(&f->q, 4), -VIRTQ_EINVAL);
	assert_err(virtq_set_addrs(&f->q, RINGS(0, 0x1000, 0x2000)), -VIRTQ_EINVAL);
	assert_err(virtq_set_inflight(&f->q, f->m.inflight, f->m.inflight_bytes), -VIRTQ_EINVAL);
	assert_err(virtq_set_features(&f->q, 0), -VIRTQ_EINVAL);
	assert_err(virtq_activate(&f->q), -VIRTQ_EINVAL);
	assert_int_equal(virtq_size(&f->q), 8);
	virtq_reset(&f->q);
	assert_false(virtq_is_active(&f->q));
	assert_int_equal(virtq_size(&f->q), VIRTQ_MAX_SIZE); /* the mock's max */
	assert_err(virtq_set_size(&f->q, 4), 0);
}

/* A ring over two adjacent regions cannot be cached as one host pointer. */
static void test_ring_across_regions(void **state)
{
	(void)state;
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	f->cfg.nregions = 2;
	f->cfg.regions[1] = (struct virtq_mock_region){ .gpa = MiB, .size = MiB };
	f->cfg.desc_gpa = MiB - 64;
	assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
	assert_err(virtq_mock_attach(&f->m, &f->q), -VIRTQ_EBADADDR);
	fixture_stop(f);
	free(f);
}

/* The host mapping must be aligned like the guest address. */
static void test_host_misaligned(void **state)
{
	(void)state;
	static _Alignas(16) unsigned char backing[8192 + 1];
	struct virtq_mem_region slot;
	struct virtq_mem mem;
	struct virtq q;
	virtq_mem_init(&mem, &slot, 1);
	assert_err(virtq_mem_add_region(&mem, 0, 8192, backing + 1), 0);
	static _Alignas(8) unsigned char area[VIRTQ_INFLIGHT_BYTES(8)];
	assert_err(virtq_init(&q, &mem, 8), 0);
	assert_err(virtq_set_inflight(&q, area, sizeof(area)), 0);
	assert_err(virtq_set_addrs(&q, RINGS(0, 4096, 6144)), 0);
	assert_err(virtq_set_features(&q, VIRTQ_FEATURE(VIRTQ_F_VERSION_1)), 0);
	assert_err(virtq_activate(&q), -VIRTQ_EINVAL);
	virtq_mem_init(&mem, &slot, 1);
	assert_err(virtq_mem_add_region(&mem, 0, 8192, backing), 0);
	assert_err(virtq_activate(&q), 0);
}

/* Activation writes only device-owned fields; feature bits that do not
 * change the rings' meaning are ignored (test_features has the refused ones). */
static void test_activate_writes_only_used_ring(void **state)
{
	(void)state;
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	f->cfg.features = ~(VIRTQ_FEATURE(VIRTQ_F_ACCESS_PLATFORM) |
			    VIRTQ_FEATURE(VIRTQ_F_RING_PACKED) | VIRTQ_FEATURE(VIRTQ_F_IN_ORDER));
	assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
	virtq_mock_fill(&f->m, f->m.cfg.used_gpa, 0xff, VIRTQ_USED_RING_BYTES(8));
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_mock_attach(&f->m, &f->q), 0);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	assert_int_equal(virtq_mock_used_flags(&f->m), 0);
	assert_int_equal(virtq_mock_avail_event(&f->m), 0);
	assert_int_equal(virtq_mock_used_idx(&f->m), 0xffff); /* not the device's to reset */
	fixture_stop(f);
	free(f);
}

/* The named fields land where their names say, whatever a transport's order. */
static void test_set_addrs_by_name(void **state)
{
	struct fixture *f = *state;
	struct virtq q;
	assert_err(virtq_init(&q, &f->m.mem, 8), 0);
	assert_err(virtq_set_addrs(&q, NULL), -VIRTQ_EINVAL);
	assert_err(virtq_set_addrs(NULL, RINGS(0, 0, 0)), -VIRTQ_EINVAL);
	/* vhost-user's SET_VRING_ADDR order is desc, used, avail */
	const struct virtq_ring_addrs a = { .desc_area = 0x10, .device_area = 0x30,
					    .driver_area = 0x20 };
	assert_err(virtq_set_addrs(&q, &a), 0);
	assert_int_equal(q.desc_gpa, 0x10);
	assert_int_equal(q.avail_gpa, 0x20);
	assert_int_equal(q.used_gpa, 0x30);
}

/* virtq_set_inflight(): every refusal with its code, then what activation
 * demands of the area (inflight.h). */
static void test_inflight_attach_rules(void **state)
{
	struct fixture *f = *state;
	struct virtq q;
	unsigned char *area = f->m.inflight;
	assert_err(virtq_init(&q, &f->m.mem, 8), 0);
	assert_err(virtq_set_addrs(&q, RINGS(f->m.cfg.desc_gpa, f->m.cfg.avail_gpa,
					     f->m.cfg.used_gpa)), 0);
	assert_err(virtq_set_features(&q, VIRTQ_FEATURE(VIRTQ_F_VERSION_1)), 0);
	assert_err(virtq_activate(&q), -VIRTQ_EINVAL); /* no area */
	assert_err(virtq_set_inflight(NULL, area, 4096), -VIRTQ_EINVAL);
	assert_err(virtq_set_inflight(&q, NULL, 4096), -VIRTQ_EINVAL);
	assert_err(virtq_set_inflight(&q, area + 4, 4096), -VIRTQ_EINVAL); /* misaligned */
	assert_err(virtq_set_inflight(&q, area, VIRTQ_INFLIGHT_BYTES(1) - 1), -VIRTQ_EINVAL);
	assert_err(virtq_resume(&q, 0), -VIRTQ_EINVAL); /* still no area */
	/* An area for 4 heads: a queue of 8 does not fit, one of 4 does. */
	assert_err(virtq_set_inflight(&q, area, VIRTQ_INFLIGHT_BYTES(4) + 15), 0);
	assert_err(virtq_activate(&q), -VIRTQ_EINVAL);
	assert_err(virtq_resume(&q, 0), -VIRTQ_EINVAL);
	assert_err(virtq_set_size(&q, 4), 0);
	memset(area, 0x5a, VIRTQ_INFLIGHT_BYTES(4) + 15);
	assert_err(virtq_activate(&q), 0);
	/* Activation starts the area afresh: version 1, desc_num 4, all clear;
	 * bytes past the size's area are not the queue's. */
	uint16_t version, desc_num;
	memcpy(&version, area + 8, 2);
	memcpy(&desc_num, area + 10, 2);
	assert_int_equal(version, 1);
	assert_int_equal(desc_num, 4);
	for (size_t i = 16; i < VIRTQ_INFLIGHT_BYTES(4); i++)
		assert_int_equal(area[i], 0);
	assert_int_equal(area[VIRTQ_INFLIGHT_BYTES(4)], 0x5a);
	assert_err(virtq_set_inflight(&q, area, 4096), -VIRTQ_EINVAL); /* active */
	/* Reset keeps the area; init forgets it. */
	virtq_reset(&q);
	assert_err(virtq_set_addrs(&q, RINGS(f->m.cfg.desc_gpa, f->m.cfg.avail_gpa,
					     f->m.cfg.used_gpa)), 0);
	assert_err(virtq_set_features(&q, VIRTQ_FEATURE(VIRTQ_F_VERSION_1)), 0);
	assert_err(virtq_set_size(&q, 4), 0);
	assert_err(virtq_activate(&q), 0);
	assert_err(virtq_init(&q, &f->m.mem, 8), 0);
	assert_err(virtq_set_addrs(&q, RINGS(f->m.cfg.desc_gpa, f->m.cfg.avail_gpa,
					     f->m.cfg.used_gpa)), 0);
	assert_err(virtq_set_features(&q, VIRTQ_FEATURE(VIRTQ_F_VERSION_1)), 0);
	assert_err(virtq_activate(&q), -VIRTQ_EINVAL);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(configs) / sizeof(configs[0]) + 7];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		tests[n++] = (struct CMUnitTest){ .name = configs[i].name,
						  .test_func = test_bad_config,
						  .initial_state = (void *)(uintptr_t)&configs[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
		test_size_rules, fixture_setup, fixture_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
		test_frozen_while_active, fixture_setup, fixture_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ring_across_regions);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_host_misaligned);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_activate_writes_only_used_ring);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
		test_set_addrs_by_name, fixture_setup, fixture_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
		test_inflight_attach_rules, fixture_setup, fixture_teardown);
	return cmocka_run_group_tests_name("queue configuration", tests, NULL, NULL);
}

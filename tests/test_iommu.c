/* SPDX-License-Identifier: MIT */
/*
 * IOMMU translation (iommu.h): with ACCESS_PLATFORM, ring and buffer
 * addresses are IOVAs. The mock's IOMMU maps IOVA_BASE + x to guest-physical
 * x unless a test says otherwise; the driver (the mock, writing descriptors
 * raw) puts IOVAs in the descriptors.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define MiB (UINT64_C(1) << 20)
#define IOVA_BASE (UINT64_C(1) << 32)
#define RW (VIRTQ_IOMMU_READ | VIRTQ_IOMMU_WRITE)
#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT

struct iommu_fixture {
	struct fixture f;
	struct virtq_mock_iommu t;
};

static uint64_t iova(uint64_t gpa) { return IOVA_BASE + gpa; }

/* Queue configured with ACCESS_PLATFORM, the rings at their IOVAs. */
static int configure(struct iommu_fixture *x)
{
	struct fixture *f = &x->f;
	const struct virtq_ring_addrs addrs = { .desc_area = iova(f->m.cfg.desc_gpa),
						.driver_area = iova(f->m.cfg.avail_gpa),
						.device_area = iova(f->m.cfg.used_gpa) };
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
	assert_err(virtq_set_features(&f->q, f->m.cfg.features |
						 VIRTQ_FEATURE(VIRTQ_F_ACCESS_PLATFORM)), 0);
	assert_err(virtq_set_addrs(&f->q, &addrs), 0);
	assert_err(virtq_set_iommu(&f->q, &x->t.iommu), 0);
	return virtq_activate(&f->q);
}

static int setup(void **state)
{
	struct iommu_fixture *x = calloc(1, sizeof(*x));
	if (!x)
		return -1;
	fixture_config(&x->f.cfg);
	x->f.cfg.features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	assert_err(virtq_mock_init(&x->f.m, &x->f.cfg), 0);
	virtq_chain_init(&x->f.c, x->f.segs, FIXTURE_SEGS);
	virtq_mock_iommu_init(&x->t);
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE, MiB, 0, RW), 0);
	assert_err(configure(x), 0);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct iommu_fixture *x = *state;
	fixture_stop(&x->f);
	free(x);
	return 0;
}

static void desc(struct fixture *f, uint32_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	assert_err(virtq_mock_set_desc(&f->m, idx, addr, len, flags, next), 0);
}

/* Makes head available in the next avail slot. */
static void offer(struct fixture *f, uint16_t head)
{
	uint16_t idx = f->m.avail_idx;
	assert_err(virtq_mock_set_avail_entry(&f->m, idx % 8u, head), 0);
	assert_err(virtq_mock_set_avail_idx(&f->m, (uint16_t)(idx + 1)), 0);
	f->m.avail_idx = (uint16_t)(idx + 1);
}

/* A 16 B readable and a 64 B writable buffer at IOVAs; their GPAs out. */
static void post_pair(struct fixture *f, uint16_t head, uint64_t *r_gpa, uint64_t *w_gpa)
{
	*r_gpa = fixture_buf(f, 16, 'q');
	*w_gpa = fixture_buf(f, 64, 0);
	assert_err(virtq_mock_allow_write(&f->m, *w_gpa, 64), 0);
	desc(f, head, iova(*r_gpa), 16, F_NEXT, (uint16_t)(head + 1));
	desc(f, head + 1u, iova(*w_gpa), 64, F_WRITE, 0);
	offer(f, head);
}

static void test_translated_chain(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	uint64_t r, w;
	struct virtq_cursor cur;
	post_pair(f, 0, &r, &w);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nseg, 2);
	assert_ptr_equal(f->c.segs[0].addr, virtq_mem_translate(&f->m.mem, r, 16));
	assert_ptr_equal(f->c.segs[1].addr, virtq_mem_translate(&f->m.mem, w, 64));
	virtq_chain_writer(&cur, &f->c);
	assert_err(virtq_chain_write(&cur, "reply", 5), 5);
	assert_err(virtq_add_used(&f->q, f->c.id, 5), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_int_equal(virtq_mock_used_idx(&f->m), 1); /* the used ring's GPA */
	assert_int_equal(virtq_mock_avail_event(&f->m), 1);
	assert_memory_equal(virtq_mock_host(&f->m, w, 5), "reply", 5);
}

static void test_miss_keeps_chain(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	uint64_t r, w;
	post_pair(f, 0, &r, &w);
	desc(f, 1, iova(w) + MiB, 64, F_WRITE, 0); /* nothing maps it */
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EAGAIN);
	assert_false(virtq_is_broken(&f->q));
	assert_int_equal(f->c.nseg, 0);
	assert_int_equal(virtq_next_avail(&f->q), 0);
	assert_int_equal(virtq_in_flight(&f->q), 0);
	assert_int_equal(x->t.misses, 1);
	assert_int_equal(x->t.last_miss, iova(w) + MiB);
	/* the VMM resolves the miss (IOTLB update): the same chain pops */
	assert_err(virtq_mock_iommu_map(&x->t, iova(w) + MiB, 64, w, RW), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, 0);
	assert_ptr_equal(f->c.segs[1].addr, virtq_mem_translate(&f->m.mem, w, 64));
}

static void test_invalidation_between_pops(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	uint64_t r, w, r2, w2;
	post_pair(f, 0, &r, &w);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	post_pair(f, 2, &r2, &w2);
	/* the buffers' mapping goes, the rings' stays */
	assert_err(virtq_mock_iommu_unmap(&x->t, IOVA_BASE, MiB), 1);
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE, 64 * 1024, 0, RW), 0);
	assert_err(virtq_iommu_invalidate(&f->q, IOVA_BASE + 64 * 1024, MiB), 0);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EAGAIN);
	assert_err(virtq_add_used(&f->q, 0, 0), 0); /* the rings are still mapped */
	assert_err(virtq_publish_used(&f->q), 1);
}

/* Two mappings, not contiguous in guest memory: one segment each. */
static void test_split_across_mappings(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	const uint64_t a = fixture_buf(f, 4096, 'a'), b = fixture_buf(f, 8192, 'b') + 4096;
	const uint64_t io = UINT64_C(0x7000000000);
	assert_err(virtq_mock_iommu_map(&x->t, io, 4096, a, RW), 0);
	assert_err(virtq_mock_iommu_map(&x->t, io + 4096, 4096, b, RW), 0);
	desc(f, 0, io + 100, 5000, 0, 0);
	offer(f, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nseg, 2);
	assert_ptr_equal(f->c.segs[0].addr, virtq_mem_translate(&f->m.mem, a + 100, 1));
	assert_int_equal(f->c.segs[0].len, 4096 - 100);
	assert_ptr_equal(f->c.segs[1].addr, virtq_mem_translate(&f->m.mem, b, 1));
	assert_int_equal(f->c.segs[1].len, 5000 - (4096 - 100));
}

/* Overlapping mappings: each lookup answers the first mapping containing
 * the IOVA asked, and the next piece starts where the last one ended, so
 * the overlap is neither read twice nor skipped. */
static void test_overlapping_mappings(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	const uint64_t a = fixture_buf(f, 4096, 0), b = fixture_buf(f, 8192, 0);
	const uint64_t io = UINT64_C(0x7000000000);
	struct virtq_cursor cur;
	static unsigned char reply[5000];
	uint64_t bad = 0;
	memset(reply, 'r', sizeof(reply));
	assert_err(virtq_mock_iommu_map(&x->t, io, 4096, a, RW), 0);
	assert_err(virtq_mock_iommu_map(&x->t, io + 2048, 6144, b, RW), 0); /* over a's top half */
	assert_err(virtq_mock_allow_write(&f->m, a + 100, 4096 - 100), 0);
	assert_err(virtq_mock_allow_write(&f->m, b + 2048, 5000 - (4096 - 100)), 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	desc(f, 0, io + 100, 5000, F_WRITE, 0);
	offer(f, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nseg, 2);
	assert_ptr_equal(f->c.segs[0].addr, virtq_mem_translate(&f->m.mem, a + 100, 1));
	assert_int_equal(f->c.segs[0].len, 4096 - 100);
	assert_ptr_equal(f->c.segs[1].addr, virtq_mem_translate(&f->m.mem, b + 2048, 1));
	assert_int_equal(f->c.segs[1].len, 5000 - (4096 - 100));
	virtq_chain_writer(&cur, &f->c);
	assert_err(virtq_chain_write(&cur, reply, sizeof(reply)), (int64_t)sizeof(reply));
	if (virtq_mock_check_writes(&f->m, &bad))
		fail_msg("device wrote outside the translated pieces at gpa 0x%llx",
			 (unsigned long long)bad);
}

/* A mapping's permission flips between two pops (read-write, then read
 * only, invalidated): the chain popped before keeps its segments, the next
 * writable buffer is -VIRTQ_EACCES, fatal, and nothing is written. */
static void test_permission_flip_between_pops(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	uint64_t r, w, r2, w2;
	post_pair(f, 0, &r, &w);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_ptr_equal(f->c.segs[1].addr, virtq_mem_translate(&f->m.mem, w, 64));
	post_pair(f, 2, &r2, &w2);
	assert_err(virtq_mock_iommu_unmap(&x->t, IOVA_BASE, MiB), 1);
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE, 64 * 1024, 0, RW), 0); /* rings */
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE + 64 * 1024, MiB - 64 * 1024, 64 * 1024,
					VIRTQ_IOMMU_READ), 0);
	assert_err(virtq_iommu_invalidate(&f->q, IOVA_BASE + 64 * 1024, MiB - 64 * 1024), 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	fixture_expect_fatal(f, -VIRTQ_EACCES);
}

static void test_indirect_table(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	const uint64_t table = fixture_buf(f, 32, 0), w = fixture_buf(f, 64, 0);
	assert_err(virtq_mock_write_desc_at(&f->m, table, iova(w), 64, F_WRITE, 0), 0);
	desc(f, 0, iova(table), 16, F_INDIRECT, 0);
	offer(f, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.write_len, 64);
	assert_ptr_equal(f->c.segs[0].addr, virtq_mem_translate(&f->m.mem, w, 64));
}

/* Translator output and permissions: fatal errors, nothing written. */
struct bad_output {
	const char *name;
	struct virtq_iommu_map map; /* forced; iova 0 means "the IOVA asked" */
	bool writable;              /* the buffer is writable */
	int err;
};

#define BUF_GPA (UINT64_C(0x30000))
static const struct bad_output bad_outputs[] = {
	{ "writable_in_readonly_mapping", { 0, 4096, BUF_GPA, VIRTQ_IOMMU_READ }, true,
	  -VIRTQ_EACCES },
	{ "readable_in_writeonly_mapping", { 0, 4096, BUF_GPA, VIRTQ_IOMMU_WRITE }, false,
	  -VIRTQ_EACCES },
	{ "empty_mapping", { 0, 0, BUF_GPA, RW }, false, -VIRTQ_EBADADDR },
	{ "mapping_without_the_iova", { 1, 4096, BUF_GPA, RW }, false, -VIRTQ_EBADADDR },
	{ "iova_range_wraps", { UINT64_MAX - 100, 4096, BUF_GPA, RW }, false, -VIRTQ_EOVERFLOW },
	{ "gpa_range_wraps", { 0, 4096, UINT64_MAX - 100, RW }, false, -VIRTQ_EOVERFLOW },
	{ "gpa_outside_guest_memory", { 0, 4096, 64 * MiB, RW }, false, -VIRTQ_EBADADDR },
	{ "gpa_runs_out_of_guest_memory", { 0, 4096, MiB - 8, RW }, false, -VIRTQ_EBADADDR },
	/* as large as the IOVA space after the buffer allows, wrapping nowhere */
	{ "huge_mapping_runs_out_of_memory", { 0, UINT64_MAX - UINT64_C(0x500000000000), MiB - 8, RW },
	  true, -VIRTQ_EBADADDR },
};

static void test_bad_output(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	const struct bad_output *bo = f->param;
	const uint64_t buf_iova = UINT64_C(0x500000000000);
	desc(f, 0, bo->map.iova == 1 ? iova(BUF_GPA) : buf_iova, 64, bo->writable ? F_WRITE : 0, 0);
	offer(f, 0);
	x->t.forced = true;
	x->t.forced_map = bo->map;
	if (bo->map.iova == 0)
		x->t.forced_map.iova = buf_iova;
	if (bo->map.iova == 1)
		x->t.forced_map.iova = iova(BUF_GPA) + 4096; /* starts after the IOVA */
	assert_err(virtq_mock_snapshot(&f->m), 0);
	fixture_expect_fatal(f, bo->err);
}

static int bad_output_setup(void **state)
{
	const struct bad_output *bo = *state;
	int r = setup(state);
	if (!r)
		((struct iommu_fixture *)*state)->f.param = bo;
	return r;
}

/* Rings at activation: a miss, the wrong access, two mappings. */
static void test_rings_at_activation(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	virtq_mock_iommu_init(&x->t);
	assert_err(configure(x), -VIRTQ_EAGAIN);
	assert_false(virtq_is_active(&f->q));
	assert_int_equal(x->t.last_miss, iova(f->m.cfg.desc_gpa));
	/* used ring readable only */
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE, 2 * 4096, 0, VIRTQ_IOMMU_READ), 0);
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE + 2 * 4096, 4096, 2 * 4096,
					VIRTQ_IOMMU_READ), 0);
	assert_err(configure(x), -VIRTQ_EACCES);
	/* used ring across two mappings */
	virtq_mock_iommu_init(&x->t);
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE, 2 * 4096 + 16, 0, RW), 0);
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE + 2 * 4096 + 16, MiB, 2 * 4096 + 16, RW),
		   0);
	assert_err(configure(x), -VIRTQ_EBADADDR);
	virtq_mock_iommu_init(&x->t);
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE, MiB, 0, RW), 0);
	assert_err(configure(x), 0);
	/* ACCESS_PLATFORM without a translator: refused */
	f->m.cfg.features |= VIRTQ_FEATURE(VIRTQ_F_ACCESS_PLATFORM);
	assert_err(virtq_mock_attach(&f->m, &f->q), -VIRTQ_ENOTSUP);
	assert_err(virtq_set_iommu(&f->q, &(struct virtq_iommu){ NULL, NULL }), -VIRTQ_EINVAL);
}

/* An invalidation that meets a ring: re-translated at the next call. */
static void test_ring_invalidation(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	uint64_t r, w;
	const uint64_t used_iova = iova(f->m.cfg.used_gpa);
	post_pair(f, 0, &r, &w);
	/* the used ring moves: its IOVA now maps the same GPA through another entry */
	virtq_mock_iommu_init(&x->t);
	assert_err(virtq_iommu_invalidate(&f->q, used_iova, 4096), 0);
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EAGAIN); /* miss: still stale */
	assert_err(virtq_add_used(&f->q, 0, 0), -VIRTQ_EAGAIN);
	assert_int_equal(virtq_next_avail(&f->q), 0);
	assert_err(virtq_mock_iommu_map(&x->t, IOVA_BASE, MiB, 0, RW), 0);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EAGAIN); /* re-translated, nothing done */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	/* a range that meets no ring changes nothing */
	assert_err(virtq_iommu_invalidate(&f->q, IOVA_BASE + 512 * 1024, 4096), 0);
	assert_err(virtq_pop(&f->q, &f->c), 0);
	/* a ring that translates badly now breaks the queue */
	assert_err(virtq_iommu_invalidate(&f->q, used_iova, 1), 0);
	x->t.forced = true;
	x->t.forced_map = (struct virtq_iommu_map){ used_iova, 4096, 64 * MiB, RW };
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBADADDR);
	assert_true(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBROKEN);
}

/* Without ACCESS_PLATFORM the translator is never asked. */
static void test_unused_without_feature(void **state)
{
	(void)state;
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtq_mock_iommu t;
	virtq_mock_iommu_init(&t);
	t.forced = true; /* garbage if ever asked */
	fixture_config(&f->cfg);
	assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
	virtq_chain_init(&f->c, f->segs, FIXTURE_SEGS);
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
	assert_err(virtq_set_iommu(&f->q, &t.iommu), 0);
	assert_err(virtq_activate(&f->q), 0);
	assert_err(virtq_set_iommu(&f->q, NULL), -VIRTQ_EINVAL); /* active */
	fixture_post(f, 16, 16, VIRTQ_MOCK_INDIRECT);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(t.misses, 0);
	fixture_stop(f);
	free(f);
}

/* The dirty log is in guest-physical pages, whatever the IOVAs. */
static void test_logged_at_gpa(void **state)
{
	struct iommu_fixture *x = *state;
	struct fixture *f = &x->f;
	static uint64_t words[VIRTQ_LOG_BYTES(MiB) / 8];
	struct virtq_log log;
	struct virtq_cursor cur;
	uint64_t r, w, bad = 0;
	memset(words, 0, sizeof(words));
	assert_err(virtq_log_init(&log, &f->m.mem, words, sizeof(words)), 0);
	assert_err(virtq_set_log(&f->q, &log), 0);
	virtq_log_set_enabled(&log, true);
	post_pair(f, 0, &r, &w);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	virtq_chain_writer(&cur, &f->c);
	assert_err(virtq_chain_write(&cur, "reply", 5), 5);
	assert_err(virtq_add_used(&f->q, f->c.id, 5), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	if (virtq_mock_check_dirty(&f->m, &log, &bad))
		fail_msg("byte 0x%llx written, not logged", (unsigned long long)bad);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(bad_outputs) / sizeof(bad_outputs[0]) + 11];
	size_t n = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_translated_chain, setup,
									 teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_miss_keeps_chain, setup,
									 teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
		test_invalidation_between_pops, setup, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_split_across_mappings,
									 setup, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_indirect_table, setup,
									 teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_overlapping_mappings,
									 setup, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
		test_permission_flip_between_pops, setup, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_rings_at_activation,
									 setup, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_ring_invalidation, setup,
									 teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_unused_without_feature);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_logged_at_gpa, setup,
									 teardown);
	for (size_t i = 0; i < sizeof(bad_outputs) / sizeof(bad_outputs[0]); i++)
		tests[n++] = (struct CMUnitTest){ .name = bad_outputs[i].name,
						  .test_func = test_bad_output,
						  .setup_func = bad_output_setup,
						  .teardown_func = teardown,
						  .initial_state = (void *)(uintptr_t)&bad_outputs[i] };
	return cmocka_run_group_tests_name("iommu translation", tests, NULL, NULL);
}

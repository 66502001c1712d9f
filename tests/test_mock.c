/* SPDX-License-Identifier: MIT */
/* The mock driver is tested like library code (vm-virtio's mock had an
 * out-of-bounds bug and overlapping rings; ours must not). */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* For every queue size: rings inside region 0, pairwise disjoint (event
 * fields included), buffer area after them. */
static void test_layout_all_sizes(void **state)
{
	(void)state;
	for (uint32_t size = 1; size <= VIRTQ_MAX_SIZE; size *= 2) {
		struct virtq_mock_config cfg;
		struct virtq_mock m;
		struct virtq q;
		virtq_mock_config_default(&cfg);
		cfg.queue_size = size;
		cfg.regions[0].size = 4u << 20;
		assert_err(virtq_mock_init(&m, &cfg), 0);
		const uint64_t d = m.cfg.desc_gpa, a = m.cfg.avail_gpa, u = m.cfg.used_gpa;
		const uint64_t dl = VIRTQ_DESC_TABLE_BYTES(size), al = VIRTQ_AVAIL_RING_BYTES(size),
			       ul = VIRTQ_USED_RING_BYTES(size);
		assert_false(overlaps(d, dl, a, al));
		assert_false(overlaps(d, dl, u, ul));
		assert_false(overlaps(a, al, u, ul));
		assert_true(m.cfg.buf_gpa >= u + ul);
		assert_true(m.cfg.buf_gpa <= m.cfg.buf_end);
		assert_err(virtq_mock_attach(&m, &q), 0);
		virtq_mock_destroy(&m);
	}
}

static void test_post_and_recycle(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	/* Far more chains than descriptors: the free list must recycle. */
	for (uint32_t round = 0; round < 1000; round++) {
		int head = fixture_post(f, 8, 8, round % 3 == 0 ? VIRTQ_MOCK_INDIRECT : 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_int_equal(f->c.id, head);
		assert_err(virtq_add_used(&f->q, f->c.id, round), 0);
		virtq_publish_used(&f->q);
		assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
		assert_int_equal(id, head);
		assert_int_equal(len, round);
		assert_int_equal(f->m.num_free, 8);
		virtq_mock_alloc_reset(&f->m);
	}
}

static void test_descriptor_exhaustion(void **state)
{
	struct fixture *f = *state;
	struct virtq_mock_buf b[3] = { { f->m.cfg.buf_gpa, 1, false } };
	b[1] = b[2] = b[0];
	for (int i = 0; i < 2; i++)
		assert_true(virtq_mock_add_chain(&f->m, b, 3, 0) >= 0);
	assert_err(virtq_mock_add_chain(&f->m, b, 3, 0), -VIRTQ_ENOSPC);
	assert_true(virtq_mock_add_chain(&f->m, b, 2, 0) >= 0);
	assert_err(virtq_mock_add_chain(&f->m, b, 1, 0), -VIRTQ_ENOSPC);
	assert_err(virtq_mock_add_chain(&f->m, b, 0, 0), -VIRTQ_EINVAL);
	assert_int_equal(f->m.num_free, 0);
}

static void test_write_checker(void **state)
{
	struct fixture *f = *state;
	uint64_t bad = 0, w = fixture_buf(f, 16, 0), other = fixture_buf(f, 16, 0);
	struct virtq_mock_buf b = { w, 16, true };
	assert_true(virtq_mock_add_chain(&f->m, &b, 1, 0) >= 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	/* "device" writes go straight to host memory */
	memset(virtq_mock_host(&f->m, w, 16), 'x', 16);                 /* writable buffer */
	memset(virtq_mock_host(&f->m, f->m.cfg.used_gpa, 8), 'x', 8);   /* used ring */
	assert_err(virtq_mock_check_writes(&f->m, &bad), 0);
	memset(virtq_mock_host(&f->m, other + 3, 1), 'x', 1);
	assert_err(virtq_mock_check_writes(&f->m, &bad), 1);
	assert_int_equal(bad, other + 3);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	memset(virtq_mock_host(&f->m, f->m.cfg.avail_gpa, 1), 'x', 1); /* driver's ring */
	assert_err(virtq_mock_check_writes(&f->m, &bad), 1);
	assert_int_equal(bad, f->m.cfg.avail_gpa);
	/* the driver's own writes after the snapshot are not the device's */
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_mock_fill(&f->m, other, 'y', 16), 0);
	assert_err(virtq_mock_set_avail_idx(&f->m, 5), 0);
	assert_err(virtq_mock_check_writes(&f->m, &bad), 0);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void test_guard_bytes(void **state)
{
	(void)state;
#ifdef UNDER_ASAN
	skip(); /* the slack is poisoned: ASan reports the stray write itself */
#else
	struct virtq_mock_config cfg;
	struct virtq_mock m;
	virtq_mock_config_default(&cfg);
	cfg.regions[0].size = (1u << 20) - 100; /* leaves slack before the guard page */
	assert_err(virtq_mock_init(&m, &cfg), 0);
	assert_true(virtq_mock_guards_intact(&m));
	unsigned char *end = virtq_mock_host(&m, cfg.regions[0].size - 1, 1);
	end[1] = 0; /* one byte past the region */
	assert_false(virtq_mock_guards_intact(&m));
	end[1] = VIRTQ_MOCK_GUARD_BYTE;
	virtq_mock_destroy(&m);
#endif
}

static void test_bad_configs(void **state)
{
	(void)state;
	struct virtq_mock_config cfg;
	struct virtq_mock m;
	virtq_mock_config_default(&cfg);
	cfg.nregions = 0;
	assert_err(virtq_mock_init(&m, &cfg), -VIRTQ_EINVAL);
	virtq_mock_config_default(&cfg);
	cfg.regions[0].size = 0;
	assert_err(virtq_mock_init(&m, &cfg), -VIRTQ_EINVAL);
	virtq_mock_config_default(&cfg);
	cfg.nregions = 2;
	cfg.regions[1] = (struct virtq_mock_region){ .gpa = 4096, .size = 4096 };
	assert_err(virtq_mock_init(&m, &cfg), -VIRTQ_EINVAL); /* overlap */
	assert_err(virtq_mock_init(NULL, &cfg), -VIRTQ_EINVAL);
	/* A queue size activation refuses still gives a usable mock. */
	struct virtq q;
	virtq_mock_config_default(&cfg);
	cfg.queue_size = 3;
	assert_err(virtq_mock_init(&m, &cfg), 0);
	assert_err(virtq_mock_attach(&m, &q), -VIRTQ_EINVAL);
	virtq_mock_destroy(&m);
}

static void test_raw_writes_bounded(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa;
	assert_err(virtq_mock_set_desc(&f->m, 1u << 20, 0, 0, 0, 0), -VIRTQ_EBADADDR);
	assert_err(virtq_mock_write_desc_at(&f->m, UINT64_MAX - 3, 0, 0, 0, 0), -VIRTQ_EBADADDR);
	assert_err(virtq_mock_set_avail_entry(&f->m, UINT32_MAX, 0), -VIRTQ_EBADADDR);
	assert_err(virtq_mock_write(&f->m, (1u << 20) - 1, "ab", 2), -VIRTQ_EBADADDR);
	assert_true(virtq_mock_alloc(&f->m, UINT64_MAX, 16) == VIRTQ_MOCK_NOMEM);
	assert_true(virtq_mock_alloc(&f->m, 1, 3) == VIRTQ_MOCK_NOMEM);
	assert_true(virtq_mock_gpa_of(&f->m, virtq_mock_host(&f->m, 0x1234, 1), &gpa));
	assert_int_equal(gpa, 0x1234);
	assert_false(virtq_mock_gpa_of(&f->m, &gpa, NULL));
}

/* Out-of-range used ids from a buggy device are reported, not trusted. */
static void test_used_entries_checked(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	fixture_post(f, 4, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	/* A device without virtq's in-flight check writes an id the driver never
	 * posted (virtq itself refuses it: test_used.c), then used.idx 1. */
	assert_err(virtq_add_used(&f->q, 7, 1), -VIRTQ_EINVAL);
	const uint32_t elem[2] = { 7, 1 };
	const uint16_t one = 1;
	assert_err(virtq_mock_write(&f->m, f->m.cfg.used_gpa + 4, elem, sizeof(elem)), 0);
	assert_err(virtq_mock_write(&f->m, f->m.cfg.used_gpa + 2, &one, sizeof(one)), 0);
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	assert_int_equal(id, 7);
	assert_int_equal(f->m.num_free, 7); /* head 0 still held */
	/* a used.idx far ahead is refused */
	void *idx = virtq_mock_host(&f->m, f->m.cfg.used_gpa + 2, 2);
	uint16_t far = 100;
	memcpy(idx, &far, 2);
	assert_err(virtq_mock_get_used(&f->m, &id, &len), -VIRTQ_EBADIDX);
}

/* Reposting the same buffers forever keeps the allowed-write list bounded,
 * and merging ranges keeps exactly their union writable. */
static void test_allowed_ranges_bounded(void **state)
{
	struct fixture *f = *state;
	uint64_t bad = 0, w = fixture_buf(f, 32, 0);
	uint32_t id, len;
	struct virtq_mock_buf b[3] = { { w, 8, true }, { w + 8, 8, true }, { w + 20, 4, true } };
	for (uint32_t round = 0; round < 10000; round++) {
		assert_true(virtq_mock_add_chain(&f->m, b, 3, 0) >= 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
		virtq_publish_used(&f->q);
		assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	}
	assert_true(f->m.allowed_cap <= 64);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	memset(virtq_mock_host(&f->m, w, 16), 'x', 16);     /* [w, w+16): b[0] + b[1] */
	memset(virtq_mock_host(&f->m, w + 20, 4), 'x', 4); /* b[2] */
	assert_err(virtq_mock_check_writes(&f->m, &bad), 0);
	memset(virtq_mock_host(&f->m, w + 16, 1), 'x', 1); /* the hole between them */
	assert_err(virtq_mock_check_writes(&f->m, &bad), 1);
	assert_int_equal(bad, w + 16);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	memset(virtq_mock_host(&f->m, w + 24, 1), 'x', 1); /* just past b[2] */
	assert_err(virtq_mock_check_writes(&f->m, &bad), 1);
	assert_int_equal(bad, w + 24);
	/* one write running from an allowed range on into the hole: the check
	 * skips the allowed bytes as a run and must stop right after it */
	assert_err(virtq_mock_snapshot(&f->m), 0);
	memset(virtq_mock_host(&f->m, w + 4, 13), 'z', 13); /* [w+4, w+17) */
	assert_err(virtq_mock_check_writes(&f->m, &bad), 1);
	assert_int_equal(bad, w + 16);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	memset(virtq_mock_host(&f->m, w + 20, 5), 'z', 5); /* b[2] and one past */
	assert_err(virtq_mock_check_writes(&f->m, &bad), 1);
	assert_int_equal(bad, w + 24);
}

/* Driver-side interrupt suppression, without EVENT_IDX: the NO_INTERRUPT
 * flag, and enable re-checks the used ring. */
static void test_interrupts_without_event_idx(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	assert_err(virtq_mock_disable_interrupts(&f->m), 0);
	fixture_post(f, 4, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
	virtq_publish_used(&f->q);
	assert_err(virtq_needs_notify(&f->q), 0); /* suppressed */
	assert_err(virtq_mock_enable_interrupts(&f->m), 1); /* but pending: do not sleep */
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	assert_err(virtq_mock_enable_interrupts(&f->m), 0);
	fixture_post(f, 4, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
	virtq_publish_used(&f->q);
	assert_err(virtq_needs_notify(&f->q), 1);
	assert_err(virtq_mock_disable_interrupts(NULL), -VIRTQ_EINVAL);
	assert_err(virtq_mock_enable_interrupts(NULL), -VIRTQ_EINVAL);
}

/* With EVENT_IDX, enable sets used_event to the entries consumed; disable
 * leaves it, so the device interrupts once more at most. */
static void test_interrupts_with_event_idx(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	fixture_stop(f);
	f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	fixture_start(f);
	for (int i = 0; i < 3; i++) {
		fixture_post(f, 4, 0, 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
		virtq_publish_used(&f->q);
		assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	}
	virtq_needs_notify(&f->q); /* decided up to 3 */
	assert_err(virtq_mock_enable_interrupts(&f->m), 0);
	fixture_post(f, 4, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
	virtq_publish_used(&f->q);
	assert_err(virtq_needs_notify(&f->q), 1); /* crosses used_event 3 */
	assert_err(virtq_mock_disable_interrupts(&f->m), 0);
	fixture_post(f, 4, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
	virtq_publish_used(&f->q);
	assert_err(virtq_needs_notify(&f->q), 0); /* used_event 3 already passed */
	assert_err(virtq_mock_enable_interrupts(&f->m), 1); /* two entries pending */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_all_sizes),
		T(test_post_and_recycle),
		T(test_descriptor_exhaustion),
		T(test_write_checker),
		cmocka_unit_test(test_guard_bytes),
		cmocka_unit_test(test_bad_configs),
		T(test_raw_writes_bounded),
		T(test_used_entries_checked),
		T(test_allowed_ranges_bounded),
		T(test_interrupts_without_event_idx),
		T(test_interrupts_with_event_idx),
	};
	return cmocka_run_group_tests_name("mock driver", tests, NULL, NULL);
}

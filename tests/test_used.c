/* SPDX-License-Identifier: MIT */
/* Used ring and notifications: add_used, publish, needs/enable/disable notify. */
#include <stdlib.h>

#include "fixture.h"

#define EVENT_IDX VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)

static int setup_event_idx(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	fixture_config(&f->cfg);
	f->cfg.features |= EVENT_IDX;
	fixture_start(f);
	*state = f;
	return 0;
}

/* One request through the device: post, pop, add_used(len) -- not published.
 * One writable descriptor at a fixed address, so long runs allocate nothing. */
static uint16_t serve_one(struct fixture *f, uint32_t len)
{
	struct virtq_mock_buf b = { f->m.cfg.buf_gpa, 16, true };
	assert_true(virtq_mock_add_chain(&f->m, &b, 1, 0) >= 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, f->c.id, len), 0);
	return f->c.id;
}

static void test_add_used_and_publish(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	uint16_t heads[3];
	assert_err(virtq_mock_snapshot(&f->m), 0);
	for (uint32_t i = 0; i < 3; i++)
		heads[i] = serve_one(f, 10 + i);
	assert_int_equal(virtq_mock_used_idx(&f->m), 0); /* not yet published */
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 0);
	assert_err(virtq_publish_used(&f->q), 3);
	assert_err(virtq_publish_used(&f->q), 0);
	assert_int_equal(virtq_mock_used_idx(&f->m), 3);
	for (uint32_t i = 0; i < 3; i++) {
		assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
		assert_int_equal(id, heads[i]);
		assert_int_equal(len, 10 + i);
	}
	assert_int_equal(virtq_in_flight(&f->q), 0);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	assert_true(virtq_mock_guards_intact(&f->m));
}

static void test_add_used_misuse(void **state)
{
	struct fixture *f = *state;
	assert_err(virtq_add_used(&f->q, 0, 0), -VIRTQ_EINVAL); /* nothing in flight */
	fixture_post(f, 4, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, 8, 0), -VIRTQ_EINVAL); /* id >= size */
	assert_err(virtq_add_used(&f->q, UINT16_MAX, 0), -VIRTQ_EINVAL);
	assert_err(virtq_add_used(NULL, 0, 0), -VIRTQ_EINVAL);
	assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
	assert_false(virtq_is_broken(&f->q));
}

/*
 * A device that never publishes cannot overwrite unpublished entries: with
 * size entries unpublished every head is taken, so there is nothing left to
 * complete, and a driver reposting a head it has not got back is refused.
 */
static void test_full_unpublished_ring_published(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	for (uint16_t i = 0; i < 8; i++)
		serve_one(f, i);
	assert_int_equal(virtq_mock_used_idx(&f->m), 0);
	for (uint16_t head = 0; head < 8; head++)
		assert_err(virtq_add_used(&f->q, head, 99), -VIRTQ_EINVAL);
	virtq_mock_set_avail_entry(&f->m, 0, 0);
	virtq_mock_set_avail_idx(&f->m, 9);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBADIDX);
	assert_int_equal(virtq_mock_used_idx(&f->m), 0);
	for (uint32_t slot = 0; slot < 8; slot++) {
		assert_err(virtq_mock_used_elem(&f->m, slot, &id, &len), 0);
		assert_int_equal(len, slot); /* every entry as serve_one wrote it */
	}
}

static void test_notify_without_event_idx(void **state)
{
	struct fixture *f = *state;
	assert_err(virtq_needs_notify(&f->q), 1); /* first decision: notify */
	assert_err(virtq_needs_notify(&f->q), 0); /* nothing new */
	serve_one(f, 1);
	assert_err(virtq_needs_notify(&f->q), 0); /* added, not published */
	virtq_publish_used(&f->q);
	assert_err(virtq_needs_notify(&f->q), 1);
	virtq_mock_set_avail_flags(&f->m, VIRTQ_AVAIL_F_NO_INTERRUPT);
	serve_one(f, 1);
	virtq_publish_used(&f->q);
	assert_err(virtq_needs_notify(&f->q), 0);
	virtq_mock_set_avail_flags(&f->m, 0);
	serve_one(f, 1);
	virtq_publish_used(&f->q);
	assert_err(virtq_needs_notify(&f->q), 1);
}

/* used_event is honoured and NO_INTERRUPT ignored when EVENT_IDX is on. */
static void test_notify_with_event_idx(void **state)
{
	struct fixture *f = *state;
	virtq_mock_set_avail_flags(&f->m, VIRTQ_AVAIL_F_NO_INTERRUPT);
	serve_one(f, 1);
	virtq_publish_used(&f->q);
	assert_err(virtq_needs_notify(&f->q), 1); /* first decision */
	virtq_mock_set_used_event(&f->m, 2); /* interrupt when entry 2 is used */
	serve_one(f, 1);
	virtq_publish_used(&f->q); /* used idx 1 -> 2: entry 1 */
	assert_err(virtq_needs_notify(&f->q), 0);
	serve_one(f, 1);
	serve_one(f, 1);
	virtq_publish_used(&f->q); /* 2 -> 4 crosses 2 */
	assert_err(virtq_needs_notify(&f->q), 1);
	assert_err(virtq_needs_notify(&f->q), 0);
}

static void test_need_event_table(void **state)
{
	(void)state;
	static const struct {
		uint16_t event, new_idx, old_idx;
		bool want;
	} rows[] = {
		{ 0, 1, 0, true },          { 1, 1, 0, false },        { 0, 0, 0, false },
		{ 5, 10, 0, true },         { 10, 10, 0, false },      { 9, 10, 9, true },
		{ 65535, 0, 65535, true },  { 65535, 0, 65534, true }, { 0, 0, 65535, false },
		{ 65534, 2, 65530, true },  { 2, 2, 65530, false },    { 1, 2, 65530, true },
		{ 65529, 2, 65530, false }, { 0, 1, 1, false },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (virtq_need_event(rows[i].event, rows[i].new_idx, rows[i].old_idx) != rows[i].want)
			fail_msg("need_event(%u, %u, %u) != %d", rows[i].event, rows[i].new_idx,
				 rows[i].old_idx, rows[i].want);
}

/* 16-bit wraparound of every index: run the queue past 65535 twice, with the
 * driver asking for an interrupt after every odd-numbered entry. */
static void test_event_idx_wraparound(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len, notified = 0;
	virtq_needs_notify(&f->q);
	for (uint32_t i = 1; i <= 2 * 65536 + 10; i++) {
		/* Entry i-1 is written now; used_event names the entry after
		 * which the driver wants an interrupt. */
		virtq_mock_set_used_event(&f->m, (uint16_t)((i - 1) & ~1u));
		serve_one(f, i);
		assert_err(virtq_publish_used(&f->q), 1);
		int want = (i & 1u) == 1u;
		if (virtq_needs_notify(&f->q) != want)
			fail_msg("entry %u: notify != %d", i, want);
		notified += (uint32_t)want;
		assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
		assert_int_equal(len, i);
		assert_int_equal(virtq_mock_avail_event(&f->m), (uint16_t)i);
	}
	assert_int_equal(virtq_mock_used_idx(&f->m), (uint16_t)(2 * 65536 + 10));
	assert_int_equal(notified, (2 * 65536 + 10 + 1) / 2);
}

static void test_enable_disable_without_event_idx(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(virtq_mock_used_flags(&f->m), 0);
	assert_err(virtq_disable_notify(&f->q), 0);
	assert_int_equal(virtq_mock_used_flags(&f->m), VIRTQ_USED_F_NO_NOTIFY);
	fixture_post(f, 4, 0, 0);
	assert_false(virtq_mock_should_kick(&f->m));
	assert_err(virtq_enable_notify(&f->q), 1); /* a buffer arrived meanwhile */
	assert_int_equal(virtq_mock_used_flags(&f->m), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_enable_notify(&f->q), 0);
	fixture_post(f, 4, 0, 0);
	assert_true(virtq_mock_should_kick(&f->m));
}

static void test_enable_disable_with_event_idx(void **state)
{
	struct fixture *f = *state;
	fixture_post(f, 4, 0, 0);
	assert_true(virtq_mock_should_kick(&f->m)); /* avail_event 0 crossed */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(virtq_mock_avail_event(&f->m), 1); /* pop moves it on */
	assert_err(virtq_disable_notify(&f->q), 0);
	assert_int_equal(virtq_mock_used_flags(&f->m), 0); /* flags unused with EVENT_IDX */
	fixture_post(f, 4, 0, 0);
	assert_true(virtq_mock_should_kick(&f->m)); /* hint only: event 1 was crossed */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(virtq_mock_avail_event(&f->m), 1); /* frozen while disabled */
	fixture_post(f, 4, 0, 0);
	assert_false(virtq_mock_should_kick(&f->m));
	assert_err(virtq_enable_notify(&f->q), 1);
	assert_int_equal(virtq_mock_avail_event(&f->m), 2);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_enable_notify(&f->q), 0);
	assert_int_equal(virtq_mock_avail_event(&f->m), 3);
	fixture_post(f, 4, 0, 0);
	assert_true(virtq_mock_should_kick(&f->m));
}

static void test_datapath_misuse(void **state)
{
	struct fixture *f = *state;
	struct virtq idle;
	assert_err(virtq_publish_used(NULL), -VIRTQ_EINVAL);
	assert_err(virtq_needs_notify(NULL), -VIRTQ_EINVAL);
	assert_err(virtq_enable_notify(NULL), -VIRTQ_EINVAL);
	assert_err(virtq_disable_notify(NULL), -VIRTQ_EINVAL);
	assert_err(virtq_init(&idle, &f->m.mem, 8), 0);
	assert_err(virtq_add_used(&idle, 0, 0), -VIRTQ_ENOTREADY);
	assert_err(virtq_publish_used(&idle), -VIRTQ_ENOTREADY);
	assert_err(virtq_needs_notify(&idle), -VIRTQ_ENOTREADY);
	assert_err(virtq_enable_notify(&idle), -VIRTQ_ENOTREADY);
	assert_err(virtq_disable_notify(&idle), -VIRTQ_ENOTREADY);
	assert_false(virtq_is_broken(NULL));
	assert_false(virtq_is_active(NULL));
	assert_int_equal(virtq_in_flight(NULL), 0);
	assert_int_equal(virtq_size(NULL), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
#define E(fn) cmocka_unit_test_setup_teardown(fn, setup_event_idx, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_add_used_and_publish),
		T(test_add_used_misuse),
		T(test_full_unpublished_ring_published),
		T(test_notify_without_event_idx),
		E(test_notify_with_event_idx),
		cmocka_unit_test(test_need_event_table),
		E(test_event_idx_wraparound),
		T(test_enable_disable_without_event_idx),
		E(test_enable_disable_with_event_idx),
		T(test_datapath_misuse),
	};
	return cmocka_run_group_tests_name("used ring and notifications", tests, NULL, NULL);
}

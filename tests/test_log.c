/* SPDX-License-Identifier: MIT */
/*
 * Dirty-page logging (log.h): the vhost-user bit layout, the rules of the
 * log itself, and that every guest byte virtq or a cursor writes lies in a
 * page whose bit is set (virtq_mock_check_dirty), with logging switched on;
 * nothing is set while it is off.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define MiB (UINT64_C(1) << 20)
#define PAGE VIRTQ_LOG_PAGE_SIZE
#define LOG_WORDS (VIRTQ_LOG_BYTES(MiB) / 8) /* the fixture's 1 MiB */

struct log_fixture {
	struct fixture f;
	struct virtq_log log;
	uint64_t words[LOG_WORDS + 1]; /* one canary word after the log */
};

static bool bit(const uint64_t *words, uint64_t gpa)
{
	const uint64_t page = gpa / PAGE;
	unsigned char byte;
	memcpy(&byte, (const unsigned char *)words + page / 8, 1); /* byte view: LE words */
	return byte >> (page % 8) & 1;
}

static bool log_empty(const struct log_fixture *lf)
{
	for (size_t i = 0; i < LOG_WORDS; i++)
		if (lf->words[i])
			return false;
	return true;
}

static void start(struct log_fixture *lf, uint64_t features)
{
	fixture_config(&lf->f.cfg);
	lf->f.cfg.features |= features;
	/* used.idx in one page, the elements from the second on in the next:
	 * each write's own logging is needed */
	lf->f.cfg.used_gpa = 3 * PAGE - 8;
	fixture_start(&lf->f);
	memset(lf->words, 0, sizeof(lf->words));
	lf->words[LOG_WORDS] = UINT64_C(0x5a5a5a5a5a5a5a5a);
	assert_err(virtq_log_init(&lf->log, &lf->f.m.mem, lf->words, LOG_WORDS * 8), 0);
	assert_err(virtq_set_log(&lf->f.q, &lf->log), 0);
}

static int setup(void **state)
{
	struct log_fixture *lf = calloc(1, sizeof(*lf));
	if (!lf)
		return -1;
	start(lf, 0);
	*state = lf;
	return 0;
}

static int setup_event_idx(void **state)
{
	struct log_fixture *lf = calloc(1, sizeof(*lf));
	if (!lf)
		return -1;
	start(lf, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX));
	*state = lf;
	return 0;
}

static int teardown(void **state)
{
	struct log_fixture *lf = *state;
	assert_int_equal(lf->words[LOG_WORDS], UINT64_C(0x5a5a5a5a5a5a5a5a));
	fixture_stop(&lf->f);
	free(lf);
	return 0;
}

static void expect_all_logged(struct log_fixture *lf)
{
	uint64_t bad = 0;
	if (virtq_mock_check_dirty(&lf->f.m, &lf->log, &bad))
		fail_msg("guest byte 0x%llx changed, its page is not logged", (unsigned long long)bad);
}

/* One request/response round, everything virtq writes. */
static void device_round(struct fixture *f, uint32_t wlen)
{
	struct virtq_cursor w;
	unsigned char reply[3000];
	memset(reply, 'w', sizeof(reply));
	fixture_post(f, 16, wlen, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	virtq_chain_writer(&w, &f->c);
	assert_err(virtq_chain_write(&w, reply, wlen < sizeof(reply) ? wlen : sizeof(reply)),
		   wlen < sizeof(reply) ? wlen : sizeof(reply));
	assert_err(virtq_add_used(&f->q, f->c.id, (uint32_t)virtq_chain_offset(&w)), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_disable_notify(&f->q), 0);
	assert_err(virtq_enable_notify(&f->q), 0);
	uint32_t id, len;
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
}

static void test_everything_logged(void **state)
{
	struct log_fixture *lf = *state;
	virtq_log_set_enabled(&lf->log, true);
	assert_true(virtq_log_enabled(&lf->log));
	assert_err(virtq_mock_snapshot(&lf->f.m), 0);
	for (int i = 0; i < 20; i++)
		device_round(&lf->f, 100 + 997u * (uint32_t)i); /* buffers across pages */
	expect_all_logged(lf);
	/* the used ring's pages in particular: element, idx, flags */
	assert_true(bit(lf->words, lf->f.m.cfg.used_gpa));
	/* the oracle can fail: clear the log and it names a written byte */
	memset(lf->words, 0, LOG_WORDS * 8);
	assert_err(virtq_mock_check_dirty(&lf->f.m, &lf->log, NULL), 1);
}

static void test_event_idx_fields_logged(void **state)
{
	test_everything_logged(state);
}

static void test_off_logs_nothing(void **state)
{
	struct log_fixture *lf = *state;
	assert_false(virtq_log_enabled(&lf->log));
	for (int i = 0; i < 5; i++)
		device_round(&lf->f, 64);
	assert_true(log_empty(lf));
}

/* A chain popped while logging was off is logged once it is on. */
static void test_switch_on_with_chain_in_flight(void **state)
{
	struct log_fixture *lf = *state;
	struct fixture *f = &lf->f;
	struct virtq_cursor w;
	fixture_post(f, 0, 64, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	virtq_log_set_enabled(&lf->log, true);
	virtq_chain_writer(&w, &f->c);
	assert_err(virtq_chain_write(&w, "data", 4), 4);
	assert_err(virtq_add_used(&f->q, f->c.id, 4), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	expect_all_logged(lf);
	uint64_t gpa;
	assert_true(virtq_mock_gpa_of(&f->m, f->c.segs[0].addr, &gpa));
	assert_true(bit(lf->words, gpa));
	/* and off again: nothing more */
	virtq_log_set_enabled(&lf->log, false);
	memset(lf->words, 0, LOG_WORDS * 8);
	device_round(f, 64);
	assert_true(log_empty(lf));
}

/* Direct writes (writev): the first n bytes of the writable part, no more. */
static void test_chain_log_written(void **state)
{
	struct log_fixture *lf = *state;
	struct fixture *f = &lf->f;
	const uint64_t buf = virtq_mock_alloc(&f->m, 3 * PAGE, PAGE);
	const uint64_t rbuf = fixture_buf(f, 16, 'r');
	struct virtq_mock_buf bufs[] = { { rbuf, 16, false }, { buf + PAGE - 8, 2 * PAGE, true } };
	virtq_log_set_enabled(&lf->log, true);
	assert_true(virtq_mock_add_chain(&f->m, bufs, 2, 0) >= 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_chain_log_written(&f->c, 2 * PAGE + 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_log_written(NULL, 0), -VIRTQ_EINVAL);
	assert_true(log_empty(lf));
	assert_err(virtq_chain_log_written(&f->c, 0), 0);
	assert_true(log_empty(lf));
	assert_err(virtq_chain_log_written(&f->c, 8), 0); /* the first page only */
	assert_true(bit(lf->words, buf));
	assert_false(bit(lf->words, buf + PAGE));
	assert_false(bit(lf->words, rbuf)); /* readable part: not written */
	assert_err(virtq_chain_log_written(&f->c, 9), 0); /* one byte into the next */
	assert_true(bit(lf->words, buf + PAGE));
	assert_false(bit(lf->words, buf + 2 * PAGE));
	assert_err(virtq_chain_log_written(&f->c, 2 * PAGE), 0);
	assert_true(bit(lf->words, buf + 2 * PAGE));
}

/* The bit layout and the rules of the log itself. */
static void test_log_rules(void **state)
{
	(void)state;
	static uint64_t words[4 + 1];
	static unsigned char backing[4096];
	struct virtq_mem_region slot;
	struct virtq_mem mem;
	struct virtq_log log;
	virtq_mem_init(&mem, &slot, 1);
	assert_err(virtq_mem_add_region(&mem, 0, sizeof(backing), backing), 0);
	assert_err(virtq_log_init(NULL, &mem, words, 32), -VIRTQ_EINVAL);
	assert_err(virtq_log_init(&log, NULL, words, 32), -VIRTQ_EINVAL);
	assert_err(virtq_log_init(&log, &mem, NULL, 32), -VIRTQ_EINVAL);
	assert_err(virtq_log_init(&log, &mem, (unsigned char *)words + 4, 24), -VIRTQ_EINVAL);
	assert_err(virtq_log_init(&log, &mem, words, 0), -VIRTQ_EINVAL);
	assert_err(virtq_log_init(&log, &mem, words, 12), -VIRTQ_EINVAL);
	assert_err(virtq_log_init(&log, &mem, words, 32), 0); /* 256 pages */
	assert_false(virtq_log_enabled(&log));
	words[4] = UINT64_MAX; /* canary */
	/* page N: bit N % 64 of word N / 64, little-endian */
	assert_err(virtq_log_range(&log, 0, 1), 0);
	assert_err(virtq_log_range(&log, 65 * PAGE + 17, 1), 0);
	assert_true(bit(words, 0));
	assert_true(bit(words, 65 * PAGE));
	unsigned char b[16];
	memcpy(b, words, sizeof(b));
	assert_int_equal(b[0], 1);
	assert_int_equal(b[8], 2);
	/* a range across a word boundary: pages 62..66 */
	memset(words, 0, 32);
	assert_err(virtq_log_range(&log, 62 * PAGE + 100, 4 * PAGE), 0);
	for (uint64_t p = 0; p < 256; p++)
		assert_int_equal(bit(words, p * PAGE), p >= 62 && p <= 66);
	/* all of it, the last page, one past it */
	assert_err(virtq_log_range(&log, 0, 256 * PAGE), 0);
	assert_err(virtq_log_range(&log, 255 * PAGE, PAGE), 0);
	memset(words, 0, 32);
	assert_err(virtq_log_range(&log, 255 * PAGE, PAGE + 1), -VIRTQ_ENOSPC);
	assert_err(virtq_log_range(&log, UINT64_MAX - PAGE, 2 * PAGE), -VIRTQ_EOVERFLOW);
	assert_err(virtq_log_range(&log, UINT64_MAX, 0), 0);
	assert_err(virtq_log_range(&log, UINT64_C(1) << 40, 1), -VIRTQ_ENOSPC);
	assert_err(virtq_log_range(NULL, 0, 1), -VIRTQ_EINVAL);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(words[i], 0); /* all or nothing */
	assert_int_equal(words[4], UINT64_MAX);
	assert_err(virtq_log_covers_mem(&log), 0);
	assert_int_equal(VIRTQ_LOG_BYTES(0), 0);
	assert_int_equal(VIRTQ_LOG_BYTES(1), 8);
	assert_int_equal(VIRTQ_LOG_BYTES(64 * PAGE), 8);
	assert_int_equal(VIRTQ_LOG_BYTES(64 * PAGE + 1), 16);
}

/* A log must cover the queue's memory map, and be for it. */
static void test_set_log_rules(void **state)
{
	struct log_fixture *lf = *state;
	struct fixture *f = &lf->f;
	struct virtq_log small, other;
	struct virtq_mem_region slot;
	struct virtq_mem mem;
	virtq_mem_init(&mem, &slot, 1);
	assert_err(virtq_log_init(&small, &f->m.mem, lf->words, VIRTQ_LOG_BYTES(MiB) - 8), 0);
	assert_err(virtq_log_covers_mem(&small), -VIRTQ_ENOSPC);
	assert_err(virtq_set_log(&f->q, &small), -VIRTQ_ENOSPC);
	assert_err(virtq_log_init(&other, &mem, lf->words, LOG_WORDS * 8), 0);
	assert_err(virtq_set_log(&f->q, &other), -VIRTQ_EINVAL);
	assert_err(virtq_set_log(NULL, &lf->log), -VIRTQ_EINVAL);
	assert_ptr_equal(f->q.log, &lf->log); /* refusals leave the queue's log */
	/* detach, and a reset keeps what is attached */
	assert_err(virtq_set_log(&f->q, NULL), 0);
	virtq_log_set_enabled(&lf->log, true);
	device_round(f, 64);
	assert_true(log_empty(lf));
	assert_err(virtq_set_log(&f->q, &lf->log), 0);
	virtq_reset(&f->q);
	assert_ptr_equal(f->q.log, &lf->log);
}

/* A memory map that outgrew the log after attaching: activation refuses. */
static void test_activation_checks_cover(void **state)
{
	(void)state;
	static _Alignas(4096) unsigned char ring_mem[2 * 4096];
	static unsigned char more[4096];
	static _Alignas(8) unsigned char area[VIRTQ_INFLIGHT_BYTES(8)];
	static uint64_t words[1]; /* 64 pages: [0, 256 KiB) */
	struct virtq_mem_region slots[2];
	struct virtq_mem mem;
	struct virtq_log log;
	struct virtq q;
	virtq_mem_init(&mem, slots, 2);
	assert_err(virtq_mem_add_region(&mem, 0, sizeof(ring_mem), ring_mem), 0);
	assert_err(virtq_init(&q, &mem, 8), 0);
	assert_err(virtq_set_inflight(&q, area, sizeof(area)), 0);
	assert_err(virtq_set_features(&q, VIRTQ_FEATURE(VIRTQ_F_VERSION_1)), 0);
	assert_err(virtq_set_addrs(&q, &(struct virtq_ring_addrs){ 0, 4096, 6144 }), 0);
	assert_err(virtq_log_init(&log, &mem, words, sizeof(words)), 0);
	assert_err(virtq_set_log(&q, &log), 0);
	assert_err(virtq_mem_add_region(&mem, 64 * PAGE, sizeof(more), more), 0);
	assert_err(virtq_activate(&q), -VIRTQ_ENOSPC);
	assert_false(virtq_is_active(&q));
	assert_err(virtq_set_log(&q, NULL), 0);
	assert_err(virtq_activate(&q), 0);
}

/* Host memory mapped at two guest addresses is dirty at both; a segment
 * that is not guest memory has nothing to log; a page beyond the log is an
 * error, and nothing is written outside the log. */
static void test_aliases_and_outside(void **state)
{
	(void)state;
	static unsigned char host[2 * 4096];
	static unsigned char not_guest[64];
	static uint64_t words[2 + 1]; /* pages [0, 128) */
	struct virtq_mem_region slots[2];
	struct virtq_mem mem;
	struct virtq_log log;
	struct virtq_seg segs[2];
	struct virtq_chain c;
	struct virtq_cursor w;
	virtq_mem_init(&mem, slots, 2);
	assert_err(virtq_mem_add_region(&mem, 0, sizeof(host), host), 0);
	assert_err(virtq_mem_add_region(&mem, 100 * PAGE, sizeof(host), host), 0); /* alias */
	assert_err(virtq_log_init(&log, &mem, words, 16), 0);
	virtq_log_set_enabled(&log, true);
	words[2] = UINT64_MAX;
	virtq_chain_init(&c, segs, 2);
	assert_err(virtq_chain_append(&c, not_guest, sizeof(not_guest), 1), 0);
	assert_err(virtq_chain_append(&c, host + 4096 - 2, 4, 1), 0);
	c.log = &log;
	unsigned char data[sizeof(not_guest) + 4];
	memset(data, 'd', sizeof(data));
	virtq_chain_writer(&w, &c);
	assert_err(virtq_chain_write(&w, data, sizeof(data)), sizeof(data));
	for (uint64_t p = 0; p < 128; p++)
		assert_int_equal(bit(words, p * PAGE), p == 0 || p == 1 || p == 100 || p == 101);
	memset(words, 0, 16);
	assert_err(virtq_chain_log_written(&c, sizeof(data)), 0);
	for (uint64_t p = 0; p < 128; p++)
		assert_int_equal(bit(words, p * PAGE), p == 0 || p == 1 || p == 100 || p == 101);
	assert_int_equal(words[2], UINT64_MAX);
	/* the alias beyond the log: its pages are an error, the others set */
	struct virtq_log small;
	uint64_t one = 0;
	assert_err(virtq_log_init(&small, &mem, &one, 8), 0);
	virtq_log_set_enabled(&small, true);
	c.log = &small;
	assert_err(virtq_chain_log_written(&c, sizeof(data)), -VIRTQ_ENOSPC);
	assert_int_equal(one, 3);
	one = 0;
	virtq_chain_writer(&w, &c);
	assert_err(virtq_chain_write(&w, data, sizeof(data)), -VIRTQ_ENOSPC);
	assert_int_equal(one, 3);
	assert_int_equal(words[2], UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_everything_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_fields_logged, setup_event_idx,
						teardown),
		cmocka_unit_test_setup_teardown(test_off_logs_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_on_with_chain_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_log_written, setup, teardown),
		cmocka_unit_test(test_log_rules),
		cmocka_unit_test_setup_teardown(test_set_log_rules, setup, teardown),
		cmocka_unit_test(test_activation_checks_cover),
		cmocka_unit_test(test_aliases_and_outside),
	};
	return cmocka_run_group_tests_name("dirty log", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Queue lifecycle (inflight.h, queue.h): completion only of chains in flight,
 * unpop only of the newest pops still in flight, the in-flight list in pop
 * order, ENOSPC and discard, resubmission, and resuming on the in-flight area
 * an earlier back-end left -- after a clean stop, after a crash in the middle
 * of a publish, and with every kind of corrupt area refused. Each rule with
 * its exact code; nothing written where a refusal says nothing is.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define SIZE 8u /* fixture_config() queue size */

/* ---- helpers --------------------------------------------------------------- */

/* The in-flight area by its documented layout (inflight.h), host order. */
static unsigned char *area(struct fixture *f) { return f->m.inflight; }
static unsigned char *entry(struct fixture *f, uint16_t head)
{
	return area(f) + 16 + 16 * (size_t)head;
}
static void put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* Posts n chains of one readable buffer (16 B) and one writable one (16 B),
 * each in an indirect table, so that size chains fit in the ring. */
static void post_n(struct fixture *f, int *heads, int n)
{
	for (int i = 0; i < n; i++)
		heads[i] = fixture_post(f, 16, 16, VIRTQ_MOCK_INDIRECT);
}

static void pop_expect(struct fixture *f, int head)
{
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, head);
}

static void expect_list(struct fixture *f, const int *want, int n)
{
	uint16_t got[SIZE];
	assert_err(virtq_in_flight_list(&f->q, got, SIZE), n);
	for (int i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("in-flight list[%d] = %u, expected %d", i, got[i], want[i]);
}

/* The driver takes the next used entry: it must be {id, len}. */
static void expect_used(struct fixture *f, int id, uint32_t len)
{
	uint32_t got_id, got_len;
	assert_err(virtq_mock_get_used(&f->m, &got_id, &got_len), 1);
	assert_int_equal(got_id, id);
	assert_int_equal(got_len, len);
}

static void expect_no_used(struct fixture *f)
{
	assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 0);
}

/* ---- completion ------------------------------------------------------------ */

/* The first finding: pop A, pop B, add_used(B), unpop. */
static void test_unpop_after_out_of_order_completion(void **state)
{
	struct fixture *f = *state;
	int h[3];
	post_n(f, h, 3);
	pop_expect(f, h[0]);
	pop_expect(f, h[1]);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[1], 1), 0);
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL); /* B was completed */
	pop_expect(f, h[2]);                           /* not B again */
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 2), 0); /* A can be completed */
	assert_err(virtq_add_used(&f->q, (uint16_t)h[2], 3), 0);
	assert_err(virtq_publish_used(&f->q), 3);
	expect_used(f, h[1], 1);
	expect_used(f, h[0], 2);
	expect_used(f, h[2], 3);
	expect_no_used(f);
}

/* An id not in flight: -VIRTQ_EINVAL, and not a byte of the used ring moves. */
static void test_add_used_only_in_flight(void **state)
{
	struct fixture *f = *state;
	int h[2];
	post_n(f, h, 2);
	pop_expect(f, h[0]);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	const unsigned char *used = virtq_mock_host(&f->m, f->m.cfg.used_gpa, 0);
	unsigned char before[VIRTQ_USED_RING_BYTES(SIZE)];
	memcpy(before, used, sizeof(before));
	assert_err(virtq_add_used(&f->q, (uint16_t)h[1], 9), -VIRTQ_EINVAL); /* posted, not popped */
	assert_err(virtq_add_used(&f->q, 7, 9), -VIRTQ_EINVAL);              /* never posted */
	assert_err(virtq_add_used(&f->q, SIZE, 9), -VIRTQ_EINVAL);           /* >= size */
	assert_err(virtq_publish_used(&f->q), 0);
	assert_true(memcmp(before, used, sizeof(before)) == 0);
	assert_int_equal(virtq_in_flight(&f->q), 1);
	assert_int_equal(virtq_next_used(&f->q), 0);
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 9), 0);
}

/* A second completion of the same chain, before and after publishing. */
static void test_double_completion(void **state)
{
	struct fixture *f = *state;
	int h[1];
	post_n(f, h, 1);
	pop_expect(f, h[0]);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 4), 0);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 5), -VIRTQ_EINVAL);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 6), -VIRTQ_EINVAL);
	assert_err(virtq_publish_used(&f->q), 0);
	expect_used(f, h[0], 4);
	expect_no_used(f);
}

/* ---- unpop ------------------------------------------------------------------ */

static void test_unpop_rules(void **state)
{
	struct fixture *f = *state;
	int h[4];
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL); /* nothing popped */
	post_n(f, h, 4);
	for (int i = 0; i < 4; i++)
		pop_expect(f, h[i]);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[1], 0), 0);
	assert_err(virtq_unpop(&f->q), 0); /* h[3] */
	assert_err(virtq_unpop(&f->q), 0); /* h[2] */
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL); /* h[1] was completed */
	int left[] = { h[0] };
	expect_list(f, left, 1);
	assert_int_equal(virtq_next_avail(&f->q), 2);
	pop_expect(f, h[2]);
	pop_expect(f, h[3]);
	assert_err(virtq_unpop(&f->q), 0); /* undoable again: popped just now */
	pop_expect(f, h[3]);
}

/* Unpop after discard: the newest pop was completed by the discard. */
static void test_unpop_after_discard(void **state)
{
	struct fixture *f = *state;
	int h[2];
	post_n(f, h, 2);
	pop_expect(f, h[0]);
	assert_err(virtq_discard(&f->q, NULL), 1);
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL);
	assert_err(virtq_pop(&f->q, &f->c), 0);
	int left[] = { h[0] };
	expect_list(f, left, 1);
}

/* ---- the in-flight list ------------------------------------------------------- */

static void test_in_flight_list_pop_order(void **state)
{
	struct fixture *f = *state;
	int h[5];
	uint16_t got[SIZE];
	post_n(f, h, 5);
	for (int i = 0; i < 5; i++)
		pop_expect(f, h[i]);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[2], 0), 0);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 0), 0);
	int want[] = { h[1], h[3], h[4] };
	expect_list(f, want, 3);
	assert_err(virtq_in_flight_list(&f->q, got, 2), -VIRTQ_ENOSPC);
	assert_err(virtq_in_flight_list(&f->q, NULL, 0), -VIRTQ_ENOSPC);
	assert_err(virtq_in_flight_list(&f->q, NULL, 3), -VIRTQ_EINVAL);
	assert_err(virtq_in_flight_list(NULL, got, SIZE), -VIRTQ_EINVAL);
	assert_err(virtq_publish_used(&f->q), 2);
	/* A reposted, completed head comes last: it was popped last. */
	expect_used(f, h[2], 0);
	expect_used(f, h[0], 0);
	int again = fixture_post(f, 16, 16, VIRTQ_MOCK_INDIRECT);
	pop_expect(f, again);
	int after[] = { h[1], h[3], h[4], again };
	expect_list(f, after, 4);
	struct virtq idle;
	assert_err(virtq_init(&idle, &f->m.mem, SIZE), 0);
	assert_err(virtq_in_flight_list(&idle, got, SIZE), -VIRTQ_ENOTREADY);
	assert_err(virtq_mock_set_avail_idx(&f->m, 100), 0);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBADIDX);
	assert_err(virtq_in_flight_list(&f->q, got, SIZE), -VIRTQ_EBROKEN);
}

/* ---- ENOSPC and discard ---------------------------------------------------------- */

/* Too few segments: the head and the count needed, the chain stays available. */
static void test_nospc_reports_head_and_need(void **state)
{
	struct fixture *f = *state;
	struct virtq_mock_buf bufs[5];
	for (int i = 0; i < 5; i++)
		bufs[i] = (struct virtq_mock_buf){ fixture_buf(f, 8, 'x'), 8, i >= 3 };
	int head = virtq_mock_add_chain(&f->m, bufs, 5, 0);
	struct virtq_seg small[2];
	struct virtq_chain c;
	virtq_chain_init(&c, small, 2);
	assert_err(virtq_pop(&f->q, &c), -VIRTQ_ENOSPC);
	assert_int_equal(c.id, head);
	assert_int_equal(c.needed, 5);
	assert_int_equal(c.ndesc, 5);
	assert_int_equal(c.nseg, 0);
	assert_int_equal(virtq_next_avail(&f->q), 0); /* still available */
	struct virtq_seg enough[5];
	virtq_chain_init(&c, enough, c.needed);
	assert_err(virtq_pop(&f->q, &c), 1);
	assert_int_equal(c.id, head);
	assert_int_equal(c.nseg, 5);
	assert_int_equal(c.needed, 5);
	assert_int_equal(c.nread, 3);
}

/* A malformed chain is fatal however long: ENOSPC only for a good one. */
static void test_nospc_not_for_malformed_chain(void **state)
{
	struct fixture *f = *state;
	struct virtq_seg small[1];
	struct virtq_chain c;
	uint64_t b = fixture_buf(f, 64, 'b');
	virtq_mock_set_desc(&f->m, 0, b, 8, VIRTQ_DESC_F_NEXT, 1);
	virtq_mock_set_desc(&f->m, 1, b + 8, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	virtq_mock_set_desc(&f->m, 2, b + 16, 8, 0, 0); /* readable after writable */
	virtq_mock_set_avail_entry(&f->m, 0, 0);
	virtq_mock_set_avail_idx(&f->m, 1);
	virtq_chain_init(&c, small, 1);
	assert_err(virtq_pop(&f->q, &c), -VIRTQ_EBADDESC);
	assert_int_equal(c.ndesc, 3);
	assert_int_equal(c.id, 0);
	assert_int_equal(c.needed, 0);
	assert_true(virtq_is_broken(&f->q));
}

/* Discard: consumes the chain, completes it with 0, the queue goes on. */
static void test_discard(void **state)
{
	struct fixture *f = *state;
	struct virtq_mock_buf bufs[3];
	for (int i = 0; i < 3; i++)
		bufs[i] = (struct virtq_mock_buf){ fixture_buf(f, 8, 'x'), 8, i == 2 };
	int big = virtq_mock_add_chain(&f->m, bufs, 3, 0);
	int next = fixture_post(f, 16, 16, VIRTQ_MOCK_INDIRECT);
	struct virtq_seg small[1];
	struct virtq_chain c;
	virtq_chain_init(&c, small, 1);
	assert_err(virtq_pop(&f->q, &c), -VIRTQ_ENOSPC);
	assert_err(virtq_discard(&f->q, &c), 1);
	assert_int_equal(c.id, big);
	assert_int_equal(c.needed, 3);
	assert_int_equal(c.ndesc, 3);
	assert_int_equal(c.nseg, 0);
	assert_int_equal(virtq_in_flight(&f->q), 0);
	assert_err(virtq_add_used(&f->q, (uint16_t)big, 1), -VIRTQ_EINVAL); /* completed */
	pop_expect(f, next);
	assert_err(virtq_publish_used(&f->q), 1);
	expect_used(f, big, 0);
	assert_err(virtq_discard(&f->q, &c), 0); /* empty */
	assert_int_equal(c.id, 0);
	assert_err(virtq_discard(NULL, &c), -VIRTQ_EINVAL);
	/* A chain of zero-length buffers needs no segment and is discarded too. */
	virtq_mock_set_desc(&f->m, 5, 0, 0, 0, 0);
	virtq_mock_set_avail_entry(&f->m, 2, 5);
	virtq_mock_set_avail_idx(&f->m, 3);
	assert_err(virtq_discard(&f->q, &c), 1);
	assert_int_equal(c.id, 5);
	assert_int_equal(c.needed, 0);
}

/* Discard checks the chain like pop: a malformed one is fatal. */
static void test_discard_malformed(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain c;
	virtq_chain_init(&c, NULL, 0);
	virtq_mock_set_desc(&f->m, 0, 0, 8, VIRTQ_DESC_F_NEXT, SIZE);
	virtq_mock_set_avail_entry(&f->m, 0, 0);
	virtq_mock_set_avail_idx(&f->m, 1);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_discard(&f->q, &c), -VIRTQ_EBADIDX);
	assert_int_equal(c.ndesc, 1);
	assert_true(virtq_is_broken(&f->q));
	assert_int_equal(virtq_mock_used_idx(&f->m), 0);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	assert_err(virtq_discard(&f->q, &c), -VIRTQ_EBROKEN);
}

/* All size chains in flight: discard is EBUSY like pop, and not fatal. */
static void test_discard_busy(void **state)
{
	struct fixture *f = *state;
	int h[SIZE];
	post_n(f, h, SIZE);
	for (unsigned i = 0; i < SIZE; i++)
		pop_expect(f, h[i]);
	virtq_mock_set_avail_idx(&f->m, SIZE + 1);
	assert_err(virtq_discard(&f->q, NULL), -VIRTQ_EBUSY);
	assert_false(virtq_is_broken(&f->q));
}

/* ---- resubmit ------------------------------------------------------------------ */

static void test_resubmit_rules(void **state)
{
	struct fixture *f = *state;
	int h[2];
	post_n(f, h, 2);
	pop_expect(f, h[0]);
	assert_err(virtq_resubmit(&f->q, (uint16_t)h[0], &f->c), 1);
	assert_int_equal(f->c.id, h[0]);
	assert_int_equal(f->c.read_len, 16);
	assert_int_equal(f->c.write_len, 16);
	assert_int_equal(virtq_in_flight(&f->q), 1); /* nothing moved */
	assert_int_equal(virtq_next_avail(&f->q), 1);
	assert_err(virtq_resubmit(&f->q, (uint16_t)h[1], &f->c), -VIRTQ_EINVAL); /* not popped */
	assert_err(virtq_resubmit(&f->q, SIZE, &f->c), -VIRTQ_EINVAL);
	assert_err(virtq_resubmit(&f->q, (uint16_t)h[0], NULL), -VIRTQ_EINVAL);
	struct virtq_seg one[1];
	struct virtq_chain c;
	virtq_chain_init(&c, one, 1);
	assert_err(virtq_resubmit(&f->q, (uint16_t)h[0], &c), -VIRTQ_ENOSPC);
	assert_int_equal(c.id, h[0]);
	assert_int_equal(c.needed, 2);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 0), 0);
	assert_err(virtq_resubmit(&f->q, (uint16_t)h[0], &f->c), -VIRTQ_EINVAL); /* completed */
	/* The guest rewrote a held chain: checked like a pop, fatal. */
	pop_expect(f, h[1]);
	virtq_mock_set_desc(&f->m, (uint32_t)h[1], UINT64_MAX - 3, 16, 0, 0);
	assert_err(virtq_resubmit(&f->q, (uint16_t)h[1], &f->c), -VIRTQ_EOVERFLOW);
	assert_true(virtq_is_broken(&f->q));
}

/* ---- resume ------------------------------------------------------------------------ */

/*
 * A back-end with history: h[0..4] popped, h[1] completed and published,
 * h[3] completed but not published, h[0], h[2], h[4] in flight.
 */
static void busy_back_end(struct fixture *f, int *h)
{
	post_n(f, h, 5);
	for (int i = 0; i < 5; i++)
		pop_expect(f, h[i]);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[1], 11), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[3], 33), 0);
	expect_used(f, h[1], 11);
}

/* The new process: a fresh struct virtq on the same guest and area. */
static int restart(struct fixture *f, uint16_t base)
{
	memset(&f->q, 0x5a, sizeof(f->q)); /* the old process is gone */
	return virtq_mock_resume(&f->m, &f->q, base);
}

/* Completes every chain in flight (in list order) and publishes; the driver
 * must get exactly those, each once. */
static void complete_all(struct fixture *f, const int *want, int n)
{
	for (int i = 0; i < n; i++) {
		assert_err(virtq_resubmit(&f->q, (uint16_t)want[i], &f->c), 1);
		assert_int_equal(f->c.write_len, 16);
		assert_err(virtq_add_used(&f->q, (uint16_t)want[i], 100u + (uint32_t)i), 0);
	}
	assert_err(virtq_publish_used(&f->q), n);
	for (int i = 0; i < n; i++)
		expect_used(f, want[i], 100u + (uint32_t)i);
	expect_no_used(f);
}

/* Killed with an unpublished completion: it was never visible, so it is in
 * flight again (in its pop order); the device redoes it once. */
static void test_resume_after_kill(void **state)
{
	struct fixture *f = *state;
	int h[5];
	busy_back_end(f, h);
	const uint16_t base = virtq_next_avail(&f->q);
	assert_err(restart(f, base), 0);
	assert_int_equal(virtq_next_avail(&f->q), 5);
	assert_int_equal(virtq_next_used(&f->q), 1);
	assert_int_equal(virtq_in_flight(&f->q), 4);
	int want[] = { h[0], h[2], h[3], h[4] };
	expect_list(f, want, 4);
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL); /* resumed chains are not undoable */
	assert_err(virtq_pop(&f->q, &f->c), 0);        /* nothing new */
	complete_all(f, want, 4);
}

/* The front-end lost the back-end and rewinds to used.idx (QEMU): the area
 * knows better, the result is the same. */
static void test_resume_rewound_base(void **state)
{
	struct fixture *f = *state;
	int h[5];
	busy_back_end(f, h);
	assert_err(restart(f, virtq_mock_used_idx(&f->m)), 0);
	assert_int_equal(virtq_next_avail(&f->q), 5);
	int want[] = { h[0], h[2], h[3], h[4] };
	expect_list(f, want, 4);
	complete_all(f, want, 4);
}

/* Any other base: -VIRTQ_EBADSTATE, inactive, the area as it was. */
static void test_resume_wrong_base(void **state)
{
	struct fixture *f = *state;
	int h[5];
	unsigned char before[VIRTQ_INFLIGHT_BYTES(SIZE)];
	busy_back_end(f, h);
	memcpy(before, area(f), sizeof(before));
	static const uint16_t bad[] = { 2, 4, 6, 65535 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_err(restart(f, bad[i]), -VIRTQ_EBADSTATE);
		assert_false(virtq_is_active(&f->q));
		assert_true(memcmp(before, area(f), sizeof(before)) == 0);
	}
	assert_err(restart(f, 5), 0);
}

/*
 * Killed inside publish, after used.idx and before the area said so: the
 * batch list names the heads that used.idx completed; they are not
 * resubmitted. Also when part of the batch was already settled, and when
 * the kill came between one head's flag and its mark (bit 7 of the case).
 */
static void test_resume_after_kill_in_publish(void **state)
{
	const uint32_t kill = (uint32_t)(uintptr_t)*(void **)state, cleared = kill & 127u;
	struct fixture *f = calloc(1, sizeof(*f));
	int h[5];
	fixture_config(&f->cfg);
	fixture_start(f);
	busy_back_end(f, h);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 44), 0); /* batch: h[3], h[0] */
	/* The dying publish: used.idx written, then `cleared` flags of the
	 * batch (newest first), and nothing more. */
	const uint16_t used_idx = virtq_next_used(&f->q);
	assert_err(virtq_mock_write(&f->m, f->m.cfg.used_gpa + 2, &used_idx, 2), 0);
	const int newest_first[] = { h[0], h[3] };
	for (uint32_t i = 0; i < cleared; i++)
		entry(f, (uint16_t)newest_first[i])[0] = entry(f, (uint16_t)newest_first[i])[1] = 0;
	if (kill & 128u)
		entry(f, (uint16_t)newest_first[cleared])[0] = 0; /* flag cleared, mark not */
	assert_err(restart(f, virtq_mock_used_idx(&f->m)), 0);
	assert_int_equal(virtq_next_used(&f->q), 3);
	expect_used(f, h[3], 33); /* what the dead one published */
	expect_used(f, h[0], 44);
	int want[] = { h[2], h[4] };
	expect_list(f, want, 2);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 0), -VIRTQ_EINVAL); /* not twice */
	complete_all(f, want, 2);
	fixture_stop(f);
	free(f);
}

/* An area never used (a new memfd): nothing in flight, base must be used.idx. */
static void test_resume_fresh_area(void **state)
{
	struct fixture *f = *state;
	int h[2];
	post_n(f, h, 2);
	pop_expect(f, h[0]);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 1), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	memset(area(f), 0, VIRTQ_INFLIGHT_BYTES(SIZE));
	assert_err(restart(f, 0), -VIRTQ_EBADSTATE);
	assert_err(restart(f, 2), -VIRTQ_EBADSTATE);
	assert_err(restart(f, 1), 0);
	assert_int_equal(get16(area(f) + 8), 1);    /* version: started */
	assert_int_equal(get16(area(f) + 10), SIZE); /* desc_num */
	assert_int_equal(get16(area(f) + 14), 1);    /* used_idx */
	pop_expect(f, h[1]);
}

/* Resume refuses what activation refuses, with the same codes. */
static void test_resume_config_checks(void **state)
{
	struct fixture *f = *state;
	assert_err(virtq_resume(&f->q, 0), -VIRTQ_EINVAL); /* active */
	assert_err(virtq_resume(NULL, 0), -VIRTQ_EINVAL);
	struct virtq q;
	const struct virtq_ring_addrs off = { .desc_area = 1u << 20,
					      .driver_area = f->m.cfg.avail_gpa,
					      .device_area = f->m.cfg.used_gpa };
	assert_err(virtq_mock_configure(&f->m, &q), 0);
	assert_err(virtq_set_size(&q, SIZE), 0);
	assert_err(virtq_set_addrs(&q, &off), 0);
	assert_err(virtq_resume(&q, 0), -VIRTQ_EBADADDR);
}

/* A resumed queue writes what activation writes: used flags, avail_event. */
static void test_resume_writes_notification_fields(void **state)
{
	struct fixture *f = *state;
	int h[3];
	post_n(f, h, 3);
	pop_expect(f, h[0]);
	pop_expect(f, h[1]);
	assert_err(virtq_disable_notify(&f->q), 0);
	assert_int_equal(virtq_mock_used_flags(&f->m), VIRTQ_USED_F_NO_NOTIFY);
	assert_err(restart(f, 2), 0);
	assert_int_equal(virtq_mock_used_flags(&f->m), 0);
	pop_expect(f, h[2]);
	assert_err(virtq_unpop(&f->q), 0); /* a pop after resume is undoable */
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL);
}

/* Each corruption of the area that a resume must refuse. */
struct bad_area {
	const char *name;
	void (*spoil)(struct fixture *f, const int *h);
};

static void version_2(struct fixture *f, const int *h) { (void)h, put16(area(f) + 8, 2); }
static void features_set(struct fixture *f, const int *h) { (void)h, put64(area(f), 1); }
static void desc_num_wrong(struct fixture *f, const int *h) { (void)h, put16(area(f) + 10, 16); }
static void flag_two(struct fixture *f, const int *h) { entry(f, (uint16_t)h[0])[0] = 2; }
static void mark_two(struct fixture *f, const int *h) { entry(f, (uint16_t)h[3])[1] = 2; }
/* a mark without its flag outside the batch being settled (there is none) */
static void mark_without_flag(struct fixture *f, const int *h) { entry(f, (uint16_t)h[1])[1] = 1; }
static void next_out_of_range(struct fixture *f, const int *h)
{
	put16(entry(f, (uint16_t)h[1]) + 6, SIZE);
}
static void counter_huge(struct fixture *f, const int *h)
{
	put64(entry(f, (uint16_t)h[2]) + 8, UINT64_C(1) << 62);
}
static void batch_head_out_of_range(struct fixture *f, const int *h)
{
	(void)h, put16(area(f) + 12, SIZE);
}
/* used.idx ahead of used_idx by more than the size */
static void batch_too_long(struct fixture *f, const int *h)
{
	(void)h, put16(area(f) + 14, (uint16_t)(virtq_mock_used_idx(&f->m) - SIZE - 1));
}
/* used.idx ahead by 2: the batch list must hold two distinct marked heads */
static void batch_repeats_a_head(struct fixture *f, const int *h)
{
	put16(area(f) + 14, (uint16_t)(virtq_mock_used_idx(&f->m) - 2));
	put16(entry(f, (uint16_t)h[3]) + 6, (uint16_t)h[3]); /* h[3] -> h[3] */
}
static void batch_names_a_head_in_flight(struct fixture *f, const int *h)
{
	put16(area(f) + 14, (uint16_t)(virtq_mock_used_idx(&f->m) - 2));
	put16(entry(f, (uint16_t)h[3]) + 6, (uint16_t)h[4]); /* h[4] is in flight */
}

static const struct bad_area bad_areas[] = {
	{ "version_2", version_2 },
	{ "features_set", features_set },
	{ "desc_num_wrong", desc_num_wrong },
	{ "flag_two", flag_two },
	{ "mark_two", mark_two },
	{ "mark_without_flag", mark_without_flag },
	{ "next_out_of_range", next_out_of_range },
	{ "counter_huge", counter_huge },
	{ "batch_head_out_of_range", batch_head_out_of_range },
	{ "batch_too_long", batch_too_long },
	{ "batch_repeats_a_head", batch_repeats_a_head },
	{ "batch_names_a_head_in_flight", batch_names_a_head_in_flight },
};

static void test_resume_rejects_corrupt_area(void **state)
{
	const struct bad_area *ba = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	int h[5];
	unsigned char good[VIRTQ_INFLIGHT_BYTES(SIZE)], spoilt[sizeof(good)];
	fixture_config(&f->cfg);
	fixture_start(f);
	busy_back_end(f, h); /* last batch: h[3] (marked), then h[1] (cleared) */
	memcpy(good, area(f), sizeof(good));
	ba->spoil(f, h);
	memcpy(spoilt, area(f), sizeof(spoilt));
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(restart(f, 5), -VIRTQ_EBADSTATE);
	assert_false(virtq_is_active(&f->q));
	assert_true(memcmp(spoilt, area(f), sizeof(spoilt)) == 0); /* untouched */
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);      /* guest too */
	memcpy(area(f), good, sizeof(good));
	assert_err(restart(f, 5), 0);
	fixture_stop(f);
	free(f);
}

/* ---- notifications across 65536 publishes ------------------------------------------- */

/* n requests through the queue, each published on its own, consumed. */
static void serve(struct fixture *f, uint32_t n)
{
	struct virtq_mock_buf b = { f->m.cfg.buf_gpa, 16, true };
	for (uint32_t i = 0; i < n; i++) {
		assert_true(virtq_mock_add_chain(&f->m, &b, 1, 0) >= 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
		assert_err(virtq_publish_used(&f->q), 1);
		assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 1);
	}
}

struct notify_case {
	const char *name;
	bool event_idx;
	uint32_t published; /* between two decisions */
	int want;
};

/*
 * With EVENT_IDX, used_event sits just before the old used index, so no
 * 16-bit window [old, old + n) contains it for n < 65536; from 65536 on
 * the indices cannot tell, and the driver must be notified. Without, the
 * driver wants interrupts: only "nothing new" says 0.
 */
static const struct notify_case notify_cases[] = {
	{ "event_idx_65535", true, 65535, 0 },
	{ "event_idx_65536", true, 65536, 1 },
	{ "event_idx_65537", true, 65537, 1 },
	{ "event_idx_131072", true, 131072, 1 },
	{ "no_event_idx_65535", false, 65535, 1 },
	{ "no_event_idx_65536", false, 65536, 1 },
	{ "no_event_idx_131072", false, 131072, 1 },
};

static void test_notify_after_many_publishes(void **state)
{
	const struct notify_case *nc = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	if (nc->event_idx)
		f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	fixture_start(f);
	serve(f, 3);
	assert_err(virtq_needs_notify(&f->q), 1); /* first decision */
	assert_err(virtq_needs_notify(&f->q), 0); /* nothing new */
	virtq_mock_set_used_event(&f->m, 2); /* old - 1: outside every shorter window */
	serve(f, nc->published);
	assert_err(virtq_needs_notify(&f->q), nc->want);
	assert_err(virtq_needs_notify(&f->q), 0);
	fixture_stop(f);
	free(f);
}

/* 65536 publishes in batches (used.idx wraps inside one), and NO_INTERRUPT
 * honoured as for a first decision. */
static void test_notify_wrap_in_batches(void **state)
{
	struct fixture *f = *state;
	struct virtq_mock_buf b = { f->m.cfg.buf_gpa, 16, true };
	serve(f, 5);
	assert_err(virtq_needs_notify(&f->q), 1);
	for (uint32_t round = 0; round < 65536 / SIZE; round++) {
		for (unsigned i = 0; i < SIZE; i++) {
			assert_true(virtq_mock_add_chain(&f->m, &b, 1, 0) >= 0);
			assert_err(virtq_pop(&f->q, &f->c), 1);
			assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
		}
		assert_err(virtq_publish_used(&f->q), SIZE);
		for (unsigned i = 0; i < SIZE; i++)
			assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 1);
	}
	assert_err(virtq_needs_notify(&f->q), 1); /* used.idx is where it was */
	serve(f, 65536);
	virtq_mock_set_avail_flags(&f->m, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_err(virtq_needs_notify(&f->q), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	static const struct CMUnitTest fixed[] = {
		T(test_unpop_after_out_of_order_completion),
		T(test_add_used_only_in_flight),
		T(test_double_completion),
		T(test_unpop_rules),
		T(test_unpop_after_discard),
		T(test_in_flight_list_pop_order),
		T(test_nospc_reports_head_and_need),
		T(test_nospc_not_for_malformed_chain),
		T(test_discard),
		T(test_discard_malformed),
		T(test_discard_busy),
		T(test_resubmit_rules),
		T(test_resume_after_kill),
		T(test_resume_rewound_base),
		T(test_resume_wrong_base),
		T(test_resume_fresh_area),
		T(test_resume_config_checks),
		T(test_resume_writes_notification_fields),
		T(test_notify_wrap_in_batches),
	};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
	static const struct {
		const char *name;
		uintptr_t kill; /* heads settled, bit 7: and the next one half */
	} kills[] = {
		{ "resume_after_kill_in_publish", 0 },
		{ "resume_after_kill_in_publish_1_settled", 1 },
		{ "resume_after_kill_in_publish_2_settled", 2 },
		{ "resume_after_kill_in_publish_half_settled", 128 },
		{ "resume_after_kill_in_publish_1_and_a_half_settled", 129 },
	};
	struct CMUnitTest tests[COUNT(fixed) + COUNT(kills) + COUNT(bad_areas) + COUNT(notify_cases)];
	size_t n = 0;
	for (size_t i = 0; i < COUNT(fixed); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < COUNT(kills); i++)
		tests[n++] = (struct CMUnitTest){ .name = kills[i].name,
						  .test_func = test_resume_after_kill_in_publish,
						  .initial_state = (void *)kills[i].kill };
	for (size_t i = 0; i < COUNT(bad_areas); i++)
		tests[n++] = (struct CMUnitTest){ .name = bad_areas[i].name,
						  .test_func = test_resume_rejects_corrupt_area,
						  .initial_state = (void *)(uintptr_t)&bad_areas[i] };
	for (size_t i = 0; i < COUNT(notify_cases); i++)
		tests[n++] = (struct CMUnitTest){ .name = notify_cases[i].name,
						  .test_func = test_notify_after_many_publishes,
						  .initial_state = (void *)(uintptr_t)&notify_cases[i] };
	return cmocka_run_group_tests_name("queue lifecycle", tests, NULL, NULL);
}

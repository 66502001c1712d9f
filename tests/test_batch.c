/* SPDX-License-Identifier: MIT */
/* Batch calls: virtq_pop_many, virtq_add_used_many, virtq_complete(_many). */
#include <stdlib.h>

#include "fixture.h"

#define EVENT_IDX VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)
#define NCHAINS 8 /* the fixture's queue size */

struct batch {
	struct virtq_chain c[NCHAINS];
	struct virtq_seg segs[NCHAINS][4];
};

static void batch_init(struct batch *b)
{
	for (uint32_t i = 0; i < NCHAINS; i++)
		virtq_chain_init(&b->c[i], b->segs[i], 4);
}

/* Posts n chains of one readable buffer of 16 + i bytes; heads in posted[]. */
static void post_n(struct fixture *f, uint32_t n, uint16_t *posted)
{
	for (uint32_t i = 0; i < n; i++)
		posted[i] = (uint16_t)fixture_post(f, 16 + i, 0, 0);
}

/* Pops n chains one by one; their heads in heads[]. */
static void pop_n(struct fixture *f, uint32_t n, uint16_t *heads)
{
	for (uint32_t i = 0; i < n; i++) {
		assert_err(virtq_pop(&f->q, &f->c), 1);
		heads[i] = f->c.id;
	}
}

static void expect_used(struct fixture *f, const struct virtq_used_elem *want, uint32_t n)
{
	uint32_t id, len;
	for (uint32_t i = 0; i < n; i++) {
		assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
		assert_int_equal(id, want[i].id);
		assert_int_equal(len, want[i].len);
	}
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 0);
}

static void test_pop_many(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	uint16_t posted[5];
	batch_init(&b);
	assert_err(virtq_pop_many(&f->q, b.c, NCHAINS), 0); /* empty */
	post_n(f, 5, posted);
	assert_err(virtq_pop_many(&f->q, b.c, 3), 3);
	assert_err(virtq_pop_many(&f->q, b.c + 3, NCHAINS), 2);
	for (uint32_t i = 0; i < 5; i++) {
		assert_int_equal(b.c[i].id, posted[i]);
		assert_int_equal(b.c[i].nseg, 1);
		assert_int_equal(b.c[i].read_len, 16 + i);
		assert_int_equal(b.c[i].write_len, 0);
	}
	assert_int_equal(virtq_in_flight(&f->q), 5);
	assert_err(virtq_pop_many(&f->q, b.c, NCHAINS), 0);
	assert_err(virtq_pop_many(&f->q, b.c, 0), 0);
	assert_err(virtq_pop_many(&f->q, NULL, 0), 0);
}

static void test_pop_many_misuse(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	batch_init(&b);
	fixture_post(f, 16, 0, 0);
	assert_err(virtq_pop_many(NULL, b.c, 1), -VIRTQ_EINVAL);
	assert_err(virtq_pop_many(&f->q, NULL, 1), -VIRTQ_EINVAL);
	assert_int_equal(virtq_in_flight(&f->q), 0); /* nothing consumed */
	virtq_reset(&f->q);
	assert_err(virtq_pop_many(&f->q, b.c, 1), -VIRTQ_ENOTREADY);
}

/* -VIRTQ_ENOSPC after a chain: that chain comes back, the next call says it. */
static void test_pop_many_enospc_later(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	batch_init(&b);
	virtq_chain_init(&b.c[1], b.segs[1], 1);
	fixture_post(f, 16, 0, 0);
	int big = fixture_post(f, 16, 16, 0); /* two segments */
	assert_err(virtq_pop_many(&f->q, b.c, 2), 1);
	assert_int_equal(virtq_in_flight(&f->q), 1);
	assert_err(virtq_pop_many(&f->q, b.c + 1, 1), -VIRTQ_ENOSPC);
	assert_int_equal(b.c[1].id, big);
	assert_int_equal(b.c[1].needed, 2);
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_pop_many(&f->q, b.c + 2, 1), 1); /* room: it pops */
	assert_int_equal(b.c[2].id, big);
}

/* -VIRTQ_EBUSY with size chains in flight (a driver posting more than it
 * has descriptors for): met later, the chains before it are returned. */
static void test_pop_many_busy(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	uint16_t posted[NCHAINS];
	batch_init(&b);
	post_n(f, NCHAINS, posted);
	assert_err(virtq_pop_many(&f->q, b.c, NCHAINS - 1), NCHAINS - 1);
	assert_err(virtq_mock_set_avail_entry(&f->m, NCHAINS, posted[0]), 0);
	assert_err(virtq_mock_set_avail_idx(&f->m, NCHAINS + 1), 0);
	assert_err(virtq_pop_many(&f->q, b.c, 2), 1); /* the last real chain */
	assert_int_equal(b.c[0].id, posted[NCHAINS - 1]);
	assert_err(virtq_pop_many(&f->q, b.c, 2), -VIRTQ_EBUSY);
	assert_false(virtq_is_broken(&f->q));
	assert_int_equal(virtq_in_flight(&f->q), NCHAINS);
}

/* A fatal chain after good ones: the error, the queue broken, no stray writes. */
static void test_pop_many_fatal_later(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	uint16_t posted[2];
	batch_init(&b);
	post_n(f, 2, posted);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_mock_set_avail_entry(&f->m, 2, NCHAINS), 0); /* head >= size */
	assert_err(virtq_mock_set_avail_idx(&f->m, 3), 0);
	assert_err(virtq_pop_many(&f->q, b.c, NCHAINS), -VIRTQ_EBADIDX);
	assert_true(virtq_is_broken(&f->q));
	assert_err(virtq_pop_many(&f->q, b.c, NCHAINS), -VIRTQ_EBROKEN);
	assert_err(virtq_add_used_many(&f->q, &(struct virtq_used_elem){ posted[0], 0 }, 1),
		   -VIRTQ_EBROKEN);
	assert_err(virtq_complete(&f->q, posted[0], 0), -VIRTQ_EBROKEN);
	assert_err(virtq_complete_many(&f->q, NULL, 0), -VIRTQ_EBROKEN);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	assert_true(virtq_mock_guards_intact(&f->m));
}

static void test_add_used_many(void **state)
{
	struct fixture *f = *state;
	uint16_t posted[4], heads[4];
	post_n(f, 4, posted);
	pop_n(f, 4, heads);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	const struct virtq_used_elem elems[4] = {
		{ heads[2], 7 }, { heads[0], 0 }, { heads[3], 4096 }, { heads[1], 1 },
	};
	assert_err(virtq_add_used_many(&f->q, elems, 4), 0);
	assert_int_equal(virtq_in_flight(&f->q), 0);
	assert_int_equal(virtq_mock_used_idx(&f->m), 0); /* not yet published */
	assert_err(virtq_publish_used(&f->q), 4);
	expect_used(f, elems, 4);
	assert_err(virtq_add_used_many(&f->q, elems, 0), 0);
	assert_err(virtq_add_used_many(&f->q, NULL, 0), 0);
	assert_err(virtq_publish_used(&f->q), 0);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	/* the heads are free again: reposted, they pop */
	post_n(f, 4, posted);
	pop_n(f, 4, heads);
}

/* Each refused batch: -VIRTQ_EINVAL, nothing written, every chain still in
 * flight (each completes afterwards, and can still be unpopped). */
static void test_add_used_many_misuse(void **state)
{
	struct fixture *f = *state;
	uint16_t posted[3], heads[3];
	post_n(f, 3, posted);
	pop_n(f, 3, heads);
	uint16_t free_head = 0;
	while (free_head == heads[0] || free_head == heads[1] || free_head == heads[2])
		free_head++;
	assert_err(virtq_add_used(&f->q, heads[2], 5), 0); /* completed, unpublished */
	const uint16_t used_before = virtq_next_used(&f->q);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	const struct virtq_used_elem never_popped[] = { { heads[0], 1 }, { free_head, 1 } };
	const struct virtq_used_elem out_of_range[] = { { heads[0], 1 }, { NCHAINS, 1 } };
	const struct virtq_used_elem twice[] = { { heads[0], 1 }, { heads[1], 1 }, { heads[0], 1 } };
	const struct virtq_used_elem completed[] = { { heads[1], 1 }, { heads[2], 1 } };
	const struct virtq_used_elem *bad[] = { never_popped, out_of_range, twice, completed };
	const uint32_t nbad[] = { 2, 2, 3, 2 };
	for (uint32_t k = 0; k < 4; k++) {
		assert_err(virtq_add_used_many(&f->q, bad[k], nbad[k]), -VIRTQ_EINVAL);
		assert_err(virtq_complete_many(&f->q, bad[k], nbad[k]), -VIRTQ_EINVAL);
		assert_int_equal(virtq_next_used(&f->q), used_before);
		assert_int_equal(virtq_in_flight(&f->q), 2);
	}
	assert_err(virtq_add_used_many(&f->q, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_add_used_many(NULL, twice, 1), -VIRTQ_EINVAL);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0); /* no used element written */
	assert_int_equal(virtq_mock_used_idx(&f->m), 0);
	assert_false(virtq_is_broken(&f->q));
	/* heads[2], the newest pop, is completed: unpop still refuses it. The
	 * marks of the refused batches are gone: heads[0] and heads[1] complete. */
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL);
	const struct virtq_used_elem good[] = { { heads[1], 2 }, { heads[0], 3 } };
	assert_err(virtq_add_used_many(&f->q, good, 2), 0);
	assert_err(virtq_publish_used(&f->q), 3);
	const struct virtq_used_elem all[] = { { heads[2], 5 }, { heads[1], 2 }, { heads[0], 3 } };
	expect_used(f, all, 3);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
}

/* A refused batch leaves the unpop list intact. */
static void test_add_used_many_refused_keeps_unpop(void **state)
{
	struct fixture *f = *state;
	uint16_t posted[2], heads[2];
	post_n(f, 2, posted);
	pop_n(f, 2, heads);
	const struct virtq_used_elem twice[] = { { heads[1], 1 }, { heads[0], 1 }, { heads[1], 1 } };
	assert_err(virtq_add_used_many(&f->q, twice, 3), -VIRTQ_EINVAL);
	assert_err(virtq_unpop(&f->q), 0);
	assert_err(virtq_unpop(&f->q), 0);
	assert_int_equal(virtq_in_flight(&f->q), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, posted[0]);
}

static void test_add_used_many_wrong_state(void **state)
{
	struct fixture *f = *state;
	const struct virtq_used_elem e = { 0, 0 };
	virtq_reset(&f->q);
	assert_err(virtq_add_used_many(&f->q, &e, 1), -VIRTQ_ENOTREADY);
	assert_err(virtq_complete_many(&f->q, &e, 1), -VIRTQ_ENOTREADY);
	assert_err(virtq_complete(&f->q, 0, 0), -VIRTQ_ENOTREADY);
	assert_err(virtq_complete(NULL, 0, 0), -VIRTQ_EINVAL);
	assert_err(virtq_complete_many(NULL, &e, 1), -VIRTQ_EINVAL);
}

/* virtq_complete decides as add_used + publish + needs_notify would. */
static void test_complete(void **state)
{
	struct fixture *f = *state;
	uint16_t posted[1], heads[1];
	uint32_t id, len;
	post_n(f, 1, posted);
	pop_n(f, 1, heads);
	assert_err(virtq_complete(&f->q, heads[0], 9), 1); /* first decision: notify */
	assert_int_equal(virtq_mock_used_idx(&f->m), 1); /* published */
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	assert_int_equal(id, heads[0]);
	assert_int_equal(len, 9);
	assert_err(virtq_needs_notify(&f->q), 0); /* nothing new since */
	assert_err(virtq_mock_set_avail_flags(&f->m, VIRTQ_AVAIL_F_NO_INTERRUPT), 0);
	post_n(f, 1, posted);
	pop_n(f, 1, heads);
	assert_err(virtq_complete(&f->q, heads[0], 0), 0); /* suppressed */
	assert_int_equal(virtq_mock_used_idx(&f->m), 2);
	/* misuse: nothing written, nothing published */
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_complete(&f->q, heads[0], 0), -VIRTQ_EINVAL); /* completed */
	assert_err(virtq_complete(&f->q, NCHAINS, 0), -VIRTQ_EINVAL);
	assert_int_equal(virtq_mock_used_idx(&f->m), 2);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
}

/* With EVENT_IDX: used_event decides, for one chain and for a batch. */
static void test_complete_event_idx(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	uint16_t posted[3];
	batch_init(&b);
	post_n(f, 1, posted);
	assert_err(virtq_pop_many(&f->q, b.c, 1), 1);
	assert_err(virtq_complete(&f->q, b.c[0].id, 0), 1); /* first decision */
	assert_err(virtq_mock_set_used_event(&f->m, 3), 0); /* interrupt when used.idx passes 3 */
	post_n(f, 3, posted);
	assert_err(virtq_pop_many(&f->q, b.c, NCHAINS), 3);
	const struct virtq_used_elem first[] = { { b.c[0].id, 1 } };
	const struct virtq_used_elem rest[] = { { b.c[2].id, 3 }, { b.c[1].id, 2 } };
	assert_err(virtq_complete_many(&f->q, first, 1), 0); /* used.idx 2: not yet */
	assert_err(virtq_complete_many(&f->q, rest, 2), 1);  /* 2 -> 4 crosses 3 */
	assert_int_equal(virtq_mock_used_idx(&f->m), 4);
	assert_int_equal(virtq_in_flight(&f->q), 0);
}

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pop_many, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_pop_many_misuse, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_pop_many_enospc_later, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_pop_many_busy, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_pop_many_fatal_later, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_add_used_many, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_add_used_many_misuse, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_add_used_many_refused_keeps_unpop, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_add_used_many_wrong_state, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_complete, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_complete_event_idx, setup_event_idx,
						fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

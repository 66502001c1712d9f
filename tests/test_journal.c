/* SPDX-License-Identifier: MIT */
/*
 * The descriptor journal of a packed queue (vhost-user's packed inflight
 * region, include/virtq/inflight.h): a restarted back-end gets back the
 * chains it held, from the journal's copies, although their ring slots hold
 * used descriptors by now; the used position comes from the journal (the
 * front-end's base is stale); publish killed before or after its batch
 * became visible; and every rule resume checks a journal against, each
 * with its code and the journal left as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define QSIZE 8u
#define JBYTES (32u + 32u * QSIZE)
/* Offsets of the documented layout (inflight.h). */
#define J_FREE_HEAD 12u
#define J_OLD_FREE_HEAD 14u
#define J_USED_IDX 16u
#define J_OLD_USED_IDX 18u
#define J_USED_WRAP 20u
#define J_OLD_USED_WRAP 21u
#define J_ENTRY(i) (32u + 32u * (i))
#define JE_INFLIGHT 0u
#define JE_NEXT 2u
#define JE_LAST 4u
#define JE_NUM 6u
#define JE_COUNTER 8u
#define JE_ID 16u
#define JE_FLAGS 18u

static unsigned char *journal(struct fixture *f)
{
	return f->m.journal;
}

static void put16(struct fixture *f, uint32_t off, uint16_t v)
{
	memcpy(journal(f) + off, &v, sizeof(v));
}

static uint16_t get16(struct fixture *f, uint32_t off)
{
	uint16_t v;
	memcpy(&v, journal(f) + off, sizeof(v));
	return v;
}

/* The back-end process is gone; a new one configures its queue. */
static void restart(struct fixture *f)
{
	memset(&f->q, 0x5a, sizeof(f->q));
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
}



static void expect_in_flight(struct fixture *f, const int *ids, int n)
{
	uint16_t heads[QSIZE];
	assert_err(virtq_in_flight_list(&f->q, heads, QSIZE), n);
	for (int i = 0; i < n; i++)
		assert_int_equal(heads[i], ids[i]);
}

/* The segments of a chain, to compare a resubmitted one with. */
struct shape {
	uint32_t nseg, nread, read_len, write_len;
	void *addr[4];
	uint32_t len[4];
};

static struct shape shape_of(const struct virtq_chain *c)
{
	struct shape s = { c->nseg, c->nread, c->read_len, c->write_len, { 0 }, { 0 } };
	for (uint32_t i = 0; i < c->nseg && i < 4; i++) {
		s.addr[i] = c->segs[i].addr;
		s.len[i] = (uint32_t)c->segs[i].len;
	}
	return s;
}

static void expect_resubmitted(struct fixture *f, int id, const struct shape *want)
{
	assert_err(virtq_resubmit(&f->q, (uint16_t)id, &f->c), 1);
	assert_int_equal(f->c.id, id);
	struct shape got = shape_of(&f->c);
	assert_memory_equal(&got, want, sizeof(got));
}

/*
 * Three chains held: a (two descriptors, slots 0-1), b (indirect, slot 2),
 * c (one descriptor, slot 3); c completed and published first, so its used
 * descriptor sits in slot 0, over a's first descriptor.
 */
struct scene {
	struct fixture *f;
	int a, b, c;
	struct shape sa, sb;
};

static struct scene scene_new(void)
{
	struct scene s = { .f = fixture_new_packed(QSIZE, 0) };
	struct fixture *f = s.f;
	s.a = fixture_post(f, 16, 32, 0);
	s.b = fixture_post(f, 24, 40, VIRTQ_MOCK_INDIRECT);
	s.c = fixture_post(f, 8, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	s.sa = shape_of(&f->c);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	s.sb = shape_of(&f->c);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_complete(&f->q, (uint16_t)s.c, 0), 1);
	fixture_expect_used(f, (uint32_t)s.c, 0);
	return s;
}

static void test_resume_resubmits_held_chains(void **state)
{
	(void)state;
	struct scene s = scene_new();
	struct fixture *f = s.f;
	restart(f);
	/* the base QEMU sends after losing the back-end: the fresh one */
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH), 0);
	const int held[] = { s.a, s.b };
	expect_in_flight(f, held, 2);
	expect_resubmitted(f, s.a, &s.sa);
	expect_resubmitted(f, s.b, &s.sb);
	assert_int_equal(virtq_next_avail(&f->q), 4 | VIRTQ_RING_EVENT_WRAP);
	assert_int_equal(virtq_next_used(&f->q), 1 | VIRTQ_RING_EVENT_WRAP);
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL); /* resumed chains stay */
	/* a restart right away (a resume killed half way) finds the same */
	restart(f);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH), 0);
	expect_in_flight(f, held, 2);
	assert_err(virtq_complete(&f->q, (uint16_t)s.b, 40), 1);
	fixture_expect_used(f, (uint32_t)s.b, 40);
	assert_err(virtq_complete(&f->q, (uint16_t)s.a, 32), 1);
	fixture_expect_used(f, (uint32_t)s.a, 32);
	int d = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, d);
	assert_err(virtq_complete(&f->q, (uint16_t)d, 8), 1);
	fixture_expect_used(f, (uint32_t)d, 8);
	assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 0);
	fixture_finish(f);
}

/* The flags of ring slot 0, as the driver sees them. */
static uint16_t slot0_flags(struct fixture *f)
{
	uint16_t flags;
	assert_err(virtq_mock_read(&f->m, f->m.cfg.desc_gpa + 14, &flags, 2), 0);
	return flags;
}

static void set_slot0_flags(struct fixture *f, uint16_t flags)
{
	assert_err(virtq_mock_write(&f->m, f->m.cfg.desc_gpa + 14, &flags, 2), 0);
}

/*
 * Publish killed after it recorded the batch, before or after the batch's
 * first flags made it visible: the journal is the finished one with the
 * commit (old_ fields) and the heads' clearing undone. Not visible: the
 * batch rolls back, its chain held again; visible: it is kept.
 */
static void test_publish_killed(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(QSIZE, 0);
	unsigned char before[JBYTES], killed[JBYTES];
	int a = fixture_post(f, 8, 8, 0);
	int b = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	struct shape sa = shape_of(&f->c);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)a, 8), 0);
	memcpy(before, journal(f), JBYTES);
	const uint16_t avail_flags = slot0_flags(f);
	assert_err(virtq_publish_used(&f->q), 1);
	const uint16_t used_flags = slot0_flags(f);
	memcpy(killed, journal(f), JBYTES);
	memcpy(killed + J_OLD_FREE_HEAD, before + J_OLD_FREE_HEAD, 2);
	memcpy(killed + J_OLD_USED_IDX, before + J_OLD_USED_IDX, 2);
	killed[J_OLD_USED_WRAP] = before[J_OLD_USED_WRAP];
	killed[J_ENTRY(0) + JE_INFLIGHT] = 1; /* a's head, not yet cleared */
	assert_int_not_equal(memcmp(killed, before, JBYTES), 0);

	memcpy(journal(f), killed, JBYTES);
	set_slot0_flags(f, avail_flags);
	restart(f);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH), 0);
	const int both[] = { a, b };
	expect_in_flight(f, both, 2);
	expect_resubmitted(f, a, &sa);
	assert_int_equal(virtq_next_used(&f->q), 0 | VIRTQ_RING_EVENT_WRAP);
	assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 0);

	memcpy(journal(f), killed, JBYTES);
	set_slot0_flags(f, used_flags);
	restart(f);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH), 0);
	const int only_b[] = { b };
	expect_in_flight(f, only_b, 1);
	assert_int_equal(virtq_next_used(&f->q), 2 | VIRTQ_RING_EVENT_WRAP);
	fixture_expect_used(f, (uint32_t)a, 8);
	assert_err(virtq_complete(&f->q, (uint16_t)b, 8), 1);
	fixture_expect_used(f, (uint32_t)b, 8);
	fixture_finish(f);
}

/*
 * add_used writes a batch's later used descriptors whole; a back-end
 * killed before publishing leaves them in the ring. The successor holds
 * those chains again and must not let the driver find the stale used
 * descriptors once a new publish brings it there (test_inflight_kill
 * --packed found this: a request completed twice).
 */
static void test_unpublished_used_descriptors_scrubbed(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(QSIZE, 0);
	int a = fixture_post(f, 8, 8, 0);
	int b = fixture_post(f, 8, 8, 0);
	int c = fixture_post(f, 8, 8, 0);
	for (int i = 0; i < 3; i++)
		assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)a, 1), 0); /* flags at publish */
	assert_err(virtq_add_used(&f->q, (uint16_t)b, 2), 0); /* slot 2, written whole */
	restart(f);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH), 0);
	const int all[] = { a, b, c };
	expect_in_flight(f, all, 3);
	assert_err(virtq_complete(&f->q, (uint16_t)c, 3), 1); /* slot 0: the driver reads on */
	fixture_expect_used(f, (uint32_t)c, 3);
	assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 0); /* not b's stale one */
	assert_err(virtq_complete(&f->q, (uint16_t)b, 4), 1);
	fixture_expect_used(f, (uint32_t)b, 4);
	assert_err(virtq_complete(&f->q, (uint16_t)a, 5), 1);
	fixture_expect_used(f, (uint32_t)a, 5);
	fixture_finish(f);
}

/*
 * A completed chain's journal entries come back at publish. A driver that
 * makes descriptors available in slots it was not given back yet (only a
 * malicious one can) finds the pop waiting, -VIRTQ_EBUSY, not fatal, and
 * nothing of the journal overwritten; the publish frees the entries.
 */
static void test_no_free_entry_waits(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(4, 0);
	struct virtq_mock_buf bufs[4];
	for (uint32_t i = 0; i < 4; i++)
		bufs[i] = (struct virtq_mock_buf){ fixture_buf(f, 8, 'a'), 8, false };
	int a = virtq_mock_add_chain(&f->m, bufs, 4, 0); /* all 4 slots */
	assert_true(a >= 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)a, 0), 0); /* entries held until publish */
	unsigned char before[32u + 32u * 4u];
	memcpy(before, journal(f), sizeof(before));
	/* slot 0 made available in the next lap before the driver saw it used */
	assert_err(virtq_mock_packed_set_desc(&f->m, 0, bufs[0].gpa, 8, 1,
					      virtq_mock_packed_avail_bits(false)),
		   0);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBUSY);
	assert_false(virtq_is_broken(&f->q));
	assert_memory_equal(journal(f), before, sizeof(before));
	/* publish writes the used descriptor's flags over that slot: used, so
	 * nothing is available there; the entries are free again */
	assert_err(virtq_publish_used(&f->q), 1);
	assert_int_equal(get16(f, J_FREE_HEAD), 0);
	assert_err(virtq_pop(&f->q, &f->c), 0);
	assert_false(virtq_is_broken(&f->q));
	fixture_finish(f);
}

/* virtq_unpop() returns the chain's entries at once: after a crash it is
 * not held, and pops again from the same slots. */
static void test_unpop_then_resume(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(QSIZE, 0);
	int a = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_unpop(&f->q), 0);
	assert_int_equal(get16(f, J_FREE_HEAD), 0);
	assert_int_equal(get16(f, J_OLD_FREE_HEAD), 0);
	restart(f);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH), 0);
	assert_int_equal(virtq_in_flight(&f->q), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, a);
	assert_err(virtq_complete(&f->q, (uint16_t)a, 8), 1);
	fixture_expect_used(f, (uint32_t)a, 8);
	fixture_finish(f);
}

/* One corruption of the scene's journal (entries: a's chain 0 -> 1, b's
 * 2, the free list 3 (c's, returned) -> 4 -> ... -> 7 -> 8, the end). */
struct corruption {
	const char *what;
	uint32_t off;
	unsigned bytes; /* 1, 2 or 8 */
	uint64_t value;
};

static const struct corruption corruptions[] = {
	{ "version not 1", 8, 2, 2 },
	{ "features not 0", 0, 8, 1 },
	{ "desc_num not the size", 10, 2, 4 },
	{ "free_head past the end marker", J_FREE_HEAD, 2, QSIZE + 1 },
	{ "old_free_head past the end marker", J_OLD_FREE_HEAD, 2, QSIZE + 1 },
	{ "used_idx outside the ring", J_USED_IDX, 2, QSIZE },
	{ "old_used_idx outside the ring", J_OLD_USED_IDX, 2, QSIZE },
	{ "used wrap counter not 0 or 1", J_USED_WRAP, 1, 2 },
	{ "old used wrap counter not 0 or 1", J_OLD_USED_WRAP, 1, 2 },
	{ "free list in a cycle", J_ENTRY(7) + JE_NEXT, 2, 3 },
	{ "free list into a chain held", J_ENTRY(7) + JE_NEXT, 2, 1 },
	{ "free list leaks entries", J_ENTRY(5) + JE_NEXT, 2, QSIZE },
	{ "a head's num 0", J_ENTRY(0) + JE_NUM, 2, 0 },
	{ "a head's num above the size", J_ENTRY(0) + JE_NUM, 2, QSIZE + 1 },
	{ "a chain running into another", J_ENTRY(0) + JE_NUM, 2, 3 },
	{ "a chain shorter than its entries", J_ENTRY(0) + JE_NUM, 2, 1 },
	{ "a head's last not the chain's end", J_ENTRY(0) + JE_LAST, 2, 0 },
	{ "an entry inside a chain flagged", J_ENTRY(1) + JE_INFLIGHT, 1, 1 },
	{ "a flag not 0 or 1", J_ENTRY(2) + JE_INFLIGHT, 1, 2 },
	{ "a stamp of 2^62", J_ENTRY(0) + JE_COUNTER, 8, UINT64_C(1) << 62 },
	{ "a buffer id outside the queue", J_ENTRY(1) + JE_ID, 2, QSIZE },
	{ "two chains with one buffer id", J_ENTRY(2) + JE_ID, 2, 0 /* a's: set below */ },
	{ "NEXT missing inside a chain", J_ENTRY(0) + JE_FLAGS, 2, 0 },
	{ "NEXT on a chain's last copy", J_ENTRY(2) + JE_FLAGS, 2,
	  VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT },
	{ "an indirect copy inside a chain", J_ENTRY(0) + JE_FLAGS, 2,
	  VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT },
};

static void corrupt(struct fixture *f, const struct corruption *c, int a)
{
	uint64_t v = c->value;
	if (!strcmp(c->what, "two chains with one buffer id"))
		v = (uint64_t)a;
	if (c->bytes == 1)
		journal(f)[c->off] = (unsigned char)v;
	else if (c->bytes == 2)
		put16(f, c->off, (uint16_t)v);
	else
		memcpy(journal(f) + c->off, &v, 8);
}

static void test_corrupt_journal_refused(void **state)
{
	(void)state;
	struct scene s = scene_new();
	struct fixture *f = s.f;
	unsigned char good[JBYTES], bad[JBYTES];
	memcpy(good, journal(f), JBYTES);
	assert_int_equal(get16(f, J_FREE_HEAD), 3); /* the shape the table assumes */
	assert_int_equal(get16(f, J_ENTRY(1) + JE_ID), s.a);
	for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
		memcpy(journal(f), good, JBYTES);
		corrupt(f, &corruptions[i], s.a);
		memcpy(bad, journal(f), JBYTES);
		assert_int_not_equal(memcmp(bad, good, JBYTES), 0);
		restart(f);
		int r = virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH);
		if (r != -VIRTQ_EBADSTATE)
			fail_msg("%s: resume = %d (%s), expected VIRTQ_EBADSTATE", corruptions[i].what,
				 r, virtq_errname(r));
		assert_false(virtq_is_active(&f->q));
		if (memcmp(journal(f), bad, JBYTES))
			fail_msg("%s: the refused journal was changed", corruptions[i].what);
	}
	/* the base's positions are checked first, whatever the journal says */
	memcpy(journal(f), good, JBYTES);
	restart(f);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE(QSIZE, 0)), -VIRTQ_EBADSTATE);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE(0, QSIZE)), -VIRTQ_EBADSTATE);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH), 0);
	const int held[] = { s.a, s.b };
	expect_in_flight(f, held, 2);
	fixture_finish(f);
}

/* A journal never used (version 0) says nothing: the per-id area decides,
 * which cannot resubmit chains held (as without a journal). */
static void test_journal_never_used(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(QSIZE, 0);
	(void)fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	put16(f, 8, 0);
	restart(f);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE_FRESH), -VIRTQ_ENOTSUP);
	fixture_finish(f);
}

static void test_set_journal_rules(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(QSIZE, 0);
	static _Alignas(8) unsigned char area[32u + 32u * 4u + 8u];
	assert_err(virtq_set_journal(&f->q, area, sizeof(area)), -VIRTQ_EINVAL); /* active */
	assert_err(virtq_set_journal(NULL, area, sizeof(area)), -VIRTQ_EINVAL);
	virtq_reset(&f->q);
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
	assert_err(virtq_set_journal(&f->q, area + 4, 32u + 32u * 4u), -VIRTQ_EINVAL); /* misaligned */
	assert_err(virtq_set_journal(&f->q, area, 63), -VIRTQ_EINVAL); /* not one entry */
	assert_err(virtq_set_journal(&f->q, area, 32u + 32u * 4u), 0); /* holds size 4 */
	assert_err(virtq_set_size(&f->q, QSIZE), 0);
	assert_err(virtq_activate(&f->q), -VIRTQ_EINVAL); /* size 8 does not fit */
	assert_err(virtq_set_size(&f->q, 4), 0);
	assert_err(virtq_activate(&f->q), 0);
	assert_int_equal(area[8], 1); /* started: version 1 */
	virtq_reset(&f->q);
	assert_true(f->q.journal == area); /* kept by reset */
	/* a split queue ignores it */
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
	assert_err(virtq_set_journal(&f->q, area, 32u + 32u * 4u), 0);
	assert_err(virtq_set_features(&f->q, f->cfg.features & ~VIRTQ_FEATURE(VIRTQ_F_RING_PACKED)),
		   0);
	assert_err(virtq_activate(&f->q), 0);
	virtq_reset(&f->q);
	assert_err(virtq_set_journal(&f->q, NULL, 0), 0); /* detached */
	assert_null(f->q.journal);
	fixture_stop(f);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume_resubmits_held_chains),
		cmocka_unit_test(test_publish_killed),
		cmocka_unit_test(test_unpublished_used_descriptors_scrubbed),
		cmocka_unit_test(test_unpop_then_resume),
		cmocka_unit_test(test_no_free_entry_waits),
		cmocka_unit_test(test_corrupt_journal_refused),
		cmocka_unit_test(test_journal_never_used),
		cmocka_unit_test(test_set_journal_rules),
	};
	return cmocka_run_group_tests_name("packed descriptor journal", tests, NULL, NULL);
}

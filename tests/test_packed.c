/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueues (virtio 2.8), valid flows: the same public calls as a
 * split queue, driven by the mock's packed mode. Single and multi-buffer
 * chains, indirect tables, wrap-around over many laps with out-of-order
 * completion, batched completion (first flags last), unpop and discard,
 * notifications with and without EVENT_IDX, and the differential check that
 * a split and a packed ring hand out the same chains for the same posts.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define F(bit) VIRTQ_FEATURE(VIRTQ_F_##bit)




static void test_single(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(8, 0);
	int id = fixture_post(f, 16, 32, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, id);
	assert_int_equal(f->c.nseg, 2);
	assert_int_equal(f->c.nread, 1);
	assert_int_equal(f->c.read_len, 16);
	assert_int_equal(f->c.write_len, 32);
	assert_int_equal(f->c.ndesc, 2);
	assert_memory_equal(f->c.segs[0].addr, "rrrrrrrrrrrrrrrr", 16);
	memset(f->c.segs[1].addr, 'w', 32);
	assert_err(virtq_pop(&f->q, &f->c), 0); /* empty, not malformed */
	assert_int_equal(virtq_in_flight(&f->q), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)id, 32), 0);
	assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 0); /* not published yet */
	assert_err(virtq_publish_used(&f->q), 1);
	fixture_expect_used(f, (uint32_t)id, 32);
	assert_err(virtq_add_used(&f->q, (uint16_t)id, 0), -VIRTQ_EINVAL); /* completed */
	assert_int_equal(virtq_in_flight(&f->q), 0);
	/* positions in the GET_VRING_BASE form: slot | wrap << 15 */
	assert_int_equal(virtq_next_avail(&f->q), 2 | VIRTQ_RING_EVENT_WRAP);
	assert_int_equal(virtq_next_used(&f->q), 2 | VIRTQ_RING_EVENT_WRAP);
	fixture_finish(f);
}

/* Chains of 1, 2 and 3 descriptors completed out of order: each used
 * descriptor skips its own chain's slots, as the driver expects. */
static void test_multi_out_of_order(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(8, 0);
	struct virtq_mock_buf bufs[3];
	int ids[3];
	struct virtq_seg segs[3][8];
	struct virtq_chain chains[3];
	for (uint32_t n = 1; n <= 3; n++) {
		for (uint32_t i = 0; i < n; i++)
			bufs[i] = (struct virtq_mock_buf){ fixture_buf(f, 8, 'a'), 8, i == n - 1 };
		ids[n - 1] = virtq_mock_add_chain(&f->m, bufs, n, 0);
		assert_true(ids[n - 1] >= 0);
		virtq_chain_init(&chains[n - 1], segs[n - 1], 8);
	}
	assert_err(virtq_pop_many(&f->q, chains, 3), 3);
	for (uint32_t n = 1; n <= 3; n++) {
		assert_int_equal(chains[n - 1].id, ids[n - 1]);
		assert_int_equal(chains[n - 1].ndesc, n);
		assert_int_equal(chains[n - 1].write_len, 8);
	}
	assert_err(virtq_complete(&f->q, (uint16_t)ids[2], 3), 1);
	fixture_expect_used(f, (uint32_t)ids[2], 3);
	assert_err(virtq_add_used(&f->q, (uint16_t)ids[0], 1), 0);
	assert_err(virtq_add_used(&f->q, (uint16_t)ids[1], 2), 0);
	assert_err(virtq_publish_used(&f->q), 2);
	fixture_expect_used(f, (uint32_t)ids[0], 1);
	fixture_expect_used(f, (uint32_t)ids[1], 2);
	assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 0);
	fixture_finish(f);
}

static void test_indirect(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(8, 0);
	int id = fixture_post(f, 24, 40, VIRTQ_MOCK_INDIRECT);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, id);
	assert_int_equal(f->c.ndesc, 3); /* the indirect descriptor and two entries */
	assert_int_equal(f->c.read_len, 24);
	assert_int_equal(f->c.write_len, 40);
	assert_err(virtq_complete(&f->q, (uint16_t)id, 40), 1);
	fixture_expect_used(f, (uint32_t)id, 40);
	fixture_finish(f);
}

/* Many laps of a small ring: chains of 1..3 descriptors, some indirect,
 * up to three in flight, completed in varying order; both wrap counters
 * flip many times and every chain comes out as posted. */
static void test_wrap_around(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(8, 0);
	uint32_t rng = 12345, posted = 0, completed = 0;
	int held[3];
	uint32_t nheld = 0;
	const uint64_t data = fixture_buf(f, 64, 'd');
	for (uint32_t round = 0; round < 3000; round++) {
		rng = rng * 1103515245u + 12345u;
		const uint32_t n = 1 + (rng >> 16) % 3;
		const unsigned flags = (rng >> 20) % 4 == 0 ? VIRTQ_MOCK_INDIRECT : 0;
		struct virtq_mock_buf bufs[3];
		for (uint32_t i = 0; i < n; i++)
			bufs[i] = (struct virtq_mock_buf){ data + 8 * i, 8 + i, false };
		virtq_mock_alloc_reset(&f->m);
		int id = virtq_mock_add_chain(&f->m, bufs, n, flags);
		if (id == -VIRTQ_ENOSPC) { /* the ring is full: complete everything */
			for (uint32_t i = 0; i < nheld; i++)
				assert_err(virtq_add_used(&f->q, (uint16_t)held[i], 0), 0);
			assert_err(virtq_publish_used(&f->q), nheld);
			while (virtq_mock_get_used(&f->m, NULL, NULL) == 1)
				completed++;
			nheld = 0;
			continue;
		}
		assert_true(id >= 0);
		posted++;
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_int_equal(f->c.id, id);
		assert_int_equal(f->c.read_len, n * 8 + (n - 1) * n / 2);
		assert_int_equal(f->c.nseg, n);
		held[nheld++] = id;
		if (nheld == 3 || (rng >> 24) % 2) { /* complete one, from the middle if any */
			uint32_t k = nheld / 2;
			assert_err(virtq_complete(&f->q, (uint16_t)held[k], k), 1);
			fixture_expect_used(f, (uint32_t)held[k], k);
			completed++;
			held[k] = held[--nheld];
		}
	}
	assert_true(posted > 1000);
	assert_int_equal(virtq_in_flight(&f->q), posted - completed);
	fixture_finish(f);
}

/* Batched completion: nothing is visible until publish writes the first
 * descriptor's flags; then the whole batch is. */
static void test_batched_completion(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(8, 0);
	struct virtq_used_elem elems[4];
	for (uint32_t i = 0; i < 4; i++)
		fixture_post(f, 8, 8, 0);
	struct virtq_seg segs[4][4];
	struct virtq_chain chains[4];
	for (uint32_t i = 0; i < 4; i++)
		virtq_chain_init(&chains[i], segs[i], 4);
	assert_err(virtq_pop_many(&f->q, chains, 4), 4);
	for (uint32_t i = 0; i < 4; i++)
		elems[i] = (struct virtq_used_elem){ chains[3 - i].id, i };
	assert_err(virtq_add_used_many(&f->q, elems, 3), 0);
	uint16_t flags = 0;
	assert_err(virtq_mock_packed_used_desc(&f->m, 2, NULL, NULL, &flags), 0);
	assert_int_equal(flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED),
			 VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED); /* written: not the first */
	assert_err(virtq_mock_get_used(&f->m, NULL, NULL), 0); /* the first waits */
	/* a duplicate id refuses the whole batch */
	const struct virtq_used_elem twice[2] = { elems[3], elems[3] };
	assert_err(virtq_add_used_many(&f->q, twice, 2), -VIRTQ_EINVAL);
	assert_err(virtq_complete_many(&f->q, &elems[3], 1), 1);
	for (uint32_t i = 0; i < 4; i++)
		fixture_expect_used(f, elems[i].id, i);
	fixture_finish(f);
}

/* unpop rewinds the ring position (and wrap counter); discard completes
 * with length 0; ENOSPC leaves the chain available; EBUSY when the ring
 * is all the device's. */
static void test_unpop_discard_enospc(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(4, 0);
	struct virtq_seg one[1];
	struct virtq_chain small;
	virtq_chain_init(&small, one, 1);
	int a = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &small), -VIRTQ_ENOSPC);
	assert_int_equal(small.id, a);
	assert_int_equal(small.needed, 2);
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_unpop(&f->q), 0);
	assert_int_equal(virtq_next_avail(&f->q), 0 | VIRTQ_RING_EVENT_WRAP);
	assert_err(virtq_discard(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, a);
	assert_err(virtq_publish_used(&f->q), 1);
	fixture_expect_used(f, (uint32_t)a, 0);
	/* a chain across the ring's end, unpopped: the wrap counter goes back */
	int b = fixture_post(f, 8, 8, 0); /* slots 2, 3 */
	int c = fixture_post(f, 8, 8, 0); /* slots 0, 1 of the next lap */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, b);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, c);
	assert_int_equal(virtq_next_avail(&f->q), 2);
	assert_err(virtq_pop(&f->q, &f->c), 0); /* all 4 slots held: nothing can be available */
	assert_err(virtq_unpop(&f->q), 0);
	assert_int_equal(virtq_next_avail(&f->q), 0);
	assert_err(virtq_unpop(&f->q), 0);
	assert_int_equal(virtq_next_avail(&f->q), 2 | VIRTQ_RING_EVENT_WRAP);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	/* from the journal's copies: the same chain again */
	assert_err(virtq_resubmit(&f->q, (uint16_t)b, &f->c), 1);
	assert_int_equal(f->c.id, b);
	assert_int_equal(f->c.ndesc, 2);
	assert_int_equal(f->c.read_len, 8);
	assert_int_equal(f->c.write_len, 8);
	fixture_finish(f);
}

/* Without EVENT_IDX: ENABLE / DISABLE on both sides. */
static void test_notify_flags(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(8, 0);
	uint16_t off_wrap = 1, flags = 1;
	assert_err(virtq_mock_packed_device_event(&f->m, &off_wrap, &flags), 0);
	assert_int_equal(flags, VIRTQ_RING_EVENT_FLAGS_ENABLE);
	int id = fixture_post(f, 8, 0, 0);
	assert_true(virtq_mock_should_kick(&f->m));
	assert_err(virtq_disable_notify(&f->q), 0);
	fixture_post(f, 8, 0, 0);
	assert_false(virtq_mock_should_kick(&f->m));
	assert_err(virtq_enable_notify(&f->q), 1); /* chains available meanwhile */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_enable_notify(&f->q), 0);
	assert_err(virtq_complete(&f->q, (uint16_t)id, 0), 1); /* driver: ENABLE (0) */
	assert_err(virtq_needs_notify(&f->q), 0); /* nothing new */
	assert_err(virtq_mock_disable_interrupts(&f->m), 0);
	assert_err(virtq_complete(&f->q, f->c.id, 0), 0);
	assert_err(virtq_mock_enable_interrupts(&f->m), 1); /* used pending: consume first */
	/* reserved flags value 3: taken as ENABLE (never a missed interrupt) */
	assert_err(virtq_mock_packed_set_driver_event(&f->m, 0, 3), 0);
	fixture_post(f, 8, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_complete(&f->q, f->c.id, 0), 1);
	/* DESC without EVENT_IDX: also ENABLE */
	assert_err(virtq_mock_packed_set_driver_event(&f->m, 0x7fff, VIRTQ_RING_EVENT_FLAGS_DESC), 0);
	fixture_post(f, 8, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_complete(&f->q, f->c.id, 0), 1);
	fixture_finish(f);
}

/* With EVENT_IDX: the DESC form and its wrap arithmetic on both sides. */
static void test_notify_event_idx(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(8, F(EVENT_IDX));
	uint16_t off_wrap = 0, flags = 0;
	assert_err(virtq_mock_packed_device_event(&f->m, &off_wrap, &flags), 0);
	assert_int_equal(flags, VIRTQ_RING_EVENT_FLAGS_DESC);
	assert_int_equal(off_wrap, 0 | VIRTQ_RING_EVENT_WRAP);
	fixture_post(f, 8, 0, 0); /* slot 0: the device asked for it */
	assert_true(virtq_mock_should_kick(&f->m));
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_mock_packed_device_event(&f->m, &off_wrap, NULL), 0);
	assert_int_equal(off_wrap, 1 | VIRTQ_RING_EVENT_WRAP); /* follows avail_pos */
	const uint16_t first = f->c.id;
	/* driver: interrupt when the used descriptor at slot 2 (this lap) is written */
	assert_err(virtq_mock_packed_set_driver_event(&f->m, 2 | VIRTQ_RING_EVENT_WRAP,
						      VIRTQ_RING_EVENT_FLAGS_DESC), 0);
	for (uint32_t i = 0; i < 3; i++)
		fixture_post(f, 8, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	/* the first decision knows nothing: notify */
	assert_err(virtq_complete(&f->q, first, 0), 1);
	assert_err(virtq_complete(&f->q, f->c.id, 0), 0); /* slot 1: before the event */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_complete(&f->q, f->c.id, 0), 1); /* slot 2: the event */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_complete(&f->q, f->c.id, 0), 0); /* slot 3: past it */
	/* an event in the previous lap, passed long ago: no more interrupts */
	for (uint32_t i = 0; i < 6; i++) {
		fixture_post(f, 8, 0, 0);
		while (virtq_mock_get_used(&f->m, NULL, NULL) == 1)
			;
		assert_err(virtq_pop(&f->q, &f->c), 1);
		const int r = virtq_complete(&f->q, f->c.id, 0);
		/* slots 4..7 of lap 1, then 0, 1 of lap 0: the event (2, lap 1) is behind */
		assert_err(r, 0);
	}
	/* an event in the next lap's slot 1 (wrap 0): crossed by the next completion */
	assert_err(virtq_mock_packed_set_driver_event(&f->m, 2, VIRTQ_RING_EVENT_FLAGS_DESC), 0);
	fixture_post(f, 8, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_complete(&f->q, f->c.id, 0), 1);
	/* the device disables kicks: the driver sees DISABLE */
	assert_err(virtq_disable_notify(&f->q), 0);
	fixture_post(f, 8, 0, 0);
	assert_false(virtq_mock_should_kick(&f->m));
	assert_err(virtq_enable_notify(&f->q), 1);
	fixture_finish(f);
}

/* The differential check in small: the same posts through a split and a
 * packed ring give the same chains (ids aside, which are the driver's). */
static void test_same_chains_as_split(void **state)
{
	(void)state;
	struct fixture *s = calloc(1, sizeof(*s));
	fixture_config(&s->cfg);
	fixture_start(s);
	struct fixture *p = fixture_new_packed(8, 0);
	for (uint32_t round = 0; round < 40; round++) {
		const uint32_t n = 1 + round % 4;
		const unsigned flags = round % 3 == 0 ? VIRTQ_MOCK_INDIRECT : 0;
		struct virtq_mock_buf bufs[4];
		for (uint32_t i = 0; i < n; i++)
			bufs[i] = (struct virtq_mock_buf){ 0x20000 + 64 * i, 16 + i, i + 1 == n };
		assert_true(virtq_mock_add_chain(&s->m, bufs, n, flags) >= 0);
		assert_true(virtq_mock_add_chain(&p->m, bufs, n, flags) >= 0);
		assert_err(virtq_pop(&s->q, &s->c), 1);
		assert_err(virtq_pop(&p->q, &p->c), 1);
		assert_int_equal(s->c.nseg, p->c.nseg);
		assert_int_equal(s->c.nread, p->c.nread);
		assert_int_equal(s->c.read_len, p->c.read_len);
		assert_int_equal(s->c.write_len, p->c.write_len);
		assert_int_equal(s->c.ndesc, p->c.ndesc);
		for (uint32_t i = 0; i < s->c.nseg; i++) {
			uint64_t gs = 0, gp = 0;
			assert_true(virtq_mock_gpa_of(&s->m, s->c.segs[i].addr, &gs));
			assert_true(virtq_mock_gpa_of(&p->m, p->c.segs[i].addr, &gp));
			assert_int_equal(gs, gp);
			assert_int_equal(s->c.segs[i].len, p->c.segs[i].len);
		}
		assert_err(virtq_complete(&s->q, s->c.id, 1), 1);
		assert_err(virtq_complete(&p->q, p->c.id, 1), 1);
		assert_err(virtq_mock_get_used(&s->m, NULL, NULL), 1);
		assert_err(virtq_mock_get_used(&p->m, NULL, NULL), 1);
		virtq_mock_alloc_reset(&s->m);
		virtq_mock_alloc_reset(&p->m);
	}
	fixture_stop(s);
	free(s);
	fixture_finish(p);
}

/* A packed guest of 8 with EVENT_IDX and a dirty log over its memory,
 * empty, not yet enabled or attached. */
static struct fixture *logged_guest(struct virtq_log *log)
{
	static unsigned char bitmap[64];
	struct fixture *f = fixture_new_packed(8, F(EVENT_IDX));
	memset(bitmap, 0, sizeof(bitmap));
	assert_err(virtq_log_init(log, &f->m.mem, bitmap, sizeof(bitmap)), 0);
	return f;
}

/* A dirty log sees every byte the device writes to a packed ring. */
static void test_dirty_log(void **state)
{
	(void)state;
	struct virtq_log log;
	struct fixture *f = logged_guest(&log);
	virtq_log_set_enabled(&log, true);
	assert_err(virtq_set_log(&f->q, &log), 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	for (uint32_t i = 0; i < 20; i++) {
		fixture_post(f, 8, 8, 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_true(virtq_complete(&f->q, f->c.id, 8) >= 0);
		while (virtq_mock_get_used(&f->m, NULL, NULL) == 1)
			;
		virtq_mock_alloc_reset(&f->m);
	}
	assert_err(virtq_disable_notify(&f->q), 0);
	uint64_t bad = 0;
	if (virtq_mock_check_dirty(&f->m, &log, &bad))
		fail_msg("device write not logged at gpa 0x%llx", (unsigned long long)bad);
	fixture_finish(f);
}

/* What the mock driver writes, release-stored flags included, is its own
 * doing: the write checker must not blame the device for it. */
static void test_driver_writes_not_dirty(void **state)
{
	(void)state;
	struct virtq_log log;
	struct fixture *f = logged_guest(&log);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	fixture_post(f, 8, 8, 0);
	uint64_t bad = 0;
	if (virtq_mock_check_dirty(&f->m, &log, &bad))
		fail_msg("a driver write counted as the device's at gpa 0x%llx",
			 (unsigned long long)bad);
	fixture_finish(f);
}

/* Ring parts: descriptor ring 16-aligned and writable (used descriptors go
 * there), event structures 4-aligned, inside guest memory. */
static void test_activation_rules(void **state)
{
	(void)state;
	const struct {
		uint64_t desc, driver, device;
		int err;
	} rows[] = {
		{ 0x1008, VIRTQ_MOCK_AUTO, VIRTQ_MOCK_AUTO, -VIRTQ_EINVAL },
		{ VIRTQ_MOCK_AUTO, 0x2002, VIRTQ_MOCK_AUTO, -VIRTQ_EINVAL },
		{ VIRTQ_MOCK_AUTO, VIRTQ_MOCK_AUTO, 0x3002, -VIRTQ_EINVAL },
		{ (1u << 20) - 64, VIRTQ_MOCK_AUTO, VIRTQ_MOCK_AUTO, -VIRTQ_EBADADDR },
		{ VIRTQ_MOCK_AUTO, (1u << 20) - 2, VIRTQ_MOCK_AUTO, -VIRTQ_EINVAL },
		{ VIRTQ_MOCK_AUTO, VIRTQ_MOCK_AUTO, 1u << 20, -VIRTQ_EBADADDR },
		{ UINT64_MAX - 15, VIRTQ_MOCK_AUTO, VIRTQ_MOCK_AUTO, -VIRTQ_EOVERFLOW },
		{ VIRTQ_MOCK_AUTO, (1u << 20) - 4, (1u << 20) - 8, 0 }, /* 4 bytes each suffice */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fixture *f = calloc(1, sizeof(*f));
		fixture_config(&f->cfg);
		f->cfg.features |= F(RING_PACKED);
		f->cfg.desc_gpa = rows[i].desc;
		f->cfg.avail_gpa = rows[i].driver;
		f->cfg.used_gpa = rows[i].device;
		assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
		assert_err(virtq_mock_attach(&f->m, &f->q), rows[i].err);
		fixture_stop(f);
		free(f);
	}
	/* the descriptor ring in read-only memory: the device cannot return used descriptors */
	struct fixture *f = calloc(1, sizeof(*f));
	fixture_config(&f->cfg);
	f->cfg.features |= F(RING_PACKED);
	f->cfg.nregions = 2;
	f->cfg.regions[1] = (struct virtq_mock_region){ .gpa = 2u << 20, .size = 1u << 16,
							.flags = VIRTQ_MEM_READONLY };
	f->cfg.desc_gpa = 2u << 20;
	assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
	assert_err(virtq_mock_attach(&f->m, &f->q), -VIRTQ_EACCES);
	fixture_stop(f);
	free(f);
}

/* Configures a queue for resume as a restarted back-end without a journal. */
static void configure_without_journal(struct fixture *f)
{
	assert_err(virtq_mock_configure(&f->m, &f->q), 0);
	assert_err(virtq_set_journal(&f->q, NULL, 0), 0);
}

/* virtq_resume_packed() without a journal (test_journal.c has the rest): a
 * queue stopped with nothing in flight carries on at vhost-user's base,
 * wrap counters included; the rules refuse the rest. */
static void test_resume_packed(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(4, 0);
	virtq_reset(&f->q);
	configure_without_journal(f);
	assert_err(virtq_activate(&f->q), 0);
	for (int i = 0; i < 3; i++) { /* 6 slots: into the second lap */
		int id = fixture_post(f, 8, 8, 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_err(virtq_add_used(&f->q, (uint16_t)id, 8), 0);
		assert_err(virtq_publish_used(&f->q), 1);
		fixture_expect_used(f, (uint32_t)id, 8);
	}
	const uint32_t base = VIRTQ_PACKED_BASE(virtq_next_avail(&f->q), virtq_next_used(&f->q));
	assert_int_equal(base, 2u | 2u << 16);
	memset(&f->q, 0x5a, sizeof(f->q)); /* the old process is gone */
	configure_without_journal(f);
	assert_err(virtq_resume_packed(&f->q, base | 4u), -VIRTQ_EBADSTATE); /* avail pos 6 */
	assert_err(virtq_resume_packed(&f->q, base | 4u << 16), -VIRTQ_EBADSTATE);
	assert_err(virtq_resume_packed(&f->q, base ^ VIRTQ_RING_EVENT_WRAP), -VIRTQ_ENOTSUP);
	assert_err(virtq_resume_packed(&f->q, base + 1), -VIRTQ_ENOTSUP);
	assert_false(virtq_is_active(&f->q));
	assert_err(virtq_resume_packed(&f->q, base), 0);
	assert_int_equal(virtq_next_avail(&f->q), 2);
	int id = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, id);
	/* in flight now: a restart cannot resubmit it */
	memset(&f->q, 0x5a, sizeof(f->q)); /* the old process is gone */
	configure_without_journal(f);
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE(0, 0)), -VIRTQ_ENOTSUP);
	assert_err(virtq_resume(&f->q, 0), -VIRTQ_ENOTSUP);
	/* an area that does not describe this queue: corrupt, whatever the base */
	uint16_t version = 2;
	memcpy((unsigned char *)f->m.inflight + 8, &version, sizeof(version));
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE(0, 0)), -VIRTQ_EBADSTATE);
	version = 0; /* never used: nothing in flight, resumes afresh */
	memcpy((unsigned char *)f->m.inflight + 8, &version, sizeof(version));
	assert_err(virtq_resume_packed(&f->q, base ^ 0x40004u), -VIRTQ_EBADSTATE); /* pos 6 */
	assert_err(virtq_resume_packed(&f->q, VIRTQ_PACKED_BASE(2, 2)), 0);
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_resume_packed(NULL, VIRTQ_PACKED_BASE_FRESH), -VIRTQ_EINVAL);
	fixture_finish(f);
}

/* The in-flight area is shared with the front-end, which can write it: a
 * chain's slot count scribbled there must not move a ring position out of
 * the ring (the next used descriptor would be written past it). */
static void test_scribbled_slot_count(void **state)
{
	(void)state;
	struct fixture *f = fixture_new_packed(4, 0);
	int id = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	const uint16_t huge = 0xfffd; /* slot count field of desc[id] */
	memcpy((unsigned char *)f->m.inflight + 16 + 16 * id + 2, &huge, sizeof(huge));
	assert_err(virtq_add_used(&f->q, (uint16_t)id, 8), 0);
	assert_true((virtq_next_used(&f->q) & ~VIRTQ_RING_EVENT_WRAP) < 4);
	assert_err(virtq_publish_used(&f->q), 1);
	fixture_expect_used(f, (uint32_t)id, 8);
	/* the count of slots the device holds is wrong now (2 - 0xfffd): pops
	 * wait rather than walk slots that may be the device's */
	(void)fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBUSY);
	assert_false(virtq_is_broken(&f->q));
	fixture_finish(f); /* every device write inside the ring and the buffers */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_multi_out_of_order),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_batched_completion),
		cmocka_unit_test(test_unpop_discard_enospc),
		cmocka_unit_test(test_notify_flags),
		cmocka_unit_test(test_notify_event_idx),
		cmocka_unit_test(test_same_chains_as_split),
		cmocka_unit_test(test_scribbled_slot_count),
		cmocka_unit_test(test_dirty_log),
		cmocka_unit_test(test_driver_writes_not_dirty),
		cmocka_unit_test(test_activation_rules),
		cmocka_unit_test(test_resume_packed),
	};
	return cmocka_run_group_tests_name("packed virtqueue", tests, NULL, NULL);
}

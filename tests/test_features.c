/* SPDX-License-Identifier: MIT */
/*
 * The feature contract (queue.h): VERSION_1 required; IN_ORDER and
 * ACCESS_PLATFORM (without a translator) refused with -VIRTQ_ENOTSUP by activation, resume and
 * restore, before anything is written; RING_PACKED activates the packed
 * layout (test_packed.c) but is refused by virtq_resume() (no packed
 * in-flight layout yet) and by save while chains are held; other bits
 * ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define F(bit) VIRTQ_FEATURE(VIRTQ_F_##bit)

struct feature_case {
	const char *name;
	uint64_t features;
};

static const struct feature_case refused[] = {
	{ "no_version_1", 0 },
	{ "no_version_1_with_ring_features", F(INDIRECT_DESC) | F(EVENT_IDX) },
	{ "in_order", F(VERSION_1) | F(IN_ORDER) },
	{ "access_platform_without_translator", F(VERSION_1) | F(ACCESS_PLATFORM) },
	{ "everything", ~UINT64_C(0) ^ F(VERSION_1) },
};

static struct fixture *new_guest(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	fixture_config(&f->cfg);
	assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
	virtq_chain_init(&f->c, f->segs, FIXTURE_SEGS);
	/* used ring full of 0xff: activation would reset flags and avail_event
	 * (restore needs used.idx 0, which the saved state says) */
	assert_err(virtq_mock_fill(&f->m, f->m.cfg.used_gpa, 0xff, VIRTQ_USED_RING_BYTES(8)), 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	return f;
}

static void expect_refused_untouched(struct fixture *f, int r)
{
	assert_err(r, -VIRTQ_ENOTSUP);
	assert_false(virtq_is_active(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_ENOTREADY);
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	assert_int_equal(virtq_mock_used_flags(&f->m), 0xffff);
}

static void test_refused(void **state)
{
	const struct feature_case *fc = *state;
	struct fixture *f = new_guest();
	f->m.cfg.features = fc->features;
	expect_refused_untouched(f, virtq_mock_attach(&f->m, &f->q));
	expect_refused_untouched(f, virtq_mock_resume(&f->m, &f->q, 0));
	/* A saved state that claims the features is held to the same contract. */
	struct virtq_state s;
	f->m.cfg.features = F(VERSION_1);
	assert_err(virtq_mock_attach(&f->m, &f->q), 0);
	assert_err(virtq_save(&f->q, &s), 0);
	virtq_reset(&f->q);
	assert_err(virtq_mock_fill(&f->m, f->m.cfg.used_gpa, 0xff, 2), 0); /* flags */
	assert_err(virtq_mock_fill(&f->m, f->m.cfg.used_gpa + 2, 0, 2), 0); /* idx: as saved */
	assert_err(virtq_mock_snapshot(&f->m), 0);
	s.features = fc->features;
	expect_refused_untouched(f, virtq_restore(&f->q, &f->m.mem, &s));
	s.features = F(VERSION_1);
	assert_err(virtq_restore(&f->q, &f->m.mem, &s), 0);
	fixture_stop(f);
	free(f);
}

/* RING_PACKED activates, but virtq_resume() refuses it (virtq_resume_packed
 * is the packed one): -VIRTQ_ENOTSUP, nothing written. A packed queue is
 * saved only while it holds nothing (state.h): a chain in flight, or one
 * completed and not published, is -VIRTQ_ENOTSUP, s untouched. */
static void test_packed_resume_refused(void **state)
{
	(void)state;
	static struct virtq_state s, untouched;
	struct fixture *f = new_guest();
	f->m.cfg.features = F(VERSION_1) | F(RING_PACKED);
	expect_refused_untouched(f, virtq_mock_resume(&f->m, &f->q, 0));
	assert_err(virtq_mock_attach(&f->m, &f->q), 0);
	assert_err(virtq_save(&f->q, &s), 0); /* drained */
	assert_true(s.active && s.avail_wrap && s.used_wrap && s.avail_pos == 0);
	virtq_chain_init(&f->c, f->segs, FIXTURE_SEGS);
	int id = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	memset(&s, 0x5a, sizeof(s));
	untouched = s;
	assert_err(virtq_save(&f->q, &s), -VIRTQ_ENOTSUP); /* in flight */
	assert_memory_equal(&s, &untouched, sizeof(s));
	assert_err(virtq_add_used(&f->q, (uint16_t)id, 0), 0);
	assert_err(virtq_save(&f->q, &s), -VIRTQ_ENOTSUP); /* completed, unpublished */
	assert_memory_equal(&s, &untouched, sizeof(s));
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_save(&f->q, &s), 0);
	assert_true(s.avail_pos == 2 && s.used_pos == 2 && s.avail_wrap && s.used_wrap);
	fixture_stop(f);
	free(f);
}

/* The checks come first: a refused feature wins over a bad ring address. */
static void test_checked_before_rings(void **state)
{
	(void)state;
	struct fixture *f = new_guest();
	f->m.cfg.features = F(VERSION_1) | F(IN_ORDER);
	f->m.cfg.desc_gpa = 8; /* misaligned: EINVAL once the features pass */
	assert_err(virtq_mock_attach(&f->m, &f->q), -VIRTQ_ENOTSUP);
	f->m.cfg.features = F(VERSION_1);
	assert_err(virtq_mock_attach(&f->m, &f->q), -VIRTQ_EINVAL);
	fixture_stop(f);
	free(f);
}

/* What virtq_supported_features() offers activates, with any device bits. */
static void test_supported_activate(void **state)
{
	(void)state;
	const uint64_t supported = virtq_supported_features();
	assert_int_equal(supported,
			 F(INDIRECT_DESC) | F(EVENT_IDX) | F(VERSION_1) | F(ACCESS_PLATFORM) |
				 F(RING_PACKED));
	struct fixture *f = new_guest();
	/* ACCESS_PLATFORM needs a translator (test_iommu) */
	f->m.cfg.features = supported | UINT64_C(0xffffff) /* device-specific bits 0..23 */;
	assert_err(virtq_mock_attach(&f->m, &f->q), -VIRTQ_ENOTSUP);
	f->m.cfg.features &= ~(F(ACCESS_PLATFORM) | F(RING_PACKED)); /* split: the mock posts split chains */
	assert_err(virtq_mock_attach(&f->m, &f->q), 0);
	int head = fixture_post(f, 8, 8, VIRTQ_MOCK_INDIRECT);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, head);
	fixture_stop(f);
	free(f);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(refused) / sizeof(refused[0]) + 3];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		tests[n++] = (struct CMUnitTest){ .name = refused[i].name,
						  .test_func = test_refused,
						  .initial_state = (void *)(uintptr_t)&refused[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_packed_resume_refused);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_checked_before_rings);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_supported_activate);
	return cmocka_run_group_tests_name("feature contract", tests, NULL, NULL);
}

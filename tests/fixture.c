/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "fixture.h"

void fixture_config(struct virtq_mock_config *cfg)
{
	virtq_mock_config_default(cfg);
	cfg->queue_size = 8;
	cfg->features |= VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
}

void fixture_start(struct fixture *f)
{
	assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
	assert_err(virtq_mock_attach(&f->m, &f->q), 0);
	virtq_chain_init(&f->c, f->segs, FIXTURE_SEGS);
}

void fixture_stop(struct fixture *f)
{
	virtq_mock_destroy(&f->m);
}

struct fixture *fixture_new_packed(uint32_t size, uint64_t extra)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	fixture_config(&f->cfg);
	f->cfg.queue_size = size;
	f->cfg.features |= VIRTQ_FEATURE(VIRTQ_F_RING_PACKED) | extra;
	fixture_start(f);
	assert_true(virtq_mock_is_packed(&f->m));
	assert_err(virtq_mock_snapshot(&f->m), 0);
	return f;
}

void fixture_finish(struct fixture *f)
{
	uint64_t bad = 0;
	if (virtq_mock_check_writes(&f->m, &bad))
		fail_msg("device wrote outside allowed bytes at gpa 0x%llx", (unsigned long long)bad);
	assert_true(virtq_mock_guards_intact(&f->m));
	fixture_stop(f);
	free(f);
}

void fixture_expect_used(struct fixture *f, uint32_t id, uint32_t len)
{
	uint32_t got_id = 0, got_len = 0;
	assert_err(virtq_mock_get_used(&f->m, &got_id, &got_len), 1);
	assert_int_equal(got_id, id);
	assert_int_equal(got_len, len);
}

int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	fixture_config(&f->cfg);
	fixture_start(f);
	*state = f;
	return 0;
}

int fixture_teardown(void **state)
{
	fixture_stop(*state);
	free(*state);
	return 0;
}

uint64_t fixture_buf(struct fixture *f, uint32_t len, int byte)
{
	uint64_t gpa = virtq_mock_alloc(&f->m, len, 16);
	assert_true(gpa != VIRTQ_MOCK_NOMEM);
	assert_err(virtq_mock_fill(&f->m, gpa, byte, len), 0);
	return gpa;
}

int fixture_post(struct fixture *f, uint32_t rlen, uint32_t wlen, unsigned flags)
{
	struct virtq_mock_buf bufs[2];
	uint32_t n = 0;
	if (rlen)
		bufs[n++] = (struct virtq_mock_buf){ fixture_buf(f, rlen, 'r'), rlen, false };
	if (wlen)
		bufs[n++] = (struct virtq_mock_buf){ fixture_buf(f, wlen, 0), wlen, true };
	int head = virtq_mock_add_chain(&f->m, bufs, n, flags);
	assert_true(head >= 0);
	return head;
}

static void expect_all_broken(struct fixture *f)
{
	assert_true(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBROKEN);
	assert_err(virtq_unpop(&f->q), -VIRTQ_EBROKEN);
	assert_err(virtq_add_used(&f->q, 0, 0), -VIRTQ_EBROKEN);
	assert_err(virtq_publish_used(&f->q), -VIRTQ_EBROKEN);
	assert_err(virtq_needs_notify(&f->q), -VIRTQ_EBROKEN);
	assert_err(virtq_enable_notify(&f->q), -VIRTQ_EBROKEN);
	assert_err(virtq_disable_notify(&f->q), -VIRTQ_EBROKEN);
}

void fixture_expect_fatal(struct fixture *f, int err)
{
	uint64_t bad = 0;
	assert_err(virtq_pop(&f->q, &f->c), err);
	assert_int_equal(f->c.nseg, 0);
	assert_true(f->c.ndesc <= 2 * virtq_size(&f->q));
	expect_all_broken(f);
	if (virtq_mock_check_writes(&f->m, &bad))
		fail_msg("device wrote outside allowed ranges at gpa 0x%llx", (unsigned long long)bad);
	assert_true(virtq_mock_guards_intact(&f->m));

	virtq_reset(&f->q);
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_ENOTREADY);
	virtq_mock_reset_driver(&f->m);
	virtq_mock_alloc_reset(&f->m);
	assert_err(virtq_mock_attach(&f->m, &f->q), 0);
	int head = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, head);
	assert_int_equal(f->c.read_len, 8);
	assert_int_equal(f->c.write_len, 8);
}

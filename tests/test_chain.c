/* SPDX-License-Identifier: MIT */
/* Chains and cursors, independent of any ring: built with virtq_chain_append. */
#include <string.h>

#include "fixture.h"

static unsigned char r1[3], r2[5], r3[1], w1[4], w2[6];

/* readable 3 + 5 + 1 bytes, writable 4 + 6 bytes */
static void build(struct virtq_chain *c, struct virtq_seg *segs, uint32_t cap)
{
	virtq_chain_init(c, segs, cap);
	for (unsigned i = 0; i < sizeof(r1); i++)
		r1[i] = (unsigned char)('a' + i);
	for (unsigned i = 0; i < sizeof(r2); i++)
		r2[i] = (unsigned char)('d' + i);
	r3[0] = 'i';
	assert_err(virtq_chain_append(c, r1, sizeof(r1), 0), 0);
	assert_err(virtq_chain_append(c, r2, sizeof(r2), 0), 0);
	assert_err(virtq_chain_append(c, r3, sizeof(r3), 0), 0);
	assert_err(virtq_chain_append(c, w1, sizeof(w1), 1), 0);
	assert_err(virtq_chain_append(c, w2, sizeof(w2), 1), 0);
}

static void test_append_rules(void **state)
{
	(void)state;
	struct virtq_seg segs[5];
	struct virtq_chain c;
	build(&c, segs, 5);
	assert_int_equal(c.nseg, 5);
	assert_int_equal(c.nread, 3);
	assert_int_equal(c.read_len, 9);
	assert_int_equal(c.write_len, 10);
	assert_err(virtq_chain_append(&c, r1, 1, 0), -VIRTQ_EBADDESC); /* readable after writable */
	assert_err(virtq_chain_append(&c, w1, 1, 1), -VIRTQ_ENOSPC);
	assert_err(virtq_chain_append(&c, w1, 0, 1), 0); /* empty: nothing to add */
	assert_err(virtq_chain_append(&c, NULL, 1, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_append(NULL, w1, 1, 1), -VIRTQ_EINVAL);
	virtq_chain_clear(&c);
	assert_err(virtq_chain_append(&c, r1, UINT32_MAX, 1), 0);
	assert_err(virtq_chain_append(&c, r1, 1, 1), -VIRTQ_EOVERFLOW);
	virtq_chain_init(&c, NULL, 8);
	assert_int_equal(c.cap, 0);
	assert_err(virtq_chain_append(&c, r1, 1, 0), -VIRTQ_ENOSPC);
}

static void test_read_across_segments(void **state)
{
	(void)state;
	struct virtq_seg segs[5];
	struct virtq_chain c;
	struct virtq_cursor in;
	char buf[16] = { 0 };
	build(&c, segs, 5);
	virtq_chain_reader(&in, &c);
	assert_int_equal(virtq_chain_remaining(&in), 9);
	assert_err(virtq_chain_read(&in, buf, 2), 2);
	assert_memory_equal(buf, "ab", 2);
	assert_err(virtq_chain_read(&in, buf, 4), 4); /* crosses r1 -> r2 */
	assert_memory_equal(buf, "cdef", 4);
	assert_err(virtq_chain_skip(&in, 2), 2);
	assert_int_equal(virtq_chain_offset(&in), 8);
	assert_err(virtq_chain_read(&in, buf, 16), 1); /* short: only 'i' left */
	assert_int_equal(buf[0], 'i');
	assert_err(virtq_chain_read(&in, buf, 16), 0);
	assert_int_equal(virtq_chain_remaining(&in), 0);
	assert_err(virtq_chain_skip(&in, 1), 0);
}

static void test_write_across_segments(void **state)
{
	(void)state;
	struct virtq_seg segs[5];
	struct virtq_chain c;
	struct virtq_cursor out;
	build(&c, segs, 5);
	memset(w1, 0, sizeof(w1));
	memset(w2, 0, sizeof(w2));
	virtq_chain_writer(&out, &c);
	assert_int_equal(virtq_chain_remaining(&out), 10);
	assert_err(virtq_chain_write(&out, "0123456", 7), 7);
	assert_memory_equal(w1, "0123", 4);
	assert_memory_equal(w2, "456", 3);
	assert_err(virtq_chain_write(&out, "789XYZ", 6), 3); /* never past the chain */
	assert_memory_equal(w2, "456789", 6);
	assert_memory_equal(r1, "abc", 3); /* the readable part is untouched */
	assert_int_equal(virtq_chain_offset(&out), 10);
}

static void test_segments_view(void **state)
{
	(void)state;
	struct virtq_seg segs[5], view[3];
	struct virtq_chain c;
	struct virtq_cursor in;
	build(&c, segs, 5);
	virtq_chain_reader(&in, &c);
	virtq_chain_skip(&in, 1);
	assert_err(virtq_chain_segments(&in, 8, view, 3), 3);
	assert_ptr_equal(view[0].addr, r1 + 1);
	assert_int_equal(view[0].len, 2);
	assert_ptr_equal(view[1].addr, r2);
	assert_int_equal(view[1].len, 5);
	assert_ptr_equal(view[2].addr, r3);
	assert_int_equal(view[2].len, 1);
	assert_int_equal(virtq_chain_offset(&in), 1); /* no advance */
	assert_err(virtq_chain_segments(&in, 9, view, 3), -VIRTQ_ESHORT);
	assert_err(virtq_chain_segments(&in, 8, view, 2), -VIRTQ_ENOSPC);
	assert_err(virtq_chain_segments(&in, 0, view, 3), 0);
	assert_err(virtq_chain_segments(NULL, 1, view, 3), -VIRTQ_EINVAL);
}

static void test_limit(void **state)
{
	(void)state;
	struct virtq_seg segs[5];
	struct virtq_chain c;
	struct virtq_cursor in;
	char buf[16];
	build(&c, segs, 5);
	virtq_chain_reader(&in, &c);
	virtq_chain_skip(&in, 2);
	assert_err(virtq_chain_limit(&in, 8), -VIRTQ_ESHORT);
	assert_int_equal(virtq_chain_remaining(&in), 7);
	assert_err(virtq_chain_limit(&in, 4), 0);
	assert_int_equal(virtq_chain_remaining(&in), 4);
	assert_err(virtq_chain_read(&in, buf, 16), 4); /* stops at the limit, mid-segment */
	assert_memory_equal(buf, "cdef", 4);
	assert_err(virtq_chain_skip(&in, 1), 0);
	assert_err(virtq_chain_segments(&in, 1, segs, 1), -VIRTQ_ESHORT);
	assert_err(virtq_chain_limit(&in, 0), 0);
	assert_err(virtq_chain_limit(NULL, 0), -VIRTQ_EINVAL);
}

static void test_null_and_empty(void **state)
{
	(void)state;
	struct virtq_cursor cur;
	char b;
	virtq_chain_reader(&cur, NULL);
	assert_int_equal(virtq_chain_remaining(&cur), 0);
	assert_err(virtq_chain_read(&cur, &b, 1), 0);
	assert_err(virtq_chain_read(NULL, &b, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_read(&cur, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_write(NULL, &b, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_write(&cur, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_skip(NULL, 1), -VIRTQ_EINVAL);
	assert_int_equal(virtq_chain_remaining(NULL), 0);
	assert_int_equal(virtq_chain_offset(NULL), 0);
	virtq_chain_writer(&cur, NULL);
	assert_err(virtq_chain_write(&cur, &b, 1), 0);
}

/* segs can be handed to readv/writev: same layout as struct iovec. */
static void test_seg_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct virtq_seg), sizeof(void *) + sizeof(size_t));
	assert_int_equal(offsetof(struct virtq_seg, len), sizeof(void *));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_rules),
		cmocka_unit_test(test_read_across_segments),
		cmocka_unit_test(test_write_across_segments),
		cmocka_unit_test(test_segments_view),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_null_and_empty),
		cmocka_unit_test(test_seg_layout),
	};
	return cmocka_run_group_tests_name("chain cursors", tests, NULL, NULL);
}

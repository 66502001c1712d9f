/* SPDX-License-Identifier: MIT */
/* chain.h's inline fast paths and the library's out-of-line functions (the
 * names in parentheses) agree on every result and every cursor state. */
#include <string.h>

#include "fixture.h"

struct two {
	struct virtq_cursor fast, lib;
};

static void same_cursor(const struct two *t)
{
	assert_ptr_equal(t->fast.seg, t->lib.seg);
	assert_ptr_equal(t->fast.end, t->lib.end);
	assert_int_equal(t->fast.off, t->lib.off);
	assert_int_equal(t->fast.done, t->lib.done);
	assert_int_equal(t->fast.total, t->lib.total);
}

/* readable: 10 + 6 bytes, writable: 8 + 4 bytes, in separate buffers */
static unsigned char r0[10], r1[6], w0[8], w1[4];

static void make_chain(struct virtq_chain *c, struct virtq_seg *segs)
{
	virtq_chain_init(c, segs, 4);
	for (unsigned i = 0; i < sizeof(r0); i++)
		r0[i] = (unsigned char)i;
	for (unsigned i = 0; i < sizeof(r1); i++)
		r1[i] = (unsigned char)(100 + i);
	assert_err(virtq_chain_append(c, r0, sizeof(r0), 0), 0);
	assert_err(virtq_chain_append(c, r1, sizeof(r1), 0), 0);
	assert_err(virtq_chain_append(c, w0, sizeof(w0), 1), 0);
	assert_err(virtq_chain_append(c, w1, sizeof(w1), 1), 0);
}

static void test_reads_agree(void **state)
{
	(void)state;
	struct virtq_seg segs[4];
	struct virtq_chain c;
	struct two t;
	make_chain(&c, segs);
	virtq_chain_reader(&t.fast, &c);
	(virtq_chain_reader)(&t.lib, &c);
	same_cursor(&t);
	/* inside a segment, to its exact end, across two, past the end, zero */
	const size_t lens[] = { 4, 6, 3, 0, 2, 5, 1 };
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned char a[16] = { 0 }, b[16] = { 0 };
		assert_int_equal(virtq_chain_remaining(&t.fast), (virtq_chain_remaining)(&t.lib));
		assert_int_equal(virtq_chain_offset(&t.fast), (virtq_chain_offset)(&t.lib));
		struct virtq_seg sa[2], sb[2];
		assert_int_equal(virtq_chain_segments(&t.fast, lens[i], sa, 2),
				 (virtq_chain_segments)(&t.lib, lens[i], sb, 2));
		int64_t ra = virtq_chain_read(&t.fast, a, lens[i]);
		int64_t rb = (virtq_chain_read)(&t.lib, b, lens[i]);
		assert_int_equal(ra, rb);
		assert_memory_equal(a, b, sizeof(a));
		same_cursor(&t);
	}
	assert_int_equal(virtq_chain_remaining(&t.fast), 0);
}

static void test_writes_agree(void **state)
{
	(void)state;
	struct virtq_seg segs[4];
	struct virtq_chain c;
	struct two t;
	const unsigned char src[16] = "0123456789abcdef";
	make_chain(&c, segs);
	virtq_chain_writer(&t.fast, &c);
	(virtq_chain_writer)(&t.lib, &c);
	same_cursor(&t);
	const size_t lens[] = { 3, 5, 2, 9 };
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct two before = t;
		memset(w0, 0, sizeof(w0));
		memset(w1, 0, sizeof(w1));
		int64_t ra = virtq_chain_write(&t.fast, src, lens[i]);
		unsigned char fa[12];
		memcpy(fa, w0, 8);
		memcpy(fa + 8, w1, 4);
		memset(w0, 0, sizeof(w0));
		memset(w1, 0, sizeof(w1));
		t.lib = before.lib;
		int64_t rb = (virtq_chain_write)(&t.lib, src, lens[i]);
		assert_int_equal(ra, rb);
		assert_memory_equal(fa, w0, 8);
		assert_memory_equal(fa + 8, w1, 4);
		same_cursor(&t);
	}
}

static void test_null_arguments(void **state)
{
	(void)state;
	struct virtq_seg segs[4], out[1];
	struct virtq_chain c;
	struct virtq_cursor cur;
	unsigned char b[4];
	make_chain(&c, segs);
	virtq_chain_reader(&cur, NULL); /* an empty cursor, as the library makes */
	assert_int_equal(virtq_chain_remaining(&cur), 0);
	assert_ptr_equal(cur.seg, NULL);
	virtq_chain_reader(NULL, &c); /* no crash */
	virtq_chain_writer(NULL, &c);
	virtq_chain_reader(&cur, &c);
	assert_err(virtq_chain_read(NULL, b, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_read(&cur, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_write(&cur, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_segments(NULL, 1, out, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_segments(&cur, 1, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_chain_segments(&cur, 1, out, 0), -VIRTQ_ENOSPC);
	assert_err(virtq_chain_segments(&cur, 17, out, 1), -VIRTQ_ESHORT);
	assert_int_equal(virtq_chain_remaining(NULL), 0);
	assert_int_equal(virtq_chain_offset(NULL), 0);
	assert_int_equal(virtq_chain_offset(&cur), 0); /* nothing moved */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_agree),
		cmocka_unit_test(test_writes_agree),
		cmocka_unit_test(test_null_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

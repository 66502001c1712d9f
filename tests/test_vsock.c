/* SPDX-License-Identifier: MIT */
/* virtio-vsock: the header codec. */
#include <string.h>

#include "fixture.h"

#define HDR VIRTQ_VSOCK_HDR_SIZE

static void assert_hdr_equal(const struct virtq_vsock_hdr *got, const struct virtq_vsock_hdr *want)
{
	assert_int_equal(got->src_cid, want->src_cid);
	assert_int_equal(got->dst_cid, want->dst_cid);
	assert_int_equal(got->src_port, want->src_port);
	assert_int_equal(got->dst_port, want->dst_port);
	assert_int_equal(got->len, want->len);
	assert_int_equal(got->type, want->type);
	assert_int_equal(got->op, want->op);
	assert_int_equal(got->flags, want->flags);
	assert_int_equal(got->buf_alloc, want->buf_alloc);
	assert_int_equal(got->fwd_cnt, want->fwd_cnt);
}

/* ---- header codec -------------------------------------------------------- */

/* raw[i] = i + 1 makes every field the little-endian read of its own offsets;
 * decoding at an odd address catches any unaligned load (UBSan). */
static void test_hdr_codec(void **state)
{
	(void)state;
	unsigned char storage[HDR + 1], back[HDR + 1];
	unsigned char *raw = storage + 1;
	for (unsigned i = 0; i < HDR; i++)
		raw[i] = (unsigned char)(i + 1);
	struct virtq_vsock_hdr h;
	virtq_vsock_hdr_decode(&h, raw);
	const struct virtq_vsock_hdr want = {
		.src_cid = UINT64_C(0x0807060504030201), .dst_cid = UINT64_C(0x100f0e0d0c0b0a09),
		.src_port = 0x14131211, .dst_port = 0x18171615, .len = 0x1c1b1a19,
		.type = 0x1e1d, .op = 0x201f, .flags = 0x24232221,
		.buf_alloc = 0x28272625, .fwd_cnt = 0x2c2b2a29,
	};
	assert_hdr_equal(&h, &want);
	memset(back, 0x11, sizeof(back));
	virtq_vsock_hdr_encode(&want, back + 1);
	assert_memory_equal(back + 1, raw, HDR);
	assert_int_equal(back[0], 0x11); /* nothing before raw */

	const struct virtq_vsock_hdr ones = { UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT32_MAX,
					      UINT32_MAX, UINT16_MAX, UINT16_MAX, UINT32_MAX,
					      UINT32_MAX, UINT32_MAX };
	memset(back, 0x11, sizeof(back));
	virtq_vsock_hdr_encode(&ones, back);
	for (unsigned i = 0; i < HDR; i++)
		assert_int_equal(back[i], 0xff);
	assert_int_equal(back[HDR], 0x11); /* nothing after raw */

	virtq_vsock_hdr_decode(NULL, raw); /* NULL: nothing happens */
	virtq_vsock_hdr_decode(&h, NULL);
	virtq_vsock_hdr_encode(NULL, back);
	virtq_vsock_hdr_encode(&h, NULL);
	assert_hdr_equal(&h, &want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_codec),
	};
	return cmocka_run_group_tests_name("vsock", tests, NULL, NULL);
}

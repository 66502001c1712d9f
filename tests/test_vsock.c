/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock packets over chains the mock driver posts: the header codec,
 * TX parsing of every layout and every rejection rule, RX placement and room,
 * zero-copy RX, peer credit. Every chain's last buffer ends at the last byte
 * of guest memory, so reading or writing past it hits poisoned guard bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define HDR VIRTQ_VSOCK_HDR_SIZE
#define QUEUE_SIZE 32u /* direct chains of up to MAX_BUFS descriptors */
#define MAX_BUFS 17u   /* a header buffer + 16 data buffers */
#define MAX_BYTES 2048u
#define FILL 0xEE      /* guest bytes the device has not written */
#define ANY_MAX 65536u /* VIRTQ_VSOCK_DEFAULT_MAX_PKT, where the max is not the point */

/* A chain's buffers in order; the last nwritable of them are writable. */
struct layout {
	uint32_t n, nwritable;
	uint32_t lens[MAX_BUFS];
};

/* Lengths of 16 data buffers of 7 bytes. */
#define SIXTEEN_SEVENS 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7

static unsigned char data_byte(size_t i) { return (unsigned char)(0x40 + i % 61); }

static struct virtq_vsock_hdr sample_hdr(uint32_t len)
{
	return (struct virtq_vsock_hdr){ .src_cid = 3, .dst_cid = 2, .src_port = 1234,
					 .dst_port = 80, .len = len,
					 .type = VIRTQ_VSOCK_TYPE_STREAM,
					 .op = VIRTQ_VSOCK_OP_RW, .flags = 0x5a,
					 .buf_alloc = 65536, .fwd_cnt = 7 };
}

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

/* The encoded header, then data_byte(0), data_byte(1), ... up to n bytes. */
static void build_packet(unsigned char *out, size_t n, const struct virtq_vsock_hdr *hdr)
{
	unsigned char raw[HDR];
	virtq_vsock_hdr_encode(hdr, raw);
	for (size_t i = 0; i < n; i++)
		out[i] = i < HDR ? raw[i] : data_byte(i - HDR);
}

static uint32_t layout_bytes(const struct layout *l)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < l->n; i++)
		sum += l->lens[i];
	return sum;
}

/*
 * Posts l: every buffer filled with FILL, then the readable ones overwritten
 * with bytes[0 .. nbytes) in order; the last buffer ends at the end of guest
 * memory. Snapshots guest memory and pops the chain into f->c.
 */
static void post_layout(struct fixture *f, const struct layout *l, const unsigned char *bytes,
			size_t nbytes, uint64_t gpas[MAX_BUFS])
{
	struct virtq_mock_buf bufs[MAX_BUFS];
	const uint64_t mem_end = f->cfg.regions[0].gpa + f->cfg.regions[0].size;
	const uint32_t nread = l->n - l->nwritable;
	size_t at = 0;
	assert_true(l->n <= MAX_BUFS);
	for (uint32_t i = 0; i < l->n; i++) {
		const uint32_t len = l->lens[i];
		const uint64_t gpa = i + 1 == l->n ? mem_end - len : fixture_buf(f, len, FILL);
		assert_err(virtq_mock_fill(&f->m, gpa, FILL, len), 0);
		if (i < nread && at < nbytes) {
			size_t k = nbytes - at < len ? nbytes - at : len;
			assert_err(virtq_mock_write(&f->m, gpa, bytes + at, k), 0);
			at += k;
		}
		bufs[i] = (struct virtq_mock_buf){ gpa, len, i >= nread };
		gpas[i] = gpa;
	}
	assert_true(virtq_mock_add_chain(&f->m, bufs, l->n, 0) >= 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
}

/* The guest's bytes of all buffers of l, in chain order. */
static uint32_t gather(struct fixture *f, const struct layout *l, const uint64_t gpas[MAX_BUFS],
		       unsigned char *out)
{
	uint32_t at = 0;
	for (uint32_t i = 0; i < l->n; i++) {
		assert_err(virtq_mock_read(&f->m, gpas[i], out + at, l->lens[i]), 0);
		at += l->lens[i];
	}
	return at;
}

static void assert_no_stray_writes(struct fixture *f)
{
	uint64_t bad = 0;
	if (virtq_mock_check_writes(&f->m, &bad))
		fail_msg("device wrote outside the writable buffers at gpa 0x%llx",
			 (unsigned long long)bad);
	assert_true(virtq_mock_guards_intact(&f->m));
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

/* ---- TX: every layout ---------------------------------------------------- */

struct tx_case {
	const char *name;
	uint32_t len;      /* hdr.len, also the max_pkt_len: len == max is accepted */
	struct layout bufs; /* readable; 44 + len bytes or more */
	int data_segs;     /* segments the data occupies */
};

static const struct tx_case tx_cases[] = {
	{ "tx_one_descriptor", 100, { 1, 0, { 144 } }, 1 },
	{ "tx_header_then_data", 100, { 2, 0, { 44, 100 } }, 1 },
	{ "tx_header_over_3_descriptors", 100, { 4, 0, { 1, 30, 13, 100 } }, 1 },
	{ "tx_data_starts_inside_header_descriptor", 100, { 3, 0, { 20, 20, 104 } }, 1 },
	{ "tx_data_over_16_descriptors", 112, { 17, 0, { 44, SIXTEEN_SEVENS } }, 16 },
	{ "tx_header_and_data_split_everywhere", 10, { 3, 0, { 40, 8, 6 } }, 2 },
	{ "tx_len_0", 0, { 1, 0, { 44 } }, 0 },
	{ "tx_len_0_trailing_ignored", 0, { 2, 0, { 44, 16 } }, 0 },
	{ "tx_trailing_ignored", 100, { 2, 0, { 44, 150 } }, 1 },
};

static void test_tx_case(void **state)
{
	struct fixture *f = *state;
	const struct tx_case *tc = f->param;
	unsigned char pkt[MAX_BYTES], got[MAX_BYTES];
	const struct virtq_vsock_hdr want = sample_hdr(tc->len);
	const uint32_t nbytes = layout_bytes(&tc->bufs);
	uint64_t gpas[MAX_BUFS];
	build_packet(pkt, nbytes, &want);
	post_layout(f, &tc->bufs, pkt, nbytes, gpas);

	struct virtq_vsock_tx tx;
	assert_err(virtq_vsock_parse_tx(&tx, &f->c, tc->len), 0);
	assert_hdr_equal(&tx.hdr, &want);
	assert_int_equal(virtq_vsock_tx_remaining(&tx), tc->len);

	struct virtq_seg segs[MAX_BUFS];
	const int nseg = virtq_vsock_tx_segments(&tx, segs, MAX_BUFS);
	assert_err(nseg, tc->data_segs);
	size_t at = 0;
	for (int i = 0; i < nseg; i++) {
		assert_memory_equal(segs[i].addr, pkt + HDR + at, segs[i].len);
		at += segs[i].len;
	}
	assert_int_equal(at, tc->len);

	assert_err(virtq_vsock_tx_read(&tx, got, sizeof(got)), tc->len);
	assert_memory_equal(got, pkt + HDR, tc->len);
	assert_int_equal(virtq_vsock_tx_remaining(&tx), 0);
	assert_err(virtq_vsock_tx_read(&tx, got, sizeof(got)), 0);
	assert_no_stray_writes(f); /* TX buffers are read-only to the device */
}

/* ---- TX: every rejection rule -------------------------------------------- */

struct tx_bad {
	const char *name;
	struct layout bufs; /* a header announcing len, then data_byte()s, as far as they go */
	uint32_t len, max_pkt_len;
	int err;
	bool hdr_read; /* whether pkt->hdr holds the header after the error */
};

static const struct tx_bad tx_bad_cases[] = {
	{ "tx_header_43_bytes", { 1, 0, { 43 } }, 0, ANY_MAX, -VIRTQ_ESHORT, false },
	{ "tx_header_43_bytes_over_3", { 3, 0, { 20, 20, 3 } }, 0, ANY_MAX, -VIRTQ_ESHORT, false },
	{ "tx_writable_only", { 1, 1, { 144 } }, 100, ANY_MAX, -VIRTQ_EBADDESC, false },
	{ "tx_writable_after_packet", { 2, 1, { 144, 16 } }, 100, ANY_MAX, -VIRTQ_EBADDESC, false },
	{ "tx_writable_after_short_header", { 2, 1, { 10, 16 } }, 0, ANY_MAX, -VIRTQ_EBADDESC, false },
	{ "tx_len_max_plus_1", { 1, 0, { 145 } }, 101, 100, -VIRTQ_EMSGSIZE, true },
	{ "tx_len_over_max_and_chain", { 1, 0, { 44 } }, UINT32_MAX, ANY_MAX, -VIRTQ_EMSGSIZE, true },
	{ "tx_len_over_max_0", { 1, 0, { 45 } }, 1, 0, -VIRTQ_EMSGSIZE, true },
	{ "tx_len_beyond_chain", { 2, 0, { 44, 100 } }, 101, ANY_MAX, -VIRTQ_ESHORT, true },
	{ "tx_len_beyond_chain_split", { 4, 0, { 30, 30, 40, 44 } }, 101, ANY_MAX, -VIRTQ_ESHORT, true },
	{ "tx_len_1_no_data", { 1, 0, { 44 } }, 1, ANY_MAX, -VIRTQ_ESHORT, true },
	/* 44 + len wraps to 43 in 32 bits: docs/fuzzing.md lesson 5's overflow */
	{ "tx_len_u32_max", { 2, 0, { 44, 100 } }, UINT32_MAX, UINT32_MAX, -VIRTQ_ESHORT, true },
	/* 44 + len wraps to exactly 0 */
	{ "tx_len_wraps_sum_to_0", { 2, 0, { 44, 100 } }, UINT32_MAX - 43, UINT32_MAX,
	  -VIRTQ_ESHORT, true },
};

static void test_tx_bad(void **state)
{
	struct fixture *f = *state;
	const struct tx_bad *tc = f->param;
	unsigned char pkt[MAX_BYTES];
	const struct virtq_vsock_hdr sent = sample_hdr(tc->len);
	const struct virtq_vsock_hdr zero = { 0 };
	uint64_t gpas[MAX_BUFS];
	build_packet(pkt, sizeof(pkt), &sent);
	post_layout(f, &tc->bufs, pkt, layout_bytes(&tc->bufs), gpas);

	struct virtq_vsock_tx tx;
	memset(&tx, 0xCC, sizeof(tx));
	assert_err(virtq_vsock_parse_tx(&tx, &f->c, tc->max_pkt_len), tc->err);
	assert_hdr_equal(&tx.hdr, tc->hdr_read ? &sent : &zero);
	assert_int_equal(virtq_vsock_tx_remaining(&tx), 0);
	assert_err(virtq_vsock_tx_read(&tx, pkt, sizeof(pkt)), 0);
	assert_err(virtq_vsock_tx_segments(&tx, NULL, 0), 0);
	assert_false(virtq_is_broken(&f->q)); /* a bad packet is not a bad ring */
	assert_no_stray_writes(f);
}

/* len == available (accepted) next to len == available + 1 (rejected above),
 * with the largest max, where a 32-bit header + len would matter most. */
static void test_tx_len_exactly_available(void **state)
{
	struct fixture *f = *state;
	const struct layout l = { 3, 0, { 30, 30, 84 } };
	unsigned char pkt[144];
	const struct virtq_vsock_hdr sent = sample_hdr(100);
	uint64_t gpas[MAX_BUFS];
	build_packet(pkt, sizeof(pkt), &sent);
	post_layout(f, &l, pkt, sizeof(pkt), gpas);
	struct virtq_vsock_tx tx;
	assert_err(virtq_vsock_parse_tx(&tx, &f->c, UINT32_MAX), 0);
	assert_int_equal(virtq_vsock_tx_remaining(&tx), 100);
}

/* Partial reads, the segments of what is left, the header copied once, misuse. */
static void test_tx_cursor_api(void **state)
{
	struct fixture *f = *state;
	const struct layout l = { 3, 0, { 44, 50, 50 } };
	unsigned char pkt[144], got[144];
	const struct virtq_vsock_hdr sent = sample_hdr(100);
	uint64_t gpas[MAX_BUFS];
	build_packet(pkt, sizeof(pkt), &sent);
	post_layout(f, &l, pkt, sizeof(pkt), gpas);

	struct virtq_vsock_tx tx;
	memset(&tx, 0xCC, sizeof(tx));
	assert_err(virtq_vsock_parse_tx(NULL, &f->c, ANY_MAX), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_parse_tx(&tx, NULL, ANY_MAX), -VIRTQ_EINVAL);
	assert_int_equal(virtq_vsock_tx_remaining(&tx), 0); /* emptied on error */
	assert_int_equal(tx.hdr.src_cid, 0);
	assert_err(virtq_vsock_parse_tx(&tx, &f->c, ANY_MAX), 0);

	/* The guest rewrites len after the parse: the copy is what counts. */
	const unsigned char huge[4] = { 0xff, 0xff, 0xff, 0xff };
	assert_err(virtq_mock_write(&f->m, gpas[0] + 24, huge, 4), 0);
	assert_int_equal(tx.hdr.len, 100);

	assert_err(virtq_vsock_tx_read(&tx, got, 30), 30);
	assert_memory_equal(got, pkt + HDR, 30);
	assert_int_equal(virtq_vsock_tx_remaining(&tx), 70);

	struct virtq_seg segs[2];
	assert_err(virtq_vsock_tx_segments(&tx, segs, 1), -VIRTQ_ENOSPC);
	assert_err(virtq_vsock_tx_segments(&tx, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_tx_segments(NULL, segs, 2), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_tx_segments(&tx, segs, 2), 2);
	assert_ptr_equal(segs[0].addr, virtq_mock_host(&f->m, gpas[1] + 30, 20));
	assert_int_equal(segs[0].len, 20);
	assert_ptr_equal(segs[1].addr, virtq_mock_host(&f->m, gpas[2], 50));
	assert_int_equal(segs[1].len, 50);
	assert_int_equal(virtq_vsock_tx_remaining(&tx), 70); /* segments do not advance */

	assert_err(virtq_vsock_tx_read(NULL, got, 1), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_tx_read(&tx, NULL, 1), -VIRTQ_EINVAL);
	assert_int_equal(virtq_vsock_tx_remaining(NULL), 0);
	assert_err(virtq_vsock_tx_read(&tx, got, sizeof(got)), 70);
	assert_memory_equal(got, pkt + HDR + 30, 70);
	assert_no_stray_writes(f);
}

/* ---- RX: placement and room ---------------------------------------------- */

struct rx_case {
	const char *name;
	struct layout bufs; /* all writable */
	uint32_t max_pkt_len;
	uint32_t offered; /* data bytes the device tries to send */
	uint32_t room;    /* expected room */
};

static const struct rx_case rx_cases[] = {
	{ "rx_one_descriptor", { 1, 1, { 144 } }, ANY_MAX, 100, 100 },
	{ "rx_header_then_data", { 2, 2, { 44, 100 } }, ANY_MAX, 100, 100 },
	{ "rx_header_over_3_descriptors", { 4, 4, { 1, 30, 13, 100 } }, ANY_MAX, 100, 100 },
	{ "rx_data_starts_inside_header_descriptor", { 3, 3, { 20, 20, 104 } }, ANY_MAX, 100, 100 },
	{ "rx_data_over_16_descriptors", { 17, 17, { 44, SIXTEEN_SEVENS } }, ANY_MAX, 112, 112 },
	{ "rx_partly_filled", { 2, 2, { 44, 100 } }, ANY_MAX, 30, 100 },
	{ "rx_nothing_sent", { 2, 2, { 44, 100 } }, ANY_MAX, 0, 100 },
	{ "rx_header_only", { 1, 1, { 44 } }, ANY_MAX, 10, 0 },
	{ "rx_room_limited_by_max", { 1, 1, { 1044 } }, 100, 200, 100 },
	{ "rx_room_limited_by_max_split", { 3, 3, { 50, 50, 1000 } }, 100, 200, 100 },
	{ "rx_max_0", { 1, 1, { 100 } }, 0, 10, 0 },
	{ "rx_max_equals_writable", { 2, 2, { 44, 100 } }, 100, 200, 100 },
	{ "rx_max_above_writable", { 2, 2, { 44, 100 } }, 101, 200, 100 },
	{ "rx_max_u32_max", { 2, 2, { 44, 100 } }, UINT32_MAX, 200, 100 },
};

typedef void fill_fn(struct virtq_vsock_rx *rx, const unsigned char *data, uint32_t n);

static void fill_by_write(struct virtq_vsock_rx *rx, const unsigned char *data, uint32_t n)
{
	/* In two calls, to cross buffers mid-write; each is cut at the room. */
	const uint32_t fits = n < rx->room ? n : rx->room;
	const uint32_t first = n / 3 < fits ? n / 3 : fits;
	assert_err(virtq_vsock_rx_write(rx, data, n / 3), first);
	assert_err(virtq_vsock_rx_write(rx, data + first, n - first), fits - first);
}

static void fill_zero_copy(struct virtq_vsock_rx *rx, const unsigned char *data, uint32_t n)
{
	struct virtq_seg segs[MAX_BUFS];
	const uint32_t fits = n < rx->room ? n : rx->room;
	const int nseg = virtq_vsock_rx_segments(rx, fits, segs, MAX_BUFS);
	assert_true(nseg >= 0);
	size_t at = 0;
	for (int i = 0; i < nseg; i++) {
		memcpy(segs[i].addr, data + at, segs[i].len);
		at += segs[i].len;
	}
	assert_int_equal(at, fits);
	assert_err(virtq_vsock_rx_commit(rx, fits), 0);
}

/*
 * The guest sees: the header with len = data bytes, the data right after it,
 * and its own FILL bytes past the packet; the used length is 44 + data.
 */
static void run_rx_case(struct fixture *f, fill_fn *fill)
{
	const struct rx_case *tc = f->param;
	unsigned char data[MAX_BYTES], guest[MAX_BYTES];
	uint64_t gpas[MAX_BUFS];
	for (uint32_t i = 0; i < tc->offered; i++)
		data[i] = data_byte(i);
	post_layout(f, &tc->bufs, NULL, 0, gpas);

	struct virtq_vsock_rx rx;
	assert_err(virtq_vsock_parse_rx(&rx, &f->c, tc->max_pkt_len), 0);
	assert_int_equal(rx.room, tc->room);
	assert_int_equal(virtq_vsock_rx_room(&rx), tc->room);
	fill(&rx, data, tc->offered);
	const uint32_t sent = tc->offered < tc->room ? tc->offered : tc->room;
	assert_int_equal(virtq_vsock_rx_room(&rx), tc->room - sent);

	struct virtq_vsock_hdr hdr = sample_hdr(0xdead); /* len is the library's to set */
	const int64_t used = virtq_vsock_rx_finish(&rx, &hdr);
	assert_err(used, HDR + sent);
	assert_int_equal(hdr.len, sent);

	const uint32_t total = gather(f, &tc->bufs, gpas, guest);
	struct virtq_vsock_hdr seen;
	virtq_vsock_hdr_decode(&seen, guest);
	assert_hdr_equal(&seen, &hdr);
	assert_memory_equal(guest + HDR, data, sent);
	for (uint32_t i = HDR + sent; i < total; i++)
		if (guest[i] != FILL)
			fail_msg("byte %u past the packet (44 + %u) was written", i, sent);
	assert_no_stray_writes(f);

	uint32_t id = 0, len = 0;
	assert_err(virtq_add_used(&f->q, f->c.id, (uint32_t)used), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	assert_int_equal(id, f->c.id);
	assert_int_equal(len, used);
}

static void test_rx_case(void **state) { run_rx_case(*state, fill_by_write); }
static void test_rx_case_zero_copy(void **state) { run_rx_case(*state, fill_zero_copy); }

/* ---- RX: rejection rules -------------------------------------------------- */

struct rx_bad {
	const char *name;
	struct layout bufs;
	int err;
};

static const struct rx_bad rx_bad_cases[] = {
	{ "rx_readable_then_writable", { 2, 1, { 16, 144 } }, -VIRTQ_EBADDESC },
	{ "rx_readable_only", { 1, 0, { 144 } }, -VIRTQ_EBADDESC },
	{ "rx_writable_43_bytes", { 1, 1, { 43 } }, -VIRTQ_ESHORT },
	{ "rx_writable_43_bytes_over_3", { 3, 3, { 20, 20, 3 } }, -VIRTQ_ESHORT },
};

/* Refused chains: no room, finishing fails, and not a byte is written. */
static void test_rx_bad(void **state)
{
	struct fixture *f = *state;
	const struct rx_bad *tc = f->param;
	unsigned char guest[MAX_BYTES];
	uint64_t gpas[MAX_BUFS];
	post_layout(f, &tc->bufs, NULL, 0, gpas);

	struct virtq_vsock_rx rx;
	struct virtq_vsock_hdr hdr = sample_hdr(0);
	assert_err(virtq_vsock_parse_rx(&rx, &f->c, ANY_MAX), tc->err);
	assert_int_equal(virtq_vsock_rx_room(&rx), 0);
	assert_err(virtq_vsock_rx_write(&rx, "x", 1), 0);
	assert_err(virtq_vsock_rx_finish(&rx, &hdr), -VIRTQ_EINVAL);
	const uint32_t total = gather(f, &tc->bufs, gpas, guest);
	for (uint32_t i = 0; i < total; i++)
		assert_int_equal(guest[i], FILL);
	assert_no_stray_writes(f);
}

/* ---- RX: zero-copy commits and misuse ------------------------------------- */

static void test_rx_commit_rules(void **state)
{
	struct fixture *f = *state;
	const struct layout l = { 3, 3, { 50, 30, 100 } }; /* room 100 of 136 by the max */
	uint64_t gpas[MAX_BUFS];
	unsigned char guest[180];
	post_layout(f, &l, NULL, 0, gpas);

	struct virtq_vsock_rx rx;
	struct virtq_seg segs[3];
	assert_err(virtq_vsock_parse_rx(&rx, &f->c, 100), 0);
	assert_err(virtq_vsock_rx_commit(&rx, 1), -VIRTQ_EINVAL); /* nothing described */
	assert_err(virtq_vsock_rx_segments(&rx, 101, segs, 3), -VIRTQ_ESHORT); /* past the room */
	assert_err(virtq_vsock_rx_segments(&rx, 100, segs, 2), -VIRTQ_ENOSPC);
	assert_err(virtq_vsock_rx_commit(&rx, 1), -VIRTQ_EINVAL); /* failed calls described nothing */
	assert_err(virtq_vsock_rx_segments(&rx, 100, NULL, 3), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_rx_segments(NULL, 100, segs, 3), -VIRTQ_EINVAL);

	assert_err(virtq_vsock_rx_segments(&rx, 100, segs, 3), 3);
	assert_ptr_equal(segs[0].addr, virtq_mock_host(&f->m, gpas[0] + HDR, 6));
	assert_int_equal(segs[0].len, 6);
	assert_ptr_equal(segs[1].addr, virtq_mock_host(&f->m, gpas[1], 30));
	assert_int_equal(segs[1].len, 30);
	assert_ptr_equal(segs[2].addr, virtq_mock_host(&f->m, gpas[2], 64));
	assert_int_equal(segs[2].len, 64);
	assert_int_equal(virtq_vsock_rx_room(&rx), 100); /* describing does not advance */
	for (int i = 0; i < 3; i++)
		memset(segs[i].addr, 'z', segs[i].len);

	assert_err(virtq_vsock_rx_commit(&rx, 101), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_rx_commit(&rx, 40), 0);
	assert_int_equal(virtq_vsock_rx_room(&rx), 60);
	assert_err(virtq_vsock_rx_commit(&rx, 61), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_rx_commit(&rx, 60), 0);
	assert_int_equal(virtq_vsock_rx_room(&rx), 0);
	assert_err(virtq_vsock_rx_commit(&rx, 1), -VIRTQ_EINVAL); /* never past the room */
	assert_err(virtq_vsock_rx_segments(&rx, 1, segs, 3), -VIRTQ_ESHORT);
	assert_err(virtq_vsock_rx_segments(&rx, 0, segs, 3), 0);
	assert_err(virtq_vsock_rx_commit(NULL, 0), -VIRTQ_EINVAL);

	struct virtq_vsock_hdr hdr = sample_hdr(0);
	assert_err(virtq_vsock_rx_finish(&rx, &hdr), HDR + 100);
	gather(f, &l, gpas, guest);
	for (unsigned i = HDR; i < sizeof(guest); i++)
		assert_int_equal(guest[i], i < HDR + 100 ? 'z' : FILL);
	assert_no_stray_writes(f);
}

/* A write moves the data cursor: an earlier description no longer holds. */
static void test_rx_write_ends_description(void **state)
{
	struct fixture *f = *state;
	const struct layout l = { 1, 1, { 144 } };
	uint64_t gpas[MAX_BUFS];
	post_layout(f, &l, NULL, 0, gpas);

	struct virtq_vsock_rx rx;
	struct virtq_seg seg;
	assert_err(virtq_vsock_parse_rx(&rx, &f->c, ANY_MAX), 0);
	assert_err(virtq_vsock_rx_segments(&rx, 10, &seg, 1), 1);
	assert_err(virtq_vsock_rx_write(&rx, "abcde", 5), 5);
	assert_err(virtq_vsock_rx_commit(&rx, 1), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_rx_segments(&rx, 10, &seg, 1), 1);
	assert_err(virtq_vsock_rx_write(&rx, NULL, 0), 0);
	assert_err(virtq_vsock_rx_commit(&rx, 1), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_rx_write(&rx, NULL, 1), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_rx_write(NULL, "a", 1), -VIRTQ_EINVAL);
	assert_int_equal(virtq_vsock_rx_room(&rx), 95);
	assert_int_equal(virtq_vsock_rx_room(NULL), 0);
}

static void test_rx_finish_misuse(void **state)
{
	struct fixture *f = *state;
	const struct layout l = { 1, 1, { 144 } };
	uint64_t gpas[MAX_BUFS];
	unsigned char guest[144];
	post_layout(f, &l, NULL, 0, gpas);

	struct virtq_vsock_rx rx;
	struct virtq_vsock_hdr hdr = sample_hdr(0xdead);
	memset(&rx, 0, sizeof(rx));
	assert_err(virtq_vsock_rx_finish(&rx, &hdr), -VIRTQ_EINVAL); /* never parsed */
	assert_err(virtq_vsock_parse_rx(NULL, &f->c, ANY_MAX), -VIRTQ_EINVAL);
	memset(&rx, 0xCC, sizeof(rx));
	assert_err(virtq_vsock_parse_rx(&rx, NULL, ANY_MAX), -VIRTQ_EINVAL);
	assert_int_equal(virtq_vsock_rx_room(&rx), 0); /* emptied on error */
	assert_err(virtq_vsock_rx_finish(&rx, &hdr), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_parse_rx(&rx, &f->c, ANY_MAX), 0);
	assert_err(virtq_vsock_rx_finish(NULL, &hdr), -VIRTQ_EINVAL);
	assert_err(virtq_vsock_rx_finish(&rx, NULL), -VIRTQ_EINVAL);

	/* The chain emptied under the rx: nothing may be written. */
	struct virtq_chain saved = f->c;
	virtq_chain_clear(&f->c);
	assert_err(virtq_vsock_rx_finish(&rx, &hdr), -VIRTQ_EINVAL);
	assert_int_equal(hdr.len, 0xdead);
	gather(f, &l, gpas, guest);
	for (unsigned i = 0; i < sizeof(guest); i++)
		assert_int_equal(guest[i], FILL);

	/* Finishing twice writes the same header twice. */
	f->c = saved;
	assert_err(virtq_vsock_rx_write(&rx, "abc", 3), 3);
	assert_err(virtq_vsock_rx_finish(&rx, &hdr), HDR + 3);
	assert_err(virtq_vsock_rx_finish(&rx, &hdr), HDR + 3);
	assert_int_equal(hdr.len, 3);
	assert_no_stray_writes(f);
}

/* ---- peer credit ----------------------------------------------------------- */

struct credit_case {
	const char *name;
	uint32_t buf_alloc, fwd_cnt, tx_cnt;
	int err;
	uint32_t free_bytes;
};

static const struct credit_case credit_cases[] = {
	{ "nothing sent", 1000, 0, 0, 0, 1000 },
	{ "some in flight", 1000, 100, 600, 0, 500 },
	{ "all in flight", 1000, 0, 1000, 0, 0 },
	{ "one more than buf_alloc", 1000, 0, 1001, -VIRTQ_EOVERFLOW, 0 },
	{ "fwd_cnt ahead of tx_cnt", 1000, 10, 5, -VIRTQ_EOVERFLOW, 0 },
	{ "fwd_cnt above buf_alloc is fine", 100, 500, 550, 0, 50 },
	{ "buf_alloc shrunk below in flight", 100, 0, 200, -VIRTQ_EOVERFLOW, 0 },
	{ "buf_alloc 0", 0, 0, 0, 0, 0 },
	{ "buf_alloc 0, one in flight", 0, 7, 8, -VIRTQ_EOVERFLOW, 0 },
	{ "buf_alloc u32 max", UINT32_MAX, 0, 0, 0, UINT32_MAX },
	{ "buf_alloc u32 max, all in flight", UINT32_MAX, 1, 0, 0, 0 },
	{ "tx_cnt wrapped", 1000, UINT32_MAX - 15, 5, 0, 979 },
	{ "both wrapped", 1000, 3, 3, 0, 1000 },
	{ "tx_cnt wrapped to 0", 1000, UINT32_MAX, 0, 0, 999 },
	{ "wrapped, over buf_alloc", 1000, UINT32_MAX - 999, 1, -VIRTQ_EOVERFLOW, 0 },
	{ "fwd_cnt wrapped past tx_cnt", 1000, 2, UINT32_MAX, -VIRTQ_EOVERFLOW, 0 },
};

static void test_peer_credit(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(credit_cases) / sizeof(credit_cases[0]); i++) {
		const struct credit_case *tc = &credit_cases[i];
		uint32_t free_bytes = 12345;
		int r = virtq_vsock_peer_credit(tc->buf_alloc, tc->fwd_cnt, tc->tx_cnt, &free_bytes);
		if (r != tc->err || free_bytes != tc->free_bytes)
			fail_msg("%s: returned %d (%s) with %u free, expected %d with %u", tc->name,
				 r, virtq_errname(r), free_bytes, tc->err, tc->free_bytes);
	}
	assert_err(virtq_vsock_peer_credit(1, 0, 0, NULL), -VIRTQ_EINVAL);
}

/* ---- main ------------------------------------------------------------------- */

/* A fresh guest and queue per test; a table-driven test's case in f->param. */
static int vsock_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	fixture_config(&f->cfg);
	f->cfg.queue_size = QUEUE_SIZE;
	fixture_start(f);
	f->param = *state;
	*state = f;
	return 0;
}

static struct CMUnitTest table_test(const char *name, CMUnitTestFunction fn, const void *param)
{
	return (struct CMUnitTest){ .name = name, .test_func = fn, .setup_func = vsock_setup,
				    .teardown_func = fixture_teardown,
				    .initial_state = (void *)(uintptr_t)param };
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define T(fn) table_test(#fn, fn, NULL)

int main(void)
{
	static char zero_copy_names[COUNT(rx_cases)][80];
	const struct CMUnitTest plain[] = {
		T(test_hdr_codec),
		T(test_tx_len_exactly_available),
		T(test_tx_cursor_api),
		T(test_rx_commit_rules),
		T(test_rx_write_ends_description),
		T(test_rx_finish_misuse),
		T(test_peer_credit),
	};
	struct CMUnitTest tests[COUNT(plain) + COUNT(tx_cases) + COUNT(tx_bad_cases) +
			       2 * COUNT(rx_cases) + COUNT(rx_bad_cases)];
	size_t n = 0;
	for (size_t i = 0; i < COUNT(plain); i++)
		tests[n++] = plain[i];
	for (size_t i = 0; i < COUNT(tx_cases); i++)
		tests[n++] = table_test(tx_cases[i].name, test_tx_case, &tx_cases[i]);
	for (size_t i = 0; i < COUNT(tx_bad_cases); i++)
		tests[n++] = table_test(tx_bad_cases[i].name, test_tx_bad, &tx_bad_cases[i]);
	for (size_t i = 0; i < COUNT(rx_cases); i++) {
		snprintf(zero_copy_names[i], sizeof(zero_copy_names[i]), "%s_zero_copy",
			 rx_cases[i].name);
		tests[n++] = table_test(rx_cases[i].name, test_rx_case, &rx_cases[i]);
		tests[n++] = table_test(zero_copy_names[i], test_rx_case_zero_copy, &rx_cases[i]);
	}
	for (size_t i = 0; i < COUNT(rx_bad_cases); i++)
		tests[n++] = table_test(rx_bad_cases[i].name, test_rx_bad, &rx_bad_cases[i]);
	return cmocka_run_group_tests_name("vsock", tests, NULL, NULL);
}

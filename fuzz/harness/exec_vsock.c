/* SPDX-License-Identifier: MIT */
/*
 * vsock operations on popped chains, against a flat reference: a TX packet is
 * the first 44 readable bytes as header, then exactly len bytes of data; an RX
 * packet is written as data at byte 44 of the writable part, then the header.
 * Whether a chain parses at all is accept_vsock.c's to say.
 */
#include <string.h>

#include <virtq/vsock.h>

#include "accept.h"
#include "harness.h"

#define HDR VIRTQ_VSOCK_HDR_SIZE

/* Bytes [offset, offset + n) of the readable or writable part, from guest memory. */
static void part(struct harness *h, const struct harness_slot *sl, bool writable, uint64_t offset,
		 uint64_t n, unsigned char *out)
{
	harness_part_bytes(h, &sl->want, writable, offset, n, out);
}

/* The library's answer must be accept_vsock_tx()'s (written from vsock.h),
 * given the first 44 readable bytes as they are in guest memory. */
static int expect_tx(struct harness *h, const struct harness_slot *sl, uint32_t max,
		     unsigned char raw[HDR])
{
	const struct model_chain *c = &sl->want;
	uint32_t len;
	memset(raw, 0, HDR);
	if (c->read_len >= HDR)
		part(h, sl, false, 0, HDR, raw);
	return accept_vsock_tx(raw, c->read_len, c->nseg - c->nread, max, &len);
}

/* The parsed header is the guest's 44 bytes at the offsets of vsock.h. */
static void check_tx_header(const struct virtq_vsock_hdr *got, const unsigned char raw[HDR])
{
	/* Field values, not return codes: compared without the error-text check. */
#define SAME_FIELD(field, off, bytes)                                                      \
	FUZZ_CHECK(got->field == accept_le(raw + (off), (bytes)), "TX " #field ": 0x%llx, guest 0x%llx", \
		   (unsigned long long)got->field, (unsigned long long)accept_le(raw + (off), (bytes)))
	SAME_FIELD(src_cid, 0, 8);
	SAME_FIELD(dst_cid, 8, 8);
	SAME_FIELD(src_port, 16, 4);
	SAME_FIELD(dst_port, 20, 4);
	SAME_FIELD(len, 24, 4);
	SAME_FIELD(type, 28, 2);
	SAME_FIELD(op, 30, 2);
	SAME_FIELD(flags, 32, 4);
	SAME_FIELD(buf_alloc, 36, 4);
	SAME_FIELD(fwd_cnt, 40, 4);
#undef SAME_FIELD
}

/* The credit fields as a device would use them: the peer's numbers against a
 * tx counter the guest also controls (src_port). */
static void check_credit(const struct virtq_vsock_hdr *hdr)
{
	uint32_t free_bytes = 1, in_flight = hdr->src_port - hdr->fwd_cnt;
	int want = in_flight > hdr->buf_alloc ? -VIRTQ_EOVERFLOW : 0;
	FUZZ_SAME(virtq_vsock_peer_credit(hdr->buf_alloc, hdr->fwd_cnt, hdr->src_port, &free_bytes),
		  want, "vsock_peer_credit");
	FUZZ_SAME(free_bytes, want ? 0 : hdr->buf_alloc - in_flight, "credit free bytes");
}

/* The data as segments, compared with the guest's bytes piece by piece. */
static void tx_zero_copy(struct harness *h, struct harness_slot *sl, struct virtq_vsock_tx *pkt)
{
	struct virtq_seg segs[64];
	const uint32_t len = pkt->hdr.len, pieces = harness_count_pieces(&sl->want, false, HDR, len);
	int n = virtq_vsock_tx_segments(pkt, segs, 64);
	FUZZ_SAME(n, pieces > 64 ? -VIRTQ_ENOSPC : (int)pieces, "vsock_tx_segments");
	uint64_t offset = HDR;
	for (int i = 0; i < n; i++) {
		size_t chunk = segs[i].len < sizeof(h->expect) ? segs[i].len : sizeof(h->expect);
		part(h, sl, false, offset, chunk, h->expect);
		FUZZ_CHECK(!memcmp(segs[i].addr, h->expect, chunk), "TX segment %d differs", i);
		offset += segs[i].len;
	}
	FUZZ_CHECK(n < 0 || offset == HDR + (uint64_t)len, "TX segments cover %llu bytes, len %u",
		   (unsigned long long)(offset - HDR), len);
}

/* Zero-copy RX: fill the described segments, commit them. Returns bytes put. */
static uint64_t rx_zero_copy(struct harness *h, struct harness_slot *sl,
			     struct virtq_vsock_rx *rx, uint64_t room, const struct scn_op *op)
{
	struct virtq_seg segs[64];
	if (op->len16 > room)
		FUZZ_SAME(virtq_vsock_rx_segments(rx, op->len16, segs, 64), -VIRTQ_ESHORT,
			  "vsock_rx_segments past the room");
	const uint64_t n = op->len16 < room ? op->len16 : room;
	const uint32_t pieces = harness_count_pieces(&sl->want, true, HDR, n);
	int got = virtq_vsock_rx_segments(rx, n, segs, 64);
	FUZZ_SAME(got, pieces > 64 ? -VIRTQ_ENOSPC : (int)pieces, "vsock_rx_segments");
	if (got < 0)
		return 0;
	for (int i = 0; i < got; i++)
		memset(segs[i].addr, op->fill, segs[i].len);
	FUZZ_SAME(virtq_vsock_rx_commit(rx, n + 1), -VIRTQ_EINVAL, "vsock_rx_commit past described");
	FUZZ_SAME(virtq_vsock_rx_commit(rx, n), 0, "vsock_rx_commit");
	(void)h;
	return n;
}

/* The guest sets the packet's len field (bytes 24..27 of the readable part,
 * wherever the chain put them): the field vsock parsing must not trust. */
static void write_hdr_len(struct harness *h, const struct harness_slot *sl, uint32_t len)
{
	for (unsigned k = 0; k < 4; k++) {
		uint64_t gpa = harness_part_gpa(&sl->want, false, 24 + k);
		uint8_t byte = (uint8_t)(len >> (8 * k));
		if (gpa != UINT64_MAX)
			virtq_mock_write(h->guest, gpa, &byte, 1);
	}
}

static void vsock_tx(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	struct virtq_vsock_tx pkt;
	unsigned char raw[HDR];
	if (scn_mods(op) & SCN_MOD_B)
		write_hdr_len(h, sl, op->hdr_len);
	int got = virtq_vsock_parse_tx(&pkt, &sl->chain, op->len32);
	FUZZ_SAME(got, expect_tx(h, sl, op->len32, raw), "vsock_tx");
	if (got)
		return;
	check_tx_header(&pkt.hdr, raw);
	const uint32_t len = pkt.hdr.len;
	FUZZ_SAME(virtq_vsock_tx_remaining(&pkt), len, "vsock_tx_remaining");
	check_credit(&pkt.hdr);
	if (scn_mods(op) & SCN_MOD_A) {
		tx_zero_copy(h, sl, &pkt);
		return;
	}
	for (uint32_t done = 0; done < len;) {
		size_t chunk = len - done < sizeof(h->scratch) ? len - done : sizeof(h->scratch);
		FUZZ_SAME(virtq_vsock_tx_read(&pkt, h->scratch, chunk), chunk, "vsock_tx_read");
		part(h, sl, false, HDR + (uint64_t)done, chunk, h->expect);
		FUZZ_CHECK(!memcmp(h->scratch, h->expect, chunk), "TX data differs at %u", done);
		done += (uint32_t)chunk;
	}
	FUZZ_SAME(virtq_vsock_tx_read(&pkt, h->scratch, 1), 0, "vsock_tx_read past len");
}

/* The header bytes in guest memory are the encoded header, written in order:
 * where the guest made two header bytes share an address, the later wins. */
static void check_rx_header(struct harness *h, const struct harness_slot *sl,
			    const struct virtq_vsock_hdr *hdr)
{
	unsigned char want[HDR], got[HDR];
	uint64_t gpa[HDR];
	virtq_vsock_hdr_encode(hdr, want);
	part(h, sl, true, 0, HDR, got);
	for (uint32_t i = 0; i < HDR; i++)
		gpa[i] = harness_part_gpa(&sl->want, true, i);
	for (uint32_t i = 0; i < HDR; i++) {
		uint32_t last = i;
		for (uint32_t j = i + 1; j < HDR; j++)
			if (gpa[j] == gpa[i])
				last = j;
		FUZZ_CHECK(got[i] == want[last], "RX header byte %u: 0x%02x, want 0x%02x", i, got[i],
			   want[last]);
	}
}

static void vsock_rx(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	const struct model_chain *c = &sl->want;
	struct virtq_vsock_rx rx;
	uint64_t room;
	int got = virtq_vsock_parse_rx(&rx, &sl->chain, op->len32);
	FUZZ_SAME(got, accept_vsock_rx(c->nread, c->write_len, op->len32, &room), "vsock_rx");
	if (got)
		return;
	uint64_t n = op->len16 < room ? op->len16 : room;
	FUZZ_SAME(virtq_vsock_rx_room(&rx), room, "vsock_rx_room");
	if (scn_mods(op) & SCN_MOD_A) {
		n = rx_zero_copy(h, sl, &rx, room, op);
	} else {
		memset(h->scratch, op->fill, op->len16);
		FUZZ_SAME(virtq_vsock_rx_write(&rx, h->scratch, op->len16), n, "vsock_rx_write");
	}
	/* Data first: finish writes the header afterwards, over any data byte a
	 * malicious guest made share an address with it. */
	part(h, sl, true, HDR, n, h->expect);
	for (uint64_t i = 0; i < n; i++)
		FUZZ_CHECK(h->expect[i] == op->fill, "RX data byte %llu", (unsigned long long)i);
	struct virtq_vsock_hdr hdr = { .src_cid = 2, .dst_cid = op->fill, .src_port = op->len32,
				       .type = VIRTQ_VSOCK_TYPE_STREAM, .op = VIRTQ_VSOCK_OP_RW,
				       .len = 0xdeadbeef /* replaced by the bytes written */ };
	FUZZ_SAME(virtq_vsock_rx_finish(&rx, &hdr), HDR + n, "vsock_rx_finish");
	FUZZ_SAME(hdr.len, n, "RX header len returned");
	check_rx_header(h, sl, &hdr);
}

void harness_vsock_op(struct harness *h, const struct scn_op *op)
{
	struct harness_slot *sl = &h->slots[op->slot % SCN_SLOTS];
	if (!sl->valid)
		return;
	if (scn_opcode(op) == SCN_VSOCK_TX)
		vsock_tx(h, sl, op);
	else
		vsock_rx(h, sl, op);
}

/* SPDX-License-Identifier: MIT */
/*
 * vsock operations on popped chains, against a flat reference: a TX packet is
 * the first 44 readable bytes as header, then exactly len bytes of data; an RX
 * packet is written as data at byte 44 of the writable part, then the header.
 */
#include <string.h>

#include <virtq/vsock.h>

#include "harness.h"

#define HDR VIRTQ_VSOCK_HDR_SIZE

static uint32_t le32_at(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Bytes [offset, offset + n) of the readable or writable part, from guest memory. */
static void part(struct harness *h, const struct harness_slot *sl, bool writable, uint64_t offset,
		 uint64_t n, unsigned char *out)
{
	harness_part_bytes(h, &sl->want, writable, offset, n, out);
}

static int expect_tx(struct harness *h, const struct harness_slot *sl, uint32_t max,
		     unsigned char raw[HDR])
{
	const struct model_chain *c = &sl->want;
	if (c->nseg != c->nread)
		return -VIRTQ_EBADDESC;
	if (c->read_len < HDR)
		return -VIRTQ_ESHORT;
	part(h, sl, false, 0, HDR, raw);
	uint32_t len = le32_at(raw + 24);
	if (len > max)
		return -VIRTQ_EMSGSIZE;
	if (len > c->read_len - HDR)
		return -VIRTQ_ESHORT;
	return 0;
}

static void vsock_tx(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	struct virtq_vsock_tx pkt;
	unsigned char raw[HDR];
	int got = virtq_vsock_parse_tx(&pkt, &sl->chain, op->len32);
	FUZZ_SAME(got, expect_tx(h, sl, op->len32, raw), "vsock_tx");
	if (got)
		return;
	unsigned char again[HDR];
	virtq_vsock_hdr_encode(&pkt.hdr, again);
	FUZZ_CHECK(!memcmp(raw, again, HDR), "TX header differs from the guest's bytes");
	const uint32_t len = pkt.hdr.len;
	for (uint32_t done = 0; done < len;) {
		size_t chunk = len - done < sizeof(h->scratch) ? len - done : sizeof(h->scratch);
		FUZZ_SAME(virtq_vsock_tx_read(&pkt, h->scratch, chunk), chunk, "vsock_tx_read");
		part(h, sl, false, HDR + (uint64_t)done, chunk, h->expect);
		FUZZ_CHECK(!memcmp(h->scratch, h->expect, chunk), "TX data differs at %u", done);
		done += (uint32_t)chunk;
	}
	FUZZ_SAME(virtq_vsock_tx_read(&pkt, h->scratch, 1), 0, "vsock_tx_read past len");
}

static void vsock_rx(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	const struct model_chain *c = &sl->want;
	struct virtq_vsock_rx rx;
	int want = c->nread ? -VIRTQ_EBADDESC : c->write_len < HDR ? -VIRTQ_ESHORT : 0;
	int got = virtq_vsock_parse_rx(&rx, &sl->chain, op->len32);
	FUZZ_SAME(got, want, "vsock_rx");
	if (got)
		return;
	uint64_t room = c->write_len - HDR < op->len32 ? c->write_len - HDR : op->len32;
	uint64_t n = op->len16 < room ? op->len16 : room;
	memset(h->scratch, op->fill, op->len16);
	FUZZ_SAME(virtq_vsock_rx_write(&rx, h->scratch, op->len16), n, "vsock_rx_write");
	struct virtq_vsock_hdr hdr = { .src_cid = 2, .dst_cid = op->fill, .src_port = op->len32,
				       .type = VIRTQ_VSOCK_TYPE_STREAM, .op = VIRTQ_VSOCK_OP_RW,
				       .len = 0xdeadbeef /* replaced by the bytes written */ };
	FUZZ_SAME(virtq_vsock_rx_finish(&rx, &hdr), HDR + n, "vsock_rx_finish");
	unsigned char raw[HDR];
	part(h, sl, true, 0, HDR, raw);
	FUZZ_SAME(le32_at(raw + 24), n, "RX header len");
	FUZZ_SAME(le32_at(raw + 16), op->len32, "RX header src_port");
	part(h, sl, true, HDR, n, h->expect);
	for (uint64_t i = 0; i < n; i++)
		FUZZ_CHECK(h->expect[i] == op->fill, "RX data byte %llu", (unsigned long long)i);
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

/* SPDX-License-Identifier: MIT */
/*
 * Eva driver: vsock packets over popped chains. A TX chain of up to four
 * readable segments and an RX chain of up to four writable ones, each of
 * length 0 .. 64 (any, per segment) in guest memory holding anything; any
 * maximum packet length; TX parse then reads and segment views of any
 * length; RX parse then writes, segment views and commits of any length,
 * then the header; the credit computation on any counters.
 */
#include "guest.h"

#define NSEG 4u
#define SEG_MAX 64u
#define BUF 4096u

static void build(struct virtq_chain *c, unsigned first, int writable)
{
	//@ loop unroll NSEG;
	for (unsigned i = 0; i < NSEG; i++) {
		size_t len = Frama_C_size_t_interval(0, SEG_MAX);
		(void)virtq_chain_append(c, (void *)(uintptr_t)&guest_data_ram[(first + i) * SEG_MAX], len, writable);
	}
}

static size_t any_len(void)
{
	return Frama_C_nondet(0, 1) ? Frama_C_size_t_interval(0, BUF) : SIZE_MAX;
}

static void tx(void)
{
	struct virtq_seg segs[NSEG], out[NSEG];
	struct virtq_chain c;
	struct virtq_vsock_tx pkt;
	unsigned char buf[BUF];
	virtq_chain_init(&c, segs, NSEG);
	build(&c, 0, 0);
	if (virtq_vsock_parse_tx(&pkt, &c, any_u32()) != 0)
		return;
	while (Frama_C_nondet(0, 1)) {
		if (Frama_C_nondet(0, 1))
			(void)virtq_vsock_tx_read(&pkt, buf, Frama_C_size_t_interval(0, BUF));
		else
			(void)virtq_vsock_tx_segments(&pkt, out, Frama_C_unsigned_int_interval(0, NSEG));
		(void)virtq_vsock_tx_remaining(&pkt);
	}
}

static void rx(void)
{
	struct virtq_seg segs[NSEG], out[NSEG];
	struct virtq_chain c;
	struct virtq_vsock_rx pkt;
	struct virtq_vsock_hdr hdr = { 0 };
	unsigned char buf[BUF] = { 0 };
	virtq_chain_init(&c, segs, NSEG);
	build(&c, NSEG, 1);
	if (virtq_vsock_parse_rx(&pkt, &c, any_u32()) != 0)
		return;
	while (Frama_C_nondet(0, 1)) {
		switch (Frama_C_interval(0, 2)) {
		case 0: (void)virtq_vsock_rx_write(&pkt, buf, Frama_C_size_t_interval(0, BUF)); break;
		case 1: (void)virtq_vsock_rx_segments(&pkt, any_len(), out, Frama_C_unsigned_int_interval(0, NSEG)); break;
		default: (void)virtq_vsock_rx_commit(&pkt, any_len()); break;
		}
		(void)virtq_vsock_rx_room(&pkt);
	}
	(void)virtq_vsock_rx_finish(&pkt, &hdr);
}

int main(void)
{
	uint32_t free_bytes;
	tx();
	rx();
	(void)virtq_vsock_peer_credit(any_u32(), any_u32(), any_u32(), &free_bytes);
	return 0;
}

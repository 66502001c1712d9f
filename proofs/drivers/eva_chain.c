/* SPDX-License-Identifier: MIT */
/*
 * Eva driver: cursors over a chain. The chain is what a pop hands out: up to
 * four readable and four writable segments of guest memory, of lengths
 * 0 .. 64 each (any, per segment), contents anything anytime. On it, any
 * sequence of reads, writes, skips, limits and segment views of any length
 * (up to a page, and SIZE_MAX), into device buffers.
 */
#include "guest.h"

#define NSEG 8u
#define SEG_MAX 64u
#define BUF 4096u

static void build(struct virtq_chain *c)
{
	//@ loop unroll NSEG;
	for (unsigned i = 0; i < NSEG; i++) {
		size_t len = Frama_C_size_t_interval(0, SEG_MAX);
		(void)virtq_chain_append(c, (void *)(uintptr_t)&guest_data_ram[i * SEG_MAX], len, i >= NSEG / 2);
	}
}

static size_t any_len(void)
{
	return Frama_C_nondet(0, 1) ? Frama_C_size_t_interval(0, BUF) : SIZE_MAX;
}

int main(void)
{
	struct virtq_seg segs[NSEG], out[NSEG];
	struct virtq_chain c;
	struct virtq_cursor cur;
	unsigned char buf[BUF];
	virtq_chain_init(&c, segs, NSEG);
	build(&c);
	if (Frama_C_nondet(0, 1))
		virtq_chain_reader(&cur, &c);
	else
		virtq_chain_writer(&cur, &c);
	while (Frama_C_nondet(0, 1)) {
		size_t len = any_len();
		switch (Frama_C_interval(0, 6)) {
		case 0: (void)virtq_chain_read(&cur, buf, len <= BUF ? len : BUF); break;
		case 1: (void)virtq_chain_write(&cur, buf, len <= BUF ? len : BUF); break;
		case 2: (void)virtq_chain_skip(&cur, len); break;
		case 3: (void)virtq_chain_limit(&cur, len); break;
		case 4: (void)virtq_chain_segments(&cur, len, out, Frama_C_unsigned_int_interval(0, NSEG)); break;
		case 5: (void)virtq_chain_remaining(&cur); break;
		default: (void)virtq_chain_offset(&cur); break;
		}
	}
	return 0;
}

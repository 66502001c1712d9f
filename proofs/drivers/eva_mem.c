/* SPDX-License-Identifier: MIT */
/*
 * Eva driver: guest memory translation and splitting. Any guest address and
 * any length (the values a descriptor carries) to virtq_mem_translate,
 * virtq_mem_split into arrays of 0 .. 8 entries, and virtq_mem_read /
 * virtq_mem_write of up to a page into a device buffer.
 */
#include "guest.h"

#define SPLIT_MAX 8u
#define COPY_MAX 4096u

int main(void)
{
	struct virtq_mem_region slots[GUEST_NREGIONS];
	struct virtq_mem mem;
	struct virtq_seg segs[SPLIT_MAX];
	unsigned char buf[COPY_MAX];
	if (guest_map(&mem, slots))
		return 1;
	(void)virtq_mem_translate(&mem, any_u64(), any_u64());
	//@ loop unroll SPLIT_MAX + 1;
	for (unsigned max = 0; max <= SPLIT_MAX; max++)
		(void)virtq_mem_split(&mem, any_u64(), any_u64(), segs, max);
	const size_t n = Frama_C_size_t_interval(0, COPY_MAX);
	(void)virtq_mem_read(&mem, any_u64(), buf, n);
	(void)virtq_mem_write(&mem, any_u64(), buf, n);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The VMM's region table (mem.h), built from this run's guest memory: the
 * same regions added in the opposite order give a table that translates
 * every address of guest memory alike; a region overlapping one already
 * there (from below or above), one more than the capacity, one that wraps
 * past 2^64 and unknown flags are refused with their documented codes and
 * leave the table as it was; the last byte below 2^64 is a region like any.
 */
#include "harness.h"

/* The table has room for one more region. */
static void refused_additions(struct virtq_mem *m, const struct virtq_mem *guest)
{
	const struct virtq_mem_region *lo = &guest->regions[0];
	static unsigned char top[2];
	const uint32_t before = m->nregions;
	FUZZ_SAME(virtq_mem_add_region(m, lo->gpa, lo->size, lo->host), -VIRTQ_EINVAL,
		  "a region added twice");
	if (lo->gpa > 0)
		FUZZ_SAME(virtq_mem_add_region(m, lo->gpa - 1, 2, top), -VIRTQ_EINVAL,
			  "a region overlapping the lowest from below");
	FUZZ_SAME(virtq_mem_add_region(m, UINT64_MAX, 2, top), -VIRTQ_EOVERFLOW,
		  "a region past 2^64");
	FUZZ_SAME(virtq_mem_add_region_flags(m, UINT64_MAX, 1, top, 3u), -VIRTQ_EINVAL,
		  "a region with unknown flags");
	FUZZ_SAME(m->nregions, before, "regions after refused additions");
	if (virtq_mem_translate(guest, UINT64_MAX - 1, 2))
		return; /* guest memory reaches 2^64 itself */
	FUZZ_SAME(virtq_mem_add_region(m, UINT64_MAX, 1, top + 1), 0, "the last byte below 2^64");
	FUZZ_SAME(virtq_mem_add_region(m, UINT64_MAX - 1, 1, top), -VIRTQ_ENOSPC,
		  "a region beyond the capacity");
	FUZZ_SAME(m->nregions, before + 1, "regions once full");
}

static void same_translations(struct harness *h, const struct virtq_mem *m)
{
	const struct virtq_mem *guest = &h->guest->mem;
	for (uint32_t i = 0; i < h->nlocs; i++) {
		const uint64_t ends[] = { h->loc_gpa[i], h->loc_gpa[i] + h->loc_size[i] - 1,
					  h->loc_gpa[i] + h->loc_size[i] };
		for (unsigned k = 0; k < 3; k++)
			FUZZ_CHECK(virtq_mem_translate(m, ends[k], 1) ==
					   virtq_mem_translate(guest, ends[k], 1),
				   "regions added in reverse order translate 0x%llx differently",
				   (unsigned long long)ends[k]);
	}
	FUZZ_SAME(virtq_mem_split(m, h->loc_gpa[0], 0, NULL, 0), 0, "split of no bytes");
	FUZZ_SAME(virtq_mem_read(m, UINT64_MAX, h->scratch, 0), 0, "read of no bytes");
}

void harness_check_mem_table(struct harness *h)
{
	static struct virtq_mem_region regions[MODEL_MAX_REGIONS + 1];
	const struct virtq_mem *guest = &h->guest->mem;
	struct virtq_mem m;
	if (guest->nregions == 0 || guest->nregions > MODEL_MAX_REGIONS)
		return;
	FUZZ_SAME(virtq_mem_init(&m, NULL, 1), -VIRTQ_EINVAL, "mem_init without storage");
	FUZZ_SAME(virtq_mem_init(&m, regions, guest->nregions + 1), 0, "mem_init");
	for (uint32_t i = guest->nregions; i-- > 0;) {
		const struct virtq_mem_region *r = &guest->regions[i];
		FUZZ_SAME(virtq_mem_add_region_flags(&m, r->gpa, r->size, r->host, r->flags), 0,
			  "a guest region added again");
	}
	for (uint32_t i = 0; i < guest->nregions; i++)
		FUZZ_CHECK(m.regions[i].gpa == guest->regions[i].gpa &&
				   m.regions[i].size == guest->regions[i].size &&
				   m.regions[i].host == guest->regions[i].host &&
				   m.regions[i].flags == guest->regions[i].flags,
			   "regions added in reverse order are not sorted alike (entry %u)", i);
	refused_additions(&m, guest);
	same_translations(h, &m);
}

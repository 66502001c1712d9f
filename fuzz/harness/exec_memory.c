/* SPDX-License-Identifier: MIT */
/*
 * Format 2's guest memory (fuzz/README.md, "Format 2"): regions the device
 * may not write or read, ACCESS_PLATFORM through the mock IOMMU whose
 * mappings the scenario changes between operations, dirty logging switched
 * off and on; and the oracles that go with them.
 */
#include <string.h>

#include "harness.h"

#define KiB 1024u

/* The model sees the translator's table as it is (the mock is the guest's
 * IOMMU, not library code). */
static void model_sees_table(struct harness *h)
{
	struct model *md = &h->model;
	md->nmaps = h->iommu.nmaps < MODEL_MAX_MAPS ? h->iommu.nmaps : MODEL_MAX_MAPS;
	for (uint32_t i = 0; i < md->nmaps; i++)
		md->maps[i] = (struct model_map){ h->iommu.maps[i].iova, h->iommu.maps[i].size,
						  h->iommu.maps[i].gpa, h->iommu.maps[i].perm };
}

/* Header iommu bits 5 and 6 take write and read away from buffer mappings. */
static uint32_t buffer_perm(const struct scn_header *hdr)
{
	uint32_t perm = VIRTQ_IOMMU_READ | VIRTQ_IOMMU_WRITE;
	if (hdr->iommu & 0x20u)
		perm &= ~VIRTQ_IOMMU_WRITE;
	if (hdr->iommu & 0x40u)
		perm &= ~VIRTQ_IOMMU_READ;
	return perm;
}

void harness_memory_setup(struct harness *h, const struct scn_header *hdr)
{
	struct model *md = &h->model;
	h->readonly_regions = 0;
	for (uint32_t i = 0; i < md->nregions; i++)
		if (md->regions[i].flags & MODEL_NO_WRITE)
			h->readonly_regions |= 1u << i;
	h->log_off = false;
	h->iommu_on = md->iommu = scn_header_mem(hdr) && (hdr->iommu & 1u);
	virtq_mock_iommu_init(&h->iommu);
	h->guest->iommu = h->iommu_on ? &h->iommu.iommu : NULL;
	if (!h->iommu_on)
		return;
	/* Identity mappings: the rings (region 0 up to its buffer area), then
	 * each loc's buffers unless header bit 1 + loc says unmapped. */
	const struct model_region *r0 = &md->regions[0];
	virtq_mock_iommu_map(&h->iommu, r0->gpa, h->loc_gpa[0] - r0->gpa, r0->gpa,
			     VIRTQ_IOMMU_READ | VIRTQ_IOMMU_WRITE);
	for (uint32_t i = 0; i < h->nlocs; i++)
		if (!(hdr->iommu & 2u << i))
			virtq_mock_iommu_map(&h->iommu, h->loc_gpa[i], h->loc_size[i], h->loc_gpa[i],
					     buffer_perm(hdr));
	model_sees_table(h);
}

/* [a, a + alen) meets [b, b + blen), both clamped at 2^64. */
static bool meets(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	const uint64_t a_last = alen - 1u > UINT64_MAX - a ? UINT64_MAX : a + (alen - 1u);
	const uint64_t b_last = blen - 1u > UINT64_MAX - b ? UINT64_MAX : b + (blen - 1u);
	return alen && blen && a <= b_last && b <= a_last;
}

/* Whether IOVAs [iova, iova + size) meet a ring: such a mapping keeps the
 * rings at their guest addresses (the model reads the rings there). */
static bool meets_ring(const struct harness *h, uint64_t iova, uint64_t size)
{
	const struct model *md = &h->model;
	return meets(md->desc, 16ull * md->size, iova, size) ||
	       meets(md->avail, 6 + 2ull * md->size, iova, size) ||
	       meets(md->used, 6 + 8ull * md->size, iova, size);
}

/* Sane: an identity mapping of a loc, at most 64 KiB; raw: any IOVA, guest
 * address and 32-bit size (wrapping, oversized, outside memory). */
static void iommu_map(struct harness *h, const struct scn_op *op)
{
	const bool raw = scn_mods(op) & SCN_MOD_A;
	uint64_t iova = raw ? op->addr : harness_loc(h, op->loc), gpa = raw ? op->gpa : iova;
	const uint64_t size = raw ? op->len32 : op->len32 % (64u * KiB + 1u);
	if (meets_ring(h, iova, size))
		gpa = iova;
	virtq_mock_iommu_map(&h->iommu, iova, size, gpa, op->fill & 3u);
	model_sees_table(h);
}

/* Removes the mappings meeting the range and tells the queue (B: the VMM
 * forgets to; buffers are translated at each pop anyway). */
static void iommu_unmap(struct harness *h, const struct scn_op *op)
{
	const bool raw = scn_mods(op) & SCN_MOD_A;
	const uint64_t iova = raw ? op->addr : harness_loc(h, op->loc);
	const uint64_t size = raw ? op->len32 : op->len32 % (64u * KiB + 1u);
	virtq_mock_iommu_unmap(&h->iommu, iova, size);
	model_sees_table(h);
	if (scn_mods(op) & SCN_MOD_B)
		return;
	FUZZ_SAME(virtq_iommu_invalidate(&h->q, iova, size), 0, "iommu_invalidate");
	model_iommu_invalidate(&h->model, iova, size);
}

/*
 * Logging off: everything logged so far is checked, and the log must not
 * change until it is on again. On again: the write oracle is checked up to
 * here, the snapshot taken afresh and the log cleared (a migration round),
 * so that the end of the run checks what changed since.
 */
static void set_logging(struct harness *h, bool on)
{
	if (h->q.log != &h->log || on == !h->log_off)
		return; /* the queue lost its log (a restart), or no change */
	if (!on) {
		harness_check_logged(h);
		memcpy(h->log_words_off, h->log_words, sizeof(h->log_words));
		virtq_log_set_enabled(&h->log, false);
		h->log_off = true;
		return;
	}
	FUZZ_CHECK(!memcmp(h->log_words_off, h->log_words, sizeof(h->log_words)),
		   "a page was logged while logging was off");
	harness_check_writes(h);
	virtq_mock_snapshot(h->guest);
	memset(h->log_words, 0, sizeof(h->log_words));
	virtq_log_set_enabled(&h->log, true);
	h->log_off = false;
}

void harness_memory_op(struct harness *h, const struct scn_op *op)
{
	switch (scn_opcode(op)) {
	case SCN_IOMMU_MAP:
		if (h->iommu_on)
			iommu_map(h, op);
		break;
	case SCN_IOMMU_UNMAP:
		if (h->iommu_on)
			iommu_unmap(h, op);
		break;
	case SCN_LOG:
		set_logging(h, op->fill & 1u);
		break;
	default:
		break;
	}
}

/* No byte of a region the device may not write changes but by the driver
 * (whose writes the mock keeps in its snapshot). */
void harness_check_readonly(struct harness *h)
{
	for (uint32_t i = 0; h->readonly_regions >> i; i++) {
		const struct model_region *r = &h->model.regions[i];
		if (!(h->readonly_regions >> i & 1u) || !h->guest->snapshot[i])
			continue;
		FUZZ_CHECK(!memcmp(r->host, h->guest->snapshot[i], (size_t)r->size),
			   "read-only region %u (gpa 0x%llx) changed", i, (unsigned long long)r->gpa);
	}
}

static const struct model_region *region_of(const struct model *md, uint64_t gpa)
{
	for (uint32_t i = 0; i < md->nregions; i++)
		if (gpa - md->regions[i].gpa < md->regions[i].size)
			return &md->regions[i];
	return NULL;
}

/* Whether a mapping of the current table holds guest [gpa, gpa + len)
 * with the access. */
static bool translated_with(const struct harness *h, uint64_t gpa, uint64_t len, uint32_t perm)
{
	for (uint32_t i = 0; i < h->iommu.nmaps; i++) {
		const struct virtq_iommu_map *m = &h->iommu.maps[i];
		if ((m->perm & perm) == perm && gpa - m->gpa < m->size &&
		    len <= m->size - (gpa - m->gpa))
			return true;
	}
	return false;
}

/* Every segment of a chain the library returned is in a region that allows
 * its access (readable ones read, writable ones write) and, with the IOMMU,
 * inside a mapping that allows it: checked on the library's segments alone. */
void harness_check_segment_access(struct harness *h, const struct harness_slot *sl)
{
	for (uint32_t i = 0; i < sl->chain.nseg; i++) {
		const bool writable = i >= sl->chain.nread;
		uint64_t gpa = 0;
		if (!virtq_mock_gpa_of(h->guest, sl->chain.segs[i].addr, &gpa))
			continue; /* harness_check_chain's to report */
		const struct model_region *r = region_of(&h->model, gpa);
		FUZZ_CHECK(r && !(r->flags & (writable ? MODEL_NO_WRITE : MODEL_NO_READ)),
			   "%s segment %u at gpa 0x%llx in a region without that access",
			   writable ? "writable" : "readable", i, (unsigned long long)gpa);
		FUZZ_CHECK(!h->iommu_on ||
				   translated_with(h, gpa, sl->chain.segs[i].len,
						   writable ? VIRTQ_IOMMU_WRITE : VIRTQ_IOMMU_READ),
			   "%s segment %u at gpa 0x%llx+%zu from no mapping allowing it",
			   writable ? "writable" : "readable", i, (unsigned long long)gpa,
			   sl->chain.segs[i].len);
	}
}

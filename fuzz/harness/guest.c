/* SPDX-License-Identifier: MIT */
/* The scenario's guest: memory layout from the header, addresses from locs. */
#include <stddef.h>
#include <string.h>

#include "harness.h"

#define KiB 1024u

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/*
 * Mapping guest memory costs more than a whole run, so mapped guests are kept
 * in a small cache keyed by their regions; a hit is wiped and reconfigured.
 */
#define GUEST_CACHE 32u

static struct cached_guest {
	struct virtq_mock mock;
	bool mapped;
	uint64_t last_use;
} guest_cache[GUEST_CACHE];

static struct virtq_mock *guest_for(const struct virtq_mock_config *cfg)
{
	static uint64_t clock;
	struct cached_guest *victim = &guest_cache[0];
	clock++;
	for (unsigned i = 0; i < GUEST_CACHE; i++) {
		struct cached_guest *g = &guest_cache[i];
		if (g->mapped && virtq_mock_reconfigure(&g->mock, cfg) == 0) {
			g->last_use = clock;
			return &g->mock;
		}
		if (!g->mapped || (victim->mapped && g->last_use < victim->last_use))
			victim = g;
	}
	if (victim->mapped)
		virtq_mock_destroy(&victim->mock);
	victim->mapped = virtq_mock_init(&victim->mock, cfg) == 0;
	victim->last_use = clock;
	return victim->mapped ? &victim->mock : NULL;
}

uint64_t harness_memory_base(const struct scn_header *hdr)
{
	if ((hdr->features & 0xf8u) != 8u)
		return 0;
	const uint32_t size = 1u << ((hdr->size_log2 + 4u) % 16u);
	const uint64_t avail = align_up(16ull * size, 4 * KiB);
	const uint64_t used = align_up(avail + 6 + 2ull * size, 4 * KiB);
	uint64_t end = align_up(used + 6 + 8ull * size, 64 * KiB) + 64 * KiB;
	for (uint32_t i = 0; i < (hdr->regions & 3u); i++)
		end += (hdr->regions & 4u ? 0 : 4 * KiB) + 4ull * KiB * (1u + hdr->region_kib % 16u);
	return 0 - end; /* 2^64 - end: the last region's last byte is 2^64 - 1 */
}

int harness_guest_setup(struct harness *h, const struct scn_header *hdr)
{
	struct virtq_mock_config cfg;
	const uint32_t size = 1u << ((hdr->size_log2 + 4u) % 16u);
	const uint64_t avail = align_up(16ull * size, 4 * KiB);
	const uint64_t used = align_up(avail + 6 + 2ull * size, 4 * KiB);
	const uint64_t bufs = align_up(used + 6 + 8ull * size, 64 * KiB);
	const uint32_t extra = hdr->regions & 3u;
	const uint64_t extra_size = 4ull * KiB * (1u + hdr->region_kib % 16u);

	virtq_mock_config_default(&cfg);
	cfg.queue_size = size;
	cfg.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
		       (hdr->features & 1u ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0) |
		       (hdr->features & 2u ? VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) : 0);
	cfg.nregions = 1 + extra;
	cfg.regions[0] = (struct virtq_mock_region){ .gpa = 0, .size = bufs + 64 * KiB };
	for (uint32_t i = 1; i <= extra; i++) {
		const struct virtq_mock_region *prev = &cfg.regions[i - 1];
		uint64_t gap = hdr->regions & 4u ? 0 : 4 * KiB;
		cfg.regions[i] = (struct virtq_mock_region){ .gpa = prev->gpa + prev->size + gap,
							     .size = extra_size };
	}
	/* A skew moves a ring off its aligned, in-memory place (int16 added);
	 * only when feature bit 2 is the highest bit set: one bit flip away from
	 * any sane header, yet rare among random bytes. */
	for (uint32_t i = 0; i < cfg.nregions; i++)
		cfg.regions[i].flags = scn_region_flags(hdr, i);
	if (scn_header_mem(hdr) && (hdr->iommu & 1u))
		cfg.features |= VIRTQ_FEATURE(VIRTQ_F_ACCESS_PLATFORM);
	const bool skew = (hdr->features & 0xfcu) == 4u;
	/* High memory (feature bit 3 the highest bit set, never with skews):
	 * the same layout moved up so that the last region ends at 2^64. No
	 * guest memory at GPA 0, buffers below it are outside memory. */
	const uint64_t base = harness_memory_base(hdr);
	for (uint32_t i = 0; i < cfg.nregions; i++)
		cfg.regions[i].gpa += base;
	cfg.desc_gpa = base + (skew ? (uint64_t)(int64_t)(int16_t)hdr->desc_skew : 0);
	cfg.avail_gpa = base + avail + (skew ? (uint64_t)(int64_t)(int16_t)hdr->avail_skew : 0);
	cfg.used_gpa = base + used + (skew ? (uint64_t)(int64_t)(int16_t)hdr->used_skew : 0);
	cfg.buf_gpa = base + bufs;
	cfg.buf_end = base + bufs + 64 * KiB;

	h->guest = guest_for(&cfg);
	if (!h->guest)
		return -VIRTQ_ENOSPC;

	/* loc 0 is region 0's buffer area; loc i is extra region i */
	h->nlocs = cfg.nregions;
	h->loc_gpa[0] = base + bufs;
	h->loc_size[0] = 64 * KiB;
	for (uint32_t i = 1; i < cfg.nregions; i++) {
		h->loc_gpa[i] = cfg.regions[i].gpa;
		h->loc_size[i] = cfg.regions[i].size;
	}

	struct model *md = &h->model;
	/* Of the per-head arrays only [0, size) matters (stamps and the
	 * unpublished list are written before they are read): clearing all
	 * 32768 entries of each on every run would cost more than most runs. */
	memset(md, 0, offsetof(struct model, head));
	memset(md->head, MODEL_FREE, size);
	md->nregions = cfg.nregions;
	for (uint32_t i = 0; i < cfg.nregions; i++)
		md->regions[i] = (struct model_region){
			cfg.regions[i].gpa, cfg.regions[i].size,
			virtq_mock_host(h->guest, cfg.regions[i].gpa, cfg.regions[i].size),
			cfg.regions[i].flags
		};
	md->size = size;
	md->event_idx = hdr->features & 1u;
	md->indirect = hdr->features & 2u;
	/* What the mock used: a skew of -1 gives UINT64_MAX, its "auto" value. */
	md->desc = h->guest->cfg.desc_gpa;
	md->avail = h->guest->cfg.avail_gpa;
	md->used = h->guest->cfg.used_gpa;
	harness_memory_setup(h, hdr);
	return 0;
}

uint64_t harness_loc(const struct harness *h, struct scn_loc loc)
{
	uint32_t r = loc.region % h->nlocs;
	return h->loc_gpa[r] + loc.offset % h->loc_size[r];
}

/* A descriptor operation's buffer address: raw, or a loc reduced into memory. */
uint64_t harness_op_addr(const struct harness *h, const struct scn_op *op)
{
	return scn_mods(op) & SCN_MOD_A ? op->addr : harness_loc(h, op->loc);
}

/* Descriptor length and flags: raw with the raw-address modifier, else a
 * length that fits the buffer areas and only the flags virtio defines. */
static uint32_t desc_len(const struct scn_op *op)
{
	return scn_mods(op) & SCN_MOD_A ? op->len32 : op->len32 % (64u * KiB + 1u);
}

static uint16_t desc_flags(const struct scn_op *op)
{
	const uint16_t defined = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_INDIRECT;
	return scn_mods(op) & SCN_MOD_A ? op->flags : op->flags & defined;
}

/* Queue size as the driver sees it. */
static uint32_t qsize(const struct harness *h) { return h->model.size; }

/* Sane: a forward step that leaves the ring at most full (pending <= size);
 * raw: any 16-bit step. */
static uint16_t bump(const struct harness *h, const struct scn_op *op, bool raw)
{
	const uint32_t pending = (uint16_t)(h->guest->avail_idx - h->model.next_avail);
	if (raw)
		return op->value;
	return (uint16_t)(pending >= qsize(h) ? 0 : op->value % (qsize(h) - pending + 1));
}

/* A head a correct driver may post: the first from want on that the device
 * does not hold. */
static uint16_t postable_head(const struct harness *h, uint32_t want)
{
	for (uint32_t i = 0; i < qsize(h); i++) {
		uint32_t head = (want + i) % qsize(h);
		if (h->model.head[head] == MODEL_FREE)
			return (uint16_t)head;
	}
	return (uint16_t)(want % qsize(h)); /* all held: EBUSY comes first anyway */
}

/*
 * A sane bump exposes only entries a correct driver could have made: heads
 * the device does not hold, each once; other entries are rewritten. Only
 * the first SCN_MAX_OPS entries after next_avail can ever be popped in a
 * scenario, so no more are looked at; the replacement candidates only move
 * forward: O(SCN_MAX_OPS + size) for the whole bump at worst.
 */
static void expose_sanely(struct harness *h, uint16_t from, uint16_t n)
{
	static uint32_t taken[MODEL_MAX_HEADS], generation; /* taken: == generation */
	struct virtq_mock *g = h->guest;
	const uint32_t size = qsize(h);
	const uint16_t pending = (uint16_t)(from - h->model.next_avail);
	const unsigned char *ring = virtq_mock_host(g, g->cfg.avail_gpa + 4, 2ull * size);
	uint32_t candidate = 0;
	if (!ring || pending >= SCN_MAX_OPS)
		return; /* a ring outside memory, or nothing exposed is ever popped */
	if (n > SCN_MAX_OPS - pending)
		n = (uint16_t)(SCN_MAX_OPS - pending);
	if (++generation == 0) {
		memset(taken, 0, sizeof(taken));
		generation = 1;
	}
#define ENTRY(i) ((uint16_t)(ring[2u * ((i) % size)] | ring[2u * ((i) % size) + 1u] << 8))
	for (uint16_t i = h->model.next_avail; i != from; i++) /* posted, not yet popped */
		if (ENTRY(i) < size)
			taken[ENTRY(i)] = generation;
	for (uint16_t k = 0; k < n; k++) {
		const uint16_t i = (uint16_t)(from + k);
		uint16_t head = ENTRY(i);
		if (head >= size || h->model.head[head] != MODEL_FREE || taken[head] == generation) {
			while (candidate < size && (h->model.head[candidate] != MODEL_FREE ||
						    taken[candidate] == generation))
				candidate++;
			if (candidate == size)
				return; /* no free head left: EBUSY or a repeat is what comes */
			head = (uint16_t)candidate;
			virtq_mock_set_avail_entry(g, i % size, head);
		}
		taken[head] = generation;
	}
#undef ENTRY
}

static void post(struct harness *h, const struct scn_op *op)
{
	struct virtq_mock_buf bufs[SCN_MAX_BUFS];
	const unsigned n = scn_post_bufs(op), nread = op->nread % (n + 1);
	for (unsigned i = 0; i < n; i++)
		bufs[i] = (struct virtq_mock_buf){ .gpa = harness_loc(h, op->bufs[i].loc),
						   .len = op->bufs[i].len,
						   .writable = i >= nread };
	unsigned flags = (scn_mods(op) & SCN_MOD_A ? VIRTQ_MOCK_INDIRECT : 0) |
			 (scn_mods(op) & SCN_MOD_B ? VIRTQ_MOCK_NO_PUBLISH : 0);
	if (virtq_mock_add_chain(h->guest, bufs, n, flags) == -VIRTQ_ENOSPC) {
		virtq_mock_alloc_reset(h->guest); /* indirect tables: recycle the area */
		virtq_mock_add_chain(h->guest, bufs, n, flags);
	}
}

void harness_guest_op(struct harness *h, const struct scn_op *op)
{
	struct virtq_mock *g = h->guest;
	const bool raw_idx = scn_mods(op) & SCN_MOD_B;
	switch (scn_opcode(op)) {
	case SCN_POST:
		post(h, op);
		break;
	case SCN_WRITE_DESC:
		virtq_mock_set_desc(g, raw_idx ? op->idx : op->idx % qsize(h), harness_op_addr(h, op),
				    desc_len(op), desc_flags(op),
				    (uint16_t)(raw_idx ? op->next : op->next % qsize(h)));
		break;
	case SCN_WRITE_TABLE:
		virtq_mock_write_desc_at(g, harness_loc(h, op->table) + 16u * op->entry,
					 harness_op_addr(h, op), desc_len(op), desc_flags(op),
					 op->next);
		break;
	case SCN_WRITE_AVAIL:
		virtq_mock_set_avail_entry(g, raw_idx ? op->idx : op->idx % qsize(h),
					   raw_idx ? op->value : postable_head(h, op->value));
		break;
	case SCN_BUMP_AVAIL: {
		const uint16_t delta = bump(h, op, raw_idx);
		if (!raw_idx)
			expose_sanely(h, g->avail_idx, delta);
		virtq_mock_set_avail_idx(g, (uint16_t)(g->avail_idx + delta));
		break;
	}
	case SCN_AVAIL_FLAGS:
		virtq_mock_set_avail_flags(g, op->value);
		break;
	case SCN_USED_EVENT:
		virtq_mock_set_used_event(g, op->value);
		break;
	case SCN_POKE: {
		if (scn_mods(op) & SCN_MOD_C) {
			harness_toctou_arm(h, op);
			break;
		}
		const unsigned char le[4] = { (unsigned char)op->len32, (unsigned char)(op->len32 >> 8),
					      (unsigned char)(op->len32 >> 16),
					      (unsigned char)(op->len32 >> 24) };
		unsigned char back[4];
		uint64_t at = harness_loc(h, op->loc);
		if (virtq_mock_write(g, at, le, sizeof(le)) == 0) {
			int r = virtq_mem_read(&g->mem, at, back, 4);
			if (r == -VIRTQ_EACCES) /* a write-only region: the device may not read it */
				r = virtq_mock_read(g, at, back, 4);
			FUZZ_CHECK(r == 0 && !memcmp(back, le, 4),
				   "guest memory does not read back what was written");
		}
		break;
	}
	case SCN_CONSUME:
		for (unsigned i = 0; i < op->cap % 16u; i++)
			if (virtq_mock_get_used(g, NULL, NULL) != 1)
				break;
		break;
	default:
		break;
	}
}

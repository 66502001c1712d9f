/* SPDX-License-Identifier: MIT */
/*
 * A tiny reference model of the split queue, for the differential oracle.
 *
 * It is written for obviousness, not speed: every guest access goes through
 * model_read() by guest-physical address over a plain list of regions, a
 * chain is a list of (gpa, len) pieces, and each rule of docs/rules.md is one
 * `if`. The executor runs every operation on the library and on the model and
 * requires identical results: return codes, chains, cursor bytes, ring writes.
 */
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define MODEL_MAX_REGIONS 8u
#define MODEL_MAX_SEGS 4096u
#define MODEL_MAX_HEADS 32768u
#define MODEL_MAX_HISTORY 1024u
#define MODEL_MAX_MAPS 16u

/* What the device holds of each head. */
enum model_head {
	MODEL_FREE,      /* not the device's */
	MODEL_IN_FLIGHT, /* popped, not completed */
	MODEL_USED,      /* completed, used entry not yet published */
};

/* flags: 1 the device may not write (VIRTQ_MEM_READONLY), 2 not read
 * (VIRTQ_MEM_WRITEONLY), as mem.h defines them. */
#define MODEL_NO_WRITE 1u
#define MODEL_NO_READ 2u

struct model_region {
	uint64_t gpa, size;
	const unsigned char *host;
	uint32_t flags;
};

/* An IOMMU mapping (iommu.h): IOVAs [iova, iova + size) to guest-physical
 * [gpa, gpa + size); perm bit 0 read, bit 1 write. The translator answers
 * the first mapping that contains an IOVA (the mock's, mock.h). */
#define MODEL_MAP_READ 1u
#define MODEL_MAP_WRITE 2u
struct model_map {
	uint64_t iova, size, gpa;
	uint32_t perm;
};

struct model_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct model_chain {
	uint32_t nseg, nread, ndesc;
	uint32_t needed; /* segments counted, stored or not */
	uint64_t read_len, write_len;
	uint16_t id;
	struct model_seg segs[MODEL_MAX_SEGS];
};

struct model {
	/* guest memory */
	uint32_t nregions;
	struct model_region regions[MODEL_MAX_REGIONS];
	/* configuration */
	uint32_t size;
	bool event_idx, indirect;
	uint64_t desc, avail, used; /* IOVAs with the IOMMU: the harness keeps them
				     * mapped to the same guest-physical addresses */
	/* ACCESS_PLATFORM: every address the queue uses is translated */
	bool iommu;
	uint32_t nmaps;
	struct model_map maps[MODEL_MAX_MAPS];
	bool rings_stale; /* an invalidation met a ring: the next call re-translates */
	/* state */
	bool active, broken, notify_enabled, signalled_valid;
	bool at_max_size; /* reset by a rejected restore: virtq_size() is the maximum */
	uint16_t next_avail, shadow_avail, next_used, published, signalled;
	uint64_t published_since_signal; /* entries published since the last decision */
	uint64_t next_stamp;             /* pop order of the next pop */
	uint32_t nhistory;               /* entries in history[] */
	/* Per head, [0, size) meaningful: what the device holds, and when it
	 * was popped. */
	uint8_t head[MODEL_MAX_HEADS];
	uint64_t stamp[MODEL_MAX_HEADS];
	/* pops unpop may undo, oldest first (cleared by reset and resume) */
	uint16_t history[MODEL_MAX_HISTORY];
	/* completions not yet published, in used-ring order */
	uint16_t unpublished[MODEL_MAX_HEADS];
};

/* Chains popped and not completed. */
static inline uint32_t model_in_flight(const struct model *md)
{
	return (uint16_t)(md->next_avail - md->next_used);
}

/* Called with every model_read() when not NULL (the TOCTOU executor counts
 * what the model reads during one walk). */
extern void (*model_read_observer)(uint64_t gpa, uint64_t len);

/* Guest memory reads by address; false if any byte is outside memory. */
bool model_read(const struct model *md, uint64_t gpa, void *dst, uint64_t len);
uint16_t model_read16(const struct model *md, uint64_t gpa);

/* Expected result of translating the three rings (activate, resume,
 * restore, and the re-translation after an invalidation). */
int model_rings_check(const struct model *md);
/* Expected virtq_iommu_invalidate(): a range meeting a ring makes the rings
 * stale. */
void model_iommu_invalidate(struct model *md, uint64_t iova, uint64_t size);

/* What every datapath call checks first: 0, -VIRTQ_EBROKEN, -VIRTQ_ENOTREADY,
 * or with stale rings the result of re-translating them (-VIRTQ_EAGAIN...). */
int model_usable(struct model *md);

/* Expected virtq_activate() result; on 0 the model is active. */
int model_activate(struct model *md);
void model_reset(struct model *md);

/* Expected virtq_pop() result with a segment array of cap entries. */
int model_pop(struct model *md, struct model_chain *c, uint32_t cap);
/* Expected virtq_discard(): c gets id, ndesc and needed. */
int model_discard(struct model *md, struct model_chain *c);
/* Expected virtq_resubmit() of head into a segment array of cap entries. */
int model_resubmit(struct model *md, uint16_t head, struct model_chain *c, uint32_t cap);
int model_unpop(struct model *md);
int model_add_used(struct model *md, uint16_t id);
/* Expected virtq_add_used_many(): all ids completed, or none. */
int model_add_used_many(struct model *md, const uint16_t *ids, uint32_t n);
/* The heads in flight, oldest pop first; returns their number. */
uint32_t model_in_flight_list(const struct model *md, uint16_t *heads);

/*
 * Expected virtq_resume(q, base) on a queue configured like the model's,
 * whose in-flight area holds area[0 .. 16 + 16 * size) (host byte order, the
 * layout of include/virtq/inflight.h, read independently here), with used.idx
 * in guest memory. On success the model is the resumed queue.
 */
int model_resume(struct model *md, const unsigned char *area, uint16_t base);
int model_publish(struct model *md);
int model_needs_notify(struct model *md);
int model_enable_notify(struct model *md);
int model_disable_notify(struct model *md);

/* Offset in the used ring of the field that holds avail_event. */
uint64_t model_avail_event_gpa(const struct model *md);

#endif /* FUZZ_MODEL_H */

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

struct model_region {
	uint64_t gpa, size;
	const unsigned char *host;
};

struct model_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct model_chain {
	uint32_t nseg, nread, ndesc;
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
	uint64_t desc, avail, used;
	/* state */
	bool active, broken, notify_enabled, signalled_valid;
	bool at_max_size; /* reset by a rejected restore: virtq_size() is the maximum */
	uint16_t next_avail, shadow_avail, next_used, published, signalled;
	uint32_t in_flight;
};

/* Guest memory reads by address; false if any byte is outside memory. */
bool model_read(const struct model *md, uint64_t gpa, void *dst, uint64_t len);
uint16_t model_read16(const struct model *md, uint64_t gpa);

/* Expected virtq_activate() result; on 0 the model is active. */
int model_activate(struct model *md);
void model_reset(struct model *md);

/* Expected virtq_pop() result with a segment array of cap entries. */
int model_pop(struct model *md, struct model_chain *c, uint32_t cap);
int model_unpop(struct model *md);
int model_add_used(struct model *md, uint16_t id);
int model_publish(struct model *md);
int model_needs_notify(struct model *md);
int model_enable_notify(struct model *md);
int model_disable_notify(struct model *md);

/* Offset in the used ring of the field that holds avail_event. */
uint64_t model_avail_event_gpa(const struct model *md);

#endif /* FUZZ_MODEL_H */

/* SPDX-License-Identifier: MIT */
/*
 * WP: the chain walk terminates, within 2 x size descriptor reads.
 *
 * walk_chain()'s loop (src/pop.c) carries a ghost count of the descriptors
 * it read and a variant; this file gives the contracts of what the walk
 * calls, which are assumed here (Eva analyses their bodies: analyses queue
 * and indirect): they read, or write only the region hint and the caller's
 * segment array. The properties proved are the loop's invariants and
 * variant: every descriptor index is below the current table's size, at most
 * size direct descriptors and size indirect ones are read, and the walk
 * ends.
 */
#include "../../src/pop.c"

/*@ assigns \nothing; */
static inline struct ring_desc ring_read_desc(void *p);

/*@ assigns \nothing; */
static inline struct cached_region cache_region(const struct virtq *q);

/*@ assigns \nothing;
    ensures \result == q->size_minus_1 + 1; */
static inline uint32_t queue_size(const struct virtq *q);

/*@ assigns \nothing; */
static inline bool queue_has(const struct virtq *q, unsigned feature_bit);

/*@ assigns *last; */
static inline bool checked_range_last(uint64_t start, uint64_t len, uint64_t *last);

/*@ assigns *sum; */
static inline bool virtq_model_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *sum);

/*@ assigns *host; */
int virtq_mem_map_one(const struct virtq_mem *m, uint64_t gpa, uint64_t len, enum mem_access access,
		      void **host);

/*@ assigns q->region_hint, segs[0 .. cap - 1]; */
static int split_buffer(struct virtq *q, struct virtq_seg *segs, uint32_t cap, uint32_t nseg,
			uint64_t gpa, uint32_t len, enum mem_access access);

/*@ requires head <= q->size_minus_1;
    assigns q->region_hint, c->segs[0 .. c->cap - 1], *c, *region; */
static int walk_chain(struct virtq *q, struct virtq_chain *c, uint16_t head,
		      struct cached_region *region);

/*@ assigns \nothing;
    ensures \result == (unsigned char *)base + offset; */
static inline void *ring_at(void *base, uint64_t offset);

/*@ assigns *sum; */
static inline bool checked_add_u64(uint64_t a, uint64_t b, uint64_t *sum);

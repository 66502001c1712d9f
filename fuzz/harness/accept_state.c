/* SPDX-License-Identifier: MIT */
/*
 * Whether a saved queue state must be accepted, from state.h alone: the
 * byte table of the encoding (versions 1, 2 and 3), the self-consistency rules
 * of virtq_state_check() and the checks of virtq_restore(), in their
 * documented order. Nothing here calls the library.
 */
#include <string.h>

#include <virtq/virtq.h>

#include "accept.h"

#define HEAD_USED 0x8000u
#define LARGEST_QUEUE 32768u
#define V1_BYTES 64u
#define V2_FIXED_BYTES 68u
#define V3_FIXED_BYTES 76u
#define FEATURE_RING_PACKED (UINT64_C(1) << 34)

static bool queue_size_ok(uint32_t n)
{
	return n >= 1 && n <= LARGEST_QUEUE && (n & (n - 1)) == 0;
}

static uint32_t unpublished(const struct virtq_state *s)
{
	return (uint16_t)(s->next_used - s->published_used);
}

/* "the packed fields 0/false" */
static bool packed_clear(const struct virtq_state *s)
{
	return !s->avail_pos && !s->avail_wrap && !s->used_pos && !s->used_wrap && !s->signal_slots;
}

/* "an inactive queue has all its indices, in_flight, unpop_depth, packed and
 * notification fields at their reset values (0/false) and is not broken" */
static bool at_reset(const struct virtq_state *s)
{
	return !s->broken && !s->next_avail && !s->next_used && !s->published_used &&
	       !s->in_flight && !s->signalled_used && !s->signalled_valid && !s->notify_enabled &&
	       !s->unpop_depth && packed_clear(s);
}

static bool is_packed(const struct virtq_state *s)
{
	return (s->features & FEATURE_RING_PACKED) != 0;
}

/* "active with RING_PACKED, and then nothing held (in_flight 0, next_used ==
 * published_used), avail_pos < size, used_pos and used_wrap equal to
 * avail_pos and avail_wrap and signal_slots <= 2 * size" */
static bool packed_ok(const struct virtq_state *s)
{
	return s->in_flight == 0 && s->next_used == s->published_used && s->avail_pos < s->size &&
	       s->used_pos == s->avail_pos && s->used_wrap == s->avail_wrap &&
	       (uint64_t)s->signal_slots <= 2u * (uint64_t)s->size;
}

/* heads[0 .. n): as many completed (bit 15) as unpublished, each head below
 * size and held once, the newest unpop_depth all in flight. */
static bool heads_ok(const struct virtq_state *s)
{
	static uint8_t seen[LARGEST_QUEUE];
	const uint32_t n = s->in_flight + unpublished(s);
	uint32_t completed = 0, in_flight_run = 0;
	bool ok = true;
	for (uint32_t i = 0; i < n && ok; i++) {
		const uint32_t head = s->heads[i] & 0x7fffu;
		const bool done = s->heads[i] & HEAD_USED;
		ok = head < s->size && !seen[head];
		if (ok)
			seen[head] = 1;
		completed += done;
		in_flight_run = done ? 0 : in_flight_run + 1;
	}
	for (uint32_t i = 0; i < n; i++)
		seen[s->heads[i] & 0x7fffu] = 0;
	return ok && completed == unpublished(s) && s->unpop_depth <= in_flight_run;
}

int accept_state_check(const struct virtq_state *s)
{
	if (!queue_size_ok(s->max_size) || !queue_size_ok(s->size) || s->size > s->max_size)
		return -VIRTQ_EBADSTATE;
	if (!s->active)
		return at_reset(s) ? 0 : -VIRTQ_EBADSTATE;
	if (is_packed(s) ? !packed_ok(s) : !packed_clear(s))
		return -VIRTQ_EBADSTATE;
	if (s->in_flight > s->size || (uint16_t)(s->next_avail - s->next_used) != s->in_flight ||
	    (uint64_t)s->in_flight + unpublished(s) > s->size)
		return -VIRTQ_EBADSTATE;
	return heads_ok(s) ? 0 : -VIRTQ_EBADSTATE;
}

/* The fixed part: the fields at the offsets of state.h's table. */
static void fixed_fields(const uint8_t *b, struct virtq_state *s)
{
	const uint32_t flags = (uint32_t)accept_le(b + 8, 4);
	s->active = flags & 1u;
	s->broken = flags & 2u;
	s->signalled_valid = flags & 4u;
	s->notify_enabled = flags & 8u;
	s->max_size = (uint32_t)accept_le(b + 12, 4);
	s->size = (uint32_t)accept_le(b + 16, 4);
	s->in_flight = (uint32_t)accept_le(b + 20, 4);
	s->features = accept_le(b + 24, 8);
	s->desc_gpa = accept_le(b + 32, 8);
	s->avail_gpa = accept_le(b + 40, 8);
	s->used_gpa = accept_le(b + 48, 8);
	s->next_avail = (uint16_t)accept_le(b + 56, 2);
	s->next_used = (uint16_t)accept_le(b + 58, 2);
	s->published_used = (uint16_t)accept_le(b + 60, 2);
	s->signalled_used = (uint16_t)accept_le(b + 62, 2);
}

/* The documented order: framing (EFORMAT, EVERSION), then content
 * (EBADSTATE). *fixed is where the heads start. */
static int framing(const uint8_t *b, size_t len, struct virtq_state *s, uint64_t *heads,
		   size_t *fixed)
{
	if (len < 8 || memcmp(b, "VQST", 4) != 0)
		return -VIRTQ_EFORMAT;
	const uint32_t version = (uint32_t)accept_le(b + 4, 2), length = (uint32_t)accept_le(b + 6, 2);
	if (version == 0)
		return -VIRTQ_EFORMAT;
	if (version > 3)
		return -VIRTQ_EVERSION;
	if (version == 1 && (length != V1_BYTES || len != V1_BYTES))
		return -VIRTQ_EFORMAT;
	*fixed = version == 3 ? V3_FIXED_BYTES : V2_FIXED_BYTES;
	if (version >= 2 && (length != *fixed || len < *fixed))
		return -VIRTQ_EFORMAT;
	fixed_fields(b, s);
	*heads = (uint64_t)s->in_flight + unpublished(s);
	if (version >= 2 && len != *fixed + 2u * *heads)
		return -VIRTQ_EFORMAT;
	if (version == 2 && *heads == 0)
		return -VIRTQ_EFORMAT; /* version 1's job */
	if (accept_le(b + 8, 4) >> 4)
		return -VIRTQ_EFORMAT; /* reserved flag bits */
	const bool packed_active = s->active && is_packed(s);
	if (version == 3 && !packed_active)
		return -VIRTQ_EFORMAT; /* versions 1 and 2 say those */
	if (version == 1 && *heads)
		return -VIRTQ_EBADSTATE; /* it cannot say which chains */
	if (version < 3 && packed_active)
		return -VIRTQ_EBADSTATE; /* nor where the rings are */
	if (version >= 2)
		s->unpop_depth = (uint32_t)accept_le(b + 64, 4);
	if (version == 3) {
		const uint32_t avail = (uint32_t)accept_le(b + 68, 2);
		const uint32_t used = (uint32_t)accept_le(b + 70, 2);
		s->avail_pos = (uint16_t)(avail & 0x7fffu);
		s->avail_wrap = avail >> 15;
		s->used_pos = (uint16_t)(used & 0x7fffu);
		s->used_wrap = used >> 15;
		s->signal_slots = (uint32_t)accept_le(b + 72, 4);
	}
	return 0;
}

int accept_state_decode(const uint8_t *bytes, size_t len, struct virtq_state *s)
{
	uint64_t n = 0;
	size_t fixed = 0;
	memset(s, 0, offsetof(struct virtq_state, heads));
	int r = framing(bytes, len, s, &n, &fixed);
	if (r == 0 && n > LARGEST_QUEUE)
		r = -VIRTQ_EBADSTATE; /* more heads than any queue has */
	for (uint64_t i = 0; r == 0 && i < n; i++)
		s->heads[i] = (uint16_t)accept_le(bytes + fixed + 2u * i, 2);
	if (r == 0)
		r = accept_state_check(s);
	if (r)
		memset(s, 0, offsetof(struct virtq_state, heads));
	return r;
}

/* used.idx (offset 2 of the used ring), or -1 when it is not in memory. */
static int32_t used_idx_in_memory(const struct accept_memory *mem, uint64_t used_gpa)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct accept_region *r = &mem->regions[i];
		if (used_gpa + 2u >= r->gpa && used_gpa + 2u - r->gpa < r->size &&
		    r->size - (used_gpa + 2u - r->gpa) >= 2u) {
			const unsigned char *p = r->host + (used_gpa + 2u - r->gpa);
			return (int32_t)accept_le(p, 2);
		}
	}
	return -1;
}

int accept_restore(const struct accept_memory *mem, const struct accept_queue *q,
		   const struct virtq_state *s)
{
	int r = accept_state_check(s);
	if (r)
		return r;
	if (s->size > q->max_size) /* the queue's own limit; s->max_size is not applied */
		return -VIRTQ_EINVAL;
	if (!s->active)
		return 0;
	/* The feature contract of activation; state.h's list of restore's
	 * checks does not name it, virtq_restore() applies it here. */
	/* RING_PACKED is activation's to accept (accept_features() refuses it
	 * for the scenarios, whose guest is split) */
	if ((r = accept_features(s->features & ~FEATURE_RING_PACKED, mem->iommu)))
		return r;
	if (q->area_heads < s->size)
		return -VIRTQ_EINVAL;
	if (is_packed(s)) /* no used.idx: nothing in guest memory to compare (state.h) */
		return accept_packed_rings(mem, s->size, s->desc_gpa, s->avail_gpa, s->used_gpa);
	if ((r = accept_rings(mem, s->size, s->desc_gpa, s->avail_gpa, s->used_gpa)))
		return r;
	return used_idx_in_memory(mem, s->used_gpa) == s->published_used ? 0 : -VIRTQ_EBADSTATE;
}

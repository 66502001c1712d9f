/* SPDX-License-Identifier: MIT */
/*
 * The versioned byte encoding of struct virtq_state (table in state.h):
 * version 1 for a drained queue, version 2 with the heads it holds,
 * version 3 for an active packed queue (its ring positions).
 *
 * Every field is assembled from single bytes, little-endian, so the input
 * buffer needs no alignment and no integer is ever loaded through a cast
 * pointer. The decoder reads only after it has checked that the bytes it
 * reads are there, and accepts exactly the encodings the encoder produces.
 */
#include <stddef.h>
#include <string.h>

#include "virtq/state.h"

/* Field offsets of version 1. */
#define OFF_MAGIC 0u
#define OFF_VERSION 4u
#define OFF_LENGTH 6u
#define OFF_FLAGS 8u
#define OFF_MAX_SIZE 12u
#define OFF_SIZE 16u
#define OFF_IN_FLIGHT 20u
#define OFF_FEATURES 24u
#define OFF_DESC_GPA 32u
#define OFF_AVAIL_GPA 40u
#define OFF_USED_GPA 48u
#define OFF_NEXT_AVAIL 56u
#define OFF_NEXT_USED 58u
#define OFF_PUBLISHED_USED 60u
#define OFF_SIGNALLED_USED 62u
/* Version 2: after the version-1 fields; heads after the fixed part. */
#define OFF_UNPOP_DEPTH 64u
#define OFF_V2_HEADS 68u
/* Version 3: after the version-2 fixed part. */
#define OFF_PACKED_AVAIL 68u
#define OFF_PACKED_USED 70u
#define OFF_SIGNAL_SLOTS 72u
/* off_wrap form: position in bits 0..14, wrap counter in bit 15 */
#define POS_WRAP 0x8000u
#define POS_MASK 0x7fffu
/* magic, version and length: what every version starts with */
#define HEADER_BYTES 8u
#define MAGIC_BYTES 4u

#define FLAG_ACTIVE (1u << 0)
#define FLAG_BROKEN (1u << 1)
#define FLAG_SIGNALLED_VALID (1u << 2)
#define FLAG_NOTIFY_ENABLED (1u << 3)
#define FLAGS_KNOWN (FLAG_ACTIVE | FLAG_BROKEN | FLAG_SIGNALLED_VALID | FLAG_NOTIFY_ENABLED)

static void put_le(unsigned char *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8u * i));
}

/*@ logic integer le_prefix{L}(unsigned char *p, integer n) =
      n <= 0 ? 0 : (le_prefix(p, n - 1) | (uint64_t)(p[n - 1] << (8 * (n - 1))));
*/
static uint64_t get_le(const unsigned char *p, unsigned bytes)
{
	uint64_t v = 0;
	/*@ loop invariant 0 <= i <= bytes;
	    loop invariant v == le_prefix(p, i);
	    loop assigns i, v;
	    loop variant bytes - i; */
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8u * i);
	return v;
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)get_le(p, 2);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)get_le(p, 4);
}

static uint64_t get64(const unsigned char *p)
{
	return get_le(p, 8);
}

static uint32_t flags_of(const struct virtq_state *s)
{
	return (s->active ? FLAG_ACTIVE : 0u) | (s->broken ? FLAG_BROKEN : 0u) |
	       (s->signalled_valid ? FLAG_SIGNALLED_VALID : 0u) |
	       (s->notify_enabled ? FLAG_NOTIFY_ENABLED : 0u);
}

/* Heads held: in flight, then unpublished (version 2 carries them). */
static uint32_t heads_of(const struct virtq_state *s)
{
	return s->in_flight + (uint16_t)(s->next_used - s->published_used);
}

/* Version 3 is for an active packed queue only (the oldest version that
 * can say its state, as for the others). */
static bool packed_active(bool active, uint64_t features)
{
	return active && ((features >> VIRTQ_F_RING_PACKED) & 1u);
}

/* The version encode writes, and its fixed part's length. */
static uint16_t version_of(const struct virtq_state *s)
{
	if (packed_active(s->active, s->features))
		return 3;
	return heads_of(s) ? 2 : 1;
}

static uint16_t fixed_of(uint16_t version)
{
	return version == 3 ? VIRTQ_STATE_V3_FIXED_SIZE
	       : version == 2 ? VIRTQ_STATE_V2_FIXED_SIZE
			      : VIRTQ_STATE_V1_SIZE;
}

size_t virtq_state_encoded_size(const struct virtq_state *s)
{
	if (!s)
		return 0;
	const uint16_t version = version_of(s);
	/* heads: version 2 only (a packed state holds none, virtq_state_check) */
	const uint64_t n = version == 2 ? heads_of(s) : 0;
	return (size_t)(fixed_of(version) + 2u * n);
}

static uint16_t pos_wrap(uint16_t pos, bool wrap)
{
	return (uint16_t)(pos | (wrap ? POS_WRAP : 0u));
}

/* The version-1 fields; version 2 starts with them. */
static void encode_fixed(const struct virtq_state *s, unsigned char *b, uint16_t version,
			 uint16_t fixed_len)
{
	memcpy(b + OFF_MAGIC, VIRTQ_STATE_MAGIC, MAGIC_BYTES);
	put_le(b + OFF_VERSION, version, 2);
	put_le(b + OFF_LENGTH, fixed_len, 2);
	put_le(b + OFF_FLAGS, flags_of(s), 4);
	put_le(b + OFF_MAX_SIZE, s->max_size, 4);
	put_le(b + OFF_SIZE, s->size, 4);
	put_le(b + OFF_IN_FLIGHT, s->in_flight, 4);
	put_le(b + OFF_FEATURES, s->features, 8);
	put_le(b + OFF_DESC_GPA, s->desc_gpa, 8);
	put_le(b + OFF_AVAIL_GPA, s->avail_gpa, 8);
	put_le(b + OFF_USED_GPA, s->used_gpa, 8);
	put_le(b + OFF_NEXT_AVAIL, s->next_avail, 2);
	put_le(b + OFF_NEXT_USED, s->next_used, 2);
	put_le(b + OFF_PUBLISHED_USED, s->published_used, 2);
	put_le(b + OFF_SIGNALLED_USED, s->signalled_used, 2);
}

int virtq_state_encode(const struct virtq_state *s, void *buf, size_t cap)
{
	if (!s || !buf)
		return -VIRTQ_EINVAL;
	int r = virtq_state_check(s);
	if (r)
		return r;
	const size_t len = virtq_state_encoded_size(s);
	if (cap < len)
		return -VIRTQ_ENOSPC;
	unsigned char *b = buf;
	const uint16_t version = version_of(s), fixed = fixed_of(version);
	encode_fixed(s, b, version, fixed);
	if (version == 1)
		return (int)len;
	put_le(b + OFF_UNPOP_DEPTH, s->unpop_depth, 4);
	if (version == 3) { /* no heads: virtq_state_check, a packed state holds none */
		put_le(b + OFF_PACKED_AVAIL, pos_wrap(s->avail_pos, s->avail_wrap), 2);
		put_le(b + OFF_PACKED_USED, pos_wrap(s->used_pos, s->used_wrap), 2);
		put_le(b + OFF_SIGNAL_SLOTS, s->signal_slots, 4);
		return (int)len;
	}
	const uint32_t n = heads_of(s);
	for (uint32_t i = 0; i < n; i++)
		put_le(b + OFF_V2_HEADS + 2u * i, s->heads[i], 2);
	return (int)len;
}

/* Heads a framed version-2 or 3 encoding announces (its fixed part is there). */
static uint64_t announced_heads(const unsigned char *b)
{
	return (uint64_t)get32(b + OFF_IN_FLIGHT) +
	       (uint16_t)(get16(b + OFF_NEXT_USED) - get16(b + OFF_PUBLISHED_USED));
}

/* The length of version 2 (fixed 68) or 3 (fixed 76): the fixed part, then
 * exactly the heads announced; version 2 announces some (none: version 1
 * says that). */
static int check_heads_length(const unsigned char *b, size_t len, uint16_t fixed)
{
	if (get16(b + OFF_LENGTH) != fixed || len < fixed)
		return -VIRTQ_EFORMAT;
	const uint64_t n = announced_heads(b);
	if ((n == 0 && fixed == VIRTQ_STATE_V2_FIXED_SIZE) || len - fixed != 2u * n)
		return -VIRTQ_EFORMAT;
	return 0;
}

/*
 * The framing, in the order state.h documents. The version is judged before
 * the length: a newer version may be longer, and must be reported as newer
 * (-VIRTQ_EVERSION), not as a bad length. Returns the version or an error.
 */
static int check_framing(const unsigned char *b, size_t len)
{
	if (len < HEADER_BYTES)
		return -VIRTQ_EFORMAT;
	if (memcmp(b + OFF_MAGIC, VIRTQ_STATE_MAGIC, MAGIC_BYTES) != 0)
		return -VIRTQ_EFORMAT;
	const uint16_t version = get16(b + OFF_VERSION);
	if (version == 0)
		return -VIRTQ_EFORMAT;
	if (version > VIRTQ_STATE_VERSION)
		return -VIRTQ_EVERSION;
	if (version == 1 &&
	    (get16(b + OFF_LENGTH) != VIRTQ_STATE_V1_SIZE || len != VIRTQ_STATE_V1_SIZE))
		return -VIRTQ_EFORMAT;
	int r = version >= 2 ? check_heads_length(b, len, fixed_of(version)) : 0;
	if (r)
		return r;
	const uint32_t flags = get32(b + OFF_FLAGS);
	if (flags & ~FLAGS_KNOWN)
		return -VIRTQ_EFORMAT;
	/* version 3 only where versions 1 and 2 cannot say the state */
	if (version == 3 && !packed_active(flags & FLAG_ACTIVE, get64(b + OFF_FEATURES)))
		return -VIRTQ_EFORMAT;
	return version;
}

/* The version-1 fields of a framed encoding (all present). */
static void decode_fixed(const unsigned char *b, struct virtq_state *s)
{
	const uint32_t flags = get32(b + OFF_FLAGS);
	s->active = (flags & FLAG_ACTIVE) != 0;
	s->broken = (flags & FLAG_BROKEN) != 0;
	s->signalled_valid = (flags & FLAG_SIGNALLED_VALID) != 0;
	s->notify_enabled = (flags & FLAG_NOTIFY_ENABLED) != 0;
	s->max_size = get32(b + OFF_MAX_SIZE);
	s->size = get32(b + OFF_SIZE);
	s->in_flight = get32(b + OFF_IN_FLIGHT);
	s->features = get64(b + OFF_FEATURES);
	s->desc_gpa = get64(b + OFF_DESC_GPA);
	s->avail_gpa = get64(b + OFF_AVAIL_GPA);
	s->used_gpa = get64(b + OFF_USED_GPA);
	s->next_avail = get16(b + OFF_NEXT_AVAIL);
	s->next_used = get16(b + OFF_NEXT_USED);
	s->published_used = get16(b + OFF_PUBLISHED_USED);
	s->signalled_used = get16(b + OFF_SIGNALLED_USED);
}

/* The fields after the framing, into s (zeroed); the checks state.h lists
 * after the framing. */
static int decode_fields(const unsigned char *b, int version, struct virtq_state *s)
{
	decode_fixed(b, s);
	const uint64_t n = announced_heads(b);
	if (version == 1 && n)
		return -VIRTQ_EBADSTATE; /* which heads? */
	if (version < 3 && packed_active(s->active, s->features))
		return -VIRTQ_EBADSTATE; /* where are the rings? */
	if (version == 1)
		return virtq_state_check(s);
	if (n > VIRTQ_MAX_SIZE)
		return -VIRTQ_EBADSTATE;
	s->unpop_depth = get32(b + OFF_UNPOP_DEPTH);
	const unsigned fixed = version == 3 ? VIRTQ_STATE_V3_FIXED_SIZE : VIRTQ_STATE_V2_FIXED_SIZE;
	if (version == 3) {
		const uint16_t avail = get16(b + OFF_PACKED_AVAIL), used = get16(b + OFF_PACKED_USED);
		s->avail_pos = avail & POS_MASK;
		s->avail_wrap = (avail & POS_WRAP) != 0;
		s->used_pos = used & POS_MASK;
		s->used_wrap = (used & POS_WRAP) != 0;
		s->signal_slots = get32(b + OFF_SIGNAL_SLOTS);
	}
	/*@ loop invariant 0 <= i <= n;
	    loop assigns i, s->heads[0 .. n - 1];
	    loop variant n - i; */
	for (uint32_t i = 0; i < n; i++)
		s->heads[i] = get16(b + fixed + 2u * i);
	return virtq_state_check(s);
}

int virtq_state_decode(struct virtq_state *s, const void *buf, size_t len)
{
	const size_t fields = offsetof(struct virtq_state, heads);
	if (!s)
		return -VIRTQ_EINVAL;
	memset(s, 0, fields);
	if (!buf)
		return -VIRTQ_EINVAL;
	int r = check_framing(buf, len);
	if (r < 0)
		return r;
	r = decode_fields(buf, r, s);
	if (r)
		memset(s, 0, fields);
	return r;
}

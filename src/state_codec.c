/* SPDX-License-Identifier: MIT */
/*
 * The versioned byte encoding of struct virtq_state (table in state.h).
 *
 * Every field is assembled from single bytes, little-endian, so the input
 * buffer needs no alignment and no integer is ever loaded through a cast
 * pointer. The decoder reads only after it has checked that the bytes it
 * reads are there, and accepts exactly the encodings the encoder produces.
 */
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

static uint64_t get_le(const unsigned char *p, unsigned bytes)
{
	uint64_t v = 0;
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

static void encode_v1(const struct virtq_state *s, unsigned char *b)
{
	memcpy(b + OFF_MAGIC, VIRTQ_STATE_MAGIC, MAGIC_BYTES);
	put_le(b + OFF_VERSION, VIRTQ_STATE_VERSION, 2);
	put_le(b + OFF_LENGTH, VIRTQ_STATE_V1_SIZE, 2);
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
	if (cap < VIRTQ_STATE_V1_SIZE)
		return -VIRTQ_ENOSPC;
	encode_v1(s, buf);
	return (int)VIRTQ_STATE_V1_SIZE;
}

/*
 * The framing, in the order state.h documents. The version is judged before
 * the length: a newer version may be longer, and must be reported as newer
 * (-VIRTQ_EVERSION), not as a bad length.
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
	if (get16(b + OFF_LENGTH) != VIRTQ_STATE_V1_SIZE || len != VIRTQ_STATE_V1_SIZE)
		return -VIRTQ_EFORMAT;
	if (get32(b + OFF_FLAGS) & ~FLAGS_KNOWN)
		return -VIRTQ_EFORMAT;
	return 0;
}

/* The fields of a framed version-1 encoding (all 64 bytes present). */
static void decode_v1(const unsigned char *b, struct virtq_state *s)
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

int virtq_state_decode(struct virtq_state *s, const void *buf, size_t len)
{
	struct virtq_state decoded;
	if (!s)
		return -VIRTQ_EINVAL;
	memset(s, 0, sizeof(*s));
	if (!buf)
		return -VIRTQ_EINVAL;
	int r = check_framing(buf, len);
	if (r)
		return r;
	memset(&decoded, 0, sizeof(decoded));
	decode_v1(buf, &decoded);
	r = virtq_state_check(&decoded);
	if (r)
		return r;
	*s = decoded;
	return 0;
}

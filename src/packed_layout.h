/* SPDX-License-Identifier: MIT */
/* Byte offsets of a packed virtqueue's descriptors and event structures (virtio 2.8). */
#ifndef VIRTQ_PACKED_LAYOUT_H
#define VIRTQ_PACKED_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq/queue.h"

/* struct pvirtq_desc { le64 addr; le32 len; le16 id; le16 flags; } (2.8.13) */
#define PACKED_DESC_BYTES 16u
#define PACKED_DESC_ADDR 0u
#define PACKED_DESC_LEN 8u
#define PACKED_DESC_ID 12u
#define PACKED_DESC_FLAGS 14u
static inline uint64_t packed_desc_off(uint32_t slot) { return PACKED_DESC_BYTES * (uint64_t)slot; }

/* struct pvirtq_event_suppress { le16 off_wrap; le16 flags; } (2.8.14):
 * the driver's in the driver area, the device's in the device area. */
#define EVENT_OFF_WRAP 0u
#define EVENT_FLAGS 2u
#define EVENT_FLAGS_MASK 3u /* bits 2..15 reserved */
#define EVENT_WRAP_SHIFT 15u
#define EVENT_OFF_MASK 0x7fffu

/* The AVAIL and USED bits a descriptor carries when the driver made it
 * available in the lap whose wrap counter is wrap (2.8.1). */
static inline uint16_t packed_avail_bits(bool wrap)
{
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

/* ... and when the device marked it used in such a lap (2.8.1). */
static inline uint16_t packed_used_bits(bool wrap)
{
	return wrap ? (uint16_t)(VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED) : 0u;
}

/* Whether flags say "available in the lap of wrap": AVAIL == wrap, USED != wrap. */
static inline bool packed_is_avail(uint16_t flags, bool wrap)
{
	return (flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)) == packed_avail_bits(wrap);
}

/* An event suppression off_wrap: ring position and wrap counter. */
static inline uint16_t packed_off_wrap(uint16_t pos, bool wrap)
{
	return (uint16_t)(pos | (wrap ? 1u << EVENT_WRAP_SHIFT : 0u));
}

#endif /* VIRTQ_PACKED_LAYOUT_H */

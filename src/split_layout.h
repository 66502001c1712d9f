/* SPDX-License-Identifier: MIT */
/* Byte offsets inside the three parts of a split virtqueue (virtio 2.7). */
#ifndef VIRTQ_SPLIT_LAYOUT_H
#define VIRTQ_SPLIT_LAYOUT_H

#include <stdint.h>

/* struct virtq_avail { le16 flags; le16 idx; le16 ring[size]; le16 used_event; } */
#define AVAIL_FLAGS 0u
#define AVAIL_IDX 2u
static inline uint64_t avail_ring_off(uint32_t slot) { return 4u + 2u * (uint64_t)slot; }
static inline uint64_t used_event_off(uint32_t size) { return 4u + 2u * (uint64_t)size; }

/* struct virtq_used { le16 flags; le16 idx; struct { le32 id; le32 len; } ring[size];
 *                     le16 avail_event; } */
#define USED_FLAGS 0u
#define USED_IDX 2u
static inline uint64_t used_ring_off(uint32_t slot) { return 4u + 8u * (uint64_t)slot; }
static inline uint64_t avail_event_off(uint32_t size) { return 4u + 8u * (uint64_t)size; }

#endif /* VIRTQ_SPLIT_LAYOUT_H */

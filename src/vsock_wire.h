/* SPDX-License-Identifier: MIT */
/*
 * The vsock header's wire format (virtio 5.10.6), for the out-of-line codec
 * (vsock_hdr.c) and the TX parser's inline path (vsock.c). Guest memory has
 * no alignment guarantee and the host may be big-endian, so every field is
 * assembled one byte at a time instead of loading through a cast pointer.
 */
#ifndef VIRTQ_VSOCK_WIRE_H
#define VIRTQ_VSOCK_WIRE_H

#include "virtq/vsock.h"

enum vsock_hdr_offset {
	OFF_SRC_CID = 0,
	OFF_DST_CID = 8,
	OFF_SRC_PORT = 16,
	OFF_DST_PORT = 20,
	OFF_LEN = 24,
	OFF_TYPE = 28,
	OFF_OP = 30,
	OFF_FLAGS = 32,
	OFF_BUF_ALLOC = 36,
	OFF_FWD_CNT = 40,
};

_Static_assert(OFF_FWD_CNT + 4 == VIRTQ_VSOCK_HDR_SIZE, "fwd_cnt is the last header field");

/* Written out byte by byte: compilers merge each into one load (and a byte
 * swap on a big-endian host), which the loop form kept them from doing. */
static inline uint64_t load_le16(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8;
}

static inline uint64_t load_le32(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static inline uint64_t load_le64(const unsigned char *p)
{
	return load_le32(p) | load_le32(p + 4) << 32;
}

/* The header in raw (a copy out of guest memory), decoded into hdr. */
static inline void vsock_hdr_load(struct virtq_vsock_hdr *hdr,
				  const unsigned char raw[VIRTQ_VSOCK_HDR_SIZE])
{
	hdr->src_cid = load_le64(raw + OFF_SRC_CID);
	hdr->dst_cid = load_le64(raw + OFF_DST_CID);
	hdr->src_port = (uint32_t)load_le32(raw + OFF_SRC_PORT);
	hdr->dst_port = (uint32_t)load_le32(raw + OFF_DST_PORT);
	hdr->len = (uint32_t)load_le32(raw + OFF_LEN);
	hdr->type = (uint16_t)load_le16(raw + OFF_TYPE);
	hdr->op = (uint16_t)load_le16(raw + OFF_OP);
	hdr->flags = (uint32_t)load_le32(raw + OFF_FLAGS);
	hdr->buf_alloc = (uint32_t)load_le32(raw + OFF_BUF_ALLOC);
	hdr->fwd_cnt = (uint32_t)load_le32(raw + OFF_FWD_CNT);
}

#endif /* VIRTQ_VSOCK_WIRE_H */

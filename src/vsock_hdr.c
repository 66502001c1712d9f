/* SPDX-License-Identifier: MIT */
/* The vsock header's codec (virtio 5.10.6); the format is vsock_wire.h. */
#include "vsock_wire.h"

static void store_le(unsigned char *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

void virtq_vsock_hdr_decode(struct virtq_vsock_hdr *hdr,
			    const unsigned char raw[VIRTQ_VSOCK_HDR_SIZE])
{
	if (!hdr || !raw)
		return;
	vsock_hdr_load(hdr, raw);
}

void virtq_vsock_hdr_encode(const struct virtq_vsock_hdr *hdr,
			    unsigned char raw[VIRTQ_VSOCK_HDR_SIZE])
{
	if (!hdr || !raw)
		return;
	store_le(raw + OFF_SRC_CID, hdr->src_cid, 8);
	store_le(raw + OFF_DST_CID, hdr->dst_cid, 8);
	store_le(raw + OFF_SRC_PORT, hdr->src_port, 4);
	store_le(raw + OFF_DST_PORT, hdr->dst_port, 4);
	store_le(raw + OFF_LEN, hdr->len, 4);
	store_le(raw + OFF_TYPE, hdr->type, 2);
	store_le(raw + OFF_OP, hdr->op, 2);
	store_le(raw + OFF_FLAGS, hdr->flags, 4);
	store_le(raw + OFF_BUF_ALLOC, hdr->buf_alloc, 4);
	store_le(raw + OFF_FWD_CNT, hdr->fwd_cnt, 4);
}

/* SPDX-License-Identifier: MIT */
/* vsock packets over popped chains: TX parsing, RX writing, peer credit. */
#include <string.h>

#include "virtq/vsock.h"
#include "vsock_wire.h"

/* ---- TX: the guest sent it; nothing in it is trusted --------------------- */

/* A refused packet: its data cursor empty, its header as far as it was read
 * (hdr NULL: not read, all zero). The success path writes every field, so
 * only refusals pay for clearing. */
static int tx_refused(struct virtq_vsock_tx *pkt, const struct virtq_vsock_hdr *hdr, int err)
{
	static const struct virtq_vsock_tx empty;
	*pkt = empty;
	if (hdr)
		pkt->hdr = *hdr;
	return err;
}

int virtq_vsock_parse_tx(struct virtq_vsock_tx *pkt, const struct virtq_chain *c,
			 uint32_t max_pkt_len)
{
	if (!pkt || !c)
		return pkt ? tx_refused(pkt, NULL, -VIRTQ_EINVAL) : -VIRTQ_EINVAL;
	if (c->nseg != c->nread)
		return tx_refused(pkt, NULL, -VIRTQ_EBADDESC);

	struct virtq_cursor cur;
	struct virtq_vsock_hdr hdr;
	unsigned char raw[VIRTQ_VSOCK_HDR_SIZE];
	virtq_chain_reader(&cur, c);
	/* Copied out once: the guest may rewrite the header while we look at it.
	 * A header inside the first segment is two inline moves (chain.h). */
	if (virtq_chain_read(&cur, raw, sizeof(raw)) != (int64_t)sizeof(raw))
		return tx_refused(pkt, NULL, -VIRTQ_ESHORT);
	vsock_hdr_load(&hdr, raw);
	if (hdr.len > max_pkt_len)
		return tx_refused(pkt, &hdr, -VIRTQ_EMSGSIZE);
	pkt->hdr = hdr;
	/* The cursor compares len with the bytes left after the header by
	 * subtraction; header + len is never computed, so nothing can wrap. */
	int r = virtq_chain_limit(&cur, pkt->hdr.len);
	if (r < 0)
		return tx_refused(pkt, &hdr, r);
	pkt->data = cur;
	return 0;
}

int64_t virtq_vsock_tx_read(struct virtq_vsock_tx *pkt, void *dst, size_t len)
{
	return pkt ? virtq_chain_read(&pkt->data, dst, len) : -VIRTQ_EINVAL;
}

uint32_t virtq_vsock_tx_remaining(const struct virtq_vsock_tx *pkt)
{
	/* At most hdr.len, a u32: the cast cannot truncate. */
	return pkt ? (uint32_t)virtq_chain_remaining(&pkt->data) : 0;
}

int virtq_vsock_tx_segments(const struct virtq_vsock_tx *pkt, struct virtq_seg *out,
			    uint32_t cap)
{
	if (!pkt)
		return -VIRTQ_EINVAL;
	return virtq_chain_segments(&pkt->data, virtq_chain_remaining(&pkt->data), out, cap);
}

/* ---- RX: data first, header last, once its len is known ------------------- */

int virtq_vsock_parse_rx(struct virtq_vsock_rx *rx, const struct virtq_chain *c,
			 uint32_t max_pkt_len)
{
	if (rx)
		memset(rx, 0, sizeof(*rx));
	if (!rx || !c)
		return -VIRTQ_EINVAL;
	if (c->nread != 0)
		return -VIRTQ_EBADDESC;

	struct virtq_cursor cur;
	virtq_chain_writer(&cur, c);
	if (virtq_chain_skip(&cur, VIRTQ_VSOCK_HDR_SIZE) != VIRTQ_VSOCK_HDR_SIZE)
		return -VIRTQ_ESHORT;
	size_t room = virtq_chain_remaining(&cur);
	if (room > max_pkt_len)
		room = max_pkt_len;
	(void)virtq_chain_limit(&cur, room); /* room <= remaining: cannot fail */
	rx->chain = c;
	rx->data = cur;
	rx->room = (uint32_t)room;
	return 0;
}

int64_t virtq_vsock_rx_write(struct virtq_vsock_rx *rx, const void *src, size_t len)
{
	if (!rx)
		return -VIRTQ_EINVAL;
	rx->described = 0; /* the described segments may no longer start here */
	return virtq_chain_write(&rx->data, src, len);
}

uint32_t virtq_vsock_rx_room(const struct virtq_vsock_rx *rx)
{
	/* At most room, a u32: the cast cannot truncate. */
	return rx ? (uint32_t)virtq_chain_remaining(&rx->data) : 0;
}

int virtq_vsock_rx_segments(struct virtq_vsock_rx *rx, size_t len, struct virtq_seg *out,
			    uint32_t cap)
{
	if (!rx)
		return -VIRTQ_EINVAL;
	int n = virtq_chain_segments(&rx->data, len, out, cap);
	if (n >= 0)
		rx->described = len;
	return n;
}

int virtq_vsock_rx_commit(struct virtq_vsock_rx *rx, size_t n)
{
	/* described <= room left, so this also keeps commits inside the room. */
	if (!rx || n > rx->described)
		return -VIRTQ_EINVAL;
	rx->described -= n;
	(void)virtq_chain_skip(&rx->data, n);
	return 0;
}

int64_t virtq_vsock_rx_finish(struct virtq_vsock_rx *rx, struct virtq_vsock_hdr *hdr)
{
	if (!rx || !hdr)
		return -VIRTQ_EINVAL;
	struct virtq_cursor head;
	virtq_chain_writer(&head, rx->chain);
	if (virtq_chain_remaining(&head) < VIRTQ_VSOCK_HDR_SIZE)
		return -VIRTQ_EINVAL; /* never parsed, or the chain changed since */

	const uint32_t data_len = rx->room - virtq_vsock_rx_room(rx);
	struct virtq_vsock_hdr out = *hdr;
	unsigned char raw[VIRTQ_VSOCK_HDR_SIZE];
	out.len = data_len;
	virtq_vsock_hdr_encode(&out, raw);
	(void)virtq_chain_write(&head, raw, sizeof(raw));
	hdr->len = data_len;
	return (int64_t)VIRTQ_VSOCK_HDR_SIZE + data_len;
}

/* ---- credit ----------------------------------------------------------------- */

int virtq_vsock_peer_credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt,
			    uint32_t *free_bytes)
{
	if (!free_bytes)
		return -VIRTQ_EINVAL;
	/* Both counters run freely and wrap (5.10.6.3): only their difference
	 * modulo 2^32 means anything. */
	const uint32_t in_flight = (uint32_t)(tx_cnt - fwd_cnt);
	if (in_flight > buf_alloc) {
		*free_bytes = 0;
		return -VIRTQ_EOVERFLOW;
	}
	*free_bytes = buf_alloc - in_flight;
	return 0;
}

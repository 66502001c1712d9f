/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock packets over popped chains (virtio 1.2, 5.10 "Socket Device").
 *
 * A packet is a 44-byte little-endian header followed by `len` bytes of data.
 * Header and data may be split across any number of descriptors, anywhere.
 * The header is copied out of guest memory once; its `len` is never trusted:
 * it is checked against the caller's maximum packet size and against what
 * the descriptors really provide, without arithmetic that can overflow.
 *
 * Parsing never breaks the queue: a bad packet is the device's to handle
 * (typically: reset the connection, return the chain with length 0).
 *
 * Credit fields (buf_alloc, fwd_cnt) are parsed, not trusted: the device must
 * check them before acting on them; virtq_vsock_peer_credit() does the
 * computation without underflow.
 */
#ifndef VIRTQ_VSOCK_H
#define VIRTQ_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/chain.h"
#include "virtq/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTQ_VSOCK_HDR_SIZE 44u
/* Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE: a sensible max_pkt_len. */
#define VIRTQ_VSOCK_DEFAULT_MAX_PKT 65536u

/* type */
#define VIRTQ_VSOCK_TYPE_STREAM 1u
#define VIRTQ_VSOCK_TYPE_SEQPACKET 2u
/* op */
#define VIRTQ_VSOCK_OP_INVALID 0u
#define VIRTQ_VSOCK_OP_REQUEST 1u
#define VIRTQ_VSOCK_OP_RESPONSE 2u
#define VIRTQ_VSOCK_OP_RST 3u
#define VIRTQ_VSOCK_OP_SHUTDOWN 4u
#define VIRTQ_VSOCK_OP_RW 5u
#define VIRTQ_VSOCK_OP_CREDIT_UPDATE 6u
#define VIRTQ_VSOCK_OP_CREDIT_REQUEST 7u
/* flags of OP_SHUTDOWN */
#define VIRTQ_VSOCK_SHUTDOWN_RCV 1u
#define VIRTQ_VSOCK_SHUTDOWN_SEND 2u
/* flags of OP_RW on a SEQPACKET socket */
#define VIRTQ_VSOCK_SEQ_EOM 1u
#define VIRTQ_VSOCK_SEQ_EOR 2u

/* The header as host-order fields; byte offsets in guest memory in comments. */
struct virtq_vsock_hdr {
	uint64_t src_cid;   /* @0 */
	uint64_t dst_cid;   /* @8 */
	uint32_t src_port;  /* @16 */
	uint32_t dst_port;  /* @20 */
	uint32_t len;       /* @24: data bytes after the header */
	uint16_t type;      /* @28 */
	uint16_t op;        /* @30 */
	uint32_t flags;     /* @32 */
	uint32_t buf_alloc; /* @36 */
	uint32_t fwd_cnt;   /* @40 */
};

/* Byte-wise little-endian conversion: no unaligned or type-punned access, so
 * raw may sit at any address. Either pointer NULL: nothing happens. */
VIRTQ_API void virtq_vsock_hdr_decode(struct virtq_vsock_hdr *hdr,
				      const unsigned char raw[VIRTQ_VSOCK_HDR_SIZE]);
VIRTQ_API void virtq_vsock_hdr_encode(const struct virtq_vsock_hdr *hdr,
				      unsigned char raw[VIRTQ_VSOCK_HDR_SIZE]);

/* A packet the guest sent (TX queue): header copied out, data left in place. */
struct virtq_vsock_tx {
	struct virtq_vsock_hdr hdr;
	struct virtq_cursor data; /* exactly hdr.len bytes, after the header */
};

/*
 * Parses a TX chain. Returns 0, or (checked in this order):
 *   -VIRTQ_EINVAL   NULL arguments
 *   -VIRTQ_EBADDESC the chain has writable segments (TX is device-read-only)
 *   -VIRTQ_ESHORT   fewer than 44 readable bytes
 *   -VIRTQ_EMSGSIZE hdr.len > max_pkt_len
 *   -VIRTQ_ESHORT   hdr.len more than the readable bytes after the header
 * Readable bytes past header + len are ignored. hdr.len 0 is valid (control
 * packets). The chain must outlive pkt.
 * On error pkt->data is empty, and pkt->hdr is the header when all 44 bytes
 * were read (-VIRTQ_EMSGSIZE, or -VIRTQ_ESHORT for hdr.len), so the device
 * can answer with a reset to its sender; otherwise pkt->hdr is all zero.
 */
VIRTQ_API int virtq_vsock_parse_tx(struct virtq_vsock_tx *pkt, const struct virtq_chain *c,
				   uint32_t max_pkt_len);

/* Copies up to len data bytes out and advances; returns bytes copied, or
 * -VIRTQ_EINVAL for a NULL pkt, or a NULL dst with len > 0. */
VIRTQ_API int64_t virtq_vsock_tx_read(struct virtq_vsock_tx *pkt, void *dst, size_t len);

/* Data bytes not yet read; 0 for NULL. */
VIRTQ_API uint32_t virtq_vsock_tx_remaining(const struct virtq_vsock_tx *pkt);

/* The unread data as segments (zero-copy writev), without advancing. Returns
 * the number of segments, -VIRTQ_ENOSPC if more than cap are needed,
 * -VIRTQ_EINVAL for NULL pkt, or NULL out with cap > 0. */
VIRTQ_API int virtq_vsock_tx_segments(const struct virtq_vsock_tx *pkt, struct virtq_seg *out,
				      uint32_t cap);

/* A packet the device is writing for the guest (RX queue). */
struct virtq_vsock_rx {
	const struct virtq_chain *chain;
	struct virtq_cursor data; /* after the header, at most room bytes */
	uint32_t room;            /* data bytes the packet may carry in all */
	size_t described;         /* bytes virtq_vsock_rx_commit() may still take */
};

/*
 * Prepares an RX chain for writing; nothing is written to the guest yet.
 * Returns 0, or:
 *   -VIRTQ_EINVAL   NULL arguments
 *   -VIRTQ_EBADDESC the chain has readable segments (RX is device-write-only)
 *   -VIRTQ_ESHORT   fewer than 44 writable bytes
 * The data room is min(writable bytes - 44, max_pkt_len): the maximum packet
 * size holds on RX too. The chain must outlive rx and not change meanwhile.
 * On error rx has no room and finishing it fails.
 */
VIRTQ_API int virtq_vsock_parse_rx(struct virtq_vsock_rx *rx, const struct virtq_chain *c,
				   uint32_t max_pkt_len);

/* Appends up to len data bytes; returns bytes written (short when full), or
 * -VIRTQ_EINVAL for a NULL rx, or a NULL src with len > 0. Every call on an
 * rx ends the description of virtq_vsock_rx_segments(). */
VIRTQ_API int64_t virtq_vsock_rx_write(struct virtq_vsock_rx *rx, const void *src, size_t len);

/* Data bytes that still fit; 0 for NULL. */
VIRTQ_API uint32_t virtq_vsock_rx_room(const struct virtq_vsock_rx *rx);

/*
 * Zero-copy: the next len bytes of data room as segments (for readv), then
 * virtq_vsock_rx_commit(rx, n) once the first n of them were filled.
 * rx_segments returns the number of segments, -VIRTQ_ESHORT if len is more
 * than the room left, -VIRTQ_ENOSPC if more than cap segments are needed,
 * -VIRTQ_EINVAL for NULL rx, or NULL out with cap > 0; a failed call changes
 * nothing. With a dirty log on (log.h) rx_commit logs the n bytes (-VIRTQ_ENOSPC
 * if beyond the log, committed all the same). rx_commit returns 0, or -VIRTQ_EINVAL (nothing committed) for a
 * NULL rx or an n larger than what the last successful rx_segments()
 * described and is not committed yet: only described bytes, all inside the
 * room, can count as data. Committing in parts is allowed;
 * virtq_vsock_rx_write() ends a description.
 */
VIRTQ_API int virtq_vsock_rx_segments(struct virtq_vsock_rx *rx, size_t len,
				      struct virtq_seg *out, uint32_t cap);
VIRTQ_API int virtq_vsock_rx_commit(struct virtq_vsock_rx *rx, size_t n);

/*
 * Writes the header with hdr->len set to the data bytes written (the caller's
 * hdr->len is ignored and updated). Returns the total bytes written into the
 * chain (44 + data), ready for virtq_add_used(), or -VIRTQ_EINVAL (nothing
 * written) for NULL arguments, an rx that was not successfully parsed, or a
 * chain left with fewer than 44 writable bytes since.
 */
VIRTQ_API int64_t virtq_vsock_rx_finish(struct virtq_vsock_rx *rx, struct virtq_vsock_hdr *hdr);

/*
 * Credit (virtio 5.10.6.3): how many bytes we may still send to a peer that
 * announced buf_alloc and fwd_cnt, given tx_cnt bytes sent so far (u32
 * counters that wrap). In flight is tx_cnt - fwd_cnt modulo 2^32, and
 * *free_bytes = buf_alloc - in flight. If that claims more in flight than
 * buf_alloc (buf_alloc shrunk, or fwd_cnt ahead of tx_cnt, which wraps to a
 * huge in-flight count), *free_bytes = 0 and -VIRTQ_EOVERFLOW says the peer
 * is inconsistent. Returns 0 otherwise; -VIRTQ_EINVAL for NULL free_bytes.
 */
VIRTQ_API int virtq_vsock_peer_credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt,
				      uint32_t *free_bytes);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_VSOCK_H */

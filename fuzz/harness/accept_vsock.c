/* SPDX-License-Identifier: MIT */
/*
 * Whether the vsock parsers must accept a chain, from vsock.h and virtio 1.2
 * 5.10.6: a TX packet is a 44-byte header (len at byte 24, little-endian)
 * and then len data bytes, all device-readable; an RX buffer is
 * device-writable only, with room for at least the header.
 */
#include <virtq/virtq.h>

#include "accept.h"

#define HEADER_BYTES 44u
#define LEN_AT 24u

int accept_vsock_tx(const unsigned char *readable, uint64_t read_len, uint32_t nwritable,
		    uint32_t max_pkt, uint32_t *len)
{
	*len = 0;
	if (nwritable)
		return -VIRTQ_EBADDESC;
	if (read_len < HEADER_BYTES)
		return -VIRTQ_ESHORT;
	*len = (uint32_t)accept_le(readable + LEN_AT, 4);
	if (*len > max_pkt)
		return -VIRTQ_EMSGSIZE;
	/* read_len >= 44 here: the data after the header are read_len - 44 bytes */
	if (*len > read_len - HEADER_BYTES)
		return -VIRTQ_ESHORT;
	return 0;
}

int accept_vsock_rx(uint32_t nreadable, uint64_t write_len, uint32_t max_pkt, uint64_t *room)
{
	*room = 0;
	if (nreadable)
		return -VIRTQ_EBADDESC;
	if (write_len < HEADER_BYTES)
		return -VIRTQ_ESHORT;
	*room = write_len - HEADER_BYTES < max_pkt ? write_len - HEADER_BYTES : max_pkt;
	return 0;
}

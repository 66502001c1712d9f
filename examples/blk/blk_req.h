/* SPDX-License-Identifier: MIT */
/*
 * A virtio-blk request (virtio 1.2, 5.2.6) read from a popped chain, and
 * every rule it must follow before the device touches the image:
 *
 *   header   16 bytes, readable, at the start of the chain   else IOERR
 *   status   the chain's last byte, writable                  else no status:
 *            (a chain without one is completed with length 0, nothing written)
 *   type     IN, OUT, FLUSH, GET_ID; DISCARD and WRITE_ZEROES when offered
 *                                                              else UNSUPP
 *   IN       readable part exactly the header; data writable,
 *            a multiple of 512 bytes                           else IOERR
 *   OUT      writable part exactly the status byte; data
 *            readable, a multiple of 512 bytes, image writable else IOERR
 *   range    sector + data sectors <= capacity (no overflow)   else IOERR
 *   segments at most seg_max data segments, each at most
 *            size_max bytes                                    else IOERR
 *   DISCARD / WRITE_ZEROES: 16-byte ranges (le64 sector, le32 num_sectors,
 *            le32 flags), at most max_seg of them, each within the
 *            capacity and at most max_sectors; reserved flags 0, unmap only
 *            for WRITE_ZEROES                                  else UNSUPP/IOERR
 *
 * Everything here reads guest memory: the header and ranges are copied once
 * (virtq_chain_read) and used from the copy. Nothing is written except the
 * caller's struct.
 */
#ifndef BLK_REQ_H
#define BLK_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtq/chain.h>

#define BLK_SECTOR 512u
#define BLK_ID_BYTES 20u

/* Request types and status values (virtio 1.2, 5.2.6). */
#define BLK_T_IN 0u
#define BLK_T_OUT 1u
#define BLK_T_FLUSH 4u
#define BLK_T_GET_ID 8u
#define BLK_T_DISCARD 11u
#define BLK_T_WRITE_ZEROES 13u
#define BLK_S_OK 0u
#define BLK_S_IOERR 1u
#define BLK_S_UNSUPP 2u
#define BLK_WZ_F_UNMAP 1u

/* What the device offers and enforces. */
struct blk_limits {
	uint64_t capacity;          /* in 512-byte sectors */
	uint32_t seg_max;           /* data segments per request */
	uint32_t size_max;          /* bytes per data segment */
	bool read_only;
	bool discard, write_zeroes; /* offered */
	uint32_t max_discard_sectors, max_discard_seg;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
};

/* One DISCARD / WRITE_ZEROES range. */
struct blk_range {
	uint64_t sector;
	uint32_t sectors;
	uint32_t flags;
};

#define BLK_MAX_RANGES 32u

struct blk_req {
	uint32_t type;
	uint64_t sector;
	unsigned char *status;  /* the status byte in guest memory; NULL: none */
	uint32_t data_len;      /* bytes of data (IN, OUT, GET_ID room) */
	unsigned ndata;         /* data segments in data[] */
	struct blk_range range[BLK_MAX_RANGES];
	unsigned nrange;
	const char *why;        /* the broken rule, for the log */
};

/*
 * Reads the request in c. data[] (cap entries) receives the data segments
 * (IN: where to read into, OUT: what to write, GET_ID: where the ID goes).
 * Returns BLK_S_OK when the request may be executed, else the status to
 * answer with (BLK_S_IOERR, BLK_S_UNSUPP) and r->why; r->status is NULL when
 * the chain has no writable last byte, and then nothing may be written.
 */
unsigned blk_req_parse(struct blk_req *r, const struct virtq_chain *c,
		       const struct blk_limits *l, struct virtq_seg *data, unsigned cap);

/* The status byte's position is the chain's last writable byte. */
#endif

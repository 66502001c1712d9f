/* SPDX-License-Identifier: MIT */
/*
 * The disk image behind the device: a regular file or a block device, opened
 * once, read-only when asked (an image that cannot be opened for writing is
 * an error, never a silent read-only device). Synchronous I/O straight
 * between the image and guest memory: preadv/pwritev over the request's
 * segments (zero copy), fdatasync for FLUSH, fallocate for DISCARD (punch a
 * hole) and WRITE_ZEROES. Why synchronous rather than io_uring: README,
 * "A block device".
 */
#ifndef BLK_IMAGE_H
#define BLK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <virtq/mem.h>

#include "blk_req.h"

struct blk_image {
	int fd;
	uint64_t sectors; /* the capacity: the size rounded down to 512 bytes */
	bool read_only;
	char id[BLK_ID_BYTES]; /* GET_ID: the serial, zero-padded */
};

/* Opens path. Returns 0 or -errno (-EINVAL: smaller than one sector). */
int blk_image_open(struct blk_image *img, const char *path, bool read_only, const char *serial);
void blk_image_close(struct blk_image *img);

/* Executes a parsed request (blk_req_parse returned BLK_S_OK) on data[].
 * Returns the status: BLK_S_OK or BLK_S_IOERR. *written: bytes written into
 * guest memory (IN, GET_ID). */
unsigned blk_image_execute(struct blk_image *img, const struct blk_req *r,
			   const struct virtq_seg *data, uint32_t *written);

#endif

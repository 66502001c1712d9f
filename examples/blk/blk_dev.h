/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device (virtio 1.2, 5.2) on 1 to VU_MAX_QUEUES request
 * queues given by ../vhost-user/: each kick pops the queue's chains in
 * bounded batches, checks each request (blk_req.c), executes it on the image
 * (blk_image.c) and answers with its status byte.
 *
 * A malformed request never stops the device: it is answered with
 * VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP (or, without a writable status
 * byte, completed with length 0) and the next one is served. A chain with
 * more segments than seg_max + 2 is refused by virtq_pop() with
 * -VIRTQ_ENOSPC and completed empty with virtq_discard(). Only a malformed
 * ring (virtq_pop's other errors) stops its queue, until the front-end
 * restarts it.
 */
#ifndef BLK_DEV_H
#define BLK_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "blk_image.h"
#include "blk_req.h"
#include "vhost_user.h"

#define BLK_MAX_SEG_MAX 1024u
#define BLK_CONFIG_BYTES 72u /* struct virtio_blk_config up to secure erase */

struct blk_dev {
	struct vu_dev vu;
	struct blk_image *img;
	struct blk_limits lim;
	unsigned char config[BLK_CONFIG_BYTES];
	struct virtq_seg chain_segs[BLK_MAX_SEG_MAX + 2]; /* header, data, status */
	struct virtq_seg data[BLK_MAX_SEG_MAX];
	bool more[VU_MAX_QUEUES];      /* work left after a bounded batch */
	unsigned bad_logged;           /* malformed requests logged (bounded) */
	uint64_t requests, bad_requests;
};

struct blk_dev_options {
	unsigned num_queues; /* 1 to VU_MAX_QUEUES */
	uint32_t seg_max;    /* 1 to BLK_MAX_SEG_MAX */
	uint32_t size_max;   /* bytes, at least 512 */
};

void blk_dev_init(struct blk_dev *d, struct ev_loop *loop, struct blk_image *img,
		  const struct blk_dev_options *o);
void blk_dev_close(struct blk_dev *d);
/* Work left over from a bounded batch: call blk_dev_continue() soon. */
bool blk_dev_busy(const struct blk_dev *d);
void blk_dev_continue(struct blk_dev *d);

#endif

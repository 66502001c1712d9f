/* SPDX-License-Identifier: MIT */
/* The virtio-blk device (see blk_dev.h). */
#define _GNU_SOURCE
#include "blk_dev.h"

#include <string.h>

#include <virtq/virtq.h>

#include "log.h"

#define BATCH 256u
#define BAD_LOG_MAX 20u

/* Feature bits (virtio 1.2, 5.2.3). */
#define BLK_F_SIZE_MAX 1
#define BLK_F_SEG_MAX 2
#define BLK_F_RO 5
#define BLK_F_FLUSH 9
#define BLK_F_MQ 12
#define BLK_F_DISCARD 13
#define BLK_F_WRITE_ZEROES 14

#define MAX_RANGE_SECTORS (1u << 22)

static struct blk_dev *dev_of(struct vu_dev *vu)
{
	return vu->opaque;
}

static void bad_request(struct blk_dev *d, unsigned idx, const char *why)
{
	d->bad_requests++;
	if (d->bad_logged < BAD_LOG_MAX) {
		d->bad_logged++;
		log_info("queue %u: bad request: %s%s", idx, why,
			 d->bad_logged == BAD_LOG_MAX ? "; not logging more of these" : "");
	}
}

/* One request: checked, executed, answered. Returns the used length. */
static uint32_t serve(struct blk_dev *d, unsigned idx, const struct virtq_chain *c)
{
	struct blk_req r;
	uint32_t written = 0;
	unsigned status = blk_req_parse(&r, c, &d->lim, d->data, d->lim.seg_max);
	d->requests++;
	if (!r.status) {
		bad_request(d, idx, r.why); /* nowhere to put a status: nothing written */
		return 0;
	}
	if (status == BLK_S_OK)
		status = blk_image_execute(d->img, &r, d->data, &written);
	else
		bad_request(d, idx, r.why);
	*r.status = (unsigned char)status;
	/* IN data and the status byte went into guest memory with preadv and a
	 * plain store: the whole writable part is logged (a failed IN may have
	 * filled part of it; logging more pages than written is harmless) */
	vu_dirty_log_written(&d->vu, c, c->write_len);
	return written + 1;
}

static void process(struct blk_dev *d, unsigned idx)
{
	struct vu_vring *v = &d->vu.vring[idx];
	if (!vu_dev_connected(&d->vu) || !v->started)
		return;
	struct virtq *q = &v->q;
	struct virtq_chain chain;
	unsigned done = 0;
	int r = 0;
	d->more[idx] = false;
	virtq_chain_init(&chain, d->chain_segs, d->lim.seg_max + 2);
	for (;;) {
		(void)virtq_disable_notify(q);
		while (done < BATCH && (r = virtq_pop(q, &chain)) == 1) {
			(void)virtq_add_used(q, chain.id, serve(d, idx, &chain));
			done++;
		}
		if (r == -VIRTQ_ENOSPC && virtq_discard(q, &chain) == 1) {
			bad_request(d, idx, "more segments than seg_max: completed empty");
			done++;
			r = 0;
		}
		if (virtq_publish_used(q) > 0 && virtq_needs_notify(q) == 1)
			vu_vring_notify(&d->vu, idx);
		if (r < 0) {
			if (r != -VIRTQ_EBROKEN)
				log_info("queue %u: %s: stopped until the front-end restarts it", idx,
					 virtq_strerror(r));
			return;
		}
		if (done >= BATCH) {
			d->more[idx] = true;
			return;
		}
		if (virtq_enable_notify(q) != 1)
			return;
	}
}

/* Requests a dead back-end process had in flight are served again: reads
 * and writes are idempotent, FLUSH too. Each is completed exactly once. */
static void resubmit_in_flight(struct blk_dev *d, unsigned idx)
{
	struct virtq *q = &d->vu.vring[idx].q;
	static uint16_t heads[VU_MAX_QUEUE_SIZE];
	int n = virtq_in_flight_list(q, heads, VU_MAX_QUEUE_SIZE);
	if (n <= 0)
		return;
	struct virtq_chain chain;
	virtq_chain_init(&chain, d->chain_segs, d->lim.seg_max + 2);
	for (int i = 0; i < n; i++) {
		uint32_t len = 0;
		if (virtq_resubmit(q, heads[i], &chain) == 1)
			len = serve(d, idx, &chain);
		(void)virtq_add_used(q, heads[i], len);
	}
	log_info("queue %u: %d requests in flight before the restart served again", idx, n);
	if (virtq_publish_used(q) > 0 && virtq_needs_notify(q) == 1)
		vu_vring_notify(&d->vu, idx);
}

static void ring_started(struct vu_dev *vu, unsigned idx)
{
	resubmit_in_flight(dev_of(vu), idx);
}

static void ring_stopped(struct vu_dev *vu, unsigned idx)
{
	dev_of(vu)->more[idx] = false;
}

static void ring_kicked(struct vu_dev *vu, unsigned idx)
{
	process(dev_of(vu), idx);
}

static const void *config(struct vu_dev *vu, uint32_t *len)
{
	*len = sizeof(dev_of(vu)->config);
	return dev_of(vu)->config;
}

static const struct vu_dev_ops blk_ops = {
	.ring_started = ring_started,
	.ring_stopped = ring_stopped,
	.ring_kicked = ring_kicked,
	.config = config,
};

static void put_le(unsigned char *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* struct virtio_blk_config (virtio 1.2, 5.2.4), little-endian. */
static void fill_config(struct blk_dev *d, unsigned num_queues)
{
	unsigned char *c = d->config;
	memset(c, 0, sizeof(d->config));
	put_le(c + 0, d->lim.capacity, 8);
	put_le(c + 8, d->lim.size_max, 4);
	put_le(c + 12, d->lim.seg_max, 4);
	put_le(c + 34, num_queues, 2);
	put_le(c + 36, d->lim.max_discard_sectors, 4);
	put_le(c + 40, d->lim.max_discard_seg, 4);
	put_le(c + 44, 1, 4); /* discard_sector_alignment */
	put_le(c + 48, d->lim.max_write_zeroes_sectors, 4);
	put_le(c + 52, d->lim.max_write_zeroes_seg, 4);
	c[56] = 1; /* write_zeroes_may_unmap */
}

void blk_dev_init(struct blk_dev *d, struct ev_loop *loop, struct blk_image *img,
		  const struct blk_dev_options *o)
{
	memset(d, 0, sizeof(*d));
	d->img = img;
	bool rw = !img->read_only;
	d->lim = (struct blk_limits){
		.capacity = img->sectors, .seg_max = o->seg_max, .size_max = o->size_max,
		.read_only = img->read_only, .discard = rw, .write_zeroes = rw,
		.max_discard_sectors = MAX_RANGE_SECTORS, .max_discard_seg = BLK_MAX_RANGES,
		.max_write_zeroes_sectors = MAX_RANGE_SECTORS, .max_write_zeroes_seg = BLK_MAX_RANGES,
	};
	fill_config(d, o->num_queues);
	uint64_t features = VIRTQ_FEATURE(BLK_F_SIZE_MAX) | VIRTQ_FEATURE(BLK_F_SEG_MAX) |
			    VIRTQ_FEATURE(BLK_F_FLUSH) | VIRTQ_FEATURE(BLK_F_MQ) |
			    /* virtq runs either layout; QEMU offers it with packed=on */
			    VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	if (rw)
		features |= VIRTQ_FEATURE(BLK_F_DISCARD) | VIRTQ_FEATURE(BLK_F_WRITE_ZEROES);
	else
		features |= VIRTQ_FEATURE(BLK_F_RO);
	const struct vu_dev_desc desc = {
		.ops = &blk_ops, .opaque = d, .num_queues = o->num_queues, .features = features,
		.protocol_features = VIRTQ_FEATURE(VU_PROTOCOL_F_MQ) |
				     VIRTQ_FEATURE(VU_PROTOCOL_F_INFLIGHT_SHMFD),
	};
	vu_dev_init(&d->vu, loop, &desc);
}

void blk_dev_close(struct blk_dev *d)
{
	if (vu_dev_connected(&d->vu))
		vu_dev_detach(&d->vu);
}

bool blk_dev_busy(const struct blk_dev *d)
{
	for (unsigned i = 0; i < d->vu.num_queues; i++)
		if (d->more[i])
			return true;
	return false;
}

void blk_dev_continue(struct blk_dev *d)
{
	for (unsigned i = 0; i < d->vu.num_queues; i++)
		if (d->more[i])
			process(d, i);
}

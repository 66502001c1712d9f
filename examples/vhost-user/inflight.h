/* SPDX-License-Identifier: MIT */
/*
 * Inflight I/O tracking in shared memory (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD,
 * QEMU docs/interop/vhost-user.rst "Inflight I/O tracking"), so that a
 * back-end killed with requests in flight can be restarted and finish them.
 *
 * GET_INFLIGHT_FD: the front-end gives the number of queues and the queue
 * size; we create a zeroed memfd with one area per queue, each virtq's
 * in-flight area (include/virtq/inflight.h, vhost-user's split layout)
 * then the queue's descriptor journal (vhost-user's packed layout, used
 * when the ring is packed: the features are not known yet), each rounded
 * up to 64 bytes, and send it back. The front-end keeps the fd
 * across our restarts and hands it to the next back-end process with
 * SET_INFLIGHT_FD before the rings start; every ring then keeps its in-flight
 * record in its area there, and starts with virtq_resume(), which resubmits
 * what the dead process had in flight (the device is told in ring_started).
 *
 * The region's size, offset and geometry come from the front-end: checked
 * against the file's size and the queue limits, refused (not a protocol
 * error) when they do not fit. Without SET_INFLIGHT_FD each ring keeps its
 * record in the process (vu_vring.inflight), which survives ring restarts
 * but not the process.
 */
#ifndef VU_INFLIGHT_H
#define VU_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"

#define VU_PROTOCOL_F_INFLIGHT_SHMFD 12
/* The queue areas' alignment in the region. */
#define VU_INFLIGHT_AREA_ALIGN 64u

struct vu_dev;

/* The shared region in use (SET_INFLIGHT_FD), map == NULL when none. */
struct vu_inflight {
	void *map;
	size_t map_len;       /* offset + size, as mapped */
	size_t offset;        /* of the first queue's area in the mapping */
	uint16_t num_queues;  /* areas in the region */
	uint16_t queue_size;  /* each area holds this many heads */
};

/* Bytes of one queue's area in the region. */
size_t vu_inflight_area_bytes(uint16_t queue_size);

void vu_inflight_init(struct vu_inflight *f);
/* Unmaps the region; the rings go back to their own areas. Only while every
 * ring is stopped. */
void vu_inflight_clear(struct vu_dev *d);

/* GET_INFLIGHT_FD and SET_INFLIGHT_FD: 0, 1 (refused) or -errno. */
int vu_inflight_on_get(struct vu_dev *d, const struct vu_msg *m);
int vu_inflight_on_set(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds);

/* Attaches ring idx's in-flight area (shared if there is a region, its own
 * otherwise) to its queue, which is inactive. Returns 0 or a negative
 * VIRTQ_E* code (a ring larger than the region's queue size). */
int vu_inflight_attach(struct vu_dev *d, unsigned idx);
/* Whether ring idx's record lives in the shared region. */
bool vu_inflight_shared(const struct vu_dev *d, unsigned idx);

#endif

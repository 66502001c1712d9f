/* SPDX-License-Identifier: MIT */
/*
 * One vring of a vhost-user device: what the front-end configures with the
 * SET_VRING_* messages (size, addresses, base index, kick/call/err eventfds,
 * enable), and the struct virtq on the memory table that runs it once all of
 * that is known. A ring stops on GET_VRING_BASE, on a new kick fd, on reset
 * and when the connection ends; it starts again where it stopped.
 *
 * The ring index of every message is checked against the device's number of
 * queues (a protocol error otherwise); values that are merely unacceptable
 * (a size that is not a power of two, a change while running) are refused.
 */
#ifndef VU_VRING_H
#define VU_VRING_H

#include <stdbool.h>
#include <stdint.h>

#include <virtq/inflight.h>
#include <virtq/queue.h>

#include "loop.h"
#include "message.h"

#define VU_MAX_QUEUE_SIZE 1024u

struct vu_dev;

struct vu_vring {
	struct vu_dev *dev;
	unsigned idx;
	struct virtq q;           /* on dev->mem.mem; active while started */
	/* q's in-flight record; it outlives stops, so a ring restarted at a
	 * non-zero base knows its chains in flight */
	_Alignas(VIRTQ_INFLIGHT_ALIGN) unsigned char inflight[VIRTQ_INFLIGHT_BYTES(VU_MAX_QUEUE_SIZE)];
	/* ... and its descriptor journal, for a packed ring (split ignores it) */
	_Alignas(VIRTQ_INFLIGHT_ALIGN) unsigned char journal[VIRTQ_JOURNAL_BYTES(VU_MAX_QUEUE_SIZE)];
	uint32_t num;             /* SET_VRING_NUM */
	uint64_t desc_uva, avail_uva, used_uva;
	bool addr_set;
	/* SET_VRING_BASE, or where the ring stopped. Split: the next avail
	 * index (16 bits). Packed: vhost-user's 32-bit form, positions and
	 * wrap counters (VIRTQ_PACKED_BASE, <virtq/inflight.h>). */
	uint32_t base;
	bool base_set;            /* false: the ring starts fresh */
	/* GET_VRING_BASE answered on this connection, with reported_base: a
	 * SET_VRING_BASE after it that differs moves the ring on purpose */
	bool reported;
	uint32_t reported_base;
	bool enabled;             /* SET_VRING_ENABLE, or implied */
	bool started;             /* virtq active, kicks watched */
	int call_fd, err_fd;
	struct ev_handler kick;   /* kick eventfd; kick.fd == -1 when unset */
	int kick_fd;              /* owned; watched while started */
};

/* Ring idx of d, stopped and unconfigured. */
void vu_vring_init(struct vu_dev *d, unsigned idx);
/* Starts ring idx once it has everything: memory, addresses, a kick fd and
 * the enabled state. */
void vu_vring_try_start(struct vu_dev *d, unsigned idx);
/* Stops ring idx, remembering where it stopped (the next base): the avail
 * index (split) or the packed base. */
void vu_vring_stop(struct vu_dev *d, unsigned idx);
/* Whether the front-end negotiated the packed layout (VIRTIO_F_RING_PACKED). */
bool vu_vring_packed(const struct vu_dev *d);
/* For a change of the memory table: stops running packed ring idx without
 * telling the device (its connections, its state stay) if nothing is in
 * flight, remembering its base; vu_vring_try_start() resumes it there.
 * Returns false (nothing done) for a split ring, a ring not running, or
 * one with chains in flight. */
bool vu_vring_park_packed(struct vu_dev *d, unsigned idx);
/* Stops ring idx and forgets its configuration (a fresh connection). */
void vu_vring_reset(struct vu_dev *d, unsigned idx);
/* Signals the driver that used buffers of ring idx are ready (call eventfd). */
void vu_vring_notify(struct vu_dev *d, unsigned idx);

/* The SET_VRING_* / GET_VRING_BASE messages. Each returns 0 (done), 1
 * (refused) or a negative errno (protocol error); a kept fd's slot becomes -1. */
int vu_vring_on_num(struct vu_dev *d, const struct vu_msg *m);
int vu_vring_on_addr(struct vu_dev *d, const struct vu_msg *m);
int vu_vring_on_base(struct vu_dev *d, const struct vu_msg *m);
int vu_vring_on_get_base(struct vu_dev *d, const struct vu_msg *m);
int vu_vring_on_fd(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds);
int vu_vring_on_enable(struct vu_dev *d, const struct vu_msg *m);

#endif

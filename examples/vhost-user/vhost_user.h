/* SPDX-License-Identifier: MIT */
/*
 * The back-end side of the vhost-user protocol (QEMU docs/interop/vhost-user)
 * for one front-end connection: feature negotiation, the memory table, the
 * device's configuration space, and the dispatch of every message to the
 * file that owns its concept (vring.c, memtable.c, inflight.c, dirty_log.c).
 *
 * Everything read from the socket is untrusted: sizes are checked against the
 * request's payload, indices against the number of queues, file descriptors
 * counted and closed when not kept. A protocol error ends the connection;
 * it never ends the process.
 *
 * The device (vsock_dev.c, blk_dev.c) describes itself with a struct
 * vu_dev_desc and is told when a ring starts, stops or is kicked.
 */
#ifndef VU_VHOST_USER_H
#define VU_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "inflight.h"
#include "loop.h"
#include "memtable.h"
#include "vring.h"

/* Feature bits (virtio and vhost-user). */
#define VU_F_PROTOCOL_FEATURES 30  /* VHOST_USER_F_PROTOCOL_FEATURES */
#define VU_F_VERSION_1 32
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_CONFIG 9

/* The most queues a device may have. */
#define VU_MAX_QUEUES 8u

struct vu_dev;

/* What the device learns from the protocol. */
struct vu_dev_ops {
	/* The ring runs. If it resumed with chains in flight (virtq_resume:
	 * a restart), virtq_in_flight_list() names them: the device redoes
	 * each (virtq_resubmit) and completes it. */
	void (*ring_started)(struct vu_dev *d, unsigned idx);
	void (*ring_stopped)(struct vu_dev *d, unsigned idx); /* before its queue resets */
	void (*ring_kicked)(struct vu_dev *d, unsigned idx);
	/* Device configuration space (GET_CONFIG). */
	const void *(*config)(struct vu_dev *d, uint32_t *len);
};

/* What a device is. */
struct vu_dev_desc {
	const struct vu_dev_ops *ops;
	void *opaque;               /* the device's state, vu_dev.opaque */
	uint64_t features;          /* device feature bits offered besides the
				       transport's (VERSION_1, INDIRECT_DESC, EVENT_IDX) */
	uint64_t protocol_features; /* offered besides REPLY_ACK and CONFIG, e.g.
				       INFLIGHT_SHMFD if ring_started resubmits */
	unsigned num_queues;        /* 1 to VU_MAX_QUEUES */
};

struct vu_dev {
	struct ev_loop *loop;
	struct ev_handler sock; /* the front-end connection; fd -1 when none */
	const struct vu_dev_ops *ops;
	void *opaque;           /* the device's state */
	unsigned num_queues;
	uint64_t offered_features;
	uint64_t features;      /* acked by SET_FEATURES */
	bool features_set;
	uint64_t offered_protocol_features;
	uint64_t protocol_features;
	struct memtable mem;
	struct vu_inflight inflight; /* SET_INFLIGHT_FD */
	struct vu_vring vring[VU_MAX_QUEUES];
};

void vu_dev_init(struct vu_dev *d, struct ev_loop *loop, const struct vu_dev_desc *desc);
/* Takes a connected front-end socket. Returns 0 or -errno. */
int vu_dev_attach(struct vu_dev *d, int fd);
/* Ends the front-end connection: stops rings, closes fds, unmaps memory. */
void vu_dev_detach(struct vu_dev *d);
bool vu_dev_connected(const struct vu_dev *d);

#endif

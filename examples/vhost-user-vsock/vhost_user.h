/* SPDX-License-Identifier: MIT */
/*
 * The back-end side of the vhost-user protocol (QEMU docs/interop/vhost-user)
 * for one front-end connection: message framing with file descriptors,
 * feature negotiation, the memory table and the vrings, each vring being a
 * struct virtq on the memory table.
 *
 * Everything read from the socket is untrusted: sizes are checked against the
 * request's payload, indices against the number of queues, file descriptors
 * counted and closed when not kept. A protocol error ends the connection;
 * it never ends the process.
 *
 * The device (vsock_dev.c) is told when a ring starts, stops or is kicked.
 */
#ifndef VSOCK_VHOST_USER_H
#define VSOCK_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include <virtq/inflight.h>
#include <virtq/queue.h>

#include "loop.h"
#include "memtable.h"

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
};

/* Feature bits (virtio and vhost-user). */
#define VU_F_PROTOCOL_FEATURES 30  /* VHOST_USER_F_PROTOCOL_FEATURES */
#define VU_F_VERSION_1 32
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_CONFIG 9

#define VU_NUM_QUEUES 3u
#define VU_MAX_QUEUE_SIZE 1024u

struct vu_dev;

struct vu_vring {
	struct vu_dev *dev;
	unsigned idx;
	struct virtq q;           /* on dev->mem.mem; active while started */
	/* q's in-flight record; it outlives stops, so a ring restarted at a
	 * non-zero base knows its chains in flight */
	_Alignas(VIRTQ_INFLIGHT_ALIGN) unsigned char inflight[VIRTQ_INFLIGHT_BYTES(VU_MAX_QUEUE_SIZE)];
	uint32_t num;             /* SET_VRING_NUM */
	uint64_t desc_uva, avail_uva, used_uva;
	bool addr_set;
	uint16_t base;            /* SET_VRING_BASE: next avail index to resume at */
	bool enabled;             /* SET_VRING_ENABLE, or implied */
	bool started;             /* virtq active, kicks watched */
	int call_fd, err_fd;
	struct ev_handler kick;   /* kick eventfd; kick.fd == -1 when unset */
	int kick_fd;              /* owned; watched while started */
};

/* What the device learns from the protocol. */
struct vu_dev_ops {
	void (*ring_started)(struct vu_dev *d, unsigned idx);
	void (*ring_stopped)(struct vu_dev *d, unsigned idx); /* before its queue resets */
	void (*ring_kicked)(struct vu_dev *d, unsigned idx);
	/* Device configuration space (GET_CONFIG). */
	const void *(*config)(struct vu_dev *d, uint32_t *len);
};

struct vu_dev {
	struct ev_loop *loop;
	struct ev_handler sock; /* the front-end connection; fd -1 when none */
	const struct vu_dev_ops *ops;
	void *opaque;           /* the device's state */
	uint64_t offered_features;
	uint64_t features;      /* acked by SET_FEATURES */
	bool features_set;
	uint64_t protocol_features;
	struct memtable mem;
	struct vu_vring vring[VU_NUM_QUEUES];
	bool verbose;
};

void vu_dev_init(struct vu_dev *d, struct ev_loop *loop, const struct vu_dev_ops *ops,
		 void *opaque, uint64_t device_features);
/* Takes a connected front-end socket. Returns 0 or -errno. */
int vu_dev_attach(struct vu_dev *d, int fd);
/* Ends the front-end connection: stops rings, closes fds, unmaps memory. */
void vu_dev_detach(struct vu_dev *d);
bool vu_dev_connected(const struct vu_dev *d);

/* Signals the driver that used buffers of ring idx are ready (call eventfd). */
void vu_vring_notify(struct vu_dev *d, unsigned idx);

#endif

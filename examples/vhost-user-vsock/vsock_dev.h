/* SPDX-License-Identifier: MIT */
/*
 * The virtio-vsock device (virtio 1.2, 5.10) on three virtq queues (RX 0,
 * TX 1, event 2) given by ../vhost-user/: parses the guest's packets with
 * virtq_vsock_parse_tx(), fills RX buffers with virtq_vsock_parse_rx(), and
 * moves data between guest connections (vsock_conn.c) and host Unix sockets
 * (host_sock.c).
 *
 * A malformed packet never stops the device: a packet whose header cannot be
 * trusted is dropped (and its connection reset if the header names one); a
 * protocol violation on a connection (data beyond the announced credit, an
 * unexpected op) resets that connection. A malformed ring (virtq_pop error)
 * breaks that queue only, as virtq latches it, until the front-end resets it.
 */
#ifndef VSOCK_DEV_H
#define VSOCK_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "vhost_user.h"
#include "vsock_conn.h"

#define VSOCK_RX 0u
#define VSOCK_TX 1u
#define VSOCK_EVENT 2u
#define VSOCK_NUM_QUEUES 3u
#define VSOCK_MAX_CONNS 1024u
#define VSOCK_HASH 256u
#define VSOCK_RST_RING 64u

struct vsock_dev {
	struct vu_dev vu;
	struct ev_loop *loop;
	uint64_t guest_cid;
	unsigned char config[8]; /* struct virtio_vsock_config: le64 guest_cid */
	const char *uds_path;
	struct ev_handler listener; /* host programs connect here */

	struct vsock_conn *table[VSOCK_HASH];
	struct vsock_conn *all;     /* every connection, incl. handshakes */
	struct vsock_conn *ctrl_head, *ctrl_tail;   /* owe control packets */
	struct vsock_conn *ready_head, *ready_tail; /* have data for the guest */
	struct vsock_conn *dead;    /* freed after the event batch */
	uint32_t nconns;
	uint32_t next_port;         /* local ports of host-initiated connections */

	/* RSTs for packets that match no connection */
	struct virtq_vsock_hdr rst[VSOCK_RST_RING];
	unsigned rst_head, rst_len;

	struct virtq_seg rx_chain[VU_MAX_QUEUE_SIZE]; /* segments of the RX chain in use */
	struct virtq_seg tx_chain[VU_MAX_QUEUE_SIZE]; /* segments of the TX chain in use */
	struct virtq_seg segs[VU_MAX_QUEUE_SIZE];     /* scratch: data segments for I/O */
	bool more_tx, more_rx;      /* work left after a bounded batch */
	unsigned bad_logged;        /* malformed packets logged (bounded) */
	uint64_t bytes_to_host, bytes_to_guest;
};

/* Listens on uds_path; the vhost-user side is attached by main.c. */
int vsock_dev_init(struct vsock_dev *d, struct ev_loop *loop, uint64_t guest_cid,
		   const char *uds_path);
void vsock_dev_close(struct vsock_dev *d);
/* Frees connections that died during the last event batch. */
void vsock_dev_reap(struct vsock_dev *d);
/* Work left over from a bounded batch: call vsock_dev_continue() soon. */
bool vsock_dev_busy(const struct vsock_dev *d);
void vsock_dev_continue(struct vsock_dev *d);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * One vsock stream connection between a guest socket and a host Unix socket:
 * its state machine and its credit accounting (virtio 1.2, 5.10.6.3).
 *
 * Guest -> host: we announce buf_alloc bytes of buffer and count fwd_cnt, the
 * bytes handed to the host socket. The guest may have at most buf_alloc
 * bytes in flight (rx_cnt - fwd_cnt); a packet beyond that breaks the
 * protocol and resets the connection. Bytes the host socket cannot take yet
 * wait in a ring buffer of buf_alloc bytes, allocated on first need.
 *
 * Host -> guest: the guest announces its buf_alloc and fwd_cnt; we send at
 * most virtq_vsock_peer_credit() bytes, with checked arithmetic, whatever
 * numbers the guest sends.
 *
 * This file does no queue I/O: it decides. vsock_dev.c moves the packets.
 */
#ifndef VSOCK_CONN_H
#define VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtq/vsock.h>

#include "loop.h"

#define VSOCK_HOST_CID 2u
#define CONN_BUF_ALLOC (256u * 1024u)

enum conn_state {
	CONN_HANDSHAKE,   /* host client on the listener, "CONNECT <port>" not read yet */
	CONN_REQUESTING,  /* REQUEST owed or sent to the guest, waiting for RESPONSE */
	CONN_ESTABLISHED, /* data flows */
	CONN_RESETTING,   /* host side closed; an RST is owed to the guest */
	CONN_DEAD,        /* freed after the current event batch */
};

/* Control packets owed to the guest, sent in this order. */
#define OWE_REQUEST 1u
#define OWE_RESPONSE 2u
#define OWE_CREDIT_UPDATE 4u
#define OWE_CREDIT_REQUEST 8u
#define OWE_SHUTDOWN 16u
#define OWE_RST 32u

struct vsock_conn {
	struct ev_handler h;  /* host socket while watched */
	int fd;               /* host socket, -1 once closed */
	enum conn_state state;
	uint32_t local_port;  /* host side: our src_port */
	uint32_t peer_port;   /* guest side */
	unsigned owed;        /* OWE_* */
	uint32_t shutdown_flags; /* for OWE_SHUTDOWN */

	/* guest -> host */
	uint32_t buf_alloc;     /* announced to the guest */
	uint32_t rx_cnt;        /* data bytes received from the guest */
	uint32_t fwd_cnt;       /* data bytes written to the host socket */
	uint32_t fwd_reported;  /* fwd_cnt in the last packet we sent */
	unsigned char *buf;     /* pending bytes for the host socket */
	uint32_t buf_head, buf_len;

	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;        /* data bytes sent to the guest */
	bool readable;          /* the host socket has data or an end of file */
	bool host_eof;          /* read() returned 0: SHUTDOWN(SEND) owed or sent */
	bool hup;               /* the host socket hung up: no longer watched */

	/* guest's shutdowns */
	bool peer_no_send;      /* SHUTDOWN with SEND: no more data from the guest */
	bool peer_no_recv;      /* SHUTDOWN with RCV: the guest reads no more */
	bool closing;           /* both: close once the buffer is drained, then RST */
	bool wr_shut;           /* shutdown(SHUT_WR) done on the host socket */

	/* vsock_dev.c's lists */
	struct vsock_conn *hnext;              /* hash chain */
	struct vsock_conn *cprev, *cnext;      /* owes control packets */
	struct vsock_conn *rprev, *rnext;      /* has data for the guest */
	bool in_ctrl, in_ready, in_table;
	struct vsock_conn *next_all, *prev_all; /* every connection, incl. handshakes */
	struct vsock_conn *dead_next;
	void *dev;
};

void conn_init(struct vsock_conn *c, int fd);

/* The guest's credit fields, from any packet of this connection. */
void conn_peer_update(struct vsock_conn *c, const struct virtq_vsock_hdr *h);
/* Data bytes we may send the guest now (0 if its numbers are inconsistent). */
uint32_t conn_peer_credit(const struct vsock_conn *c);
/* Whether a guest data packet of len bytes respects the credit we announced. */
bool conn_rx_fits(const struct vsock_conn *c, uint32_t len);

/*
 * Fills the header of a packet from us to the guest on this connection, with
 * our current credit (which then counts as reported).
 */
void conn_fill_hdr(struct vsock_conn *c, struct virtq_vsock_hdr *h, uint64_t guest_cid,
		   uint16_t op, uint32_t flags);

/* Next owed control op (VIRTQ_VSOCK_OP_*), 0 if none; conn_owed_sent() clears it. */
uint16_t conn_next_owed(const struct vsock_conn *c, uint32_t *flags);
void conn_owed_sent(struct vsock_conn *c, uint16_t op);

/*
 * Guest data for the host socket. Writes what the socket takes now (segments
 * straight from guest memory), buffers the rest. Returns 0, or -errno from
 * the socket (the connection must be reset), or -ENOBUFS (out of memory).
 */
int conn_forward(struct vsock_conn *c, const struct virtq_seg *segs, unsigned nseg,
		 uint32_t len);
/* Writes buffered bytes to the host socket. Returns 0 or -errno. */
int conn_flush(struct vsock_conn *c);
/* After forwarding: does the guest need a CREDIT_UPDATE to keep sending? */
bool conn_wants_credit_update(const struct vsock_conn *c);

/* Epoll interest for the host socket in the current state. */
uint32_t conn_events(const struct vsock_conn *c);
/* Whether the connection has data or an end of file to send the guest now. */
bool conn_ready_to_send(const struct vsock_conn *c);

/* Releases the buffer and closes the host socket (not the struct). */
void conn_release(struct vsock_conn *c);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A scripted vhost-user front-end for the example devices' tests, in place
 * of QEMU: guest memory in a memfd, the handshake QEMU sends (features,
 * protocol features, inflight region, memory table, vrings), and a driver
 * for split rings in that memory that posts chains and checks every used
 * entry: an id that is not in flight (a second completion) is counted in
 * fe.errors with a message, never accepted.
 *
 * Like QEMU after a back-end died, it keeps guest memory, the rings and the
 * inflight fd, reconnects to a new back-end process and restarts each ring
 * at its used index (fe_ring_used_idx).
 */
#ifndef VU_TEST_FRONTEND_H
#define VU_TEST_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FE_MAX_RINGS 8u
#define FE_MAX_RING_SIZE 256u
#define FE_MAX_SEGS 8u
#define FE_UVA_BASE 0x7f0000000000ull /* our "userspace address" of GPA 0 */
/* Ring i's areas at FE_RING_GPA(i); buffers from FE_BUF_GPA upwards. */
#define FE_RING_GPA(i) (0x10000ull * (i))
#define FE_BUF_GPA 0x100000ull

struct fe_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct fe_ring {
	uint16_t size;
	uint64_t desc, avail, used; /* guest-physical */
	int kick, call;
	uint16_t avail_idx;         /* next avail index to publish */
	uint16_t used_idx;          /* next used entry to consume */
	uint16_t free[FE_MAX_RING_SIZE];
	unsigned nfree;
	uint16_t ndesc[FE_MAX_RING_SIZE];
	uint16_t descs[FE_MAX_RING_SIZE][FE_MAX_SEGS];
	bool in_flight[FE_MAX_RING_SIZE]; /* by head: posted, not used */
	unsigned outstanding;
	bool set_up;
};

struct fe {
	int sock;
	int memfd;
	unsigned char *mem;
	uint64_t mem_size;
	uint64_t features, protocol_features; /* acked */
	int inflight_fd;
	uint64_t inflight_size;
	unsigned char *inflight; /* our mapping of the region */
	struct fe_ring ring[FE_MAX_RINGS];
	unsigned errors;
};

/* Guest memory of mem_size bytes (a zeroed memfd). Returns 0 or -1. */
int fe_init(struct fe *f, uint64_t mem_size);
void fe_destroy(struct fe *f);
/* Connects to path, retrying for up to 5 s (the back-end starting). */
int fe_connect(struct fe *f, const char *path);
void fe_disconnect(struct fe *f);

/* One message; NEED_REPLY is flag 8. Returns 0 or -1. */
int fe_send(struct fe *f, uint32_t req, uint32_t flags, const void *p, uint32_t size,
	    const int *fds, unsigned nfds);
/* The same on any socket (a test's own socketpair with the core). */
int fe_send_on(int sock, uint32_t req, uint32_t flags, const void *p, uint32_t size,
	       const int *fds, unsigned nfds);
/* One reply to req (5 s timeout), its fd in *fd if fd (else closed).
 * Returns the payload size or -1. */
int fe_recv(struct fe *f, uint32_t req, void *p, uint32_t cap, int *fd);

/* GET/SET_FEATURES and PROTOCOL_FEATURES (each the offered & wanted bits),
 * SET_OWNER. Returns 0 or -1. */
int fe_handshake(struct fe *f, uint64_t features, uint64_t protocol_features);
/* GET_INFLIGHT_FD the first time, then SET_INFLIGHT_FD with that fd. */
int fe_inflight(struct fe *f, uint16_t num_queues, uint16_t queue_size);
int fe_mem_table(struct fe *f);
/* Sets ring idx up (the first time: zeroed rings at FE_RING_GPA(idx)) and
 * starts it at avail index base: NUM, BASE, ADDR, CALL, KICK, ENABLE. */
int fe_ring_start(struct fe *f, unsigned idx, uint16_t size, uint16_t base);
uint16_t fe_ring_used_idx(const struct fe *f, unsigned idx);

/* Posts a chain of n buffers (readable ones first). Returns its head, or -1
 * when the ring has no free descriptors. */
int fe_post(struct fe *f, unsigned idx, const struct fe_buf *bufs, unsigned n);
void fe_kick(struct fe *f, unsigned idx);
/* Consumes one used entry: 1 with *id, *len; 0 if none. */
int fe_reap(struct fe *f, unsigned idx, uint16_t *id, uint32_t *len);

#endif

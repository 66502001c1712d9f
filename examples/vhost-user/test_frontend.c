/* SPDX-License-Identifier: MIT */
/* A scripted vhost-user front-end for tests (see test_frontend.h). */
#define _GNU_SOURCE
#include "test_frontend.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NEED_REPLY 8u

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, 0);
}

int fe_init(struct fe *f, uint64_t mem_size)
{
	memset(f, 0, sizeof(*f));
	f->sock = f->inflight_fd = -1;
	f->mem_size = mem_size;
	f->memfd = memfd_create("fe-guest", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, (off_t)mem_size) < 0)
		return -1;
	f->mem = mmap(0, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	if (f->mem == MAP_FAILED) {
		f->mem = 0;
		return -1;
	}
	for (unsigned i = 0; i < FE_MAX_RINGS; i++)
		f->ring[i].kick = f->ring[i].call = -1;
	return 0;
}

static void close_ring_fds(struct fe_ring *r)
{
	if (r->kick >= 0)
		close(r->kick);
	if (r->call >= 0)
		close(r->call);
	r->kick = r->call = -1;
}

void fe_disconnect(struct fe *f)
{
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	for (unsigned i = 0; i < FE_MAX_RINGS; i++)
		close_ring_fds(&f->ring[i]);
}

void fe_destroy(struct fe *f)
{
	fe_disconnect(f);
	if (f->inflight)
		munmap(f->inflight, f->inflight_size);
	if (f->inflight_fd >= 0)
		close(f->inflight_fd);
	if (f->mem)
		munmap(f->mem, f->mem_size);
	if (f->memfd >= 0)
		close(f->memfd);
}

int fe_connect(struct fe *f, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	for (int tries = 0; tries < 500; tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			struct timeval tv = { .tv_sec = 5 };
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			f->sock = fd;
			return 0;
		}
		close(fd);
		sleep_ms(10);
	}
	fprintf(stderr, "front-end: cannot connect to %s\n", path);
	return -1;
}

int fe_send(struct fe *f, uint32_t req, uint32_t flags, const void *p, uint32_t size,
	    const int *fds, unsigned nfds)
{
	return fe_send_on(f->sock, req, flags, p, size, fds, nfds);
}

int fe_send_on(int sock, uint32_t req, uint32_t flags, const void *p, uint32_t size,
	       const int *fds, unsigned nfds)
{
	unsigned char buf[12 + 512];
	uint32_t fl = 1u | flags;
	if (size > 512)
		return -1;
	memcpy(buf, &req, 4);
	memcpy(buf + 4, &fl, 4);
	memcpy(buf + 8, &size, 4);
	if (size)
		memcpy(buf + 12, p, size);
	struct iovec iov = { buf, 12 + size };
	union {
		struct cmsghdr align;
		char c[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		mh.msg_control = ctl.c;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)(12 + size) ? 0 : -1;
}

int fe_recv(struct fe *f, uint32_t req, void *p, uint32_t cap, int *fd)
{
	unsigned char hdr[12];
	union {
		struct cmsghdr align;
		char c[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c,
			     .msg_controllen = sizeof(ctl.c) };
	if (fd)
		*fd = -1;
	ssize_t n = recvmsg(f->sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : 0;
	if (c && c->cmsg_type == SCM_RIGHTS) {
		int got;
		memcpy(&got, CMSG_DATA(c), sizeof(int));
		if (fd)
			*fd = got;
		else
			close(got);
	}
	uint32_t r, flags, size;
	memcpy(&r, hdr, 4);
	memcpy(&flags, hdr + 4, 4);
	memcpy(&size, hdr + 8, 4);
	if (n != 12 || r != req || size > cap ||
	    recv(f->sock, p, size, MSG_WAITALL) != (ssize_t)size) {
		fprintf(stderr, "front-end: no reply to request %u\n", req);
		return -1;
	}
	return (int)size;
}

static int get_u64(struct fe *f, uint32_t req, uint64_t *v)
{
	return fe_send(f, req, 0, 0, 0, 0, 0) == 0 && fe_recv(f, req, v, 8, 0) == 8 ? 0 : -1;
}

/* A request with REPLY_ACK: 0 if the back-end accepted it. */
static int acked(struct fe *f, uint32_t req, const void *p, uint32_t size, const int *fds,
		 unsigned nfds)
{
	uint64_t ack = 1;
	if (fe_send(f, req, NEED_REPLY, p, size, fds, nfds) < 0 || fe_recv(f, req, &ack, 8, 0) != 8)
		return -1;
	if (ack != 0)
		fprintf(stderr, "front-end: request %u refused\n", req);
	return ack == 0 ? 0 : -1;
}

int fe_handshake(struct fe *f, uint64_t features, uint64_t protocol_features)
{
	uint64_t offered, pf;
	if (get_u64(f, 1, &offered) < 0)
		return -1;
	f->features = offered & features;
	if (fe_send(f, 2, 0, &f->features, 8, 0, 0) < 0 || get_u64(f, 15, &pf) < 0)
		return -1;
	/* REPLY_ACK always: every setting is checked */
	f->protocol_features = pf & (protocol_features | (1ull << 3));
	if (fe_send(f, 16, 0, &f->protocol_features, 8, 0, 0) < 0 ||
	    fe_send(f, 3, 0, 0, 0, 0, 0) < 0)
		return -1;
	return 0;
}

int fe_inflight(struct fe *f, uint16_t num_queues, uint16_t queue_size)
{
	unsigned char p[24] = { 0 };
	memcpy(p + 16, &num_queues, 2);
	memcpy(p + 18, &queue_size, 2);
	if (f->inflight_fd < 0) {
		if (fe_send(f, 31, 0, p, sizeof(p), 0, 0) < 0 ||
		    fe_recv(f, 31, p, sizeof(p), &f->inflight_fd) != 24 || f->inflight_fd < 0)
			return -1;
		memcpy(&f->inflight_size, p, 8);
		f->inflight = mmap(0, f->inflight_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				   f->inflight_fd, 0);
		if (f->inflight == MAP_FAILED) {
			f->inflight = 0;
			return -1;
		}
	}
	memcpy(p, &f->inflight_size, 8);
	memset(p + 8, 0, 8);
	return acked(f, 32, p, sizeof(p), &f->inflight_fd, 1);
}

int fe_mem_table(struct fe *f)
{
	unsigned char p[8 + 32] = { 0 };
	uint32_t n = 1;
	uint64_t gpa = 0, uva = FE_UVA_BASE, off = 0;
	memcpy(p, &n, 4);
	memcpy(p + 8, &gpa, 8);
	memcpy(p + 16, &f->mem_size, 8);
	memcpy(p + 24, &uva, 8);
	memcpy(p + 32, &off, 8);
	return acked(f, 5, p, sizeof(p), &f->memfd, 1);
}

static void ring_setup(struct fe *f, unsigned idx, uint16_t size)
{
	struct fe_ring *r = &f->ring[idx];
	r->size = size;
	r->desc = FE_RING_GPA(idx);
	r->avail = r->desc + 0x4000;
	r->used = r->desc + 0x8000;
	memset(f->mem + r->desc, 0, 0x10000);
	r->nfree = size;
	for (unsigned i = 0; i < size; i++)
		r->free[i] = (uint16_t)(size - 1 - i);
	r->set_up = true;
}

int fe_ring_start(struct fe *f, unsigned idx, uint16_t size, uint16_t base)
{
	struct fe_ring *r = &f->ring[idx];
	if (idx >= FE_MAX_RINGS || size > FE_MAX_RING_SIZE)
		return -1;
	if (!r->set_up)
		ring_setup(f, idx, size);
	uint32_t nb[2] = { idx, size };
	unsigned char addr[40] = { 0 };
	uint64_t d = FE_UVA_BASE + r->desc, u = FE_UVA_BASE + r->used, a = FE_UVA_BASE + r->avail;
	memcpy(addr, &idx, 4);
	memcpy(addr + 8, &d, 8);
	memcpy(addr + 16, &u, 8);
	memcpy(addr + 24, &a, 8);
	close_ring_fds(r);
	r->kick = eventfd(0, EFD_CLOEXEC);
	r->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t i64 = idx;
	uint32_t base_msg[2] = { idx, base };
	uint32_t enable[2] = { idx, 1 };
	if (fe_send(f, 8, 0, nb, 8, 0, 0) < 0 || fe_send(f, 10, 0, base_msg, 8, 0, 0) < 0 ||
	    fe_send(f, 9, 0, addr, sizeof(addr), 0, 0) < 0 ||
	    fe_send(f, 13, 0, &i64, 8, &r->call, 1) < 0 ||
	    fe_send(f, 12, 0, &i64, 8, &r->kick, 1) < 0)
		return -1;
	return acked(f, 18, enable, sizeof(enable), 0, 0);
}

static uint16_t *u16_at(struct fe *f, uint64_t gpa)
{
	return (uint16_t *)(void *)(f->mem + gpa);
}

uint16_t fe_ring_used_idx(const struct fe *f, unsigned idx)
{
	uint16_t v;
	memcpy(&v, f->mem + f->ring[idx].used + 2, 2);
	return v;
}

int fe_post(struct fe *f, unsigned idx, const struct fe_buf *bufs, unsigned n)
{
	struct fe_ring *r = &f->ring[idx];
	if (n == 0 || n > FE_MAX_SEGS || r->nfree < n)
		return -1;
	uint16_t ids[FE_MAX_SEGS];
	for (unsigned i = 0; i < n; i++)
		ids[i] = r->free[--r->nfree];
	for (unsigned i = 0; i < n; i++) {
		unsigned char *d = f->mem + r->desc + 16u * ids[i];
		uint16_t flags = (uint16_t)((i + 1 < n ? 1u : 0u) | (bufs[i].writable ? 2u : 0u));
		uint16_t next = i + 1 < n ? ids[i + 1] : 0;
		memcpy(d, &bufs[i].gpa, 8);
		memcpy(d + 8, &bufs[i].len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
	}
	uint16_t head = ids[0];
	r->ndesc[head] = (uint16_t)n;
	memcpy(r->descs[head], ids, n * sizeof(ids[0]));
	r->in_flight[head] = true;
	r->outstanding++;
	*u16_at(f, r->avail + 4 + 2u * (r->avail_idx % r->size)) = head;
	r->avail_idx++;
	/* virtio 2.7.13: the ring entry before the index that publishes it */
	atomic_thread_fence(memory_order_release);
	*(volatile uint16_t *)u16_at(f, r->avail + 2) = r->avail_idx;
	return head;
}

void fe_kick(struct fe *f, unsigned idx)
{
	uint64_t one = 1;
	/* virtio 2.7.13: the index is visible before the device is told */
	atomic_thread_fence(memory_order_seq_cst);
	if (write(f->ring[idx].kick, &one, 8) != 8)
		f->errors++;
}

int fe_reap(struct fe *f, unsigned idx, uint16_t *id, uint32_t *len)
{
	struct fe_ring *r = &f->ring[idx];
	uint16_t used = *(volatile uint16_t *)u16_at(f, r->used + 2);
	if (used == r->used_idx)
		return 0;
	/* virtio 2.7.14: the used index before the entries it publishes */
	atomic_thread_fence(memory_order_acquire);
	const unsigned char *e = f->mem + r->used + 4 + 8u * (r->used_idx % r->size);
	uint32_t id32;
	memcpy(&id32, e, 4);
	memcpy(len, e + 4, 4);
	r->used_idx++;
	if (id32 >= r->size || !r->in_flight[id32]) {
		fprintf(stderr, "front-end: ring %u: used id %u is not in flight (%s)\n", idx, id32,
			id32 >= r->size ? "out of range" : "completed twice");
		f->errors++;
		return fe_reap(f, idx, id, len);
	}
	*id = (uint16_t)id32;
	r->in_flight[id32] = false;
	r->outstanding--;
	for (unsigned i = 0; i < r->ndesc[id32]; i++)
		r->free[r->nfree++] = r->descs[id32][i];
	return 1;
}

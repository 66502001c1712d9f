/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user protocol with a scripted front-end on a socketpair: the
 * sequence QEMU sends for a vsock device, SET_VRING_BASE/GET_VRING_BASE
 * mapped onto virtq_restore/virtq_save, the same with packed rings (the
 * 32-bit packed base, virtq_resume_packed), and malformed messages (refused
 * with REPLY_ACK, or ending the connection), never the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <virtq/virtq.h>

#include "log.h"
#include "test_check.h"
#include "test_frontend.h"
#include "vsock_dev.h"




#define MEM_SIZE (1u << 20)
#define GPA_BASE 0x100000u     /* guest-physical address of the region */
#define UVA_BASE 0x7f0000000000ull /* the front-end's address of it */
#define NEED_REPLY 8u

static struct ev_loop loop;
static struct vsock_dev dev;
static int fe = -1; /* front-end end of the socketpair */

static void msg(uint32_t req, uint32_t flags, const void *p, uint32_t size, const int *fds,
		unsigned nfds)
{
	CHECK(fe_send_on(fe, req, flags, p, size, fds, nfds) == 0);
	ev_loop_run_once(&loop, 100);
}

/* Reads one reply and the fd it carries (*fd = -1 if none); returns its
 * payload size, -1 if none. */
static int reply_fd(uint32_t want_req, void *p, uint32_t cap, int *fd)
{
	unsigned char buf[12 + 512];
	union {
		struct cmsghdr align;
		char c[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c,
			     .msg_controllen = sizeof(ctl.c) };
	ssize_t n = recvmsg(fe, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	*fd = -1;
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : 0;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (n < 12)
		return -1;
	uint32_t req, flags, size;
	memcpy(&req, buf, 4);
	memcpy(&flags, buf + 4, 4);
	memcpy(&size, buf + 8, 4);
	CHECK(req == want_req && flags == (1u | 4u) && (ssize_t)(12 + size) == n);
	if (size <= cap)
		memcpy(p, buf + 12, size);
	return (int)size;
}

static int reply(uint32_t want_req, void *p, uint32_t cap)
{
	int fd;
	int n = reply_fd(want_req, p, cap, &fd);
	CHECK(fd < 0);
	if (fd >= 0)
		close(fd);
	return n;
}

/* GET_INFLIGHT_FD (31) / SET_INFLIGHT_FD (32): mmap_size, mmap_offset,
 * num_queues, queue_size. */
static void inflight_msg(uint32_t req, uint32_t flags, uint64_t size, uint64_t offset,
			 uint16_t nq, uint16_t qs, int fd)
{
	unsigned char p[24] = { 0 };
	memcpy(p, &size, 8);
	memcpy(p + 8, &offset, 8);
	memcpy(p + 16, &nq, 2);
	memcpy(p + 18, &qs, 2);
	msg(req, flags, p, sizeof(p), &fd, fd >= 0 ? 1 : 0);
}

/* The inflight region of a GET_INFLIGHT_FD reply, its size in *size. */
static int inflight_reply(uint64_t *size)
{
	unsigned char p[24] = { 0 };
	int fd;
	CHECK(reply_fd(31, p, sizeof(p), &fd) == 24);
	memcpy(size, p, 8);
	return fd;
}

static uint64_t u64_reply(uint32_t req)
{
	uint64_t v = UINT64_MAX;
	CHECK(reply(req, &v, sizeof(v)) == 8);
	return v;
}

static void vring_msg(uint32_t req, uint32_t idx, uint32_t num, uint32_t flags)
{
	uint32_t p[2] = { idx, num };
	msg(req, flags, p, sizeof(p), 0, 0);
}

static void vring_addr(uint32_t idx, uint64_t desc, uint64_t used, uint64_t avail)
{
	unsigned char p[40] = { 0 };
	memcpy(p, &idx, 4);
	memcpy(p + 8, &desc, 8);
	memcpy(p + 16, &used, 8);
	memcpy(p + 24, &avail, 8);
	msg(9, 0, p, sizeof(p), 0, 0);
}

static void vring_fd(uint32_t req, uint32_t idx, int fd)
{
	uint64_t v = idx;
	msg(req, 0, &v, sizeof(v), &fd, 1);
}

static void mem_table(int fd, uint64_t size, uint32_t flags)
{
	unsigned char p[8 + 32] = { 0 };
	uint32_t n = 1;
	uint64_t gpa = GPA_BASE, uva = UVA_BASE, off = 0;
	memcpy(p, &n, 4);
	memcpy(p + 8, &gpa, 8);
	memcpy(p + 16, &size, 8);
	memcpy(p + 24, &uva, 8);
	memcpy(p + 32, &off, 8);
	msg(5, flags, p, sizeof(p), &fd, 1);
}

int main(void)
{
	char dir[] = "/tmp/virtq-vu-test-XXXXXX";
	char uds[128];
	if (!mkdtemp(dir))
		return 1;
	snprintf(uds, sizeof(uds), "%s/vm.vsock", dir);
	int sv[2];
	if (ev_loop_init(&loop) < 0 || vsock_dev_init(&dev, &loop, 42, uds) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    vu_dev_attach(&dev.vu, sv[0]) < 0)
		return 1;
	fe = sv[1];

	/* what QEMU asks first */
	msg(1, 0, 0, 0, 0, 0);
	uint64_t feat = u64_reply(1);
	CHECK(feat & (1ull << 32) && feat & (1ull << 28) && feat & (1ull << 29) && feat & (1ull << 30));
	/* RING_PACKED is offered; the split scenario below does without it,
	 * the packed one at the end takes it */
	CHECK(feat & VIRTQ_FEATURE(VIRTQ_F_RING_PACKED));
	const uint64_t packed_feat = feat;
	feat &= ~VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	msg(15, 0, 0, 0, 0, 0);
	uint64_t pf = u64_reply(15);
	CHECK(feat & (1ull << 26)); /* LOG_ALL */
	/* LOG_SHMFD REPLY_ACK CONFIG INFLIGHT_SHMFD */
	CHECK(pf == ((1ull << 1) | (1ull << 3) | (1ull << 9) | (1ull << 12)));
	msg(16, 0, &pf, 8, 0, 0);
	msg(3, 0, 0, 0, 0, 0);
	unsigned char cfg[12 + 8] = { 0 };
	uint32_t cfg_size = 8;
	memcpy(cfg + 4, &cfg_size, 4);
	msg(24, 0, cfg, sizeof(cfg), 0, 0);
	unsigned char cfg_out[20];
	CHECK(reply(24, cfg_out, sizeof(cfg_out)) == 20);
	uint64_t cid;
	memcpy(&cid, cfg_out + 12, 8);
	CHECK(cid == 42);
	/* features not offered are refused (REPLY_ACK 1) */
	uint64_t bad = feat | (1ull << 40);
	msg(2, NEED_REPLY, &bad, 8, 0, 0);
	CHECK(u64_reply(2) == 1);
	msg(2, NEED_REPLY, &feat, 8, 0, 0);
	CHECK(u64_reply(2) == 0);

	/* a memory table whose file is smaller than announced is refused */
	int mfd = memfd_create("guest", MFD_CLOEXEC);
	CHECK(mfd >= 0 && ftruncate(mfd, MEM_SIZE) == 0);
	mem_table(mfd, 2u * MEM_SIZE, NEED_REPLY);
	CHECK(u64_reply(5) == 1);
	mem_table(mfd, MEM_SIZE, NEED_REPLY);
	CHECK(u64_reply(5) == 0);
	unsigned char *guest = mmap(0, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(guest != MAP_FAILED);

	/* INFLIGHT_SHMFD: a geometry we cannot serve gets no region */
	uint64_t isize = 1;
	inflight_msg(31, 0, 0, 0, 4, 64, -1); /* 4 queues: vsock has 3 */
	CHECK(inflight_reply(&isize) < 0 && isize == 0);
	inflight_msg(31, 0, 0, 0, 3, 48, -1); /* not a power of two */
	CHECK(inflight_reply(&isize) < 0 && isize == 0);
	/* per queue VIRTQ_INFLIGHT_BYTES(64) = 1040 bytes and VIRTQ_JOURNAL_BYTES(64)
	 * = 2080, rounded to 64 each: 1088 + 2112 */
	inflight_msg(31, 0, 0, 0, 3, 64, -1);
	int ifd = inflight_reply(&isize);
	CHECK(ifd >= 0 && isize == 3 * (1088 + 2112));
	/* a region larger than its file, or smaller than its queues, is refused */
	inflight_msg(32, NEED_REPLY, isize, 64, 3, 64, ifd);
	CHECK(u64_reply(32) == 1);
	inflight_msg(32, NEED_REPLY, isize - 1, 0, 3, 64, ifd);
	CHECK(u64_reply(32) == 1);
	inflight_msg(32, NEED_REPLY, isize, 0, 3, 64, -1); /* no fd */
	CHECK(u64_reply(32) == 1);
	inflight_msg(32, NEED_REPLY, isize, 0, 3, 64, ifd);
	CHECK(u64_reply(32) == 0);
	CHECK(dev.vu.inflight.map && dev.vu.inflight.num_queues == 3);
	unsigned char *iarea = mmap(0, isize, PROT_READ | PROT_WRITE, MAP_SHARED, ifd, 0);
	CHECK(iarea != MAP_FAILED);

	/* ring 0 resumes at avail index 5: the used ring says 5 were used */
	const uint64_t desc = 0x0, avail = 0x1000, used = 0x2000; /* offsets in the region */
	guest[used + 2] = 5;
	guest[avail + 2] = 5;
	vring_msg(8, 0, 64, 0);
	vring_msg(10, 0, 5, 0);
	vring_addr(0, UVA_BASE + desc, UVA_BASE + used, UVA_BASE + avail);
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	vring_fd(13, 0, call);
	vring_fd(12, 0, kick);
	CHECK(!dev.vu.vring[0].started); /* not enabled yet: PROTOCOL_FEATURES */
	vring_msg(18, 0, 1, NEED_REPLY);
	CHECK(u64_reply(18) == 0);
	CHECK(dev.vu.vring[0].started && virtq_is_active(&dev.vu.vring[0].q));
	/* its in-flight record is the region's first area: version 1, desc_num 64 */
	uint16_t version, desc_num;
	memcpy(&version, iarea + 8, 2);
	memcpy(&desc_num, iarea + 10, 2);
	CHECK(version == 1 && desc_num == 64);
	/* the region cannot change under a running ring */
	inflight_msg(32, NEED_REPLY, isize, 0, 3, 64, ifd);
	CHECK(u64_reply(32) == 1);
	/* a memory table change keeps the running ring where it is */
	mem_table(mfd, MEM_SIZE, 0);
	CHECK(dev.vu.vring[0].started);
	vring_msg(11, 0, 0, 0);
	uint32_t st[2] = { 9, 9 };
	CHECK(reply(11, st, sizeof(st)) == 8 && st[0] == 0 && st[1] == 5);
	CHECK(!dev.vu.vring[0].started);
	/* a split ring's base is 16 bits */
	vring_msg(10, 0, 0x10000, NEED_REPLY);
	CHECK(u64_reply(10) == 1);
	/* a resume index more than a ring ahead of the used index is refused */
	vring_msg(10, 0, 200, 0);
	vring_fd(12, 0, eventfd(0, EFD_CLOEXEC));
	CHECK(!dev.vu.vring[0].started);
	/* ring addresses outside the table: the ring does not start */
	vring_msg(11, 0, 0, 0);
	CHECK(reply(11, st, sizeof(st)) == 8);
	vring_msg(10, 0, 0, 0);
	vring_addr(0, UVA_BASE + MEM_SIZE, UVA_BASE + used, UVA_BASE + avail);
	vring_fd(12, 0, eventfd(0, EFD_CLOEXEC));
	CHECK(!dev.vu.vring[0].started);

	/* requests refused without ending the connection */
	vring_msg(8, 1, 100, NEED_REPLY); /* not a power of two */
	CHECK(u64_reply(8) == 1);
	msg(25, NEED_REPLY, cfg, sizeof(cfg), 0, 0); /* SET_CONFIG: read-only */
	CHECK(u64_reply(25) == 1);
	uint64_t nofd = 1u | (1u << 8); /* SET_VRING_KICK without fd: polling, refused */
	msg(12, NEED_REPLY, &nofd, 8, 0, 0);
	CHECK(u64_reply(12) == 1);
	CHECK(vu_dev_connected(&dev.vu));
	/* protocol errors end the connection, not the process */
	vring_msg(8, 7, 64, 0); /* no queue 7 */
	CHECK(!vu_dev_connected(&dev.vu));
	CHECK(dev.vu.mem.n == 0 && !dev.vu.vring[1].started && !dev.vu.inflight.map);

	/* a new front-end with packed rings: SET/GET_VRING_BASE carry the
	 * 32-bit packed base (<virtq/inflight.h>), a ring starts fresh at
	 * 0x80008000 and resumes elsewhere with nothing in flight */
	close(fe);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    vu_dev_attach(&dev.vu, sv[0]) < 0)
		return 1;
	fe = sv[1];
	msg(16, 0, &pf, 8, 0, 0); /* REPLY_ACK again */
	msg(2, NEED_REPLY, &packed_feat, 8, 0, 0);
	CHECK(u64_reply(2) == 0);
	mem_table(mfd, MEM_SIZE, NEED_REPLY);
	CHECK(u64_reply(5) == 0);
	memset(guest, 0, 0x3000); /* no descriptor available */
	const uint64_t driver_event = 0x1000, device_event = 0x2000;
	vring_msg(8, 0, 64, 0);
	vring_msg(10, 0, VIRTQ_PACKED_BASE_FRESH, NEED_REPLY);
	CHECK(u64_reply(10) == 0);
	/* SET_VRING_ADDR: desc, used (device event), avail (driver event) */
	vring_addr(0, UVA_BASE + desc, UVA_BASE + device_event, UVA_BASE + driver_event);
	int pcall = eventfd(0, EFD_CLOEXEC);
	vring_fd(13, 0, pcall);
	vring_fd(12, 0, eventfd(0, EFD_CLOEXEC));
	vring_msg(18, 0, 1, NEED_REPLY);
	CHECK(u64_reply(18) == 0);
	CHECK(dev.vu.vring[0].started && dev.vu.vring[0].q.packed);
	CHECK(virtq_next_avail(&dev.vu.vring[0].q) == 0x8000 &&
	      virtq_next_used(&dev.vu.vring[0].q) == 0x8000);
	/* a memory table change keeps the drained packed ring running, where it was */
	mem_table(mfd, MEM_SIZE, NEED_REPLY);
	CHECK(u64_reply(5) == 0);
	CHECK(dev.vu.vring[0].started && dev.vu.vring[0].q.packed);
	vring_msg(11, 0, 0, 0);
	CHECK(reply(11, st, sizeof(st)) == 8 && st[0] == 0 && st[1] == VIRTQ_PACKED_BASE_FRESH);
	CHECK(!dev.vu.vring[0].started);
	/* resumed at avail and used position 5 of the second lap (wrap 0) */
	const uint32_t lap2 = VIRTQ_PACKED_BASE(5, 5);
	vring_msg(10, 0, lap2, NEED_REPLY);
	CHECK(u64_reply(10) == 0);
	vring_fd(12, 0, eventfd(0, EFD_CLOEXEC));
	CHECK(dev.vu.vring[0].started);
	CHECK(virtq_next_avail(&dev.vu.vring[0].q) == 5 && virtq_next_used(&dev.vu.vring[0].q) == 5);
	mem_table(mfd, MEM_SIZE, NEED_REPLY); /* parked and resumed there */
	CHECK(u64_reply(5) == 0);
	CHECK(dev.vu.vring[0].started && virtq_next_avail(&dev.vu.vring[0].q) == 5 &&
	      virtq_next_used(&dev.vu.vring[0].q) == 5);
	vring_msg(11, 0, 0, 0);
	CHECK(reply(11, st, sizeof(st)) == 8 && st[1] == lap2);
	/* avail ahead of used: chains in flight, which virtq cannot resume */
	vring_msg(10, 0, VIRTQ_PACKED_BASE(7, 5), NEED_REPLY);
	CHECK(u64_reply(10) == 0);
	vring_fd(12, 0, eventfd(0, EFD_CLOEXEC));
	CHECK(!dev.vu.vring[0].started);
	/* a position outside the ring */
	vring_msg(10, 0, VIRTQ_PACKED_BASE(0x8000 | 64, 0x8000 | 64), NEED_REPLY);
	CHECK(u64_reply(10) == 0);
	vring_fd(12, 0, eventfd(0, EFD_CLOEXEC));
	CHECK(!dev.vu.vring[0].started);
	close(pcall);

	/* a new front-end: a message larger than any valid one ends it */
	close(fe);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    vu_dev_attach(&dev.vu, sv[0]) < 0)
		return 1;
	fe = sv[1];
	uint32_t hdr[3] = { 1, 1, 1u << 20 };
	CHECK(send(fe, hdr, sizeof(hdr), 0) == sizeof(hdr));
	ev_loop_run_once(&loop, 100);
	CHECK(!vu_dev_connected(&dev.vu));

	close(fe);
	munmap(iarea, isize);
	close(ifd);
	munmap(guest, MEM_SIZE);
	close(mfd);
	close(kick);
	close(call);
	vsock_dev_close(&dev);
	ev_loop_close(&loop);
	rmdir(dir);
	printf("test_vhost_user: %s\n", test_failures ? "FAILED" : "all checks passed");
	return test_failures != 0;
}

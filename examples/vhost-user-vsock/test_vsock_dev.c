/* SPDX-License-Identifier: MIT */
/*
 * The vsock device with the mock driver as its guest: the paths a well-behaved
 * Linux guest never takes (tests/e2e covers those it takes). Malformed
 * packets are dropped or reset their connection, a malformed ring breaks its
 * queue, and the device keeps serving. Host sockets are real Unix sockets.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>
#include <virtq/vsock.h>

#include "host_sock.h"
#include "log.h"
#include "test_check.h"
#include "unix_sock.h"
#include "vsock_dev.h"




#define GUEST_CID 3u
#define RX_BUF (VIRTQ_VSOCK_HDR_SIZE + 4096u)

static struct ev_loop loop;
static struct vsock_dev dev;
static struct virtq_mock rxm, txm;
static uint64_t rx_gpa[256]; /* RX buffer of each head */
static char uds[108];

static void post_rx(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = virtq_mock_alloc(&rxm, RX_BUF, 8);
		struct virtq_mock_buf b = { gpa, RX_BUF, true };
		int head = virtq_mock_add_chain(&rxm, &b, 1, 0);
		CHECK(head >= 0);
		if (head >= 0)
			rx_gpa[head] = gpa;
	}
}

/* The next packet the device put in RX: 1 with *h (and data), 0 if none. */
static int next_rx(struct virtq_vsock_hdr *h, void *data, size_t cap)
{
	uint32_t id, len;
	if (virtq_mock_get_used(&rxm, &id, &len) != 1)
		return 0;
	unsigned char raw[VIRTQ_VSOCK_HDR_SIZE];
	CHECK(len >= VIRTQ_VSOCK_HDR_SIZE);
	virtq_mock_read(&rxm, rx_gpa[id], raw, sizeof(raw));
	virtq_vsock_hdr_decode(h, raw);
	CHECK(len == VIRTQ_VSOCK_HDR_SIZE + h->len);
	if (data && h->len <= cap)
		virtq_mock_read(&rxm, rx_gpa[id] + VIRTQ_VSOCK_HDR_SIZE, data, h->len);
	return 1;
}

static void kick(unsigned idx)
{
	dev.vu.ops->ring_kicked(&dev.vu, idx);
}

/* The guest sends a packet, header and data in separate descriptors. */
static void send_raw(const void *bytes, uint32_t len)
{
	uint64_t gpa = virtq_mock_alloc(&txm, len ? len : 1, 8);
	virtq_mock_write(&txm, gpa, bytes, len);
	uint32_t first = len < VIRTQ_VSOCK_HDR_SIZE ? len : VIRTQ_VSOCK_HDR_SIZE;
	struct virtq_mock_buf b[2] = { { gpa, first, false },
				       { gpa + first, len - first, false } };
	CHECK(virtq_mock_add_chain(&txm, b, len > first ? 2 : 1, 0) >= 0);
	kick(VSOCK_TX);
	uint32_t id, used_len;
	while (virtq_mock_get_used(&txm, &id, &used_len) == 1)
		;
}

static void send_pkt(uint32_t src_port, uint32_t dst_port, uint16_t op, uint32_t flags,
		     const void *data, uint32_t len, uint32_t claimed_len)
{
	static unsigned char buf[VIRTQ_VSOCK_HDR_SIZE + 70000];
	struct virtq_vsock_hdr h = {
		.src_cid = GUEST_CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port,
		.dst_port = dst_port, .len = claimed_len, .type = VIRTQ_VSOCK_TYPE_STREAM,
		.op = op, .flags = flags, .buf_alloc = 65536, .fwd_cnt = 0,
	};
	virtq_vsock_hdr_encode(&h, buf);
	if (len)
		memcpy(buf + VIRTQ_VSOCK_HDR_SIZE, data, len);
	send_raw(buf, VIRTQ_VSOCK_HDR_SIZE + len);
}

static void run_loop(void)
{
	for (int i = 0; i < 5; i++) {
		ev_loop_run_once(&loop, 20);
		vsock_dev_reap(&dev);
	}
}

static int unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A host server on <uds>_port; returns the listening fd. */
static int host_server(uint32_t port)
{
	char path[160];
	snprintf(path, sizeof(path), "%s_%u", uds, port);
	int fd = unix_sock_listen(path);
	CHECK(fd >= 0);
	return fd;
}

static int accept_one(int lfd)
{
	int fd = -1;
	for (int i = 0; i < 50 && fd < 0; i++) {
		fd = accept4(lfd, 0, 0, SOCK_CLOEXEC);
		if (fd < 0)
			usleep(1000);
	}
	return fd;
}

/* Guest port gp connects to host port hp; returns the host's end. */
static int guest_connects(int lfd, uint32_t gp, uint32_t hp)
{
	struct virtq_vsock_hdr h;
	send_pkt(gp, hp, VIRTQ_VSOCK_OP_REQUEST, 0, 0, 0, 0);
	CHECK(next_rx(&h, 0, 0) == 1);
	CHECK(h.op == VIRTQ_VSOCK_OP_RESPONSE && h.src_port == hp && h.dst_port == gp);
	CHECK(h.src_cid == VSOCK_HOST_CID && h.dst_cid == GUEST_CID);
	CHECK(h.buf_alloc == CONN_BUF_ALLOC && h.fwd_cnt == 0);
	int fd = accept_one(lfd);
	CHECK(fd >= 0);
	return fd;
}

static void expect_rst(uint32_t gp, uint32_t hp)
{
	struct virtq_vsock_hdr h;
	CHECK(next_rx(&h, 0, 0) == 1);
	CHECK(h.op == VIRTQ_VSOCK_OP_RST && h.src_port == hp && h.dst_port == gp);
}

static void expect_host_eof(int fd)
{
	char c;
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	errno = 0;
	ssize_t r = read(fd, &c, 1);
	CHECK(r == 0 || (r < 0 && errno != EAGAIN));
}

static void test_data_both_ways(int lfd)
{
	int fd = guest_connects(lfd, 1001, 5000);
	send_pkt(1001, 5000, VIRTQ_VSOCK_OP_RW, 0, "hello host", 10, 10);
	char buf[64] = { 0 };
	CHECK(read(fd, buf, sizeof(buf)) == 10 && !memcmp(buf, "hello host", 10));
	CHECK(write(fd, "hi guest", 8) == 8);
	run_loop();
	struct virtq_vsock_hdr h;
	CHECK(next_rx(&h, buf, sizeof(buf)) == 1);
	CHECK(h.op == VIRTQ_VSOCK_OP_RW && h.len == 8 && !memcmp(buf, "hi guest", 8));
	CHECK(h.fwd_cnt == 10);
	/* the guest closes: the host sees the end, the guest gets its RST */
	send_pkt(1001, 5000, VIRTQ_VSOCK_OP_SHUTDOWN,
		 VIRTQ_VSOCK_SHUTDOWN_RCV | VIRTQ_VSOCK_SHUTDOWN_SEND, 0, 0, 0);
	expect_rst(1001, 5000);
	expect_host_eof(fd);
	close(fd);
}

static void test_bad_packets(int lfd)
{
	struct virtq_vsock_hdr h;
	unsigned char junk[30] = { 1, 2, 3 };
	/* too short for a header: dropped, nothing answered, queue fine */
	send_raw(junk, sizeof(junk));
	CHECK(next_rx(&h, 0, 0) == 0);
	CHECK(!virtq_is_broken(&dev.vu.vring[VSOCK_TX].q));
	/* foreign CIDs: dropped */
	unsigned char raw[VIRTQ_VSOCK_HDR_SIZE];
	struct virtq_vsock_hdr f = { .src_cid = 7, .dst_cid = 2, .src_port = 1, .dst_port = 5000,
				     .type = VIRTQ_VSOCK_TYPE_STREAM, .op = VIRTQ_VSOCK_OP_REQUEST };
	virtq_vsock_hdr_encode(&f, raw);
	send_raw(raw, sizeof(raw));
	CHECK(next_rx(&h, 0, 0) == 0);
	/* data for no connection: RST */
	send_pkt(1002, 5000, VIRTQ_VSOCK_OP_RW, 0, "x", 1, 1);
	expect_rst(1002, 5000);
	/* nobody on host port 5999: RST */
	send_pkt(1003, 5999, VIRTQ_VSOCK_OP_REQUEST, 0, 0, 0, 0);
	expect_rst(1003, 5999);
	/* a SEQPACKET request (not offered): RST */
	f = (struct virtq_vsock_hdr){ .src_cid = GUEST_CID, .dst_cid = 2, .src_port = 1004,
				      .dst_port = 5000, .type = VIRTQ_VSOCK_TYPE_SEQPACKET,
				      .op = VIRTQ_VSOCK_OP_REQUEST };
	virtq_vsock_hdr_encode(&f, raw);
	send_raw(raw, sizeof(raw));
	expect_rst(1004, 5000);

	/* on a connection: len above the maximum packet resets it */
	int fd = guest_connects(lfd, 1005, 5000);
	send_pkt(1005, 5000, VIRTQ_VSOCK_OP_RW, 0, "abc", 3, 70000);
	expect_rst(1005, 5000);
	expect_host_eof(fd);
	close(fd);
	/* len beyond the descriptors resets it too */
	fd = guest_connects(lfd, 1006, 5000);
	send_pkt(1006, 5000, VIRTQ_VSOCK_OP_RW, 0, "abc", 3, 4000);
	expect_rst(1006, 5000);
	expect_host_eof(fd);
	close(fd);
	/* an op that makes no sense when established: reset */
	fd = guest_connects(lfd, 1007, 5000);
	send_pkt(1007, 5000, VIRTQ_VSOCK_OP_RESPONSE, 0, 0, 0, 0);
	expect_rst(1007, 5000);
	expect_host_eof(fd);
	close(fd);
	/* data after the guest's SHUTDOWN(SEND): reset */
	fd = guest_connects(lfd, 1008, 5000);
	send_pkt(1008, 5000, VIRTQ_VSOCK_OP_SHUTDOWN, VIRTQ_VSOCK_SHUTDOWN_SEND, 0, 0, 0);
	send_pkt(1008, 5000, VIRTQ_VSOCK_OP_RW, 0, "late", 4, 4);
	expect_rst(1008, 5000);
	close(fd);
	/* a CREDIT_REQUEST is answered with our credit */
	fd = guest_connects(lfd, 1009, 5000);
	send_pkt(1009, 5000, VIRTQ_VSOCK_OP_CREDIT_REQUEST, 0, 0, 0, 0);
	CHECK(next_rx(&h, 0, 0) == 1);
	CHECK(h.op == VIRTQ_VSOCK_OP_CREDIT_UPDATE && h.buf_alloc == CONN_BUF_ALLOC);
	send_pkt(1009, 5000, VIRTQ_VSOCK_OP_RST, 0, 0, 0, 0);
	expect_host_eof(fd);
	close(fd);
	CHECK(next_rx(&h, 0, 0) == 0); /* no answer to an RST */
}

static void test_host_connects(void)
{
	int fd = unix_connect(uds);
	CHECK(fd >= 0);
	CHECK(write(fd, "CONNECT 1234\n", 13) == 13);
	run_loop();
	struct virtq_vsock_hdr h;
	CHECK(next_rx(&h, 0, 0) == 1);
	CHECK(h.op == VIRTQ_VSOCK_OP_REQUEST && h.dst_port == 1234 && h.src_port >= (1u << 30));
	uint32_t hp = h.src_port;
	send_pkt(1234, hp, VIRTQ_VSOCK_OP_RESPONSE, 0, 0, 0, 0);
	char line[32] = { 0 }, want[32];
	snprintf(want, sizeof(want), "OK %u\n", hp);
	CHECK(read(fd, line, sizeof(line) - 1) == (ssize_t)strlen(want) && !strcmp(line, want));
	close(fd);
	run_loop(); /* host end of file: SHUTDOWN(SEND) to the guest */
	CHECK(next_rx(&h, 0, 0) == 1);
	CHECK(h.op == VIRTQ_VSOCK_OP_SHUTDOWN && h.flags == VIRTQ_VSOCK_SHUTDOWN_SEND);
	send_pkt(1234, hp, VIRTQ_VSOCK_OP_RST, 0, 0, 0, 0);

	/* a malformed CONNECT line: closed, nothing sent to the guest */
	fd = unix_connect(uds);
	CHECK(write(fd, "CONNECT 99999999999\n", 20) == 20);
	run_loop();
	CHECK(next_rx(&h, 0, 0) == 0);
	expect_host_eof(fd);
	close(fd);
}

/* Runs first, on an empty RX ring. */
static void test_bad_rx_buffer(void)
{
	/* an RX buffer the device cannot write into is returned empty */
	uint64_t gpa = virtq_mock_alloc(&rxm, 64, 8);
	struct virtq_mock_buf b = { gpa, 64, false };
	int head = virtq_mock_add_chain(&rxm, &b, 1, 0);
	CHECK(head >= 0);
	send_pkt(1010, 5999, VIRTQ_VSOCK_OP_REQUEST, 0, 0, 0, 0);
	uint32_t id, len;
	CHECK(virtq_mock_get_used(&rxm, &id, &len) == 1 && id == (uint32_t)head && len == 0);
	post_rx(1);
	kick(VSOCK_RX);
	expect_rst(1010, 5999);
}

static void test_bad_tx_ring(void)
{
	struct virtq_vsock_hdr h;
	/* a TX ring whose avail index jumps: the queue breaks, the process lives */
	virtq_mock_set_avail_idx(&txm, (uint16_t)(txm.avail_idx + 1000));
	kick(VSOCK_TX);
	CHECK(virtq_is_broken(&dev.vu.vring[VSOCK_TX].q));
	kick(VSOCK_TX);
	CHECK(next_rx(&h, 0, 0) == 0);
}

int main(void)
{
	char dir[] = "/tmp/virtq-vsock-test-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	snprintf(uds, sizeof(uds), "%s/vm.vsock", dir);
	if (ev_loop_init(&loop) < 0 || vsock_dev_init(&dev, &loop, GUEST_CID, uds) < 0)
		return 1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    vu_dev_attach(&dev.vu, sv[0]) < 0)
		return 1;
	struct virtq_mock_config cfg;
	virtq_mock_config_default(&cfg);
	cfg.regions[0].size = 16u << 20;
	cfg.features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	if (virtq_mock_init(&rxm, &cfg) || virtq_mock_init(&txm, &cfg) ||
	    virtq_mock_attach(&rxm, &dev.vu.vring[VSOCK_RX].q) ||
	    virtq_mock_attach(&txm, &dev.vu.vring[VSOCK_TX].q))
		return 1;
	dev.vu.vring[VSOCK_RX].started = dev.vu.vring[VSOCK_TX].started = true;
	test_bad_rx_buffer();
	post_rx(64);

	int lfd = host_server(5000);
	test_data_both_ways(lfd);
	test_bad_packets(lfd);
	test_host_connects();
	test_bad_tx_ring();

	close(lfd);
	dev.vu.vring[VSOCK_RX].started = dev.vu.vring[VSOCK_TX].started = false;
	vsock_dev_close(&dev);
	close(sv[1]);
	ev_loop_close(&loop);
	virtq_mock_destroy(&rxm);
	virtq_mock_destroy(&txm);
	char path[160];
	snprintf(path, sizeof(path), "%s_5000", uds);
	unlink(path);
	rmdir(dir);
	printf("test_vsock_dev: %s\n", test_failures ? "FAILED" : "all checks passed");
	return test_failures != 0;
}

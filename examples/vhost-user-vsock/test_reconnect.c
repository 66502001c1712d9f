/* SPDX-License-Identifier: MIT */
/*
 * Back-end restart with INFLIGHT_SHMFD: the real virtq-vsock-vhost-user
 * driven by a scripted front-end (../vhost-user/test_frontend.c) that keeps
 * its TX ring full of packets and its RX ring full of buffers. Each round
 * the back-end is stopped (SIGSTOP) until the shared inflight region shows
 * chains in flight, then killed (SIGKILL) there, restarted, and the rings
 * restarted at their used index as QEMU does. At the end every TX packet
 * posted must have been completed exactly once (the front-end counts an id
 * completed twice as an error, and none may be left), and every RX buffer
 * at most once.
 *
 *   test_reconnect BACKEND [ROUNDS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <virtq/inflight.h>

#include "test_check.h"
#include "test_frontend.h"
#include "test_process.h"

#define RX 0u
#define TX 1u
#define EVENT 2u
#define QSIZE 64u
#define MEM_SIZE (4u << 20)
#define HDR 44u
#define RX_BUF 4096u
/* vhost-user features: VERSION_1, PROTOCOL_FEATURES; INFLIGHT_SHMFD */
#define FEATURES ((1ull << 32) | (1ull << 30))
#define INFLIGHT_SHMFD (1ull << 12)
/* VIRTQ_INFLIGHT_BYTES(64) and VIRTQ_JOURNAL_BYTES(64), each rounded up to 64 */
#define AREA_BYTES (1088u + 2112u)

static const char *backend;
static char dir[] = "/tmp/virtq-reconnect-XXXXXX";
static char sock_path[128], uds_path[128], log_path[128];
static struct fe fe;
static pid_t pid = -1;
static uint64_t tx_posted, tx_done, rx_done;

static pid_t start_backend(void)
{
	const char *argv[] = { backend, "--socket", sock_path, "--uds-path", uds_path, 0 };
	return tp_spawn(log_path, argv);
}

/* The guest's side of a connect to host port 9: nobody listens there, so
 * each packet gets an RST on RX. */
static void tx_packet(uint64_t gpa, uint32_t n)
{
	unsigned char h[HDR] = { 0 };
	uint64_t src_cid = 3, dst_cid = 2;
	uint32_t src_port = 1000 + n % 50000, dst_port = 9, buf_alloc = 65536;
	uint16_t type = 1, op = 1; /* STREAM, REQUEST */
	memcpy(h, &src_cid, 8);
	memcpy(h + 8, &dst_cid, 8);
	memcpy(h + 16, &src_port, 4);
	memcpy(h + 20, &dst_port, 4);
	memcpy(h + 28, &type, 2);
	memcpy(h + 30, &op, 2);
	memcpy(h + 36, &buf_alloc, 4);
	memcpy(fe.mem + gpa, h, HDR);
}

static uint64_t tx_gpa(uint16_t head)
{
	return FE_BUF_GPA + 64u * head;
}
static uint64_t rx_gpa(uint16_t head)
{
	return FE_BUF_GPA + 0x10000u + (uint64_t)RX_BUF * head;
}

/* Fills both rings; reaps what came back. */
static void traffic(void)
{
	uint16_t id;
	uint32_t len;
	while (fe_reap(&fe, TX, &id, &len) == 1)
		tx_done++;
	while (fe_reap(&fe, RX, &id, &len) == 1)
		rx_done++;
	/* one descriptor per chain, and the head is the descriptor: its buffer
	 * slot is known before posting */
	struct fe_ring *tx = &fe.ring[TX], *rx = &fe.ring[RX];
	bool posted = false;
	while (tx->nfree) {
		uint16_t head = tx->free[tx->nfree - 1];
		tx_packet(tx_gpa(head), (uint32_t)tx_posted);
		struct fe_buf b = { tx_gpa(head), HDR, false };
		CHECK(fe_post(&fe, TX, &b, 1) == head);
		tx_posted++;
		posted = true;
	}
	if (posted)
		fe_kick(&fe, TX);
	posted = false;
	while (rx->nfree) {
		uint16_t head = rx->free[rx->nfree - 1];
		struct fe_buf b = { rx_gpa(head), RX_BUF, true };
		CHECK(fe_post(&fe, RX, &b, 1) == head);
		posted = true;
	}
	if (posted)
		fe_kick(&fe, RX);
}

/* The whole setup QEMU does, at each ring's used index. */
static int connect_and_start(void)
{
	if (fe_connect(&fe, sock_path) < 0 || fe_handshake(&fe, FEATURES, INFLIGHT_SHMFD) < 0 ||
	    !(fe.protocol_features & INFLIGHT_SHMFD) || fe_inflight(&fe, 3, QSIZE) < 0 ||
	    fe_mem_table(&fe) < 0)
		return -1;
	for (unsigned i = 0; i < 3; i++)
		if (fe_ring_start(&fe, i, QSIZE, fe_ring_used_idx(&fe, i)) < 0)
			return -1;
	return 0;
}

/* Heads the region marks in flight, on RX and TX. */
static unsigned region_in_flight(void)
{
	unsigned n = 0;
	for (unsigned q = RX; q <= TX; q++)
		for (unsigned h = 0; h < QSIZE; h++)
			n += fe.inflight[q * AREA_BYTES + 16 + 16 * h] == 1;
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	backend = argv[1];
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/vhost.sock", dir);
	snprintf(uds_path, sizeof(uds_path), "%s/vm.vsock", dir);
	snprintf(log_path, sizeof(log_path), "%s/backend.log", dir);
	signal(SIGPIPE, SIG_IGN);
	if (fe_init(&fe, MEM_SIZE) < 0)
		return 1;
	pid = start_backend();
	CHECK(connect_and_start() == 0);
	unsigned caught = 0;
	for (unsigned r = 0; r < rounds && test_failures == 0; r++) {
		/* A loaded machine may never stop the back-end with chains in
		 * flight within one attempt: a round then kills and restarts again. */
		unsigned n = 0;
		for (unsigned attempt = 0; attempt < 5 && !n && test_failures == 0; attempt++) {
			/* about 20 ms of traffic first; the heads the region held */
			n = tp_kill_mid_traffic(pid, r + attempt * rounds, 200, 400, traffic,
						region_in_flight);
			fe_disconnect(&fe);
			pid = start_backend();
			CHECK(connect_and_start() == 0);
		}
		caught += n != 0;
	}
	/* drain: no more TX packets; every one posted comes back once */
	for (unsigned i = 0; i < 5000 && fe.ring[TX].outstanding; i++) {
		uint16_t id;
		uint32_t len;
		while (fe_reap(&fe, TX, &id, &len) == 1)
			tx_done++;
		tp_sleep_us(1000);
	}
	unsigned resubmits = tp_count_lines(log_path, "completed again");
	printf("test_reconnect: %u rounds, %u killed with chains in flight, %u rings resubmitted; "
	       "TX %llu posted, %llu completed; RX %llu completed\n",
	       rounds, caught, resubmits, (unsigned long long)tx_posted,
	       (unsigned long long)tx_done, (unsigned long long)rx_done);
	CHECK(caught == rounds);   /* every kill hit chains in flight */
	CHECK(fe.errors == 0);     /* nothing completed twice */
	CHECK(fe.ring[TX].outstanding == 0 && tx_done == tx_posted); /* nothing lost */
	CHECK(resubmits > 0);
	CHECK(tp_stop(pid));
	if (test_failures)
		tp_show_log(log_path, 20);
	fe_destroy(&fe);
	unlink(log_path);
	rmdir(dir);
	printf("test_reconnect: %s\n", test_failures ? "FAILED" : "all checks passed");
	return test_failures != 0;
}

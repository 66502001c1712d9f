/* SPDX-License-Identifier: MIT */
/*
 * Back-end restart of the blk device without QEMU: the real
 * virtq-blk-vhost-user driven by the scripted front-end
 * (../vhost-user/test_frontend.c) on two queues kept full of 4 KiB writes.
 * Each round the back-end is stopped (SIGSTOP) until the shared inflight
 * region shows requests in flight, killed there (SIGKILL), restarted, and the
 * rings restarted at their used index as QEMU does. At the end every write
 * must have completed exactly once with status OK (an id completed twice is
 * an error of the front-end), and the image must hold, in every block, the
 * last write to it.
 *
 *   test_blk_restart BACKEND [ROUNDS]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_check.h"
#include "test_frontend.h"
#include "test_process.h"

#define QUEUES 2u
#define QSIZE 64u
#define MEM_SIZE (4u << 20)
#define BLOCK 4096u
#define NBLOCKS 512u /* more than the requests in flight: one writer per block at a time */
#define FEATURES ((1ull << 32) | (1ull << 30)) /* VERSION_1, PROTOCOL_FEATURES */
#define INFLIGHT_SHMFD (1ull << 12)
#define MQ 1ull
/* VIRTQ_INFLIGHT_BYTES(64) and VIRTQ_JOURNAL_BYTES(64), each rounded up to 64 */
#define AREA_BYTES (1088u + 2112u)

static const char *backend;
static char dir[] = "/tmp/virtq-blk-restart-XXXXXX";
static char sock_path[128], image_path[128], log_path[128];
static struct fe fe;
static pid_t pid = -1;
static uint64_t posted, completed, bad_status;
static uint64_t last_writer[NBLOCKS]; /* 1 + the request number that last wrote the block */
static uint64_t request_of[QUEUES][QSIZE];

static pid_t start_backend(void)
{
	const char *argv[] = { backend, "--socket", sock_path, "--image", image_path,
			 "--num-queues", "2", 0 };
	return tp_spawn(log_path, argv);
}

/* Head h of queue q: header at +0, status at +16, data at +BLOCK. */
static uint64_t slot_gpa(unsigned q, uint16_t h)
{
	return FE_BUF_GPA + (uint64_t)(q * QSIZE + h) * 2 * BLOCK;
}

static void fill_block(unsigned char *p, uint64_t request, uint64_t block)
{
	for (unsigned i = 0; i < BLOCK; i += 8) {
		uint64_t w = request << 32 | block << 16 | i;
		memcpy(p + i, &w, 8);
	}
}

static void reap(void)
{
	for (unsigned q = 0; q < QUEUES; q++) {
		uint16_t id;
		uint32_t len;
		while (fe_reap(&fe, q, &id, &len) == 1) {
			completed++;
			if (len != 1 || fe.mem[slot_gpa(q, id) + 16] != 0)
				bad_status++;
		}
	}
}

static void traffic(void)
{
	reap();
	for (unsigned q = 0; q < QUEUES; q++) {
		struct fe_ring *r = &fe.ring[q];
		bool any = false;
		while (r->nfree >= 3) {
			uint16_t head = r->free[r->nfree - 1];
			uint64_t g = slot_gpa(q, head), n = posted++, block = n % NBLOCKS;
			unsigned char hdr[16] = { 1 }; /* OUT */
			uint64_t sector = block * (BLOCK / 512);
			memcpy(hdr + 8, &sector, 8);
			memcpy(fe.mem + g, hdr, 16);
			fe.mem[g + 16] = 0xee;
			fill_block(fe.mem + g + BLOCK, n, block);
			struct fe_buf b[3] = { { g, 16, false }, { g + BLOCK, BLOCK, false },
					       { g + 16, 1, true } };
			CHECK(fe_post(&fe, q, b, 3) == head);
			request_of[q][head] = n;
			last_writer[block] = n + 1;
			any = true;
		}
		if (any)
			fe_kick(&fe, q);
	}
}

static int connect_and_start(void)
{
	if (fe_connect(&fe, sock_path) < 0 ||
	    fe_handshake(&fe, FEATURES, INFLIGHT_SHMFD | MQ) < 0 ||
	    !(fe.protocol_features & INFLIGHT_SHMFD) || fe_inflight(&fe, QUEUES, QSIZE) < 0 ||
	    fe_mem_table(&fe) < 0)
		return -1;
	for (unsigned q = 0; q < QUEUES; q++)
		if (fe_ring_start(&fe, q, QSIZE, fe_ring_used_idx(&fe, q)) < 0)
			return -1;
	return 0;
}

static unsigned region_in_flight(void)
{
	unsigned n = 0;
	for (unsigned q = 0; q < QUEUES; q++)
		for (unsigned h = 0; h < QSIZE; h++)
			n += fe.inflight[q * AREA_BYTES + 16 + 16 * h] == 1;
	return n;
}


/* Every block holds its last write (or zeroes if none). */
static unsigned image_mismatches(void)
{
	static unsigned char got[BLOCK], want[BLOCK];
	int fd = open(image_path, O_RDONLY | O_CLOEXEC);
	unsigned bad = 0;
	for (uint64_t b = 0; b < NBLOCKS && fd >= 0; b++) {
		if (pread(fd, got, BLOCK, (off_t)(b * BLOCK)) != BLOCK)
			return NBLOCKS;
		memset(want, 0, BLOCK);
		if (last_writer[b])
			fill_block(want, last_writer[b] - 1, b);
		bad += memcmp(got, want, BLOCK) != 0;
	}
	if (fd >= 0)
		close(fd);
	return fd < 0 ? NBLOCKS : bad;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	backend = argv[1];
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/blk.sock", dir);
	snprintf(image_path, sizeof(image_path), "%s/disk.img", dir);
	snprintf(log_path, sizeof(log_path), "%s/backend.log", dir);
	int fd = open(image_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)NBLOCKS * BLOCK) < 0)
		return 1;
	close(fd);
	signal(SIGPIPE, SIG_IGN);
	if (fe_init(&fe, MEM_SIZE) < 0)
		return 1;
	pid = start_backend();
	CHECK(connect_and_start() == 0);
	unsigned caught = 0;
	for (unsigned r = 0; r < rounds && test_failures == 0; r++) {
		/* A loaded machine may never stop the back-end with a request in
		 * flight within one attempt: a round then kills and restarts again. */
		bool hit = false;
		for (unsigned attempt = 0; attempt < 5 && !hit && test_failures == 0; attempt++) {
			hit = tp_kill_mid_traffic(pid, r + attempt * rounds, 100, 300, traffic,
						  region_in_flight) != 0;
			fe_disconnect(&fe);
			pid = start_backend();
			CHECK(connect_and_start() == 0);
		}
		caught += hit;
	}
	for (unsigned i = 0; i < 5000 && (fe.ring[0].outstanding || fe.ring[1].outstanding); i++) {
		reap();
		tp_sleep_us(1000);
	}
	unsigned resubmits = tp_count_lines(log_path, "served again"), mismatches = image_mismatches();
	printf("test_blk_restart: %u rounds, %u killed with requests in flight, %u queues "
	       "resubmitted; %llu writes posted, %llu completed, %llu bad status; %u blocks differ\n",
	       rounds, caught, resubmits, (unsigned long long)posted,
	       (unsigned long long)completed, (unsigned long long)bad_status, mismatches);
	CHECK(caught == rounds);
	CHECK(fe.errors == 0);                      /* nothing completed twice */
	CHECK(completed == posted && bad_status == 0); /* nothing lost, no error */
	CHECK(mismatches == 0);                     /* the image holds the last writes */
	CHECK(resubmits > 0);
	CHECK(tp_stop(pid));
	if (test_failures)
		tp_show_log(log_path, 20);
	fe_destroy(&fe);
	unlink(log_path);
	unlink(image_path);
	rmdir(dir);
	printf("test_blk_restart: %s\n", test_failures ? "FAILED" : "all checks passed");
	return test_failures != 0;
}

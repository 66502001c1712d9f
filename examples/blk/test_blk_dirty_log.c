/* SPDX-License-Identifier: MIT */
/*
 * Dirty logging of the real virtq-blk-vhost-user (VHOST_F_LOG_ALL,
 * SET_LOG_BASE with LOG_SHMFD) driven by the scripted front-end
 * (../vhost-user/test_frontend.c) as QEMU drives it during a migration:
 * SET_LOG_BASE refused for a log that is too small, not page-aligned, beyond
 * its file, of a bad size or without its fd, and accepted otherwise; then
 * SET_FEATURES with LOG_ALL and SET_VRING_ADDR with the LOG flag on the
 * running ring. An IN request served then must set the bits of the pages
 * the device wrote (data, status byte, used ring) and not of the page it
 * only read (the header); with LOG_ALL off again nothing is logged.
 *
 *   test_blk_dirty_log BACKEND
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_check.h"
#include "test_frontend.h"
#include "test_process.h"

#define MEM_SIZE (4u << 20)
#define QSIZE 64u
#define SECTORS 256u
/* VERSION_1, PROTOCOL_FEATURES; LOG_ALL separately */
#define FEATURES ((1ull << 32) | (1ull << 30))
#define LOG_ALL (1ull << 26)
#define LOG_SHMFD (1ull << 1)
#define REQ_SET_FEATURES 2u
#define REQ_SET_LOG_BASE 6u
#define REQ_SET_VRING_ADDR 9u
#define NEED_REPLY 8u
#define LOG_BYTES 128u          /* 1024 pages of 4 KiB: the 4 MiB of guest memory */
#define LOG_OFFSET 4096u        /* the log's place in its file */
#define LOG_FILE (LOG_OFFSET + LOG_BYTES)
/* the request's buffers, each on its own page */
#define HDR_GPA 0x100000ull
#define DATA_GPA 0x203000ull
#define STATUS_GPA 0x305000ull
#define USED_GPA (FE_RING_GPA(0) + 0x8000) /* test_frontend's ring layout */

static char dir[] = "/tmp/virtq-blk-dirty-XXXXXX";
static char sock_path[128], image_path[128], log_path[128];
static struct fe fe;
static int log_fd = -1;
static unsigned char *log_map;

static pid_t start_backend(const char *backend)
{
	const char *argv[] = { backend, "--socket", sock_path, "--image", image_path, 0 };
	return tp_spawn(log_path, argv);
}

static int make_image(void)
{
	static unsigned char img[SECTORS * 512];
	for (unsigned i = 0; i < sizeof(img); i++)
		img[i] = (unsigned char)(i * 13 + 5);
	int fd = open(image_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int ok = write(fd, img, sizeof(img)) == (ssize_t)sizeof(img);
	close(fd);
	return ok ? 0 : -1;
}

/* SET_LOG_BASE: the back-end's answer (0 accepted, else refused), -1 if none. */
static int64_t set_log_base(uint64_t size, uint64_t offset, bool with_fd)
{
	uint64_t p[2] = { size, offset }, ack = 99;
	if (fe_send(&fe, REQ_SET_LOG_BASE, 0, p, sizeof(p), &log_fd, with_fd ? 1 : 0) < 0 ||
	    fe_recv(&fe, REQ_SET_LOG_BASE, &ack, sizeof(ack), 0) != 8)
		return -1;
	return (int64_t)ack;
}

static int set_features(uint64_t f)
{
	return fe_send(&fe, REQ_SET_FEATURES, 0, &f, 8, 0, 0);
}

/* The ring's addresses again, with VHOST_VRING_F_LOG, as QEMU sends them when
 * a migration starts: the back-end's answer (0 accepted). */
static int64_t vring_addr_with_log(void)
{
	unsigned char a[40] = { 0 };
	uint32_t idx = 0, flags = 1;
	uint64_t d = FE_UVA_BASE + fe.ring[0].desc, u = FE_UVA_BASE + fe.ring[0].used,
		 av = FE_UVA_BASE + fe.ring[0].avail, log = fe.ring[0].used;
	memcpy(a, &idx, 4);
	memcpy(a + 4, &flags, 4);
	memcpy(a + 8, &d, 8);
	memcpy(a + 16, &u, 8);
	memcpy(a + 24, &av, 8);
	memcpy(a + 32, &log, 8);
	uint64_t ack = 99;
	if (fe_send(&fe, REQ_SET_VRING_ADDR, NEED_REPLY, a, sizeof(a), 0, 0) < 0 ||
	    fe_recv(&fe, REQ_SET_VRING_ADDR, &ack, 8, 0) != 8)
		return -1;
	return (int64_t)ack;
}

static bool page_logged(uint64_t gpa)
{
	uint64_t page = gpa >> 12;
	return (((unsigned)log_map[LOG_OFFSET + page / 8] >> (page % 8)) & 1u) != 0;
}

static unsigned pages_logged(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < LOG_BYTES; i++)
		n += (unsigned)__builtin_popcount(log_map[LOG_OFFSET + i]);
	return n;
}

/* One 4 KiB IN of sector 8 into DATA_GPA: 1 when served with status OK. */
static int read_request(void)
{
	unsigned char hdr[16] = { 0 }; /* type IN (0) */
	uint64_t sector = 8;
	memcpy(hdr + 8, &sector, 8);
	memcpy(fe.mem + HDR_GPA, hdr, sizeof(hdr));
	memset(fe.mem + DATA_GPA, 0, 4096);
	fe.mem[STATUS_GPA] = 0xee;
	const struct fe_buf b[3] = { { HDR_GPA, 16, false }, { DATA_GPA, 4096, true },
				     { STATUS_GPA, 1, true } };
	if (fe_post(&fe, 0, b, 3) < 0)
		return 0;
	fe_kick(&fe, 0);
	uint16_t id;
	uint32_t len;
	for (int tries = 0; tries < 500; tries++) {
		if (fe_reap(&fe, 0, &id, &len) == 1)
			return len == 4097 && fe.mem[STATUS_GPA] == 0 &&
			       fe.mem[DATA_GPA] == (unsigned char)(8 * 512 * 13 + 5);
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, 0);
	}
	return 0;
}

static void test_log_base_checks(void)
{
	CHECK(set_log_base(64, LOG_OFFSET, true) == 1);          /* too small for 4 MiB */
	CHECK(set_log_base(LOG_BYTES, 100, true) == 1);          /* offset not page-aligned */
	CHECK(set_log_base(LOG_BYTES, 8192, true) == 1);         /* beyond the file */
	CHECK(set_log_base(LOG_BYTES + 4, LOG_OFFSET, true) == 1); /* not whole words */
	CHECK(set_log_base(0, LOG_OFFSET, true) == 1);
	CHECK(set_log_base(8192, UINT64_MAX - 4095, true) == 1); /* offset + size wraps */
	CHECK(set_log_base(LOG_BYTES, LOG_OFFSET, false) == 1);  /* no fd */
	CHECK(set_log_base(LOG_BYTES, LOG_OFFSET, true) == 0);
}

static void test_logging(void)
{
	/* a log but no LOG_ALL: nothing logged */
	CHECK(read_request() == 1);
	CHECK(pages_logged() == 0);
	/* migration starts: LOG_ALL, the ring's addresses with the LOG flag */
	CHECK(set_features(fe.features | LOG_ALL) == 0);
	CHECK(vring_addr_with_log() == 0);
	CHECK(read_request() == 1);
	CHECK(page_logged(DATA_GPA) && page_logged(STATUS_GPA) && page_logged(USED_GPA));
	CHECK(!page_logged(HDR_GPA));
	CHECK(pages_logged() == 3);
	/* the migration thread clears the bits; LOG_ALL off: nothing more */
	memset(log_map + LOG_OFFSET, 0, LOG_BYTES);
	CHECK(set_features(fe.features) == 0);
	CHECK(read_request() == 1);
	CHECK(pages_logged() == 0);
}

int main(int argc, char **argv)
{
	if (argc != 2 || !mkdtemp(dir))
		return 2;
	snprintf(sock_path, sizeof(sock_path), "%s/blk.sock", dir);
	snprintf(image_path, sizeof(image_path), "%s/disk.img", dir);
	snprintf(log_path, sizeof(log_path), "%s/backend.log", dir);
	log_fd = memfd_create("dirty-log", MFD_CLOEXEC);
	if (make_image() < 0 || log_fd < 0 || ftruncate(log_fd, LOG_FILE) < 0)
		return 2;
	log_map = mmap(0, LOG_FILE, PROT_READ | PROT_WRITE, MAP_SHARED, log_fd, 0);
	if (log_map == MAP_FAILED || fe_init(&fe, MEM_SIZE) < 0)
		return 2;
	pid_t pid = start_backend(argv[1]);
	CHECK(fe_connect(&fe, sock_path) == 0);
	CHECK(fe_handshake(&fe, FEATURES | LOG_ALL, LOG_SHMFD) == 0);
	CHECK((fe.protocol_features & LOG_SHMFD) != 0);
	/* offered, but not acked until the migration starts */
	fe.features &= ~LOG_ALL;
	CHECK(set_features(fe.features) == 0);
	CHECK(fe_mem_table(&fe) == 0);
	CHECK(fe_ring_start(&fe, 0, QSIZE, 0) == 0);
	if (!test_failures) {
		test_log_base_checks();
		test_logging();
	}
	CHECK(fe.errors == 0);
	fe_destroy(&fe);
	kill(pid, SIGTERM);
	int st = 0;
	waitpid(pid, &st, 0);
	if (test_failures) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "cat %s >&2", log_path);
		(void)system(cmd);
	}
	unlink(sock_path);
	unlink(image_path);
	unlink(log_path);
	rmdir(dir);
	printf("test_blk_dirty_log: %s\n", test_failures ? "FAILED" : "all checks passed");
	return test_failures != 0;
}

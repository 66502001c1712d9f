/* SPDX-License-Identifier: MIT */
/*
 * The blk device with the mock driver as a malicious guest: every request
 * rule of blk_req.h, one case each, with the exact status byte and used
 * length, and with the mock's write check: the device wrote nothing but the
 * status byte and, for IN and GET_ID, the data buffers. Then the image's
 * contents for the requests that succeed (IN, OUT, DISCARD, WRITE_ZEROES,
 * GET_ID), read-only images, and the ENOSPC contract (seg_max).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>

#include "blk_dev.h"
#include "test_check.h"

#define SECTORS 1024u
#define SEG_MAX 4u
#define SIZE_MAX_BYTES 4096u
#define NO_STATUS 0xeeu /* what the guest put in its status byte */

static struct ev_loop loop;
static struct blk_image img;
static struct blk_dev dev;
static struct virtq_mock m;
static char image_path[] = "/tmp/virtq-blk-test-XXXXXX";

struct req {
	uint32_t type;
	uint64_t sector;
	uint32_t hdr_len;        /* readable header bytes (16) */
	bool hdr_writable;       /* the header's descriptor device-writable */
	uint32_t hdr_extra;      /* data bytes in the header's buffer */
	uint32_t data[6];        /* data buffer lengths */
	unsigned ndata;
	bool data_writable;
	bool status_readable;    /* the status byte in a readable buffer */
	bool no_status;          /* no status buffer at all */
	const void *payload;     /* OUT data / ranges, copied into the data buffers */
};

struct result {
	uint32_t used_len;
	unsigned status;         /* the status byte afterwards */
	uint64_t data_gpa[6];
	bool writes_ok;          /* only the allowed bytes changed */
};

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static struct result run(const struct req *q)
{
	struct result res = { .status = NO_STATUS };
	struct virtq_mock_buf b[9];
	unsigned n = 0;
	unsigned char hdr[16] = { 0 };
	put_le(hdr, q->type, 4);
	put_le(hdr + 8, q->sector, 8);
	uint64_t hg = virtq_mock_alloc(&m, 16 + q->hdr_extra, 8);
	virtq_mock_write(&m, hg, hdr, sizeof(hdr));
	b[n++] = (struct virtq_mock_buf){ hg, q->hdr_len + q->hdr_extra, q->hdr_writable };
	const unsigned char *pay = q->payload;
	for (unsigned i = 0; i < q->ndata; i++) {
		uint64_t g = virtq_mock_alloc(&m, q->data[i], 8);
		res.data_gpa[i] = g;
		if (pay) {
			virtq_mock_write(&m, g, pay, q->data[i]);
			pay += q->data[i];
		} else {
			virtq_mock_fill(&m, g, 0x11, q->data[i]);
		}
		b[n++] = (struct virtq_mock_buf){ g, q->data[i], q->data_writable };
	}
	uint64_t sg = virtq_mock_alloc(&m, 1, 1);
	unsigned char sentinel = NO_STATUS;
	virtq_mock_write(&m, sg, &sentinel, 1);
	if (!q->no_status)
		b[n++] = (struct virtq_mock_buf){ sg, 1, !q->status_readable };
	CHECK(virtq_mock_snapshot(&m) == 0);
	CHECK(virtq_mock_add_chain(&m, b, n, 0) >= 0);
	dev.vu.ops->ring_kicked(&dev.vu, 0);
	uint32_t id;
	CHECK(virtq_mock_get_used(&m, &id, &res.used_len) == 1);
	res.writes_ok = virtq_mock_check_writes(&m, 0) == 0 && virtq_mock_guards_intact(&m);
	unsigned char st = 0;
	virtq_mock_read(&m, sg, &st, 1);
	res.status = st;
	virtq_mock_alloc_reset(&m);
	return res;
}

/* A rejected request: exact status, used length 1, nothing else written. */
#define REJECTED(r, want) \
	do { \
		struct result res_ = run(r); \
		CHECK(res_.status == (want) && res_.used_len == 1 && res_.writes_ok); \
	} while (0)

static void test_header_rules(void)
{
	/* header shorter than 16 readable bytes */
	REJECTED((&(struct req){ .type = BLK_T_IN, .hdr_len = 12, .data = { 512 }, .ndata = 1,
				  .data_writable = true }),
		 BLK_S_IOERR);
	/* header in a writable buffer: no readable header at all */
	REJECTED((&(struct req){ .type = BLK_T_FLUSH, .hdr_len = 16, .hdr_writable = true }),
		 BLK_S_IOERR);
	/* unknown types, and GET_LIFETIME / SECURE_ERASE, not offered */
	REJECTED((&(struct req){ .type = 99, .hdr_len = 16 }), BLK_S_UNSUPP);
	REJECTED((&(struct req){ .type = 10, .hdr_len = 16, .data = { 16 }, .ndata = 1,
				  .data_writable = true }),
		 BLK_S_UNSUPP);
	REJECTED((&(struct req){ .type = 14, .hdr_len = 16 }), BLK_S_UNSUPP);
}

static void test_status_rules(void)
{
	/* the status byte in a readable buffer (an OUT: readable after
	 * writable would be a malformed ring, virtq's rule): nothing may be
	 * written; the request completes with length 0 and the next one is
	 * served */
	struct result r = run(&(struct req){ .type = BLK_T_OUT, .hdr_len = 16, .data = { 512 },
					      .ndata = 1, .status_readable = true });
	CHECK(r.used_len == 0 && r.status == NO_STATUS && r.writes_ok);
	/* no status buffer: the header is the only, readable, buffer */
	r = run(&(struct req){ .type = BLK_T_FLUSH, .hdr_len = 16, .no_status = true });
	CHECK(r.used_len == 0 && r.writes_ok);
	r = run(&(struct req){ .type = BLK_T_FLUSH, .hdr_len = 16 });
	CHECK(r.status == BLK_S_OK && r.used_len == 1 && r.writes_ok);
}

static void test_data_rules(void)
{
	/* IN with readable data after the header */
	REJECTED((&(struct req){ .type = BLK_T_IN, .hdr_len = 16, .data = { 512 }, .ndata = 1 }),
		 BLK_S_IOERR);
	/* OUT with writable data besides the status */
	REJECTED((&(struct req){ .type = BLK_T_OUT, .hdr_len = 16, .data = { 512 }, .ndata = 1,
				  .data_writable = true }),
		 BLK_S_IOERR);
	/* data not a multiple of 512 bytes */
	REJECTED((&(struct req){ .type = BLK_T_IN, .hdr_len = 16, .data = { 500 }, .ndata = 1,
				  .data_writable = true }),
		 BLK_S_IOERR);
	REJECTED((&(struct req){ .type = BLK_T_OUT, .hdr_len = 16, .data = { 100 }, .ndata = 1 }),
		 BLK_S_IOERR);
	/* more data segments than seg_max (4): 5, one sharing the header's
	 * buffer, in a chain of 6 segments, which virtq_pop takes */
	REJECTED((&(struct req){ .type = BLK_T_OUT, .hdr_len = 16, .hdr_extra = 512,
				  .data = { 512, 512, 512, 512 }, .ndata = 4 }),
		 BLK_S_IOERR);
	struct result r = run(&(struct req){ .type = BLK_T_OUT, .hdr_len = 16, .hdr_extra = 512,
					      .data = { 512, 512, 512 }, .ndata = 3 });
	CHECK(r.status == BLK_S_OK && r.used_len == 1 && r.writes_ok);
	/* a segment larger than size_max (4096) */
	REJECTED((&(struct req){ .type = BLK_T_IN, .hdr_len = 16, .data = { 8192 }, .ndata = 1,
				  .data_writable = true }),
		 BLK_S_IOERR);
}

static void test_range_rules(void)
{
	/* the last sector, then one past it, then an overflowing sector */
	struct result r = run(&(struct req){ .type = BLK_T_IN, .sector = SECTORS - 1,
					      .hdr_len = 16, .data = { 512 }, .ndata = 1,
					      .data_writable = true });
	CHECK(r.status == BLK_S_OK && r.used_len == 513 && r.writes_ok);
	REJECTED((&(struct req){ .type = BLK_T_IN, .sector = SECTORS - 1, .hdr_len = 16,
				  .data = { 1024 }, .ndata = 1, .data_writable = true }),
		 BLK_S_IOERR);
	REJECTED((&(struct req){ .type = BLK_T_OUT, .sector = SECTORS, .hdr_len = 16,
				  .data = { 512 }, .ndata = 1 }),
		 BLK_S_IOERR);
	REJECTED((&(struct req){ .type = BLK_T_IN, .sector = UINT64_MAX, .hdr_len = 16,
				  .data = { 512 }, .ndata = 1, .data_writable = true }),
		 BLK_S_IOERR);
}

/* A DISCARD / WRITE_ZEROES payload of n ranges. */
static const unsigned char *ranges(unsigned n, uint64_t sector, uint32_t sectors, uint32_t flags)
{
	static unsigned char p[16 * 8];
	for (unsigned i = 0; i < n; i++) {
		put_le(p + 16 * i, sector + i * (uint64_t)sectors, 8);
		put_le(p + 16 * i + 8, sectors, 4);
		put_le(p + 16 * i + 12, flags, 4);
	}
	return p;
}

static void test_discard_rules(void)
{
	const uint32_t t[2] = { BLK_T_DISCARD, BLK_T_WRITE_ZEROES };
	for (unsigned k = 0; k < 2; k++) {
		/* ranges not a multiple of 16 bytes */
		REJECTED((&(struct req){ .type = t[k], .hdr_len = 16, .data = { 12 }, .ndata = 1,
					  .payload = ranges(1, 0, 8, 0) }),
			 BLK_S_IOERR);
		/* reserved flags */
		REJECTED((&(struct req){ .type = t[k], .hdr_len = 16, .data = { 16 }, .ndata = 1,
					  .payload = ranges(1, 0, 8, 2) }),
			 BLK_S_UNSUPP);
		/* beyond the capacity, overflowing, more sectors than max */
		REJECTED((&(struct req){ .type = t[k], .hdr_len = 16, .data = { 16 }, .ndata = 1,
					  .payload = ranges(1, SECTORS - 4, 8, 0) }),
			 BLK_S_IOERR);
		REJECTED((&(struct req){ .type = t[k], .hdr_len = 16, .data = { 16 }, .ndata = 1,
					  .payload = ranges(1, UINT64_MAX - 2, 8, 0) }),
			 BLK_S_IOERR);
		REJECTED((&(struct req){ .type = t[k], .hdr_len = 16, .data = { 16 }, .ndata = 1,
					  .payload = ranges(1, 0, (1u << 22) + 1, 0) }),
			 BLK_S_IOERR);
		/* more ranges than max_*_seg (32): 33 in 3 buffers */
		static unsigned char many[16 * 33];
		for (unsigned i = 0; i < 33; i++)
			memcpy(many + 16 * i, ranges(1, i, 1, 0), 16);
		REJECTED((&(struct req){ .type = t[k], .hdr_len = 16,
					  .data = { 16 * 11, 16 * 11, 16 * 11 }, .ndata = 3,
					  .payload = many }),
			 BLK_S_IOERR);
	}
	/* unmap: refused for DISCARD, allowed for WRITE_ZEROES */
	REJECTED((&(struct req){ .type = BLK_T_DISCARD, .hdr_len = 16, .data = { 16 }, .ndata = 1,
				  .payload = ranges(1, 0, 8, BLK_WZ_F_UNMAP) }),
		 BLK_S_UNSUPP);
	struct result r = run(&(struct req){ .type = BLK_T_WRITE_ZEROES, .hdr_len = 16,
					      .data = { 32 }, .ndata = 1,
					      .payload = ranges(2, 16, 8, BLK_WZ_F_UNMAP) });
	CHECK(r.status == BLK_S_OK && r.used_len == 1 && r.writes_ok);
}

/* Reads sector s of the image file. */
static void image_sector(uint64_t s, unsigned char *out)
{
	CHECK(pread(img.fd, out, 512, (off_t)(s * 512)) == 512);
}

static void test_data_path(void)
{
	/* OUT over two segments, then IN back over three */
	static unsigned char pattern[1536], back[1536], sec[512];
	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i * 7 + 3);
	struct result r = run(&(struct req){ .type = BLK_T_OUT, .sector = 100, .hdr_len = 16,
					      .data = { 1024, 512 }, .ndata = 2,
					      .payload = pattern });
	CHECK(r.status == BLK_S_OK && r.used_len == 1 && r.writes_ok);
	image_sector(101, sec);
	CHECK(memcmp(sec, pattern + 512, 512) == 0);
	r = run(&(struct req){ .type = BLK_T_IN, .sector = 100, .hdr_len = 16,
			       .data = { 512, 512, 512 }, .ndata = 3, .data_writable = true });
	CHECK(r.status == BLK_S_OK && r.used_len == 1537 && r.writes_ok);
	for (unsigned i = 0; i < 3; i++)
		virtq_mock_read(&m, r.data_gpa[i], back + 512 * i, 512);
	/* run() reset the allocator: the same addresses, still holding the data */
	CHECK(memcmp(back, pattern, sizeof(back)) == 0);
	/* WRITE_ZEROES over sector 101 */
	r = run(&(struct req){ .type = BLK_T_WRITE_ZEROES, .hdr_len = 16, .data = { 16 },
			       .ndata = 1, .payload = ranges(1, 101, 1, 0) });
	CHECK(r.status == BLK_S_OK);
	image_sector(101, sec);
	static const unsigned char zero[512];
	CHECK(memcmp(sec, zero, 512) == 0);
	image_sector(100, sec);
	CHECK(memcmp(sec, pattern, 512) == 0);
	/* DISCARD: advisory, answered OK */
	r = run(&(struct req){ .type = BLK_T_DISCARD, .hdr_len = 16, .data = { 16 }, .ndata = 1,
			       .payload = ranges(1, 200, 8, 0) });
	CHECK(r.status == BLK_S_OK && r.writes_ok);
	/* GET_ID: the serial, at most 20 bytes, into a larger buffer */
	r = run(&(struct req){ .type = BLK_T_GET_ID, .hdr_len = 16, .data = { 64 }, .ndata = 1,
			       .data_writable = true });
	char id[21] = { 0 };
	virtq_mock_read(&m, r.data_gpa[0], id, 20);
	CHECK(r.status == BLK_S_OK && r.used_len == 21 && !strcmp(id, "test-serial") &&
	      r.writes_ok);
	/* FLUSH */
	r = run(&(struct req){ .type = BLK_T_FLUSH, .hdr_len = 16 });
	CHECK(r.status == BLK_S_OK);
}

static void test_read_only(void)
{
	dev.lim.read_only = true;
	REJECTED((&(struct req){ .type = BLK_T_OUT, .sector = 0, .hdr_len = 16, .data = { 512 },
				  .ndata = 1 }),
		 BLK_S_IOERR);
	REJECTED((&(struct req){ .type = BLK_T_DISCARD, .hdr_len = 16, .data = { 16 }, .ndata = 1,
				  .payload = ranges(1, 0, 8, 0) }),
		 BLK_S_IOERR);
	REJECTED((&(struct req){ .type = BLK_T_WRITE_ZEROES, .hdr_len = 16, .data = { 16 },
				  .ndata = 1, .payload = ranges(1, 0, 8, 0) }),
		 BLK_S_IOERR);
	struct result r = run(&(struct req){ .type = BLK_T_IN, .sector = 0, .hdr_len = 16,
					      .data = { 512 }, .ndata = 1, .data_writable = true });
	CHECK(r.status == BLK_S_OK);
	dev.lim.read_only = false;
	/* not offered: DISCARD / WRITE_ZEROES are UNSUPP */
	dev.lim.discard = dev.lim.write_zeroes = false;
	REJECTED((&(struct req){ .type = BLK_T_DISCARD, .hdr_len = 16, .data = { 16 }, .ndata = 1,
				  .payload = ranges(1, 0, 8, 0) }),
		 BLK_S_UNSUPP);
	REJECTED((&(struct req){ .type = BLK_T_WRITE_ZEROES, .hdr_len = 16, .data = { 16 },
				  .ndata = 1, .payload = ranges(1, 0, 8, 0) }),
		 BLK_S_UNSUPP);
	dev.lim.discard = dev.lim.write_zeroes = true;
}

static void test_enospc(void)
{
	/* seg_max + 2 segments is what the device takes: a chain of 7 is
	 * completed empty (virtq_discard), nothing written, and the queue
	 * serves the next request */
	struct result r = run(&(struct req){ .type = BLK_T_IN, .hdr_len = 16,
					      .data = { 512, 512, 512, 512, 512, 512 }, .ndata = 6,
					      .data_writable = true });
	CHECK(r.used_len == 0 && r.status == NO_STATUS && r.writes_ok);
	r = run(&(struct req){ .type = BLK_T_FLUSH, .hdr_len = 16 });
	CHECK(r.status == BLK_S_OK && r.used_len == 1);
	CHECK(!virtq_is_broken(&dev.vu.vring[0].q));
}

int main(void)
{
	int fd = mkstemp(image_path);
	if (fd < 0 || ftruncate(fd, SECTORS * 512) < 0)
		return 1;
	close(fd);
	if (blk_image_open(&img, image_path, false, "test-serial") < 0 || ev_loop_init(&loop) < 0)
		return 1;
	const struct blk_dev_options o = { .num_queues = 1, .seg_max = SEG_MAX,
					   .size_max = SIZE_MAX_BYTES };
	blk_dev_init(&dev, &loop, &img, &o);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    vu_dev_attach(&dev.vu, sv[0]) < 0)
		return 1;
	struct virtq_mock_config cfg;
	virtq_mock_config_default(&cfg);
	cfg.regions[0].size = 4u << 20;
	cfg.queue_size = 64;
	cfg.features = VIRTQ_FEATURE(32) | VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC);
	if (virtq_mock_init(&m, &cfg) || virtq_mock_attach(&m, &dev.vu.vring[0].q))
		return 1;
	dev.vu.vring[0].started = true;

	test_header_rules();
	test_status_rules();
	test_data_rules();
	test_range_rules();
	test_discard_rules();
	test_data_path();
	test_read_only();
	test_enospc();

	dev.vu.vring[0].started = false;
	virtq_reset(&dev.vu.vring[0].q);
	blk_dev_close(&dev);
	close(sv[1]);
	virtq_mock_destroy(&m);
	blk_image_close(&img);
	unlink(image_path);
	ev_loop_close(&loop);
	printf("test_blk: %s\n", test_failures ? "FAILED" : "all checks passed");
	return test_failures != 0;
}

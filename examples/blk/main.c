/* SPDX-License-Identifier: MIT */
/*
 * virtq-blk-vhost-user: a vhost-user virtio-blk device built on virtq, over
 * a disk image file (or block device).
 *
 *   virtq-blk-vhost-user --socket /tmp/blk.sock --image disk.img \
 *                        [--read-only] [--num-queues N] [--seg-max N]
 *                        [--size-max BYTES] [--serial ID] [--verbose]
 *
 * QEMU:  -object memory-backend-memfd,id=mem,size=512M,share=on
 *        -numa node,memdev=mem
 *        -chardev socket,id=blk,path=/tmp/blk.sock,reconnect=1
 *        -device vhost-user-blk-pci,chardev=blk,num-queues=2
 *
 * One front-end at a time; when it goes away the device resets and waits
 * for the next one (with INFLIGHT_SHMFD, QEMU's reconnect=1 brings back the
 * requests a killed back-end had in flight). SIGTERM and SIGINT end the
 * process cleanly (../vhost-user/server.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_dev.h"
#include "log.h"
#include "server.h"

struct app {
	struct vu_server server;
	struct blk_image img;
	struct blk_dev dev;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: virtq-blk-vhost-user --socket PATH --image PATH [--read-only] [--num-queues N]\n"
		"                            [--seg-max N] [--size-max BYTES] [--serial ID] [--verbose]\n"
		"\n"
		"A vhost-user virtio-blk device (virtq example). Options:\n"
		"  --socket PATH      vhost-user socket the front-end (QEMU) connects to; created,\n"
		"                     and removed on exit (required)\n"
		"  --image PATH       the disk: a file or block device, its size rounded down to\n"
		"                     512-byte sectors (required)\n"
		"  --read-only        open the image read-only and offer VIRTIO_BLK_F_RO; writes,\n"
		"                     DISCARD and WRITE_ZEROES fail (default: read-write)\n"
		"  --num-queues N     request queues, 1 to 8 (default 1)\n"
		"  --seg-max N        data segments per request, 1 to 1024 (default 126)\n"
		"  --size-max BYTES   bytes per data segment, 512 to 4294967295 (default 1048576)\n"
		"  --serial ID        what GET_ID answers, at most 20 bytes (default virtq-blk)\n"
		"  --verbose, -v      log every vhost-user message (default: off)\n"
		"  --help, -h         this text\n");
}

/* Prints one line naming what is wrong, then how to get help; returns 2. */
__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "virtq-blk-vhost-user: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see --help)\n");
	va_end(ap);
	return 2;
}

/* A decimal number in [min, max], or -1. */
static int parse_range(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

struct settings {
	const char *socket, *image, *serial;
	bool read_only;
	struct blk_dev_options dev;
};

/* Option o with value v. Returns 0 or 2 (printed). */
static int set_option(struct settings *s, const char *o, const char *v)
{
	uint64_t n = 0;
	if (!strcmp(o, "--socket"))
		s->socket = v;
	else if (!strcmp(o, "--image"))
		s->image = v;
	else if (!strcmp(o, "--serial")) {
		if (strlen(v) > BLK_ID_BYTES)
			return bad_usage("--serial '%s': at most 20 bytes", v);
		s->serial = v;
	} else if (!strcmp(o, "--num-queues")) {
		if (parse_range(v, 1, VU_MAX_QUEUES, &n))
			return bad_usage("bad --num-queues '%s': a number from 1 to 8", v);
		s->dev.num_queues = (unsigned)n;
	} else if (!strcmp(o, "--seg-max")) {
		if (parse_range(v, 1, BLK_MAX_SEG_MAX, &n))
			return bad_usage("bad --seg-max '%s': a number from 1 to 1024", v);
		s->dev.seg_max = (uint32_t)n;
	} else {
		if (parse_range(v, BLK_SECTOR, UINT32_MAX, &n))
			return bad_usage("bad --size-max '%s': a number from 512 to 4294967295", v);
		s->dev.size_max = (uint32_t)n;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct settings *s)
{
	*s = (struct settings){ .serial = "virtq-blk",
				.dev = { .num_queues = 1, .seg_max = 126, .size_max = 1u << 20 } };
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : 0;
		if (!strcmp(o, "--verbose") || !strcmp(o, "-v")) {
			log_verbose = true;
			continue;
		}
		if (!strcmp(o, "--read-only")) {
			s->read_only = true;
			continue;
		}
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 1;
		}
		bool takes_value = !strcmp(o, "--socket") || !strcmp(o, "--image") ||
				   !strcmp(o, "--num-queues") || !strcmp(o, "--seg-max") ||
				   !strcmp(o, "--size-max") || !strcmp(o, "--serial");
		if (!takes_value)
			return bad_usage("unknown option '%s'", o);
		if (!v || !*v)
			return bad_usage("%s needs a value", o);
		i++;
		int r = set_option(s, o, v);
		if (r)
			return r;
	}
	if (!s->socket)
		return bad_usage("--socket PATH is required");
	if (!s->image)
		return bad_usage("--image PATH is required");
	return 0;
}

static bool more_work(void *arg)
{
	struct blk_dev *d = arg;
	if (blk_dev_busy(d))
		blk_dev_continue(d);
	return blk_dev_busy(d);
}

int main(int argc, char **argv)
{
	static struct app a; /* large (segment arrays, in-flight areas): not on the stack */
	struct settings s;
	int r = parse_args(argc, argv, &s);
	if (r)
		return r == 1 ? 0 : r;
	log_name = "virtq-blk";
	r = blk_image_open(&a.img, s.image, s.read_only, s.serial);
	if (r < 0) {
		log_info("%s: %s", s.image,
			 r == -EINVAL ? "not a regular file or block device of at least 512 bytes"
				      : strerror(-r));
		return 1;
	}
	r = vu_server_init(&a.server);
	if (r < 0) {
		log_info("epoll: %s", strerror(-r));
		return 1;
	}
	blk_dev_init(&a.dev, &a.server.loop, &a.img, &s.dev);
	r = vu_server_listen(&a.server, s.socket, &a.dev.vu);
	if (r < 0) {
		log_info("%s: %s", s.socket, strerror(-r));
		return 1;
	}
	log_info("image %s: %llu sectors%s, %u queue(s); vhost-user socket %s", s.image,
		 (unsigned long long)a.img.sectors, s.read_only ? ", read-only" : "",
		 s.dev.num_queues, s.socket);
	r = vu_server_run(&a.server, more_work, &a.dev);
	log_info("%llu requests, %llu refused", (unsigned long long)a.dev.requests,
		 (unsigned long long)a.dev.bad_requests);
	blk_dev_close(&a.dev);
	vu_server_close(&a.server);
	blk_image_close(&a.img);
	return r < 0 ? 1 : 0;
}

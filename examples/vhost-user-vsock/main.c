/* SPDX-License-Identifier: MIT */
/*
 * virtq-vsock-vhost-user: a vhost-user virtio-vsock device built on virtq.
 *
 *   virtq-vsock-vhost-user --socket /tmp/vhost.sock --uds-path /tmp/vm.vsock \
 *                          [--guest-cid 3] [--verbose]
 *   (or vhost-device-vsock's form: --vm guest-cid=3,socket=...,uds-path=...)
 *
 * QEMU:  -object memory-backend-memfd,id=mem,size=512M,share=on
 *        -numa node,memdev=mem
 *        -chardev socket,id=vsock,path=/tmp/vhost.sock
 *        -device vhost-user-vsock-pci,chardev=vsock
 *
 * One front-end at a time; when it goes away (the VM stopped) the device
 * resets and waits for the next one. SIGTERM and SIGINT end the process
 * cleanly (sockets closed and removed): ../vhost-user/server.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "vsock_dev.h"

struct app {
	struct vu_server server;
	struct vsock_dev dev;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: virtq-vsock-vhost-user --socket PATH --uds-path PATH [--guest-cid N] [--verbose]\n"
		"       virtq-vsock-vhost-user --vm guest-cid=N,socket=PATH,uds-path=PATH [--verbose]\n"
		"\n"
		"A vhost-user virtio-vsock device (virtq example). Options:\n"
		"  --socket PATH     vhost-user socket the front-end (QEMU) connects to; created,\n"
		"                    and removed on exit (required)\n"
		"  --uds-path PATH   host side: the guest's connections to host port P arrive on\n"
		"                    the Unix socket PATH_P; host programs reach the guest through\n"
		"                    PATH with \"CONNECT <port>\" (required)\n"
		"  --guest-cid N     the guest's context ID, 3 to 4294967294 (default 3)\n"
		"  --vm guest-cid=N,socket=PATH,uds-path=PATH\n"
		"                    the same settings in vhost-device-vsock's form\n"
		"  --verbose, -v     log every vhost-user message and connection (default: off)\n"
		"  --help, -h        this text\n");
}

/* Prints one line naming what is wrong, then how to get help; returns 2. */
__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "virtq-vsock-vhost-user: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see --help)\n");
	va_end(ap);
	return 2;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*v = x;
	return 0;
}

/* CIDs 0, 1, 2 and u32 -1 are reserved (virtio 5.10.4). */
static int parse_cid(const char *s, uint64_t *cid)
{
	if (parse_u64(s, cid) || *cid < 3 || *cid >= UINT32_MAX)
		return bad_usage("bad guest CID '%s': a number from 3 to 4294967294", s);
	return 0;
}

static int parse_vm(char *spec, const char **sock, const char **uds, uint64_t *cid)
{
	for (char *save = 0, *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(0, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			return bad_usage("--vm: '%s' is not KEY=VALUE", kv);
		*eq = 0;
		if (!strcmp(kv, "socket"))
			*sock = eq + 1;
		else if (!strcmp(kv, "uds-path"))
			*uds = eq + 1;
		else if (!strcmp(kv, "guest-cid")) {
			if (parse_cid(eq + 1, cid))
				return 2;
		} else
			return bad_usage("--vm: unknown key '%s' (socket, uds-path, guest-cid)", kv);
	}
	return 0;
}

/* After each event batch: the work a bounded batch left over, then free the
 * connections that died. Returns whether work is still left. */
static bool more_work(void *arg)
{
	struct vsock_dev *d = arg;
	if (vsock_dev_busy(d))
		vsock_dev_continue(d);
	vsock_dev_reap(d);
	return vsock_dev_busy(d);
}

static void after_batch(void *arg)
{
	vsock_dev_reap(arg);
}

int main(int argc, char **argv)
{
	static struct app a; /* large (segment arrays): not on the stack */
	const char *sock = 0, *uds = 0;
	uint64_t cid = 3;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : 0;
		if (!strcmp(o, "--verbose") || !strcmp(o, "-v")) {
			log_verbose = true;
			continue;
		}
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 0;
		}
		bool takes_value = !strcmp(o, "--socket") || !strcmp(o, "--uds-path") ||
				   !strcmp(o, "--guest-cid") || !strcmp(o, "--vm");
		if (!takes_value)
			return bad_usage("unknown option '%s'", o);
		if (!v || !*v)
			return bad_usage("%s needs a value", o);
		i++;
		if (!strcmp(o, "--socket"))
			sock = v;
		else if (!strcmp(o, "--uds-path"))
			uds = v;
		else if (!strcmp(o, "--guest-cid") ? parse_cid(v, &cid) : parse_vm(argv[i], &sock, &uds, &cid))
			return 2;
	}
	if (!sock)
		return bad_usage("--socket PATH is required");
	if (!uds)
		return bad_usage("--uds-path PATH is required");

	log_name = "virtq-vsock";
	int r = vu_server_init(&a.server);
	if (r < 0) {
		log_info("epoll: %s", strerror(-r));
		return 1;
	}
	r = vsock_dev_init(&a.dev, &a.server.loop, cid, uds);
	if (r < 0) {
		log_info("%s: %s", uds, strerror(-r));
		return 1;
	}
	a.server.loop.after_batch = after_batch;
	a.server.loop.after_batch_arg = &a.dev;
	r = vu_server_listen(&a.server, sock, &a.dev.vu);
	if (r < 0) {
		log_info("%s: %s", sock, strerror(-r));
		vsock_dev_close(&a.dev);
		return 1;
	}
	log_info("guest CID %llu; vhost-user socket %s; host sockets %s, %s_<port>",
		 (unsigned long long)cid, sock, uds, uds);

	r = vu_server_run(&a.server, more_work, &a.dev);
	log_info("%llu bytes guest->host, %llu bytes host->guest",
		 (unsigned long long)a.dev.bytes_to_host, (unsigned long long)a.dev.bytes_to_guest);
	vsock_dev_close(&a.dev);
	vu_server_close(&a.server);
	return r < 0 ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * vsock_tool: the end-to-end test's traffic generator, for both sides.
 * Built static so the same binary runs on the host and in the guest's
 * initramfs.
 *
 *   vsock_tool send ADDR BYTES SEED        connect, send BYTES of stream SEED
 *                                          (64 KiB writes), shut down writing,
 *                                          wait for the peer to close
 *   vsock_tool recv ADDR [BYTES SEED]      connect, read to end of file; with
 *                                          BYTES SEED, check length and content
 *   vsock_tool cat ADDR                    connect, copy what arrives to stdout
 *   vsock_tool serve ADDR COUNT ACTION     accept COUNT connections (0: forever),
 *                                          one child each doing ACTION:
 *        recv [BYTES SEED] | send BYTES SEED | cat | close | file:PATH
 *   vsock_tool refused ADDR                connecting must fail (exit 0 if so)
 *
 * ADDR: vsock:CID:PORT (CID -1: any, to listen), unix:PATH, or
 *       hybrid:UDS:PORT (host to guest through the device's CONNECT handshake).
 * Every transfer prints one line:
 *   <verb> bytes=N sum=HEX secs=S mibps=R ok|bad
 * The whole process ends after VSOCK_TOOL_TIMEOUT seconds (default 300).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define CHUNK (64 * 1024)

static unsigned char buf[CHUNK];

/* ---- the data stream: byte i is byte i%8 of splitmix64(seed + i/8) --------- */

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void stream_fill(uint64_t seed, uint64_t pos, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++, pos++)
		p[i] = (unsigned char)(splitmix(seed + pos / 8) >> (8 * (pos % 8)));
}

/* Fletcher-style 64-bit checksum: order-sensitive, cheap under emulation. */
struct sum {
	uint64_t a, b, n;
};

static void sum_add(struct sum *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		s->a += p[i];
		s->b += s->a;
	}
	s->n += n;
}

static uint64_t sum_value(const struct sum *s)
{
	return s->b ^ (s->a << 40) ^ s->n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *verb, const struct sum *s, double secs, int ok)
{
	double mib = (double)s->n / (1024.0 * 1024.0);
	printf("%s bytes=%llu sum=%016llx secs=%.3f mibps=%.1f %s\n", verb,
	       (unsigned long long)s->n, (unsigned long long)sum_value(s), secs,
	       secs > 0 ? mib / secs : 0.0, ok ? "ok" : "bad");
	fflush(stdout);
}

/* ---- addresses --------------------------------------------------------------- */

struct addr {
	int family; /* AF_VSOCK or AF_UNIX */
	unsigned cid, port;
	char path[108];
	int hybrid;
};

static int parse_addr(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (!strncmp(s, "vsock:", 6)) {
		int cid;
		a->family = AF_VSOCK;
		if (sscanf(s + 6, "%d:%u", &cid, &a->port) != 2)
			return -1;
		a->cid = cid < 0 ? VMADDR_CID_ANY : (unsigned)cid;
		return 0;
	}
	const char *rest = 0;
	if (!strncmp(s, "unix:", 5))
		rest = s + 5;
	else if (!strncmp(s, "hybrid:", 7)) {
		rest = s + 7;
		a->hybrid = 1;
	}
	if (!rest)
		return -1;
	a->family = AF_UNIX;
	size_t n = strlen(rest);
	if (a->hybrid) {
		const char *colon = strrchr(rest, ':');
		if (!colon)
			return -1;
		a->port = (unsigned)strtoul(colon + 1, 0, 10);
		n = (size_t)(colon - rest);
	}
	if (n == 0 || n >= sizeof(a->path))
		return -1;
	memcpy(a->path, rest, n);
	a->path[n] = 0;
	return 0;
}

static int make_socket(const struct addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_VSOCK) {
		struct sockaddr_vm *vm = (struct sockaddr_vm *)ss;
		vm->svm_family = AF_VSOCK;
		vm->svm_cid = a->cid;
		vm->svm_port = a->port;
		*len = sizeof(*vm);
	} else {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, a->path, strlen(a->path) + 1);
		*len = sizeof(*un);
	}
	return socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Connects; for hybrid addresses does the CONNECT handshake. -1 on failure. */
static int do_connect(const struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = make_socket(a, &ss, &len);
	if (fd < 0)
		return -1;
	if (a->family == AF_VSOCK) {
		/* Linux's default is 2 s, short for an emulated guest under load */
		struct timeval tv = { .tv_sec = 60, .tv_usec = 0 };
		(void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!a->hybrid)
		return fd;
	char line[64];
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", a->port);
	if (write_all(fd, line, (size_t)n) < 0) {
		close(fd);
		return -1;
	}
	size_t got = 0;
	for (;;) { /* byte by byte: what follows the line is the stream */
		ssize_t r = read(fd, line + got, 1);
		if (r <= 0 || got + 1 >= sizeof(line)) {
			close(fd);
			errno = ECONNRESET;
			return -1;
		}
		if (line[got++] == '\n')
			break;
	}
	line[got] = 0;
	if (strncmp(line, "OK ", 3) != 0) {
		close(fd);
		errno = EPROTO;
		return -1;
	}
	return fd;
}

/* ---- actions on a connected socket --------------------------------------------- */

static int act_send(int fd, uint64_t bytes, uint64_t seed, double t0)
{
	struct sum s = { 0, 0, 0 };
	uint64_t pos = 0;
	int ok = 1;
	while (pos < bytes) {
		size_t n = bytes - pos < CHUNK ? (size_t)(bytes - pos) : CHUNK;
		stream_fill(seed, pos, buf, n);
		sum_add(&s, buf, n);
		if (write_all(fd, buf, n) < 0) {
			ok = 0;
			break;
		}
		pos += n;
	}
	shutdown(fd, SHUT_WR);
	/* wait until the peer has read everything and closed */
	while (ok) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
	}
	report("send", &s, now() - t0, ok);
	return ok ? 0 : 1;
}

static int act_recv(int fd, int check, uint64_t bytes, uint64_t seed, double t0)
{
	static unsigned char want[CHUNK];
	struct sum s = { 0, 0, 0 };
	int ok = 1;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ok = 0;
			break;
		}
		if (r == 0)
			break;
		if (check && ok) {
			if (s.n + (uint64_t)r > bytes) {
				ok = 0;
			} else {
				stream_fill(seed, s.n, want, (size_t)r);
				ok = memcmp(want, buf, (size_t)r) == 0;
			}
		}
		sum_add(&s, buf, (size_t)r);
	}
	if (check && s.n != bytes)
		ok = 0;
	report("recv", &s, now() - t0, ok);
	return ok ? 0 : 1;
}

static int act_file(int fd, const char *path)
{
	FILE *f = fopen(path, "rb");
	int ok = f != 0;
	size_t n;
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (write_all(fd, buf, n) < 0)
			ok = 0;
	if (f)
		fclose(f);
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return ok ? 0 : 1;
}

static int act_cat(int fd)
{
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (write_all(1, buf, (size_t)r) < 0)
			return 1;
	return r < 0 ? 1 : 0;
}

static uint64_t num(const char *s)
{
	return strtoull(s, 0, 0);
}

/* Runs ACTION (argv[0..]) on fd. */
static int act(int fd, char **argv, int argc, double t0)
{
	if (argc >= 1 && !strcmp(argv[0], "recv"))
		return act_recv(fd, argc >= 3, argc >= 3 ? num(argv[1]) : 0,
				argc >= 3 ? num(argv[2]) : 0, t0);
	if (argc >= 3 && !strcmp(argv[0], "send"))
		return act_send(fd, num(argv[1]), num(argv[2]), t0);
	if (argc >= 1 && !strcmp(argv[0], "close"))
		return 0;
	if (argc >= 1 && !strcmp(argv[0], "cat"))
		return act_cat(fd);
	if (argc >= 1 && !strncmp(argv[0], "file:", 5))
		return act_file(fd, argv[0] + 5);
	fprintf(stderr, "vsock_tool: unknown action\n");
	return 2;
}

static int serve(const struct addr *a, long count, char **argv, int argc)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd = make_socket(a, &ss, &len);
	if (a->family == AF_UNIX)
		unlink(a->path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, len) < 0 || listen(lfd, 64) < 0) {
		perror("vsock_tool: listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	int failed = 0;
	long children = 0;
	for (long i = 0; count == 0 || i < count; i++) {
		int fd = accept4(lfd, 0, 0, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			perror("vsock_tool: accept");
			failed = 1;
			break;
		}
		double t0 = now();
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			int r = act(fd, argv, argc, t0);
			close(fd);
			_exit(r);
		}
		close(fd);
		if (pid < 0)
			failed = 1;
		else
			children++;
		int st; /* reap finished children as we go */
		while (waitpid(-1, &st, WNOHANG) > 0) {
			children--;
			failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		}
	}
	while (children > 0) {
		int st;
		if (wait(&st) < 0)
			break;
		children--;
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	close(lfd);
	if (a->family == AF_UNIX)
		unlink(a->path);
	return failed;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "vsock_tool: timed out\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(124);
}

int main(int argc, char **argv)
{
	struct addr a;
	const char *t = getenv("VSOCK_TOOL_TIMEOUT");
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(t ? (unsigned)atoi(t) : 300u);
	if (argc < 3 || parse_addr(argv[2], &a) < 0) {
		fprintf(stderr, "usage: see the comment at the top of vsock_tool.c\n");
		return 2;
	}
	if (!strcmp(argv[1], "serve") && argc >= 5)
		return serve(&a, atol(argv[3]), argv + 4, argc - 4);
	double t0 = now();
	int fd = do_connect(&a);
	if (!strcmp(argv[1], "refused")) {
		if (fd >= 0) {
			printf("refused: connected (unexpected)\n");
			return 1;
		}
		printf("refused: %s ok\n", strerror(errno));
		return 0;
	}
	if (fd < 0) {
		fprintf(stderr, "vsock_tool: connect %s: %s\n", argv[2], strerror(errno));
		return 3;
	}
	argv[2] = argv[1]; /* the action's words: verb, then what follows ADDR */
	int r = act(fd, argv + 2, argc - 2, t0);
	close(fd);
	return r;
}

/* SPDX-License-Identifier: MIT */
/* Host-side Unix sockets (see host_sock.h). */
#define _GNU_SOURCE
#include "host_sock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unix_sock.h"

int host_connect_port(const char *uds, uint32_t port)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	int n = snprintf(path, sizeof(path), "%s_%u", uds, port);
	struct sockaddr_un a;
	if (n < 0 || (size_t)n >= sizeof(path) || unix_sock_addr(&a, path) < 0)
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix stream connect completes at once or fails (EAGAIN: the
	 * listener's backlog is full, which we treat as a refusal). */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int host_read_connect(int fd, uint32_t *port)
{
	char line[HOST_LINE_MAX + 1];
	ssize_t n;
	do
		n = recv(fd, line, HOST_LINE_MAX, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	char *nl = memchr(line, '\n', (size_t)n);
	if (!nl)
		return n == HOST_LINE_MAX ? -EPROTO : 0;
	size_t len = (size_t)(nl - line) + 1;
	/* consume exactly the line; what follows is the stream */
	if (recv(fd, line, len, MSG_DONTWAIT) != (ssize_t)len)
		return -EPROTO;
	line[len - 1] = 0;
	if (len >= 2 && line[len - 2] == '\r')
		line[len - 2] = 0;
	if (strncmp(line, "CONNECT ", 8) != 0)
		return -EPROTO;
	uint64_t v = 0;
	const char *p = line + 8;
	if (*p < '0' || *p > '9')
		return -EPROTO;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EPROTO;
	}
	if (*p)
		return -EPROTO;
	*port = (uint32_t)v;
	return 1;
}

int host_send_ok(int fd, uint32_t port)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "OK %u\n", port);
	if (n < 0)
		return -EINVAL;
	ssize_t w = send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w == n)
		return 0;
	return w < 0 ? -errno : -EAGAIN;
}

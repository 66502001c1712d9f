/* SPDX-License-Identifier: MIT */
/* Host-side Unix sockets (see host_sock.h). */
#define _GNU_SOURCE
#include "host_sock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, n + 1);
	return 0;
}

int host_listen(const char *path)
{
	struct sockaddr_un a;
	int r = unix_addr(&a, path);
	if (r < 0)
		return r;
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int host_accept(int listen_fd)
{
	int fd = accept4(listen_fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int host_connect_port(const char *uds, uint32_t port)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	int n = snprintf(path, sizeof(path), "%s_%u", uds, port);
	struct sockaddr_un a;
	if (n < 0 || (size_t)n >= sizeof(path) || unix_addr(&a, path) < 0)
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

/* SPDX-License-Identifier: MIT */
/* Unix stream sockets (see unix_sock.h). */
#define _GNU_SOURCE
#include "unix_sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int unix_sock_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, n + 1);
	return 0;
}

int unix_sock_listen(const char *path)
{
	struct sockaddr_un a;
	int r = unix_sock_addr(&a, path);
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

int unix_sock_accept(int listen_fd)
{
	int fd = accept4(listen_fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

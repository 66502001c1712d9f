/* SPDX-License-Identifier: MIT */
/* Unix stream sockets: the vhost-user socket the front-end connects to, and
 * the devices' own host-side sockets. */
#ifndef VU_UNIX_SOCK_H
#define VU_UNIX_SOCK_H

#include <sys/un.h>

/* Fills a with path. Returns 0, or -ENAMETOOLONG for "" or a path that
 * does not fit sun_path. */
int unix_sock_addr(struct sockaddr_un *a, const char *path);

/* A listening, non-blocking Unix socket at path (a stale socket file there is
 * replaced). Returns the fd or -errno. */
int unix_sock_listen(const char *path);

/* Accepts a non-blocking connection. Returns the fd or -errno (-EAGAIN: none). */
int unix_sock_accept(int listen_fd);

#endif

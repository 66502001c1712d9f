/* SPDX-License-Identifier: MIT */
/*
 * Host-side Unix sockets, with the conventions of Firecracker and rust-vmm's
 * vhost-device-vsock so that host programs work with either:
 *   - a guest connecting to host port P reaches the Unix socket "<uds>_P";
 *   - a host program connects to "<uds>", writes "CONNECT <port>\n" and, once
 *     the guest accepted, reads "OK <host port>\n"; then the stream is the
 *     guest connection.
 */
#ifndef VSOCK_HOST_SOCK_H
#define VSOCK_HOST_SOCK_H

#include <stdint.h>

/* Longest "CONNECT <port>\n" line accepted (a u32 port fits easily). */
#define HOST_LINE_MAX 64

/* Non-blocking connection to "<uds>_<port>". Returns the fd or -errno. */
int host_connect_port(const char *uds, uint32_t port);

/*
 * Reads "CONNECT <port>\n" without consuming anything after the newline.
 * Returns 1 with *port set, 0 if the line is not complete yet, -EPROTO for a
 * malformed or overlong line, -ECONNRESET at end of file, or -errno.
 */
int host_read_connect(int fd, uint32_t *port);

/* Sends "OK <port>\n" on a fresh connection. Returns 0 or -errno. */
int host_send_ok(int fd, uint32_t port);

#endif

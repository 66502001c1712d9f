/* SPDX-License-Identifier: MIT */
/*
 * vhost-user messages (QEMU docs/interop/vhost-user.rst): the request codes,
 * the 12-byte header, and one message received or sent on the front-end's
 * socket with its file descriptors.
 *
 * Everything received is untrusted: the header's version and size are
 * checked before the payload is read, and each handler checks that the
 * payload holds what it reads (vu_msg_need). File descriptors beyond
 * VU_MAX_FDS, or of a message that fails, are closed here.
 */
#ifndef VU_MESSAGE_H
#define VU_MESSAGE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
};

#define VU_VERSION 1u
#define VU_FLAG_VERSION_MASK 3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_HDR_SIZE 12u
#define VU_MAX_PAYLOAD 4096u
#define VU_MAX_FDS 8u

struct vu_msg {
	uint32_t request, flags, size;
	unsigned char p[VU_MAX_PAYLOAD];
};

/* Payload fields: vhost-user is host-endian. The caller checked the size. */
static inline uint32_t vu_get32(const struct vu_msg *m, size_t off)
{
	uint32_t v;
	memcpy(&v, m->p + off, sizeof(v));
	return v;
}
static inline uint64_t vu_get64(const struct vu_msg *m, size_t off)
{
	uint64_t v;
	memcpy(&v, m->p + off, sizeof(v));
	return v;
}

/* -EPROTO unless the payload has at least size bytes. */
static inline int vu_msg_need(const struct vu_msg *m, uint32_t size)
{
	return m->size < size ? -EPROTO : 0;
}

/* "GET_FEATURES" etc., "unknown" for codes we do not know. */
const char *vu_request_name(uint32_t request);

/*
 * Receives one message and its file descriptors (at most VU_MAX_FDS).
 * Returns 0, 1 on an orderly end of the connection, or -errno (-EPROTO for a
 * bad version or an oversized payload). On error no fd stays open.
 */
int vu_msg_recv(int fd, struct vu_msg *m, int *fds, unsigned *nfds);

/* Sends a reply (the REPLY flag set) with `size` bytes of payload and,
 * when send_fd >= 0, that file descriptor. Returns 0 or -errno. */
int vu_msg_reply(int fd, uint32_t request, const void *payload, uint32_t size, int send_fd);

#endif

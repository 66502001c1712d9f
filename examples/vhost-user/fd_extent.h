/* SPDX-License-Identifier: MIT */
/*
 * The extent of a mapping the front-end asks for: bytes [0, offset + size)
 * of a file descriptor it sent (memory table regions, the inflight region).
 */
#ifndef VU_FD_EXTENT_H
#define VU_FD_EXTENT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sets *end = offset + size, the length to mmap from offset 0. -EOVERFLOW
 * if that wraps or exceeds what size_t and off_t hold; -EINVAL if it ends
 * past a regular file (memfd, hugetlbfs, tmpfs), because touching a mapping
 * there raises SIGBUS; -errno if fstat fails.
 */
int vu_fd_extent(int fd, uint64_t offset, uint64_t size, size_t *end);

#endif /* VU_FD_EXTENT_H */

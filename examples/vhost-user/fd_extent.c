/* SPDX-License-Identifier: MIT */
/* How much of a front-end's file descriptor a mapping reaches (fd_extent.h). */
#include "fd_extent.h"

#include <errno.h>
#include <sys/stat.h>

int vu_fd_extent(int fd, uint64_t offset, uint64_t size, size_t *end)
{
	uint64_t last;
	if (__builtin_add_overflow(offset, size, &last) || last > SIZE_MAX ||
	    last > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) && (st.st_size < 0 || (uint64_t)st.st_size < last))
		return -EINVAL;
	*end = (size_t)last;
	return 0;
}

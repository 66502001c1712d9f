/* SPDX-License-Identifier: MIT */
/* The disk image (see blk_image.h). */
#define _GNU_SOURCE
#include "blk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

#define MAX_IOV 1024

int blk_image_open(struct blk_image *img, const char *path, bool read_only, const char *serial)
{
	memset(img, 0, sizeof(*img));
	img->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (img->fd < 0)
		return -errno;
	struct stat st;
	uint64_t bytes = 0;
	if (fstat(img->fd, &st) < 0)
		goto fail;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(img->fd, BLKGETSIZE64, &bytes) < 0)
			goto fail;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		errno = EINVAL;
		goto fail;
	}
	img->sectors = bytes / BLK_SECTOR;
	if (img->sectors == 0) {
		errno = EINVAL;
		goto fail;
	}
	img->read_only = read_only;
	strncpy(img->id, serial ? serial : "", sizeof(img->id));
	return 0;
fail:;
	int r = -errno;
	close(img->fd);
	img->fd = -1;
	return r;
}

void blk_image_close(struct blk_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

/* preadv/pwritev until every byte moved: short transfers continue where
 * they stopped. Returns 0 or -errno (-EIO: end of file). */
static int transfer(int fd, bool write, const struct virtq_seg *data, unsigned n, uint64_t off)
{
	struct iovec iov[MAX_IOV];
	if (n > MAX_IOV)
		return -EINVAL;
	memcpy(iov, data, n * sizeof(iov[0])); /* virtq_seg is iovec's layout */
	struct iovec *v = iov;
	while (n) {
		ssize_t k = write ? pwritev(fd, v, (int)n, (off_t)off) : preadv(fd, v, (int)n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		off += (uint64_t)k;
		size_t left = (size_t)k;
		while (n && left >= v->iov_len) {
			left -= v->iov_len;
			v++;
			n--;
		}
		if (n) {
			v->iov_base = (char *)v->iov_base + left;
			v->iov_len -= left;
		}
	}
	return 0;
}

static int zero_ranges(struct blk_image *img, const struct blk_req *r)
{
	for (unsigned i = 0; i < r->nrange; i++) {
		const struct blk_range *g = &r->range[i];
		off_t off = (off_t)(g->sector * BLK_SECTOR), len = (off_t)g->sectors * BLK_SECTOR;
		int mode = r->type == BLK_T_DISCARD || (g->flags & BLK_WZ_F_UNMAP)
				   ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
				   : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		if (len && fallocate(img->fd, mode, off, len) < 0) {
			/* DISCARD is advisory; zeroes must be zeroes */
			if (r->type == BLK_T_DISCARD)
				continue;
			log_debug("WRITE_ZEROES: fallocate: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

unsigned blk_image_execute(struct blk_image *img, const struct blk_req *r,
			   const struct virtq_seg *data, uint32_t *written)
{
	int e = 0;
	*written = 0;
	switch (r->type) {
	case BLK_T_IN:
		e = transfer(img->fd, false, data, r->ndata, r->sector * BLK_SECTOR);
		if (e == 0)
			*written = r->data_len;
		break;
	case BLK_T_OUT:
		e = transfer(img->fd, true, data, r->ndata, r->sector * BLK_SECTOR);
		break;
	case BLK_T_FLUSH:
		if (!img->read_only && fdatasync(img->fd) < 0)
			e = -errno;
		break;
	case BLK_T_GET_ID: {
		uint32_t done = 0;
		for (unsigned i = 0; i < r->ndata; i++) {
			memcpy(data[i].addr, img->id + done, data[i].len);
			done += (uint32_t)data[i].len;
		}
		*written = done;
		break;
	}
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		e = zero_ranges(img, r);
		break;
	default:
		return BLK_S_UNSUPP;
	}
	if (e < 0) {
		log_info("request type %u at sector %llu: %s", r->type,
			 (unsigned long long)r->sector, strerror(-e));
		return BLK_S_IOERR;
	}
	return BLK_S_OK;
}

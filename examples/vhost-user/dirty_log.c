/* SPDX-License-Identifier: MIT */
/* Dirty page logging: SET_LOG_BASE and LOG_ALL (see dirty_log.h). */
#define _GNU_SOURCE
#include "dirty_log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <virtq/virtq.h>

#include "log.h"
#include "vhost_user.h"

/* SET_LOG_BASE's payload: u64 mmap_size, u64 mmap_offset. */
#define LOG_BASE_PAYLOAD 16u

void vu_dirty_log_init(struct vu_dirty_log *l)
{
	memset(l, 0, sizeof(*l));
}

bool vu_dirty_log_active(const struct vu_dev *d)
{
	return d->dirty.map && (d->features & VIRTQ_FEATURE(VU_F_LOG_ALL));
}

void vu_dirty_log_apply(struct vu_dev *d)
{
	bool on = vu_dirty_log_active(d);
	if (d->dirty.map)
		virtq_log_set_enabled(&d->dirty.log, on);
	for (unsigned i = 0; i < d->num_queues; i++) {
		int r = virtq_set_log(&d->vring[i].q, on ? &d->dirty.log : NULL);
		if (r < 0)
			log_info("ring %u: dirty log not attached: %s", i, virtq_errname(r));
	}
}

static void unmap_log(struct vu_dirty_log *l)
{
	if (l->map)
		munmap(l->map, l->map_len);
	l->map = NULL;
	l->map_len = 0;
}

void vu_dirty_log_written(struct vu_dev *d, const struct virtq_chain *c, size_t n)
{
	if (n == 0 || !vu_dirty_log_active(d))
		return;
	if (virtq_chain_log_written(c, n) == 0) {
		d->dirty.written_bytes += n;
		d->dirty.writes++;
	}
}

void vu_dirty_log_clear(struct vu_dev *d)
{
	if (d->dirty.map)
		log_info("dirty log: %llu bytes of device writes logged in %llu requests",
			 (unsigned long long)d->dirty.written_bytes,
			 (unsigned long long)d->dirty.writes);
	d->dirty.written_bytes = d->dirty.writes = 0;
	for (unsigned i = 0; i < d->num_queues; i++)
		(void)virtq_set_log(&d->vring[i].q, NULL);
	unmap_log(&d->dirty);
}

/* Why the log [offset, offset + size) of fd is unusable, or NULL. */
static const char *log_area_problem(int fd, uint64_t size, uint64_t offset)
{
	struct stat st;
	long page = sysconf(_SC_PAGESIZE);
	if (size == 0 || size % 8 != 0 || size > SIZE_MAX)
		return "size not a non-zero multiple of 8";
	if (page <= 0 || offset % (uint64_t)page != 0)
		return "offset not page-aligned";
	if (offset > UINT64_MAX - size)
		return "offset + size overflows";
	if (fstat(fd, &st) < 0 || st.st_size < 0 || offset + size > (uint64_t)st.st_size)
		return "log beyond the end of its file";
	return NULL;
}

static int on_set_log_base(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	int r = vu_msg_need(m, LOG_BASE_PAYLOAD);
	if (r)
		return r;
	uint64_t size = vu_get64(m, 0), offset = vu_get64(m, 8);
	if (nfds != 1 || !(d->protocol_features & VIRTQ_FEATURE(VU_PROTOCOL_F_LOG_SHMFD))) {
		log_info("SET_LOG_BASE: %u fds%s: refused", nfds,
			 nfds == 1 ? ", LOG_SHMFD not acked" : "");
		return 1;
	}
	const char *why = log_area_problem(fds[0], size, offset);
	if (why) {
		log_info("SET_LOG_BASE: size %llu offset %llu: %s: refused",
			 (unsigned long long)size, (unsigned long long)offset, why);
		return 1;
	}
	void *map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0],
			 (off_t)offset);
	if (map == MAP_FAILED) {
		log_info("SET_LOG_BASE: mmap: %s: refused", strerror(errno));
		return 1;
	}
	struct virtq_log fresh;
	r = virtq_log_init(&fresh, &d->mem.mem, map, size);
	if (r == 0)
		r = virtq_log_covers_mem(&fresh);
	if (r < 0) {
		log_info("SET_LOG_BASE: a %llu-byte log for this memory table: %s: refused",
			 (unsigned long long)size, virtq_errname(r));
		munmap(map, (size_t)size);
		return 1;
	}
	/* The rings drop the old log before it is unmapped. */
	vu_dirty_log_clear(d);
	d->dirty.map = map;
	d->dirty.map_len = (size_t)size;
	d->dirty.log = fresh;
	vu_dirty_log_apply(d);
	log_debug("dirty log: %llu bytes%s", (unsigned long long)size,
		  vu_dirty_log_active(d) ? ", logging" : "");
	return 0;
}

int vu_dirty_log_on_msg(struct vu_dev *d, const struct vu_msg *m, int *fds, unsigned nfds)
{
	if (m->request == VU_SET_LOG_BASE)
		return on_set_log_base(d, m, fds, nfds);
	/* SET_LOG_FD: an eventfd for log syncs, which we never ask for */
	log_info("%s (%u) not supported%s", vu_request_name(m->request), m->request,
		 nfds != 1 ? ", unexpected fds" : "");
	return 1;
}

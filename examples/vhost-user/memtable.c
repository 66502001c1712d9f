/* SPDX-License-Identifier: MIT */
/* The vhost-user memory table (see memtable.h). */
#define _GNU_SOURCE
#include "memtable.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <virtq/common.h>

#include "fd_extent.h"

void memtable_init(struct memtable *t)
{
	t->n = 0;
	memset(t->r, 0, sizeof(t->r));
	virtq_mem_init(&t->mem, t->slots, MEMTABLE_MAX_REGIONS);
}

void memtable_clear(struct memtable *t)
{
	for (uint32_t i = 0; i < t->n && i < MEMTABLE_MAX_REGIONS; i++)
		if (t->r[i].map)
			munmap(t->r[i].map, t->r[i].map_len);
	memtable_init(t);
}

/* Validates one region description; computes the mapping length. */
static int check_desc(const struct memtable_desc *d, int fd, size_t *map_len)
{
	uint64_t end;
	if (d->size == 0 || fd < 0)
		return -EINVAL;
	if (__builtin_add_overflow(d->gpa, d->size - 1, &end) ||
	    __builtin_add_overflow(d->uva, d->size - 1, &end))
		return -EOVERFLOW;
	return vu_fd_extent(fd, d->mmap_offset, d->size, map_len);
}

/* Region i of t, already mapped, into t->mem. */
static int add_to_mem(struct memtable *t, uint32_t i)
{
	const struct memtable_region *r = &t->r[i];
	return virtq_mem_add_region(&t->mem, r->d.gpa, r->d.size,
				    (unsigned char *)r->map + r->d.mmap_offset);
}

int memtable_map(struct memtable *out, const struct memtable_desc *desc, const int *fds,
		 uint32_t n)
{
	if (n > MEMTABLE_MAX_REGIONS)
		return -E2BIG;
	for (uint32_t i = 0; i < n; i++) {
		size_t len = 0;
		int r = check_desc(&desc[i], fds[i], &len);
		if (r < 0) {
			memtable_clear(out);
			return r;
		}
		void *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		if (p == MAP_FAILED) {
			r = -errno;
			memtable_clear(out);
			return r;
		}
		out->r[i].d = desc[i];
		out->r[i].map = p;
		out->r[i].map_len = len;
		out->n = i + 1;
		r = add_to_mem(out, i);
		if (r < 0) {
			memtable_clear(out);
			return r == -VIRTQ_EOVERFLOW ? -EOVERFLOW : -EINVAL;
		}
	}
	return 0;
}

void memtable_replace(struct memtable *dst, struct memtable *src)
{
	memtable_clear(dst);
	dst->n = src->n;
	memcpy(dst->r, src->r, sizeof(dst->r));
	for (uint32_t i = 0; i < dst->n; i++)
		(void)add_to_mem(dst, i); /* cannot fail: src->mem held the same regions */
	memtable_init(src); /* forget, do not unmap: dst owns the mappings now */
}

int memtable_uva_to_gpa(const struct memtable *t, uint64_t uva, uint64_t len, uint64_t *gpa)
{
	for (uint32_t i = 0; i < t->n; i++) {
		const struct memtable_desc *d = &t->r[i].d;
		if (uva < d->uva)
			continue;
		uint64_t off = uva - d->uva;
		if (off >= d->size || len > d->size - off)
			continue;
		*gpa = d->gpa + off;
		return 0;
	}
	return -1;
}

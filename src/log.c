/* SPDX-License-Identifier: MIT */
/* Dirty-page logging in the vhost-user log format (log.h). */
#include <stdatomic.h>

#include "checked.h"
#include "completion.h"
#include "packed.h"
#include "packed_layout.h"
#include "queue_internal.h"
#include "ring_access.h"
#include "virtq/log.h"

int virtq_log_init(struct virtq_log *log, const struct virtq_mem *mem, void *base, uint64_t bytes)
{
	if (!log || !mem || !base || ((uintptr_t)base & 7u) || bytes == 0 || (bytes & 7u))
		return -VIRTQ_EINVAL;
	*log = (struct virtq_log){ .words = base, .nwords = bytes / 8u, .mem = mem };
	return 0;
}

void virtq_log_set_enabled(struct virtq_log *log, bool on)
{
	if (log)
		atomic_store_explicit((_Atomic uint32_t *)&log->enabled, on, memory_order_relaxed);
}

bool virtq_log_enabled(const struct virtq_log *log)
{
	return log && atomic_load_explicit((_Atomic uint32_t *)&log->enabled, memory_order_relaxed);
}

/* Bits lo..hi (0..63, lo <= hi) of a word. */
static uint64_t bit_span(uint64_t lo, uint64_t hi)
{
	const uint64_t upto_hi = hi == 63 ? UINT64_MAX : (UINT64_C(1) << (hi + 1)) - 1u;
	return upto_hi & ~((UINT64_C(1) << lo) - 1u);
}

/*
 * Sets the bits of pages first..last, one atomic OR per word. Release: the
 * guest bytes written before the call are visible to a migration thread
 * that reads (acquire) or clears (acq_rel exchange) the bit.
 */
static void mark_pages(struct virtq_log *log, uint64_t first, uint64_t last)
{
	for (uint64_t page = first; page <= last;) {
		const uint64_t word = page / 64u;
		const uint64_t end = word * 64u + 63u < last ? word * 64u + 63u : last;
		const uint64_t mask = bit_span(page % 64u, end % 64u);
		/* log (a): release, the guest write before it is visible first */
		atomic_fetch_or_explicit((_Atomic uint64_t *)&log->words[word], le64_cpu(mask),
					 memory_order_release);
		page = end + 1u; /* pages are below 2^52: no wrap */
	}
}

int virtq_log_range(struct virtq_log *log, uint64_t gpa, uint64_t len)
{
	uint64_t last;
	if (!log)
		return -VIRTQ_EINVAL;
	if (len == 0)
		return 0;
	if (!checked_range_last(gpa, len, &last))
		return -VIRTQ_EOVERFLOW;
	/* whole range checked before any bit is set: all or nothing */
	if ((last >> VIRTQ_LOG_PAGE_SHIFT) / 64u >= log->nwords)
		return -VIRTQ_ENOSPC;
	mark_pages(log, gpa >> VIRTQ_LOG_PAGE_SHIFT, last >> VIRTQ_LOG_PAGE_SHIFT);
	return 0;
}

int virtq_log_covers_mem(const struct virtq_log *log)
{
	if (!log)
		return -VIRTQ_EINVAL;
	const struct virtq_mem *m = log->mem;
	if (m->nregions == 0)
		return 0;
	/* regions are sorted and do not overlap: the last one ends highest */
	const struct virtq_mem_region *r = &m->regions[m->nregions - 1];
	const uint64_t last_page = (r->gpa + (r->size - 1)) >> VIRTQ_LOG_PAGE_SHIFT;
	return last_page / 64u < log->nwords ? 0 : -VIRTQ_ENOSPC;
}

int virtq_log_host(struct virtq_log *log, const void *host, size_t len)
{
	const struct virtq_mem *m = log->mem;
	const uintptr_t start = (uintptr_t)host;
	int err = 0;
	if (len == 0 || len - 1u > UINTPTR_MAX - start)
		return len == 0 ? 0 : -VIRTQ_EOVERFLOW;
	const uintptr_t last = start + (len - 1u);
	/* Every region whose host range meets [start, last]: host memory mapped
	 * at several guest addresses is dirty at each. */
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct virtq_mem_region *r = &m->regions[i];
		const uintptr_t rs = (uintptr_t)r->host, rl = rs + (uintptr_t)(r->size - 1u);
		if (last < rs || start > rl)
			continue;
		const uintptr_t lo = start > rs ? start : rs, hi = last < rl ? last : rl;
		int e = virtq_log_range(log, r->gpa + (lo - rs), (uint64_t)(hi - lo) + 1u);
		if (e)
			err = e;
	}
	return err;
}

int virtq_chain_log_written(const struct virtq_chain *c, size_t n)
{
	if (!c || n > c->write_len)
		return -VIRTQ_EINVAL;
	if (!c->log || !virtq_log_enabled(c->log))
		return 0;
	int err = 0;
	for (uint32_t i = c->nread; i < c->nseg && n; i++) {
		const size_t chunk = c->segs[i].len < n ? c->segs[i].len : n;
		int e = virtq_log_host(c->log, c->segs[i].addr, chunk);
		if (e)
			err = e;
		n -= chunk;
	}
	return err;
}

int virtq_queue_log_elems(struct virtq *q, uint16_t idx, uint32_t n)
{
	const uint32_t size = queue_size(q), first = idx & q->size_minus_1;
	const uint32_t before_wrap = n < size - first ? n : size - first;
	virtq_queue_log_used(q, used_ring_off(first), 8u * (uint64_t)before_wrap);
	if (n > before_wrap)
		virtq_queue_log_used(q, used_ring_off(0), 8u * (uint64_t)(n - before_wrap));
	return 0;
}

uint16_t virtq_completion_release_logged(struct virtq *q, uint16_t n)
{
	/* log (b): before used.idx publishes them (again, for the paths that
	 * write elements and publish in one call) */
	virtq_queue_log_elems(q, q->published_used, n);
	completion_release(q, n);
	virtq_queue_log_used(q, USED_IDX, 2); /* log (a): after the write */
	return n;
}

void virtq_packed_log_descs(struct virtq *q, uint16_t pos, uint32_t n)
{
	if (!virtq_log_enabled(q->log))
		return;
	const uint32_t size = queue_size(q), first = pos & q->size_minus_1;
	const uint32_t before_wrap = n < size - first ? n : size - first;
	/* covered: see activation */
	(void)virtq_log_range(q->log, q->desc_phys + packed_desc_off(first),
			      PACKED_DESC_BYTES * (uint64_t)before_wrap);
	if (n > before_wrap)
		(void)virtq_log_range(q->log, q->desc_phys,
				      PACKED_DESC_BYTES * (uint64_t)(n - before_wrap));
}

void virtq_queue_log_used(struct virtq *q, uint64_t off, uint64_t len)
{
	if (virtq_log_enabled(q->log))
		(void)virtq_log_range(q->log, q->used_phys + off, len); /* covered: see activation */
}

int virtq_set_log(struct virtq *q, struct virtq_log *log)
{
	if (!q || !q->mem || (log && log->mem != q->mem))
		return -VIRTQ_EINVAL;
	int r = log ? virtq_log_covers_mem(log) : 0;
	if (r)
		return r;
	q->log = log;
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* Mock driver, memory half: guest regions with guards, access, write checks. */
#include <stdlib.h>
#include <string.h>

#include "mock_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define MOCK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOCK_ASAN 1
#endif
#endif

#ifdef MOCK_ASAN
#include <sanitizer/asan_interface.h>
#define mock_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define mock_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define mock_poison(p, n) ((void)(p), (void)(n))
#define mock_unpoison(p, n) ((void)(p), (void)(n))
#endif

/* Largest region the mock allocates; keeps fuzzed configs cheap. */
#define MOCK_REGION_MAX (UINT64_C(1) << 30)

static uint64_t alloc_bytes(uint64_t size)
{
	return align_up(2u * VIRTQ_MOCK_GUARD + size, VIRTQ_MOCK_GUARD);
}

static void guards_poison(struct virtq_mock *m, uint32_t i, bool poison)
{
	unsigned char *front = m->alloc[i];
	unsigned char *back = front + VIRTQ_MOCK_GUARD + m->cfg.regions[i].size;
	size_t back_len = (size_t)(alloc_bytes(m->cfg.regions[i].size) -
				   VIRTQ_MOCK_GUARD - m->cfg.regions[i].size);
	if (poison) {
		mock_poison(front, VIRTQ_MOCK_GUARD);
		mock_poison(back, back_len);
	} else {
		mock_unpoison(front, VIRTQ_MOCK_GUARD);
		mock_unpoison(back, back_len);
	}
}

int mock_memory_init(struct virtq_mock *m)
{
	const struct virtq_mock_config *cfg = &m->cfg;
	if (cfg->nregions == 0 || cfg->nregions > VIRTQ_MOCK_MAX_REGIONS)
		return -VIRTQ_EINVAL;
	virtq_mem_init(&m->mem);
	for (uint32_t i = 0; i < cfg->nregions; i++) {
		uint64_t size = cfg->regions[i].size;
		if (size == 0 || size > MOCK_REGION_MAX)
			return -VIRTQ_EINVAL;
		uint64_t total = alloc_bytes(size);
		m->alloc[i] = aligned_alloc(VIRTQ_MOCK_GUARD, (size_t)total);
		if (!m->alloc[i])
			return -VIRTQ_ENOSPC;
		memset(m->alloc[i], VIRTQ_MOCK_GUARD_BYTE, (size_t)total);
		memset(m->alloc[i] + VIRTQ_MOCK_GUARD, 0, (size_t)size);
		guards_poison(m, i, true);
		int r = virtq_mem_add_region(&m->mem, cfg->regions[i].gpa, size,
					     m->alloc[i] + VIRTQ_MOCK_GUARD);
		if (r)
			return r;
	}
	return 0;
}

void mock_memory_destroy(struct virtq_mock *m)
{
	for (uint32_t i = 0; i < VIRTQ_MOCK_MAX_REGIONS; i++) {
		if (m->alloc[i])
			guards_poison(m, i, false);
		free(m->alloc[i]);
		free(m->snapshot[i]);
		m->alloc[i] = m->snapshot[i] = NULL;
	}
	free(m->allowed);
	m->allowed = NULL;
	m->nallowed = m->allowed_cap = 0;
}

void *virtq_mock_host(struct virtq_mock *m, uint64_t gpa, uint64_t len)
{
	return m ? virtq_mem_translate(&m->mem, gpa, len) : NULL;
}

int virtq_mock_read(struct virtq_mock *m, uint64_t gpa, void *dst, size_t len)
{
	return m ? virtq_mem_read(&m->mem, gpa, dst, len) : -VIRTQ_EINVAL;
}

int virtq_mock_write(struct virtq_mock *m, uint64_t gpa, const void *src, size_t len)
{
	return m ? virtq_mem_write(&m->mem, gpa, src, len) : -VIRTQ_EINVAL;
}

int virtq_mock_fill(struct virtq_mock *m, uint64_t gpa, int byte, size_t len)
{
	struct virtq_seg segs[VIRTQ_MEM_MAX_REGIONS];
	if (!m)
		return -VIRTQ_EINVAL;
	int n = virtq_mem_split(&m->mem, gpa, len, segs, VIRTQ_MEM_MAX_REGIONS);
	for (int i = 0; i < n; i++)
		memset(segs[i].addr, byte, segs[i].len);
	return n < 0 ? n : 0;
}

bool virtq_mock_gpa_of(const struct virtq_mock *m, const void *host, uint64_t *gpa)
{
	if (!m)
		return false;
	for (uint32_t i = 0; i < m->mem.nregions; i++) {
		const struct virtq_mem_region *r = &m->mem.regions[i];
		uintptr_t off = (uintptr_t)host - (uintptr_t)r->host;
		if ((uintptr_t)host >= (uintptr_t)r->host && off < r->size) {
			if (gpa)
				*gpa = r->gpa + off;
			return true;
		}
	}
	return false;
}

int virtq_mock_allow_write(struct virtq_mock *m, uint64_t gpa, uint64_t len)
{
	if (!m)
		return -VIRTQ_EINVAL;
	if (m->nallowed == m->allowed_cap) {
		uint32_t cap = m->allowed_cap ? 2 * m->allowed_cap : 64;
		struct virtq_mock_range *a = realloc(m->allowed, cap * sizeof(*a));
		if (!a)
			return -VIRTQ_ENOSPC;
		m->allowed = a;
		m->allowed_cap = cap;
	}
	m->allowed[m->nallowed++] = (struct virtq_mock_range){ .gpa = gpa, .len = len };
	return 0;
}

int virtq_mock_snapshot(struct virtq_mock *m)
{
	if (!m)
		return -VIRTQ_EINVAL;
	for (uint32_t i = 0; i < m->cfg.nregions; i++) {
		size_t size = (size_t)m->cfg.regions[i].size;
		if (!m->snapshot[i] && !(m->snapshot[i] = malloc(size)))
			return -VIRTQ_ENOSPC;
		memcpy(m->snapshot[i], m->alloc[i] + VIRTQ_MOCK_GUARD, size);
	}
	return 0;
}

static bool write_allowed(const struct virtq_mock *m, uint64_t gpa)
{
	uint32_t size = mock_size(m);
	if (gpa - m->cfg.used_gpa < VIRTQ_USED_RING_BYTES(size))
		return true;
	for (uint32_t i = 0; i < m->nallowed; i++)
		if (gpa - m->allowed[i].gpa < m->allowed[i].len)
			return true;
	return false;
}

int virtq_mock_check_writes(struct virtq_mock *m, uint64_t *bad_gpa)
{
	if (!m)
		return -VIRTQ_EINVAL;
	for (uint32_t i = 0; i < m->cfg.nregions; i++) {
		const unsigned char *now = m->alloc[i] + VIRTQ_MOCK_GUARD, *then = m->snapshot[i];
		uint64_t size = m->cfg.regions[i].size;
		if (!then)
			return -VIRTQ_EINVAL;
		for (uint64_t off = 0; off < size; off += 4096) {
			size_t block = (size_t)(size - off < 4096 ? size - off : 4096);
			if (!memcmp(now + off, then + off, block))
				continue;
			for (size_t b = 0; b < block; b++) {
				uint64_t gpa = m->cfg.regions[i].gpa + off + b;
				if (now[off + b] != then[off + b] && !write_allowed(m, gpa)) {
					if (bad_gpa)
						*bad_gpa = gpa;
					return -1;
				}
			}
		}
	}
	return 0;
}

bool virtq_mock_guards_intact(struct virtq_mock *m)
{
	bool intact = true;
	for (uint32_t i = 0; m && i < m->cfg.nregions; i++) {
		uint64_t size = m->cfg.regions[i].size, total = alloc_bytes(size);
		guards_poison(m, i, false);
		for (uint64_t b = 0; b < total; b++) {
			if (b == VIRTQ_MOCK_GUARD)
				b += size;
			if (b < total && m->alloc[i][b] != VIRTQ_MOCK_GUARD_BYTE)
				intact = false;
		}
		guards_poison(m, i, true);
	}
	return intact;
}

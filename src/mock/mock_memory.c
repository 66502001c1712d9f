/* SPDX-License-Identifier: MIT */
/* Mock driver, memory half: guest regions with guards, access, write checks.
 * POSIX (mmap): the mock is a test tool; the library itself is plain C11. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, memfd_create */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mock_internal.h"
#include "ring_access.h"

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

/* Largest region: mappings are lazy, so only touched pages cost memory. */
#define MOCK_REGION_MAX (UINT64_C(1) << 36)
#define MOCK_PAGE 4096u

/*
 * Each region is its own mapping: [guard page][region, rounded up to pages]
 * [guard page]. Guard pages are PROT_NONE, so any stray access faults, with
 * or without sanitizers. The slack between the region's end and the trailing
 * guard page holds VIRTQ_MOCK_GUARD_BYTE and is poisoned for ASan.
 * A read-only region's pages are a memory file mapped twice: PROT_READ
 * between the guard pages (the device's view), and writable elsewhere (the
 * driver's view, driver_alias).
 */
static uint64_t map_bytes(uint64_t size)
{
	return 2u * MOCK_PAGE + align_up(size, MOCK_PAGE);
}

static unsigned char *region_base(const struct virtq_mock *m, uint32_t i)
{
	return m->alloc[i] + MOCK_PAGE;
}

/* Where the driver (the mock) writes region i. */
static unsigned char *driver_base(const struct virtq_mock *m, uint32_t i)
{
	return m->driver_alias[i] ? m->driver_alias[i] : region_base(m, i);
}

static size_t slack_bytes(const struct virtq_mock *m, uint32_t i)
{
	uint64_t size = m->cfg.regions[i].size;
	return (size_t)(align_up(size, MOCK_PAGE) - size);
}

static void slack_poison_at(unsigned char *base, size_t size, size_t n, bool poison)
{
	if (poison)
		mock_poison(base + size, n);
	else
		mock_unpoison(base + size, n);
}

static void slack_poison(struct virtq_mock *m, uint32_t i, bool poison)
{
	const size_t size = (size_t)m->cfg.regions[i].size, n = slack_bytes(m, i);
	slack_poison_at(region_base(m, i), size, n, poison);
	if (m->driver_alias[i])
		slack_poison_at(m->driver_alias[i], size, n, poison);
}

static bool is_readonly(const struct virtq_mock *m, uint32_t i)
{
	return m->cfg.regions[i].flags & VIRTQ_MEM_READONLY;
}

/* The device's view PROT_READ over the reserved range, the driver's view
 * writable: one memory file, so both see the same bytes. */
static int map_readonly(struct virtq_mock *m, uint32_t i, size_t bytes)
{
	int fd = memfd_create("virtq-mock-readonly", MFD_CLOEXEC);
	if (fd < 0)
		return -VIRTQ_ENOSPC;
	void *dev = MAP_FAILED, *drv = MAP_FAILED;
	if (ftruncate(fd, (off_t)bytes) == 0) {
		dev = mmap(region_base(m, i), bytes, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
		drv = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	}
	close(fd);
	if (drv != MAP_FAILED)
		m->driver_alias[i] = drv;
	return dev == MAP_FAILED || drv == MAP_FAILED ? -VIRTQ_ENOSPC : 0;
}

static int map_region(struct virtq_mock *m, uint32_t i)
{
	const uint64_t size = m->cfg.regions[i].size, total = map_bytes(size);
	if (size == 0 || size > MOCK_REGION_MAX || total > SIZE_MAX)
		return -VIRTQ_EINVAL;
	const int sharing = m->cfg.shared_memory ? MAP_SHARED : MAP_PRIVATE;
	void *p = mmap(NULL, (size_t)total, PROT_NONE, sharing | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -VIRTQ_ENOSPC;
	m->alloc[i] = p;
	const size_t bytes = (size_t)align_up(size, MOCK_PAGE);
	int r = is_readonly(m, i) ? map_readonly(m, i, bytes)
				  : mprotect(region_base(m, i), bytes, PROT_READ | PROT_WRITE) ? -VIRTQ_ENOSPC
											     : 0;
	if (r)
		return r;
	memset(driver_base(m, i) + size, VIRTQ_MOCK_GUARD_BYTE, slack_bytes(m, i));
	slack_poison(m, i, true);
	return 0;
}

int virtq_mock_memory_init(struct virtq_mock *m)
{
	const struct virtq_mock_config *cfg = &m->cfg;
	if (cfg->nregions == 0 || cfg->nregions > VIRTQ_MOCK_MAX_REGIONS)
		return -VIRTQ_EINVAL;
	virtq_mem_init(&m->mem, m->mem_regions, VIRTQ_MOCK_MAX_REGIONS);
	virtq_mem_init(&m->driver_mem, m->driver_regions, VIRTQ_MOCK_MAX_REGIONS);
	for (uint32_t i = 0; i < cfg->nregions; i++) {
		const struct virtq_mock_region *reg = &cfg->regions[i];
		int r = map_region(m, i);
		if (!r)
			r = virtq_mem_add_region_flags(&m->mem, reg->gpa, reg->size,
						       region_base(m, i), reg->flags);
		if (!r)
			r = virtq_mem_add_region(&m->driver_mem, reg->gpa, reg->size,
						 driver_base(m, i));
		if (r)
			return r;
	}
	return 0;
}

void virtq_mock_memory_destroy(struct virtq_mock *m)
{
	for (uint32_t i = 0; i < VIRTQ_MOCK_MAX_REGIONS; i++) {
		if (m->alloc[i]) {
			slack_poison(m, i, false);
			munmap(m->alloc[i], (size_t)map_bytes(m->cfg.regions[i].size));
		}
		if (m->driver_alias[i])
			munmap(m->driver_alias[i], (size_t)align_up(m->cfg.regions[i].size, MOCK_PAGE));
		free(m->snapshot[i]);
		m->alloc[i] = m->snapshot[i] = m->driver_alias[i] = NULL;
	}
	free(m->allowed);
	m->allowed = NULL;
	m->nallowed = m->allowed_cap = 0;
}

void *virtq_mock_device_alloc(struct virtq_mock *m, size_t bytes)
{
	if (!m->cfg.shared_memory)
		return calloc(1, bytes); /* malloc: 16-aligned */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void virtq_mock_device_free(struct virtq_mock *m, void *p, size_t bytes)
{
	if (m->cfg.shared_memory && p)
		munmap(p, bytes);
	else
		free(p);
}

void virtq_mock_memory_wipe(struct virtq_mock *m)
{
	for (uint32_t i = 0; i < m->cfg.nregions; i++) {
		memset(driver_base(m, i), 0, (size_t)m->cfg.regions[i].size);
		slack_poison(m, i, false);
		memset(driver_base(m, i) + m->cfg.regions[i].size, VIRTQ_MOCK_GUARD_BYTE,
		       slack_bytes(m, i));
		slack_poison(m, i, true);
	}
}

void *virtq_mock_host(struct virtq_mock *m, uint64_t gpa, uint64_t len)
{
	return m ? virtq_mem_translate(&m->driver_mem, gpa, len) : NULL;
}

int virtq_mock_read(struct virtq_mock *m, uint64_t gpa, void *dst, size_t len)
{
	return m ? virtq_mem_read(&m->driver_mem, gpa, dst, len) : -VIRTQ_EINVAL;
}

int virtq_mock_write(struct virtq_mock *m, uint64_t gpa, const void *src, size_t len)
{
	int r = m ? virtq_mem_write(&m->driver_mem, gpa, src, len) : -VIRTQ_EINVAL;
	if (!r)
		virtq_mock_note_driver_write(m, gpa, len);
	return r;
}

int virtq_mock_fill(struct virtq_mock *m, uint64_t gpa, int byte, size_t len)
{
	struct virtq_seg segs[VIRTQ_MOCK_MAX_REGIONS];
	if (!m)
		return -VIRTQ_EINVAL;
	int n = virtq_mem_split(&m->driver_mem, gpa, len, segs, VIRTQ_MOCK_MAX_REGIONS);
	for (int i = 0; i < n; i++)
		memset(segs[i].addr, byte, segs[i].len);
	if (n < 0)
		return n;
	virtq_mock_note_driver_write(m, gpa, len);
	return 0;
}

/* Index of the configured region holding gpa, or nregions. */
static uint32_t cfg_region_of(const struct virtq_mock *m, uint64_t gpa)
{
	uint32_t i = 0;
	while (i < m->cfg.nregions && gpa - m->cfg.regions[i].gpa >= m->cfg.regions[i].size)
		i++;
	return i;
}

void virtq_mock_note_driver_write(struct virtq_mock *m, uint64_t gpa, uint64_t len)
{
	uint32_t i;
	while (len && (i = cfg_region_of(m, gpa)) < m->cfg.nregions) {
		const uint64_t off = gpa - m->cfg.regions[i].gpa, tail = m->cfg.regions[i].size - off;
		const uint64_t n = tail < len ? tail : len;
		if (m->snapshot[i])
			memcpy(m->snapshot[i] + off, region_base(m, i) + off, (size_t)n);
		gpa += n;
		len -= n;
	}
}

static bool gpa_in(const struct virtq_mem *mem, const void *host, uint64_t *gpa)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct virtq_mem_region *r = &mem->regions[i];
		uintptr_t off = (uintptr_t)host - (uintptr_t)r->host;
		if ((uintptr_t)host >= (uintptr_t)r->host && off < r->size) {
			if (gpa)
				*gpa = r->gpa + off;
			return true;
		}
	}
	return false;
}

/* The device's mapping or the driver's: virtq_mock_host() answers with the
 * driver's, which for a read-only region is another (writable) alias. */
bool virtq_mock_gpa_of(const struct virtq_mock *m, const void *host, uint64_t *gpa)
{
	return m && (gpa_in(&m->mem, host, gpa) || gpa_in(&m->driver_mem, host, gpa));
}

static int range_cmp(const void *a, const void *b)
{
	const struct virtq_mock_range *x = a, *y = b;
	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/*
 * Replaces the allowed ranges by their union: sorted, overlapping and adjacent
 * ones merged, empty ones dropped (ranges that wrap past 2^64 are kept as
 * they are). A driver that keeps reposting the same buffers (a long-running
 * test) then needs a bounded list instead of one entry per posted buffer.
 */
static void compact_allowed(struct virtq_mock *m)
{
	struct virtq_mock_range *a = m->allowed;
	uint32_t n = 0;
	qsort(a, m->nallowed, sizeof(*a), range_cmp);
	for (uint32_t i = 0; i < m->nallowed; i++) {
		struct virtq_mock_range *last = n ? &a[n - 1] : NULL;
		const bool wraps = a[i].len > UINT64_MAX - a[i].gpa;
		if (a[i].len == 0)
			continue;
		if (last && !wraps && last->len <= UINT64_MAX - last->gpa &&
		    a[i].gpa <= last->gpa + last->len) {
			uint64_t end = a[i].gpa + a[i].len;
			if (end > last->gpa + last->len)
				last->len = end - last->gpa;
			continue;
		}
		a[n++] = a[i];
	}
	m->nallowed = n;
}

int virtq_mock_allow_write(struct virtq_mock *m, uint64_t gpa, uint64_t len)
{
	if (!m)
		return -VIRTQ_EINVAL;
	bool grow = m->nallowed == m->allowed_cap;
	if (grow && m->nallowed) {
		compact_allowed(m);
		grow = m->nallowed > m->allowed_cap / 2; /* still over half full */
	}
	if (grow) {
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
		memcpy(m->snapshot[i], region_base(m, i), size);
	}
	return 0;
}

static bool same_word(const unsigned char *a, const unsigned char *b)
{
	uint64_t x, y;
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x == y;
}

/* How many bytes from gpa on the device may write (0: gpa itself is not
 * writable): one range is checked once, not once per byte it changed. */
static uint64_t writable_run(const struct virtq_mock *m, uint64_t gpa)
{
	uint32_t size = mock_size(m);
	uint64_t run = 0;
	if (gpa - m->cfg.used_gpa < VIRTQ_USED_RING_BYTES(size))
		run = VIRTQ_USED_RING_BYTES(size) - (gpa - m->cfg.used_gpa);
	/* packed: the device writes len, id and flags of used descriptors (2.8.4) */
	if ((m->cfg.features & VIRTQ_FEATURE(VIRTQ_F_RING_PACKED)) &&
	    gpa - m->cfg.desc_gpa < VIRTQ_PACKED_RING_BYTES(size) && ((gpa - m->cfg.desc_gpa) & 15u) >= 8u) {
		uint64_t rest = 16u - ((gpa - m->cfg.desc_gpa) & 15u);
		run = rest > run ? rest : run;
	}
	for (uint32_t i = 0; i < m->nallowed; i++) {
		uint64_t into = gpa - m->allowed[i].gpa;
		if (into < m->allowed[i].len && m->allowed[i].len - into > run)
			run = m->allowed[i].len - into;
	}
	return run;
}

int virtq_mock_check_writes(struct virtq_mock *m, uint64_t *bad_gpa)
{
	if (!m)
		return -VIRTQ_EINVAL;
	for (uint32_t i = 0; i < m->cfg.nregions; i++) {
		const unsigned char *now = region_base(m, i), *then = m->snapshot[i];
		uint64_t size = m->cfg.regions[i].size;
		if (!then)
			return -VIRTQ_EINVAL;
		for (uint64_t off = 0; off < size;) {
			size_t block = (size_t)(size - off < 4096 ? size - off : 4096);
			if (!memcmp(now + off, then + off, block)) {
				off += block;
				continue;
			}
			/* a changed byte: the run it starts is skipped if writable
			 * (which may end past this block: the next starts there) */
			for (const uint64_t end = off + block; off < end;) {
				if (end - off >= 8 && same_word(now + off, then + off)) {
					off += 8;
					continue;
				}
				if (now[off] == then[off]) {
					off++;
					continue;
				}
				uint64_t gpa = m->cfg.regions[i].gpa + off, run = writable_run(m, gpa);
				if (!run) {
					if (bad_gpa)
						*bad_gpa = gpa;
					return 1;
				}
				off += run;
			}
		}
	}
	return 0;
}

bool virtq_mock_guards_intact(struct virtq_mock *m)
{
	bool intact = true;
	for (uint32_t i = 0; m && i < m->cfg.nregions; i++) {
		const unsigned char *slack = region_base(m, i) + m->cfg.regions[i].size;
		const size_t n = slack_bytes(m, i);
		slack_poison(m, i, false);
		/* all n bytes equal the first, which is the guard byte: one memcmp
		 * (the fuzz build instruments every comparison of a byte loop) */
		intact &= n == 0 || (slack[0] == VIRTQ_MOCK_GUARD_BYTE && !memcmp(slack, slack + 1, n - 1));
		slack_poison(m, i, true);
	}
	return intact;
}

static bool page_logged(const struct virtq_log *log, uint64_t gpa)
{
	const uint64_t page = gpa >> VIRTQ_LOG_PAGE_SHIFT;
	return page / 64u < log->nwords && (le64_cpu(log->words[page / 64u]) >> (page % 64u) & 1u);
}

int virtq_mock_check_dirty(struct virtq_mock *m, const struct virtq_log *log, uint64_t *bad_gpa)
{
	if (!m || !log)
		return -VIRTQ_EINVAL;
	for (uint32_t i = 0; i < m->cfg.nregions; i++) {
		const unsigned char *now = region_base(m, i), *then = m->snapshot[i];
		const uint64_t base = m->cfg.regions[i].gpa, size = m->cfg.regions[i].size;
		if (!then)
			return -VIRTQ_EINVAL;
		/* page by page of guest-physical memory */
		for (uint64_t off = 0; off < size;) {
			const uint64_t gpa = base + off;
			uint64_t n = MOCK_PAGE - (gpa & (MOCK_PAGE - 1u));
			if (n > size - off)
				n = size - off;
			if (memcmp(now + off, then + off, (size_t)n) && !page_logged(log, gpa)) {
				uint64_t b = 0;
				while (now[off + b] == then[off + b])
					b++;
				if (bad_gpa)
					*bad_gpa = gpa + b;
				return 1;
			}
			off += n;
		}
	}
	return 0;
}

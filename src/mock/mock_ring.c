/* SPDX-License-Identifier: MIT */
/* Mock driver, ring half: layout, posting chains, used entries, raw writes. */
#include <stdlib.h>
#include <string.h>

#include "mock_internal.h"
#include "ring_access.h"
#include "split_layout.h"

void virtq_mock_config_default(struct virtq_mock_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nregions = 1;
	cfg->regions[0] = (struct virtq_mock_region){ .gpa = 0, .size = 1u << 20 };
	cfg->queue_size = 256;
	cfg->features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1); /* virtio 1.x: the feature contract */
	cfg->desc_gpa = cfg->avail_gpa = cfg->used_gpa = VIRTQ_MOCK_AUTO;
	cfg->buf_gpa = cfg->buf_end = VIRTQ_MOCK_AUTO;
}

/* AUTO addresses: rings packed at the start of region 0, buffers after. */
static void layout(struct virtq_mock *m)
{
	struct virtq_mock_config *cfg = &m->cfg;
	const uint32_t size = mock_size(m);
	const uint64_t base = align_up(cfg->regions[0].gpa, 4096);
	const uint64_t avail = align_up(base + VIRTQ_DESC_TABLE_BYTES(size), 4096);
	const uint64_t used = align_up(avail + VIRTQ_AVAIL_RING_BYTES(size), 4096);
	const uint64_t region_end = cfg->regions[0].gpa + cfg->regions[0].size;
	if (cfg->desc_gpa == VIRTQ_MOCK_AUTO)
		cfg->desc_gpa = base;
	if (cfg->avail_gpa == VIRTQ_MOCK_AUTO)
		cfg->avail_gpa = avail;
	if (cfg->used_gpa == VIRTQ_MOCK_AUTO)
		cfg->used_gpa = used;
	if (cfg->buf_gpa == VIRTQ_MOCK_AUTO)
		cfg->buf_gpa = align_up(used + VIRTQ_USED_RING_BYTES(size), 65536);
	if (cfg->buf_end == VIRTQ_MOCK_AUTO)
		cfg->buf_end = region_end;
	if (cfg->buf_gpa > cfg->buf_end)
		cfg->buf_gpa = cfg->buf_end;
}

int virtq_mock_init(struct virtq_mock *m, const struct virtq_mock_config *cfg)
{
	if (!m || !cfg)
		return -VIRTQ_EINVAL;
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	int r = virtq_mock_memory_init(m);
	if (!r) {
		layout(m);
		r = virtq_mock_ring_init(m);
	}
	if (r)
		virtq_mock_destroy(m);
	return r;
}

void virtq_mock_destroy(struct virtq_mock *m)
{
	if (!m)
		return;
	virtq_mock_ring_destroy(m);
	virtq_mock_memory_destroy(m);
}

int virtq_mock_ring_init(struct virtq_mock *m)
{
	/* Sized for the largest queue, so reconfiguring never reallocates. */
	m->free_next = calloc(VIRTQ_MAX_SIZE, sizeof(*m->free_next));
	m->chain_ndesc = calloc(VIRTQ_MAX_SIZE, sizeof(*m->chain_ndesc));
	m->inflight_bytes = VIRTQ_INFLIGHT_BYTES(VIRTQ_MAX_SIZE);
	m->inflight = virtq_mock_device_alloc(m, m->inflight_bytes);
	m->journal_bytes = VIRTQ_JOURNAL_BYTES(VIRTQ_MAX_SIZE);
	m->journal = virtq_mock_device_alloc(m, m->journal_bytes);
	if (!m->free_next || !m->chain_ndesc || !m->inflight || !m->journal)
		return -VIRTQ_ENOSPC;
	virtq_mock_reset_driver(m);
	return 0;
}

void virtq_mock_ring_destroy(struct virtq_mock *m)
{
	free(m->free_next);
	free(m->chain_ndesc);
	virtq_mock_device_free(m, m->inflight, m->inflight_bytes);
	virtq_mock_device_free(m, m->journal, m->journal_bytes);
	m->free_next = m->chain_ndesc = NULL;
	m->inflight = m->journal = NULL;
}

void virtq_mock_reset_driver(struct virtq_mock *m)
{
	uint32_t size = mock_size(m);
	/* Never-used descriptors come from a counter, so a reset costs no loop
	 * over the table (the fuzz harness resets on every run). */
	memset(m->chain_ndesc, 0, size * sizeof(*m->chain_ndesc));
	m->fresh = m->recycled = 0;
	m->free_head = 0;
	m->num_free = size;
	m->avail_idx = m->last_used = m->kicked_idx = 0;
	m->buf_next = m->cfg.buf_gpa;
	m->nallowed = 0;
	virtq_mock_packed_reset(m);
	/* Zero whatever part of each ring lies in guest memory. */
	virtq_mock_fill(m, m->cfg.desc_gpa, 0, (size_t)VIRTQ_DESC_TABLE_BYTES(size));
	virtq_mock_fill(m, m->cfg.avail_gpa, 0, (size_t)VIRTQ_AVAIL_RING_BYTES(size));
	virtq_mock_fill(m, m->cfg.used_gpa, 0, (size_t)VIRTQ_USED_RING_BYTES(size));
}

void virtq_mock_wipe(struct virtq_mock *m)
{
	if (!m)
		return;
	virtq_mock_memory_wipe(m);
	virtq_mock_reset_driver(m);
}

/* Field by field: the struct has padding. */
static bool same_regions(const struct virtq_mock_config *a, const struct virtq_mock_config *b)
{
	for (uint32_t i = 0; i < a->nregions; i++)
		if (a->regions[i].gpa != b->regions[i].gpa ||
		    a->regions[i].size != b->regions[i].size ||
		    a->regions[i].flags != b->regions[i].flags)
			return false;
	return true;
}

int virtq_mock_reconfigure(struct virtq_mock *m, const struct virtq_mock_config *cfg)
{
	if (!m || !cfg || cfg->nregions != m->cfg.nregions ||
	    cfg->shared_memory != m->cfg.shared_memory ||
	    !same_regions(cfg, &m->cfg))
		return -VIRTQ_EINVAL;
	m->cfg = *cfg;
	layout(m);
	virtq_mock_wipe(m);
	return 0;
}

int virtq_mock_configure(struct virtq_mock *m, struct virtq *q)
{
	int r;
	if (!m || !q)
		return -VIRTQ_EINVAL;
	const struct virtq_ring_addrs addrs = { .desc_area = m->cfg.desc_gpa,
						.driver_area = m->cfg.avail_gpa,
						.device_area = m->cfg.used_gpa };
	if ((r = virtq_init(q, &m->mem, VIRTQ_MAX_SIZE)) ||
	    (r = virtq_set_inflight(q, m->inflight, m->inflight_bytes)) ||
	    (r = virtq_set_journal(q, m->journal, m->journal_bytes)) ||
	    (r = virtq_set_size(q, m->cfg.queue_size)) || (r = virtq_set_addrs(q, &addrs)) ||
	    (r = virtq_set_features(q, m->cfg.features)) ||
	    (m->iommu && (r = virtq_set_iommu(q, m->iommu))))
		return r;
	return 0;
}

int virtq_mock_attach(struct virtq_mock *m, struct virtq *q)
{
	int r = virtq_mock_configure(m, q);
	return r ? r : virtq_activate(q);
}

int virtq_mock_resume(struct virtq_mock *m, struct virtq *q, uint16_t next_avail)
{
	int r = virtq_mock_configure(m, q);
	return r ? r : virtq_resume(q, next_avail);
}

uint64_t virtq_mock_alloc(struct virtq_mock *m, uint64_t len, uint64_t align)
{
	if (!m || !align || (align & (align - 1)))
		return VIRTQ_MOCK_NOMEM;
	uint64_t at = align_up(m->buf_next, align);
	if (at < m->buf_next || at > m->cfg.buf_end || len > m->cfg.buf_end - at)
		return VIRTQ_MOCK_NOMEM;
	m->buf_next = at + len;
	return at;
}

void virtq_mock_alloc_reset(struct virtq_mock *m)
{
	if (m)
		m->buf_next = m->cfg.buf_gpa;
}

/* Ring field access by guest address: rings may be anywhere, even misaligned
 * or outside memory, when a test builds a malicious layout. */
static int store16(struct virtq_mock *m, uint64_t gpa, uint16_t v, bool release)
{
	void *p = virtq_mem_translate(&m->driver_mem, gpa, 2);
	if (!p)
		return -VIRTQ_EBADADDR;
	if ((uintptr_t)p & 1u) {
		ring_store16_unaligned(p, v);
	} else if (release) {
		ring_store16_release(p, v);
	} else {
		ring_store16(p, v);
	}
	virtq_mock_note_driver_write(m, gpa, 2);
	return 0;
}

static uint16_t load16(struct virtq_mock *m, uint64_t gpa, bool acquire)
{
	void *p = virtq_mem_translate(&m->driver_mem, gpa, 2);
	if (!p)
		return 0;
	if ((uintptr_t)p & 1u)
		return ring_load16_unaligned(p);
	return acquire ? ring_load16_acquire(p) : ring_load16(p);
}

int virtq_mock_write_desc_at(struct virtq_mock *m, uint64_t gpa, uint64_t addr, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	void *p = m ? virtq_mem_translate(&m->driver_mem, gpa, RING_DESC_BYTES) : NULL;
	if (!p)
		return m ? -VIRTQ_EBADADDR : -VIRTQ_EINVAL;
	ring_write_desc(p, (struct ring_desc){ .addr = addr, .len = len, .flags = flags,
					       .next = next });
	virtq_mock_note_driver_write(m, gpa, RING_DESC_BYTES);
	return 0;
}

int virtq_mock_set_desc(struct virtq_mock *m, uint32_t idx, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next)
{
	if (!m)
		return -VIRTQ_EINVAL;
	return virtq_mock_write_desc_at(m, m->cfg.desc_gpa + (uint64_t)idx * RING_DESC_BYTES,
					addr, len, flags, next);
}

int virtq_mock_set_avail_entry(struct virtq_mock *m, uint32_t slot, uint16_t head)
{
	return m ? store16(m, m->cfg.avail_gpa + avail_ring_off(slot), head, false)
		 : -VIRTQ_EINVAL;
}

int virtq_mock_set_avail_idx(struct virtq_mock *m, uint16_t idx)
{
	if (!m)
		return -VIRTQ_EINVAL;
	m->avail_idx = idx;
	/* Driver side of 2.7.13 (a): ring entries before the index that publishes them. */
	return store16(m, m->cfg.avail_gpa + AVAIL_IDX, idx, true);
}

int virtq_mock_set_avail_flags(struct virtq_mock *m, uint16_t flags)
{
	return m ? store16(m, m->cfg.avail_gpa + AVAIL_FLAGS, flags, false) : -VIRTQ_EINVAL;
}

int virtq_mock_set_used_event(struct virtq_mock *m, uint16_t event)
{
	return m ? store16(m, m->cfg.avail_gpa + used_event_off(mock_size(m)), event, false)
		 : -VIRTQ_EINVAL;
}

int virtq_mock_publish(struct virtq_mock *m)
{
	return m ? virtq_mock_set_avail_idx(m, m->avail_idx) : -VIRTQ_EINVAL;
}

/* One free descriptor: a returned one if any, else a never-used one. */
static uint16_t take_one(struct virtq_mock *m)
{
	if (m->recycled) {
		uint16_t idx = m->free_head;
		m->free_head = m->free_next[idx];
		m->recycled--;
		return idx;
	}
	return (uint16_t)m->fresh++;
}

/* Takes n free descriptors (n <= num_free), linked through free_next. */
static uint16_t take_descs(struct virtq_mock *m, uint32_t n)
{
	uint16_t head = take_one(m), last = head;
	for (uint32_t i = 1; i < n; i++) {
		uint16_t idx = take_one(m);
		m->free_next[last] = idx;
		last = idx;
	}
	m->num_free -= n;
	m->chain_ndesc[head] = (uint16_t)n;
	return head;
}

uint16_t virtq_mock_take_id(struct virtq_mock *m, uint32_t slots)
{
	uint16_t id = take_one(m);
	m->num_free -= slots;
	m->chain_ndesc[id] = (uint16_t)slots;
	return id;
}

void virtq_mock_put_id(struct virtq_mock *m, uint16_t id)
{
	m->num_free += m->chain_ndesc[id];
	m->chain_ndesc[id] = 0;
	m->free_next[id] = m->free_head;
	m->free_head = id;
	m->recycled++;
}

static void free_descs(struct virtq_mock *m, uint16_t head)
{
	uint16_t last = head, n = m->chain_ndesc[head];
	for (uint32_t i = 1; i < n; i++)
		last = m->free_next[last];
	m->free_next[last] = m->free_head;
	m->free_head = head;
	m->recycled += n;
	m->num_free += n;
	m->chain_ndesc[head] = 0;
}

static uint16_t buf_flags(const struct virtq_mock_buf *b, bool more)
{
	return (uint16_t)((b->writable ? VIRTQ_DESC_F_WRITE : 0) | (more ? VIRTQ_DESC_F_NEXT : 0));
}

static int write_direct(struct virtq_mock *m, uint16_t head, const struct virtq_mock_buf *bufs,
			uint32_t n)
{
	uint16_t idx = head;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t next = m->free_next[idx];
		int r = virtq_mock_set_desc(m, idx, bufs[i].gpa, bufs[i].len,
					    buf_flags(&bufs[i], i + 1 < n), i + 1 < n ? next : 0);
		if (r)
			return r;
		idx = next;
	}
	return 0;
}

static int write_indirect(struct virtq_mock *m, uint16_t head, uint64_t table,
			  const struct virtq_mock_buf *bufs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int r = virtq_mock_write_desc_at(m, table + (uint64_t)i * RING_DESC_BYTES,
						 bufs[i].gpa, bufs[i].len,
						 buf_flags(&bufs[i], i + 1 < n),
						 (uint16_t)(i + 1 < n ? i + 1 : 0));
		if (r)
			return r;
	}
	return virtq_mock_set_desc(m, head, table, n * RING_DESC_BYTES, VIRTQ_DESC_F_INDIRECT, 0);
}

int virtq_mock_add_chain(struct virtq_mock *m, const struct virtq_mock_buf *bufs, uint32_t n,
			 unsigned flags)
{
	if (!m || !bufs || n == 0 || n > VIRTQ_MAX_SIZE)
		return -VIRTQ_EINVAL;
	if (virtq_mock_is_packed(m))
		return virtq_mock_packed_add_chain(m, bufs, n, flags);
	const bool indirect = flags & VIRTQ_MOCK_INDIRECT;
	const uint32_t ndesc = indirect ? 1 : n;
	uint64_t table = 0;
	if (m->num_free < ndesc)
		return -VIRTQ_ENOSPC;
	if (indirect && (table = virtq_mock_alloc(m, (uint64_t)n * RING_DESC_BYTES, 16)) ==
				VIRTQ_MOCK_NOMEM)
		return -VIRTQ_ENOSPC;
	uint16_t head = take_descs(m, ndesc);
	int r = indirect ? write_indirect(m, head, table, bufs, n) : write_direct(m, head, bufs, n);
	if (!r)
		r = virtq_mock_set_avail_entry(m, m->avail_idx % mock_size(m), head);
	if (r) {
		free_descs(m, head);
		return r;
	}
	for (uint32_t i = 0; i < n; i++)
		if (bufs[i].writable && (r = virtq_mock_allow_write(m, bufs[i].gpa, bufs[i].len)))
			return r;
	m->avail_idx++;
	if (!(flags & VIRTQ_MOCK_NO_PUBLISH) && (r = virtq_mock_publish(m)))
		return r;
	return head;
}

uint16_t virtq_mock_used_idx(struct virtq_mock *m)
{
	/* Driver side of 2.7.13 (b): acquire pairs with the device's release. */
	return m ? load16(m, m->cfg.used_gpa + USED_IDX, true) : 0;
}

uint16_t virtq_mock_used_flags(struct virtq_mock *m)
{
	return m ? load16(m, m->cfg.used_gpa + USED_FLAGS, false) : 0;
}

uint16_t virtq_mock_avail_event(struct virtq_mock *m)
{
	return m ? load16(m, m->cfg.used_gpa + avail_event_off(mock_size(m)), false) : 0;
}

int virtq_mock_used_elem(struct virtq_mock *m, uint32_t slot, uint32_t *id, uint32_t *len)
{
	if (!m)
		return -VIRTQ_EINVAL;
	uint64_t gpa = m->cfg.used_gpa + used_ring_off(slot % mock_size(m));
	void *p = virtq_mem_translate(&m->driver_mem, gpa, 8);
	if (!p || ((uintptr_t)p & 3u))
		return -VIRTQ_EBADADDR;
	if (id)
		*id = ring_load32(p);
	if (len)
		*len = ring_load32(ring_at(p, 4));
	return 0;
}

int virtq_mock_get_used(struct virtq_mock *m, uint32_t *id, uint32_t *len)
{
	uint32_t got_id, got_len;
	if (!m)
		return -VIRTQ_EINVAL;
	if (virtq_mock_is_packed(m))
		return virtq_mock_packed_get_used(m, id, len);
	uint16_t used = virtq_mock_used_idx(m);
	if (used == m->last_used)
		return 0;
	if ((uint16_t)(used - m->last_used) > mock_size(m))
		return -VIRTQ_EBADIDX; /* the device published more than it was given */
	int r = virtq_mock_used_elem(m, m->last_used, &got_id, &got_len);
	if (r)
		return r;
	m->last_used++;
	if (got_id < mock_size(m) && m->chain_ndesc[got_id])
		free_descs(m, (uint16_t)got_id);
	if (id)
		*id = got_id;
	if (len)
		*len = got_len;
	return 1;
}

bool virtq_mock_should_kick(struct virtq_mock *m)
{
	if (!m)
		return false;
	if (virtq_mock_is_packed(m))
		return virtq_mock_packed_should_kick(m);
	const uint16_t old = m->kicked_idx, now = m->avail_idx;
	m->kicked_idx = now;
	/* Driver side of 2.7.13 (d): avail.idx visible before reading the
	 * device's suppression field. */
	ring_fence_full();
	if (m->cfg.features & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX))
		return virtq_need_event(virtq_mock_avail_event(m), now, old);
	return now != old && !(virtq_mock_used_flags(m) & VIRTQ_USED_F_NO_NOTIFY);
}

int virtq_mock_disable_interrupts(struct virtq_mock *m)
{
	if (!m)
		return -VIRTQ_EINVAL;
	if (virtq_mock_is_packed(m))
		return virtq_mock_packed_disable_interrupts(m);
	if (m->cfg.features & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX))
		return 0; /* used_event stays where it is: a hint, like NO_INTERRUPT */
	return virtq_mock_set_avail_flags(m, VIRTQ_AVAIL_F_NO_INTERRUPT);
}

int virtq_mock_enable_interrupts(struct virtq_mock *m)
{
	if (!m)
		return -VIRTQ_EINVAL;
	if (virtq_mock_is_packed(m))
		return virtq_mock_packed_enable_interrupts(m);
	int r = m->cfg.features & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)
			? virtq_mock_set_used_event(m, m->last_used)
			: virtq_mock_set_avail_flags(m, 0);
	if (r)
		return r;
	/* Driver side of 2.7.13 (c): interrupts enabled before re-reading
	 * used.idx; pairs with the device's fence between publishing used.idx
	 * and reading the suppression field, so one side sees the other. */
	ring_fence_full();
	return virtq_mock_used_idx(m) != m->last_used;
}

/* SPDX-License-Identifier: MIT */
/*
 * Mock driver, packed half (virtio 2.8): posting chains into a packed ring,
 * reading used descriptors back, event suppression on the driver's side,
 * and raw writes for malicious packed rings. The split half (mock_ring.c)
 * dispatches here when the config negotiates VIRTQ_F_RING_PACKED.
 */
#include <string.h>

#include "mock_internal.h"
#include "packed_layout.h"
#include "ring_access.h"

bool virtq_mock_is_packed(const struct virtq_mock *m)
{
	return m && (m->cfg.features & VIRTQ_FEATURE(VIRTQ_F_RING_PACKED));
}

uint16_t virtq_mock_packed_avail_bits(bool wrap)
{
	return packed_avail_bits(wrap);
}

void virtq_mock_packed_reset(struct virtq_mock *m)
{
	m->packed_avail_pos = m->packed_used_pos = 0;
	m->packed_avail_wrap = m->packed_used_wrap = true; /* 2.8.1: both start at 1 */
	m->packed_kick_slots = 0;
}

static void *driver_ptr(struct virtq_mock *m, uint64_t gpa, uint64_t len)
{
	return virtq_mem_translate(&m->driver_mem, gpa, len);
}

int virtq_mock_packed_write_desc_at(struct virtq_mock *m, uint64_t gpa, uint64_t addr,
				    uint32_t len, uint16_t id, uint16_t flags)
{
	/* the packed layout in split field names: flags <- id, next <- flags */
	return virtq_mock_write_desc_at(m, gpa, addr, len, id, flags);
}

/* A descriptor whose flags go last with release (driver side of 2.8.21). */
static int write_desc_release(struct virtq_mock *m, uint64_t gpa, uint64_t addr, uint32_t len,
			      uint16_t id, uint16_t flags)
{
	unsigned char *p = driver_ptr(m, gpa, PACKED_DESC_BYTES);
	if (!p)
		return -VIRTQ_EBADADDR;
	if ((uintptr_t)p & 1u) /* malicious layouts only: no ordering to keep */
		return virtq_mock_packed_write_desc_at(m, gpa, addr, len, id, flags);
	int r = virtq_mock_packed_write_desc_at(m, gpa, addr, len, id, 0);
	if (r)
		return r;
	ring_store16_release(p + PACKED_DESC_FLAGS, flags);
	virtq_mock_note_driver_write(m, gpa + PACKED_DESC_FLAGS, 2);
	return 0;
}

int virtq_mock_packed_set_desc(struct virtq_mock *m, uint32_t slot, uint64_t addr, uint32_t len,
			       uint16_t id, uint16_t flags)
{
	if (!m)
		return -VIRTQ_EINVAL;
	return write_desc_release(m, m->cfg.desc_gpa + packed_desc_off(slot), addr, len, id, flags);
}

uint16_t virtq_mock_packed_avail_pos(const struct virtq_mock *m)
{
	return m ? m->packed_avail_pos : 0;
}

bool virtq_mock_packed_avail_wrap(const struct virtq_mock *m)
{
	return m && m->packed_avail_wrap;
}

void virtq_mock_packed_set_avail(struct virtq_mock *m, uint16_t pos, bool wrap)
{
	if (!m)
		return;
	m->packed_avail_pos = (uint16_t)(pos % mock_size(m));
	m->packed_avail_wrap = wrap;
}

int virtq_mock_packed_set_driver_event(struct virtq_mock *m, uint16_t off_wrap, uint16_t flags)
{
	if (!m)
		return -VIRTQ_EINVAL;
	void *p = driver_ptr(m, m->cfg.avail_gpa, VIRTQ_PACKED_EVENT_BYTES);
	if (!p || ((uintptr_t)p & 3u))
		return -VIRTQ_EBADADDR;
	ring_store32(p, (uint32_t)off_wrap | (uint32_t)flags << 16);
	virtq_mock_note_driver_write(m, m->cfg.avail_gpa, VIRTQ_PACKED_EVENT_BYTES);
	return 0;
}

int virtq_mock_packed_device_event(struct virtq_mock *m, uint16_t *off_wrap, uint16_t *flags)
{
	if (!m)
		return -VIRTQ_EINVAL;
	void *p = driver_ptr(m, m->cfg.used_gpa, VIRTQ_PACKED_EVENT_BYTES);
	if (!p || ((uintptr_t)p & 3u))
		return -VIRTQ_EBADADDR;
	const uint32_t v = ring_load32(p);
	if (off_wrap)
		*off_wrap = (uint16_t)v;
	if (flags)
		*flags = (uint16_t)(v >> 16);
	return 0;
}

int virtq_mock_packed_used_desc(struct virtq_mock *m, uint32_t slot, uint16_t *id, uint32_t *len,
				uint16_t *flags)
{
	if (!m)
		return -VIRTQ_EINVAL;
	unsigned char *p =
		driver_ptr(m, m->cfg.desc_gpa + packed_desc_off(slot % mock_size(m)), PACKED_DESC_BYTES);
	if (!p || ((uintptr_t)p & 15u))
		return -VIRTQ_EBADADDR;
	/* driver side of 2.8.21: flags first, with acquire (pairs with the
	 * device's release of a batch's first flags) */
	const uint16_t f = ring_load16_acquire(p + PACKED_DESC_FLAGS);
	if (flags)
		*flags = f;
	if (id)
		*id = ring_load16(p + PACKED_DESC_ID);
	if (len)
		*len = ring_load32(p + PACKED_DESC_LEN);
	return 0;
}

/* The slot after pos, and the wrap counter there. */
static void advance(const struct virtq_mock *m, uint16_t *pos, bool *wrap, uint32_t n)
{
	uint32_t p = *pos + n;
	while (p >= mock_size(m)) {
		p -= mock_size(m);
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

static uint16_t buf_flags(const struct virtq_mock_buf *b, bool more)
{
	return (uint16_t)((b->writable ? VIRTQ_DESC_F_WRITE : 0) | (more ? VIRTQ_DESC_F_NEXT : 0));
}

/* Descriptors of a direct chain from the driver's position, the first one's
 * flags last (2.8.6: the first descriptor is made available last). */
static int write_chain(struct virtq_mock *m, uint16_t id, const struct virtq_mock_buf *bufs,
		       uint32_t n)
{
	uint16_t pos = m->packed_avail_pos;
	bool wrap = m->packed_avail_wrap;
	for (uint32_t i = 1; i < n; i++) {
		advance(m, &pos, &wrap, 1);
		uint16_t flags = (uint16_t)(buf_flags(&bufs[i], i + 1 < n) | packed_avail_bits(wrap));
		int r = virtq_mock_packed_write_desc_at(m, m->cfg.desc_gpa + packed_desc_off(pos),
							bufs[i].gpa, bufs[i].len, id, flags);
		if (r)
			return r;
	}
	return virtq_mock_packed_set_desc(m, m->packed_avail_pos, bufs[0].gpa, bufs[0].len, id,
					  (uint16_t)(buf_flags(&bufs[0], n > 1) |
						     packed_avail_bits(m->packed_avail_wrap)));
}

static int write_indirect(struct virtq_mock *m, uint16_t id, uint64_t table,
			  const struct virtq_mock_buf *bufs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int r = virtq_mock_packed_write_desc_at(m, table + packed_desc_off(i), bufs[i].gpa,
							bufs[i].len, 0, buf_flags(&bufs[i], false));
		if (r)
			return r;
	}
	return virtq_mock_packed_set_desc(m, m->packed_avail_pos, table, n * PACKED_DESC_BYTES, id,
					  (uint16_t)(VIRTQ_DESC_F_INDIRECT |
						     packed_avail_bits(m->packed_avail_wrap)));
}

int virtq_mock_packed_add_chain(struct virtq_mock *m, const struct virtq_mock_buf *bufs,
				uint32_t n, unsigned flags)
{
	const bool indirect = flags & VIRTQ_MOCK_INDIRECT;
	const uint32_t slots = indirect ? 1 : n;
	uint64_t table = 0;
	if (flags & VIRTQ_MOCK_NO_PUBLISH)
		return -VIRTQ_EINVAL; /* a packed chain is published by its first flags */
	if (m->num_free < slots)
		return -VIRTQ_ENOSPC;
	if (indirect && (table = virtq_mock_alloc(m, (uint64_t)n * PACKED_DESC_BYTES, 16)) ==
				VIRTQ_MOCK_NOMEM)
		return -VIRTQ_ENOSPC;
	/* a free id: a head of the split free list, holding the slot count */
	uint16_t id = virtq_mock_take_id(m, slots);
	int r = indirect ? write_indirect(m, id, table, bufs, n) : write_chain(m, id, bufs, n);
	if (r) {
		virtq_mock_put_id(m, id);
		return r;
	}
	for (uint32_t i = 0; i < n; i++)
		if (bufs[i].writable && (r = virtq_mock_allow_write(m, bufs[i].gpa, bufs[i].len)))
			return r;
	advance(m, &m->packed_avail_pos, &m->packed_avail_wrap, slots);
	m->packed_kick_slots += slots;
	m->avail_idx++;
	return id;
}

/* Whether the descriptor at the driver's used position is used (2.8.1). */
static int used_pending(struct virtq_mock *m, uint16_t *id, uint32_t *len)
{
	uint16_t flags;
	int r = virtq_mock_packed_used_desc(m, m->packed_used_pos, id, len, &flags);
	if (r)
		return r;
	const uint16_t bits = flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED);
	return bits == packed_used_bits(m->packed_used_wrap);
}

int virtq_mock_packed_get_used(struct virtq_mock *m, uint32_t *id, uint32_t *len)
{
	uint16_t got_id;
	uint32_t got_len;
	int r = used_pending(m, &got_id, &got_len);
	if (r <= 0)
		return r;
	if (got_id >= mock_size(m) || !m->chain_ndesc[got_id])
		return -VIRTQ_EBADIDX; /* an id the driver did not post */
	/* 2.8.6: the used descriptor stands for the whole chain: skip its slots */
	advance(m, &m->packed_used_pos, &m->packed_used_wrap, m->chain_ndesc[got_id]);
	virtq_mock_put_id(m, got_id);
	m->last_used++;
	if (id)
		*id = got_id;
	if (len)
		*len = got_len;
	return 1;
}

bool virtq_mock_packed_should_kick(struct virtq_mock *m)
{
	uint16_t off_wrap, flags;
	const uint32_t added = m->packed_kick_slots;
	m->packed_kick_slots = 0;
	/* driver side of 2.8.21: descriptors visible before reading the device's
	 * event structure */
	ring_fence_full();
	if (virtq_mock_packed_device_event(m, &off_wrap, &flags) || added == 0)
		return false;
	if (flags == VIRTQ_RING_EVENT_FLAGS_DISABLE)
		return false;
	if (flags != VIRTQ_RING_EVENT_FLAGS_DESC || added >= mock_size(m))
		return true;
	uint16_t event = off_wrap & EVENT_OFF_MASK;
	if ((off_wrap >> EVENT_WRAP_SHIFT) != (uint16_t)m->packed_avail_wrap)
		event = (uint16_t)(event - mock_size(m));
	const uint16_t now = m->packed_avail_pos;
	return virtq_need_event(event, now, (uint16_t)(now - added));
}

int virtq_mock_packed_disable_interrupts(struct virtq_mock *m)
{
	return virtq_mock_packed_set_driver_event(m, 0, VIRTQ_RING_EVENT_FLAGS_DISABLE);
}

int virtq_mock_packed_enable_interrupts(struct virtq_mock *m)
{
	int r = m->cfg.features & VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)
			? virtq_mock_packed_set_driver_event(
				  m, packed_off_wrap(m->packed_used_pos, m->packed_used_wrap),
				  VIRTQ_RING_EVENT_FLAGS_DESC)
			: virtq_mock_packed_set_driver_event(m, 0, VIRTQ_RING_EVENT_FLAGS_ENABLE);
	if (r)
		return r;
	/* driver side of 2.8.21: interrupts enabled before re-reading the ring */
	ring_fence_full();
	return used_pending(m, NULL, NULL);
}

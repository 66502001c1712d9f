/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <virtq/virtq.h>

#include "model.h"

static const struct model_region *region_at(const struct model *md, uint64_t gpa)
{
	for (uint32_t i = 0; i < md->nregions; i++)
		if (gpa >= md->regions[i].gpa && gpa - md->regions[i].gpa < md->regions[i].size)
			return &md->regions[i];
	return NULL;
}

bool model_read(const struct model *md, uint64_t gpa, void *dst, uint64_t len)
{
	unsigned char *out = dst;
	while (len) {
		const struct model_region *r = region_at(md, gpa);
		if (!r)
			return false;
		uint64_t off = gpa - r->gpa, n = r->size - off < len ? r->size - off : len;
		memcpy(out, r->host + off, (size_t)n);
		out += n;
		gpa += n;
		len -= n;
	}
	return true;
}

uint16_t model_read16(const struct model *md, uint64_t gpa)
{
	unsigned char b[2] = { 0, 0 };
	model_read(md, gpa, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

/* [gpa, gpa + len) lies in one region, len > 0, without wrapping. */
static bool in_one_region(const struct model *md, uint64_t gpa, uint64_t len)
{
	const struct model_region *r = region_at(md, gpa);
	return r && len <= r->size - (gpa - r->gpa);
}

static bool wraps(uint64_t gpa, uint64_t len)
{
	return len && gpa > UINT64_MAX - (len - 1);
}

static int ring_check(const struct model *md, uint64_t gpa, uint64_t len, uint64_t align)
{
	if (gpa % align)
		return -VIRTQ_EINVAL;
	if (wraps(gpa, len))
		return -VIRTQ_EOVERFLOW;
	if (!in_one_region(md, gpa, len))
		return -VIRTQ_EBADADDR;
	return 0;
}

int model_activate(struct model *md)
{
	int r;
	if ((r = ring_check(md, md->desc, 16ull * md->size, 16)) ||
	    (r = ring_check(md, md->avail, 6 + 2ull * md->size, 2)) ||
	    (r = ring_check(md, md->used, 6 + 8ull * md->size, 4)))
		return r;
	md->active = true;
	md->notify_enabled = true;
	return 0;
}

void model_reset(struct model *md)
{
	md->active = md->broken = md->notify_enabled = md->signalled_valid = false;
	md->next_avail = md->shadow_avail = md->next_used = md->published = md->signalled = 0;
	md->in_flight = 0;
}

static int usable(const struct model *md)
{
	if (md->broken)
		return -VIRTQ_EBROKEN;
	if (!md->active)
		return -VIRTQ_ENOTREADY;
	return 0;
}

static int fatal(struct model *md, int err)
{
	md->broken = true;
	return err;
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct desc read_desc(const struct model *md, uint64_t gpa)
{
	unsigned char b[16];
	struct desc d;
	model_read(md, gpa, b, 16);
	d.addr = 0;
	for (int i = 7; i >= 0; i--)
		d.addr = d.addr << 8 | b[i];
	d.len = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
	d.flags = (uint16_t)(b[12] | b[13] << 8);
	d.next = (uint16_t)(b[14] | b[15] << 8);
	return d;
}

struct walk {
	struct model_chain *c;
	uint32_t cap;
	bool seen_writable;
};

/* One descriptor's buffer, cut at region ends. */
static int add_buffer(const struct model *md, struct walk *w, struct desc d)
{
	bool writable = d.flags & VIRTQ_DESC_F_WRITE;
	if (!writable && w->seen_writable)
		return -VIRTQ_EBADDESC;
	if (writable)
		w->seen_writable = true;
	if (d.len == 0)
		return 0;
	if (w->c->read_len + w->c->write_len + d.len > UINT32_MAX)
		return -VIRTQ_EOVERFLOW;
	if (wraps(d.addr, d.len))
		return -VIRTQ_EOVERFLOW;
	uint64_t gpa = d.addr, left = d.len;
	while (left) {
		const struct model_region *r = region_at(md, gpa);
		if (!r)
			return -VIRTQ_EBADADDR;
		uint64_t n = r->size - (gpa - r->gpa);
		if (n > left)
			n = left;
		if (w->c->nseg == w->cap)
			return -VIRTQ_ENOSPC;
		w->c->segs[w->c->nseg++] = (struct model_seg){ gpa, (uint32_t)n, writable };
		if (writable) {
			w->c->write_len += n;
		} else {
			w->c->read_len += n;
			w->c->nread++;
		}
		gpa += n;
		left -= n;
	}
	return 0;
}

static int walk_table(const struct model *md, struct walk *w, struct desc ind)
{
	if (!md->indirect || (ind.flags & VIRTQ_DESC_F_NEXT))
		return -VIRTQ_EBADDESC;
	if (ind.len == 0 || ind.len % 16)
		return -VIRTQ_EBADDESC;
	uint32_t n = ind.len / 16;
	if (n > md->size)
		return -VIRTQ_ELOOP;
	if (wraps(ind.addr, ind.len))
		return -VIRTQ_EOVERFLOW;
	if (!in_one_region(md, ind.addr, ind.len))
		return -VIRTQ_EBADADDR;
	uint32_t i = 0;
	for (uint32_t count = 0;; count++) {
		if (count == n)
			return -VIRTQ_ELOOP;
		struct desc d = read_desc(md, ind.addr + 16ull * i);
		w->c->ndesc++;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -VIRTQ_EBADDESC;
		int r = add_buffer(md, w, d);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -VIRTQ_EBADIDX;
		i = d.next;
	}
}

static int walk(const struct model *md, struct walk *w, uint16_t head)
{
	uint32_t i = head;
	for (uint32_t count = 0;; count++) {
		if (count == md->size)
			return -VIRTQ_ELOOP;
		struct desc d = read_desc(md, md->desc + 16ull * i);
		w->c->ndesc++;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return walk_table(md, w, d);
		int r = add_buffer(md, w, d);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= md->size)
			return -VIRTQ_EBADIDX;
		i = d.next;
	}
}

int model_pop(struct model *md, struct model_chain *c, uint32_t cap)
{
	int r = usable(md);
	c->nseg = c->nread = c->ndesc = 0;
	c->read_len = c->write_len = 0;
	if (r)
		return r;
	if (md->next_avail == md->shadow_avail) {
		uint16_t idx = model_read16(md, md->avail + 2);
		if ((uint16_t)(idx - md->next_avail) > md->size)
			return fatal(md, -VIRTQ_EBADIDX);
		md->shadow_avail = idx;
		if (idx == md->next_avail)
			return 0;
	}
	if (md->in_flight >= md->size)
		return -VIRTQ_EBUSY;
	uint16_t head = model_read16(md, md->avail + 4 + 2ull * (md->next_avail % md->size));
	if (head >= md->size)
		return fatal(md, -VIRTQ_EBADIDX);
	struct walk w = { .c = c, .cap = cap };
	r = walk(md, &w, head);
	if (r) {
		c->nseg = c->nread = 0;
		c->read_len = c->write_len = 0;
		return r == -VIRTQ_ENOSPC ? r : fatal(md, r);
	}
	c->id = head;
	md->next_avail++;
	md->in_flight++;
	return 1;
}

int model_unpop(struct model *md)
{
	int r = usable(md);
	if (r)
		return r;
	if (md->in_flight == 0)
		return -VIRTQ_EINVAL;
	md->next_avail--;
	md->in_flight--;
	return 0;
}

int model_add_used(struct model *md, uint16_t id)
{
	int r = usable(md);
	if (r)
		return r;
	if (id >= md->size || md->in_flight == 0)
		return -VIRTQ_EINVAL;
	if ((uint16_t)(md->next_used - md->published) == md->size)
		md->published = md->next_used; /* a full ring of unpublished entries */
	md->next_used++;
	md->in_flight--;
	return 0;
}

int model_publish(struct model *md)
{
	int r = usable(md);
	if (r)
		return r;
	uint16_t n = (uint16_t)(md->next_used - md->published);
	md->published = md->next_used;
	return n;
}

int model_needs_notify(struct model *md)
{
	int r = usable(md);
	if (r)
		return r;
	uint16_t old = md->signalled, now = md->published;
	bool known = md->signalled_valid;
	md->signalled = now;
	md->signalled_valid = true;
	if (md->event_idx) {
		uint16_t event = model_read16(md, md->avail + 4 + 2ull * md->size);
		/* notify if event is in [old, now), modulo 2^16 */
		bool crossed = (uint16_t)(event - old) < (uint16_t)(now - old);
		if (crossed != virtq_need_event(event, now, old))
			abort(); /* the exported helper disagrees with the definition */
		return !known || crossed;
	}
	if (known && now == old)
		return 0;
	return !(model_read16(md, md->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

int model_enable_notify(struct model *md)
{
	int r = usable(md);
	if (r)
		return r;
	md->notify_enabled = true;
	return model_read16(md, md->avail + 2) != md->next_avail;
}

int model_disable_notify(struct model *md)
{
	int r = usable(md);
	if (r)
		return r;
	md->notify_enabled = false;
	return 0;
}

uint64_t model_avail_event_gpa(const struct model *md)
{
	return md->used + 4 + 8ull * md->size;
}

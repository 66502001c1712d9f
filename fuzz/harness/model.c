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

void (*model_read_observer)(uint64_t gpa, uint64_t len);

bool model_read(const struct model *md, uint64_t gpa, void *dst, uint64_t len)
{
	unsigned char *out = dst;
	if (model_read_observer)
		model_read_observer(gpa, len);
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

/* Whether region r lets the device do what `need` (MODEL_NO_*) names. */
static bool allows(const struct model_region *r, uint32_t need)
{
	return !(r->flags & need);
}

/* The access bits an IOMMU mapping needs for a region access. */
static uint32_t map_perm(uint32_t need)
{
	return (need & MODEL_NO_READ ? MODEL_MAP_READ : 0u) |
	       (need & MODEL_NO_WRITE ? MODEL_MAP_WRITE : 0u);
}

/*
 * iommu.h: the first mapping holding iova answers (mock.h's translator);
 * none is a miss (EAGAIN).
 * A mapping whose IOVA or guest range wraps is EOVERFLOW, one without the
 * access EACCES; else *gpa is iova's guest address and *covered the bytes
 * of [iova, iova + len) it maps.
 */
static int translate(const struct model *md, uint64_t iova, uint64_t len, uint32_t need,
		     uint64_t *gpa, uint64_t *covered)
{
	for (uint32_t i = 0; i < md->nmaps; i++) {
		const struct model_map *m = &md->maps[i];
		if (iova - m->iova >= m->size)
			continue; /* "contains", modulo 2^64 like the mock's translator */
		if (wraps(m->iova, m->size) || wraps(m->gpa, m->size))
			return -VIRTQ_EOVERFLOW;
		if ((m->perm & map_perm(need)) != map_perm(need))
			return -VIRTQ_EACCES;
		const uint64_t tail = m->size - (iova - m->iova);
		*gpa = m->gpa + (iova - m->iova);
		*covered = tail < len ? tail : len;
		return 0;
	}
	return -VIRTQ_EAGAIN;
}

/* A ring or an indirect table: in one mapping (with the IOMMU), then in
 * one region that allows the access. */
static int one_piece(const struct model *md, uint64_t addr, uint64_t len, uint32_t need)
{
	uint64_t gpa = addr, covered = len;
	if (md->iommu) {
		int r = translate(md, addr, len, need, &gpa, &covered);
		if (r)
			return r;
		if (covered < len)
			return -VIRTQ_EBADADDR;
	}
	if (!in_one_region(md, gpa, len))
		return -VIRTQ_EBADADDR;
	return allows(region_at(md, gpa), need) ? 0 : -VIRTQ_EACCES;
}

static int ring_check(const struct model *md, uint64_t addr, uint64_t len, uint64_t align,
		      uint32_t need)
{
	if (addr % align)
		return -VIRTQ_EINVAL;
	if (wraps(addr, len))
		return -VIRTQ_EOVERFLOW;
	return one_piece(md, addr, len, need);
}

/* desc and avail are read, used is written and read back (mem.h). */
int model_rings_check(const struct model *md)
{
	int r;
	if ((r = ring_check(md, md->desc, 16ull * md->size, 16, MODEL_NO_READ)) ||
	    (r = ring_check(md, md->avail, 6 + 2ull * md->size, 2, MODEL_NO_READ)) ||
	    (r = ring_check(md, md->used, 6 + 8ull * md->size, 4, MODEL_NO_READ | MODEL_NO_WRITE)))
		return r;
	return 0;
}

#define rings_check model_rings_check

/* [a, a + alen) meets [b, b + blen); the second clamped at 2^64. */
static bool meets(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	const uint64_t b_last = blen - 1u > UINT64_MAX - b ? UINT64_MAX : b + (blen - 1u);
	return alen && blen && a <= b_last && b <= a + (alen - 1u);
}

void model_iommu_invalidate(struct model *md, uint64_t iova, uint64_t size)
{
	if (!md->active || md->broken || !md->iommu || size == 0)
		return;
	if (meets(md->desc, 16ull * md->size, iova, size) ||
	    meets(md->avail, 6 + 2ull * md->size, iova, size) ||
	    meets(md->used, 6 + 8ull * md->size, iova, size))
		md->rings_stale = md->broken = true;
}

/* Nothing held, nothing to undo, notifications as after activation. */
static void start_at(struct model *md, uint16_t next_avail, uint16_t next_used)
{
	md->active = true;
	md->broken = md->rings_stale = false;
	md->notify_enabled = true;
	md->signalled_valid = false;
	md->next_avail = md->shadow_avail = next_avail;
	md->next_used = md->published = md->signalled = next_used;
	md->published_since_signal = 0;
	md->nhistory = 0;
	memset(md->head, MODEL_FREE, md->size);
}

int model_activate(struct model *md)
{
	int r = rings_check(md);
	if (r)
		return r;
	start_at(md, 0, 0);
	md->next_stamp = 0;
	return 0;
}

void model_reset(struct model *md)
{
	md->active = md->broken = md->notify_enabled = md->signalled_valid = false;
	md->rings_stale = false;
	md->next_avail = md->shadow_avail = md->next_used = md->published = md->signalled = 0;
	md->published_since_signal = 0;
	md->nhistory = 0;
	memset(md->head, MODEL_FREE, md->size);
}

/* After an invalidation that met a ring, the call re-translates the rings
 * and does nothing else: EAGAIN (also for a miss, the rings staying stale),
 * or the fatal error of a bad translation (iommu.h). */
static int retranslate(struct model *md)
{
	int r = rings_check(md);
	if (r == -VIRTQ_EAGAIN)
		return r;
	md->rings_stale = false;
	if (r)
		return r; /* broken for good */
	md->broken = false;
	return -VIRTQ_EAGAIN;
}

static int usable(struct model *md)
{
	if (md->broken)
		return md->rings_stale ? retranslate(md) : -VIRTQ_EBROKEN;
	if (!md->active)
		return -VIRTQ_ENOTREADY;
	return 0;
}

int model_usable(struct model *md)
{
	return usable(md);
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

static int add_pieces(const struct model *md, struct walk *w, uint64_t gpa, uint64_t left,
		      bool writable, uint32_t need);

/* One descriptor's buffer, translated (IOMMU), cut at region ends. */
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
	const uint32_t need = writable ? MODEL_NO_WRITE : MODEL_NO_READ;
	if (!md->iommu)
		return add_pieces(md, w, d.addr, d.len, writable, need);
	uint64_t iova = d.addr, left = d.len;
	while (left) { /* each mapping's piece, split at regions like a guest range */
		uint64_t gpa, covered;
		int r = translate(md, iova, left, need, &gpa, &covered);
		if (r || (r = add_pieces(md, w, gpa, covered, writable, need)))
			return r;
		iova += covered;
		left -= covered;
	}
	return 0;
}

/* Guest range [gpa, gpa + len), cut at region ends, each region allowing
 * the access. */
static int add_pieces(const struct model *md, struct walk *w, uint64_t gpa, uint64_t left,
		      bool writable, uint32_t need)
{
	while (left) {
		const struct model_region *r = region_at(md, gpa);
		if (!r)
			return -VIRTQ_EBADADDR;
		if (!allows(r, need))
			return -VIRTQ_EACCES;
		uint64_t n = r->size - (gpa - r->gpa);
		if (n > left)
			n = left;
		w->c->needed++; /* counted always, stored while there is room */
		if (w->c->nseg < w->cap)
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
	int ok = one_piece(md, ind.addr, ind.len, MODEL_NO_READ);
	if (ok)
		return ok;
	uint64_t table = ind.addr, covered;
	if (md->iommu)
		translate(md, ind.addr, ind.len, MODEL_NO_READ, &table, &covered);
	uint32_t i = 0;
	for (uint32_t count = 0;; count++) {
		if (count == n)
			return -VIRTQ_ELOOP;
		struct desc d = read_desc(md, table + 16ull * i);
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

static void chain_empty(struct model_chain *c)
{
	c->nseg = c->nread = c->ndesc = c->needed = 0;
	c->read_len = c->write_len = 0;
	c->id = 0;
}

/* Walks head into c; on success or ENOSPC c->id is head, on ENOSPC no
 * segments are kept. Fatal errors break the model. */
static int walk_head(struct model *md, struct model_chain *c, uint32_t cap, uint16_t head)
{
	struct walk w = { .c = c, .cap = cap };
	int r = walk(md, &w, head);
	if (!r && c->needed > cap)
		r = -VIRTQ_ENOSPC; /* well-formed, but more segments than room */
	if (r) {
		uint32_t ndesc = c->ndesc, needed = c->needed;
		chain_empty(c);
		c->ndesc = ndesc;
		if (r == -VIRTQ_EAGAIN)
			return r; /* an IOMMU miss: nothing consumed, the chain stays available */
		if (r != -VIRTQ_ENOSPC)
			return fatal(md, r);
		c->needed = needed;
		c->id = head;
		return r;
	}
	c->id = head;
	return 1;
}

/* The next avail entry's head: 1 with *head, 0 empty, or an error. */
static int next_head(struct model *md, uint16_t *head)
{
	if (md->next_avail == md->shadow_avail) {
		uint16_t idx = model_read16(md, md->avail + 2);
		if ((uint16_t)(idx - md->next_avail) > md->size)
			return fatal(md, -VIRTQ_EBADIDX);
		md->shadow_avail = idx;
		if (idx == md->next_avail)
			return 0;
	}
	if (model_in_flight(md) >= md->size)
		return -VIRTQ_EBUSY;
	*head = model_read16(md, md->avail + 4 + 2ull * (md->next_avail % md->size));
	if (*head >= md->size || md->head[*head] != MODEL_FREE)
		return fatal(md, -VIRTQ_EBADIDX); /* out of range, or held already */
	return 1;
}

static void take(struct model *md, uint16_t head)
{
	md->head[head] = MODEL_IN_FLIGHT;
	md->stamp[head] = md->next_stamp++;
	if (md->nhistory == MODEL_MAX_HISTORY) { /* forget the oldest pop */
		memmove(md->history, md->history + 1, (MODEL_MAX_HISTORY - 1) * sizeof(md->history[0]));
		md->nhistory--;
	}
	md->history[md->nhistory++] = head;
	md->next_avail++;
}

/* What pop and discard do first: 1 with the next head, or their result. */
static int pop_start(struct model *md, struct model_chain *c, uint16_t *head)
{
	int r = usable(md);
	chain_empty(c);
	return r ? r : next_head(md, head);
}

int model_pop(struct model *md, struct model_chain *c, uint32_t cap)
{
	uint16_t head;
	int r = pop_start(md, c, &head);
	if (r <= 0)
		return r;
	if ((r = walk_head(md, c, cap, head)) != 1)
		return r;
	take(md, head);
	return 1;
}

int model_discard(struct model *md, struct model_chain *c)
{
	uint16_t head;
	int r = pop_start(md, c, &head);
	if (r <= 0)
		return r;
	r = walk_head(md, c, 0, head);
	if (r != 1 && r != -VIRTQ_ENOSPC)
		return r;
	c->id = head;
	take(md, head);
	return model_add_used(md, head) == 0 ? 1 : -VIRTQ_EINVAL;
}

int model_resubmit(struct model *md, uint16_t head, struct model_chain *c, uint32_t cap)
{
	int r = usable(md);
	chain_empty(c);
	if (r)
		return r;
	if (head >= md->size || md->head[head] != MODEL_IN_FLIGHT)
		return -VIRTQ_EINVAL;
	return walk_head(md, c, cap, head);
}

/* Undo the newest pop, if that chain is still in flight. */
int model_unpop(struct model *md)
{
	int r = usable(md);
	if (r)
		return r;
	if (md->nhistory == 0 || md->head[md->history[md->nhistory - 1]] != MODEL_IN_FLIGHT)
		return -VIRTQ_EINVAL;
	md->head[md->history[--md->nhistory]] = MODEL_FREE;
	md->next_stamp--;
	md->next_avail--;
	return 0;
}

int model_add_used(struct model *md, uint16_t id)
{
	int r = usable(md);
	if (r)
		return r;
	if (id >= md->size || md->head[id] != MODEL_IN_FLIGHT)
		return -VIRTQ_EINVAL;
	md->head[id] = MODEL_USED;
	md->unpublished[(uint16_t)(md->next_used - md->published)] = id;
	md->next_used++;
	return 0;
}

int model_add_used_many(struct model *md, const uint16_t *ids, uint32_t n)
{
	int r = usable(md);
	if (r)
		return r;
	for (uint32_t i = 0; i < n; i++) {
		if (ids[i] >= md->size || md->head[ids[i]] != MODEL_IN_FLIGHT)
			return -VIRTQ_EINVAL;
		for (uint32_t j = 0; j < i; j++)
			if (ids[j] == ids[i])
				return -VIRTQ_EINVAL; /* twice: the whole batch is refused */
	}
	for (uint32_t i = 0; i < n; i++)
		model_add_used(md, ids[i]);
	return 0;
}

int model_publish(struct model *md)
{
	int r = usable(md);
	if (r)
		return r;
	uint16_t n = (uint16_t)(md->next_used - md->published);
	for (uint16_t i = 0; i < n; i++)
		md->head[md->unpublished[i]] = MODEL_FREE;
	md->published = md->next_used;
	md->published_since_signal += n;
	return n;
}

int model_needs_notify(struct model *md)
{
	int r = usable(md);
	if (r)
		return r;
	uint16_t old = md->signalled, now = md->published;
	/* 65536 or more published since: 16-bit indices cannot tell */
	bool known = md->signalled_valid && md->published_since_signal < 65536;
	md->signalled = now;
	md->signalled_valid = true;
	md->published_since_signal = 0;
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

/* Insertion sort by (stamp, head): obviously right; n is small in scenarios. */
static void sort_by_stamp(uint16_t *heads, const uint64_t *stamp, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint16_t h = heads[i];
		uint32_t j = i;
		while (j > 0 && (stamp[heads[j - 1]] > stamp[h] ||
				 (stamp[heads[j - 1]] == stamp[h] && heads[j - 1] > h))) {
			heads[j] = heads[j - 1];
			j--;
		}
		heads[j] = h;
	}
}

uint32_t model_in_flight_list(const struct model *md, uint16_t *heads)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < md->size; i++)
		if (md->head[i] == MODEL_IN_FLIGHT)
			heads[n++] = (uint16_t)i;
	sort_by_stamp(heads, md->stamp, n);
	return n;
}

/* ---- resume: the area read by its documented layout -------------------------- */

static uint16_t area16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint64_t area64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* The resumed heads: [0, size) flags after recovery, or an error. */
static int area_recover(const struct model *md, const unsigned char *area, uint16_t used_idx,
			uint8_t *held, uint64_t *stamps)
{
	static bool in_batch[MODEL_MAX_HEADS];
	if (area16(area + 8) == 0) { /* never used: nothing held */
		memset(held, 0, md->size);
		return 0;
	}
	if (area16(area + 8) != 1 || area64(area) != 0 || area16(area + 10) != md->size)
		return -VIRTQ_EBADSTATE;
	for (uint32_t i = 0; i < md->size; i++) {
		const unsigned char *e = area + 16 + 16 * i;
		if (e[0] > 1 || e[1] > 1 || area16(e + 6) >= md->size)
			return -VIRTQ_EBADSTATE;
		if (e[0] && area64(e + 8) >= (UINT64_C(1) << 62))
			return -VIRTQ_EBADSTATE;
		held[i] = e[0];
		stamps[i] = area64(e + 8);
		in_batch[i] = false;
	}
	uint32_t head = area16(area + 12), batch = (uint16_t)(used_idx - area16(area + 14));
	if (head >= md->size || batch > md->size)
		return -VIRTQ_EBADSTATE;
	for (uint32_t k = 0; k < batch; k++) {
		const unsigned char *e = area + 16 + 16 * head;
		if (in_batch[head] || (e[0] && !e[1]))
			return -VIRTQ_EBADSTATE; /* a head twice, or one plainly in flight */
		in_batch[head] = true;
		held[head] = 0; /* published by used.idx */
		head = area16(e + 6);
	}
	for (uint32_t i = 0; i < md->size; i++) { /* mark without flag: half settled */
		const unsigned char *e = area + 16 + 16 * i;
		if (e[1] && !e[0] && !in_batch[i])
			return -VIRTQ_EBADSTATE;
	}
	return 0;
}

int model_resume(struct model *md, const unsigned char *area, uint16_t base)
{
	static uint8_t held[MODEL_MAX_HEADS];
	static uint64_t stamps[MODEL_MAX_HEADS];
	int r = rings_check(md);
	if (r)
		return r;
	const uint16_t used_idx = model_read16(md, md->used + 2);
	if ((r = area_recover(md, area, used_idx, held, stamps)))
		return r;
	uint32_t n = 0;
	for (uint32_t i = 0; i < md->size; i++)
		n += held[i];
	const uint16_t resume_at = (uint16_t)(used_idx + n);
	if (base != resume_at && base != used_idx)
		return -VIRTQ_EBADSTATE;
	start_at(md, resume_at, used_idx);
	uint64_t newest = 0;
	for (uint32_t i = 0; i < md->size; i++) {
		if (!held[i])
			continue;
		md->head[i] = MODEL_IN_FLIGHT;
		md->stamp[i] = stamps[i];
		newest = stamps[i] > newest ? stamps[i] : newest;
	}
	md->next_stamp = n ? newest + 2 : 0; /* the library's, for the record */
	return 0;
}

uint64_t model_avail_event_gpa(const struct model *md)
{
	return md->used + 4 + 8ull * md->size;
}

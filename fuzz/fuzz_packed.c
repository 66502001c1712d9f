/* SPDX-License-Identifier: MIT */
/*
 * fuzz_packed: the packed virtqueue (virtio 2.8) under a driver that posts
 * well-formed chains of any buffers, or writes any descriptor anywhere.
 *
 * Input (missing bytes read as 0): byte 0 the configuration (bits 0-1: queue
 * size 2 << v; bit 2 INDIRECT_DESC; bit 3 EVENT_IDX; bit 4 a dirty log,
 * switched on, or off with bit 5 (bit 5 alone: no descriptor journal,
 * which resubmit and reconnect with chains held need); bit 6: opcode 7 is
 * reconnect; bit 7:
 * opcode 7 is migrate, whatever bit 6 says), then
 * operations, one opcode byte (v % 12) and its operands:
 *   0 post     n byte (bits 0-1: 1 + v buffers; bit 2 indirect), per buffer
 *              u16 address selector, u16 length, byte (bit 0 writable):
 *              through the mock driver, to both twins (below)
 *   1 pop      byte: segment array of 1 + v % 8, or 64 if bit 7; bit 6:
 *              virtq_pop_many() of 1 + (v >> 3) % 4 chains; else bit 5:
 *              virtq_discard() (bit 4: with a NULL chain)
 *   2 add_used byte k (the k-th chain held), u16 length; k >> 6 the call:
 *              0 virtq_add_used, 1 virtq_complete, 2 virtq_add_used_many
 *              and 3 virtq_complete_many of 1 + (k % 64) % n held chains
 *              (first with one id twice: refused, nothing written)
 *   3 publish
 *   4 get_used the driver consumes a used descriptor
 *   5 raw      slot byte, u16 address selector, u16 length, id byte, flags
 *              byte (bits 0-2: NEXT, WRITE, INDIRECT; bit 3: AVAIL/USED bits
 *              "available in the lap the device reads the slot in", else
 *              bits 4-5 as AVAIL and USED): any descriptor in the ring
 *   6 entry    u16 address selector (where), u16 address selector, u16
 *              length, flags byte: any indirect table entry
 *   7 wrap     slot byte, wrap bit: moves the mock driver's position;
 *              with config bit 6, reconnect instead: byte (v % 6) the base
 *              given to virtq_resume_packed() on a fresh struct virtq: 0
 *              the queue's own (GET_VRING_BASE), 1 its avail position, 2
 *              its used position set to the size, 3 its avail wrap bit
 *              flipped (a stale base), 4 the journal's desc_num wrong, 5 a
 *              journal never used (version 0), 6 the journal scribbled:
 *              byte (1 + v % 4 changes), each u16 offset and byte XORed
 *              in; then the own base again when that was refused;
 *              with config bit 7, migrate instead: byte (v % 5): save,
 *              encode, decode and virtq_restore() onto a fresh struct
 *              virtq (first, for v 1..4, a state spoiled by one packed rule:
 *              positions at the size, used wrap flipped, signal_slots 2 *
 *              size + 1, a chain in flight)
 *   8 event    u16 off_wrap, flags byte (v % 4): the driver event structure
 *   9 notify   virtq_needs_notify()
 *   10 kick    byte: bit 0 enable, else disable device notifications
 *   11 unpop
 * An address selector v is 16 KiB + 8 * (v % 16384) (the end of guest memory
 * is 128 KiB: some are outside), or 2^64 - 8 for 0xffff; lengths are as
 * given, 0xffff being 2^32 - 1.
 *
 * Guest memory is two adjacent regions [0, 64 KiB) and [64 KiB, 128 KiB):
 * buffers across 64 KiB are split, tables across it are refused.
 *
 * Oracles:
 *   - a reference walk (predict_pop, written from the spec, not from
 *     packed_pop.c) gives the code of every pop, and for a chain its
 *     segments, id, descriptor count; virtq_next_avail() follows the model's
 *     position and wrap counter;
 *   - every segment inside guest memory and inside one region, readable
 *     before writable, read_len and write_len the sums of the segments;
 *   - differential: until the first raw / entry / wrap operation, a split
 *     twin gets the same posts, pops, completions: both give the same codes
 *     and the same chains (guest addresses, lengths, parts), the driver gets
 *     the same used buffers back;
 *   - notifications: needs_notify as predicted from the driver's event
 *     structure by absolute slot positions (predict_notify), enable_notify
 *     as the descriptor at the model's position says, the device event
 *     structure as EVENT_IDX says;
 *   - completions of chains not held are refused; virtq_resume() is not
 *     supported (-VIRTQ_ENOTSUP); every chain popped resubmits at once as
 *     the same chain, from the journal's copies;
 *   - migrate: virtq_save() succeeds exactly when the model holds nothing
 *     (else -VIRTQ_ENOTSUP, and the queue goes on), with the model's
 *     positions and wrap counters; the state encodes as version 3 (76
 *     bytes) and decodes back; a spoiled state is -VIRTQ_EBADSTATE and
 *     leaves the fresh queue inactive; the restored queue then goes on
 *     against the same model, which is not told anything (notification
 *     state, unpop stack, driver's view all carry on); the split twin
 *     migrates too (virtq_save / virtq_restore, chains in flight allowed);
 *   - reconnect: virtq_resume_packed() succeeds from the descriptor
 *     journal whatever the model holds and whatever base inside the ring
 *     it is given: it then holds the model's chains in flight and those
 *     completed unpublished (their used descriptors never became visible),
 *     in pop order, each resubmitted as popped (an indirect one's table
 *     read again), at the model's avail position and the published used
 *     position; the queue goes on (the split twin resumes with
 *     virtq_resume(), and both still agree); a position outside the ring
 *     or a corrupt journal is -VIRTQ_EBADSTATE; a journal never used
 *     resumes only when the model holds nothing (-VIRTQ_ENOTSUP); a
 *     scribbled journal is refused and left as it was, or taken, and then
 *     every chain listed resubmits inside guest memory or breaks the
 *     queue, positions inside the ring (the run ends there);
 *   - pop_many gives the chains and the code of as many pops; discard the
 *     pop's code and id, and completes the chain with length 0;
 *   - with the log: the device logs its writes (virtq_chain_log_written),
 *     and at the end every guest byte changed lies in a logged page; with
 *     the log switched off, no bit is set;
 *   - at the end: the device wrote only allowed bytes (used descriptors'
 *     len / id / flags, the device event structure, writable buffers), the
 *     guard bytes are intact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORACLE(cond)                                                                     \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "oracle failed at fuzz_packed.c:%d: %s\n", __LINE__, \
				#cond);                                                  \
			abort();                                                         \
		}                                                                        \
	} while (0)

#define REGION 0x10000u
#define MEM_END (2u * REGION)
#define MAX_SIZE 16u
#define MAX_SEGS 64u
#define F_AVAIL VIRTQ_DESC_F_AVAIL
#define F_USED VIRTQ_DESC_F_USED

/* ---- input --------------------------------------------------------------- */

struct input {
	const uint8_t *d;
	size_t size, at;
};

static uint32_t get(struct input *in, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < bytes; i++, in->at++)
		if (in->at < in->size)
			v |= (uint32_t)in->d[in->at] << (8 * i);
	return v;
}

static uint64_t address(uint32_t v)
{
	return v == 0xffff ? UINT64_MAX - 7 : 0x4000u + 8u * (v % 16384u);
}

static uint32_t length(uint32_t v)
{
	return v == 0xffff ? UINT32_MAX : v;
}

/* ---- the model of the device's ring state -------------------------------- */

enum { FREE, IN_FLIGHT, COMPLETED };

struct model {
	uint32_t size;
	bool indirect, event_idx;
	uint32_t pos;      /* next slot to pop */
	bool wrap;         /* its lap's wrap counter */
	uint32_t owned;    /* slots of chains in flight */
	uint32_t in_flight;
	uint8_t state[MAX_SIZE];
	uint32_t slots[MAX_SIZE];
	uint16_t stack[4096]; /* pop order, for unpop */
	uint32_t depth;
	uint64_t used_pending, used_published; /* absolute slots */
	uint64_t signalled;  /* used_published at the last decision */
	bool known;
	uint16_t driver_off_wrap, driver_flags;
	bool notify_enabled;
	bool broken;
};

/* A chain the harness holds: its ids in the packed and the split twin. */
struct held {
	uint16_t pid, sid;
};

struct run {
	struct model md;
	bool diverged; /* the split twin no longer sees the same ring */
	struct held held[MAX_SIZE];
	uint32_t nheld;
	struct held published[4096]; /* completion order, for get_used */
	uint32_t nadded, npub_head, npub_tail;
	uint32_t added_len[4096];
	uint64_t popped_at[MAX_SIZE], pops;  /* pop order */
};

static struct virtq_mock packed_mock, split_mock;
static bool mocks_ready;
static struct virtq pq, sq;
static struct run R;
static struct virtq_log plog; /* the packed queue's, with config bit 4 */
static uint64_t plog_words[8]; /* 512 pages of 4 KiB: all 128 KiB of guest memory */
static bool logging, log_off;
static bool journaled; /* the packed queue has a descriptor journal (all but config bits 5 alone) */
static bool trace; /* FUZZ_PACKED_TRACE=1: print every pop's result (seed writing) */

static bool wrap_of_lap(uint64_t abs_slot, uint32_t size)
{
	return ((abs_slot / size) & 1u) == 0; /* lap 0 has wrap counter 1 (2.8.1) */
}

static uint16_t read16(struct virtq_mock *m, uint64_t gpa)
{
	uint16_t v = 0;
	virtq_mock_read(m, gpa, &v, 2);
	return v;
}

/* A packed descriptor at gpa, as the reference walk reads it. */
struct ref_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id, flags;
};

static struct ref_desc read_desc(struct virtq_mock *m, uint64_t gpa)
{
	unsigned char b[16] = { 0 };
	struct ref_desc d = { 0, 0, 0, 0 };
	virtq_mock_read(m, gpa, b, 16);
	for (int i = 7; i >= 0; i--)
		d.addr = d.addr << 8 | b[i];
	d.len = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
	d.id = (uint16_t)(b[12] | b[13] << 8);
	d.flags = (uint16_t)(b[14] | b[15] << 8);
	return d;
}

/* ---- the reference walk -------------------------------------------------- */

struct prediction {
	struct ref_desc first; /* the chain's first ring descriptor */
	uint64_t gpa[MAX_SEGS + 1];
	uint32_t len[MAX_SEGS + 1];
	uint32_t nseg, nread, ndesc, slots;
	uint64_t read_len, write_len;
	uint16_t id;
	bool writing;
};

/* Each held chain as popped (written by every pop before it is read). */
static struct prediction popped[MAX_SIZE];

/* One buffer: readable before writable, total <= 2^32 - 1, no wrap, inside
 * [0, MEM_END), one segment per region. */
static int ref_buffer(struct prediction *p, uint64_t addr, uint32_t len, bool writable)
{
	if (!writable && p->writing)
		return -VIRTQ_EBADDESC;
	if (writable && !p->writing) {
		p->writing = true;
		p->nread = p->nseg;
	}
	if (p->read_len + p->write_len + len > UINT32_MAX)
		return -VIRTQ_EOVERFLOW;
	if (writable)
		p->write_len += len;
	else
		p->read_len += len;
	if (len == 0)
		return 0;
	if (addr > UINT64_MAX - (len - 1))
		return -VIRTQ_EOVERFLOW;
	if (addr >= MEM_END || addr + (len - 1) >= MEM_END)
		return -VIRTQ_EBADADDR;
	while (len) {
		uint64_t region_end = addr < REGION ? REGION : MEM_END;
		uint32_t chunk = region_end - addr < len ? (uint32_t)(region_end - addr) : len;
		if (p->nseg <= MAX_SEGS) {
			p->gpa[p->nseg] = addr;
			p->len[p->nseg] = chunk;
		}
		p->nseg++;
		addr += chunk;
		len -= chunk;
	}
	return 0;
}

static int ref_table(struct prediction *p, const struct model *md, struct ref_desc d)
{
	if (!md->indirect || (d.flags & VIRTQ_DESC_F_NEXT))
		return -VIRTQ_EBADDESC;
	if (d.len == 0 || d.len % 16)
		return -VIRTQ_EBADDESC;
	if (d.len / 16 > md->size)
		return -VIRTQ_ELOOP;
	if (d.addr > UINT64_MAX - (d.len - 1))
		return -VIRTQ_EOVERFLOW;
	const uint64_t last = d.addr + (d.len - 1);
	if (!((last < REGION) || (d.addr >= REGION && last < MEM_END)))
		return -VIRTQ_EBADADDR; /* one region */
	for (uint32_t i = 0; i < d.len / 16; i++) {
		struct ref_desc e = read_desc(&packed_mock, d.addr + 16u * i);
		p->ndesc++;
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return -VIRTQ_EBADDESC;
		int r = ref_buffer(p, e.addr, e.len, e.flags & VIRTQ_DESC_F_WRITE);
		if (r)
			return r;
	}
	return 0;
}

static bool ref_available(uint16_t flags, bool wrap)
{
	return ((flags & F_AVAIL) != 0) == wrap && ((flags & F_USED) != 0) != wrap;
}

static uint64_t slot_gpa(uint32_t slot)
{
	return packed_mock.cfg.desc_gpa + 16u * (uint64_t)slot;
}

/* Journal entries free: those of chains in flight and of completed ones not
 * yet published are taken (the latter come back at publish). */
static uint32_t journal_room(const struct model *md)
{
	uint32_t taken = md->owned;
	for (uint32_t i = 0; i < md->size; i++)
		if (md->state[i] == COMPLETED)
			taken += md->slots[i];
	return journaled ? md->size - taken : UINT32_MAX;
}

static int predict_pop(const struct model *md, uint32_t cap, struct prediction *p)
{
	memset(p, 0, sizeof(*p));
	struct ref_desc d = read_desc(&packed_mock, slot_gpa(md->pos));
	p->first = d;
	if (!ref_available(d.flags, md->wrap))
		return 0;
	if (md->in_flight >= md->size || md->owned >= md->size)
		return -VIRTQ_EBUSY;
	const uint32_t limit = md->size - md->owned, room = journal_room(md);
	uint32_t pos = md->pos;
	int r;
	p->ndesc = 1;
	p->slots = 1;
	if (room == 0)
		return -VIRTQ_EBUSY; /* a driver writing slots it was not given back */
	if (d.flags & VIRTQ_DESC_F_INDIRECT) {
		if ((r = ref_table(p, md, d)))
			return r;
	} else {
		for (;;) {
			if ((r = ref_buffer(p, d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE)))
				return r;
			if (!(d.flags & VIRTQ_DESC_F_NEXT))
				break;
			if (p->slots == limit)
				return -VIRTQ_ELOOP;
			pos = (pos + 1) % md->size;
			d = read_desc(&packed_mock, slot_gpa(pos));
			p->slots++;
			p->ndesc++;
			if (p->slots > room)
				return -VIRTQ_EBUSY;
			if (d.flags & VIRTQ_DESC_F_INDIRECT)
				return -VIRTQ_EBADDESC;
		}
	}
	if (d.id >= md->size || md->state[d.id] != FREE)
		return -VIRTQ_EBADIDX;
	p->id = d.id;
	if (!p->writing)
		p->nread = p->nseg;
	return p->nseg > cap ? -VIRTQ_ENOSPC : 1;
}

/* ---- oracles on a chain --------------------------------------------------- */

static void check_segments(struct virtq_mock *m, const struct virtq_chain *c)
{
	uint64_t read_len = 0, write_len = 0;
	ORACLE(c->nread <= c->nseg && c->nseg <= c->cap);
	for (uint32_t i = 0; i < c->nseg; i++) {
		uint64_t gpa;
		ORACLE(c->segs[i].len > 0);
		ORACLE(virtq_mock_gpa_of(m, c->segs[i].addr, &gpa));
		/* inside one region: translating the whole range gives the same address */
		ORACLE(virtq_mem_translate(&m->mem, gpa, c->segs[i].len) == c->segs[i].addr);
		if (i < c->nread)
			read_len += c->segs[i].len;
		else
			write_len += c->segs[i].len;
	}
	ORACLE(read_len == c->read_len && write_len == c->write_len);
}

static void check_prediction(const struct virtq_chain *c, const struct prediction *p)
{
	ORACLE(c->id == p->id);
	ORACLE(c->nseg == p->nseg && c->nread == p->nread && c->ndesc == p->ndesc);
	ORACLE(c->read_len == p->read_len && c->write_len == p->write_len);
	for (uint32_t i = 0; i < c->nseg; i++) {
		uint64_t gpa = 0;
		ORACLE(virtq_mock_gpa_of(&packed_mock, c->segs[i].addr, &gpa));
		ORACLE(gpa == p->gpa[i] && c->segs[i].len == p->len[i]);
	}
}

/* The same chain from both twins: guest addresses, lengths, parts. */
static void check_same_chain(const struct virtq_chain *pc, const struct virtq_chain *sc)
{
	ORACLE(pc->nseg == sc->nseg && pc->nread == sc->nread && pc->ndesc == sc->ndesc);
	ORACLE(pc->read_len == sc->read_len && pc->write_len == sc->write_len);
	for (uint32_t i = 0; i < pc->nseg; i++) {
		uint64_t pg = 0, sg = 0;
		ORACLE(virtq_mock_gpa_of(&packed_mock, pc->segs[i].addr, &pg));
		ORACLE(virtq_mock_gpa_of(&split_mock, sc->segs[i].addr, &sg));
		ORACLE(pg == sg && pc->segs[i].len == sc->segs[i].len);
	}
}

/* The device writes its reply: one byte into each writable segment. */
static void device_writes(struct virtq_mock *m, const struct virtq_chain *c)
{
	for (uint32_t i = c->nread; i < c->nseg; i++) {
		uint64_t gpa;
		if (virtq_mock_gpa_of(m, c->segs[i].addr, &gpa))
			virtq_mock_allow_write(m, gpa, 1);
		*(volatile unsigned char *)c->segs[i].addr = 0xee;
	}
	if (!logging)
		return;
	/* a device writing segments itself logs them; the split twin has no log */
	ORACLE(virtq_chain_log_written(c, c->write_len) == 0);
	ORACLE(virtq_chain_log_written(c, c->write_len / 2) == 0);
	ORACLE(virtq_chain_log_written(c, c->write_len + 1) == -VIRTQ_EINVAL);
}

static void check_device_event(void)
{
	uint16_t off_wrap = 0, flags = 0;
	ORACLE(virtq_mock_packed_device_event(&packed_mock, &off_wrap, &flags) == 0);
	if (!R.md.notify_enabled) {
		ORACLE(flags == VIRTQ_RING_EVENT_FLAGS_DISABLE);
	} else if (R.md.event_idx) {
		ORACLE(flags == VIRTQ_RING_EVENT_FLAGS_DESC);
		ORACLE(off_wrap == (R.md.pos | (R.md.wrap ? VIRTQ_RING_EVENT_WRAP : 0u)));
	} else {
		ORACLE(flags == VIRTQ_RING_EVENT_FLAGS_ENABLE);
	}
}

/* ---- operations ----------------------------------------------------------- */

static void op_post(struct input *in)
{
	const uint32_t shape = get(in, 1);
	const uint32_t n = 1 + (shape & 3u);
	const bool indirect = shape & 4u;
	struct virtq_mock_buf bufs[4];
	for (uint32_t i = 0; i < n; i++) {
		bufs[i].gpa = address(get(in, 2));
		bufs[i].len = length(get(in, 2));
		bufs[i].writable = get(in, 1) & 1u;
	}
	const unsigned flags = indirect && R.md.indirect ? VIRTQ_MOCK_INDIRECT : 0;
	int p = virtq_mock_add_chain(&packed_mock, bufs, n, flags);
	if (!R.diverged) {
		int s = virtq_mock_add_chain(&split_mock, bufs, n, flags);
		ORACLE((p < 0) == (s < 0) && (p >= 0 || p == s));
	}
}

static void pop_succeeded(const struct virtq_chain *c, const struct prediction *pr, uint16_t sid)
{
	struct model *md = &R.md;
	md->state[c->id] = IN_FLIGHT;
	md->slots[c->id] = pr->slots;
	md->in_flight++;
	md->owned += pr->slots;
	md->pos += pr->slots;
	if (md->pos >= md->size) {
		md->pos -= md->size;
		md->wrap = !md->wrap;
	}
	if (md->depth < sizeof(md->stack) / sizeof(md->stack[0]))
		md->stack[md->depth++] = c->id;
	R.held[R.nheld++] = (struct held){ c->id, sid };
	popped[c->id] = *pr;
	R.popped_at[c->id] = R.pops++;
}

/* The device's ring positions and chains in flight: the model's. */
static void check_positions(void)
{
	const struct model *md = &R.md;
	ORACLE(virtq_next_avail(&pq) == (md->pos | (md->wrap ? VIRTQ_RING_EVENT_WRAP : 0u)));
	const bool used_wrap = wrap_of_lap(md->used_pending, md->size);
	ORACLE(virtq_next_used(&pq) ==
	       ((md->used_pending % md->size) | (used_wrap ? VIRTQ_RING_EVENT_WRAP : 0u)));
	ORACLE(virtq_in_flight(&pq) == md->in_flight);
}

/* A pop's code r against the prediction want, for one chain of both twins;
 * in a batch the positions are the batch's end, checked after it, and the
 * device writes after every chain was predicted (a buffer may hold the next
 * chain's table). */
static void check_popped(int r, int want, struct virtq_chain *pc, struct virtq_chain *sc,
			 const struct prediction *pr, int rs, bool batch)
{
	ORACLE(r == want);
	if (!R.diverged) {
		ORACLE(rs == r);
		if (r == 1 || r == -VIRTQ_ENOSPC)
			ORACLE(sc->needed == pc->needed);
		if (r == 1)
			check_same_chain(pc, sc);
	}
	if (r == -VIRTQ_ENOSPC) {
		ORACLE(pc->id == pr->id && pc->needed == pr->nseg && !virtq_is_broken(&pq));
	} else if (r < 0 && r != -VIRTQ_EBUSY) {
		ORACLE(virtq_is_broken(&pq));
		R.md.broken = true;
	}
	if (r != 1)
		return;
	check_segments(&packed_mock, pc);
	check_prediction(pc, pr);
	/* the journal's copies give the same chain (a batch's chains before a
	 * fatal error: the queue broke) */
	static struct virtq_seg again_segs[MAX_SEGS];
	struct virtq_chain again;
	virtq_chain_init(&again, again_segs, MAX_SEGS);
	const int ra = virtq_resubmit(&pq, pc->id, &again);
	ORACLE(ra == (virtq_is_broken(&pq) ? -VIRTQ_EBROKEN : journaled ? 1 : -VIRTQ_ENOTSUP));
	if (ra == 1)
		check_prediction(&again, pr);
	pop_succeeded(pc, pr, sc->id);
	if (batch)
		return;
	check_positions();
	check_device_event();
	device_writes(&packed_mock, pc);
	if (!R.diverged)
		device_writes(&split_mock, sc);
}

#define MANY 4u

/* virtq_pop_many(): the chains of as many pops, then the code of the pop that
 * stopped it: a fatal error voids the call, another one after chains waits. */
static void op_pop_many(uint32_t cap, uint32_t max)
{
	static struct virtq_seg psegs[MANY][MAX_SEGS], ssegs[MANY][MAX_SEGS];
	struct virtq_chain pc[MANY], sc[MANY];
	struct prediction pr;
	for (uint32_t i = 0; i < MANY; i++) {
		virtq_chain_init(&pc[i], psegs[i], cap);
		virtq_chain_init(&sc[i], ssegs[i], cap);
	}
	const int r = virtq_pop_many(&pq, pc, max);
	const int rs = R.diverged ? 0 : virtq_pop_many(&sq, sc, max);
	if (!R.diverged)
		ORACLE(rs == r);
	uint32_t n = 0;
	int want = 1;
	while (n < max && (want = predict_pop(&R.md, cap, &pr)) == 1)
		check_popped(1, 1, &pc[n], &sc[n], &pr, 1, true), n++;
	if (n == max) {
		ORACLE(r == (int)n);
	} else {
		const bool fatal = want < 0 && want != -VIRTQ_EBUSY && want != -VIRTQ_ENOSPC;
		ORACLE(r == (want < 0 && (n == 0 || fatal) ? want : (int)n));
		check_popped(want, want, &pc[n], &sc[n], &pr, want, true);
	}
	if (R.md.broken)
		return; /* the batch is void */
	check_positions();
	check_device_event();
	for (uint32_t i = 0; i < n; i++) {
		device_writes(&packed_mock, &pc[i]);
		if (!R.diverged)
			device_writes(&split_mock, &sc[i]);
	}
}

/* The chain the model completed: its slots go to the driver with len. */
static void model_completed(uint32_t at, uint32_t len)
{
	const struct held h = R.held[at];
	R.nheld--;
	R.held[at] = R.held[R.nheld];
	struct model *md = &R.md;
	md->state[h.pid] = COMPLETED;
	md->in_flight--;
	md->owned -= md->slots[h.pid];
	md->used_pending += md->slots[h.pid];
	if (R.nadded < sizeof(R.published) / sizeof(R.published[0])) {
		R.added_len[R.nadded] = len;
		R.published[R.nadded++] = h;
	}
}

/* virtq_discard(): pops as virtq_pop() with room for any number of segments
 * would, and completes the chain with length 0. */
static void op_discard(bool null_chain)
{
	struct virtq_chain pc, sc;
	struct prediction pr;
	virtq_chain_init(&pc, NULL, 0);
	virtq_chain_init(&sc, NULL, 0);
	const int want = predict_pop(&R.md, UINT32_MAX, &pr);
	const int r = virtq_discard(&pq, null_chain ? NULL : &pc);
	ORACLE(r == want);
	if (!R.diverged)
		ORACLE(virtq_discard(&sq, &sc) == r);
	if (r < 0 && r != -VIRTQ_EBUSY) {
		ORACLE(virtq_is_broken(&pq));
		R.md.broken = true;
	}
	if (r != 1)
		return;
	if (!null_chain)
		ORACLE(pc.id == pr.id && pc.ndesc == pr.ndesc && pc.needed == pr.nseg &&
		       pc.nseg == 0);
	pc.id = pr.id;
	pop_succeeded(&pc, &pr, sc.id);
	model_completed(R.nheld - 1, 0);
	check_positions();
}

static void op_pop(struct input *in)
{
	static struct virtq_seg psegs[MAX_SEGS], ssegs[MAX_SEGS];
	struct virtq_chain pc, sc;
	struct prediction pr;
	const uint32_t b = get(in, 1);
	const uint32_t cap = b & 0x80u ? MAX_SEGS : 1 + b % 8;
	if (b & 0x40u) {
		op_pop_many(cap, 1 + (b >> 3) % MANY);
		return;
	}
	if (b & 0x20u) {
		op_discard(b & 0x10u);
		return;
	}
	virtq_chain_init(&pc, psegs, cap);
	virtq_chain_init(&sc, ssegs, cap);
	const int want = predict_pop(&R.md, cap, &pr);
	const int r = virtq_pop(&pq, &pc);
	if (trace)
		fprintf(stderr, "pop: %d (%s)\n", r, r < 0 ? virtq_errname(r) : "ok");
	const int rs = R.diverged ? 0 : virtq_pop(&sq, &sc);
	check_popped(r, want, &pc, &sc, &pr, rs, false);
}

static uint32_t op_publish_model(void);
static int predict_notify(struct model *md);

/* add_used_many / complete_many of n held chains: refused with one id twice,
 * then accepted; the split twin gets the same completions. */
static void add_used_many(uint32_t n, uint32_t len, bool complete)
{
	struct virtq_used_elem pe[MAX_SIZE + 1], se[MAX_SIZE + 1];
	for (uint32_t i = 0; i < n; i++) {
		pe[i] = (struct virtq_used_elem){ R.held[i].pid, len };
		se[i] = (struct virtq_used_elem){ R.held[i].sid, len };
	}
	pe[n] = pe[0];
	int (*const call)(struct virtq *, const struct virtq_used_elem *, uint32_t) =
		complete ? virtq_complete_many : virtq_add_used_many;
	ORACLE(call(&pq, pe, n + 1) == -VIRTQ_EINVAL);
	const int r = call(&pq, pe, n);
	if (!R.diverged)
		ORACLE(call(&sq, se, n) >= 0);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t at = 0; at < R.nheld; at++)
			if (R.held[at].pid == pe[i].id) {
				model_completed(at, len);
				break;
			}
	check_positions();
	if (!complete) {
		ORACLE(r == 0);
		return;
	}
	op_publish_model();
	ORACLE(r == predict_notify(&R.md));
}

static void op_add_used(struct input *in)
{
	const uint32_t k = get(in, 1);
	const uint32_t len = get(in, 2);
	const uint32_t call = k >> 6;
	if (R.nheld == 0) { /* nothing held: every id is refused */
		const uint16_t id = (uint16_t)(k % (R.md.size + 1));
		const struct virtq_used_elem e = { id, len };
		ORACLE(virtq_add_used(&pq, id, len) == -VIRTQ_EINVAL);
		const int r =
			call & 1u ? virtq_complete_many(&pq, &e, 1) : virtq_complete(&pq, id, len);
		ORACLE(r == -VIRTQ_EINVAL);
		return;
	}
	if (call >= 2) {
		add_used_many(1 + (k % 64) % R.nheld, len, call == 3);
		return;
	}
	const uint32_t at = (call ? k % 64 : k) % R.nheld;
	const struct held h = R.held[at];
	if (call == 1) {
		const int r = virtq_complete(&pq, h.pid, len);
		ORACLE(virtq_complete(&pq, h.pid, len) == -VIRTQ_EINVAL); /* twice */
		if (!R.diverged)
			ORACLE(virtq_complete(&sq, h.sid, len) >= 0);
		model_completed(at, len);
		check_positions();
		op_publish_model();
		ORACLE(r == predict_notify(&R.md));
		return;
	}
	ORACLE(virtq_add_used(&pq, h.pid, len) == 0);
	ORACLE(virtq_add_used(&pq, h.pid, len) == -VIRTQ_EINVAL); /* twice */
	if (!R.diverged)
		ORACLE(virtq_add_used(&sq, h.sid, len) == 0);
	model_completed(at, len);
	check_positions();
}

/* What publishing does to the model: every completed chain's id free again. */
static uint32_t op_publish_model(void)
{
	struct model *md = &R.md;
	uint32_t n = 0;
	for (uint32_t i = 0; i < md->size; i++)
		if (md->state[i] == COMPLETED) {
			md->state[i] = FREE;
			n++;
		}
	md->used_published = md->used_pending;
	R.npub_tail = R.nadded;
	return n;
}

static void op_publish(void)
{
	const uint32_t n = op_publish_model();
	ORACLE(virtq_publish_used(&pq) == (int)n);
	if (!R.diverged)
		ORACLE(virtq_publish_used(&sq) == (int)n);
}

static void op_get_used(void)
{
	uint32_t pid = 0, plen = 0, sid = 0, slen = 0;
	if (R.diverged)
		return; /* the driver no longer knows the ring it reads */
	const int rp = virtq_mock_get_used(&packed_mock, &pid, &plen);
	const int rs = virtq_mock_get_used(&split_mock, &sid, &slen);
	ORACLE(rp == rs);
	ORACLE(rp == (R.npub_head < R.npub_tail));
	if (rp != 1)
		return;
	const struct held h = R.published[R.npub_head];
	ORACLE(pid == h.pid && sid == h.sid);
	ORACLE(plen == R.added_len[R.npub_head] && slen == plen);
	R.npub_head++;
}

static void op_raw(struct input *in)
{
	const uint32_t slot = get(in, 1) % R.md.size;
	const uint64_t addr = address(get(in, 2));
	const uint32_t len = length(get(in, 2));
	const uint16_t id = (uint16_t)(get(in, 1) % (R.md.size + 2));
	const uint32_t f = get(in, 1);
	uint16_t flags = (uint16_t)(f & 7u);
	if (f & 8u) /* available in the lap the device will read this slot in */
		flags |= virtq_mock_packed_avail_bits(slot >= R.md.pos ? R.md.wrap : !R.md.wrap);
	else
		flags |= (uint16_t)((f & 0x10u ? F_AVAIL : 0) | (f & 0x20u ? F_USED : 0));
	virtq_mock_packed_set_desc(&packed_mock, slot, addr, len, id, flags);
	R.diverged = true;
}

static void op_entry(struct input *in)
{
	const uint64_t where = address(get(in, 2));
	const uint64_t addr = address(get(in, 2));
	const uint32_t len = length(get(in, 2));
	const uint16_t flags = (uint16_t)(get(in, 1) & 7u);
	if (where < MEM_END - 16)
		virtq_mock_packed_write_desc_at(&packed_mock, where, addr, len, 0, flags);
	R.diverged = true;
}

static void op_wrap(struct input *in)
{
	const uint32_t slot = get(in, 1);
	const bool wrap = get(in, 1) & 1u;
	virtq_mock_packed_set_avail(&packed_mock, (uint16_t)slot, wrap);
	R.diverged = true;
}

/* The base GET_VRING_BASE gives for the model's positions. */
static uint32_t model_base(const struct model *md)
{
	const uint32_t avail = md->pos | (md->wrap ? VIRTQ_RING_EVENT_WRAP : 0u);
	const uint32_t used = (uint32_t)(md->used_pending % md->size) |
			      (wrap_of_lap(md->used_pending, md->size) ? VIRTQ_RING_EVENT_WRAP : 0u);
	return VIRTQ_PACKED_BASE(avail, used);
}

/* The back-end restarts: a fresh struct virtq, the same area and rings. */
static int resume_fresh(uint32_t base)
{
	memset(&pq, 0x5a, sizeof(pq));
	ORACLE(virtq_mock_configure(&packed_mock, &pq) == 0);
	if (!journaled)
		ORACLE(virtq_set_journal(&pq, NULL, 0) == 0);
	if (logging)
		ORACLE(virtq_set_log(&pq, &plog) == 0);
	return virtq_resume_packed(&pq, base);
}

/* Field offsets of the descriptor journal's header (include/virtq/inflight.h). */
#define JOURNAL_VERSION 8u
#define JOURNAL_DESC_NUM 10u

/* resume_fresh() with the 16-bit header field at `at` of the record that
 * decides (the journal, or without one the in-flight area: the two headers
 * have version and desc_num at the same offsets) set to v: a corrupt
 * record, or (version 0) one never used. The field is put back after a
 * refusal; the library rewrites the header when it starts afresh. */
static int resume_with_header(uint32_t base, unsigned at, uint16_t v)
{
	void *record = journaled ? packed_mock.journal : packed_mock.inflight;
	unsigned char *field = (unsigned char *)record + at;
	uint16_t old;
	memcpy(&old, field, sizeof(old));
	memcpy(field, &v, sizeof(v));
	const int r = resume_fresh(base);
	if (r)
		memcpy(field, &old, sizeof(old));
	return r;
}

/* After a resume from the journal: the chains completed and not published
 * are held again (their used descriptors never became visible), the used
 * position is the published one. */
static void model_resumed(void)
{
	struct model *md = &R.md;
	for (uint32_t i = R.npub_tail; i < R.nadded; i++) {
		const struct held h = R.published[i];
		md->state[h.pid] = IN_FLIGHT;
		md->in_flight++;
		md->owned += md->slots[h.pid];
		R.held[R.nheld++] = h;
	}
	R.nadded = R.npub_tail;
	md->used_pending = md->used_published;
	md->depth = 0; /* nothing to unpop across a restart */
	md->notify_enabled = true;
	md->known = false;
}

/* What resubmitting a chain held must give: the chain as popped, its ring
 * descriptors being the journal's copies; an indirect one's table is read
 * again from guest memory, which the driver may have changed. */
static int predict_resubmit(uint16_t id, struct prediction *p)
{
	const struct ref_desc first = popped[id].first;
	if (!(first.flags & VIRTQ_DESC_F_INDIRECT)) {
		*p = popped[id];
		return 1;
	}
	memset(p, 0, sizeof(*p));
	p->ndesc = p->slots = 1;
	int r = ref_table(p, &R.md, first);
	if (r)
		return r;
	p->id = id;
	if (!p->writing)
		p->nread = p->nseg;
	return p->nseg > MAX_SEGS ? -VIRTQ_ENOSPC : 1;
}

/* The resumed queue holds the model's chains, in pop order, and gives each
 * back as predicted. */
static void check_resubmitted(void)
{
	static struct virtq_seg segs[MAX_SEGS];
	uint16_t heads[MAX_SIZE];
	const int n = virtq_in_flight_list(&pq, heads, MAX_SIZE);
	ORACLE(n == (int)R.md.in_flight);
	for (int i = 0; i < n; i++) {
		struct virtq_chain c;
		struct prediction want;
		ORACLE(R.md.state[heads[i]] == IN_FLIGHT);
		ORACLE(i == 0 || R.popped_at[heads[i - 1]] < R.popped_at[heads[i]]);
		virtq_chain_init(&c, segs, MAX_SEGS);
		const int expect = predict_resubmit(heads[i], &want);
		const int r = virtq_resubmit(&pq, heads[i], &c);
		ORACLE(r == expect);
		if (r == 1) {
			check_segments(&packed_mock, &c);
			check_prediction(&c, &want);
		} else if (r != -VIRTQ_ENOSPC) {
			ORACLE(virtq_is_broken(&pq));
			R.md.broken = true;
			return;
		}
	}
}

/* A resumed queue whose journal held something else than the model: it
 * may hold other chains, but every answer stays inside the queue. */
static void check_taken_journal(void)
{
	static struct virtq_seg segs[MAX_SEGS];
	uint16_t heads[MAX_SIZE];
	const uint32_t held = virtq_in_flight(&pq);
	ORACLE(held <= R.md.size);
	ORACLE((virtq_next_avail(&pq) & 0x7fffu) < R.md.size);
	ORACLE((virtq_next_used(&pq) & 0x7fffu) < R.md.size);
	const int n = virtq_in_flight_list(&pq, heads, MAX_SIZE);
	ORACLE(n == (int)held);
	for (int i = 0; i < n; i++) {
		struct virtq_chain c;
		virtq_chain_init(&c, segs, MAX_SEGS);
		ORACLE(heads[i] < R.md.size);
		const int r = virtq_resubmit(&pq, heads[i], &c);
		if (r == 1)
			check_segments(&packed_mock, &c);
		else if (r != -VIRTQ_ENOSPC)
			ORACLE(virtq_is_broken(&pq));
		if (virtq_is_broken(&pq))
			return;
	}
}

/*
 * resume_fresh() after 1 to 4 bytes of the journal (header and the entries
 * of this size) were changed to anything: the journal is a parser's input.
 * Returns -VIRTQ_EBADSTATE or, for a version made 0 with chains held,
 * -VIRTQ_ENOTSUP (the journal left as it was, then put back), 0
 * for a journal unchanged after all, or 1 for one taken although changed:
 * checked by check_taken_journal(), after which the model no longer holds.
 */
static int resume_scribbled(struct input *in, uint32_t base)
{
	static unsigned char saved[32u + 32u * MAX_SIZE], bad[32u + 32u * MAX_SIZE];
	unsigned char *j = packed_mock.journal;
	const size_t bytes = 32u + 32u * R.md.size;
	memcpy(saved, j, bytes);
	for (uint32_t i = 0, n = 1 + get(in, 1) % 4u; i < n; i++) {
		const uint32_t at = get(in, 2) % (uint32_t)bytes;
		j[at] ^= (unsigned char)get(in, 1);
	}
	memcpy(bad, j, bytes);
	const int r = resume_fresh(base);
	/* a version made 0 says "never used": the in-flight area decides, and
	 * refuses chains held as without a journal */
	const bool never_used = bad[JOURNAL_VERSION] == 0 && bad[JOURNAL_VERSION + 1] == 0;
	if (r == -VIRTQ_EBADSTATE || (r == -VIRTQ_ENOTSUP && never_used)) {
		ORACLE(memcmp(j, bad, bytes) == 0);
		memcpy(j, saved, bytes);
		return r;
	}
	ORACLE(r == 0);
	if (!memcmp(bad, saved, bytes))
		return 0;
	check_taken_journal();
	return 1;
}

/*
 * The back-end restarts with the base a front-end sends. The journal says
 * where the ring is and what is held, so any base inside the ring resumes;
 * a journal never used (version 0) leaves it to the base and the in-flight
 * area, which can resume only a queue that holds nothing.
 */
static void op_reconnect(struct input *in)
{
	struct model *md = &R.md;
	const uint32_t how = get(in, 1) % 7u, base = model_base(md);
	const bool idle = md->in_flight == 0 && md->used_pending == md->used_published;
	ORACLE(base == VIRTQ_PACKED_BASE(virtq_next_avail(&pq), virtq_next_used(&pq)));
	int r;
	switch (how) {
	case 1: r = resume_fresh((base & ~0x7fffu) | md->size); ORACLE(r == -VIRTQ_EBADSTATE); break;
	case 2: r = resume_fresh((base & ~0x7fff0000u) | md->size << 16); ORACLE(r == -VIRTQ_EBADSTATE); break;
	case 3: /* a stale base: the journal knows better; without one, refused */
		r = resume_fresh(base ^ VIRTQ_RING_EVENT_WRAP);
		ORACLE(r == (journaled ? 0 : -VIRTQ_ENOTSUP)); break;
	case 4: r = resume_with_header(base, JOURNAL_DESC_NUM, (uint16_t)(md->size + 1));
		ORACLE(r == -VIRTQ_EBADSTATE); break;
	case 5: /* an in-flight area never used claims nothing is held: only when true */
		r = journaled || idle ? resume_with_header(base, JOURNAL_VERSION, 0) : 1;
		ORACLE(r == 1 || r == (idle ? 0 : -VIRTQ_ENOTSUP)); break;
	case 6: r = journaled ? resume_scribbled(in, base) : 1;
		if (r == 1) {
			if (trace)
				fprintf(stderr, "reconnect 6: a scribbled journal taken\n");
			md->broken = true; /* taken, not the model's: the run ends */
			return;
		}
		break;
	default: r = 1; break;
	}
	if (r != 0)
		r = resume_fresh(base);
	ORACLE(r == (journaled || idle ? 0 : -VIRTQ_ENOTSUP));
	if (r) {
		md->broken = true; /* ends the run: the device would reset */
		return;
	}
	model_resumed();
	if (trace)
		fprintf(stderr, "reconnect %u: %u chains held\n", how, virtq_in_flight(&pq));
	if (!R.diverged) { /* the split twin restarts too, at its own position */
		const uint16_t next = virtq_next_avail(&sq);
		memset(&sq, 0x5a, sizeof(sq));
		ORACLE(virtq_mock_resume(&split_mock, &sq, next) == 0);
	}
	check_positions();
	check_device_event();
	check_resubmitted();
}

/* The VMM migrates the queue: a fresh struct virtq on the same guest memory
 * and area (the destination's), restored from the source's state. */
static int restore_fresh(const struct virtq_state *s)
{
	memset(&pq, 0x5a, sizeof(pq));
	ORACLE(virtq_mock_configure(&packed_mock, &pq) == 0);
	if (!journaled)
		ORACLE(virtq_set_journal(&pq, NULL, 0) == 0);
	if (logging)
		ORACLE(virtq_set_log(&pq, &plog) == 0);
	return virtq_restore(&pq, &packed_mock.mem, s);
}

static void op_migrate(struct input *in)
{
	static struct virtq_state st, dec, bad;
	static uint8_t bytes[VIRTQ_STATE_MAX_BYTES];
	struct model *md = &R.md;
	const uint32_t how = get(in, 1) % 5u, base = model_base(md);
	const bool idle = md->in_flight == 0 && md->used_pending == md->used_published;
	const int r = virtq_save(&pq, &st);
	ORACLE(r == (idle ? 0 : -VIRTQ_ENOTSUP));
	if (r)
		return; /* refused: the queue goes on */
	ORACLE(st.active && !st.broken && st.in_flight == 0 && st.size == md->size);
	ORACLE(st.avail_pos == md->pos && st.avail_wrap == md->wrap);
	ORACLE(st.used_pos == md->used_pending % md->size &&
	       st.used_wrap == wrap_of_lap(md->used_pending, md->size));
	const int len = virtq_state_encode(&st, bytes, sizeof(bytes));
	ORACLE(len == (int)VIRTQ_STATE_V3_FIXED_SIZE && bytes[4] == 3);
	ORACLE(virtq_state_decode(&dec, bytes, (size_t)len) == 0);
	if (how) {
		bad = dec;
		switch (how) {
		case 1: bad.avail_pos = bad.used_pos = (uint16_t)md->size; break;
		case 2: bad.used_wrap = !bad.used_wrap; break;
		case 3: bad.signal_slots = 2 * md->size + 1; break;
		default: bad.in_flight = 1, bad.next_avail++, bad.heads[0] = 0; break;
		}
		ORACLE(restore_fresh(&bad) == -VIRTQ_EBADSTATE);
		ORACLE(!virtq_is_active(&pq) && !virtq_is_broken(&pq));
	}
	ORACLE(restore_fresh(&dec) == 0);
	if (!R.diverged) { /* the split twin migrates too, chains in flight or not */
		ORACLE(virtq_save(&sq, &st) == 0);
		memset(&sq, 0x5a, sizeof(sq));
		ORACLE(virtq_mock_configure(&split_mock, &sq) == 0);
		ORACLE(virtq_restore(&sq, &split_mock.mem, &st) == 0);
	}
	ORACLE(virtq_next_avail(&pq) == (base & 0xffffu));
	ORACLE(virtq_next_used(&pq) == base >> 16);
	check_positions();
	check_device_event();
}

static void op_event(struct input *in)
{
	R.md.driver_off_wrap = (uint16_t)get(in, 2);
	R.md.driver_flags = (uint16_t)(get(in, 1) % 4u);
	virtq_mock_packed_set_driver_event(&packed_mock, R.md.driver_off_wrap, R.md.driver_flags);
}

/*
 * The notification decision from the spec's words (2.8.10): DESC asks for a
 * notification when the used descriptor at (off, wrap) is written; the
 * published slots since the last decision are the absolute range [from, to).
 */
static int predict_notify(struct model *md)
{
	const uint64_t from = md->signalled, to = md->used_published;
	const bool known = md->known;
	md->signalled = to;
	md->known = true;
	if (known && from == to)
		return 0;
	if (md->driver_flags == VIRTQ_RING_EVENT_FLAGS_DISABLE)
		return 0;
	if (md->driver_flags != VIRTQ_RING_EVENT_FLAGS_DESC || !md->event_idx)
		return 1;
	const uint32_t off = md->driver_off_wrap & 0x7fffu;
	const bool wrap = md->driver_off_wrap >> 15;
	if (!known || to - from >= md->size || off >= md->size)
		return 1;
	for (uint64_t x = from; x < to; x++)
		if (x % md->size == off && wrap_of_lap(x, md->size) == wrap)
			return 1;
	return 0;
}

static void op_notify(void)
{
	const int want = predict_notify(&R.md);
	ORACLE(virtq_needs_notify(&pq) == want);
}

static void op_kick(struct input *in)
{
	if (get(in, 1) & 1u) {
		R.md.notify_enabled = true;
		const uint16_t flags = read16(&packed_mock, slot_gpa(R.md.pos) + 14);
		ORACLE(virtq_enable_notify(&pq) == (int)ref_available(flags, R.md.wrap));
	} else {
		R.md.notify_enabled = false;
		ORACLE(virtq_disable_notify(&pq) == 0);
	}
	check_device_event();
}

static void op_unpop(void)
{
	struct model *md = &R.md;
	const bool can = md->depth > 0 && md->state[md->stack[md->depth - 1]] == IN_FLIGHT;
	const int r = virtq_unpop(&pq);
	ORACLE(r == (can ? 0 : -VIRTQ_EINVAL));
	if (!R.diverged)
		ORACLE(virtq_unpop(&sq) == r);
	if (!can)
		return;
	const uint16_t id = md->stack[--md->depth];
	md->state[id] = FREE;
	md->in_flight--;
	md->owned -= md->slots[id];
	if (md->pos < md->slots[id]) {
		md->pos += md->size;
		md->wrap = !md->wrap;
	}
	md->pos -= md->slots[id];
	for (uint32_t i = 0; i < R.nheld; i++)
		if (R.held[i].pid == id) {
			R.held[i] = R.held[--R.nheld];
			break;
		}
	ORACLE(virtq_next_avail(&pq) == (md->pos | (md->wrap ? VIRTQ_RING_EVENT_WRAP : 0u)));
}

/* ---- the run -------------------------------------------------------------- */

/* The dirty-log oracle: every byte the device changed (the mock driver's
 * own writes are in its snapshot) lies in a logged page. */
static void check_logged(void)
{
	uint64_t bad = 0;
	ORACLE(virtq_mock_check_dirty(&packed_mock, &plog, &bad) == 0);
}

static void configure(struct virtq_mock_config *cfg, uint32_t size, uint64_t features)
{
	virtq_mock_config_default(cfg);
	cfg->nregions = 2;
	cfg->regions[0] = (struct virtq_mock_region){ .gpa = 0, .size = REGION };
	cfg->regions[1] = (struct virtq_mock_region){ .gpa = REGION, .size = REGION };
	cfg->queue_size = size;
	cfg->features = features;
	cfg->buf_gpa = 0x4000;
	cfg->buf_end = MEM_END;
}

static void start(uint32_t size, uint64_t features)
{
	struct virtq_mock_config cfg;
	configure(&cfg, size, features | VIRTQ_FEATURE(VIRTQ_F_RING_PACKED));
	if (!mocks_ready) {
		ORACLE(virtq_mock_init(&packed_mock, &cfg) == 0);
		configure(&cfg, size, features);
		ORACLE(virtq_mock_init(&split_mock, &cfg) == 0);
		mocks_ready = true;
		configure(&cfg, size, features | VIRTQ_FEATURE(VIRTQ_F_RING_PACKED));
	}
	ORACLE(virtq_mock_reconfigure(&packed_mock, &cfg) == 0);
	configure(&cfg, size, features);
	ORACLE(virtq_mock_reconfigure(&split_mock, &cfg) == 0);
	ORACLE(virtq_mock_configure(&packed_mock, &pq) == 0);
	if (!journaled)
		ORACLE(virtq_set_journal(&pq, NULL, 0) == 0);
	ORACLE(virtq_activate(&pq) == 0);
	ORACLE(virtq_mock_attach(&split_mock, &sq) == 0);
	ORACLE(virtq_mock_snapshot(&packed_mock) == 0);
	ORACLE(virtq_mock_snapshot(&split_mock) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size, 0 };
	trace = getenv("FUZZ_PACKED_TRACE") != NULL;
	const uint32_t config = get(&in, 1);
	memset(&R, 0, sizeof(R));
	struct model *md = &R.md;
	md->size = 2u << (config & 3u);
	md->indirect = config & 4u;
	md->event_idx = config & 8u;
	md->wrap = true;
	md->notify_enabled = true;
	const uint64_t features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
				  (md->indirect ? VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) : 0) |
				  (md->event_idx ? VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) : 0);
	journaled = (config & 0x30u) != 0x20u;
	start(md->size, features);
	const bool reconnects = config & 0x40u, migrates = config & 0x80u;
	logging = config & 0x10u;
	log_off = config & 0x20u;
	if (logging) {
		memset(plog_words, 0, sizeof(plog_words));
		const uint64_t bytes = sizeof(plog_words);
		ORACLE(virtq_log_init(&plog, &packed_mock.mem, plog_words, bytes) == 0);
		ORACLE(virtq_set_log(&pq, &plog) == 0);
		virtq_log_set_enabled(&plog, !log_off);
	}
	check_device_event();
	static struct virtq_state st;
	ORACLE(virtq_save(&pq, &st) == 0); /* nothing held yet */
	ORACLE(st.avail_pos == 0 && st.avail_wrap && st.used_pos == 0 && st.used_wrap);
	ORACLE(virtq_resume(&pq, 0) == -VIRTQ_ENOTSUP);
	ORACLE(virtq_resume_packed(&sq, VIRTQ_PACKED_BASE_FRESH) == -VIRTQ_EINVAL); /* split */
	ORACLE(virtq_resume_packed(&pq, VIRTQ_PACKED_BASE_FRESH) == -VIRTQ_EINVAL); /* active */
	for (unsigned ops = 0; in.at < in.size && ops < 512 && !md->broken; ops++) {
		switch (get(&in, 1) % 12u) {
		case 0: op_post(&in); break;
		case 1: op_pop(&in); break;
		case 2: op_add_used(&in); break;
		case 3: op_publish(); break;
		case 4: op_get_used(); break;
		case 5: op_raw(&in); break;
		case 6: op_entry(&in); break;
		case 7:
			if (migrates)
				op_migrate(&in);
			else if (reconnects)
				op_reconnect(&in);
			else
				op_wrap(&in);
			break;
		case 8: op_event(&in); break;
		case 9: op_notify(); break;
		case 10: op_kick(&in); break;
		default: op_unpop(); break;
		}
	}
	uint64_t bad = 0;
	ORACLE(virtq_mock_check_writes(&packed_mock, &bad) == 0);
	ORACLE(virtq_mock_guards_intact(&packed_mock));
	if (logging && !log_off)
		check_logged();
	for (unsigned i = 0; logging && log_off && i < sizeof(plog_words) / 8u; i++)
		ORACLE(plog_words[i] == 0);
	if (!R.diverged) {
		ORACLE(virtq_mock_check_writes(&split_mock, &bad) == 0);
		ORACLE(virtq_mock_guards_intact(&split_mock));
	}
	return 0;
}

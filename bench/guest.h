/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's guest driver: writes descriptors, avail entries and the
 * event field, and reaps used entries, directly in the mapped guest memory.
 *
 * Every implementation measured (virtq, the baseline, the peers in
 * bench/peers/) is fed by this same code, inside the timed loop, so the
 * driver's share of each figure is identical. It depends on nothing but C11:
 * the peers' harnesses include it too.
 *
 * Layout of bench/README.md "Workloads": 16 MiB of guest memory at GPA 0,
 * queue size 256, descriptor table at 0x0, avail ring at 0x1000, used ring at
 * 0x2000, buffers from 0x10000. Ring fields are written with C11 atomics
 * (release on avail.idx, acquire on used.idx), so the threaded benchmark can
 * run this driver on another core.
 */
#ifndef VIRTQ_BENCH_GUEST_H
#define VIRTQ_BENCH_GUEST_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define BG_MEM_SIZE (16u << 20)
#define BG_QSIZE 256u
#define BG_DESC 0x0u
#define BG_AVAIL 0x1000u
#define BG_USED 0x2000u
#define BG_BUF 0x10000u

/* virtio 1.x values (spec 2.7.5, 6.3): the guest does not use virtq's headers. */
#define BG_F_NEXT 1u
#define BG_F_WRITE 2u
#define BG_F_INDIRECT 4u
#define BG_FEAT_INDIRECT (UINT64_C(1) << 28)
#define BG_FEAT_EVENT_IDX (UINT64_C(1) << 29)
#define BG_FEAT_VERSION_1 (UINT64_C(1) << 32)

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && \
	__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BG_LE16(v) __builtin_bswap16(v)
#define BG_LE32(v) __builtin_bswap32(v)
#define BG_LE64(v) __builtin_bswap64(v)
#else
#define BG_LE16(v) (v)
#define BG_LE32(v) (v)
#define BG_LE64(v) (v)
#endif

struct bg {
	unsigned char *mem; /* host address of GPA 0 */
	uint16_t avail_idx; /* next avail.idx to publish */
	uint16_t last_used; /* used entries reaped */
};

/* mem must be BG_MEM_SIZE bytes. Every page is written once, as a running
 * guest's memory would be: no first-touch page fault lands in a timed run. */
static inline void bg_init(struct bg *g, void *mem)
{
	memset(mem, 0, BG_MEM_SIZE);
	g->mem = mem;
	g->avail_idx = 0;
	g->last_used = 0;
}

/* One descriptor at guest address gpa (descriptor table or indirect table). */
static inline void bg_desc_at(struct bg *g, uint64_t gpa, uint64_t addr, uint32_t len,
			      uint16_t flags, uint16_t next)
{
	_Atomic uint64_t *p = (_Atomic uint64_t *)(void *)(g->mem + gpa);
	uint64_t hi = (uint64_t)len | (uint64_t)flags << 32 | (uint64_t)next << 48;
	atomic_store_explicit(&p[0], BG_LE64(addr), memory_order_relaxed);
	atomic_store_explicit(&p[1], BG_LE64(hi), memory_order_relaxed);
}

static inline void bg_desc(struct bg *g, uint32_t idx, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	bg_desc_at(g, BG_DESC + 16u * (uint64_t)idx, addr, len, flags, next);
}

static inline _Atomic uint16_t *bg_u16(struct bg *g, uint64_t gpa)
{
	return (_Atomic uint16_t *)(void *)(g->mem + gpa);
}

/* Writes the next avail entry (not yet published). */
static inline void bg_avail(struct bg *g, uint16_t head)
{
	uint64_t slot = g->avail_idx & (BG_QSIZE - 1);
	atomic_store_explicit(bg_u16(g, BG_AVAIL + 4 + 2 * slot), BG_LE16(head),
			      memory_order_relaxed);
	g->avail_idx++;
}

/* Publishes avail.idx: release, so descriptors and entries are visible first. */
static inline void bg_publish(struct bg *g)
{
	atomic_store_explicit(bg_u16(g, BG_AVAIL + 2), BG_LE16(g->avail_idx), memory_order_release);
}

/* used_event (EVENT_IDX): interrupt me when used.idx passes v. */
static inline void bg_set_used_event(struct bg *g, uint16_t v)
{
	atomic_store_explicit(bg_u16(g, BG_AVAIL + 4 + 2 * BG_QSIZE), BG_LE16(v),
			      memory_order_relaxed);
}

static inline uint16_t bg_used_idx(struct bg *g)
{
	return BG_LE16(atomic_load_explicit(bg_u16(g, BG_USED + 2), memory_order_acquire));
}

/* Reads used entry number last_used (id and len); call after bg_used_idx(). */
static inline uint32_t bg_used_id(struct bg *g, uint16_t n)
{
	uint64_t slot = n & (BG_QSIZE - 1);
	_Atomic uint32_t *e = (_Atomic uint32_t *)(void *)(g->mem + BG_USED + 4 + 8 * slot);
	return BG_LE32(atomic_load_explicit(e, memory_order_relaxed));
}

/*
 * Reaps every used entry published since the last call, reading each id as a
 * driver does to free its descriptors. Returns how many were reaped, and
 * folds the ids into *sum so the reads are not optimised away.
 */
static inline uint32_t bg_reap(struct bg *g, uint64_t *sum)
{
	uint16_t idx = bg_used_idx(g), n = 0;
	while (g->last_used != idx) {
		*sum += bg_used_id(g, g->last_used);
		g->last_used++;
		n++;
	}
	return n;
}

/* Guest memory (at mem) for the 44-byte vsock header (little-endian,
 * include/virtq/vsock.h); both layouts' drivers write it. */
static inline void bg_vsock_hdr_at(unsigned char *mem, uint64_t gpa, uint32_t len)
{
	unsigned char h[44];
	memset(h, 0, sizeof(h));
	h[0] = 3;                  /* src_cid */
	h[8] = 2;                  /* dst_cid */
	h[16] = 0x34, h[17] = 0x12; /* src_port */
	h[20] = 0x00, h[21] = 0x04; /* dst_port 1024 */
	for (unsigned i = 0; i < 4; i++)
		h[24 + i] = (unsigned char)(len >> (8 * i));
	h[28] = 1; /* STREAM */
	h[30] = 5; /* OP_RW */
	h[37] = 0x10; /* buf_alloc 4096 */
	memcpy(mem + gpa, h, sizeof(h));
}

static inline void bg_vsock_hdr(struct bg *g, uint64_t gpa, uint32_t len)
{
	bg_vsock_hdr_at(g->mem, gpa, len);
}

/* ---- the workloads' driver halves (bench/README.md "Workloads") ---- */

#define BG_BATCH 128u /* chains of W1, descriptors of W2/W3, entries of W4 */

/* W1: 128 one-descriptor chains (4 KiB readable each), published at once. */
static inline void bg_post_multi(struct bg *g)
{
	for (uint32_t i = 0; i < BG_BATCH; i++) {
		bg_desc(g, i, BG_BUF + 4096u * (uint64_t)i, 4096, 0, 0);
		bg_avail(g, (uint16_t)i);
	}
	bg_publish(g);
}

/* Flags of descriptor i of a 128-descriptor chain: 64 readable, then 64
 * writable, each linked to the next. */
static inline uint16_t bg_chain_flags(uint32_t i, uint16_t next_flag)
{
	return (uint16_t)((i >= BG_BATCH / 2 ? BG_F_WRITE : 0) | (i + 1 < BG_BATCH ? next_flag : 0));
}

/* W2: one chain of 128 descriptors (64 readable + 64 writable, 4 KiB each). */
static inline void bg_post_single(struct bg *g)
{
	for (uint32_t i = 0; i < BG_BATCH; i++)
		bg_desc(g, i, BG_BUF + 4096u * (uint64_t)i, 4096, bg_chain_flags(i, BG_F_NEXT),
			(uint16_t)(i + 1 < BG_BATCH ? i + 1 : 0));
	bg_avail(g, 0);
	bg_publish(g);
}

/* W3: the same 128 buffers in one indirect table (at BG_BUF), head at 0. */
static inline void bg_post_indirect(struct bg *g)
{
	for (uint32_t i = 0; i < BG_BATCH; i++)
		bg_desc_at(g, BG_BUF + 16u * (uint64_t)i, BG_BUF + 0x10000u + 4096u * (uint64_t)i,
			   4096, bg_chain_flags(i, BG_F_NEXT),
			   (uint16_t)(i + 1 < BG_BATCH ? i + 1 : 0));
	bg_desc(g, 0, BG_BUF, 16u * BG_BATCH, BG_F_INDIRECT, 0);
	bg_avail(g, 0);
	bg_publish(g);
}

/* First descriptor of the 2-descriptor chain of iteration k (W5, W6): the
 * driver cycles through 128 pairs of the table as its free list would. */
static inline uint16_t bg_pair(uint64_t k)
{
	return (uint16_t)((k & (BG_BATCH - 1)) * 2);
}

/* W5: 16 B readable request + 4096 B writable buffer; used_event asks for an
 * interrupt on the next used entry, as an interrupt-driven driver does. */
static inline void bg_post_steady(struct bg *g, uint64_t k)
{
	const uint16_t s = bg_pair(k);
	const uint64_t buf = BG_BUF + 0x2000u * (uint64_t)(s / 2);
	bg_desc(g, s, buf, 16, BG_F_NEXT, (uint16_t)(s + 1));
	bg_desc(g, s + 1u, buf + 0x1000, 4096, BG_F_WRITE, 0);
	bg_set_used_event(g, g->last_used);
	bg_avail(g, s);
	bg_publish(g);
}

/* W6: a vsock TX packet, 44 B header + 4096 B data, in two descriptors. */
static inline void bg_post_vsock(struct bg *g, uint64_t k)
{
	const uint16_t s = bg_pair(k);
	const uint64_t buf = BG_BUF + 0x2000u * (uint64_t)(s / 2);
	bg_vsock_hdr(g, buf, 4096);
	bg_desc(g, s, buf, 44, BG_F_NEXT, (uint16_t)(s + 1));
	bg_desc(g, s + 1u, buf + 0x1000, 4096, 0, 0);
	bg_avail(g, s);
	bg_publish(g);
}

/* ---- packed layout (virtio 2.8): the same workloads' driver halves ----
 *
 * The same addresses: the descriptor ring at BG_DESC (256 x 16 B), the
 * driver event suppression structure at BG_AVAIL, the device's at BG_USED.
 * A chain goes at the driver's next ring slots, its first descriptor's flags
 * stored last with release (2.8.21); a batch of chains (W1) is published by
 * the first chain's flags alone (2.8.9), as one avail.idx store publishes a
 * split batch. Used descriptors are read in ring order, each skipping the
 * slots its chain took, as Linux's virtio_ring does.
 */

#define BG_F_AVAIL (1u << 7)
#define BG_F_USED (1u << 15)
#define BG_EVENT_DESC 2u /* event suppression flags: at the descriptor of off_wrap */

struct bgp {
	unsigned char *mem;      /* host address of GPA 0 */
	uint16_t avail_pos;      /* next slot to make available */
	uint16_t used_pos;       /* next slot to read a used descriptor from */
	_Bool avail_wrap;        /* driver ring wrap counter (2.8.1) */
	_Bool used_wrap;         /* the device's, as the driver tracks it */
	uint16_t slots[BG_QSIZE]; /* per buffer id: ring slots of its chain */
};

/* As bg_init(): mem is BG_MEM_SIZE bytes, every page written once. */
static inline void bgp_init(struct bgp *g, void *mem)
{
	memset(mem, 0, BG_MEM_SIZE);
	memset(g, 0, sizeof(*g));
	g->mem = mem;
	g->avail_wrap = g->used_wrap = 1; /* 2.8.1: both start at 1 */
}

/* AVAIL/USED bits of a descriptor made available in the lap of wrap. */
static inline uint16_t bgp_avail_bits(_Bool wrap)
{
	return (uint16_t)(wrap ? BG_F_AVAIL : BG_F_USED);
}

/* A whole descriptor at guest address gpa, flags included: a chain's later
 * descriptors and indirect table entries (the first's flags publish them). */
static inline void bgp_desc_at(struct bgp *g, uint64_t gpa, uint64_t addr, uint32_t len,
			       uint16_t id, uint16_t flags)
{
	_Atomic uint64_t *p = (_Atomic uint64_t *)(void *)(g->mem + gpa);
	uint64_t hi = (uint64_t)len | (uint64_t)id << 32 | (uint64_t)flags << 48;
	atomic_store_explicit(&p[0], BG_LE64(addr), memory_order_relaxed);
	atomic_store_explicit(&p[1], BG_LE64(hi), memory_order_relaxed);
}

/* The first descriptor of a chain or batch at slot, all but its flags;
 * bgp_publish() stores them. */
static inline void bgp_head(struct bgp *g, uint16_t slot, uint64_t addr, uint32_t len,
			    uint16_t id)
{
	unsigned char *d = g->mem + BG_DESC + 16u * (uint64_t)slot;
	atomic_store_explicit((_Atomic uint64_t *)(void *)d, BG_LE64(addr), memory_order_relaxed);
	atomic_store_explicit((_Atomic uint32_t *)(void *)(d + 8), BG_LE32(len),
			      memory_order_relaxed);
	atomic_store_explicit((_Atomic uint16_t *)(void *)(d + 12), BG_LE16(id),
			      memory_order_relaxed);
}

/* The first descriptor's flags, with release: every descriptor written
 * before them becomes visible with them (2.8.21). */
static inline void bgp_publish(struct bgp *g, uint16_t slot, uint16_t flags)
{
	unsigned char *d = g->mem + BG_DESC + 16u * (uint64_t)slot;
	atomic_store_explicit((_Atomic uint16_t *)(void *)(d + 14), BG_LE16(flags),
			      memory_order_release);
}

/* Takes the next ring slot; its AVAIL/USED bits go to *bits. */
static inline uint16_t bgp_take(struct bgp *g, uint16_t *bits)
{
	const uint16_t s = g->avail_pos;
	*bits = bgp_avail_bits(g->avail_wrap);
	if (++g->avail_pos == BG_QSIZE) {
		g->avail_pos = 0;
		g->avail_wrap = !g->avail_wrap;
	}
	return s;
}

/* Driver event suppression (EVENT_IDX, 2.8.10): interrupt me when the used
 * descriptor at the driver's next used slot is written. */
static inline void bgp_set_used_event(struct bgp *g)
{
	const uint32_t off_wrap = g->used_pos | (uint32_t)g->used_wrap << 15;
	atomic_store_explicit((_Atomic uint32_t *)(void *)(g->mem + BG_AVAIL),
			      BG_LE32(off_wrap | BG_EVENT_DESC << 16), memory_order_relaxed);
}

/*
 * As bg_reap(): reads every used descriptor the device made visible, in ring
 * order (flags with acquire, then the id), skipping the slots of each
 * chain. Returns how many were reaped; the ids go into *sum.
 */
static inline uint32_t bgp_reap(struct bgp *g, uint64_t *sum)
{
	uint32_t n = 0;
	for (;;) {
		unsigned char *d = g->mem + BG_DESC + 16u * (uint64_t)g->used_pos;
		const uint16_t flags = BG_LE16(atomic_load_explicit(
			(_Atomic uint16_t *)(void *)(d + 14), memory_order_acquire));
		const uint16_t want = (uint16_t)(g->used_wrap ? BG_F_AVAIL | BG_F_USED : 0);
		if ((flags & (BG_F_AVAIL | BG_F_USED)) != want)
			return n;
		const uint16_t id = BG_LE16(atomic_load_explicit((_Atomic uint16_t *)(void *)(d + 12),
								 memory_order_relaxed));
		*sum += id;
		uint32_t pos = (uint32_t)g->used_pos + g->slots[id & (BG_QSIZE - 1)];
		if (pos >= BG_QSIZE) {
			pos -= BG_QSIZE;
			g->used_wrap = !g->used_wrap;
		}
		g->used_pos = (uint16_t)pos;
		n++;
	}
}

/* W1: 128 one-descriptor chains, ids 0..127; the first one's flags last. */
static inline void bgp_post_multi(struct bgp *g)
{
	uint16_t bits0, bits;
	const uint16_t s0 = bgp_take(g, &bits0);
	bgp_head(g, s0, BG_BUF, 4096, 0);
	g->slots[0] = 1;
	for (uint32_t i = 1; i < BG_BATCH; i++) {
		const uint16_t s = bgp_take(g, &bits);
		bgp_desc_at(g, BG_DESC + 16u * (uint64_t)s, BG_BUF + 4096u * (uint64_t)i, 4096,
			    (uint16_t)i, bits);
		g->slots[i] = 1;
	}
	bgp_publish(g, s0, bits0);
}

/* W2: one chain of 128 descriptors (64 readable + 64 writable, 4 KiB each),
 * id 0 (the buffer id is the last descriptor's, 2.8.6; all carry it). */
static inline void bgp_post_single(struct bgp *g)
{
	uint16_t bits0, bits;
	const uint16_t s0 = bgp_take(g, &bits0);
	bgp_head(g, s0, BG_BUF, 4096, 0);
	for (uint32_t i = 1; i < BG_BATCH; i++) {
		const uint16_t s = bgp_take(g, &bits);
		bgp_desc_at(g, BG_DESC + 16u * (uint64_t)s, BG_BUF + 4096u * (uint64_t)i, 4096, 0,
			    (uint16_t)(bg_chain_flags(i, BG_F_NEXT) | bits));
	}
	g->slots[0] = BG_BATCH;
	bgp_publish(g, s0, (uint16_t)(bg_chain_flags(0, BG_F_NEXT) | bits0));
}

/* W3: the same 128 buffers in one indirect table (at BG_BUF, WRITE the only
 * flag of its entries, 2.8.19), id 0, one ring slot. */
static inline void bgp_post_indirect(struct bgp *g)
{
	uint16_t bits;
	for (uint32_t i = 0; i < BG_BATCH; i++)
		bgp_desc_at(g, BG_BUF + 16u * (uint64_t)i, BG_BUF + 0x10000u + 4096u * (uint64_t)i,
			    4096, 0, bg_chain_flags(i, 0) /* no NEXT in a table */);
	const uint16_t s = bgp_take(g, &bits);
	bgp_head(g, s, BG_BUF, 16u * BG_BATCH, 0);
	g->slots[0] = 1;
	bgp_publish(g, s, (uint16_t)(BG_F_INDIRECT | bits));
}

/* A 2-descriptor chain (W5, W6) with id k mod 128 and that id's buffers
 * (as bg_pair() in the split ring): len0 readable at buf, then 4096 B at
 * buf + 0x1000 with flags1 (WRITE or not). */
static inline void bgp_post_pair(struct bgp *g, uint64_t k, uint32_t len0, uint16_t flags1)
{
	const uint16_t id = (uint16_t)(k & (BG_BATCH - 1));
	const uint64_t buf = BG_BUF + 0x2000u * (uint64_t)id;
	uint16_t bits0, bits1;
	const uint16_t s0 = bgp_take(g, &bits0), s1 = bgp_take(g, &bits1);
	bgp_head(g, s0, buf, len0, id);
	bgp_desc_at(g, BG_DESC + 16u * (uint64_t)s1, buf + 0x1000, 4096, id,
		    (uint16_t)(flags1 | bits1));
	g->slots[id] = 2;
	bgp_publish(g, s0, (uint16_t)(BG_F_NEXT | bits0));
}

/* W5: 16 B readable request + 4096 B writable buffer; the driver event asks
 * for an interrupt at the next used descriptor. */
static inline void bgp_post_steady(struct bgp *g, uint64_t k)
{
	bgp_set_used_event(g);
	bgp_post_pair(g, k, 16, BG_F_WRITE);
}

/* W6: a vsock TX packet, 44 B header + 4096 B data, in two descriptors. */
static inline void bgp_post_vsock(struct bgp *g, uint64_t k)
{
	const uint64_t buf = BG_BUF + 0x2000u * (uint64_t)(k & (BG_BATCH - 1));
	bg_vsock_hdr_at(g->mem, buf, 4096);
	bgp_post_pair(g, k, 44, 0);
}

#endif /* VIRTQ_BENCH_GUEST_H */

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

/* Guest memory for the 44-byte vsock header (little-endian, include/virtq/vsock.h). */
static inline void bg_vsock_hdr(struct bg *g, uint64_t gpa, uint32_t len)
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
	memcpy(g->mem + gpa, h, sizeof(h));
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

#endif /* VIRTQ_BENCH_GUEST_H */

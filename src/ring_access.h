/* SPDX-License-Identifier: MIT */
/*
 * The only place where memory shared with the guest's rings is touched.
 *
 * Ring fields are read and written with C11 atomics on the guest's memory, so
 * the compiler reads each value exactly once (no double fetch) and
 * ThreadSanitizer sees every access. Orders are relaxed unless a function's
 * name says otherwise; the virtio ordering rules (spec 2.7.13, 2.7.7) are
 * applied by the callers with the acquire/release/fence helpers below, each
 * call site naming its rule. Values in guest memory are little-endian.
 */
#ifndef VIRTQ_RING_ACCESS_H
#define VIRTQ_RING_ACCESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Fuzz builds only (VIRTQ_FUZZ_HOOKS, set by VIRTQ_FUZZ): every load of ring
 * memory below is reported right after it happened, with the host address
 * and size of what was loaded, so that a fuzz scenario can rewrite exactly
 * those guest bytes and see whether the library loads them again (a double
 * fetch). In every other build ring_loaded() is nothing at all.
 */
#ifdef VIRTQ_FUZZ_HOOKS
extern void (*virtq_fuzz_load_hook)(const void *p, size_t bytes);
static inline void ring_loaded(const void *p, size_t bytes)
{
	if (virtq_fuzz_load_hook)
		virtq_fuzz_load_hook(p, bytes);
}
#else
#define ring_loaded(p, bytes) ((void)0)
#endif

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && \
	__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static inline uint16_t le16_cpu(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t le32_cpu(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t le64_cpu(uint64_t v) { return __builtin_bswap64(v); }
#else
static inline uint16_t le16_cpu(uint16_t v) { return v; }
static inline uint32_t le32_cpu(uint32_t v) { return v; }
static inline uint64_t le64_cpu(uint64_t v) { return v; }
#endif

static inline void *ring_at(void *base, uint64_t offset)
{
	return (unsigned char *)base + offset;
}

static inline uint16_t ring_load16(void *p)
{
	uint16_t v = le16_cpu(atomic_load_explicit((_Atomic uint16_t *)p, memory_order_relaxed));
	ring_loaded(p, 2);
	return v;
}

static inline uint16_t ring_load16_acquire(void *p)
{
	uint16_t v = le16_cpu(atomic_load_explicit((_Atomic uint16_t *)p, memory_order_acquire));
	ring_loaded(p, 2);
	return v;
}

static inline void ring_store16(void *p, uint16_t v)
{
	atomic_store_explicit((_Atomic uint16_t *)p, le16_cpu(v), memory_order_relaxed);
}

static inline void ring_store16_release(void *p, uint16_t v)
{
	atomic_store_explicit((_Atomic uint16_t *)p, le16_cpu(v), memory_order_release);
}

/*
 * 16-bit fields at odd host addresses, which only the mock's malicious
 * layouts produce (activation refuses them, so no device thread shares them):
 * little-endian bytes, each accessed once through volatile, like the
 * unaligned descriptor copy below.
 */
static inline uint16_t ring_load16_unaligned(void *p)
{
	const volatile unsigned char *b = p;
	uint16_t v = (uint16_t)(b[0] | b[1] << 8);
	ring_loaded(p, 2);
	return v;
}

static inline void ring_store16_unaligned(void *p, uint16_t v)
{
	volatile unsigned char *b = p;
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
}

static inline uint32_t ring_load32(void *p)
{
	uint32_t v = le32_cpu(atomic_load_explicit((_Atomic uint32_t *)p, memory_order_relaxed));
	ring_loaded(p, 4);
	return v;
}

static inline void ring_store32(void *p, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)p, le32_cpu(v), memory_order_relaxed);
}

static inline void ring_store64(void *p, uint64_t v)
{
	atomic_store_explicit((_Atomic uint64_t *)p, le64_cpu(v), memory_order_relaxed);
}

/* Full barrier between our ring stores and the loads that follow them. */
static inline void ring_fence_full(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

/* A descriptor as the device sees it after one read (virtio 2.7.5). */
struct ring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define RING_DESC_BYTES 16u

/*
 * Copies one descriptor out of guest memory, reading every byte exactly once.
 * Descriptor tables are 16-aligned; indirect tables need not be, and get a
 * volatile byte copy instead of two atomic 64-bit loads.
 */
static inline struct ring_desc ring_read_desc(void *p)
{
	uint64_t lo, hi;
#if ATOMIC_LLONG_LOCK_FREE == 2
	if (((uintptr_t)p & 7u) == 0) {
		lo = le64_cpu(atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed));
		hi = le64_cpu(atomic_load_explicit((_Atomic uint64_t *)p + 1, memory_order_relaxed));
	} else
#endif
	{
		const volatile unsigned char *b = p;
		lo = hi = 0;
		for (unsigned i = 0; i < 8; i++) {
			lo |= (uint64_t)b[i] << (8 * i);
			hi |= (uint64_t)b[8 + i] << (8 * i);
		}
	}
	ring_loaded(p, RING_DESC_BYTES); /* one descriptor: one load of 16 bytes */
	return (struct ring_desc){
		.addr = lo,
		.len = (uint32_t)hi,
		.flags = (uint16_t)(hi >> 32),
		.next = (uint16_t)(hi >> 48),
	};
}

/* A packed descriptor as the device sees it after one read (virtio 2.8.13). */
struct packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

/*
 * Copies one descriptor of a packed ring (16-aligned: activation checked),
 * every byte once, flags first: with acquire for the descriptor that says
 * whether a chain is available (2.8.21, pairs with the driver's release of
 * the first descriptor's flags), relaxed for the rest of a chain.
 */
static inline struct packed_desc ring_read_packed_desc(void *p, bool acquire)
{
	struct packed_desc d;
	_Atomic uint16_t *flags = (_Atomic uint16_t *)ring_at(p, 14);
	d.flags = le16_cpu(atomic_load_explicit(flags, acquire ? memory_order_acquire
							      : memory_order_relaxed));
	d.addr = le64_cpu(atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed));
	d.len = le32_cpu(atomic_load_explicit((_Atomic uint32_t *)ring_at(p, 8),
					      memory_order_relaxed));
	d.id = le16_cpu(atomic_load_explicit((_Atomic uint16_t *)ring_at(p, 12),
					     memory_order_relaxed));
	ring_loaded(p, RING_DESC_BYTES); /* one descriptor: one load of 16 bytes */
	return d;
}

/* An indirect table entry of a packed ring: the same 16 bytes as a split
 * descriptor (2.8.19), read by ring_read_desc() (tables need no alignment). */
static inline struct packed_desc ring_read_packed_table_entry(void *p)
{
	struct ring_desc d = ring_read_desc(p);
	return (struct packed_desc){ .addr = d.addr, .len = d.len, .id = d.flags, .flags = d.next };
}

/* Writes one descriptor (driver side: the mock). */
static inline void ring_write_desc(void *p, struct ring_desc d)
{
	uint64_t hi = (uint64_t)d.len | (uint64_t)d.flags << 32 | (uint64_t)d.next << 48;
#if ATOMIC_LLONG_LOCK_FREE == 2
	if (((uintptr_t)p & 7u) == 0) {
		ring_store64(p, d.addr);
		ring_store64((unsigned char *)p + 8, hi);
	} else
#endif
	{
		volatile unsigned char *b = p;
		for (unsigned i = 0; i < 8; i++) {
			b[i] = (unsigned char)(d.addr >> (8 * i));
			b[8 + i] = (unsigned char)(hi >> (8 * i));
		}
	}
}

#endif /* VIRTQ_RING_ACCESS_H */

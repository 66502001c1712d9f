/* SPDX-License-Identifier: MIT */
/*
 * Independent acceptance predicates: for restore and state decoding, for
 * activation (ring geometry) and for the vsock parsers, whether an input must
 * be accepted and, if not, with which documented code.
 *
 * Each is written from the spec and the rules documented in include/virtq/
 * (state.h, queue.h, vsock.h, inflight.h), byte by byte, without calling any
 * library function and without sharing code with the reference model: the
 * targets compare the library's answer with the predicate's both ways, so a
 * library that accepts what it must refuse (or refuses what it must accept)
 * fails an oracle even where the model and the library share a mistake.
 */
#ifndef FUZZ_ACCEPT_H
#define FUZZ_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <virtq/state.h>

#define ACCEPT_MAX_REGIONS 16u

/* Guest memory as the VMM mapped it: where each region lives in the guest
 * and in the host, and what the device may not do there (mem.h: bit 0 no
 * writes, bit 1 no reads). Regions do not overlap. */
struct accept_region {
	uint64_t gpa, size;
	const unsigned char *host;
	uint32_t flags;
};

/* An IOMMU mapping as iommu.h defines it: IOVAs [iova, iova + size) are
 * guest-physical [gpa, gpa + size); perm bit 0 read, bit 1 write. */
struct accept_map {
	uint64_t iova, size, gpa;
	uint32_t perm;
};

#define ACCEPT_MAX_MAPS 16u

/* With `iommu` (ACCESS_PLATFORM and a translator), ring addresses are IOVAs,
 * translated by the first of maps[] that contains them (modulo 2^64: the
 * mock translator's rule, mock.h). */
struct accept_memory {
	uint32_t nregions;
	struct accept_region regions[ACCEPT_MAX_REGIONS];
	bool iommu;
	uint32_t nmaps;
	struct accept_map maps[ACCEPT_MAX_MAPS];
};

/* The regions of a memory map as the device sees them (the VMM's table:
 * addresses, sizes, host addresses, permissions), read field by field. */
struct virtq_mem;
void harness_accept_memory(const struct virtq_mem *map, struct accept_memory *mem);

/* The three rings of a split queue of `size` entries (virtio 1.x 2.7):
 * 0, -VIRTQ_EINVAL (guest or host address misaligned), -VIRTQ_EBADADDR (an
 * extent, event field included, not inside one region), -VIRTQ_EACCES (its
 * region does not let the device read it, or for the used ring also write
 * it), -VIRTQ_EOVERFLOW (an extent wraps past 2^64); desc first, then
 * avail, then used. */
int accept_rings(const struct accept_memory *mem, uint32_t size, uint64_t desc, uint64_t avail,
		 uint64_t used);

/* The same for the packed layout (virtio 2.8): descriptor ring, driver and
 * device event suppression structures. */
int accept_packed_rings(const struct accept_memory *mem, uint32_t size, uint64_t desc,
			uint64_t driver, uint64_t device);

/* The queue as virtq_activate() finds it (queue.h). */
struct accept_queue {
	bool initialized, active;
	uint64_t features;
	uint32_t max_size, size;
	uint32_t area_heads; /* heads the attached in-flight area holds (0: none) */
	uint64_t desc, avail, used;
};

/* The feature contract of queue.h: VERSION_1 (bit 32) required,
 * ACCESS_PLATFORM, RING_PACKED, IN_ORDER (33..35) refused, ACCESS_PLATFORM
 * accepted with a translator (iommu.h): 0 or -VIRTQ_ENOTSUP. RING_PACKED:
 * activation and restore accept it (the packed layout, fuzzed by
 * fuzz_packed.c; accept_restore() takes it out before asking), but the
 * scenario guest never negotiates it and virtq_resume() refuses it, so for
 * every call the scenarios make it is refused. */
int accept_features(uint64_t features, bool translator);

/* Expected virtq_activate(). */
int accept_activate(const struct accept_memory *mem, const struct accept_queue *q);

/* Heads an in-flight area of `bytes` holds, by inflight.h's layout
 * (a 16-byte header, then 16 bytes per head). */
uint32_t accept_area_heads(size_t bytes);

/* Expected virtq_state_check(s) (state.h). */
int accept_state_check(const struct virtq_state *s);

/* Expected virtq_state_decode() of exactly these bytes (state.h's table);
 * on 0, *s is the state they encode (heads up to the counts). */
int accept_state_decode(const uint8_t *bytes, size_t len, struct virtq_state *s);

/* Expected virtq_restore(q, q's own memory, s) onto a queue like *q (its
 * active flag and rings do not matter: restore starts from reset). used.idx
 * is read from guest memory at s->used_gpa + 2. */
int accept_restore(const struct accept_memory *mem, const struct accept_queue *q,
		   const struct virtq_state *s);

/* Expected virtq_vsock_parse_tx() of a chain whose readable part is
 * readable[0 .. read_len) (the first min(read_len, 44) bytes are enough),
 * with `writable` segments, for max_pkt; *len is the header's len field
 * when 44 bytes were there. */
int accept_vsock_tx(const unsigned char *readable, uint64_t read_len, uint32_t nwritable,
		    uint32_t max_pkt, uint32_t *len);

/* Expected virtq_vsock_parse_rx(): 0 or the code; *room the data room. */
int accept_vsock_rx(uint32_t nreadable, uint64_t write_len, uint32_t max_pkt, uint64_t *room);

/* A little-endian field of `bytes` bytes at p, however aligned. */
static inline uint64_t accept_le(const unsigned char *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

#endif /* FUZZ_ACCEPT_H */

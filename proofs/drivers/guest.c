/* SPDX-License-Identifier: MIT */
#include "guest.h"

volatile unsigned char guest_desc_ram[GUEST_DESC_BYTES] __attribute__((aligned(16)));
volatile unsigned char guest_avail_ram[GUEST_AVAIL_BYTES] __attribute__((aligned(16)));
volatile unsigned char guest_used_ram[GUEST_USED_BYTES] __attribute__((aligned(16)));
volatile unsigned char guest_data_ram[GUEST_DATA_BYTES] __attribute__((aligned(16)));
unsigned char guest_inflight_area[VIRTQ_INFLIGHT_BYTES(VIRTQ_MAX_SIZE)] __attribute__((aligned(VIRTQ_INFLIGHT_ALIGN)));
unsigned char guest_journal_area[VIRTQ_JOURNAL_BYTES(VIRTQ_MAX_SIZE)] __attribute__((aligned(VIRTQ_INFLIGHT_ALIGN)));

uint64_t any_u64(void) { return Frama_C_unsigned_long_long_interval(0, UINT64_MAX); }
uint32_t any_u32(void) { return Frama_C_unsigned_int_interval(0, UINT32_MAX); }
uint16_t any_u16(void) { return (uint16_t)Frama_C_unsigned_int_interval(0, UINT16_MAX); }

/* Host arrays are volatile; the library's pointers to them are not (a VMM's
 * mapping of guest RAM is plain memory to the compiler). */
static int add(struct virtq_mem *mem, uint64_t gpa, volatile unsigned char *host, uint64_t size)
{
	return virtq_mem_add_region(mem, gpa, size, (void *)(uintptr_t)host);
}

int guest_map(struct virtq_mem *mem, struct virtq_mem_region *slots)
{
	const uint64_t used_gpa = GUEST_BASE + GUEST_DESC_BYTES;
	const uint64_t avail_gpa = used_gpa + GUEST_USED_BYTES;
	const uint64_t data_gpa = avail_gpa + GUEST_AVAIL_BYTES + GUEST_HOLE;
	if (virtq_mem_init(mem, slots, GUEST_NREGIONS) ||
	    add(mem, GUEST_BASE, guest_desc_ram, GUEST_DESC_BYTES) ||
	    add(mem, used_gpa, guest_used_ram, GUEST_USED_BYTES) ||
	    add(mem, avail_gpa, guest_avail_ram, GUEST_AVAIL_BYTES) ||
	    add(mem, data_gpa, guest_data_ram, GUEST_DATA_BYTES))
		return -1;
	return 0;
}

/*
 * The feature bits the library reads (grep VIRTQ_F_ src/): each is set or
 * not (INDIRECT_DESC only if GUEST_INDIRECT), RING_PACKED as the layout
 * says, and the other bits are all clear or all set. (Any u64 with some
 * bits forced is not an interval: Eva would lose them.)
 */
static uint64_t any_features(bool packed)
{
	static const unsigned read_bits[] = {
		VIRTQ_F_EVENT_IDX, VIRTQ_F_VERSION_1, VIRTQ_F_ACCESS_PLATFORM,
		VIRTQ_F_IN_ORDER, VIRTQ_F_INDIRECT_DESC,
	};
	const unsigned n = sizeof(read_bits) / sizeof(read_bits[0]) - (GUEST_INDIRECT ? 0 : 1);
	const uint64_t packed_bit = VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	uint64_t read_mask = packed_bit, f;
	for (unsigned i = 0; i < sizeof(read_bits) / sizeof(read_bits[0]); i++)
		read_mask |= VIRTQ_FEATURE(read_bits[i]);
	f = Frama_C_nondet(0, 1) ? 0 : ~read_mask;
	if (packed)
		f |= packed_bit;
	//@ loop unroll 5;
	for (unsigned i = 0; i < n; i++)
		if (Frama_C_nondet(0, 1))
			f |= VIRTQ_FEATURE(read_bits[i]);
	return f;
}

/* Where a packed ring's event structures go: the split rings' regions end
 * 2 mod 4, so both go flush against the end of the data region (4-aligned
 * in guest and host), the device's last, so that a write past it is an
 * alarm; the guest's buffers may overlap them, as a guest may arrange. */
static struct virtq_ring_addrs packed_addrs(uint32_t size)
{
	const uint64_t desc_end = GUEST_BASE + GUEST_DESC_BYTES;
	const uint64_t data_end = desc_end + GUEST_USED_BYTES + GUEST_AVAIL_BYTES + GUEST_HOLE +
				  GUEST_DATA_BYTES;
	return (struct virtq_ring_addrs){
		.desc_area = desc_end - VIRTQ_PACKED_RING_BYTES(size),
		.driver_area = data_end - 2u * VIRTQ_PACKED_EVENT_BYTES,
		.device_area = data_end - VIRTQ_PACKED_EVENT_BYTES,
	};
}

static struct virtq_ring_addrs split_addrs(uint32_t size)
{
	const uint64_t desc_end = GUEST_BASE + GUEST_DESC_BYTES;
	const uint64_t used_end = desc_end + GUEST_USED_BYTES;
	const uint64_t avail_end = used_end + GUEST_AVAIL_BYTES;
	/* flush and still aligned: each region starts aligned and its size is
	 * the ring's at 32768, so end - ring bytes differs by multiples of 16,
	 * 8 and 2 from the region's start */
	return (struct virtq_ring_addrs){
		.desc_area = desc_end - VIRTQ_DESC_TABLE_BYTES(size),
		.driver_area = avail_end - VIRTQ_AVAIL_RING_BYTES(size),
		.device_area = used_end - VIRTQ_USED_RING_BYTES(size),
	};
}

int guest_configure(struct virtq *q, const struct virtq_mem *mem, uint32_t size, bool packed)
{
	const struct virtq_ring_addrs addrs = packed ? packed_addrs(size) : split_addrs(size);
	if (virtq_init(q, mem, VIRTQ_MAX_SIZE) ||
	    virtq_set_inflight(q, guest_inflight_area, sizeof(guest_inflight_area)) ||
	    (packed && virtq_set_journal(q, guest_journal_area, sizeof(guest_journal_area))) ||
	    virtq_set_size(q, size) || virtq_set_addrs(q, &addrs) ||
	    virtq_set_features(q, any_features(packed)))
		return -1;
	return 0;
}

int guest_queue(struct virtq *q, const struct virtq_mem *mem, uint32_t size)
{
	return guest_configure(q, mem, size, false) ? -1 : virtq_activate(q);
}

int guest_queue_packed(struct virtq *q, const struct virtq_mem *mem, uint32_t size)
{
	return guest_configure(q, mem, size, true) ? -1 : virtq_activate(q);
}

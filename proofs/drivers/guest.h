/* SPDX-License-Identifier: MIT */
/*
 * What every analysis driver shares: the guest's memory, a memory map built
 * through the API, and a queue configured and activated through the API.
 *
 * Guest memory is volatile: Eva takes every read of it as any value of its
 * type, a fresh one each time (a guest writing between any two reads).
 * Everything the device owns (the queue struct, the in-flight area, the
 * caller's arrays) is ordinary memory.
 */
#ifndef VIRTQ_PROOFS_GUEST_H
#define VIRTQ_PROOFS_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "__fc_builtin.h"
#include "virtq/virtq.h"

/*
 * The map: four regions, each backed by its own host array of exactly its
 * size, so one byte past a region is an alarm. Regions 0..2 are adjacent in
 * guest-physical space (a buffer may cross them: splitting), region 3 is
 * after a hole. The rings lie flush against the end of regions 0, 1 and 2,
 * so a read one entry past a ring is an alarm too.
 */
#define GUEST_NREGIONS 4u
#define GUEST_BASE 0x10000u
#define GUEST_DESC_BYTES VIRTQ_DESC_TABLE_BYTES(VIRTQ_MAX_SIZE)
#define GUEST_AVAIL_BYTES VIRTQ_AVAIL_RING_BYTES(VIRTQ_MAX_SIZE)
#define GUEST_USED_BYTES VIRTQ_USED_RING_BYTES(VIRTQ_MAX_SIZE)
#define GUEST_DATA_BYTES 4096u
#define GUEST_HOLE 0x1000u

extern volatile unsigned char guest_desc_ram[GUEST_DESC_BYTES];
extern volatile unsigned char guest_avail_ram[GUEST_AVAIL_BYTES];
extern volatile unsigned char guest_used_ram[GUEST_USED_BYTES];
extern volatile unsigned char guest_data_ram[GUEST_DATA_BYTES];

/* Builds the map into mem/slots (GUEST_NREGIONS entries); 0 on success. */
int guest_map(struct virtq_mem *mem, struct virtq_mem_region *slots);

/* An arbitrary u64/u32/u16 (a value the VMM or guest may pass). */
uint64_t any_u64(void);
uint32_t any_u32(void);
uint16_t any_u16(void);

/*
 * Configures q for a queue of `size` (max size 32768) through the API, with
 * any features (indirect descriptors only if GUEST_INDIRECT is 1; see
 * any_features() in guest.c), an
 * in-flight area for 32768, and rings flush against their regions' ends;
 * returns virtq_activate()'s result.
 */
int guest_queue(struct virtq *q, const struct virtq_mem *mem, uint32_t size);
/* Everything guest_queue() does but the activation, in either layout: a
 * queue configured for virtq_resume()/virtq_resume_packed(); 0 on success. */
int guest_configure(struct virtq *q, const struct virtq_mem *mem, uint32_t size, bool packed);
/* The same in the packed layout (RING_PACKED negotiated): the descriptor
 * ring and the two 4-byte event structures flush against the same ends. */
int guest_queue_packed(struct virtq *q, const struct virtq_mem *mem, uint32_t size);

#ifndef GUEST_INDIRECT
#define GUEST_INDIRECT 1
#endif

/* datapath.c: any sequence of datapath calls on the active queue q, then
 * its reset; the batch calls (pop_many, add_used_many, complete_many) only
 * if `batches`. */
void guest_datapath(struct virtq *q, bool batches);

/* The in-flight area, for drivers that resume from an arbitrary one. */
extern unsigned char guest_inflight_area[VIRTQ_INFLIGHT_BYTES(VIRTQ_MAX_SIZE)];
/* A packed queue's descriptor journal (inflight.h), attached by guest_configure(). */
extern unsigned char guest_journal_area[VIRTQ_JOURNAL_BYTES(VIRTQ_MAX_SIZE)];

#endif

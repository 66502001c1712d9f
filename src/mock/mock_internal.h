/* SPDX-License-Identifier: MIT */
/* Shared between the mock's memory and ring halves. */
#ifndef VIRTQ_MOCK_INTERNAL_H
#define VIRTQ_MOCK_INTERNAL_H

#include "virtq/mock.h"

/* Queue size the driver side works with: the configured one, clamped so the
 * mock's own arrays stay valid even for sizes activation will reject. */
static inline uint32_t mock_size(const struct virtq_mock *m)
{
	uint32_t s = m->cfg.queue_size;
	return s == 0 ? 1 : s > VIRTQ_MAX_SIZE ? VIRTQ_MAX_SIZE : s;
}

static inline uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

int virtq_mock_memory_init(struct virtq_mock *m);
/* The driver (the mock itself) wrote these bytes: not the device's doing,
 * so they are copied into the snapshot the write checker compares against. */
void virtq_mock_note_driver_write(struct virtq_mock *m, uint64_t gpa, uint64_t len);
void virtq_mock_memory_destroy(struct virtq_mock *m);
void virtq_mock_memory_wipe(struct virtq_mock *m);
int virtq_mock_ring_init(struct virtq_mock *m);
/* Zeroed device memory (the in-flight area, the journal): shared with a
 * fork()ed device process when the config says so. */
void *virtq_mock_device_alloc(struct virtq_mock *m, size_t bytes);
void virtq_mock_device_free(struct virtq_mock *m, void *p, size_t bytes);
void virtq_mock_ring_destroy(struct virtq_mock *m);

/* Packed ids (mock_ring.c): a free head of the split free list, recorded
 * as holding `slots` ring slots (chain_ndesc), and back. */
uint16_t virtq_mock_take_id(struct virtq_mock *m, uint32_t slots);
void virtq_mock_put_id(struct virtq_mock *m, uint16_t id);

/* The packed half (mock_packed.c), dispatched to by mock_ring.c. */
void virtq_mock_packed_reset(struct virtq_mock *m);
int virtq_mock_packed_add_chain(struct virtq_mock *m, const struct virtq_mock_buf *bufs,
				uint32_t n, unsigned flags);
int virtq_mock_packed_get_used(struct virtq_mock *m, uint32_t *id, uint32_t *len);
bool virtq_mock_packed_should_kick(struct virtq_mock *m);
int virtq_mock_packed_disable_interrupts(struct virtq_mock *m);
int virtq_mock_packed_enable_interrupts(struct virtq_mock *m);

#endif /* VIRTQ_MOCK_INTERNAL_H */

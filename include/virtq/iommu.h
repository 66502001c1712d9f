/* SPDX-License-Identifier: MIT */
/*
 * IOMMU translation for VIRTIO_F_ACCESS_PLATFORM (a vIOMMU, or a vhost-user
 * front-end's IOTLB): ring and descriptor addresses are then I/O virtual
 * addresses (IOVAs), which the VMM translates to guest-physical ones.
 *
 * The VMM gives a queue a translation callback (virtq_set_iommu). virtq
 * calls it for every IOVA it uses: each buffer and indirect table at every
 * pop (translations are never cached, so an invalidation between two pops
 * takes effect at the next pop), and the three rings at activation. The
 * callback answers with one mapping that contains the IOVA asked for, or a
 * miss. A miss is -VIRTQ_EAGAIN from pop (not fatal: nothing consumed, the
 * chain stays available): the VMM resolves it (vhost-user: the back-end
 * sends IOTLB_MISS, the front-end answers with an IOTLB update) and pops
 * again. The callback sees every miss, so it knows what to ask for.
 *
 * Ring translations are kept from activation on. After an invalidation the
 * VMM calls virtq_iommu_invalidate() with the invalidated range: if it
 * meets a ring, the next datapath call on the queue re-translates the rings
 * and returns -VIRTQ_EAGAIN without doing anything else (call again; while a
 * ring misses, every call says -VIRTQ_EAGAIN). A bad translation of a ring
 * then breaks the queue (fatal, like at activation).
 *
 * Translator output is not trusted: a mapping that does not contain the
 * IOVA, is empty, or whose IOVA or guest range wraps is -VIRTQ_EBADADDR
 * (-VIRTQ_EOVERFLOW for a wrap); one without the access needed (read for
 * readable buffers, tables and the desc and avail rings, write for writable
 * buffers, both for the used ring) is -VIRTQ_EACCES; the guest range must be
 * guest memory with the right region permissions like any other (mem.h).
 * In pop these are fatal like the same codes without an IOMMU. A ring or an
 * indirect table must lie in one mapping (and one region).
 *
 * Without ACCESS_PLATFORM negotiated the callback is never called and
 * nothing costs more; ACCESS_PLATFORM without a callback is refused at
 * activation (-VIRTQ_ENOTSUP, queue.h).
 */
#ifndef VIRTQ_IOMMU_H
#define VIRTQ_IOMMU_H

#include <stdint.h>

#include "virtq/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Access bits of a mapping and of a request (vhost's VHOST_ACCESS_RO/WO/RW). */
#define VIRTQ_IOMMU_READ 1u
#define VIRTQ_IOMMU_WRITE 2u

/* IOVAs [iova, iova + size) map to guest-physical [gpa, gpa + size). */
struct virtq_iommu_map {
	uint64_t iova;
	uint64_t size;
	uint64_t gpa;
	uint32_t perm; /* VIRTQ_IOMMU_READ | VIRTQ_IOMMU_WRITE */
};

/*
 * Finds the mapping containing iova, for len bytes from it (a hint: the
 * mapping may be shorter, virtq asks again for the rest) and the access
 * wanted (VIRTQ_IOMMU_*). Returns 0 with *out filled, or -VIRTQ_EAGAIN for a
 * miss. Called on the thread running the queue.
 */
typedef int (*virtq_iommu_translate_fn)(void *opaque, uint64_t iova, uint64_t len,
					uint32_t access, struct virtq_iommu_map *out);

struct virtq_iommu {
	virtq_iommu_translate_fn translate;
	void *opaque;
};

struct virtq;

/*
 * Gives q a translator (NULL removes it), kept by pointer; before
 * activation only (-VIRTQ_EINVAL while active). It is used when
 * ACCESS_PLATFORM is negotiated.
 */
VIRTQ_API int virtq_set_iommu(struct virtq *q, const struct virtq_iommu *iommu);

/*
 * Tells q that the IOVAs [iova, iova + size) were invalidated. Buffers need
 * nothing (they are translated at each pop); if the range meets one of the
 * rings, the next call on q re-translates them. -VIRTQ_EINVAL for NULL.
 */
VIRTQ_API int virtq_iommu_invalidate(struct virtq *q, uint64_t iova, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_IOMMU_H */

/* SPDX-License-Identifier: MIT */
/*
 * In-flight tracking: which chains the device holds, in caller-owned storage,
 * and resuming a queue after the back-end process restarted.
 *
 * Every queue records each chain it pops, per head, in an area the caller
 * attaches with virtq_set_inflight() before activation. That area is the one
 * source of truth for "in flight": virtq_add_used() completes only a chain
 * that is in flight (anything else is -VIRTQ_EINVAL and writes nothing, so a
 * double completion cannot corrupt the guest's view), virtq_unpop() takes back
 * only the most recently popped chain while it is still in flight, and
 * virtq_in_flight_list() gives the chains in the order they were popped.
 *
 * The area has exactly the layout of vhost-user's inflight region for a split
 * queue (QEMU docs/interop/vhost-user.rst, "Inflight I/O tracking"), in host
 * byte order:
 *
 *   offset        size field
 *        0           8 features         0
 *        8           2 version          1 once virtq used it; 0: never used
 *       10           2 desc_num         the queue size
 *       12           2 last_batch_head  head of the list of the last used batch
 *       14           2 used_idx         used.idx once the batch is settled
 *       16 + 16 * i 16 desc[i], for each head i < size:
 *                      +0 u8  inflight  1 while head i is popped and not used
 *                      +1 u8  (padding) 1: used entry written, not published
 *                                       (virtq's own mark, ignored by others)
 *                      +2 u8[4] (padding; a packed queue's own: +2 u16 the
 *                               chain's ring slots, +4 u16 its journal head)
 *                      +6 u16 next      the batch list; while in flight, the
 *                                       head popped before this one
 *                      +8 u64 counter   pop order
 *
 * So the same memory serves local bookkeeping and reconnect: a vhost-user
 * back-end maps the memfd of VHOST_USER_SET_INFLIGHT_FD and attaches one
 * area per queue; after a crash the next back-end process attaches the same
 * area and calls virtq_resume(), which finishes what the crashed one left
 * half done and resubmits exactly the chains that were in flight, in order.
 *
 * Updates follow the documented order, so a process killed between any two
 * stores leaves an area that virtq_resume() recovers without completing
 * anything twice: pop sets counter, then inflight; add_used writes the used
 * element, links the head into the batch list and sets its mark; publish
 * writes used.idx, then clears each head's inflight flag and then its mark,
 * then writes used_idx; the version is written last when an area starts.
 * A crash after used.idx but before used_idx is seen at resume as used.idx !=
 * used_idx: the batch list says which heads that used.idx completed.
 *
 * Cost: pop stores a head's stamp, undo link and flag; add_used its batch
 * link, mark and the batch head; publish clears two bytes per entry. Only
 * activation, resume, save and listing walk the area.
 *
 * The area is not trusted after a crash (it is writable by the front-end, and
 * a dying back-end may have scribbled): virtq_resume() validates all of it
 * before changing anything, and returns -VIRTQ_EBADSTATE for a corrupt area.
 * A packed queue keeps the same per-id area, and resumes with
 * virtq_resume_packed(); with chains in flight that needs its descriptor
 * journal too (virtq_set_journal(), below).
 */
#ifndef VIRTQ_INFLIGHT_H
#define VIRTQ_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "virtq/chain.h"
#include "virtq/common.h"
#include "virtq/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of in-flight area a queue of `size` needs (vhost-user's split
 * QueueRegionSplit: a 16-byte header and 16 bytes per head). */
#define VIRTQ_INFLIGHT_BYTES(size) (16u + 16u * (size_t)(size))
/* Alignment the area needs (its u64 fields). */
#define VIRTQ_INFLIGHT_ALIGN 8u

/*
 * The descriptor journal of a packed queue: vhost-user's packed inflight
 * region (QueueRegionPacked, one DescStatePacked per ring slot; QEMU
 * docs/interop/vhost-user.rst, "Inflight I/O tracking"), in host byte order:
 *
 *   offset        size field
 *        0           8 features              0
 *        8           2 version               1 once virtq used it; 0: never used
 *       10           2 desc_num              the queue size
 *       12           2 free_head             first free entry; >= desc_num: none
 *       14           2 old_free_head         free_head as last committed
 *       16           2 used_idx              next used ring position
 *       18           2 old_used_idx          used_idx as last committed
 *       20           1 used_wrap_counter     the device's wrap counter there
 *       21           1 old_used_wrap_counter as last committed
 *       32 + 32 * i 32 desc[i], for each entry i < size:
 *                      +0 u8  inflight  1: the head of a chain the device holds
 *                      +2 u16 next      the free list, or the chain's next entry
 *                      +4 u16 last      (head) the chain's last entry
 *                      +6 u16 num       (head) the chain's ring descriptors
 *                      +8 u64 counter   (head) pop order
 *                      +16 u16 id, +18 u16 flags, +20 u32 len, +24 u64 addr:
 *                                       a copy of one ring descriptor
 *
 * Why a packed queue needs it: its chains' ring slots are where the device
 * writes used descriptors, for any chain, in completion order, so the
 * descriptors of a chain still in flight may be overwritten, and the
 * driver reuses a slot once it is used. Pop copies each ring descriptor of
 * a chain into entries taken from the free list (the copies it validated:
 * nothing is read twice), then records the head and commits old_free_head;
 * publish returns the batch's entries to the free list and records the used
 * position before the batch's first flags make it visible, then clears the
 * heads and commits the old_ fields. After a crash, virtq_resume_packed()
 * finds the batch visible or not from the ring (the descriptor at
 * old_used_idx no longer available in the lap of old_used_wrap_counter:
 * commit; else roll back), then holds exactly the chains whose heads are
 * flagged outside the free list, and virtq_resubmit() walks their copies.
 * The used position comes from the journal, the avail position is that
 * plus the ring descriptors held: the front-end's vring base is not needed,
 * which matters because QEMU cannot read a packed base from a dead back-end
 * and sends a stale one.
 *
 * The per-id in-flight area (virtq_set_inflight()) stays the datapath's
 * index by buffer id (+4 of desc[id] there: the id's journal head); with a
 * journal it is derived data, rebuilt from the journal by every resume.
 * Cost: 16 bytes copied per ring descriptor popped, four stores per chain
 * at pop and at publish. Split queues ignore the journal.
 */
#define VIRTQ_JOURNAL_BYTES(size) (32u + 32u * (size_t)(size))

/*
 * Attaches a caller-owned journal of `bytes` bytes (8-aligned, at least
 * VIRTQ_JOURNAL_BYTES(1)) for a packed queue; NULL detaches it. Only while
 * the queue is inactive (-VIRTQ_EINVAL otherwise, also for misalignment or
 * too few bytes). Kept by virtq_reset(), detached by virtq_init(); activation
 * and restore start it afresh, virtq_resume_packed() carries on from it.
 * Activation of a packed queue larger than the journal is -VIRTQ_EINVAL.
 */
VIRTQ_API int virtq_set_journal(struct virtq *q, void *area, size_t bytes);

/*
 * Attaches a caller-owned in-flight area of `bytes` bytes (8-aligned, at least
 * VIRTQ_INFLIGHT_BYTES(1)). Only while the queue is inactive (-VIRTQ_EINVAL
 * otherwise, also for NULL, misalignment or too few bytes). The area must
 * outlive the queue; virtq_reset() keeps it attached (it is the device's, not
 * the driver's), virtq_init() detaches it. Nothing is written here:
 * virtq_activate() and virtq_restore() start it afresh, virtq_resume() carries
 * on from what it holds. Activation refuses a queue larger than its area.
 */
VIRTQ_API int virtq_set_inflight(struct virtq *q, void *area, size_t bytes);

/*
 * Starts the queue like virtq_activate() (same configuration checks, same
 * codes), but where an earlier instance of the back-end left it, as recorded
 * in the attached area and in the used ring. next_avail is the front-end's
 * idea of the next avail index (vhost-user SET_VRING_BASE). Then:
 *
 *   area never used (version 0): nothing is in flight; next_avail must be
 *     used.idx. The area is started afresh.
 *   otherwise the area must be consistent (-VIRTQ_EBADSTATE if not, nothing
 *     changed): version 1, features 0, desc_num == size; every entry's flag
 *     and mark 0 or 1, next < size, stamp < 2^62; if used.idx != used_idx
 *     (killed while publishing), used.idx - used_idx <= size and the batch
 *     list holds that many distinct heads, each marked, cleared, or half
 *     cleared (mark without flag: killed between the two stores), and no
 *     half-cleared head outside it. Those heads were published: they are
 *     cleared; every other recorded head (marked ones too: their used
 *     entries never became visible) is in flight again.
 *
 * With n chains in flight afterwards the queue resumes at avail index
 * used.idx + n, the index the earlier instance had reached (each chain it
 * popped is either published or in flight). next_avail must be that index,
 * or used.idx: a front-end that lost the back-end cannot ask for its last
 * index and rewinds to used.idx, as QEMU does; the area knows better.
 * Anything else is -VIRTQ_EBADSTATE.
 *
 * Afterwards the device resubmits the in-flight chains: virtq_in_flight_list()
 * gives their heads in pop order, virtq_resubmit() each one's segments.
 * Returns 0 or a negative code; on error the queue is inactive and the area
 * unchanged. A packed queue is -VIRTQ_ENOTSUP: see virtq_resume_packed().
 */
VIRTQ_API int virtq_resume(struct virtq *q, uint16_t next_avail);

/* vhost-user's SET_VRING_BASE / GET_VRING_BASE value for a packed ring:
 * bits 0-14 the next avail ring position, bit 15 the driver's wrap counter,
 * bits 16-30 the next used ring position, bit 31 the device's wrap counter.
 * A queue never started is at VIRTQ_PACKED_BASE_FRESH (positions 0, both
 * wrap counters 1, virtio 2.8.1). */
#define VIRTQ_PACKED_BASE_FRESH 0x80008000u
#define VIRTQ_PACKED_BASE(avail_pos_wrap, used_pos_wrap)                                          \
	((uint32_t)(uint16_t)(avail_pos_wrap) | (uint32_t)(uint16_t)(used_pos_wrap) << 16)

/*
 * virtq_resume() for a packed queue (VIRTQ_F_RING_PACKED negotiated; a split
 * queue is -VIRTQ_EINVAL: use virtq_resume()). Same configuration checks and
 * codes as virtq_activate(). vring_base is vhost-user's 32-bit base above
 * (SET_VRING_BASE); each of its positions must be < the queue size
 * (-VIRTQ_EBADSTATE), checked first.
 *
 * With a descriptor journal that was used (version != 0), the journal
 * decides and the base is not used further: a front-end that lost the
 * back-end cannot read a packed ring's position back and sends a stale one
 * (QEMU does). The journal must be consistent, else -VIRTQ_EBADSTATE and
 * nothing changed in it (the per-id area, which the journal rebuilds, may
 * be): version 1, features 0, desc_num == size; free_head and old_free_head
 * <= size, used positions < size, wrap counters 0 or 1; after keeping or
 * rolling back the last batch (see the journal's layout above), a free
 * list that ends within size entries, none twice; every flagged entry
 * outside it heads a chain of num (1..size) entries through next ending at
 * last, none flagged or on another list, the copies with NEXT on all but
 * the last and an indirect one alone; each chain's buffer id (its last
 * copy's) < size and no two alike; stamps < 2^62; every entry free or on
 * one chain. The queue then holds those chains (virtq_in_flight_list()
 * in pop order, virtq_resubmit() from their copies; they cannot be
 * unpopped), at the journal's used position, the avail position that plus
 * the ring descriptors held; used descriptors the dead instance wrote in
 * those slots that never became visible are marked not used again.
 *
 * Without a journal, or with one never used, the in-flight area decides:
 * an area that was used must be version 1, features 0, desc_num == size,
 * every flag and mark 0 or 1 (-VIRTQ_EBADSTATE); nothing may be held and
 * the avail position and wrap counter must equal the used ones
 * (-VIRTQ_ENOTSUP: the chains' descriptors are recorded nowhere, the
 * caller must reset the device), and the queue resumes at the base, which
 * nothing can confirm (the driver may already have reused every
 * descriptor the device wrote). For the base of a running queue,
 * VIRTQ_PACKED_BASE(virtq_next_avail(q), virtq_next_used(q))
 * (GET_VRING_BASE; publish first: virtq_next_used() counts chains
 * completed and not yet published).
 *
 * On success the queue is active, its event suppression structure written
 * as virtq_activate() does, and a journal never used (if any) started
 * afresh. On error the queue is inactive, guest memory unchanged.
 */
VIRTQ_API int virtq_resume_packed(struct virtq *q, uint32_t vring_base);

/*
 * Writes the heads of the chains in flight (popped, not yet passed to
 * virtq_add_used()) to heads[], oldest pop first. Returns their number, or
 * -VIRTQ_ENOSPC if more than cap (nothing meaningful written), or the usual
 * -VIRTQ_EINVAL, -VIRTQ_ENOTREADY, -VIRTQ_EBROKEN. Walks the whole area:
 * for resume and diagnostics, not for the datapath.
 */
VIRTQ_API int virtq_in_flight_list(const struct virtq *q, uint16_t *heads, uint32_t cap);

/*
 * Fills c with the chain of `head`, which must be in flight (-VIRTQ_EINVAL
 * otherwise): after virtq_resume(), or a restore with chains in flight, the
 * device gets back the chains it must redo. The chain is walked and checked
 * exactly like virtq_pop() does it, with the same codes (fatal ones break
 * the queue; -VIRTQ_ENOSPC leaves it in flight); indices and tracking are
 * not touched. Returns 1 with the chain. A packed queue walks the chain's
 * ring descriptors from the journal's copies (its ring slots may hold used
 * descriptors by now; an indirect table is read again from guest memory);
 * without a journal it is -VIRTQ_ENOTSUP.
 */
VIRTQ_API int virtq_resubmit(struct virtq *q, uint16_t head, struct virtq_chain *c);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_INFLIGHT_H */

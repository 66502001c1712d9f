/* SPDX-License-Identifier: MIT */
/*
 * Queue state for snapshot and live migration: save, restore, and a
 * versioned byte encoding.
 *
 * Restoring is an attack surface: the saved indices come from a file or a
 * migration stream, and the rings they point into come from the guest (QEMU
 * CVE-2013-4151 and CVE-2013-6399 trusted such indices). virtq_restore()
 * therefore validates like virtq_activate() and more, and a rejected restore
 * leaves the queue reset, never half-restored.
 *
 * Encoding, version 1: 64 bytes, little-endian, fixed layout.
 *
 *   offset size field
 *        0    4 magic "VQST" (0x56 0x51 0x53 0x54)
 *        4    2 version (1, 2 or 3)
 *        6    2 length of the fixed part in bytes: 64 for version 1 (the
 *               whole encoding), 68 for version 2, 76 for version 3
 *        8    4 flags: bit 0 active, bit 1 broken, bit 2 signalled_valid,
 *               bit 3 notify_enabled; bits 4..31 reserved, must be 0
 *       12    4 max_size
 *       16    4 size
 *       20    4 in_flight
 *       24    8 features
 *       32    8 desc_gpa
 *       40    8 avail_gpa
 *       48    8 used_gpa
 *       56    2 next_avail
 *       58    2 next_used
 *       60    2 published_used
 *       62    2 signalled_used
 *
 * Version 2, for a queue with chains in flight or completed chains whose
 * used entries are not published yet: the 64 bytes above, then
 *
 *       64    4 unpop_depth
 *       68  2*n heads[0 .. n), n = in_flight + (next_used - published_used
 *               mod 2^16): every chain the queue holds, oldest pop first;
 *               bit 15 set (VIRTQ_STATE_HEAD_USED): completed, its used
 *               entry not yet published; bits 0..14 the head
 *
 * The encoder writes version 1 whenever it can (nothing in flight, nothing
 * unpublished), so the encoding of a state is unique and a version-1 reader
 * reads every drained queue.
 *
 * Why the in-flight chains travel with the state (rather than virtq_save()
 * refusing until the device drained its queue): the queue's whole bookkeeping
 * is per head now, and the heads are what a destination needs to go on --
 * complete chains the source device had started (the device carries its own
 * request state, as QEMU's virtio-blk does), resubmit them
 * (virtq_in_flight_list, virtq_resubmit), or refuse them with add_used
 * length 0 -- exactly what a vhost-user back-end does after a reconnect. A
 * drain rule would make every save point a place where the device must stop
 * and wait for its slowest request, and a queue broken by the guest could
 * never be saved at all (nothing can be completed on it). The cost is small:
 * 2 bytes per chain held, at most the queue size.
 *
 * Version 1 from before the chains were tracked per head said only how many
 * were in flight, not which: such an encoding with chains in flight or
 * unpublished entries is refused (-VIRTQ_EBADSTATE) -- resuming it would
 * lose them, the bug that made heads part of the state. Version 1 of any
 * drained queue decodes as before.
 *
 * Version 3, for an active packed queue (RING_PACKED, virtio 2.8): version
 * 2's fixed part, every field at its offset (unpop_depth 0: nothing is held),
 * then the ring positions, which a packed queue needs besides the chain
 * counters (next_avail, next_used and published_used count chains there):
 *
 *       68    2 avail: bits 0..14 avail_pos, bit 15 avail_wrap
 *       70    2 used: bits 0..14 used_pos, bit 15 used_wrap
 *       72    4 signal_slots
 *       76  2*n heads, n as in version 2 -- and n is 0 in every version-3
 *               encoding that decodes: see below
 *
 * The length of the fixed part is 76; heads, if any, follow it, as they
 * follow version 2's. The off_wrap form (position, wrap counter in bit 15)
 * is the one of the event suppression structures and of vhost-user's
 * GET_VRING_BASE for packed rings (virtq_next_avail()).
 *
 * A packed queue is saved only when it holds nothing: no chain in flight,
 * no completion unpublished (what a VMM has after draining for migration);
 * virtq_save() of a packed queue holding chains is -VIRTQ_ENOTSUP. The heads
 * alone would not do: a chain's descriptors sit in the ring slots from
 * avail_pos back, and out-of-order completions overwrite the ring slots of
 * chains still in flight with used descriptors, so a destination could not
 * re-walk them from guest memory (virtq_resubmit); it needs copies of their
 * descriptors, which the descriptor journal keeps for a back-end restart
 * (inflight.h), but no state encoding carries yet.
 * Hence a packed queue broken by the guest with chains in flight cannot be
 * saved either.
 *
 * The encoder writes the oldest version that can express the state: 1 for a
 * drained queue, 2 for a split queue holding chains, 3 for an active packed
 * queue only (an inactive packed queue is at reset values, which version 1
 * says), so the encoding of a state stays unique and a state of a split queue
 * encodes as it did before version 3 existed.
 *
 * Versions: a decoder refuses a version newer than it knows (-VIRTQ_EVERSION).
 * A version 4 would keep every version-3 field at its offset, append its new
 * fields after the fixed part, raise version and the fixed-part length.
 */
#ifndef VIRTQ_STATE_H
#define VIRTQ_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/common.h"
#include "virtq/mem.h"
#include "virtq/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTQ_STATE_MAGIC "VQST"
#define VIRTQ_STATE_VERSION 3u
#define VIRTQ_STATE_V1_SIZE 64u
#define VIRTQ_STATE_V2_FIXED_SIZE 68u
#define VIRTQ_STATE_V3_FIXED_SIZE 76u
/* The longest encoding: version 2 with every head of the largest queue
 * (version 3, 76 bytes, holds no heads). */
#define VIRTQ_STATE_MAX_BYTES (VIRTQ_STATE_V2_FIXED_SIZE + 2u * VIRTQ_MAX_SIZE)
/* In virtq_state.heads[]: the chain was completed, its used entry is not yet
 * published (heads are < 32768, so bit 15 is free). */
#define VIRTQ_STATE_HEAD_USED 0x8000u

/* Everything needed to resume a queue exactly (about 64 KiB: heads[] has room
 * for the largest queue; only the first in_flight + unpublished count). */
struct virtq_state {
	uint32_t max_size;  /* largest size the device offered */
	uint32_t size;      /* negotiated size */
	uint64_t features;  /* negotiated feature bits */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool active;        /* activated (DRIVER_OK); the indices below are meaningful */
	bool broken;        /* latched broken by a guest error */
	uint16_t next_avail;     /* next avail ring position to pop */
	uint16_t next_used;      /* next used ring position to fill */
	uint16_t published_used; /* used.idx the device last wrote */
	uint32_t in_flight;      /* chains popped and not yet used */
	uint16_t signalled_used; /* used.idx at the last notification decision */
	bool signalled_valid;    /* whether signalled_used is meaningful */
	bool notify_enabled;     /* the device wants driver notifications */
	uint32_t unpop_depth;    /* the newest this many in-flight chains may be
				  * taken back with virtq_unpop() */
	/* Packed rings (an active queue with RING_PACKED; 0/false otherwise).
	 * A saved packed queue holds nothing, so used_pos/used_wrap equal
	 * avail_pos/avail_wrap; both are carried, as the layout's own. */
	uint16_t avail_pos;      /* ring slot of the next descriptor to pop */
	uint16_t used_pos;       /* ring slot of the next used descriptor */
	bool avail_wrap;         /* driver ring wrap counter at avail_pos */
	bool used_wrap;          /* device ring wrap counter at used_pos */
	uint32_t signal_slots;   /* ring slots published since the last
				  * notification decision (<= 2 * size: from
				  * size on, a lap or more, which decides alike) */
	/* Every chain held, oldest pop first: in_flight heads, and next_used -
	 * published_used (mod 2^16) marked VIRTQ_STATE_HEAD_USED, completed
	 * chains whose used entries are not yet published. */
	uint16_t heads[VIRTQ_MAX_SIZE];
};

/* Copies q's state into s, the heads of its chains in flight included. Any
 * initialized split queue, active or not, broken or not, drained or not; a
 * packed queue when it holds nothing (see above).
 * Returns 0, -VIRTQ_EINVAL (NULL, or q never initialized), or -VIRTQ_ENOTSUP
 * for a packed queue with chains in flight or completions unpublished (or
 * ring slots held without a chain, or its two wrap counters apart, which
 * only a front-end writing slot counts into the in-flight area causes); s
 * is not written on error. */
VIRTQ_API int virtq_save(const struct virtq *q, struct virtq_state *s);

/*
 * Puts q (initialized with virtq_init on mem) in state s. Checks, in order:
 *   q, mem or s NULL, or mem not the map q was initialized on: -VIRTQ_EINVAL
 *   s itself (virtq_state_check): -VIRTQ_EBADSTATE
 *   s->size <= q's max size: -VIRTQ_EINVAL
 *   for an active queue, an in-flight area attached that holds s->size heads
 *     (virtq_set_inflight): -VIRTQ_EINVAL
 *   for an active queue, the rings as virtq_activate() checks them (same code):
 *     -VIRTQ_EINVAL (alignment), -VIRTQ_EBADADDR, -VIRTQ_EOVERFLOW
 *   for an active split queue, used.idx in guest memory == s->published_used:
 *     -VIRTQ_EBADSTATE
 * On error q is reset (as virtq_reset) and nothing in guest memory changed.
 * Restoring does not write guest memory. It rewrites the in-flight area from
 * s (the area of a queue on another host, or of the queue before, is not
 * s's): the chains in flight are in flight again in their pop order -- the
 * device learns them with virtq_in_flight_list() and gets each one's segments
 * with virtq_resubmit() -- and the unpublished completions are published by
 * the next virtq_publish_used().
 *
 * Why these checks: the size limit is q's own (set by the VMM with
 * virtq_init), so a stream cannot grow a queue past what the device model
 * offers; s->max_size is the saving side's and is not applied (a VMM that
 * insists on identical devices compares it itself). The rings must satisfy
 * activation's rules because pop and add_used rely on them for every access.
 * used.idx is written only by the device, so in the memory image that goes
 * with s it must equal published_used; a mismatch means the state belongs to
 * another image or was forged, and resuming would move used.idx backwards or
 * publish entries that were never written. avail.idx is not checked: it is the
 * guest's to change at any time, and the first pop validates it as always
 * (more than size ahead: -VIRTQ_EBADIDX, queue broken).
 *
 * Afterwards q is exactly the saved queue: the next pop reads the avail entry
 * at s->next_avail (avail.idx is re-read first), used entries continue at
 * s->next_used, unpublished entries (published_used..next_used) are published
 * by the next virtq_publish_used(), the same chains can be completed and
 * unpopped, and the notification state (signalled_*, notify_enabled)
 * carries on. A broken state restores a broken queue.
 * A packed state (RING_PACKED) restores a packed queue: the next pop reads
 * the descriptor at avail_pos in the lap of avail_wrap, used descriptors
 * continue at used_pos, and the notification decision counts signal_slots as
 * published since the last one. Nothing in guest memory is compared for it:
 * the packed layout has no index that only the device writes (the device
 * event structure is written, never read, by the device), and every
 * descriptor is validated by the pop that reads it, as always.
 * One thing is deliberately not carried over: the avail.idx the queue last
 * read is a cache of guest memory, and trusting a saved copy would let pop
 * use ring entries it never validated. The restored queue re-reads avail.idx
 * at its first pop. If the saved queue had read ahead of what it popped, the
 * avail_event hint (EVENT_IDX) that virtq_enable_notify() writes before that
 * pop names next_avail rather than the entries seen; enable_notify() then
 * returns 1 (entries pending), and each pop moves avail_event on as before.
 */
VIRTQ_API int virtq_restore(struct virtq *q, const struct virtq_mem *mem,
			    const struct virtq_state *s);

/*
 * Self-consistency of a state, without guest memory: sizes powers of two
 * <= 32768, size <= max_size; for an active queue in_flight <= size,
 * next_avail - next_used == in_flight (mod 2^16: every popped chain is
 * either in flight or has one used entry), in_flight plus the unpublished
 * used entries (next_used - published_used, mod 2^16) <= size (each is a
 * distinct head), heads[] holding as many of each (VIRTQ_STATE_HEAD_USED
 * marking the unpublished), every head < size and none twice, and the
 * unpop_depth newest entries all in flight; the packed fields 0/false unless
 * the queue is active with RING_PACKED, and then nothing held (in_flight 0,
 * next_used == published_used), avail_pos < size, used_pos and used_wrap
 * equal to avail_pos and avail_wrap (the device holds no ring slot) and
 * signal_slots <= 2 * size; an inactive queue has all its indices,
 * in_flight, unpop_depth, packed and notification fields at their reset
 * values (0/false) and is not broken. These are the invariants pop, unpop and
 * add_used maintain, so virtq_save() of any queue passes; a state outside them
 * was not saved by virtq and would void the bounds they enforce (EBUSY at
 * size chains in flight, publishing before overwriting an unpublished entry,
 * one record per head).
 * Returns 0, -VIRTQ_EBADSTATE, or -VIRTQ_EINVAL (NULL).
 */
VIRTQ_API int virtq_state_check(const struct virtq_state *s);

/* Bytes virtq_state_encode() writes for s: 64 (version 1), 68 + 2 * heads
 * (version 2) or 76 (version 3), for an s that passes virtq_state_check();
 * 0 for NULL. */
VIRTQ_API size_t virtq_state_encoded_size(const struct virtq_state *s);

/* Writes the encoding of s (which must pass virtq_state_check) to buf:
 * version 3 for an active packed queue; else version 1 if nothing is in
 * flight or unpublished, else version 2.
 * Returns the byte count, or, checked in this order, -VIRTQ_EINVAL (NULL),
 * -VIRTQ_EBADSTATE, -VIRTQ_ENOSPC if cap is smaller than
 * virtq_state_encoded_size(s); nothing is written on error. */
VIRTQ_API int virtq_state_encode(const struct virtq_state *s, void *buf, size_t cap);

/*
 * Decodes exactly len bytes. Checks, in this order:
 *   s or buf NULL                            -VIRTQ_EINVAL
 *   len < 8 (no magic, version and length)   -VIRTQ_EFORMAT
 *   bad magic, version 0                     -VIRTQ_EFORMAT
 *   version newer than VIRTQ_STATE_VERSION   -VIRTQ_EVERSION
 *   version 1: length field not 64, len not 64 (truncated or trailing
 *   bytes); version 2: length field not 68, len shorter than 68 or not 68 +
 *   2 * (in_flight + unpublished), no heads at all (version 1's job);
 *   version 3: length field not 76, len shorter than 76 or not 76 + 2 *
 *   (in_flight + unpublished);
 *   reserved flag bits set;
 *   version 3 of a queue that is not active with RING_PACKED (versions 1
 *   and 2 say those)                         -VIRTQ_EFORMAT
 *   version 1 with chains in flight or unpublished entries (it cannot say
 *   which), version 1 or 2 of an active queue with RING_PACKED (they cannot
 *   say its ring positions), more heads than any queue has, values that fail
 *   virtq_state_check (a version 3 with heads among them: a packed state
 *   holds none)                              -VIRTQ_EBADSTATE
 * The version comes before the length so that a newer, longer encoding is
 * reported as a newer version rather than as a malformed one.
 * Never reads outside [buf, buf + len). On error *s is zeroed (if s is not
 * NULL; heads[] beyond the counts is not). Every accepted input re-encodes to
 * the same bytes.
 */
VIRTQ_API int virtq_state_decode(struct virtq_state *s, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_STATE_H */

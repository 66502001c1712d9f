/* SPDX-License-Identifier: MIT */
/*
 * <stdatomic.h> as the analysis sees it (scripts/prove.sh passes this file
 * with -include, only under Frama-C). Defining __FC_STDATOMIC makes Frama-C's
 * own <stdatomic.h> an empty file, so this model is the only one.
 *
 * An atomic access is a plain access of the same width to the same address:
 * Eva checks that it is valid, initialised and aligned where it matters. The
 * guest's memory is a volatile object (drivers/guest.c), so whatever a load
 * returns is any value of its type, a fresh one at every load: that is a guest
 * writing between any two reads. Orders and fences are not modelled: they
 * constrain when a value becomes visible, never which addresses are touched,
 * and every value from the guest is taken as arbitrary anyway.
 */
#ifndef VIRTQ_PROOFS_ATOMICS_MODEL_H
#define VIRTQ_PROOFS_ATOMICS_MODEL_H

#define __FC_STDATOMIC

typedef enum {
	memory_order_relaxed,
	memory_order_consume,
	memory_order_acquire,
	memory_order_release,
	memory_order_acq_rel,
	memory_order_seq_cst
} memory_order;

#define ATOMIC_LLONG_LOCK_FREE 2

#define _Atomic
#define atomic_load_explicit(obj, order) ((void)(order), *(obj))
#define atomic_store_explicit(obj, value, order) ((void)(order), (void)(*(obj) = (value)))
#define atomic_thread_fence(order) ((void)(order))
#define atomic_signal_fence(order) ((void)(order))

#endif

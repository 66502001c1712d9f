/* SPDX-License-Identifier: MIT */
/* Compiler hints for the datapath; plain C11 elsewhere. */
#ifndef VIRTQ_COMPILER_H
#define VIRTQ_COMPILER_H

/* Branch layout: the valid path of guest data is the one laid out straight.
 * Hints only: every check still runs. */
#if defined(__GNUC__) || defined(__clang__)
#define VIRTQ_LIKELY(x) __builtin_expect(!!(x), 1)
#define VIRTQ_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Keeps a slow path out of its caller, so the fast path stays small. */
#define VIRTQ_NOINLINE __attribute__((noinline))
/* Puts a function shared with slow paths into the fast path regardless. */
#define VIRTQ_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define VIRTQ_LIKELY(x) (x)
#define VIRTQ_UNLIKELY(x) (x)
#define VIRTQ_NOINLINE
#define VIRTQ_ALWAYS_INLINE inline
#endif

#endif /* VIRTQ_COMPILER_H */

/* SPDX-License-Identifier: MIT */
/* Checked arithmetic for values that come from the guest. */
#ifndef VIRTQ_CHECKED_H
#define VIRTQ_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* *sum = a + b; false if that overflows. */
static inline bool checked_add_u64(uint64_t a, uint64_t b, uint64_t *sum)
{
#if defined(__GNUC__) || defined(__clang__)
	return !__builtin_add_overflow(a, b, sum);
#else
	*sum = a + b;
	return *sum >= a;
#endif
}

/* *end = last byte of [start, start + len), len > 0; false if it wraps. */
static inline bool checked_range_last(uint64_t start, uint64_t len, uint64_t *last)
{
	return len != 0 && checked_add_u64(start, len - 1, last);
}

#endif /* VIRTQ_CHECKED_H */

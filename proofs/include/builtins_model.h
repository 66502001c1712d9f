/* SPDX-License-Identifier: MIT */
/*
 * GCC builtins that Frama-C 25 does not know, as C (scripts/prove.sh passes
 * this file with -include, only under Frama-C). src/checked.h uses
 * __builtin_add_overflow on uint64_t only.
 */
#ifndef VIRTQ_PROOFS_BUILTINS_MODEL_H
#define VIRTQ_PROOFS_BUILTINS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

static inline bool virtq_model_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *sum)
{
	*sum = a + b;
	return *sum < a;
}
#define __builtin_add_overflow(a, b, sum) virtq_model_add_overflow_u64((a), (b), (sum))

#endif

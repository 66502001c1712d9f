/* SPDX-License-Identifier: MIT */
/*
 * The load hook of fuzz builds (ring_access.h): compiled only with
 * VIRTQ_FUZZ_HOOKS, which only the fuzz build sets. NULL: no hook.
 */
#include "ring_access.h"

void (*virtq_fuzz_load_hook)(const void *p, size_t bytes);

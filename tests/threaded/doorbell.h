/* SPDX-License-Identifier: MIT */
/*
 * A doorbell between two threads, like an eventfd used as a kick or an irqfd:
 * ring() adds one and wakes the waiter, wait() takes every pending ring at
 * once. A ring that comes before the wait is never lost; a ring that never
 * comes leaves the waiter asleep (the test's watchdog reports that).
 */
#ifndef VIRTQ_TEST_DOORBELL_H
#define VIRTQ_TEST_DOORBELL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct doorbell {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	uint64_t pending;  /* rings not yet taken */
};

/* 0, or an errno value. */
int doorbell_init(struct doorbell *d);
void doorbell_destroy(struct doorbell *d);
void doorbell_ring(struct doorbell *d);

/*
 * Sleeps until the doorbell rings or *abort becomes true, whichever is first,
 * and returns the number of rings taken (0 when aborted). The sleep is cut
 * into bounded slices only to look at *abort: a slice that ends without a
 * ring goes back to sleep, it never stands in for a missed ring.
 */
uint64_t doorbell_wait(struct doorbell *d, const atomic_bool *abort);

#endif /* VIRTQ_TEST_DOORBELL_H */

/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <time.h>

#include "doorbell.h"

/* How often a sleeper looks at its abort flag. */
#define SLICE_NS 50000000L

int doorbell_init(struct doorbell *d)
{
	pthread_condattr_t attr;
	int r = pthread_condattr_init(&attr);
	if (r)
		return r;
	r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!r)
		r = pthread_cond_init(&d->cv, &attr);
	pthread_condattr_destroy(&attr);
	if (r)
		return r;
	r = pthread_mutex_init(&d->mu, NULL);
	if (r) {
		pthread_cond_destroy(&d->cv);
		return r;
	}
	d->pending = 0;
	return 0;
}

void doorbell_destroy(struct doorbell *d)
{
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
}

void doorbell_ring(struct doorbell *d)
{
	pthread_mutex_lock(&d->mu);
	d->pending++;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

uint64_t doorbell_wait(struct doorbell *d, const atomic_bool *abort)
{
	uint64_t taken;
	pthread_mutex_lock(&d->mu);
	while (d->pending == 0 && !atomic_load(abort)) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += SLICE_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_nsec -= 1000000000L;
			until.tv_sec++;
		}
		int r = pthread_cond_timedwait(&d->cv, &d->mu, &until);
		if (r && r != ETIMEDOUT)
			break; /* cannot happen with a valid cv and mutex; do not spin */
	}
	taken = d->pending;
	d->pending = 0;
	pthread_mutex_unlock(&d->mu);
	return taken;
}

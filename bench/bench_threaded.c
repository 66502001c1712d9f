/* SPDX-License-Identifier: MIT */
/*
 * Cross-core throughput: a guest thread posts W5-style chains (16 B readable
 * + 4096 B writable, EVENT_IDX on) as fast as the ring has room and reaps
 * used entries; the device (this thread) pops, returns each chain with
 * add_used, publishes after every burst of pops and makes the notification
 * decision. The ring's cache lines really travel between two cores.
 * Reports chains per second (median of the runs; higher is better).
 *
 * Both sides poll. On a loaded machine a poller can lose its core: each side
 * yields after a run of empty polls, so a run slows down instead of stalling.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "guest.h"
#include "harness.h"
#include "virtq/mock.h"
#include "virtq/virtq.h"

#define SPINS_BEFORE_YIELD 1024u
#define MAX_OUTSTANDING BG_BATCH /* descriptor pairs the guest cycles through */

struct shared {
	struct virtq_mock m;
	struct virtq q;
	struct bg g;
	uint64_t chains;   /* chains to move in this run */
	uint64_t posted;   /* guest: chains posted so far (all runs) */
	uint64_t reaped;   /* guest: used entries reaped so far (all runs) */
	uint64_t notifies; /* device: notifications it decided to send */
	atomic_bool failed;
};

static void *guest(void *p)
{
	struct shared *s = p;
	const uint64_t goal = s->reaped + s->chains;
	uint64_t sum = 0, end = s->posted + s->chains;
	unsigned idle = 0;
	while (s->reaped < goal && !atomic_load_explicit(&s->failed, memory_order_relaxed)) {
		uint32_t got = bg_reap(&s->g, &sum);
		s->reaped += got;
		bool posted = false;
		while (s->posted < end && s->posted - s->reaped < MAX_OUTSTANDING) {
			/* bg_post_steady publishes each chain as it is written. */
			bg_post_steady(&s->g, s->posted++);
			posted = true;
		}
		if (got || posted)
			idle = 0;
		else if (++idle == SPINS_BEFORE_YIELD)
			idle = 0, sched_yield();
	}
	bench_consume(sum);
	return NULL;
}

/* The device loop for one run; returns 0 or -1. */
static int device(struct shared *s)
{
	struct virtq_seg segs[4];
	struct virtq_chain c;
	uint64_t done = 0;
	unsigned idle = 0;
	virtq_chain_init(&c, segs, 4);
	while (done < s->chains) {
		int r, n = 0;
		while ((r = virtq_pop(&s->q, &c)) == 1) {
			if (virtq_add_used(&s->q, c.id, c.write_len))
				return -1;
			n++;
		}
		if (r < 0)
			return -1;
		if (n) {
			idle = 0;
			done += (uint64_t)n;
			if (virtq_publish_used(&s->q) != n)
				return -1;
			int notify = virtq_needs_notify(&s->q);
			if (notify < 0)
				return -1;
			s->notifies += (uint64_t)notify;
		} else if (++idle == SPINS_BEFORE_YIELD) {
			idle = 0;
			sched_yield();
		}
	}
	return 0;
}

/* Seconds to move s->chains chains, or a negative value on failure. */
static double run(struct shared *s)
{
	pthread_t t;
	uint64_t t0 = bench_now_ns();
	if (pthread_create(&t, NULL, guest, s))
		return -1;
	int r = device(s);
	if (r)
		atomic_store(&s->failed, true);
	pthread_join(t, NULL);
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	return r ? -1 : secs;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct virtq_mock_config cfg;
	double runs[BENCH_MAX_RUNS];
	bench_parse(&o, "virtq-threaded", argc, argv);
	if (!bench_selected(&o, "threaded"))
		return bench_finish(&o, 0);
	struct shared *s = calloc(1, sizeof(*s));
	if (!s)
		return 1;
	virtq_mock_config_default(&cfg);
	cfg.regions[0].size = BG_MEM_SIZE;
	cfg.queue_size = BG_QSIZE;
	cfg.features |= VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	cfg.desc_gpa = BG_DESC;
	cfg.avail_gpa = BG_AVAIL;
	cfg.used_gpa = BG_USED;
	cfg.buf_gpa = BG_BUF;
	if (virtq_mock_init(&s->m, &cfg) || virtq_mock_attach(&s->m, &s->q)) {
		fprintf(stderr, "bench: queue setup failed\n");
		return 1;
	}
	bg_init(&s->g, virtq_mock_host(&s->m, 0, BG_MEM_SIZE));

	int status = 0;
	s->chains = o.iters ? o.iters : 1u << 16;
	double t = run(s);
	if (t < 0)
		goto fail;
	if (!o.iters) { /* calibrated like bench_run(): a run lasts min_time */
		double want = (double)s->chains * o.min_time * 1.1 / (t > 0 ? t : 1e-9);
		s->chains = want < 1 ? 1 : (uint64_t)want;
	}
	for (int i = 0; i < o.runs; i++) {
		if ((t = run(s)) < 0)
			goto fail;
		runs[i] = (double)s->chains / t;
	}
	bench_record("threaded", "chains/s", s->chains, runs, o.runs);
	fprintf(stderr, "threaded: %llu notifications decided for %llu chains\n",
		(unsigned long long)s->notifies, (unsigned long long)s->reaped);
	goto out;
fail:
	fprintf(stderr, "bench: threaded workload failed\n");
	status = 1;
out:
	virtq_mock_destroy(&s->m);
	free(s);
	return bench_finish(&o, status);
}

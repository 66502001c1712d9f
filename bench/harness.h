/* SPDX-License-Identifier: MIT */
/*
 * Timing harness shared by every benchmark binary (virtq, baseline, peers).
 *
 * A workload is a function running `iters` iterations. The harness
 * calibrates the iteration count so one run lasts at least --min-time
 * seconds, times --runs runs with clock_gettime(CLOCK_MONOTONIC), and reports
 * the median ns per iteration (also min, max and every run in the JSON file).
 * Output: one line "<name> <median ns>" per workload on stdout.
 *
 * Options of every binary:
 *   --runs N        timed runs per workload (default 5)
 *   --min-time S    seconds per run, at least (default 0.3)
 *   --iters N       fixed iterations per run, no calibration (instruction counts)
 *   --quick         one run of one iteration: the ctest smoke mode
 *   --json PATH     write the results there
 *   --only NAME     run one workload
 */
#ifndef VIRTQ_BENCH_HARNESS_H
#define VIRTQ_BENCH_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_MAX_RUNS 101
#define BENCH_MAX_RESULTS 16
#define BENCH_WARMUP_ITERS 256 /* untimed iterations before calibrating */

struct bench_opts {
	int runs;
	double min_time;
	uint64_t iters; /* 0: calibrate */
	bool quick;
	const char *json;
	const char *only;
	const char *impl; /* implementation name for the JSON file */
};

struct bench_result {
	const char *name;
	const char *unit; /* "ns" per iteration, or a rate such as "chains/s" */
	uint64_t iters;   /* iterations per run */
	int nruns;
	double runs[BENCH_MAX_RUNS];
	double median, min, max;
};

/* Runs iters iterations; returns 0, or -1 if the implementation misbehaved
 * (a workload checks that every chain was popped and returned). */
typedef int (*bench_fn)(void *ctx, uint64_t iters);

/* Parses the options above; exits with a message on a bad option. */
void bench_parse(struct bench_opts *o, const char *impl, int argc, char **argv);

/* Whether workload name is selected by --only. */
bool bench_selected(const struct bench_opts *o, const char *name);

/*
 * Calibrates, times and prints one workload; the result is kept for
 * bench_finish(). Returns 0, or -1 if fn failed (message printed).
 */
int bench_run(const struct bench_opts *o, const char *name, bench_fn fn, void *ctx);

/* Records a result measured by the caller (threaded benchmark), and prints it. */
void bench_record(const char *name, const char *unit, uint64_t iters, const double *runs,
		  int nruns);

/* Writes the JSON file if asked; returns the exit status for main(). */
int bench_finish(const struct bench_opts *o, int status);

/* Monotonic time in nanoseconds. */
uint64_t bench_now_ns(void);

/* Folds v into a global the compiler must keep: results are never dead. */
void bench_consume(uint64_t v);

#endif /* VIRTQ_BENCH_HARNESS_H */

/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile uint64_t bench_sink;
static struct bench_result results[BENCH_MAX_RESULTS];
static int nresults;

void bench_consume(uint64_t v)
{
	bench_sink += v;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--runs N] [--min-time SECONDS] [--iters N] [--quick] "
		"[--json PATH] [--only WORKLOAD]\n",
		prog);
	exit(2);
}

void bench_parse(struct bench_opts *o, const char *impl, int argc, char **argv)
{
	*o = (struct bench_opts){ .runs = 5, .min_time = 0.3, .impl = impl };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick")) {
			o->quick = true;
			continue;
		}
		if (!v)
			usage(argv[0]);
		if (!strcmp(a, "--runs"))
			o->runs = atoi(v);
		else if (!strcmp(a, "--min-time"))
			o->min_time = atof(v);
		else if (!strcmp(a, "--iters"))
			o->iters = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--json"))
			o->json = v;
		else if (!strcmp(a, "--only"))
			o->only = v;
		else
			usage(argv[0]);
		i++;
	}
	if (o->runs < 1 || o->runs > BENCH_MAX_RUNS || !(o->min_time > 0))
		usage(argv[0]);
	if (o->quick) {
		o->runs = 1;
		o->iters = 1;
	}
}

bool bench_selected(const struct bench_opts *o, const char *name)
{
	return !o->only || !strcmp(o->only, name);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static struct bench_result *keep(const char *name, const char *unit, uint64_t iters,
				 const double *runs, int nruns)
{
	if (nresults == BENCH_MAX_RESULTS || nruns < 1 || nruns > BENCH_MAX_RUNS) {
		fprintf(stderr, "bench: too many results\n");
		exit(2);
	}
	struct bench_result *r = &results[nresults++];
	double sorted[BENCH_MAX_RUNS];
	*r = (struct bench_result){ .name = name, .unit = unit, .iters = iters, .nruns = nruns };
	memcpy(r->runs, runs, (size_t)nruns * sizeof(*runs));
	memcpy(sorted, runs, (size_t)nruns * sizeof(*runs));
	qsort(sorted, (size_t)nruns, sizeof(*sorted), cmp_double);
	r->min = sorted[0];
	r->max = sorted[nruns - 1];
	r->median = nruns % 2 ? sorted[nruns / 2]
			      : (sorted[nruns / 2 - 1] + sorted[nruns / 2]) / 2;
	return r;
}

void bench_record(const char *name, const char *unit, uint64_t iters, const double *runs,
		  int nruns)
{
	struct bench_result *r = keep(name, unit, iters, runs, nruns);
	/* "<workload> <median>" for ns (what scripts/bench.sh collects); other
	 * units are named, so that no figure is read as nanoseconds. */
	if (strcmp(unit, "ns") == 0)
		printf("%s %.1f\n", r->name, r->median);
	else
		printf("%s %.1f %s (median of %d runs)\n", r->name, r->median, unit, nruns);
	fflush(stdout);
}

/* Seconds taken by one run of iters iterations, or a negative value on failure. */
static double timed(bench_fn fn, void *ctx, uint64_t iters)
{
	uint64_t t0 = bench_now_ns();
	if (fn(ctx, iters))
		return -1;
	return (double)(bench_now_ns() - t0) / 1e9;
}

int bench_run(const struct bench_opts *o, const char *name, bench_fn fn, void *ctx)
{
	double runs[BENCH_MAX_RUNS];
	uint64_t iters = o->iters;
	if (!bench_selected(o, name))
		return 0;
	/* Warm-up, untimed: every ring slot and buffer used once, caches and
	 * branch predictors trained. */
	if (!o->quick && timed(fn, ctx, BENCH_WARMUP_ITERS) < 0)
		goto fail;
	if (!iters) {
		/* Calibrate: grow until a run takes a tenth of min_time, then scale. */
		double t;
		for (iters = 1;; iters *= 4) {
			if ((t = timed(fn, ctx, iters)) < 0)
				goto fail;
			if (t >= o->min_time / 10 || iters >= (UINT64_C(1) << 40))
				break;
		}
		double want = (double)iters * o->min_time * 1.1 / (t > 0 ? t : 1e-9);
		iters = want < 1 ? 1 : (uint64_t)want;
	}
	for (int i = 0; i < o->runs; i++) {
		double t = timed(fn, ctx, iters);
		if (t < 0)
			goto fail;
		runs[i] = t * 1e9 / (double)iters;
	}
	bench_record(name, "ns", iters, runs, o->runs);
	return 0;
fail:
	fprintf(stderr, "bench: workload %s failed (the implementation misbehaved)\n", name);
	return -1;
}

int bench_finish(const struct bench_opts *o, int status)
{
	if (!o->json)
		return status;
	FILE *f = fopen(o->json, "w");
	if (!f) {
		perror(o->json);
		return 1;
	}
	fprintf(f, "{\n  \"implementation\": \"%s\",\n  \"workloads\": {", o->impl);
	for (int i = 0; i < nresults; i++) {
		const struct bench_result *r = &results[i];
		fprintf(f, "%s\n    \"%s\": {\"unit\": \"%s\", \"median\": %.2f, \"min\": %.2f, "
			   "\"max\": %.2f, \"iters_per_run\": %llu, \"runs\": [",
			i ? "," : "", r->name, r->unit, r->median, r->min, r->max,
			(unsigned long long)r->iters);
		for (int j = 0; j < r->nruns; j++)
			fprintf(f, "%s%.2f", j ? ", " : "", r->runs[j]);
		fprintf(f, "]}");
	}
	fprintf(f, "\n  }\n}\n");
	if (fclose(f)) {
		perror(o->json);
		return 1;
	}
	return status;
}

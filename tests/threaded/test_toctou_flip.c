/* SPDX-License-Identifier: MIT */
/*
 * A guest thread rewrites descriptors while the device pops them
 * (time-of-check/time-of-use, the "double fetch" class).
 *
 * The device thread (main) posts one direct chain of two descriptors, each
 * in a sane version V0, over and over (avail entries naming head 0), and pops
 * it; a guest thread meanwhile flips each descriptor's two 8-byte halves, as
 * fast as it can, among the versions below:
 *   addr:  V0's, V1's (another buffer), or 16 bytes before the end of guest
 *          memory;
 *   len:   V0's, V1's, 4 KiB (past the end from that last address), or
 *          0xfffff000 (past the end from anywhere).
 * A library that copies each descriptor once and validates the copy either
 * refuses the chain (EBADADDR, EOVERFLOW: the queue is reset and the next
 * round starts) or returns segments that are each inside guest memory, in
 * one region, and made of an address and a length the guest wrote before
 * the pop returned. One that reads a field again after checking it hands
 * out a segment past the end of guest memory sooner or later.
 *
 * Guest memory is one region at 1 GiB (not at GPA 0), so a segment outside
 * it is never mistaken for one inside.
 *
 *   test_toctou_flip [--seconds S] [--seed N]
 * Exit status 0, or 1 with the offending segment on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>

#define QUEUE_SIZE 8u
#define CHAIN_DESCS 2u
#define REGION_GPA (UINT64_C(1) << 30)
#define REGION_SIZE (UINT64_C(1) << 20)
#define NADDRS 3u
#define NLENS 4u

/* The values the guest writes into descriptor i, as the two halves the
 * split layout has (virtio 2.7.5): addr, then len | flags << 32 | next << 48. */
struct versions {
	uint64_t addr[NADDRS];
	uint32_t len[NLENS];
	uint16_t flags, next;
};

struct shared {
	_Atomic uint64_t *desc; /* the descriptor table, as 8-byte words */
	struct versions v[CHAIN_DESCS];
	atomic_bool flipping; /* the guest is to flip the chain */
	atomic_bool busy;     /* the guest may be writing descriptors */
	atomic_bool done;
	atomic_ulong flips;     /* descriptor writes of the guest thread */
	uint64_t rng;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static uint64_t hi_word(const struct versions *v, unsigned len_index)
{
	return (uint64_t)v->len[len_index] | (uint64_t)v->flags << 32 | (uint64_t)v->next << 48;
}

/* Mostly sane versions, so that chains get through and a field read again
 * later has time to change: an address past the end 1 time in 8, a bad
 * length 1 in 4. */
static unsigned addr_pick(uint64_t r)
{
	return (r & 7u) < 4u ? 0u : (r & 7u) < 7u ? 1u : 2u;
}

static unsigned len_pick(uint64_t r)
{
	return (r & 7u) < 3u ? 0u : (r & 7u) < 6u ? 1u : (unsigned)(r & 7u) - 4u;
}

static void *guest_flipper(void *arg)
{
	struct shared *sh = arg;
	uint64_t rng = sh->rng ^ 0x9e3779b97f4a7c15ull;
	while (!atomic_load(&sh->done)) {
		if (!atomic_load(&sh->flipping)) {
			sched_yield();
			continue;
		}
		/* busy, then flipping again, both sequentially consistent: once the
		 * device has cleared flipping and then seen busy clear, the guest
		 * sees flipping clear and keeps off the descriptors. */
		atomic_store(&sh->busy, true);
		for (unsigned k = 0; k < 4096 && atomic_load(&sh->flipping); k++) {
			uint64_t r = rnd(&rng);
			unsigned i = (unsigned)(r % CHAIN_DESCS);
			const struct versions *v = &sh->v[i];
			atomic_store_explicit(&sh->desc[2 * i], v->addr[addr_pick(r >> 8)],
					      memory_order_relaxed);
			atomic_store_explicit(&sh->desc[2 * i + 1], hi_word(v, len_pick(r >> 16)),
					      memory_order_relaxed);
			atomic_fetch_add_explicit(&sh->flips, 1, memory_order_relaxed);
		}
		atomic_store(&sh->busy, false);
	}
	return NULL;
}

/* The guest stops flipping (the device is about to reset the rings). */
static void pause_guest(struct shared *sh)
{
	atomic_store(&sh->flipping, false);
	while (atomic_load(&sh->busy))
		sched_yield();
}

/* Every descriptor of the chain in its sane version, then flipping again. */
static void resume_guest(struct virtq_mock *m, struct shared *sh)
{
	for (unsigned i = 0; i < CHAIN_DESCS; i++)
		virtq_mock_set_desc(m, i, sh->v[i].addr[0], sh->v[i].len[0], sh->v[i].flags,
				    sh->v[i].next);
	atomic_store(&sh->flipping, true);
}

static bool one_of64(uint64_t x, const uint64_t *set, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (x == set[i])
			return true;
	return false;
}

static bool one_of32(uint64_t x, const uint32_t *set, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (x == set[i])
			return true;
	return false;
}

/* Segment j came from descriptor j (one region, no zero lengths: no splits). */
static int check_segments(struct virtq_mock *m, const struct virtq_chain *c,
			  const struct shared *sh, unsigned long round)
{
	for (uint32_t j = 0; j < c->nseg; j++) {
		const struct virtq_seg *s = &c->segs[j];
		uint64_t first, last;
		if (j >= CHAIN_DESCS || s->len == 0 ||
		    !virtq_mock_gpa_of(m, s->addr, &first) ||
		    !virtq_mock_gpa_of(m, (const char *)s->addr + s->len - 1, &last) ||
		    last - first != s->len - 1) {
			fprintf(stderr, "round %lu: segment %u (host %p, len %zu) is not inside guest memory\n",
				round, j, s->addr, s->len);
			return 1;
		}
		if (!one_of64(first, sh->v[j].addr, NADDRS) || !one_of32(s->len, sh->v[j].len, NLENS)) {
			fprintf(stderr, "round %lu: segment %u (gpa 0x%llx, len %zu) is no value the guest wrote\n",
				round, j, (unsigned long long)first, s->len);
			return 1;
		}
	}
	return 0;
}

/* V0 of descriptor i: a 256-byte readable buffer; V1: 2 KiB elsewhere. */
static void make_versions(struct shared *sh, uint64_t buf_gpa)
{
	for (unsigned i = 0; i < CHAIN_DESCS; i++) {
		struct versions *v = &sh->v[i];
		v->addr[0] = buf_gpa + 0x1000u * i;
		v->addr[1] = buf_gpa + 0x8000u + 0x1000u * i;
		v->addr[2] = REGION_GPA + REGION_SIZE - 16u;
		v->len[0] = 0x100;
		v->len[1] = 0x800;
		v->len[2] = 0x1000;
		v->len[3] = 0xfffff000u;
		v->flags = i + 1 < CHAIN_DESCS ? VIRTQ_DESC_F_NEXT : 0;
		v->next = (uint16_t)(i + 1 < CHAIN_DESCS ? i + 1 : 0);
	}
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int restart(struct virtq_mock *m, struct virtq *q)
{
	virtq_reset(q);
	virtq_mock_reset_driver(m);
	return virtq_mock_attach(m, q);
}

int main(int argc, char **argv)
{
	double seconds = 2;
	uint64_t seed = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
	}
	static struct virtq_mock m;
	static struct virtq q;
	static struct virtq_seg segs[64];
	static struct shared sh;
	struct virtq_mock_config cfg;
	virtq_mock_config_default(&cfg);
	cfg.nregions = 1;
	cfg.regions[0] = (struct virtq_mock_region){ .gpa = REGION_GPA, .size = REGION_SIZE };
	cfg.queue_size = QUEUE_SIZE;
	cfg.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	if (virtq_mock_init(&m, &cfg) || virtq_mock_attach(&m, &q)) {
		fprintf(stderr, "cannot set up the mock guest\n");
		return 1;
	}
	sh.desc = virtq_mock_host(&m, m.cfg.desc_gpa, 16u * QUEUE_SIZE);
	sh.rng = seed | 1;
	make_versions(&sh, m.cfg.buf_gpa);
	pthread_t guest;
	if (pthread_create(&guest, NULL, guest_flipper, &sh)) {
		fprintf(stderr, "cannot start the guest thread\n");
		return 1;
	}
	struct virtq_chain c;
	unsigned long rounds = 0, chains = 0, refused = 0, unlike_v0 = 0;
	int status = 0;
	const double end = now_s() + seconds;
	resume_guest(&m, &sh);
	while (!status && ((rounds & 1023) || now_s() < end)) {
		virtq_mock_set_avail_entry(&m, m.avail_idx % QUEUE_SIZE, 0);
		virtq_mock_set_avail_idx(&m, (uint16_t)(m.avail_idx + 1u));
		virtq_chain_init(&c, segs, 64);
		int r = virtq_pop(&q, &c);
		rounds++;
		if (r == 1) {
			chains++;
			status = check_segments(&m, &c, &sh, rounds);
			for (uint32_t j = 0; j < c.nseg && j < CHAIN_DESCS; j++)
				unlike_v0 += c.segs[j].len != sh.v[j].len[0];
			if (!status && (virtq_add_used(&q, c.id, 0) || virtq_publish_used(&q) != 1 ||
					virtq_mock_get_used(&m, NULL, NULL) != 1)) {
				fprintf(stderr, "round %lu: completing the chain failed\n", rounds);
				status = 1;
			}
		} else if (r == -VIRTQ_EBADADDR || r == -VIRTQ_EOVERFLOW) {
			refused++;
			pause_guest(&sh);
			if (restart(&m, &q)) {
				fprintf(stderr, "round %lu: the queue does not start again\n", rounds);
				status = 1;
			}
			resume_guest(&m, &sh);
		} else {
			fprintf(stderr, "round %lu: pop returned %d (%s)\n", rounds, r, virtq_errname(r));
			status = 1;
		}
	}
	pause_guest(&sh);
	atomic_store(&sh.done, true);
	pthread_join(guest, NULL);
	printf("%lu rounds: %lu chains (%lu segments not V0's length), %lu refused, %lu guest flips\n",
	       rounds, chains, unlike_v0, refused, (unsigned long)atomic_load(&sh.flips));
	if (!status && refused + unlike_v0 == 0) {
		fprintf(stderr, "the guest never changed a descriptor during a pop: nothing was tested\n");
		status = 1;
	}
	virtq_mock_destroy(&m);
	return status;
}

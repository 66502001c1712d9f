/* SPDX-License-Identifier: MIT */
/*
 * Kill and restart, at the library level: a device process serving the queue
 * (pops, completions in random order, publishes in random batches) is killed
 * with SIGKILL, over and over: by the test after a random delay (anywhere,
 * inside a call too) or by itself after a random number of calls (so every
 * kill lands in the middle of the work); each time a new queue
 * resumes on the same guest memory and in-flight area (shared mappings),
 * resubmits what was in flight and goes on, and the driver keeps posting.
 * Every posted request must come back to the driver exactly once, with the
 * reply the device wrote for it, and every resume must succeed. Kills land
 * between calls and, by timing, sometimes inside one; the narrow windows
 * inside publish (used.idx written, the area not yet updated; half of a
 * batch settled) are built deterministically by test_inflight.c and the
 * fuzz harness's reconnect, this test counts how often a kill hit one.
 *
 * --packed runs the same on a packed ring, whose chains the successor finds
 * in the descriptor journal: it resumes at the stale base a front-end that
 * lost the back-end sends (QEMU cannot read a packed base from a dead
 * back-end), so the journal alone must say where the ring is.
 *
 *   test_inflight_kill [--rounds N] [--seed S] [--packed]
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>

#define QSIZE 32u
#define HOLD 8u

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static void spin(uint32_t n)
{
	for (volatile uint32_t i = 0; i < n; i++)
		;
}

static int fail(const char *what, long a, long b)
{
	fprintf(stderr, "test_inflight_kill: FAIL: %s (%ld, %ld)\n", what, a, b);
	exit(1);
}

/* ---- the device process ------------------------------------------------------- */

struct held {
	uint16_t head;
	uint32_t len;
};

/* Reads the request's sequence number, writes it back negated as the reply. */
static uint32_t serve(const struct virtq_chain *c)
{
	struct virtq_cursor in, out;
	uint64_t seq = 0;
	virtq_chain_reader(&in, c);
	virtq_chain_writer(&out, c);
	if (virtq_chain_read(&in, &seq, sizeof(seq)) != sizeof(seq))
		fail("device: short request", c->id, c->read_len);
	seq = ~seq;
	virtq_chain_write(&out, &seq, sizeof(seq));
	return (uint32_t)virtq_chain_offset(&out);
}

/* The device's calls left before it kills itself. */
static uint32_t calls_left;

static void one_call_done(void)
{
	if (--calls_left == 0)
		raise(SIGKILL);
}

/* Serves until nothing is left, completing in random order; never returns. */
static void device(struct virtq *q)
{
	struct virtq_seg segs[4];
	struct virtq_chain c;
	struct held held[QSIZE];
	uint16_t heads[QSIZE];
	uint32_t n = 0;
	virtq_chain_init(&c, segs, 4);
	int k = virtq_in_flight_list(q, heads, QSIZE); /* the dead one's, first */
	if (k < 0)
		fail("device: in_flight_list", k, 0);
	for (int i = 0; i < k; i++) {
		if (virtq_resubmit(q, heads[i], &c) != 1)
			fail("device: resubmit", heads[i], 0);
		held[n++] = (struct held){ heads[i], serve(&c) };
	}
	for (;;) {
		const bool room = n < HOLD;
		int r = room ? virtq_pop(q, &c) : 0;
		if (r < 0)
			fail("device: pop", r, 0);
		if (room)
			one_call_done();
		if (r == 1)
			held[n++] = (struct held){ c.id, serve(&c) };
		const bool empty = room && r == 0;
		while (n && (!room || empty || rnd(3) == 0)) {
			uint32_t i = rnd(n);
			if (virtq_add_used(q, held[i].head, held[i].len))
				fail("device: add_used", held[i].head, 0);
			one_call_done();
			held[i] = held[--n];
			if (rnd(2) == 0) {
				virtq_publish_used(q);
				one_call_done();
			}
			spin(rnd(2000));
		}
		if (empty && n == 0) {
			virtq_publish_used(q);
			_exit(0);
		}
		spin(rnd(2000));
	}
}

/* ---- the driver ------------------------------------------------------------------ */

struct driver {
	struct virtq_mock m;
	uint64_t next_seq;
	uint64_t seq_of[QSIZE];   /* the request posted at each head */
	bool outstanding[QSIZE];
	uint64_t posted, completed;
	uint64_t req_gpa, reply_gpa; /* per head: 8 bytes each */
};

static void post_some(struct driver *d, uint32_t n)
{
	for (uint32_t i = 0; i < n && d->m.num_free >= 2; i++) {
		/* each head has its own buffers; the mock takes a returned
		 * descriptor first, else a fresh one */
		uint32_t slot = d->m.recycled ? d->m.free_head : d->m.fresh;
		uint64_t seq = d->next_seq++;
		struct virtq_mock_buf b[2] = { { d->req_gpa + 8u * slot, 8, false },
					       { d->reply_gpa + 8u * slot, 8, true } };
		virtq_mock_write(&d->m, b[0].gpa, &seq, 8);
		int head = virtq_mock_add_chain(&d->m, b, 2, 0);
		if (head != (int)slot)
			fail("driver: unexpected head", head, slot);
		d->seq_of[head] = seq;
		d->outstanding[head] = true;
		d->posted++;
	}
}

/* Every used entry: a request outstanding, answered with its own reply. */
static void consume(struct driver *d)
{
	uint32_t id, len;
	int r;
	while ((r = virtq_mock_get_used(&d->m, &id, &len)) == 1) {
		uint64_t reply = 0;
		if (id >= QSIZE || !d->outstanding[id])
			fail("driver: used entry for a request not outstanding (twice?)", id, 0);
		virtq_mock_read(&d->m, d->reply_gpa + 8u * id, &reply, 8);
		if (len != 8 || reply != ~d->seq_of[id])
			fail("driver: wrong reply", id, (long)len);
		d->outstanding[id] = false;
		d->completed++;
	}
	if (r < 0)
		fail("driver: get_used", r, 0);
}

/* Whether the dead instance was inside a publish: the area's (split) or
 * the journal's (packed) record of the used position is not settled. */
static bool killed_mid_publish(struct virtq_mock *m, bool packed)
{
	uint16_t a, b;
	if (!packed) {
		memcpy(&a, (const unsigned char *)m->inflight + 14, 2); /* used_idx */
		return a != virtq_mock_used_idx(m);
	}
	const unsigned char *j = m->journal;
	memcpy(&a, j + 16, 2); /* used_idx, old_used_idx */
	memcpy(&b, j + 18, 2);
	return a != b || j[20] != j[21];
}

/* Chains the driver made available that the device has not popped: the
 * ring slots from the device's avail position to the driver's, two per
 * chain (positions counted over two laps, wrap counter 1 first). */
static uint64_t packed_available(const struct virtq_mock *m, const struct virtq *q)
{
	const uint32_t laps = 2u * QSIZE;
	const uint32_t driver = m->packed_avail_pos + (m->packed_avail_wrap ? 0u : QSIZE);
	const uint32_t device = q->avail_pos + (q->avail_wrap ? 0u : QSIZE);
	return ((driver + laps - device) % laps) / 2u;
}

/* The next packed instance, at the base a front-end that lost the
 * back-end sends: the fresh one, stale after the first lap. */
static int resume_packed(struct virtq_mock *m, struct virtq *q)
{
	int r = virtq_mock_configure(m, q);
	return r ? r : virtq_resume_packed(q, VIRTQ_PACKED_BASE_FRESH);
}

int main(int argc, char **argv)
{
	unsigned rounds = 300;
	uint64_t seed = (uint64_t)time(NULL);
	bool packed = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--packed"))
			packed = true;
		else if (i + 1 < argc && !strcmp(argv[i], "--rounds"))
			rounds = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && !strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 10);
		else
			fail("usage: test_inflight_kill [--rounds N] [--seed S] [--packed]", i, 0);
	}
	rng_state = seed | 1;
	printf("seed %" PRIu64 ", %u rounds, %s ring\n", seed, rounds, packed ? "packed" : "split");

	static struct driver d;
	struct virtq_mock_config cfg;
	struct virtq q;
	virtq_mock_config_default(&cfg);
	cfg.queue_size = QSIZE;
	cfg.shared_memory = true;
	if (packed)
		cfg.features |= VIRTQ_FEATURE(VIRTQ_F_RING_PACKED);
	if (virtq_mock_init(&d.m, &cfg) || virtq_mock_attach(&d.m, &q))
		fail("setup", 0, 0);
	d.req_gpa = d.m.cfg.buf_gpa;
	d.reply_gpa = d.m.cfg.buf_gpa + 8u * QSIZE;

	unsigned resumed_mid_publish = 0, resumed_with_chains = 0, kills = 0;
	for (unsigned round = 0; round <= rounds; round++) {
		post_some(&d, 1 + rnd(QSIZE));
		fflush(stdout);
		calls_left = round == rounds ? UINT32_MAX : 1 + rnd(40); /* the last one finishes */
		pid_t pid = fork();
		if (pid < 0)
			fail("fork", 0, 0);
		if (pid == 0)
			device(&q); /* the child's copy of the queue */
		if (round < rounds && rnd(2)) {
			struct timespec t = { 0, (long)rnd(200) * 1000 };
			nanosleep(&t, NULL);
			kill(pid, SIGKILL);
		}
		int status;
		waitpid(pid, &status, 0);
		if (round == rounds && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			fail("device: last run did not finish", status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			exit(1); /* the device reported a failure */
		kills += WIFSIGNALED(status);
		resumed_mid_publish += killed_mid_publish(&d.m, packed);
		int r = packed ? resume_packed(&d.m, &q) : virtq_mock_resume(&d.m, &q, virtq_mock_used_idx(&d.m));
		if (r)
			fail("resume", r, round);
		resumed_with_chains += virtq_in_flight(&q) > 0;
		consume(&d);
		const uint64_t available = packed ? packed_available(&d.m, &q)
						  : (uint16_t)(d.m.avail_idx - virtq_next_avail(&q));
		if (d.posted - d.completed != virtq_in_flight(&q) + available)
			fail("driver and device disagree on the requests left",
			     (long)(d.posted - d.completed), (long)(virtq_in_flight(&q) + available));
		/* the driver has read every used descriptor: it is where the device is */
		if (packed && (d.m.packed_used_pos != q.used_pos || d.m.packed_used_wrap != q.used_wrap))
			fail("driver and resumed device at different used positions",
			     d.m.packed_used_pos | (long)d.m.packed_used_wrap << 15,
			     q.used_pos | (long)q.used_wrap << 15);
		if (d.posted - d.completed < virtq_in_flight(&q))
			fail("the device holds more than is outstanding", (long)(d.posted - d.completed),
			     virtq_in_flight(&q));
	}
	consume(&d);
	if (d.completed != d.posted || virtq_in_flight(&q) != 0)
		fail("requests lost", (long)d.posted, (long)d.completed);
	printf("%" PRIu64 " requests, each completed once; %u kills, %u resumes with chains in "
	       "flight, %u in the middle of a publish\n", d.posted, kills, resumed_with_chains,
	       resumed_mid_publish);
	if (resumed_with_chains < rounds / 4)
		fail("too few kills with chains in flight: the test proved little", resumed_with_chains,
		     rounds);
	virtq_mock_destroy(&d.m);
	return 0;
}

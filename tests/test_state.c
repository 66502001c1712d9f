/* SPDX-License-Identifier: MIT */
/*
 * Queue state (state.h): a saved and restored queue carries on exactly as the
 * original would have; restore rejects every inconsistent state with its
 * exact error, leaves the queue reset and guest memory untouched; the
 * version-1 byte encoding is exactly the table in state.h, round-trips, and
 * its decoder rejects or faithfully re-encodes every input.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define EVENT_IDX VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX)
#define MiB (UINT64_C(1) << 20)
#define V1 VIRTQ_STATE_V1_SIZE
#define V2 VIRTQ_STATE_V2_FIXED_SIZE
#define MAX_BYTES VIRTQ_STATE_MAX_BYTES

/* ---- helpers --------------------------------------------------------------- */

/* The mock's ring addresses, named for virtq_set_addrs(). */
#define rings_of(cfg)                                                                  \
	((struct virtq_ring_addrs){ .desc_area = (cfg)->desc_gpa,                      \
				    .driver_area = (cfg)->avail_gpa,                   \
				    .device_area = (cfg)->used_gpa })

static void assert_state_equal(const struct virtq_state *got, const struct virtq_state *want)
{
#define SAME(field)                                                                    \
	do {                                                                           \
		if (got->field != want->field)                                         \
			fail_msg("state." #field " = %llu, expected %llu",            \
				 (unsigned long long)got->field,                       \
				 (unsigned long long)want->field);                     \
	} while (0)
	SAME(max_size);
	SAME(size);
	SAME(features);
	SAME(desc_gpa);
	SAME(avail_gpa);
	SAME(used_gpa);
	SAME(active);
	SAME(broken);
	SAME(next_avail);
	SAME(next_used);
	SAME(published_used);
	SAME(in_flight);
	SAME(signalled_used);
	SAME(signalled_valid);
	SAME(notify_enabled);
	SAME(unpop_depth);
	SAME(avail_pos);
	SAME(avail_wrap);
	SAME(used_pos);
	SAME(used_wrap);
	SAME(signal_slots);
	const uint32_t held = want->in_flight + (uint16_t)(want->next_used - want->published_used);
	for (uint32_t i = 0; i < held && i < VIRTQ_MAX_SIZE; i++)
		SAME(heads[i]);
#undef SAME
}

#define RING_PACKED VIRTQ_FEATURE(VIRTQ_F_RING_PACKED)

/* The length virtq_state_encode() gives s: version 3 for an active packed
 * queue, else version 1 when nothing is held. */
static size_t encoded_len(const struct virtq_state *s)
{
	const uint32_t held = s->in_flight + (uint16_t)(s->next_used - s->published_used);
	if (s->active && (s->features & RING_PACKED))
		return VIRTQ_STATE_V3_FIXED_SIZE;
	return held ? VIRTQ_STATE_V2_FIXED_SIZE + 2u * held : V1;
}

/* Every field but heads[] non-zero, so a decode that must zero them is seen. */
static void poison(struct virtq_state *s)
{
	memset(s, 0x5a, offsetof(struct virtq_state, heads));
}

static void assert_bytes_equal(const unsigned char *got, const unsigned char *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("byte %zu = 0x%02x, expected 0x%02x", i, got[i], want[i]);
}

/* Guest memory as it was before the call under test: restore must not write
 * it at all, and the mock's write check alone would allow the used ring. */
static struct {
	unsigned char *bytes;
	size_t len;
} before;

static size_t guest_bytes(const struct fixture *f)
{
	size_t n = 0;
	for (uint32_t i = 0; i < f->m.cfg.nregions; i++)
		n += (size_t)f->m.cfg.regions[i].size;
	return n;
}

static void read_guest(struct fixture *f, unsigned char *img)
{
	for (uint32_t i = 0; i < f->m.cfg.nregions; i++) {
		size_t size = (size_t)f->m.cfg.regions[i].size;
		assert_err(virtq_mock_read(&f->m, f->m.cfg.regions[i].gpa, img, size), 0);
		img += size;
	}
}

static void memory_before(struct fixture *f)
{
	assert_err(virtq_mock_snapshot(&f->m), 0);
	free(before.bytes);
	before.len = guest_bytes(f);
	before.bytes = malloc(before.len);
	assert_non_null(before.bytes);
	read_guest(f, before.bytes);
}

static void expect_memory_unchanged(struct fixture *f)
{
	uint64_t bad = 0;
	if (virtq_mock_check_writes(&f->m, &bad))
		fail_msg("guest memory written at gpa 0x%llx", (unsigned long long)bad);
	assert_true(virtq_mock_guards_intact(&f->m));
	unsigned char *now = malloc(before.len);
	assert_non_null(now);
	read_guest(f, now);
	for (size_t i = 0; i < before.len; i++)
		if (now[i] != before.bytes[i])
			fail_msg("guest memory byte %zu changed", i);
	free(now);
	free(before.bytes);
	before.bytes = NULL;
}

static struct fixture *new_fixture(uint64_t features, bool two_regions)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	fixture_config(&f->cfg);
	f->cfg.features |= features;
	if (two_regions) { /* [0, 1 MiB) and [1 MiB, 2 MiB), adjacent */
		f->cfg.nregions = 2;
		f->cfg.regions[1] = (struct virtq_mock_region){ .gpa = MiB, .size = MiB };
	}
	fixture_start(f);
	return f;
}

static void free_fixture(struct fixture *f)
{
	fixture_stop(f);
	free(f);
}

static int setup_event_idx(void **state)
{
	*state = new_fixture(EVENT_IDX, false);
	return 0;
}

/* States the differential tests must have moved a queue in, or they prove less. */
static struct {
	unsigned in_flight, unpublished, notify_off, unsignalled, wrapped;
} seen;

static void note_seen(const struct virtq_state *s)
{
	seen.in_flight += s->in_flight > 0;
	seen.unpublished += s->next_used != s->published_used;
	seen.notify_off += s->active && !s->notify_enabled;
	seen.unsignalled += s->active && !s->signalled_valid;
	seen.wrapped += s->next_avail < s->published_used; /* the live window crosses 65535 */
}

/*
 * Migrates f->q as a VMM would: save, encode, decode, restore into a fresh
 * struct virtq on the same guest memory, and drop the original. Restoring
 * writes no guest memory, and the restored queue saves to the same state.
 */
static void move_queue(struct fixture *f)
{
	static struct virtq_state saved, carried, again;
	static unsigned char stream[MAX_BYTES];
	struct virtq moved;

	assert_err(virtq_save(&f->q, &saved), 0);
	assert_err(virtq_state_check(&saved), 0);
	const size_t len = encoded_len(&saved);
	assert_err(virtq_state_encode(&saved, stream, sizeof(stream)), len);
	assert_err(virtq_state_decode(&carried, stream, len), 0);
	assert_state_equal(&carried, &saved);

	assert_err(virtq_init(&moved, &f->m.mem, VIRTQ_MAX_SIZE), 0);
	/* The device's in-flight area comes along (it is the same device). */
	assert_err(virtq_set_inflight(&moved, f->m.inflight, f->m.inflight_bytes), 0);
	/* Leftovers of an earlier life of this struct must not survive restore. */
	moved.region_hint = 1;
	moved.shadow_avail = (uint16_t)(saved.next_avail + 1u);
	memory_before(f);
	assert_err(virtq_restore(&moved, &f->m.mem, &carried), 0);
	expect_memory_unchanged(f);
	assert_int_equal(moved.shadow_avail, moved.next_avail);
	assert_int_equal(moved.region_hint, UINT32_MAX); /* none: the first buffer looks it up */
	assert_err(virtq_save(&moved, &again), 0);
	assert_state_equal(&again, &saved);

	note_seen(&saved);
	memset(&f->q, 0x5a, sizeof(f->q)); /* the original plays no further part */
	f->q = moved;
}

/* ---- restore continues exactly: explicit ---------------------------------- */

/* Chains in flight, an unpublished used entry, EVENT_IDX: all carry over. */
static void test_continue_in_flight_event_idx(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	int h[4];
	for (int i = 0; i < 4; i++)
		h[i] = fixture_post(f, 16, 16, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 5), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_needs_notify(&f->q), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[1], 7), 0); /* not published */
	assert_err(virtq_pop(&f->q, &f->c), 1);                  /* h[2] in flight */
	assert_int_equal(virtq_mock_avail_event(&f->m), 3);

	move_queue(f);

	assert_int_equal(virtq_in_flight(&f->q), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, h[3]);
	assert_int_equal(f->c.read_len, 16);
	assert_int_equal(f->c.write_len, 16);
	assert_int_equal(virtq_mock_avail_event(&f->m), 4);
	assert_err(virtq_pop(&f->q, &f->c), 0);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[2], 9), 0);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[3], 11), 0);
	assert_err(virtq_mock_set_used_event(&f->m, 2), 0);
	assert_int_equal(virtq_mock_used_idx(&f->m), 1);
	assert_err(virtq_publish_used(&f->q), 3); /* h[1] from before the move, h[2], h[3] */
	assert_err(virtq_needs_notify(&f->q), 1); /* 1 -> 4 crosses used_event 2 */
	assert_err(virtq_needs_notify(&f->q), 0);
	static const uint32_t lens[4] = { 5, 7, 9, 11 };
	for (int i = 0; i < 4; i++) {
		assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
		assert_int_equal(id, h[i]);
		assert_int_equal(len, lens[i]);
	}
	assert_int_equal(virtq_in_flight(&f->q), 0);
}

/*
 * The original had read avail.idx ahead of what it popped; the restored queue
 * has not (state.h). Chains and used entries are the same; enable_notify()
 * says entries are pending, and each pop moves avail_event on as usual.
 */
static void test_continue_after_read_ahead(void **state)
{
	struct fixture *f = *state;
	int h[3];
	for (int i = 0; i < 3; i++)
		h[i] = fixture_post(f, 16, 0, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1); /* reads avail.idx 3, pops one */
	assert_err(virtq_disable_notify(&f->q), 0);

	move_queue(f);

	assert_err(virtq_enable_notify(&f->q), 1); /* two pending: pop before sleeping */
	assert_int_equal(virtq_mock_avail_event(&f->m), 1); /* unmoved: 3, the idx it read */
	for (int i = 1; i < 3; i++) {
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_int_equal(f->c.id, h[i]);
		assert_int_equal(virtq_mock_avail_event(&f->m), i + 1);
	}
	assert_err(virtq_pop(&f->q, &f->c), 0);
	assert_err(virtq_enable_notify(&f->q), 0);
	(void)virtq_mock_should_kick(&f->m); /* the driver's baseline: all posted so far */
	fixture_post(f, 16, 0, 0);
	assert_true(virtq_mock_should_kick(&f->m)); /* no wakeup lost */
}

/* Restoring a queue onto itself changes nothing. */
static void test_restore_onto_itself(void **state)
{
	struct fixture *f = *state;
	struct virtq_state s, again;
	fixture_post(f, 16, 16, 0);
	int second = fixture_post(f, 16, 16, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_save(&f->q, &s), 0);
	assert_err(virtq_restore(&f->q, &f->m.mem, &s), 0);
	assert_err(virtq_save(&f->q, &again), 0);
	assert_state_equal(&again, &s);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, second);
}

/* A configured, not activated queue: configuration carries over, activation
 * (not restore) validates the rings, as for a queue that was never moved. */
static void test_restore_inactive(void **state)
{
	struct fixture *f = *state;
	struct virtq configured, restored;
	struct virtq_state s, again;
	const struct virtq_mock_config *cfg = &f->m.cfg;

	assert_err(virtq_init(&configured, &f->m.mem, 16), 0);
	assert_err(virtq_set_inflight(&configured, f->m.inflight, f->m.inflight_bytes), 0);
	assert_err(virtq_set_size(&configured, 8), 0);
	assert_err(virtq_set_addrs(&configured, &rings_of(cfg)), 0);
	assert_err(virtq_set_features(&configured, cfg->features), 0);
	assert_err(virtq_save(&configured, &s), 0);
	assert_false(s.active);
	assert_int_equal(s.max_size, 16);
	assert_int_equal(s.size, 8);

	assert_err(virtq_init(&restored, &f->m.mem, 16), 0);
	assert_err(virtq_set_inflight(&restored, f->m.inflight, f->m.inflight_bytes), 0);
	memory_before(f);
	assert_err(virtq_restore(&restored, &f->m.mem, &s), 0);
	expect_memory_unchanged(f);
	assert_false(virtq_is_active(&restored));
	assert_int_equal(virtq_size(&restored), 8);
	assert_err(virtq_pop(&restored, &f->c), -VIRTQ_ENOTREADY);
	assert_err(virtq_save(&restored, &again), 0);
	assert_state_equal(&again, &s);

	/* The driver sets DRIVER_OK after the move: activation works as usual. */
	assert_err(virtq_activate(&restored), 0);
	int head = fixture_post(f, 16, 0, 0);
	assert_err(virtq_pop(&restored, &f->c), 1);
	assert_int_equal(f->c.id, head);

	/* Rings outside memory are the activation's to refuse, not restore's. */
	s.used_gpa = 4 * MiB;
	assert_err(virtq_restore(&restored, &f->m.mem, &s), 0);
	assert_false(virtq_is_active(&restored));
	assert_err(virtq_activate(&restored), -VIRTQ_EBADADDR);
}

/* A broken queue stays broken across a move, and recovers by reset. */
static void test_restore_broken(void **state)
{
	struct fixture *f = *state;
	struct virtq_state s;
	assert_err(virtq_mock_set_avail_idx(&f->m, 9), 0);
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBADIDX);
	assert_err(virtq_save(&f->q, &s), 0);
	assert_true(s.broken);
	move_queue(f);
	assert_true(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_EBROKEN);
	assert_err(virtq_publish_used(&f->q), -VIRTQ_EBROKEN);
	virtq_reset(&f->q);
	assert_false(virtq_is_broken(&f->q));
}

static void test_save_misuse(void **state)
{
	struct fixture *f = *state;
	struct virtq_state s;
	struct virtq never_initialized;
	memset(&never_initialized, 0, sizeof(never_initialized));
	assert_err(virtq_save(NULL, &s), -VIRTQ_EINVAL);
	assert_err(virtq_save(&f->q, NULL), -VIRTQ_EINVAL);
	assert_err(virtq_save(&never_initialized, &s), -VIRTQ_EINVAL);
	assert_err(virtq_state_check(NULL), -VIRTQ_EINVAL);
}

/* ---- restore continues exactly: differential ------------------------------ */

/*
 * A script of device and driver operations runs once straight through, then
 * once per position with the queue moved (move_queue) before that step. Every
 * run must observe exactly the same: return values, chains (ids, lengths,
 * guest addresses), used entries, used.idx, used flags, avail_event, kick
 * decisions, in-flight count, and the final saved state.
 *
 * One documented exception (state.h): the avail.idx the queue last read is a
 * cache, not state, and a restored queue reads avail.idx afresh. If the
 * original had read ahead (seen entries it had not popped yet), the avail_event
 * hints it writes, and the driver's kicks that follow from them, may differ.
 * Such a move is compared exactly with a straight run whose cache is dropped
 * at the same point, and with the plain straight run except those hints.
 */
enum step_kind {
	POST,        /* driver posts 16 readable bytes + arg writable bytes */
	POP,         /* device pops; the chain joins the device's in-flight list */
	USE,         /* device returns its oldest in-flight chain, arg bytes written */
	PUBLISH,     /* virtq_publish_used */
	NOTIFY,      /* virtq_needs_notify */
	ENABLE,      /* virtq_enable_notify */
	DISABLE,     /* virtq_disable_notify */
	UNPOP,       /* virtq_unpop of the newest in-flight chain */
	CONSUME,     /* driver takes one used entry */
	KICK,        /* driver's kick decision */
	USED_EVENT,  /* driver writes used_event = arg */
	AVAIL_FLAGS, /* driver writes avail flags = arg */
};

struct step {
	enum step_kind kind;
	uint32_t arg;
};

struct script {
	const char *name;
	const struct step *steps;
	size_t nsteps;
	uint64_t features;
	uint32_t warmup; /* complete requests before the script: moves indices on */
};

#define TRACE_MAX 2048
struct trace {
	size_t n;
	struct {
		size_t step;
		int64_t value;
		bool hint; /* avail_event, or a kick decision that follows from it */
	} e[TRACE_MAX];
};

struct device { /* the VMM's own list of chains it works on */
	uint16_t heads[16];
	uint32_t n;
};

static void note_as(struct trace *t, size_t step, int64_t value, bool hint)
{
	assert_true(t->n < TRACE_MAX);
	t->e[t->n].step = step;
	t->e[t->n].hint = hint;
	t->e[t->n++].value = value;
}

static void note(struct trace *t, size_t step, int64_t value)
{
	note_as(t, step, value, false);
}

static void note_chain(struct fixture *f, struct trace *t, size_t step)
{
	note(t, step, f->c.id);
	note(t, step, f->c.read_len);
	note(t, step, f->c.write_len);
	for (uint32_t i = 0; i < f->c.nseg; i++) {
		uint64_t gpa = 0;
		assert_true(virtq_mock_gpa_of(&f->m, f->c.segs[i].addr, &gpa));
		note(t, step, (int64_t)gpa);
		note(t, step, (int64_t)f->c.segs[i].len);
	}
}

static void note_state(struct fixture *f, struct trace *t, size_t step)
{
	static struct virtq_state s;
	static unsigned char b[MAX_BYTES];
	assert_err(virtq_save(&f->q, &s), 0);
	const size_t len = encoded_len(&s);
	assert_err(virtq_state_encode(&s, b, sizeof(b)), len);
	for (size_t i = 0; i < len; i++)
		note(t, step, b[i]);
}

static int64_t do_step(struct fixture *f, struct device *dev, const struct step *s,
		       struct trace *t, size_t i)
{
	uint32_t id = 0, len = 0;
	int64_t r;
	switch (s->kind) {
	case POST:
		return fixture_post(f, 16, s->arg, 0);
	case POP:
		r = virtq_pop(&f->q, &f->c);
		if (r == 1) {
			assert_true(dev->n < 16);
			dev->heads[dev->n++] = f->c.id;
			note_chain(f, t, i);
		}
		return r;
	case USE:
		assert_true(dev->n > 0);
		r = virtq_add_used(&f->q, dev->heads[0], s->arg);
		if (r == 0)
			memmove(dev->heads, dev->heads + 1, --dev->n * sizeof(dev->heads[0]));
		return r;
	case PUBLISH:
		return virtq_publish_used(&f->q);
	case NOTIFY:
		return virtq_needs_notify(&f->q);
	case ENABLE:
		return virtq_enable_notify(&f->q);
	case DISABLE:
		return virtq_disable_notify(&f->q);
	case UNPOP:
		r = virtq_unpop(&f->q);
		if (r == 0)
			dev->n--;
		return r;
	case CONSUME:
		r = virtq_mock_get_used(&f->m, &id, &len);
		note(t, i, id);
		note(t, i, len);
		return r;
	case KICK:
		return virtq_mock_should_kick(&f->m);
	case USED_EVENT:
		return virtq_mock_set_used_event(&f->m, (uint16_t)s->arg);
	case AVAIL_FLAGS:
		return virtq_mock_set_avail_flags(&f->m, (uint16_t)s->arg);
	}
	fail_msg("unknown step kind %d", (int)s->kind);
	return 0;
}

/* Complete requests through one fixed buffer, without notification decisions. */
static void warm_up(struct fixture *f, uint32_t n)
{
	struct virtq_mock_buf b = { f->m.cfg.buf_end - 16, 16, true };
	uint32_t id, len;
	for (uint32_t i = 0; i < n; i++) {
		assert_true(virtq_mock_add_chain(&f->m, &b, 1, 0) >= 0);
		assert_err(virtq_pop(&f->q, &f->c), 1);
		assert_err(virtq_add_used(&f->q, f->c.id, i), 0);
		assert_err(virtq_publish_used(&f->q), 1);
		assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	}
}

enum run_kind {
	RUN_STRAIGHT,      /* the queue is never moved */
	RUN_MOVED,	   /* moved (save, encode, decode, restore) before step `at` */
	RUN_CACHE_DROPPED, /* not moved; its avail.idx cache dropped before step `at` */
};

/* Runs a script; returns whether the queue had read ahead at step `at`. */
static bool run_script(const struct script *sc, enum run_kind kind, size_t at, struct trace *t)
{
	struct fixture *f = new_fixture(sc->features, false);
	struct device dev = { .n = 0 };
	bool read_ahead = false;
	warm_up(f, sc->warmup);
	t->n = 0;
	for (size_t i = 0; i <= sc->nsteps; i++) {
		if (i == at && kind != RUN_STRAIGHT) {
			read_ahead = f->q.shadow_avail != f->q.next_avail;
			if (kind == RUN_MOVED)
				move_queue(f);
			else
				f->q.shadow_avail = f->q.next_avail; /* restore's doing, alone */
		}
		if (i == sc->nsteps)
			break;
		const struct step *s = &sc->steps[i];
		note_as(t, i, do_step(f, &dev, s, t, i), s->kind == KICK);
		note(t, i, virtq_mock_used_idx(&f->m));
		note(t, i, virtq_mock_used_flags(&f->m));
		note_as(t, i, virtq_mock_avail_event(&f->m), true);
		note(t, i, virtq_in_flight(&f->q));
		note(t, i, virtq_is_broken(&f->q));
	}
	note_state(f, t, sc->nsteps);
	free_fixture(f);
	return read_ahead;
}

static void expect_same_trace(const struct trace *want, const struct trace *got, size_t at,
			      bool except_hints)
{
	size_t n = want->n < got->n ? want->n : got->n;
	for (size_t i = 0; i < n; i++) {
		if (except_hints && want->e[i].hint && got->e[i].hint)
			continue;
		if (want->e[i].step != got->e[i].step || want->e[i].value != got->e[i].value)
			fail_msg("moved before step %zu: step %zu observed %lld, expected %lld", at,
				 got->e[i].step, (long long)got->e[i].value,
				 (long long)want->e[i].value);
	}
	if (want->n != got->n)
		fail_msg("moved before step %zu: %zu observations, expected %zu", at, got->n,
			 want->n);
}

static struct trace straight, moved, dropped;

static void test_restore_continues_exactly(void **state)
{
	const struct script *sc = *state;
	unsigned read_ahead_moves = 0;
	memset(&seen, 0, sizeof(seen));
	run_script(sc, RUN_STRAIGHT, 0, &straight);
	for (size_t at = 0; at <= sc->nsteps; at++) {
		bool read_ahead = run_script(sc, RUN_MOVED, at, &moved);
		expect_same_trace(&straight, &moved, at, read_ahead);
		if (read_ahead) {
			run_script(sc, RUN_CACHE_DROPPED, at, &dropped);
			expect_same_trace(&dropped, &moved, at, false);
			read_ahead_moves++;
		}
	}
	/* The script really moved queues in the interesting states. */
	assert_true(seen.in_flight > 0);
	assert_true(seen.unpublished > 0);
	assert_true(seen.notify_off > 0);
	assert_true(seen.unsignalled > 0);
	assert_true(read_ahead_moves > 0);
	if (sc->warmup)
		assert_true(seen.wrapped > 0);
}

/* Without EVENT_IDX: NO_INTERRUPT and the used ring's NO_NOTIFY flag. */
static const struct step plain_steps[] = {
	{ POST, 8 },	   { POST, 0 },	   { POST, 16 },   { POST, 4 },	   { POP, 0 },
	{ POP, 0 },	   { USE, 5 },	   { PUBLISH, 0 }, { NOTIFY, 0 },  { USE, 7 },
	{ POP, 0 },	   { NOTIFY, 0 },  { POP, 0 },	   { POP, 0 },	   { USE, 1 },
	{ USE, 2 },	   { PUBLISH, 0 }, { NOTIFY, 0 },  { CONSUME, 0 }, { CONSUME, 0 },
	{ CONSUME, 0 },	   { DISABLE, 0 }, { POST, 8 },	   { KICK, 0 },	   { ENABLE, 0 },
	{ POP, 0 },	   { UNPOP, 0 },   { POP, 0 },	   { ENABLE, 0 },  { AVAIL_FLAGS, 1 },
	{ USE, 3 },	   { PUBLISH, 0 }, { NOTIFY, 0 },  { AVAIL_FLAGS, 0 }, { POST, 8 },
	{ KICK, 0 },	   { POP, 0 },	   { POP, 0 },	   { USE, 9 },	   { PUBLISH, 0 },
	{ NOTIFY, 0 },	   { CONSUME, 0 }, { CONSUME, 0 }, { CONSUME, 0 }, { POP, 0 },
};

/* With EVENT_IDX: used_event and avail_event, also while disabled. */
static const struct step event_idx_steps[] = {
	{ POST, 8 },	{ KICK, 0 },	{ POST, 0 },	   { KICK, 0 },	   { POP, 0 },
	{ POST, 16 },	{ KICK, 0 },	{ POP, 0 },	   { USE, 5 },	   { PUBLISH, 0 },
	{ NOTIFY, 0 },	{ USED_EVENT, 3 }, { USE, 7 },	   { POP, 0 },	   { USE, 1 },
	{ PUBLISH, 0 }, { NOTIFY, 0 },	{ CONSUME, 0 },	   { CONSUME, 0 }, { CONSUME, 0 },
	{ DISABLE, 0 }, { POST, 4 },	{ KICK, 0 },	   { POP, 0 },	   { POST, 4 },
	{ KICK, 0 },	{ ENABLE, 0 },	{ POP, 0 },	   { UNPOP, 0 },   { ENABLE, 0 },
	{ POP, 0 },	{ USE, 2 },	{ USED_EVENT, 4 }, { USE, 3 },	   { PUBLISH, 0 },
	{ NOTIFY, 0 },	{ CONSUME, 0 }, { CONSUME, 0 },	   { POST, 8 },	   { KICK, 0 },
	{ POP, 0 },	{ USE, 6 },	{ PUBLISH, 0 },	   { NOTIFY, 0 },  { CONSUME, 0 },
};

#define STEPS(a) (a), sizeof(a) / sizeof((a)[0])
static const struct script scripts[] = {
	{ "continues_exactly_plain", STEPS(plain_steps), 0, 0 },
	{ "continues_exactly_event_idx", STEPS(event_idx_steps), EVENT_IDX, 0 },
	/* Every index starts at 65533; by step 16 every index has wrapped, so moves
	 * happen on both sides of the wrap. The prefix keeps the 65533 warm-up
	 * cycles per run affordable. */
	{ "continues_exactly_across_wrap", event_idx_steps, 24, EVENT_IDX, 65533 },
};

/* ---- restore rejections ---------------------------------------------------- */

/* The device offers 16, the driver picks 8: a state's max_size and size
 * differ, so a check made against the wrong one of the two is seen. */
#define BUSY_MAX 16u
#define BUSY_SIZE 8u

/*
 * A queue of max size 16 and size 8 on the fixture's rings with history:
 * three chains posted and popped, one returned and published, one returned
 * and not published, one in flight (next_avail 3, next_used 2,
 * published_used 1).
 */
static struct fixture *busy_fixture(bool two_regions)
{
	struct fixture *f = new_fixture(0, two_regions);
	const struct virtq_mock_config *cfg = &f->m.cfg;
	int h[3];
	assert_err(virtq_init(&f->q, &f->m.mem, BUSY_MAX), 0);
	assert_err(virtq_set_inflight(&f->q, f->m.inflight, f->m.inflight_bytes), 0);
	assert_err(virtq_set_size(&f->q, BUSY_SIZE), 0);
	assert_err(virtq_set_addrs(&f->q, &rings_of(cfg)), 0);
	assert_err(virtq_set_features(&f->q, cfg->features), 0);
	assert_err(virtq_activate(&f->q), 0);
	for (int i = 0; i < 3; i++)
		h[i] = fixture_post(f, 16, 16, 0);
	for (int i = 0; i < 3; i++)
		assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[0], 1), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	assert_err(virtq_needs_notify(&f->q), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[1], 2), 0); /* h[2] stays in flight */
	return f;
}

/* The state of virtq_reset(): nothing of the queue's history is left. */
static void expect_reset(struct fixture *f)
{
	struct virtq_state s, want;
	memset(&want, 0, sizeof(want));
	want.max_size = want.size = BUSY_MAX;
	assert_false(virtq_is_active(&f->q));
	assert_false(virtq_is_broken(&f->q));
	assert_err(virtq_pop(&f->q, &f->c), -VIRTQ_ENOTREADY);
	assert_err(virtq_add_used(&f->q, 0, 0), -VIRTQ_ENOTREADY);
	assert_int_equal(virtq_in_flight(&f->q), 0);
	assert_err(virtq_save(&f->q, &s), 0);
	assert_state_equal(&s, &want);
}

/* The reset queue takes a good state and carries on with the next chain. */
static void expect_good_restore_works(struct fixture *f, const struct virtq_state *good)
{
	assert_err(virtq_restore(&f->q, &f->m.mem, good), 0);
	int head = fixture_post(f, 16, 16, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, head);
	assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
	assert_err(virtq_publish_used(&f->q), 2); /* and the unpublished entry before it */
}

struct bad_state {
	const char *name;
	void (*spoil)(struct virtq_state *s);
	int err;
	bool two_regions;
};

/* virtq_state_check: sizes */
static void max_size_zero(struct virtq_state *s) { s->max_size = 0; }
static void max_size_not_pow2(struct virtq_state *s) { s->max_size = 24; }
static void max_size_too_large(struct virtq_state *s) { s->max_size = 65536; }
static void size_zero(struct virtq_state *s) { s->size = 0; }
static void size_not_pow2(struct virtq_state *s) { s->size = 6; }
static void size_above_saved_max(struct virtq_state *s) { s->size = 32; }
/* virtq_state_check: indices of an active queue (each spoiler keeps the others true) */
static void in_flight_above_size(struct virtq_state *s)
{
	s->in_flight = 9;
	s->next_avail = (uint16_t)(s->next_used + 9);
}
static void in_flight_disagrees(struct virtq_state *s) { s->in_flight = 2; }
/* max_size (16) is not the bound of anything held: size (8) is */
static void in_flight_above_size_below_max(struct virtq_state *s)
{
	s->in_flight = BUSY_SIZE + 1;
	s->next_used = s->published_used; /* nothing unpublished: only in_flight is over */
	s->next_avail = (uint16_t)(s->next_used + s->in_flight);
	for (uint16_t i = 0; i < s->in_flight; i++)
		s->heads[i] = i; /* distinct, and all but the last below size */
}
static void held_above_size_below_max(struct virtq_state *s)
{
	s->next_used = (uint16_t)(s->published_used + BUSY_SIZE); /* 8 unpublished + 1 in flight */
	s->next_avail = (uint16_t)(s->next_used + s->in_flight);
	for (uint16_t i = 0; i < BUSY_SIZE; i++)
		s->heads[i] = (uint16_t)(i | VIRTQ_STATE_HEAD_USED);
	s->heads[BUSY_SIZE] = BUSY_SIZE; /* between size and max_size */
}
static void unpublished_above_size(struct virtq_state *s)
{
	s->next_used = (uint16_t)(s->published_used + 9); /* used.idx in memory still matches */
	s->next_avail = (uint16_t)(s->next_used + s->in_flight);
}
/* virtq_state_check: the heads held, busy_fixture's [h[1] unpublished, h[2]] */
static void head_out_of_range(struct virtq_state *s) { s->heads[1] = BUSY_SIZE; } /* < max_size */
static void head_at_max_size(struct virtq_state *s) { s->heads[1] = BUSY_MAX; }
static void head_twice(struct virtq_state *s)
{
	s->heads[1] = s->heads[0] & (uint16_t)~VIRTQ_STATE_HEAD_USED;
}
static void completion_unmarked(struct virtq_state *s)
{
	s->heads[0] &= (uint16_t)~VIRTQ_STATE_HEAD_USED;
}
static void unpop_depth_above_in_flight(struct virtq_state *s) { s->unpop_depth = 2; }
static void undoable_behind_a_completion(struct virtq_state *s)
{
	uint16_t first = s->heads[0];
	s->heads[0] = s->heads[1];
	s->heads[1] = first; /* [h[2], h[1] unpublished], depth 1 */
}
static void held_above_size(struct virtq_state *s)
{
	s->next_used = (uint16_t)(s->published_used + 8); /* 8 unpublished + 1 in flight */
	s->next_avail = (uint16_t)(s->next_used + s->in_flight);
}
/* virtq_state_check: an inactive queue is at its reset values */
static void make_inactive(struct virtq_state *s)
{
	s->active = s->broken = s->signalled_valid = s->notify_enabled = false;
	s->next_avail = s->next_used = s->published_used = s->signalled_used = 0;
	s->in_flight = s->unpop_depth = 0;
}
#define INACTIVE_WITH(field, value)                                     \
	static void inactive_with_##field(struct virtq_state *s)        \
	{                                                               \
		make_inactive(s);                                       \
		s->field = value;                                       \
	}
INACTIVE_WITH(broken, true)
INACTIVE_WITH(next_avail, 1)
INACTIVE_WITH(next_used, 65535)
INACTIVE_WITH(published_used, 1)
INACTIVE_WITH(in_flight, 1)
INACTIVE_WITH(signalled_used, 1)
INACTIVE_WITH(signalled_valid, true)
INACTIVE_WITH(notify_enabled, true)
INACTIVE_WITH(unpop_depth, 1)
/* the queue's own limit */
static void size_above_queue_max(struct virtq_state *s) { s->size = s->max_size = 32; }
/* the rings, as activation checks them (queue size 8: desc 128 B, avail 22 B, used 70 B) */
static void desc_misaligned(struct virtq_state *s) { s->desc_gpa = 0x10008; }
static void avail_misaligned(struct virtq_state *s) { s->avail_gpa = 0x10001; }
static void used_misaligned(struct virtq_state *s) { s->used_gpa = 0x10002; }
static void desc_outside_memory(struct virtq_state *s) { s->desc_gpa = 4 * MiB; }
static void desc_tail_outside(struct virtq_state *s) { s->desc_gpa = MiB - 112; }
static void used_event_outside(struct virtq_state *s) { s->avail_gpa = MiB - 20; }
static void avail_event_outside(struct virtq_state *s) { s->used_gpa = MiB - 68; }
static void desc_across_regions(struct virtq_state *s) { s->desc_gpa = MiB - 64; }
static void desc_wraps(struct virtq_state *s) { s->desc_gpa = UINT64_MAX - 15; }
static void avail_wraps(struct virtq_state *s) { s->avail_gpa = UINT64_MAX - 1; }
static void used_wraps(struct virtq_state *s) { s->used_gpa = UINT64_MAX - 3; }
/* used.idx in guest memory (1) */
static void used_idx_ahead(struct virtq_state *s)
{
	s->published_used++;
	s->next_used++;
	s->next_avail++;
}
static void used_idx_behind(struct virtq_state *s) { s->published_used--; }

static const struct bad_state bad_states[] = {
	{ "max_size_zero", max_size_zero, -VIRTQ_EBADSTATE, false },
	{ "max_size_not_pow2", max_size_not_pow2, -VIRTQ_EBADSTATE, false },
	{ "max_size_too_large", max_size_too_large, -VIRTQ_EBADSTATE, false },
	{ "size_zero", size_zero, -VIRTQ_EBADSTATE, false },
	{ "size_not_pow2", size_not_pow2, -VIRTQ_EBADSTATE, false },
	{ "size_above_saved_max", size_above_saved_max, -VIRTQ_EBADSTATE, false },
	{ "in_flight_above_size", in_flight_above_size, -VIRTQ_EBADSTATE, false },
	{ "in_flight_disagrees", in_flight_disagrees, -VIRTQ_EBADSTATE, false },
	{ "in_flight_above_size_below_max", in_flight_above_size_below_max, -VIRTQ_EBADSTATE, false },
	{ "held_above_size_below_max", held_above_size_below_max, -VIRTQ_EBADSTATE, false },
	{ "unpublished_above_size", unpublished_above_size, -VIRTQ_EBADSTATE, false },
	{ "held_above_size", held_above_size, -VIRTQ_EBADSTATE, false },
	{ "head_out_of_range", head_out_of_range, -VIRTQ_EBADSTATE, false },
	{ "head_at_max_size", head_at_max_size, -VIRTQ_EBADSTATE, false },
	{ "head_twice", head_twice, -VIRTQ_EBADSTATE, false },
	{ "completion_unmarked", completion_unmarked, -VIRTQ_EBADSTATE, false },
	{ "undoable_behind_a_completion", undoable_behind_a_completion, -VIRTQ_EBADSTATE, false },
	{ "unpop_depth_above_in_flight", unpop_depth_above_in_flight, -VIRTQ_EBADSTATE, false },
	{ "inactive_unpop_depth", inactive_with_unpop_depth, -VIRTQ_EBADSTATE, false },
	{ "inactive_broken", inactive_with_broken, -VIRTQ_EBADSTATE, false },
	{ "inactive_next_avail", inactive_with_next_avail, -VIRTQ_EBADSTATE, false },
	{ "inactive_next_used", inactive_with_next_used, -VIRTQ_EBADSTATE, false },
	{ "inactive_published_used", inactive_with_published_used, -VIRTQ_EBADSTATE, false },
	{ "inactive_in_flight", inactive_with_in_flight, -VIRTQ_EBADSTATE, false },
	{ "inactive_signalled_used", inactive_with_signalled_used, -VIRTQ_EBADSTATE, false },
	{ "inactive_signalled_valid", inactive_with_signalled_valid, -VIRTQ_EBADSTATE, false },
	{ "inactive_notify_enabled", inactive_with_notify_enabled, -VIRTQ_EBADSTATE, false },
	{ "size_above_queue_max", size_above_queue_max, -VIRTQ_EINVAL, false },
	{ "desc_misaligned", desc_misaligned, -VIRTQ_EINVAL, false },
	{ "avail_misaligned", avail_misaligned, -VIRTQ_EINVAL, false },
	{ "used_misaligned", used_misaligned, -VIRTQ_EINVAL, false },
	{ "desc_outside_memory", desc_outside_memory, -VIRTQ_EBADADDR, false },
	{ "desc_tail_outside", desc_tail_outside, -VIRTQ_EBADADDR, false },
	{ "used_event_outside", used_event_outside, -VIRTQ_EBADADDR, false },
	{ "avail_event_outside", avail_event_outside, -VIRTQ_EBADADDR, false },
	{ "desc_across_regions", desc_across_regions, -VIRTQ_EBADADDR, true },
	{ "desc_wraps", desc_wraps, -VIRTQ_EOVERFLOW, false },
	{ "avail_wraps", avail_wraps, -VIRTQ_EOVERFLOW, false },
	{ "used_wraps", used_wraps, -VIRTQ_EOVERFLOW, false },
	{ "used_idx_ahead", used_idx_ahead, -VIRTQ_EBADSTATE, false },
	{ "used_idx_behind", used_idx_behind, -VIRTQ_EBADSTATE, false },
};

static void test_restore_rejects(void **state)
{
	const struct bad_state *bc = *state;
	struct fixture *f = busy_fixture(bc->two_regions);
	static struct virtq_state good, bad;
	assert_err(virtq_save(&f->q, &good), 0);
	bad = good;
	bc->spoil(&bad);
	memory_before(f);
	assert_err(virtq_restore(&f->q, &f->m.mem, &bad), bc->err);
	expect_reset(f);
	expect_memory_unchanged(f);
	expect_good_restore_works(f, &good);
	free_fixture(f);
}

/* Argument errors reset the queue too: no call leaves it half-restored. */
static void test_restore_misuse(void **state)
{
	(void)state;
	struct fixture *f = busy_fixture(false);
	static struct virtq_state good;
	struct virtq_mem other;
	assert_err(virtq_save(&f->q, &good), 0);
	memory_before(f);
	assert_err(virtq_restore(NULL, &f->m.mem, &good), -VIRTQ_EINVAL);
	assert_true(virtq_is_active(&f->q));
	assert_err(virtq_restore(&f->q, NULL, &good), -VIRTQ_EINVAL);
	expect_reset(f);
	assert_err(virtq_restore(&f->q, &f->m.mem, &good), 0);
	assert_err(virtq_restore(&f->q, &f->m.mem, NULL), -VIRTQ_EINVAL);
	expect_reset(f);
	assert_err(virtq_restore(&f->q, &f->m.mem, &good), 0);
	other = f->m.mem; /* the same regions, but not the map q was initialized on */
	assert_err(virtq_restore(&f->q, &other, &good), -VIRTQ_EINVAL);
	expect_reset(f);
	expect_memory_unchanged(f);
	expect_good_restore_works(f, &good);
	free_fixture(f);
}

/* The order of restore's checks is the documented one. */
static void test_restore_check_order(void **state)
{
	(void)state;
	struct fixture *f = busy_fixture(false);
	static struct virtq_state good, bad;
	assert_err(virtq_save(&f->q, &good), 0);
	/* the queue's max size before its in-flight area, the area before the rings */
	struct virtq bare;
	assert_err(virtq_init(&bare, &f->m.mem, BUSY_MAX), 0);
	bad = good;
	size_above_queue_max(&bad);
	assert_err(virtq_restore(&bare, &f->m.mem, &bad), -VIRTQ_EINVAL);
	bad = good;
	desc_outside_memory(&bad);
	assert_err(virtq_restore(&bare, &f->m.mem, &bad), -VIRTQ_EINVAL); /* no area */
	assert_err(virtq_set_inflight(&bare, f->m.inflight, VIRTQ_INFLIGHT_BYTES(4)), 0);
	assert_err(virtq_restore(&bare, &f->m.mem, &good), -VIRTQ_EINVAL); /* area for 4 */
	assert_err(virtq_set_inflight(&bare, f->m.inflight, VIRTQ_INFLIGHT_BYTES(8)), 0);
	assert_err(virtq_restore(&bare, &f->m.mem, &bad), -VIRTQ_EBADADDR);
	assert_err(virtq_restore(&bare, &f->m.mem, &good), 0);
	/* state itself before the queue's max size */
	bad = good;
	size_above_queue_max(&bad);
	bad.in_flight = 2;
	assert_err(virtq_restore(&f->q, &f->m.mem, &bad), -VIRTQ_EBADSTATE);
	/* queue's max size before the rings */
	bad = good;
	size_above_queue_max(&bad);
	desc_outside_memory(&bad);
	assert_err(virtq_restore(&f->q, &f->m.mem, &bad), -VIRTQ_EINVAL);
	/* rings before used.idx */
	bad = good;
	used_idx_ahead(&bad);
	used_event_outside(&bad);
	assert_err(virtq_restore(&f->q, &f->m.mem, &bad), -VIRTQ_EBADADDR);
	/* the rings in order desc, avail, used, as activation */
	bad = good;
	used_misaligned(&bad);
	avail_wraps(&bad);
	desc_outside_memory(&bad);
	assert_err(virtq_restore(&f->q, &f->m.mem, &bad), -VIRTQ_EBADADDR);
	free_fixture(f);
}

/*
 * The chains a saved queue held come back held: those in flight, listed in
 * pop order, resubmitted with their segments, completed once; the completed
 * unpublished one cannot be completed again and is published first.
 */
static void test_restore_in_flight_resubmit(void **state)
{
	(void)state;
	struct fixture *f = busy_fixture(false); /* h[2] in flight, h[1] unpublished */
	static struct virtq_state s;
	uint16_t heads[8];
	uint32_t id, len;
	assert_err(virtq_save(&f->q, &s), 0);
	assert_int_equal(s.in_flight, 1);
	assert_int_equal(s.unpop_depth, 1);
	assert_int_equal(s.heads[0] & VIRTQ_STATE_HEAD_USED, VIRTQ_STATE_HEAD_USED);
	const uint16_t unpublished = s.heads[0] & 0x7fff, in_flight = s.heads[1];
	struct virtq fresh; /* another queue struct, as on a destination */
	assert_err(virtq_init(&fresh, &f->m.mem, BUSY_MAX), 0);
	assert_err(virtq_set_inflight(&fresh, f->m.inflight, f->m.inflight_bytes), 0);
	assert_err(virtq_restore(&fresh, &f->m.mem, &s), 0);
	f->q = fresh;
	assert_err(virtq_in_flight_list(&f->q, heads, 8), 1);
	assert_int_equal(heads[0], in_flight);
	assert_err(virtq_resubmit(&f->q, in_flight, &f->c), 1);
	assert_int_equal(f->c.id, in_flight);
	assert_int_equal(f->c.read_len, 16);
	assert_int_equal(f->c.write_len, 16);
	assert_err(virtq_resubmit(&f->q, unpublished, &f->c), -VIRTQ_EINVAL);
	assert_err(virtq_add_used(&f->q, unpublished, 2), -VIRTQ_EINVAL);
	assert_err(virtq_add_used(&f->q, in_flight, 3), 0);
	assert_err(virtq_publish_used(&f->q), 2);
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 1); /* h[0], before the save */
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	assert_int_equal(id, unpublished);
	assert_int_equal(len, 2);
	assert_err(virtq_mock_get_used(&f->m, &id, &len), 1);
	assert_int_equal(id, in_flight);
	assert_int_equal(len, 3);
	free_fixture(f);
}

/* unpop after a move takes back what it could have before, and no more. */
static void test_restore_keeps_unpop_depth(void **state)
{
	struct fixture *f = *state;
	int h[4];
	for (int i = 0; i < 4; i++)
		h[i] = fixture_post(f, 16, 0, 0);
	for (int i = 0; i < 4; i++)
		assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_err(virtq_add_used(&f->q, (uint16_t)h[1], 0), 0); /* h[2], h[3] undoable */
	move_queue(f);
	assert_err(virtq_unpop(&f->q), 0);
	assert_err(virtq_unpop(&f->q), 0);
	assert_err(virtq_unpop(&f->q), -VIRTQ_EINVAL); /* h[1] completed: h[0] stays */
	assert_int_equal(virtq_in_flight(&f->q), 1);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, h[2]);
}

/*
 * The size limit of restore is the restoring queue's own max size (state.h),
 * not the state's max_size: a saved max_size above or below the queue's is
 * no reason to refuse, and the restored queue reports its own.
 */
static void test_restore_limit_is_the_queues(void **state)
{
	(void)state;
	struct fixture *f = busy_fixture(false); /* max 16, size 8 */
	static struct virtq_state good, s, again;
	assert_err(virtq_save(&f->q, &good), 0);
	assert_int_equal(good.max_size, BUSY_MAX);
	assert_int_equal(good.size, BUSY_SIZE);
	const uint32_t saved_max[] = { BUSY_SIZE, BUSY_MAX, VIRTQ_MAX_SIZE };
	const uint32_t queue_max[] = { BUSY_SIZE, BUSY_MAX, VIRTQ_MAX_SIZE };
	for (size_t i = 0; i < 3; i++)
		for (size_t k = 0; k < 3; k++) {
			struct virtq q;
			s = good;
			s.max_size = saved_max[i];
			assert_err(virtq_init(&q, &f->m.mem, queue_max[k]), 0);
			assert_err(virtq_set_inflight(&q, f->m.inflight, f->m.inflight_bytes), 0);
			assert_err(virtq_restore(&q, &f->m.mem, &s), 0);
			assert_err(virtq_save(&q, &again), 0);
			assert_int_equal(again.max_size, queue_max[k]);
			assert_int_equal(again.size, BUSY_SIZE);
			assert_int_equal(virtq_in_flight(&q), 1);
		}
	/* a queue smaller than the state's size refuses it, however large the state's max */
	struct virtq small;
	s = good;
	s.max_size = VIRTQ_MAX_SIZE;
	assert_err(virtq_init(&small, &f->m.mem, BUSY_SIZE / 2), 0);
	assert_err(virtq_set_inflight(&small, f->m.inflight, f->m.inflight_bytes), 0);
	assert_err(virtq_restore(&small, &f->m.mem, &s), -VIRTQ_EINVAL);
	/* and an in-flight area for fewer heads than the state's size, more than half */
	struct virtq short_area;
	assert_err(virtq_init(&short_area, &f->m.mem, BUSY_MAX), 0);
	assert_err(virtq_set_inflight(&short_area, f->m.inflight, VIRTQ_INFLIGHT_BYTES(BUSY_SIZE - 1)), 0);
	assert_err(virtq_restore(&short_area, &f->m.mem, &good), -VIRTQ_EINVAL);
	assert_err(virtq_set_inflight(&short_area, f->m.inflight, VIRTQ_INFLIGHT_BYTES(BUSY_SIZE)), 0);
	assert_err(virtq_restore(&short_area, &f->m.mem, &good), 0);
	free_fixture(f);
}

/* The host mapping of a restored ring must be aligned like its guest address. */
static void test_restore_host_misaligned(void **state)
{
	(void)state;
	static _Alignas(16) unsigned char backing[8192 + 1];
	static unsigned char zeros[sizeof(backing)];
	struct virtq_mem_region slot;
	struct virtq_mem mem;
	struct virtq q;
	static struct virtq_state s;
	memset(&s, 0, sizeof(s));
	s.max_size = s.size = 8;
	s.active = s.notify_enabled = true;
	s.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	s.desc_gpa = 0;
	s.avail_gpa = 4096;
	s.used_gpa = 6144;
	virtq_mem_init(&mem, &slot, 1);
	static _Alignas(8) unsigned char area[VIRTQ_INFLIGHT_BYTES(8)];
	assert_err(virtq_mem_add_region(&mem, 0, 8192, backing + 1), 0);
	assert_err(virtq_init(&q, &mem, 8), 0);
	assert_err(virtq_set_inflight(&q, area, sizeof(area)), 0);
	assert_err(virtq_restore(&q, &mem, &s), -VIRTQ_EINVAL);
	assert_false(virtq_is_active(&q));
	virtq_mem_init(&mem, &slot, 1);
	assert_err(virtq_mem_add_region(&mem, 0, 8192, backing), 0);
	assert_err(virtq_restore(&q, &mem, &s), 0);
	assert_true(virtq_is_active(&q));
	assert_err(virtq_pop(&q, &(struct virtq_chain){ 0 }), 0);
	assert_bytes_equal(backing, zeros, sizeof(backing)); /* restore wrote nothing */
}

/* ---- encoding --------------------------------------------------------------- */

/* Every field a different byte pattern, so the golden bytes pin each offset:
 * three chains in flight and one unpublished, so version 2. Feature bit 34
 * (RING_PACKED) is clear: a split queue (test_decode_rejects has the same
 * bytes with it set, which only version 3 may say). */
static const struct virtq_state golden_state = {
	.max_size = 32768,
	.size = 256,
	.in_flight = 3,
	.features = UINT64_C(0x0102030005060708),
	.desc_gpa = UINT64_C(0x1112131415161718),
	.avail_gpa = UINT64_C(0x2122232425262728),
	.used_gpa = UINT64_C(0x3132333435363738),
	.next_avail = 0x4144,
	.next_used = 0x4141,
	.published_used = 0x4140,
	.signalled_used = 0x5152,
	.active = true,
	.broken = false,
	.signalled_valid = true,
	.notify_enabled = false,
	.unpop_depth = 2,
	.heads = { 0x61, 0xe2 | VIRTQ_STATE_HEAD_USED, 0x03, 0x84 },
};

#define GOLDEN_LEN (V2 + 2 * 4)
static const unsigned char golden_bytes[GOLDEN_LEN] = {
	0x56, 0x51, 0x53, 0x54,				/* magic "VQST" */
	0x02, 0x00,					/* version 2 */
	0x44, 0x00,					/* fixed part: 68 bytes */
	0x05, 0x00, 0x00, 0x00,				/* active, signalled_valid */
	0x00, 0x80, 0x00, 0x00,				/* max_size */
	0x00, 0x01, 0x00, 0x00,				/* size */
	0x03, 0x00, 0x00, 0x00,				/* in_flight */
	0x08, 0x07, 0x06, 0x05, 0x00, 0x03, 0x02, 0x01, /* features (bit 34 clear) */
	0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, /* desc_gpa */
	0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, /* avail_gpa */
	0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, /* used_gpa */
	0x44, 0x41,					/* next_avail */
	0x41, 0x41,					/* next_used */
	0x40, 0x41,					/* published_used */
	0x52, 0x51,					/* signalled_used */
	0x02, 0x00, 0x00, 0x00,				/* unpop_depth */
	0x61, 0x00,					/* heads, oldest pop first: */
	0xe2, 0x80,					/* completed, unpublished */
	0x03, 0x00, 0x84, 0x00,				/* in flight, undoable */
};

/* A drained queue: version 1, exactly as before version 2 existed. */
static const struct virtq_state golden_v1_state = {
	.max_size = 32768,
	.size = 256,
	.features = UINT64_C(0x0102030005060708),
	.desc_gpa = UINT64_C(0x1112131415161718),
	.avail_gpa = UINT64_C(0x2122232425262728),
	.used_gpa = UINT64_C(0x3132333435363738),
	.next_avail = 0x4141,
	.next_used = 0x4141,
	.published_used = 0x4141,
	.signalled_used = 0x5152,
	.active = true,
	.signalled_valid = true,
};

static const unsigned char golden_v1_bytes[V1] = {
	0x56, 0x51, 0x53, 0x54,				/* magic "VQST" */
	0x01, 0x00,					/* version 1 */
	0x40, 0x00,					/* length 64 */
	0x05, 0x00, 0x00, 0x00,				/* active, signalled_valid */
	0x00, 0x80, 0x00, 0x00,				/* max_size */
	0x00, 0x01, 0x00, 0x00,				/* size */
	0x00, 0x00, 0x00, 0x00,				/* in_flight */
	0x08, 0x07, 0x06, 0x05, 0x00, 0x03, 0x02, 0x01, /* features (bit 34 clear) */
	0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, /* desc_gpa */
	0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, /* avail_gpa */
	0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, /* used_gpa */
	0x41, 0x41,					/* next_avail */
	0x41, 0x41,					/* next_used */
	0x41, 0x41,					/* published_used */
	0x52, 0x51,					/* signalled_used */
};

static void expect_golden(const struct virtq_state *state, const unsigned char *bytes,
			  size_t len)
{
	static unsigned char b[MAX_BYTES + 8];
	static struct virtq_state s;
	memset(b, 0xee, sizeof(b));
	assert_int_equal(virtq_state_encoded_size(state), len);
	assert_err(virtq_state_encode(state, b, len + 8), len);
	assert_bytes_equal(b, bytes, len);
	for (size_t i = len; i < len + 8; i++)
		assert_int_equal(b[i], 0xee); /* nothing past the encoding */
	assert_err(virtq_state_decode(&s, bytes, len), 0);
	assert_state_equal(&s, state);
}

/* An active packed queue, nothing held: version 3, the version-2 fixed part
 * (unpop_depth 0) and the packed fields after it. */
static const struct virtq_state golden_v3_state = {
	.max_size = 32768,
	.size = 256,
	.features = UINT64_C(0x0102030405060708), /* bit 34: RING_PACKED */
	.desc_gpa = UINT64_C(0x1112131415161718),
	.avail_gpa = UINT64_C(0x2122232425262728),
	.used_gpa = UINT64_C(0x3132333435363738),
	.next_avail = 0x4141,
	.next_used = 0x4141,
	.published_used = 0x4141,
	.signalled_used = 0x5152,
	.active = true,
	.notify_enabled = true,
	.avail_pos = 0x61,
	.avail_wrap = false,
	.used_pos = 0x61,
	.used_wrap = false,
	.signal_slots = 0x1ff, /* 2 * size - 1 */
};

#define V3 VIRTQ_STATE_V3_FIXED_SIZE
static const unsigned char golden_v3_bytes[V3] = {
	0x56, 0x51, 0x53, 0x54,				/* magic "VQST" */
	0x03, 0x00,					/* version 3 */
	0x4c, 0x00,					/* fixed part: 76 bytes */
	0x09, 0x00, 0x00, 0x00,				/* active, notify_enabled */
	0x00, 0x80, 0x00, 0x00,				/* max_size */
	0x00, 0x01, 0x00, 0x00,				/* size */
	0x00, 0x00, 0x00, 0x00,				/* in_flight */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* features (bit 34 set) */
	0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, /* desc_gpa */
	0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, /* avail_gpa */
	0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, /* used_gpa */
	0x41, 0x41,					/* next_avail */
	0x41, 0x41,					/* next_used */
	0x41, 0x41,					/* published_used */
	0x52, 0x51,					/* signalled_used */
	0x00, 0x00, 0x00, 0x00,				/* unpop_depth */
	0x61, 0x00,					/* avail: pos 0x61, wrap 0 */
	0x61, 0x00,					/* used: pos 0x61, wrap 0 */
	0xff, 0x01, 0x00, 0x00,				/* signal_slots */
};

static void test_encode_golden(void **state)
{
	(void)state;
	static struct virtq_state wrapped;
	static unsigned char wrapped_bytes[V3];
	expect_golden(&golden_state, golden_bytes, GOLDEN_LEN);
	expect_golden(&golden_v1_state, golden_v1_bytes, V1);
	expect_golden(&golden_v3_state, golden_v3_bytes, V3);
	/* both wrap counters in bit 15 of their fields */
	wrapped = golden_v3_state;
	wrapped.avail_wrap = wrapped.used_wrap = true;
	memcpy(wrapped_bytes, golden_v3_bytes, V3);
	wrapped_bytes[69] = wrapped_bytes[71] = 0x80;
	expect_golden(&wrapped, wrapped_bytes, V3);
	/* inactive with RING_PACKED: reset values, version 1 as before */
	wrapped = (struct virtq_state){ .max_size = 1, .size = 1, .features = RING_PACKED };
	assert_int_equal(virtq_state_encoded_size(&wrapped), V1);
	assert_int_equal(virtq_state_encoded_size(NULL), 0);
}

/* Extreme values: sizes 1 and 32768, indices 0 and 65535, all flags, all ones. */
static const struct virtq_state round_trip_states[] = {
	{ .max_size = 1, .size = 1 },
	{ .max_size = 32768, .size = 32768 },
	{ .max_size = 32768, .size = 1, .features = UINT64_MAX, .desc_gpa = UINT64_MAX,
	  .avail_gpa = UINT64_MAX, .used_gpa = UINT64_MAX },
	{ .max_size = 1, .size = 1, .active = true },
	{ .max_size = 1, .size = 1, .active = true, .broken = true, .signalled_valid = true,
	  .notify_enabled = true, .features = UINT64_MAX & ~RING_PACKED, .desc_gpa = UINT64_MAX,
	  .avail_gpa = UINT64_MAX, .used_gpa = UINT64_MAX, .next_avail = 0,
	  .next_used = 65535, .published_used = 65535, .in_flight = 1, .unpop_depth = 1,
	  .signalled_used = 65535 },
	{ .max_size = 1, .size = 1, .active = true, .next_avail = 65535, .next_used = 65535,
	  .published_used = 65534, .signalled_used = 65534, .signalled_valid = true },
	{ .max_size = 32768, .size = 32768, .active = true, .in_flight = 16384,
	  .next_avail = 16383, .next_used = 65535, .published_used = 49151,
	  .unpop_depth = 16384, .signalled_used = 65535, .signalled_valid = true,
	  .notify_enabled = true },
	{ .max_size = 32768, .size = 32768, .active = true, .in_flight = 0,
	  .next_avail = 0, .next_used = 0, .published_used = 32768, .broken = true },
	{ .max_size = 32768, .size = 16, .active = true, .in_flight = 16, .next_avail = 15,
	  .next_used = 65535, .published_used = 65535, .features = EVENT_IDX },
	/* packed (version 3): positions and wrap counters at their extremes */
	{ .max_size = 1, .size = 1, .active = true, .features = RING_PACKED, .avail_wrap = true,
	  .used_wrap = true },
	{ .max_size = 32768, .size = 32768, .active = true, .features = UINT64_MAX,
	  .desc_gpa = UINT64_MAX, .avail_gpa = UINT64_MAX, .used_gpa = UINT64_MAX,
	  .broken = true, .signalled_valid = true, .notify_enabled = true,
	  .next_avail = 65535, .next_used = 65535, .published_used = 65535,
	  .signalled_used = 65535, .avail_pos = 32767, .used_pos = 32767,
	  .signal_slots = 65536 },
	{ .max_size = 32768, .size = 8, .active = true, .features = RING_PACKED | EVENT_IDX,
	  .avail_pos = 7, .used_pos = 7, .avail_wrap = true, .used_wrap = true,
	  .signal_slots = 16 },
};
#define ROUND_TRIP_STATES (sizeof(round_trip_states) / sizeof(round_trip_states[0]))

/* Distinct heads below the size; the unpublished ones popped first. */
static void fill_heads(struct virtq_state *s, uint32_t start, uint32_t stride)
{
	const uint32_t unpublished = (uint16_t)(s->next_used - s->published_used);
	for (uint32_t k = 0; k < s->in_flight + unpublished; k++)
		s->heads[k] = (uint16_t)(((start + k * stride) & (s->size - 1)) |
					 (k < unpublished ? VIRTQ_STATE_HEAD_USED : 0u));
}

/* Table row i with its heads filled in. */
static const struct virtq_state *round_trip_state(size_t i)
{
	static struct virtq_state s;
	s = round_trip_states[i];
	fill_heads(&s, 3, 7); /* an odd stride: a permutation */
	return &s;
}

static void expect_round_trip(const struct virtq_state *want)
{
	static unsigned char b[MAX_BYTES], again[MAX_BYTES];
	static struct virtq_state s;
	const size_t len = encoded_len(want);
	assert_err(virtq_state_check(want), 0);
	assert_err(virtq_state_encode(want, b, sizeof(b)), len);
	assert_err(virtq_state_decode(&s, b, len), 0);
	assert_state_equal(&s, want);
	assert_err(virtq_state_encode(&s, again, sizeof(again)), len);
	assert_bytes_equal(again, b, len);
}

static void test_round_trip_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ROUND_TRIP_STATES; i++)
		expect_round_trip(round_trip_state(i));
}

/* virtq_state_check at the edges of each rule: the limit passes, one more fails. */
static void test_state_check_boundaries(void **state)
{
	(void)state;
	static struct virtq_state s;
	memset(&s, 0, sizeof(s));
	s.active = true;
	s.max_size = s.size = 8;
	s.in_flight = 8; /* next_avail - next_used == 8 */
	s.unpop_depth = 8;
	s.next_avail = 3;
	s.next_used = 65531;
	s.published_used = 65531;
	for (uint16_t i = 0; i < 8; i++)
		s.heads[i] = (uint16_t)(7 - i);
	assert_err(virtq_state_check(&s), 0);
	s.unpop_depth = 9;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.unpop_depth = 0;
	s.heads[7] = 8; /* a head == size */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.heads[7] = 7; /* the same head twice */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.heads[7] = 0;
	s.in_flight = 4; /* 4 in flight + 4 unpublished: every head held */
	s.unpop_depth = 4;
	s.next_used = (uint16_t)(s.next_avail - 4);
	s.published_used = (uint16_t)(s.next_used - 4);
	for (uint16_t i = 0; i < 4; i++)
		s.heads[i] |= VIRTQ_STATE_HEAD_USED; /* the first four popped completed */
	assert_err(virtq_state_check(&s), 0);
	s.unpop_depth = 5; /* the fifth newest was completed: not undoable */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.unpop_depth = 4;
	s.heads[0] &= (uint16_t)~VIRTQ_STATE_HEAD_USED; /* 5 in flight by the marks */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.heads[0] |= VIRTQ_STATE_HEAD_USED;
	s.published_used--; /* 4 + 5 */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.published_used++;
	s.in_flight = 5;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE); /* in_flight disagrees */
	s.in_flight = 4;
	s.size = 16; /* max_size 8 */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.max_size = 16;
	assert_err(virtq_state_check(&s), 0);
	s.max_size = s.size = 32768;
	assert_err(virtq_state_check(&s), 0);
	s.max_size = s.size = 65536;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
}

/* xorshift64: reproducible pseudo-random values for property loops. */
static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A random state that passes virtq_state_check, built by its rules. */
static void random_valid_state(uint64_t *x, struct virtq_state *s)
{
	memset(s, 0, offsetof(struct virtq_state, heads));
	const unsigned max_log2 = (unsigned)(next_random(x) % 16); /* up to 32768 */
	s->max_size = 1u << max_log2;
	s->size = 1u << (next_random(x) % (max_log2 + 1u));
	s->features = next_random(x);
	s->desc_gpa = next_random(x);
	s->avail_gpa = next_random(x);
	s->used_gpa = next_random(x);
	s->active = next_random(x) & 1;
	if (!s->active)
		return;
	s->broken = next_random(x) & 1;
	s->signalled_valid = next_random(x) & 1;
	s->notify_enabled = next_random(x) & 1;
	/* small counts mostly, so the loop stays fast; a few up to the size */
	const uint32_t room = next_random(x) % 8 ? (s->size < 16 ? s->size : 16) : s->size;
	s->in_flight = (uint32_t)(next_random(x) % (room + 1u));
	s->unpop_depth = (uint32_t)(next_random(x) % (s->in_flight + 1u));
	const uint32_t unpublished = (uint32_t)(next_random(x) % (room - s->in_flight + 1u));
	s->next_used = (uint16_t)next_random(x);
	s->next_avail = (uint16_t)(s->next_used + s->in_flight);
	s->published_used = (uint16_t)(s->next_used - unpublished);
	s->signalled_used = (uint16_t)next_random(x);
	if (s->features & RING_PACKED) { /* nothing held, same position */
		s->in_flight = s->unpop_depth = 0;
		s->next_avail = s->published_used = s->next_used;
		s->avail_pos = s->used_pos = (uint16_t)(next_random(x) % s->size);
		s->avail_wrap = s->used_wrap = next_random(x) & 1;
		s->signal_slots = (uint32_t)(next_random(x) % (2u * s->size + 1u));
		return;
	}
	const uint32_t start = (uint32_t)next_random(x);
	fill_heads(s, start, 2 * start + 1);
}

static void test_round_trip_random(void **state)
{
	(void)state;
	static struct virtq_state want;
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 20000; i++) {
		random_valid_state(&x, &want);
		expect_round_trip(&want);
	}
}

static void test_encode_errors(void **state)
{
	(void)state;
	static unsigned char b[MAX_BYTES];
	static struct virtq_state bad;
	bad = golden_state;
	bad.size = 3;
	memset(b, 0xee, sizeof(b));
	assert_err(virtq_state_encode(NULL, b, sizeof(b)), -VIRTQ_EINVAL);
	assert_err(virtq_state_encode(&golden_state, NULL, sizeof(b)), -VIRTQ_EINVAL);
	assert_err(virtq_state_encode(&bad, b, sizeof(b)), -VIRTQ_EBADSTATE);
	assert_err(virtq_state_encode(&bad, b, 0), -VIRTQ_EBADSTATE); /* state before room */
	assert_err(virtq_state_encode(&golden_state, b, GOLDEN_LEN - 1), -VIRTQ_ENOSPC);
	assert_err(virtq_state_encode(&golden_state, b, V1), -VIRTQ_ENOSPC);
	assert_err(virtq_state_encode(&golden_v1_state, b, V1 - 1), -VIRTQ_ENOSPC);
	assert_err(virtq_state_encode(&golden_v3_state, b, V3 - 1), -VIRTQ_ENOSPC);
	bad = golden_v3_state;
	bad.avail_pos = 256;
	assert_err(virtq_state_encode(&bad, b, sizeof(b)), -VIRTQ_EBADSTATE);
	assert_err(virtq_state_encode(&golden_state, b, 0), -VIRTQ_ENOSPC);
	for (size_t i = 0; i < sizeof(b); i++)
		assert_int_equal(b[i], 0xee); /* nothing written on error */
}

/*
 * Decodes len bytes placed at the very end of a heap block of exactly that
 * size, so AddressSanitizer reports any read past them.
 */
static int decode_exact(struct virtq_state *s, const unsigned char *bytes, size_t len)
{
	unsigned char *block = malloc(len ? len : 1);
	assert_non_null(block);
	unsigned char *at = block + (len ? 0 : 1);
	memcpy(at, bytes, len);
	int r = virtq_state_decode(s, at, len);
	free(block);
	return r;
}

static void expect_zeroed(const struct virtq_state *s)
{
	static struct virtq_state zero;
	assert_state_equal(s, &zero);
}

/* One change to golden bytes, and the exact error it must give. */
struct bad_encoding {
	const char *what;
	bool v1;     /* a change to the version-1 golden bytes, else version 2's */
	size_t offset;
	unsigned char value;
	size_t len; /* bytes passed to decode; 0 means all of the golden ones */
	int err;
};

static const struct bad_encoding bad_encodings[] = {
	{ "magic byte 0", false, 0, 'v', 0, -VIRTQ_EFORMAT },
	{ "magic byte 1", false, 1, 'q', 0, -VIRTQ_EFORMAT },
	{ "magic byte 2", true, 2, 's', 0, -VIRTQ_EFORMAT },
	{ "magic byte 3", true, 3, 't', 0, -VIRTQ_EFORMAT },
	{ "version 0", false, 4, 0, 0, -VIRTQ_EFORMAT },
	{ "version 4", false, 4, 4, 0, -VIRTQ_EVERSION },
	{ "version 257", true, 5, 1, 0, -VIRTQ_EVERSION },
	{ "version 4, header only", true, 4, 4, 8, -VIRTQ_EVERSION },
	{ "version 4, one byte short of its header", true, 4, 4, 7, -VIRTQ_EFORMAT },
	{ "version 1 bytes called version 3", true, 4, 3, 0, -VIRTQ_EFORMAT },
	{ "version 2 bytes called version 3", false, 4, 3, 0, -VIRTQ_EFORMAT },
	{ "version 1 bytes called version 2", true, 4, 2, 0, -VIRTQ_EFORMAT },
	{ "version 2 bytes called version 1", false, 4, 1, 0, -VIRTQ_EFORMAT },
	{ "v1 length 0", true, 6, 0, 0, -VIRTQ_EFORMAT },
	{ "v1 length 63", true, 6, 63, 0, -VIRTQ_EFORMAT },
	{ "v1 length 65", true, 6, 65, 0, -VIRTQ_EFORMAT },
	{ "v1 length 64 + 256", true, 7, 1, 0, -VIRTQ_EFORMAT },
	{ "v2 fixed length 64", false, 6, 64, 0, -VIRTQ_EFORMAT },
	{ "v2 fixed length 69", false, 6, 69, 0, -VIRTQ_EFORMAT },
	{ "v2 one head short", false, 0, 0x56, GOLDEN_LEN - 2, -VIRTQ_EFORMAT },
	{ "v2 half a head short", false, 0, 0x56, GOLDEN_LEN - 1, -VIRTQ_EFORMAT },
	{ "v2 fixed part only", false, 0, 0x56, V2, -VIRTQ_EFORMAT },
	{ "v2 without its unpop_depth", false, 0, 0x56, V1, -VIRTQ_EFORMAT },
	{ "v2 announcing one head more", false, 20, 4, 0, -VIRTQ_EFORMAT },
	{ "v2 announcing one unpublished more", false, 60, 0x3f, 0, -VIRTQ_EFORMAT },
	{ "flags bit 4", false, 8, 0x15, 0, -VIRTQ_EFORMAT },
	{ "v1 flags bit 4", true, 8, 0x15, 0, -VIRTQ_EFORMAT },
	{ "size 3", false, 16, 3, 0, -VIRTQ_EBADSTATE },
	{ "max_size not a power of two", true, 14, 0x01, 0, -VIRTQ_EBADSTATE }, /* 0x18000 */
	{ "v1 with a chain in flight", true, 56, 0x42, 0, -VIRTQ_EBADSTATE },
	{ "v1 with an unpublished entry", true, 60, 0x40, 0, -VIRTQ_EBADSTATE },
	{ "v2 in_flight disagrees", false, 56, 0x45, 0, -VIRTQ_EBADSTATE },
	{ "v2 head == size", false, 69, 0x01, 0, -VIRTQ_EBADSTATE },
	{ "v2 a head twice", false, 72, 0x61, 0, -VIRTQ_EBADSTATE },
	{ "v2 a head twice, once completed", false, 70, 0x61, 0, -VIRTQ_EBADSTATE },
	{ "v2 completion unmarked", false, 71, 0x00, 0, -VIRTQ_EBADSTATE },
	{ "v2 in flight marked completed", false, 75, 0x80, 0, -VIRTQ_EBADSTATE },
	{ "v2 unpop_depth above in_flight", false, 64, 4, 0, -VIRTQ_EBADSTATE },
	{ "v2 undoable behind a completion", false, 64, 3, 0, -VIRTQ_EBADSTATE },
	{ "inactive with indices", false, 8, 0x0c, 0, -VIRTQ_EBADSTATE },
	/* feature bit 34 (byte 28 bit 2): the bytes before version 3 existed */
	{ "v1 of an active packed queue", true, 28, 0x04, 0, -VIRTQ_EBADSTATE },
	{ "v2 of an active packed queue", false, 28, 0x04, 0, -VIRTQ_EBADSTATE },
	{ "v1 of an inactive packed queue", true, 8, 0x00, 0, -VIRTQ_EBADSTATE }, /* indices */
};

static void test_decode_rejects(void **state)
{
	(void)state;
	static unsigned char b[GOLDEN_LEN];
	static struct virtq_state s;
	for (size_t i = 0; i < sizeof(bad_encodings) / sizeof(bad_encodings[0]); i++) {
		const struct bad_encoding *be = &bad_encodings[i];
		const size_t full = be->v1 ? V1 : GOLDEN_LEN;
		memcpy(b, be->v1 ? golden_v1_bytes : golden_bytes, full);
		b[be->offset] = be->value;
		poison(&s); /* must come back zeroed */
		int r = decode_exact(&s, b, be->len ? be->len : full);
		if (r != be->err)
			fail_msg("%s: decode = %s, expected %s", be->what, virtq_errname(r),
				 virtq_errname(be->err));
		expect_zeroed(&s);
	}
}

/* One change to the version-3 golden bytes (offset, value; len 0: all 76),
 * and the exact error it must give. */
static const struct bad_encoding bad_v3_encodings[] = {
	{ "v3 fixed length 68", false, 6, 68, 0, -VIRTQ_EFORMAT },
	{ "v3 fixed length 77", false, 6, 77, 0, -VIRTQ_EFORMAT },
	{ "v3 fixed length 76 + 256", false, 7, 1, 0, -VIRTQ_EFORMAT },
	{ "v3 one byte short", false, 0, 0x56, V3 - 1, -VIRTQ_EFORMAT },
	{ "v3 without its packed fields", false, 0, 0x56, V2, -VIRTQ_EFORMAT },
	{ "v3 cut to version 1's length", false, 0, 0x56, V1, -VIRTQ_EFORMAT },
	{ "v3 announcing a chain in flight, no head", false, 20, 1, 0, -VIRTQ_EFORMAT },
	{ "v3 announcing an unpublished entry, no head", false, 60, 0x40, 0, -VIRTQ_EFORMAT },
	{ "v3 flags bit 4", false, 8, 0x19, 0, -VIRTQ_EFORMAT },
	{ "v3 flags bit 31", false, 11, 0x80, 0, -VIRTQ_EFORMAT },
	{ "v3 of an inactive queue", false, 8, 0x08, 0, -VIRTQ_EFORMAT },
	{ "v3 of a split queue", false, 28, 0x00, 0, -VIRTQ_EFORMAT },
	{ "version 4 with v3 bytes", false, 4, 4, 0, -VIRTQ_EVERSION },
	{ "v3 avail_pos above size", false, 69, 0x01, 0, -VIRTQ_EBADSTATE },
	{ "v3 used_pos above size", false, 71, 0x01, 0, -VIRTQ_EBADSTATE },
	{ "v3 used_pos != avail_pos", false, 70, 0x62, 0, -VIRTQ_EBADSTATE },
	{ "v3 used_wrap != avail_wrap", false, 71, 0x80, 0, -VIRTQ_EBADSTATE },
	{ "v3 avail_wrap != used_wrap", false, 69, 0x80, 0, -VIRTQ_EBADSTATE },
	{ "v3 signal_slots above 2 * size", false, 73, 0x02, 0, -VIRTQ_EBADSTATE },
	{ "v3 signal_slots far above", false, 75, 0x80, 0, -VIRTQ_EBADSTATE },
	{ "v3 unpop_depth 1", false, 64, 1, 0, -VIRTQ_EBADSTATE },
	{ "v3 in_flight disagrees", false, 56, 0x42, 0, -VIRTQ_EBADSTATE },
	{ "v3 size 0", false, 17, 0x00, 0, -VIRTQ_EBADSTATE },
	{ "v3 max_size 0", false, 13, 0x00, 0, -VIRTQ_EBADSTATE },
};

static void test_decode_rejects_v3(void **state)
{
	(void)state;
	static unsigned char b[V3 + 2];
	static struct virtq_state s;
	for (size_t i = 0; i < sizeof(bad_v3_encodings) / sizeof(bad_v3_encodings[0]); i++) {
		const struct bad_encoding *be = &bad_v3_encodings[i];
		memcpy(b, golden_v3_bytes, V3);
		b[be->offset] = be->value;
		poison(&s);
		int r = decode_exact(&s, b, be->len ? be->len : V3);
		if (r != be->err)
			fail_msg("%s: decode = %s, expected %s", be->what, virtq_errname(r),
				 virtq_errname(be->err));
		expect_zeroed(&s);
	}
	/* trailing bytes: one, and one head's worth */
	memcpy(b, golden_v3_bytes, V3);
	b[V3] = b[V3 + 1] = 0;
	poison(&s);
	assert_err(decode_exact(&s, b, V3 + 1), -VIRTQ_EFORMAT);
	assert_err(decode_exact(&s, b, V3 + 2), -VIRTQ_EFORMAT);
	expect_zeroed(&s);
	/* framed heads: a chain in flight (next_avail one ahead) with its head,
	 * or an unpublished completion with its head: a packed state holds none */
	b[20] = 1, b[56] = 0x42;
	assert_err(decode_exact(&s, b, V3 + 2), -VIRTQ_EBADSTATE);
	expect_zeroed(&s);
	memcpy(b, golden_v3_bytes, V3);
	b[V3] = 0, b[V3 + 1] = 0x80; /* head 0, completed */
	b[60] = 0x40;		      /* published_used one behind next_used */
	assert_err(decode_exact(&s, b, V3 + 2), -VIRTQ_EBADSTATE);
	expect_zeroed(&s);
}

/* virtq_state_check's packed rules at their edges. */
static void test_state_check_packed(void **state)
{
	(void)state;
	static struct virtq_state s;
	memset(&s, 0, sizeof(s));
	s.max_size = s.size = 8;
	s.active = true;
	s.features = RING_PACKED;
	s.avail_pos = s.used_pos = 7;
	s.signal_slots = 16;
	assert_err(virtq_state_check(&s), 0);
	s.signal_slots = 17;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.signal_slots = 0;
	s.avail_pos = s.used_pos = 8;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.avail_pos = s.used_pos = 0;
	s.used_wrap = true;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.avail_wrap = true;
	assert_err(virtq_state_check(&s), 0);
	s.used_pos = 1;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.used_pos = 0;
	s.in_flight = 1, s.next_avail = 1, s.heads[0] = 3; /* a chain in flight */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.features = 0; /* the same as a split queue: fine once the packed fields are 0 */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.avail_wrap = s.used_wrap = false;
	assert_err(virtq_state_check(&s), 0);
	s.features = RING_PACKED;
	s.in_flight = 0, s.next_avail = 0;
	s.next_used = 1, s.heads[0] = 3 | VIRTQ_STATE_HEAD_USED; /* completed, unpublished */
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.next_used = 0;
	assert_err(virtq_state_check(&s), 0);
	/* a split or inactive state has its packed fields 0 */
	const struct virtq_state packed_ok = s;
	s.features = 0;
	s.signal_slots = 1;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s = packed_ok;
	s.active = false;
	assert_err(virtq_state_check(&s), 0);
	s.avail_pos = s.used_pos = 1;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
	s.avail_pos = s.used_pos = 0;
	s.used_wrap = true;
	assert_err(virtq_state_check(&s), -VIRTQ_EBADSTATE);
}

/* Bytes after an encoding's end are refused, not ignored: version 2 one byte
 * and one head's worth longer than its heads, version 1 one byte longer. */
static void test_decode_rejects_trailing_bytes(void **state)
{
	(void)state;
	static unsigned char b[GOLDEN_LEN + 2];
	static struct virtq_state s;
	for (size_t extra = 1; extra <= 2; extra++) {
		memcpy(b, golden_bytes, GOLDEN_LEN);
		memset(b + GOLDEN_LEN, 0, extra);
		poison(&s);
		assert_err(decode_exact(&s, b, GOLDEN_LEN + extra), -VIRTQ_EFORMAT);
		expect_zeroed(&s);
	}
	memcpy(b, golden_v1_bytes, V1);
	b[V1] = 0;
	poison(&s);
	assert_err(decode_exact(&s, b, V1 + 1), -VIRTQ_EFORMAT);
	expect_zeroed(&s);
}

/* A version-2 encoding announcing more heads than any queue has is refused
 * as such, once its bytes are all there (framing first). */
static void test_decode_rejects_too_many_heads(void **state)
{
	(void)state;
	const size_t n = VIRTQ_MAX_SIZE + 1u, len = V2 + 2 * n;
	unsigned char *b = calloc(1, len);
	static struct virtq_state s;
	assert_non_null(b);
	memcpy(b, golden_bytes, V2);
	b[20] = 0x01, b[21] = 0x80, b[22] = b[23] = 0; /* in_flight 32769 */
	b[58] = b[60] = 0;			     /* nothing unpublished */
	b[59] = b[61] = 0;
	b[56] = 0x01, b[57] = 0x80; /* next_avail - next_used == in_flight mod 2^16 */
	assert_err(decode_exact(&s, b, len), -VIRTQ_EBADSTATE);
	assert_err(decode_exact(&s, b, len - 2), -VIRTQ_EFORMAT);
	expect_zeroed(&s);
	free(b);
}

/* Reserved flag bits 4..31, each alone, in both versions. */
static void test_decode_rejects_reserved_flags(void **state)
{
	(void)state;
	static unsigned char b[GOLDEN_LEN];
	static struct virtq_state s;
	for (unsigned bit = 4; bit < 32; bit++) {
		memcpy(b, golden_bytes, GOLDEN_LEN);
		b[8 + bit / 8] = (unsigned char)(b[8 + bit / 8] | 1u << (bit % 8));
		assert_err(decode_exact(&s, b, GOLDEN_LEN), -VIRTQ_EFORMAT);
		memcpy(b, golden_v1_bytes, V1);
		b[8 + bit / 8] = (unsigned char)(b[8 + bit / 8] | 1u << (bit % 8));
		assert_err(decode_exact(&s, b, V1), -VIRTQ_EFORMAT);
	}
}

/* A newer, longer encoding is a newer version, not a malformed one. */
static void test_decode_newer_longer_version(void **state)
{
	(void)state;
	unsigned char b[V1 + 8];
	static struct virtq_state s;
	memcpy(b, golden_v1_bytes, V1);
	memset(b + V1, 0, 8);
	b[4] = 4;	   /* version 4 */
	b[6] = V1 + 8; /* fixed part 72 */
	assert_err(decode_exact(&s, b, sizeof(b)), -VIRTQ_EVERSION);
	b[4] = 1; /* the same bytes as version 1: its length is wrong */
	assert_err(decode_exact(&s, b, sizeof(b)), -VIRTQ_EFORMAT);
	b[6] = V1; /* version 1, length 64, but 72 bytes: trailing bytes */
	assert_err(decode_exact(&s, b, sizeof(b)), -VIRTQ_EFORMAT);
	assert_err(decode_exact(&s, b, V1), 0);
}

static void test_decode_misuse(void **state)
{
	(void)state;
	static struct virtq_state s;
	poison(&s);
	assert_err(virtq_state_decode(NULL, golden_bytes, GOLDEN_LEN), -VIRTQ_EINVAL);
	assert_err(virtq_state_decode(&s, NULL, GOLDEN_LEN), -VIRTQ_EINVAL);
	expect_zeroed(&s);
}

/* Encodings short enough to cut and corrupt at every byte. */
#define SMALL_ENCODING 256u

/* Every truncation of valid encodings is refused, without reading past it. */
static void test_decode_truncations(void **state)
{
	(void)state;
	static unsigned char b[MAX_BYTES];
	static struct virtq_state s;
	for (size_t i = 0; i < ROUND_TRIP_STATES; i++) {
		const struct virtq_state *valid = round_trip_state(i);
		const size_t len = encoded_len(valid);
		assert_err(virtq_state_encode(valid, b, sizeof(b)), len);
		for (size_t cut = 0; cut < len; cut++) {
			if (len > SMALL_ENCODING && cut > V2 && cut < len - 4)
				continue; /* long ones: the fixed part and the end */
			poison(&s);
			int r = decode_exact(&s, b, cut);
			if (r != -VIRTQ_EFORMAT)
				fail_msg("state %zu cut to %zu bytes: %s", i, cut, virtq_errname(r));
			expect_zeroed(&s);
		}
		assert_err(decode_exact(&s, b, len), 0);
	}
}

/*
 * Every single-byte corruption of valid encodings: decode either refuses it
 * (with a format, version or state error, *s zeroed) or accepts a state that
 * encodes back to exactly the corrupted bytes.
 */
static void corrupt_every_byte(const unsigned char *valid, size_t len, unsigned *accepted,
			       unsigned *refused)
{
	static unsigned char b[SMALL_ENCODING], again[MAX_BYTES];
	static struct virtq_state s;
	assert_true(len <= SMALL_ENCODING);
	for (size_t at = 0; at < len; at++) {
		for (unsigned v = 0; v < 256; v++) {
			if (v == valid[at])
				continue;
			memcpy(b, valid, len);
			b[at] = (unsigned char)v;
			poison(&s);
			int r = decode_exact(&s, b, len);
			if (r == 0) {
				assert_err(virtq_state_encode(&s, again, sizeof(again)), len);
				if (memcmp(again, b, len) != 0)
					fail_msg("byte %zu = 0x%02x: accepted, re-encodes differently",
						 at, v);
				(*accepted)++;
				continue;
			}
			if (r != -VIRTQ_EFORMAT && r != -VIRTQ_EVERSION && r != -VIRTQ_EBADSTATE)
				fail_msg("byte %zu = 0x%02x: %s", at, v, virtq_errname(r));
			expect_zeroed(&s);
			(*refused)++;
		}
	}
}

static void test_decode_single_byte_corruptions(void **state)
{
	(void)state;
	static unsigned char b[MAX_BYTES];
	unsigned accepted = 0, refused = 0;
	corrupt_every_byte(golden_bytes, GOLDEN_LEN, &accepted, &refused);
	corrupt_every_byte(golden_v1_bytes, V1, &accepted, &refused);
	corrupt_every_byte(golden_v3_bytes, V3, &accepted, &refused);
	for (size_t i = 0; i < ROUND_TRIP_STATES; i++) {
		const struct virtq_state *valid = round_trip_state(i);
		const size_t len = encoded_len(valid);
		if (len > SMALL_ENCODING)
			continue;
		assert_err(virtq_state_encode(valid, b, sizeof(b)), len);
		corrupt_every_byte(b, len, &accepted, &refused);
	}
	/* Both outcomes happen: the loop checks something either way. */
	assert_true(accepted > 1000);
	assert_true(refused > 1000);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
#define E(fn) cmocka_unit_test_setup_teardown(fn, setup_event_idx, fixture_teardown)
	static const struct CMUnitTest fixed[] = {
		E(test_continue_in_flight_event_idx),
		E(test_continue_after_read_ahead),
		T(test_restore_onto_itself),
		T(test_restore_inactive),
		T(test_restore_broken),
		T(test_save_misuse),
		cmocka_unit_test(test_restore_misuse),
		cmocka_unit_test(test_restore_check_order),
		cmocka_unit_test(test_restore_host_misaligned),
		cmocka_unit_test(test_restore_in_flight_resubmit),
		T(test_restore_keeps_unpop_depth),
		cmocka_unit_test(test_encode_golden),
		cmocka_unit_test(test_state_check_boundaries),
		cmocka_unit_test(test_round_trip_table),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_rejects_v3),
		cmocka_unit_test(test_state_check_packed),
		cmocka_unit_test(test_decode_rejects_too_many_heads),
		cmocka_unit_test(test_decode_rejects_trailing_bytes),
		cmocka_unit_test(test_decode_rejects_reserved_flags),
		cmocka_unit_test(test_decode_newer_longer_version),
		cmocka_unit_test(test_decode_misuse),
		cmocka_unit_test(test_decode_truncations),
		cmocka_unit_test(test_decode_single_byte_corruptions),
		cmocka_unit_test(test_restore_limit_is_the_queues),
	};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
	struct CMUnitTest tests[COUNT(fixed) + COUNT(scripts) + COUNT(bad_states)];
	size_t n = 0;
	for (size_t i = 0; i < COUNT(fixed); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < COUNT(scripts); i++)
		tests[n++] = (struct CMUnitTest){ .name = scripts[i].name,
						  .test_func = test_restore_continues_exactly,
						  .initial_state = (void *)(uintptr_t)&scripts[i] };
	for (size_t i = 0; i < COUNT(bad_states); i++)
		tests[n++] = (struct CMUnitTest){ .name = bad_states[i].name,
						  .test_func = test_restore_rejects,
						  .initial_state = (void *)(uintptr_t)&bad_states[i] };
	return cmocka_run_group_tests_name("queue state", tests, NULL, NULL);
}

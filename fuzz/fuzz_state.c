/* SPDX-License-Identifier: MIT */
/*
 * fuzz_state: arbitrary bytes as a saved queue state (a file or a migration
 * stream). Decode answers with a documented code; an accepted encoding
 * re-encodes to exactly the same bytes; restoring it onto a real guest either
 * fails with a documented code (leaving the queue reset) or gives a queue
 * that saves back to the same state and pops only chains inside guest memory.
 */
#include <stddef.h>
#include <string.h>

#include <virtq/state.h>

#include "harness/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtq_mock *guest(void)
{
	static struct virtq_mock m;
	static bool ready;
	if (!ready) {
		struct virtq_mock_config cfg;
		virtq_mock_config_default(&cfg);
		cfg.nregions = 2; /* 1 MiB at 0 and 64 KiB after a hole: rings fit, or not */
		cfg.regions[1] = (struct virtq_mock_region){ .gpa = 2u << 20, .size = 64u << 10 };
		FUZZ_CHECK(virtq_mock_init(&m, &cfg) == 0, "mock guest");
		ready = true;
	}
	return &m;
}

static bool is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The restored queue holds exactly the state's chains: those in flight, in
 * their order; the completed, unpublished ones cannot be completed again. */
static void check_in_flight(struct virtq *q, const struct virtq_state *s)
{
	static uint16_t heads[VIRTQ_MAX_SIZE];
	if (!s->active || s->broken)
		return;
	FUZZ_CHECK(virtq_in_flight_list(q, heads, VIRTQ_MAX_SIZE) == (int)s->in_flight,
		   "restored chains in flight: not as many as the state's");
	const uint32_t held = s->in_flight + (uint16_t)(s->next_used - s->published_used);
	for (uint32_t i = 0, k = 0; i < held; i++) {
		const uint16_t head = s->heads[i] & (uint16_t)~VIRTQ_STATE_HEAD_USED;
		if (s->heads[i] & VIRTQ_STATE_HEAD_USED)
			FUZZ_CHECK(virtq_add_used(q, head, 0) == -VIRTQ_EINVAL,
				   "an unpublished completion was completed again");
		else
			FUZZ_CHECK(heads[k++] == head, "restored chains in flight in another order");
	}
}

/* A restored queue pops only what lies in guest memory, with documented codes. */
static void drive(struct virtq_mock *m, struct virtq *q)
{
	static struct virtq_seg segs[256];
	struct virtq_chain c;
	virtq_chain_init(&c, segs, 256);
	for (int i = 0; i < 4; i++) {
		int r = virtq_pop(q, &c);
		harness_check_error_text(r);
		FUZZ_CHECK(c.ndesc <= 2 * virtq_size(q), "pop read %u descriptors", c.ndesc);
		for (uint32_t s = 0; s < c.nseg; s++)
			FUZZ_CHECK(virtq_mock_gpa_of(m, segs[s].addr, NULL) &&
					   virtq_mock_gpa_of(m, (char *)segs[s].addr + segs[s].len - 1, NULL),
				   "segment outside guest memory");
		if (r != 1)
			break;
		harness_check_error_text(virtq_add_used(q, c.id, 0));
	}
	harness_check_error_text(virtq_publish_used(q));
	harness_check_error_text(virtq_needs_notify(q));
	harness_check_error_text(virtq_enable_notify(q));
}

/* The fields of a state, heads[] (meaningful up to the counts) aside. */
#define STATE_FIELDS offsetof(struct virtq_state, heads)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_state s, again;
	static uint8_t bytes[VIRTQ_STATE_MAX_BYTES], back[VIRTQ_STATE_MAX_BYTES];
	int r = virtq_state_decode(&s, data, size);
	harness_check_error_text(r);
	FUZZ_CHECK(r == 0 || r == -VIRTQ_EFORMAT || r == -VIRTQ_EVERSION || r == -VIRTQ_EBADSTATE,
		   "decode returned %d", r);
	if (r) {
		FUZZ_CHECK(is_zero(&s, STATE_FIELDS), "a rejected decode left a state behind");
		return 0;
	}
	FUZZ_CHECK(virtq_state_encode(&s, bytes, sizeof(bytes)) == (int)size &&
			   !memcmp(bytes, data, size),
		   "encode(decode(b)) != b");

	struct virtq_mock *m = guest();
	struct virtq q;
	virtq_mock_wipe(m);
	FUZZ_CHECK(virtq_init(&q, &m->mem, VIRTQ_MAX_SIZE) == 0, "init");
	FUZZ_CHECK(virtq_set_inflight(&q, m->inflight, m->inflight_bytes) == 0, "in-flight area");
	/* Make used.idx agree with the state half the time, so restore goes deep. */
	if (s.active && (s.next_avail & 1u)) {
		const uint8_t le[2] = { (uint8_t)s.published_used, (uint8_t)(s.published_used >> 8) };
		virtq_mock_write(m, s.used_gpa + 2, le, 2);
	}
	virtq_mock_snapshot(m);
	r = virtq_restore(&q, &m->mem, &s);
	harness_check_error_text(r);
	FUZZ_CHECK(virtq_mock_check_writes(m, NULL) == 0, "restore wrote guest memory");
	if (r) {
		FUZZ_CHECK(!virtq_is_active(&q) && !virtq_is_broken(&q), "rejected restore left state");
		return 0;
	}
	FUZZ_CHECK(virtq_save(&q, &again) == 0, "save");
	again.max_size = s.max_size; /* restore keeps the queue's own maximum */
	FUZZ_CHECK(virtq_state_encode(&again, back, sizeof(back)) == (int)size &&
			   !memcmp(back, data, size),
		   "save(restore(s)) != s");
	check_in_flight(&q, &s);
	drive(m, &q);
	return 0;
}

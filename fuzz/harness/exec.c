/* SPDX-License-Identifier: MIT */
/* Runs a scenario: guest setup, activation, operations, final checks. */
#include <string.h>

#include "harness.h"
#include "scenario_text.h"

bool harness_tracing, harness_tracing_ops;
struct harness_stats harness_stats;

void harness_check_writes(struct harness *h)
{
	uint64_t bad = 0;
	FUZZ_CHECK(virtq_mock_check_writes(h->guest, &bad) == 0,
		   "the device wrote guest byte 0x%llx outside the used ring and writable buffers",
		   (unsigned long long)bad);
	FUZZ_CHECK(virtq_mock_guards_intact(h->guest), "guard bytes after a region changed");
}

static bool is_guest_op(enum scn_opcode code)
{
	return code >= SCN_POST && code <= SCN_POKE;
}

static bool is_cursor_op(enum scn_opcode code)
{
	return code == SCN_READ || code == SCN_WRITE || code == SCN_LIMIT ||
	       code == SCN_SEGMENTS || code == SCN_APPEND;
}

const char *harness_code_name(int64_t r)
{
	static char bufs[4][40]; /* one message may name several codes */
	static unsigned next;
	if (r >= 0)
		return "";
	char *buf = bufs[next++ % 4];
	snprintf(buf, sizeof(bufs[0]), " (%s)", r < INT32_MIN ? "?" : virtq_errname((int)r));
	return buf;
}

void harness_check_error_text(int64_t r)
{
	/* The answer depends on the code alone: each code's texts are looked up
	 * once per process (every FUZZ_SAME comes here; string compares are
	 * instrumented and hooked in the fuzz build). */
	static bool documented[64];
	if (r >= 0 || (r > -64 && documented[-r]))
		return;
	FUZZ_CHECK(strcmp(virtq_strerror((int)r), "unknown error") != 0 &&
			   strncmp(virtq_errname((int)r), "VIRTQ_E", 7) == 0,
		   "undocumented error code %lld", (long long)r);
	if (r > -64)
		documented[-r] = true;
}

/* The queue's accessors agree with the model after every device operation. */
static void check_accessors(struct harness *h)
{
	/* stale rings (an invalidation) ride on broken, which they do not report */
	FUZZ_SAME(virtq_is_broken(&h->q), h->model.broken && !h->model.rings_stale,
		  "virtq_is_broken");
	FUZZ_SAME(virtq_is_active(&h->q), h->model.active, "virtq_is_active");
	FUZZ_SAME(virtq_in_flight(&h->q), model_in_flight(&h->model), "virtq_in_flight");
	FUZZ_SAME(virtq_next_avail(&h->q), h->model.next_avail, "virtq_next_avail");
	FUZZ_SAME(virtq_next_used(&h->q), h->model.next_used, "virtq_next_used");
	FUZZ_SAME(virtq_size(&h->q), h->model.at_max_size ? VIRTQ_MAX_SIZE : h->model.size,
		  "virtq_size");
}

/*
 * The dirty-log oracle (log.h): a log over all guest memory, switched on,
 * attached after activation; at the end, if the queue still has it (no
 * operation re-initialised the queue), every guest byte that changed since
 * the snapshot lies in a logged page.
 */
void harness_attach_log(struct harness *h)
{
	memset(h->log_words, 0, sizeof(h->log_words));
	if (virtq_log_init(&h->log, &h->guest->mem, h->log_words, sizeof(h->log_words)) == 0 &&
	    virtq_set_log(&h->q, &h->log) == 0)
		virtq_log_set_enabled(&h->log, true);
}

void harness_check_logged(struct harness *h)
{
	uint64_t bad = 0;
	if (h->q.log != &h->log)
		return;
	if (h->log_off) { /* log.h: off logs nothing; what changed meanwhile is not logged */
		FUZZ_CHECK(!memcmp(h->log_words_off, h->log_words, sizeof(h->log_words)),
			   "a page was logged while logging was off");
		return;
	}
	FUZZ_CHECK(virtq_mock_check_dirty(h->guest, &h->log, &bad) == 0,
		   "guest byte 0x%llx changed, its page is not in the dirty log",
		   (unsigned long long)bad);
}

void harness_run(const struct scenario *s, uint32_t ops_mask)
{
	static struct harness h; /* large: slots hold thousands of segments */
	for (unsigned i = 0; i < SCN_SLOTS; i++)
		h.slots[i].valid = false;
	h.ops_mask = ops_mask;
	h.cursor_ops = 0;
	const char *trace = getenv("VIRTQ_FUZZ_TRACE");
	harness_tracing_ops = trace != NULL;
	harness_tracing = trace && strcmp(trace, "ops") != 0;
	harness_toctou_disarm(); /* nothing armed carries over from another run */
	if (harness_guest_setup(&h, &s->hdr))
		return; /* cannot happen for the sizes the header can express */
	harness_activate(&h);
	harness_forget_stale_area(&h);
	harness_stats.runs++;
	harness_stats.activated += h.model.active;
	harness_start_back(&h, s->hdr.start_back);
	harness_attach_log(&h);
	virtq_mock_snapshot(h.guest);

	for (uint32_t i = 0; i < s->nops; i++) {
		const struct scn_op *op = &s->ops[i];
		enum scn_opcode code = scn_opcode(op);
		if (!(ops_mask & HARNESS_OP(code)))
			continue;
		if (harness_tracing_ops)
			fprintf(stderr, "op %u: %s\n", i, scn_opcode_name(code));
		if (is_guest_op(code))
			harness_guest_op(&h, op);
		else if (is_cursor_op(code))
			harness_cursor_op(&h, op);
		else if (code == SCN_VSOCK_TX || code == SCN_VSOCK_RX)
			harness_vsock_op(&h, op);
		else if (code >= SCN_NOPS_V1)
			harness_memory_op(&h, op);
		else
			harness_device_op(&h, op);
		check_accessors(&h);
		if (h.readonly_regions)
			harness_check_readonly(&h);
	}
	if (harness_tracing_ops)
		fprintf(stderr, "final checks\n");
	harness_check_writes(&h);
	harness_check_logged(&h);
}

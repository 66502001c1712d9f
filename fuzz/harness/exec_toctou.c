/* SPDX-License-Identifier: MIT */
/*
 * Deterministic time-of-check/time-of-use: the guest rewrites the bytes the
 * library has just loaded, at a load the scenario chooses.
 *
 * POKE+C arms it for the next chain walk (pop, discard, resubmit). The
 * model walks first, on guest memory as it is, and this file notes every
 * guest range the model reads. Then the library walks with the load hook of
 * src/ring_access.h installed: at its load-th load, if the model read those
 * bytes exactly once (a correct walk then loads them exactly once too; a
 * chain that loops reads a descriptor more than once and is left alone),
 * the guest overwrites them with the operand. From then on any load of
 * those bytes by the library is a second fetch of a value it already
 * validated: the oracle fails on the spot, naming both loads. A library
 * that reads each field once never sees the new value in this walk, so its
 * results still equal the model's (checked by the caller as always).
 *
 * Without VIRTQ_FUZZ_HOOKS (any build but the fuzz build) the library
 * reports no loads: POKE+C arms nothing and changes nothing.
 */
#include <string.h>

#include "harness.h"

#ifdef VIRTQ_FUZZ_HOOKS
extern void (*virtq_fuzz_load_hook)(const void *p, size_t bytes);

#define MODEL_READS 8192u

static struct {
	bool armed;
	uint8_t load, offset;
	uint32_t value;
	/* the model's walk */
	uint32_t nreads;
	bool reads_overflowed;
	uint64_t read_gpa[MODEL_READS], read_len[MODEL_READS];
	/* the library's walk */
	struct harness *h;
	uint32_t loads;
	bool rewritten;
	uint64_t gpa, len;
	uint32_t rewritten_at;
} toctou;

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void note_model_read(uint64_t gpa, uint64_t len)
{
	if (toctou.nreads == MODEL_READS) {
		toctou.reads_overflowed = true;
		return;
	}
	toctou.read_gpa[toctou.nreads] = gpa;
	toctou.read_len[toctou.nreads++] = len;
}

static uint32_t model_reads_of(uint64_t gpa, uint64_t len)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < toctou.nreads; i++)
		n += overlap(gpa, len, toctou.read_gpa[i], toctou.read_len[i]);
	return n;
}

/* The guest's rewrite: value's little-endian bytes from offset on, inside
 * the loaded range. */
static void rewrite(uint64_t gpa, uint64_t len)
{
	const unsigned char le[4] = { (unsigned char)toctou.value,
				      (unsigned char)(toctou.value >> 8),
				      (unsigned char)(toctou.value >> 16),
				      (unsigned char)(toctou.value >> 24) };
	const uint64_t at = toctou.offset % len, n = len - at < 4 ? len - at : 4;
	virtq_mock_write(toctou.h->guest, gpa + at, le, (size_t)n);
}

static void on_load(const void *p, size_t bytes)
{
	uint64_t gpa;
	const uint32_t n = toctou.loads++;
	if (!virtq_mock_gpa_of(toctou.h->guest, p, &gpa))
		return; /* the pop's own checks report loads outside memory */
	if (toctou.rewritten) {
		FUZZ_CHECK(!overlap(gpa, bytes, toctou.gpa, toctou.len),
			   "double fetch: load %u reads guest bytes 0x%llx+%zu again, which load %u "
			   "read and the guest then rewrote (the model reads them once)",
			   n, (unsigned long long)gpa, bytes, toctou.rewritten_at);
		return;
	}
	if (n != toctou.load || toctou.reads_overflowed || model_reads_of(gpa, bytes) != 1)
		return;
	if (harness_tracing)
		fprintf(stderr, "  toctou: guest rewrites 0x%llx+%zu after load %u\n",
			(unsigned long long)gpa, bytes, n);
	rewrite(gpa, bytes);
	toctou.rewritten = true;
	toctou.gpa = gpa;
	toctou.len = bytes;
	toctou.rewritten_at = n;
}

void harness_toctou_arm(struct harness *h, const struct scn_op *op)
{
	toctou.armed = true;
	toctou.h = h;
	toctou.load = op->entry;
	toctou.offset = op->nread;
	toctou.value = op->len32;
}

void harness_toctou_disarm(void)
{
	toctou.armed = false;
	virtq_fuzz_load_hook = NULL;
	model_read_observer = NULL;
}

void harness_toctou_model_begin(struct harness *h)
{
	(void)h;
	if (!toctou.armed)
		return;
	toctou.nreads = 0;
	toctou.reads_overflowed = false;
	model_read_observer = note_model_read;
}

void harness_toctou_model_end(struct harness *h)
{
	(void)h;
	model_read_observer = NULL;
}

void harness_toctou_library_begin(struct harness *h)
{
	if (!toctou.armed)
		return;
	toctou.h = h;
	toctou.loads = 0;
	toctou.rewritten = false;
	virtq_fuzz_load_hook = on_load;
}

/* One walk uses the arming up. */
void harness_toctou_library_end(struct harness *h)
{
	(void)h;
	if (toctou.armed)
		harness_toctou_disarm();
}

#else /* no load hook in this build: POKE+C does nothing */

void harness_toctou_arm(struct harness *h, const struct scn_op *op)
{
	(void)h;
	(void)op;
}
void harness_toctou_disarm(void) {}
void harness_toctou_model_begin(struct harness *h) { (void)h; }
void harness_toctou_model_end(struct harness *h) { (void)h; }
void harness_toctou_library_begin(struct harness *h) { (void)h; }
void harness_toctou_library_end(struct harness *h) { (void)h; }

#endif

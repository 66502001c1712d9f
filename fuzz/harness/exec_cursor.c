/* SPDX-License-Identifier: MIT */
/* Cursor operations on popped chains, checked against a flat view of the
 * model's chain: the bytes at the model's positions in guest memory. */
#include <stddef.h>
#include <string.h>

#include "harness.h"

/* Guest addresses of bytes [offset, offset + n) of a chain part, as pieces. */
struct piece {
	uint64_t gpa;
	uint32_t len;
};

static uint32_t part_pieces(const struct model_chain *c, bool writable, uint64_t offset,
			    uint64_t n, struct piece *out, uint32_t max)
{
	uint32_t count = 0;
	uint32_t first = writable ? c->nread : 0, end = writable ? c->nseg : c->nread;
	for (uint32_t i = first; i < end && n; i++) {
		if (offset >= c->segs[i].len) {
			offset -= c->segs[i].len;
			continue;
		}
		uint64_t take = c->segs[i].len - offset;
		if (take > n)
			take = n;
		if (count < max)
			out[count] = (struct piece){ c->segs[i].gpa + offset, (uint32_t)take };
		count++;
		n -= take;
		offset = 0;
	}
	return count;
}

uint32_t harness_count_pieces(const struct model_chain *c, bool writable, uint64_t offset,
			      uint64_t n)
{
	return part_pieces(c, writable, offset, n, NULL, 0);
}

uint64_t harness_part_gpa(const struct model_chain *c, bool writable, uint64_t offset)
{
	struct piece one;
	return part_pieces(c, writable, offset, 1, &one, 1) ? one.gpa : UINT64_MAX;
}

void harness_part_bytes(struct harness *h, const struct model_chain *c, bool writable,
			uint64_t offset, uint64_t n, unsigned char *out)
{
	static struct piece pieces[MODEL_MAX_SEGS];
	uint32_t count = part_pieces(c, writable, offset, n, pieces, MODEL_MAX_SEGS);
	for (uint32_t i = 0; i < count; i++) {
		FUZZ_CHECK(model_read(&h->model, pieces[i].gpa, out, pieces[i].len), "piece unreadable");
		out += pieces[i].len;
	}
}

/* chain.h's inline calls and the exported ones (a VMM may use either, and
 * both must give the same results): every other cursor operation of a run
 * goes through the exported function. */
static bool exported(struct harness *h)
{
	return h->cursor_ops++ & 1;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static void read_or_skip(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	const bool skip = scn_mods(op) & SCN_MOD_A;
	uint64_t want = min_u64(op->len16, sl->model_read_total - sl->model_read_done);
	int64_t got = skip		? virtq_chain_skip(&sl->reader, op->len16)
		      : exported(h) ? (virtq_chain_read)(&sl->reader, h->scratch, op->len16)
				    : virtq_chain_read(&sl->reader, h->scratch, op->len16);
	FUZZ_SAME(got, want, skip ? "skip" : "read");
	if (!skip) {
		harness_part_bytes(h, &sl->want, false, sl->model_read_done, want, h->expect);
		FUZZ_CHECK(!memcmp(h->scratch, h->expect, want), "read bytes differ from guest memory");
	}
	sl->model_read_done += want;
	FUZZ_SAME(exported(h) ? (virtq_chain_remaining)(&sl->reader)
			      : virtq_chain_remaining(&sl->reader),
		  sl->model_read_total - sl->model_read_done, "reader remaining");
}

static void write_through(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	uint64_t want = min_u64(op->len16, sl->want.write_len - sl->model_write_done);
	memset(h->scratch, op->fill, op->len16);
	FUZZ_SAME(exported(h) ? (virtq_chain_write)(&sl->writer, h->scratch, op->len16)
			      : virtq_chain_write(&sl->writer, h->scratch, op->len16),
		  want, "write");
	harness_part_bytes(h, &sl->want, true, sl->model_write_done, want, h->expect);
	FUZZ_CHECK(!memcmp(h->scratch, h->expect, want), "written bytes not where the model says");
	sl->model_write_done += want;
	FUZZ_SAME(exported(h) ? (virtq_chain_offset)(&sl->writer) : virtq_chain_offset(&sl->writer),
		  sl->model_write_done, "writer offset");
}

static void limit(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	uint64_t left = sl->model_read_total - sl->model_read_done;
	int want = op->len16 > left ? -VIRTQ_ESHORT : 0;
	FUZZ_SAME(exported(h) ? (virtq_chain_limit)(&sl->reader, op->len16)
			      : virtq_chain_limit(&sl->reader, op->len16),
		  want, "limit");
	if (!want)
		sl->model_read_total = sl->model_read_done + op->len16;
}

static void segments(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	struct virtq_seg out[256];
	struct piece want[256];
	uint64_t left = sl->model_read_total - sl->model_read_done;
	int got = exported(h) ? (virtq_chain_segments)(&sl->reader, op->len16, out, op->cap)
			      : virtq_chain_segments(&sl->reader, op->len16, out, op->cap);
	if (op->len16 > left) {
		FUZZ_SAME(got, -VIRTQ_ESHORT, "segments");
		return;
	}
	uint32_t n = part_pieces(&sl->want, false, sl->model_read_done, op->len16, want, 256);
	FUZZ_SAME(got, n > op->cap ? -VIRTQ_ENOSPC : (int)n, "segments");
	for (int i = 0; i < got; i++) {
		uint64_t gpa = 0;
		FUZZ_CHECK(virtq_mock_gpa_of(h->guest, out[i].addr, &gpa) && gpa == want[i].gpa &&
				   out[i].len == want[i].len,
			   "segment %d of the view differs", i);
	}
}

void harness_restart_cursors(struct harness *h, struct harness_slot *sl)
{
	if (exported(h)) {
		(virtq_chain_reader)(&sl->reader, &sl->chain);
		(virtq_chain_writer)(&sl->writer, &sl->chain);
	} else {
		virtq_chain_reader(&sl->reader, &sl->chain);
		virtq_chain_writer(&sl->writer, &sl->chain);
	}
	sl->model_read_done = sl->model_write_done = 0;
	sl->model_read_total = sl->want.read_len;
}

/* The model's virtq_chain_append(). */
static int model_append(struct model_chain *c, uint32_t cap, uint64_t gpa, uint32_t len,
			bool writable)
{
	if (!writable && c->nseg != c->nread)
		return -VIRTQ_EBADDESC;
	if (len == 0)
		return 0;
	if (c->nseg == cap)
		return -VIRTQ_ENOSPC;
	c->segs[c->nseg++] = (struct model_seg){ gpa, len, writable };
	if (writable) {
		c->write_len += len;
	} else {
		c->read_len += len;
		c->nread++;
	}
	return 0;
}

/* A device building a chain by hand from host buffers (any slot; an empty
 * slot starts a new chain). The buffer is cut to its region, as a device's
 * own host buffers would be. */
static void append(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	const bool writable = scn_mods(op) & SCN_MOD_A;
	const uint64_t gpa = harness_loc(h, op->bufs[0].loc);
	uint32_t len = op->bufs[0].len;
	for (uint32_t i = 0; i < h->model.nregions; i++) {
		const struct model_region *r = &h->model.regions[i];
		if (gpa - r->gpa < r->size && len > r->size - (gpa - r->gpa))
			len = (uint32_t)(r->size - (gpa - r->gpa));
	}
	for (uint32_t i = 0; i < h->model.nregions && writable; i++)
		if (gpa - h->model.regions[i].gpa < h->model.regions[i].size &&
		    (h->model.regions[i].flags & MODEL_NO_WRITE))
			return; /* a device's own buffers are writable: none in guest ROM */
	if (!sl->valid) {
		virtq_chain_init(&sl->chain, sl->segs, HARNESS_MAX_SEGS);
		sl->chain.log = h->q.log; /* a device's own chain over guest memory: its log */
		memset(&sl->want, 0, offsetof(struct model_chain, segs));
		sl->valid = true;
	}
	int got = virtq_chain_append(&sl->chain, virtq_mock_host(h->guest, gpa, len), len, writable);
	FUZZ_SAME(got, model_append(&sl->want, sl->chain.cap, gpa, len, writable), "append");
	if (got == 0 && writable && len)
		virtq_mock_allow_write(h->guest, gpa, len);
	harness_restart_cursors(h, sl);
}

void harness_cursor_op(struct harness *h, const struct scn_op *op)
{
	struct harness_slot *sl = &h->slots[op->slot % SCN_SLOTS];
	if (scn_opcode(op) == SCN_APPEND) {
		append(h, sl, op);
		return;
	}
	if (!sl->valid)
		return;
	switch (scn_opcode(op)) {
	case SCN_READ:
		read_or_skip(h, sl, op);
		break;
	case SCN_WRITE:
		write_through(h, sl, op);
		break;
	case SCN_LIMIT:
		limit(h, sl, op);
		break;
	case SCN_SEGMENTS:
		segments(h, sl, op);
		break;
	default:
		break;
	}
}

/* SPDX-License-Identifier: MIT */
/* Cursor operations on popped chains, checked against a flat view of the
 * model's chain: the bytes at the model's positions in guest memory. */
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

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static void read_or_skip(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	const bool skip = scn_mods(op) & SCN_MOD_A;
	uint64_t want = min_u64(op->len16, sl->model_read_total - sl->model_read_done);
	int64_t got = skip ? virtq_chain_skip(&sl->reader, op->len16)
			   : virtq_chain_read(&sl->reader, h->scratch, op->len16);
	FUZZ_SAME(got, want, skip ? "skip" : "read");
	if (!skip) {
		harness_part_bytes(h, &sl->want, false, sl->model_read_done, want, h->expect);
		FUZZ_CHECK(!memcmp(h->scratch, h->expect, want), "read bytes differ from guest memory");
	}
	sl->model_read_done += want;
	FUZZ_SAME(virtq_chain_remaining(&sl->reader), sl->model_read_total - sl->model_read_done,
		  "reader remaining");
}

static void write_through(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	uint64_t want = min_u64(op->len16, sl->want.write_len - sl->model_write_done);
	memset(h->scratch, op->fill, op->len16);
	FUZZ_SAME(virtq_chain_write(&sl->writer, h->scratch, op->len16), want, "write");
	harness_part_bytes(h, &sl->want, true, sl->model_write_done, want, h->expect);
	FUZZ_CHECK(!memcmp(h->scratch, h->expect, want), "written bytes not where the model says");
	sl->model_write_done += want;
	FUZZ_SAME(virtq_chain_offset(&sl->writer), sl->model_write_done, "writer offset");
}

static void limit(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	(void)h;
	uint64_t left = sl->model_read_total - sl->model_read_done;
	int want = op->len16 > left ? -VIRTQ_ESHORT : 0;
	FUZZ_SAME(virtq_chain_limit(&sl->reader, op->len16), want, "limit");
	if (!want)
		sl->model_read_total = sl->model_read_done + op->len16;
}

static void segments(struct harness *h, struct harness_slot *sl, const struct scn_op *op)
{
	struct virtq_seg out[256];
	struct piece want[256];
	uint64_t left = sl->model_read_total - sl->model_read_done;
	int got = virtq_chain_segments(&sl->reader, op->len16, out, op->cap);
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

void harness_cursor_op(struct harness *h, const struct scn_op *op)
{
	struct harness_slot *sl = &h->slots[op->slot % SCN_SLOTS];
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

/* SPDX-License-Identifier: MIT */
/* The byte form: decode (total) and encode, both through scenario_visit. */
#include <string.h>

#include "scenario_visit.h"

struct byte_codec {
	struct scn_codec base; /* first: the visitor sees only this */
	bool encoding;
	const uint8_t *in; /* decoding */
	uint8_t *out;      /* encoding */
	size_t len;        /* input length, or output capacity */
	size_t pos;
	bool short_out;    /* encoding ran out of room */
};

/* Little-endian; missing input bytes read as 0. */
static void byte_num(struct scn_codec *base, const char *name, uint64_t *v, unsigned bytes)
{
	struct byte_codec *c = (struct byte_codec *)base;
	(void)name;
	if (c->encoding) {
		for (unsigned i = 0; i < bytes; i++, c->pos++) {
			if (c->pos < c->len)
				c->out[c->pos] = (uint8_t)(*v >> (8 * i));
			else
				c->short_out = true;
		}
		return;
	}
	*v = 0;
	for (unsigned i = 0; i < bytes; i++, c->pos++)
		if (c->pos < c->len)
			*v |= (uint64_t)c->in[c->pos] << (8 * i);
}

static struct byte_codec byte_codec(bool encoding)
{
	return (struct byte_codec){
		.base = { .num = byte_num, .loc = scn_loc_as_nums, .buf = scn_buf_as_nums,
			   .text = false },
		.encoding = encoding,
	};
}

void scenario_decode(struct scenario *s, const uint8_t *data, size_t len)
{
	struct byte_codec c = byte_codec(false);
	c.in = data;
	c.len = data ? len : 0;
	memset(s, 0, sizeof(*s));
	scenario_visit_header(&c.base, &s->hdr);
	while (c.pos < c.len && s->nops < SCN_MAX_OPS) {
		struct scn_op *op = &s->ops[s->nops++];
		op->mem_format = scn_header_mem(&s->hdr); /* before the code byte selects */
		scenario_visit_op(&c.base, op);
	}
}

void scenario_sync_format(struct scenario *s)
{
	for (uint32_t i = 0; i < s->nops && i < SCN_MAX_OPS; i++)
		s->ops[i].mem_format = scn_header_mem(&s->hdr);
}

size_t scenario_encode(const struct scenario *s, uint8_t *out, size_t cap)
{
	/* The visitor takes non-const pointers; encoding only reads through them. */
	struct scenario *w = (struct scenario *)(uintptr_t)s;
	struct byte_codec c = byte_codec(true);
	c.out = out;
	c.len = out ? cap : 0;
	scenario_visit_header(&c.base, &w->hdr);
	for (uint32_t i = 0; i < s->nops && i < SCN_MAX_OPS; i++)
		scenario_visit_op(&c.base, &w->ops[i]);
	return c.short_out ? 0 : c.pos;
}

/* Two scenarios are equal when they encode to the same bytes. */
bool scenario_equal(const struct scenario *a, const struct scenario *b)
{
	static uint8_t ea[SCN_MAX_BYTES], eb[SCN_MAX_BYTES];
	size_t na = scenario_encode(a, ea, sizeof(ea)), nb = scenario_encode(b, eb, sizeof(eb));
	return na == nb && memcmp(ea, eb, na) == 0;
}

void scenario_init(struct scenario *s, uint8_t features, uint32_t queue_size)
{
	uint8_t log2 = 0;
	while ((1u << log2) < queue_size && log2 < 15)
		log2++;
	memset(s, 0, sizeof(*s));
	s->hdr.version = SCN_VERSION;
	s->hdr.features = features;
	s->hdr.size_log2 = (uint8_t)((log2 + 12u) % 16u); /* inverse of (v + 4) % 16 */
}

struct scn_op *scenario_add(struct scenario *s, enum scn_opcode code, unsigned mods)
{
	if (s->nops == SCN_MAX_OPS)
		return NULL;
	struct scn_op *op = &s->ops[s->nops++];
	memset(op, 0, sizeof(*op));
	op->code_byte = scn_code_byte(code, mods);
	op->mem_format = scn_header_mem(&s->hdr);
	return op;
}

/* SPDX-License-Identifier: MIT */
/*
 * The scenario's field layout, written once. scenario_visit() walks every
 * field of a scenario in byte order and hands each to a codec, which reads
 * it from bytes, writes it as bytes, prints it as text or parses it from
 * text. One layout, four directions: the formats cannot drift apart.
 */
#ifndef FUZZ_SCENARIO_VISIT_H
#define FUZZ_SCENARIO_VISIT_H

#include "scenario.h"

struct scn_codec {
	/* A number field of `bytes` bytes named `name`: read or write *v. */
	void (*num)(struct scn_codec *c, const char *name, uint64_t *v, unsigned bytes);
	/* A guest location (region, offset) and a buffer (location, length). */
	void (*loc)(struct scn_codec *c, const char *name, struct scn_loc *l);
	void (*buf)(struct scn_codec *c, const char *name, struct scn_buf *b);
	bool text; /* text codecs handle the opcode byte themselves */
};

void scenario_visit_header(struct scn_codec *c, struct scn_header *h);

/* loc and buf for codecs that see them as plain numbers (region u8, offset
 * u16, length u16), through the codec's num. */
void scn_loc_as_nums(struct scn_codec *c, const char *name, struct scn_loc *l);
void scn_buf_as_nums(struct scn_codec *c, const char *name, struct scn_buf *b);
void scenario_visit_op(struct scn_codec *c, struct scn_op *op);

#endif /* FUZZ_SCENARIO_VISIT_H */

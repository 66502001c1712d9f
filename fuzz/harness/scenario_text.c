/* SPDX-License-Identifier: MIT */
/*
 * The text form of a scenario: one line per operation, fields as name=value,
 * through the same visitor as the byte form, so print -> parse is exact.
 *
 *   header version=1 features=3 size_log2=0 ...     (or: header size=16 event_idx)
 *   post+indirect nbufs=1 nread=1 b0=0:0x10+64 b1=1:0+128
 *   write_desc+raw_addr idx=0 addr=0xfffffffffffffff0 len=32 flags=0x1 next=1
 *   pop slot=0 cap=0
 *
 * Locations are region:offset, buffers region:offset+length. Numbers take any
 * C base and a minus sign. '#' starts a comment. Fields left out are 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_text.h"
#include "scenario_visit.h"

static const char *const op_names[SCN_NOPS] = {
	[SCN_POP] = "pop",
	[SCN_READ] = "read",
	[SCN_WRITE] = "write",
	[SCN_ADD_USED] = "add_used",
	[SCN_PUBLISH] = "publish",
	[SCN_NEEDS_NOTIFY] = "needs_notify",
	[SCN_ENABLE_NOTIFY] = "enable_notify",
	[SCN_DISABLE_NOTIFY] = "disable_notify",
	[SCN_UNPOP] = "unpop",
	[SCN_SAVE_RESTORE] = "save_restore",
	[SCN_RESET] = "reset",
	[SCN_LIMIT] = "limit",
	[SCN_SEGMENTS] = "segments",
	[SCN_VSOCK_TX] = "vsock_tx",
	[SCN_VSOCK_RX] = "vsock_rx",
	[SCN_POST] = "post",
	[SCN_WRITE_DESC] = "write_desc",
	[SCN_WRITE_TABLE] = "write_table",
	[SCN_WRITE_AVAIL] = "write_avail",
	[SCN_BUMP_AVAIL] = "bump_avail",
	[SCN_AVAIL_FLAGS] = "avail_flags",
	[SCN_USED_EVENT] = "used_event",
	[SCN_CONSUME] = "consume",
	[SCN_POKE] = "poke",
	[SCN_APPEND] = "append",
	[SCN_DISCARD] = "discard",
	[SCN_RECONNECT] = "reconnect",
	[SCN_RESUBMIT] = "resubmit",
	[SCN_IOMMU_MAP] = "iommu_map",
	[SCN_IOMMU_UNMAP] = "iommu_unmap",
	[SCN_LOG] = "log",
};

const char *scn_opcode_name(enum scn_opcode code)
{
	return code < SCN_NOPS ? op_names[code] : "?";
}

/* Modifier names per operation; bits without one print as a, b, c. */
static const char *mod_name(enum scn_opcode code, unsigned bit)
{
	static const char *const generic[3] = { "a", "b", "c" };
	switch (code) {
	case SCN_POST:
		return bit == SCN_MOD_A ? "indirect" : bit == SCN_MOD_B ? "nopublish" : "c";
	case SCN_READ:
		return bit == SCN_MOD_A ? "skip" : generic[bit >> 1];
	case SCN_ADD_USED:
		return bit == SCN_MOD_A ? "raw_id" : bit == SCN_MOD_B ? "written" : "complete";
	case SCN_POP:
		return bit == SCN_MOD_C ? "many" : generic[bit >> 1];
	case SCN_PUBLISH:
		return bit == SCN_MOD_C ? "complete_many" : bit == SCN_MOD_A ? "unpublished" : "b";
	case SCN_WRITE_DESC:
	case SCN_WRITE_TABLE:
		return bit == SCN_MOD_A ? "raw_addr" : bit == SCN_MOD_B ? "raw_idx" : "c";
	case SCN_WRITE_AVAIL:
	case SCN_BUMP_AVAIL:
		return bit == SCN_MOD_B ? "raw" : bit == SCN_MOD_A ? "a" : "c";
	case SCN_SAVE_RESTORE:
		return bit == SCN_MOD_C ? "corrupt" : bit == SCN_MOD_A ? "scribble" : "advance";
	case SCN_VSOCK_TX:
		return bit == SCN_MOD_A ? "zero_copy" : bit == SCN_MOD_B ? "hdr_len" : "c";
	case SCN_VSOCK_RX:
		return bit == SCN_MOD_A ? "zero_copy" : generic[bit >> 1];
	case SCN_APPEND:
		return bit == SCN_MOD_A ? "writable" : generic[bit >> 1];
	case SCN_RECONNECT:
		return bit == SCN_MOD_A ? "rewound" : bit == SCN_MOD_B ? "torn" : "corrupt_area";
	case SCN_POKE:
		return bit == SCN_MOD_C ? "after_load" : generic[bit >> 1];
	case SCN_RESET:
		return bit == SCN_MOD_A ? "misuse" : generic[bit >> 1];
	case SCN_IOMMU_MAP:
		return bit == SCN_MOD_A ? "raw" : generic[bit >> 1];
	case SCN_IOMMU_UNMAP:
		return bit == SCN_MOD_A ? "raw" : bit == SCN_MOD_B ? "untold" : "c";
	default:
		return generic[bit == 4 ? 2 : bit >> 1];
	}
}

/* ---- printing ------------------------------------------------------------ */

struct printer {
	struct scn_codec base;
	FILE *out;
};

static void print_num(struct scn_codec *c, const char *name, uint64_t *v, unsigned bytes)
{
	(void)bytes;
	bool hex = !strcmp(name, "addr") || !strcmp(name, "flags") || !strcmp(name, "features") ||
		   !strcmp(name, "iova") || !strcmp(name, "gpa") || !strcmp(name, "perms") ||
		   !strcmp(name, "iommu");
	fprintf(((struct printer *)c)->out, hex ? " %s=0x%" PRIx64 : " %s=%" PRIu64, name, *v);
}

static void print_loc(struct scn_codec *c, const char *name, struct scn_loc *l)
{
	fprintf(((struct printer *)c)->out, " %s=%u:0x%x", name, l->region, l->offset);
}

static void print_buf(struct scn_codec *c, const char *name, struct scn_buf *b)
{
	fprintf(((struct printer *)c)->out, " %s=%u:0x%x+%u", name, b->loc.region, b->loc.offset,
		b->len);
}

static void print_header_comment(FILE *out, const struct scn_header *h)
{
	unsigned extra = h->regions & 3u;
	fprintf(out, "# queue size %u%s%s%s%s; region 0 (rings, 64 KiB buffer area)",
		1u << ((h->size_log2 + 4u) % 16u), h->features & 1u ? ", EVENT_IDX" : "",
		h->features & 2u ? ", INDIRECT_DESC" : "", (h->features & 0xfcu) == 4u ? ", skewed rings" : "",
		(h->features & 0xf8u) == 8u ? ", memory ending at 2^64" : "");
	if (extra)
		fprintf(out, " + %u region(s) of %u KiB, %s", extra, 4u * (1u + h->region_kib % 16u),
			h->regions & 4u ? "adjacent" : "with holes");
	fprintf(out, "\n");
	for (unsigned i = 0; i <= extra; i++)
		if (scn_region_flags(h, i))
			fprintf(out, "# region %u %s\n", i,
				scn_region_flags(h, i) == 1u ? "read-only" : "write-only");
	if (scn_header_mem(h) && (h->iommu & 1u))
		fprintf(out, "# ACCESS_PLATFORM: IOMMU, identity mappings to start with\n");
}

void scenario_print(FILE *out, const struct scenario *s)
{
	scenario_print_marked(out, s, -1);
}

void scenario_print_marked(FILE *out, const struct scenario *s, long failed)
{
	struct scenario *w = (struct scenario *)(uintptr_t)s; /* the visitor only reads here */
	struct printer p = { .base = { .num = print_num, .loc = print_loc, .buf = print_buf,
				       .text = true },
			     .out = out };
	fprintf(out, "# virtq fuzz scenario v%u (format: fuzz/README.md)\n",
		scn_header_mem(&s->hdr) ? 2u : SCN_VERSION);
	print_header_comment(out, &s->hdr);
	fprintf(out, "header");
	scenario_visit_header(&p.base, &w->hdr);
	fprintf(out, "\n");
	for (uint32_t i = 0; i < s->nops; i++) {
		struct scn_op *op = &w->ops[i];
		enum scn_opcode code = scn_opcode(op);
		if (failed == (long)i)
			fprintf(out, "# ---- op %u failed: ----\n", i);
		fprintf(out, "%s", scn_opcode_name(code));
		for (unsigned bit = 1; bit <= 4; bit <<= 1)
			if (scn_mods(op) & bit)
				fprintf(out, "+%s", mod_name(code, bit));
		scenario_visit_op(&p.base, op);
		fprintf(out, "\n");
	}
	if (failed >= (long)s->nops)
		fprintf(out, "# ---- the checks after the last op failed ----\n");
}

/* ---- parsing ------------------------------------------------------------- */

#define MAX_FIELDS 32

struct parser {
	struct scn_codec base;
	char *keys[MAX_FIELDS], *vals[MAX_FIELDS];
	bool used[MAX_FIELDS];
	int nfields;
	char error[160];
};

static void fail(struct parser *p, const char *what, const char *detail)
{
	if (!p->error[0])
		snprintf(p->error, sizeof(p->error), "%s '%s'", what, detail);
}

static const char *take(struct parser *p, const char *name)
{
	for (int i = 0; i < p->nfields; i++) {
		if (!strcmp(p->keys[i], name)) {
			p->used[i] = true;
			return p->vals[i];
		}
	}
	return NULL;
}

/* A number in any C base, possibly negative (two's complement). */
static uint64_t number(struct parser *p, const char *text, char **end)
{
	bool negative = *text == '-';
	errno = 0;
	uint64_t v = strtoull(text + negative, end, 0);
	if (errno || *end == text + negative)
		fail(p, "bad number", text);
	return negative ? 0 - v : v;
}

static void parse_num(struct scn_codec *c, const char *name, uint64_t *v, unsigned bytes)
{
	struct parser *p = (struct parser *)c;
	const char *text = take(p, name);
	char *end;
	(void)bytes;
	*v = 0;
	if (text && (*v = number(p, text, &end), *end))
		fail(p, "trailing characters in", text);
}

/* "region:offset[+len]" */
static void parse_place(struct parser *p, const char *name, struct scn_loc *l, uint16_t *len)
{
	const char *text = take(p, name);
	char *end;
	memset(l, 0, sizeof(*l));
	if (len)
		*len = 0;
	if (!text)
		return;
	l->region = (uint8_t)number(p, text, &end);
	if (*end != ':') {
		fail(p, "expected region:offset in", text);
		return;
	}
	l->offset = (uint16_t)number(p, end + 1, &end);
	if (len && *end == '+')
		*len = (uint16_t)number(p, end + 1, &end);
	if (*end)
		fail(p, "trailing characters in", text);
}

static void parse_loc(struct scn_codec *c, const char *name, struct scn_loc *l)
{
	parse_place((struct parser *)c, name, l, NULL);
}

static void parse_buf(struct scn_codec *c, const char *name, struct scn_buf *b)
{
	parse_place((struct parser *)c, name, &b->loc, &b->len);
}

/* Splits "key=value" words into fields; bare words become key with value "". */
static void split_fields(struct parser *p, char *words)
{
	char *save = NULL;
	p->nfields = 0;
	for (char *w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (p->nfields == MAX_FIELDS) {
			fail(p, "too many fields at", w);
			return;
		}
		char *eq = strchr(w, '=');
		p->keys[p->nfields] = w;
		p->vals[p->nfields] = eq ? eq + 1 : w + strlen(w);
		p->used[p->nfields++] = false;
		if (eq)
			*eq = '\0';
	}
}

static void check_all_used(struct parser *p)
{
	for (int i = 0; i < p->nfields; i++)
		if (!p->used[i])
			fail(p, "unknown field", p->keys[i]);
}

/* A region number of a friendly readonly=N / writeonly=N field: its two
 * perms bits set to flag. */
static void friendly_perm(struct parser *p, struct scn_header *h, const char *text, unsigned flag)
{
	char *end;
	if (!text)
		return;
	uint64_t r = number(p, text, &end);
	if (*end || r > 3)
		fail(p, "region 0-3 expected:", text);
	h->perms = (uint8_t)((h->perms & ~(3u << 2 * r)) | flag << 2 * r);
	if (r == 0)
		h->iommu |= 0x80u; /* region 0 takes its bits */
}

/* Friendly header fields on top of the raw ones: size=N, event_idx, indirect,
 * skewed, high_memory; format 2: readonly=N, writeonly=N (region N), iommu
 * ACCESS_PLATFORM: access_platform, iommu_unmapped=N (loc N's buffers unmapped at first). */
static void parse_header(struct parser *p, struct scn_header *h)
{
	const char *size = take(p, "size");
	bool event_idx = take(p, "event_idx"), indirect = take(p, "indirect");
	bool skewed = take(p, "skewed"), high = take(p, "high_memory");
	const char *readonly = take(p, "readonly"), *writeonly = take(p, "writeonly");
	const char *unmapped = take(p, "iommu_unmapped");
	bool iommu = take(p, "access_platform");
	scenario_visit_header(&p->base, h);
	if (!take(p, "version") && !h->version)
		h->version = (readonly || writeonly || iommu || unmapped) ? SCN_VERSION_MEM
									  : SCN_VERSION;
	friendly_perm(p, h, readonly, 1u);
	friendly_perm(p, h, writeonly, 2u);
	if (iommu)
		h->iommu |= 1u;
	if (unmapped) {
		char *end;
		uint64_t loc = number(p, unmapped, &end);
		if (*end || loc > 3)
			fail(p, "loc 0-3 expected:", unmapped);
		h->iommu |= (uint8_t)(1u | 2u << loc);
	}
	if (size) {
		char *end;
		uint64_t n = number(p, size, &end), log2 = 0;
		while ((UINT64_C(1) << log2) < n && log2 < 15)
			log2++;
		if (*end || n != UINT64_C(1) << log2)
			fail(p, "size must be a power of two up to 32768:", size);
		h->size_log2 = (uint8_t)((log2 + 12u) % 16u);
	}
	h->features |= (uint8_t)((event_idx ? 1u : 0u) | (indirect ? 2u : 0u) | (skewed ? 4u : 0u) |
				 (high ? 8u : 0u));
}

static bool parse_op_name(struct parser *p, char *word, struct scn_op *op)
{
	char *save = NULL, *name = strtok_r(word, "+", &save);
	int code = -1;
	for (int i = 0; i < SCN_NOPS; i++)
		if (!strcmp(name, op_names[i]))
			code = i;
	if (code < 0) {
		fail(p, "unknown operation", name);
		return false;
	}
	unsigned mods = 0;
	for (char *m = strtok_r(NULL, "+", &save); m; m = strtok_r(NULL, "+", &save)) {
		unsigned bit = 1;
		while (bit <= 4 && strcmp(m, mod_name((enum scn_opcode)code, bit)))
			bit <<= 1;
		if (bit > 4)
			fail(p, "unknown modifier", m);
		mods |= bit & 7u;
	}
	memset(op, 0, sizeof(*op));
	op->code_byte = scn_code_byte((enum scn_opcode)code, mods);
	return true;
}

int scenario_parse(struct scenario *s, const char *text, char *err, size_t err_len)
{
	struct parser p = { .base = { .num = parse_num, .loc = parse_loc, .buf = parse_buf,
				      .text = true } };
	char *copy = strdup(text ? text : ""), *save = NULL;
	int line_no = 0;
	bool have_header = false;
	memset(s, 0, sizeof(*s));
	s->hdr.version = SCN_VERSION;
	for (char *line = strtok_r(copy, "\n", &save); line && !p.error[0];
	     line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#'), *word_save = NULL;
		line_no++;
		if (hash)
			*hash = '\0';
		char *first = strtok_r(line, " \t", &word_save);
		if (!first)
			continue;
		char empty[1] = "";
		split_fields(&p, word_save ? word_save : empty);
		if (!strcmp(first, "header")) {
			if (have_header || s->nops)
				fail(&p, "header must come first, once:", first);
			parse_header(&p, &s->hdr);
			have_header = true;
		} else if (s->nops == SCN_MAX_OPS) {
			fail(&p, "too many operations at", first);
		} else if (parse_op_name(&p, first, &s->ops[s->nops])) {
			s->ops[s->nops].mem_format = scn_header_mem(&s->hdr);
			if ((s->ops[s->nops].code_byte & 31u) >= SCN_NOPS_V1 &&
			    !s->ops[s->nops].mem_format)
				fail(&p, "format 2 operation (header version=0x4d) needed for", first);
			scenario_visit_op(&p.base, &s->ops[s->nops++]);
		}
		check_all_used(&p);
	}
	free(copy);
	if (p.error[0] && err)
		snprintf(err, err_len, "line %d: %s", line_no, p.error);
	return p.error[0] ? -1 : 0;
}

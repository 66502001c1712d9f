/* SPDX-License-Identifier: MIT */
#include "scenario_visit.h"

#define FIELD(c, name, f, bytes, type)                                                 \
	do {                                                                           \
		uint64_t v_ = (f);                                                     \
		(c)->num((c), (name), &v_, (bytes));                                   \
		(f) = (type)v_;                                                        \
	} while (0)
#define U8(c, name, f) FIELD(c, name, f, 1, uint8_t)
#define U16(c, name, f) FIELD(c, name, f, 2, uint16_t)
#define U32(c, name, f) FIELD(c, name, f, 4, uint32_t)
#define U64(c, name, f) FIELD(c, name, f, 8, uint64_t)

void scn_loc_as_nums(struct scn_codec *c, const char *name, struct scn_loc *l)
{
	U8(c, name, l->region);
	U16(c, name, l->offset);
}

void scn_buf_as_nums(struct scn_codec *c, const char *name, struct scn_buf *b)
{
	c->loc(c, name, &b->loc);
	U16(c, name, b->len);
}

void scenario_visit_header(struct scn_codec *c, struct scn_header *h)
{
	U8(c, "version", h->version);
	U8(c, "features", h->features);
	U8(c, "size_log2", h->size_log2);
	U8(c, "regions", h->regions);
	U8(c, "region_kib", h->region_kib);
	U8(c, "start_back", h->start_back);
	U16(c, "desc_skew", h->desc_skew);
	U16(c, "avail_skew", h->avail_skew);
	U16(c, "used_skew", h->used_skew);
	if (scn_header_mem(h)) {
		U8(c, "perms", h->perms);
		U8(c, "iommu", h->iommu);
	}
}

/* A descriptor's fields, as WRITE_DESC and WRITE_TABLE carry them. */
static void visit_desc(struct scn_codec *c, struct scn_op *op)
{
	if (scn_mods(op) & SCN_MOD_A)
		U64(c, "addr", op->addr);
	else
		c->loc(c, "at", &op->loc);
	U32(c, "len", op->len32);
	U16(c, "flags", op->flags);
	U16(c, "next", op->next);
}

static void visit_slot_len(struct scn_codec *c, struct scn_op *op)
{
	U8(c, "slot", op->slot);
	U16(c, "len", op->len16);
}

void scenario_visit_op(struct scn_codec *c, struct scn_op *op)
{
	static const char *const buf_names[SCN_MAX_BUFS] = { "b0", "b1", "b2", "b3",
							     "b4", "b5", "b6", "b7" };
	if (!c->text)
		U8(c, "code", op->code_byte);
	switch (scn_opcode(op)) {
	case SCN_POP:
		U8(c, "slot", op->slot);
		U8(c, "cap", op->cap);
		break;
	case SCN_READ:
	case SCN_LIMIT:
		visit_slot_len(c, op);
		break;
	case SCN_WRITE:
		visit_slot_len(c, op);
		U8(c, "fill", op->fill);
		break;
	case SCN_ADD_USED:
		U8(c, "slot", op->slot);
		U32(c, "len", op->len32);
		if (scn_mods(op) & SCN_MOD_A)
			U16(c, "id", op->idx);
		break;
	case SCN_SEGMENTS:
		visit_slot_len(c, op);
		U8(c, "cap", op->cap);
		break;
	case SCN_VSOCK_TX:
		U8(c, "slot", op->slot);
		U32(c, "max", op->len32);
		if (scn_mods(op) & SCN_MOD_B)
			U32(c, "hdr_len", op->hdr_len);
		break;
	case SCN_VSOCK_RX:
		U8(c, "slot", op->slot);
		U32(c, "max", op->len32);
		U16(c, "len", op->len16);
		U8(c, "fill", op->fill);
		break;
	case SCN_POST:
		U8(c, "nbufs", op->nbufs);
		U8(c, "nread", op->nread);
		for (unsigned i = 0; i < scn_post_bufs(op); i++)
			c->buf(c, buf_names[i], &op->bufs[i]);
		break;
	case SCN_WRITE_DESC:
		U16(c, "idx", op->idx);
		visit_desc(c, op);
		break;
	case SCN_WRITE_TABLE:
		c->loc(c, "table", &op->table);
		U8(c, "entry", op->entry);
		visit_desc(c, op);
		break;
	case SCN_WRITE_AVAIL:
		U16(c, "idx", op->idx);
		U16(c, "head", op->value);
		break;
	case SCN_BUMP_AVAIL:
		U16(c, "delta", op->value);
		break;
	case SCN_AVAIL_FLAGS:
	case SCN_USED_EVENT:
		U16(c, "value", op->value);
		break;
	case SCN_CONSUME:
		U8(c, "n", op->cap);
		break;
	case SCN_APPEND:
		U8(c, "slot", op->slot);
		c->buf(c, "b0", &op->bufs[0]);
		break;
	case SCN_POKE:
		c->loc(c, "at", &op->loc);
		U32(c, "value", op->len32);
		if (scn_mods(op) & SCN_MOD_C) { /* instead: right after a device load */
			U8(c, "load", op->entry);
			U8(c, "offset", op->nread);
		}
		break;
	case SCN_SAVE_RESTORE:
		if (scn_mods(op) & SCN_MOD_C) { /* which byte and bit to corrupt */
			U8(c, "byte", op->slot);
			U8(c, "bit", op->cap);
		}
		if (scn_mods(op) & SCN_MOD_A) /* the guest scribbles used.idx first */
			U16(c, "used_idx", op->idx);

		break;
	case SCN_RECONNECT:
		if (scn_mods(op) & SCN_MOD_B)
			U8(c, "cleared", op->fill);
		if (scn_mods(op) & SCN_MOD_C) {
			U32(c, "at", op->len32);
			U8(c, "xor", op->nread);
		}
		break;
	case SCN_RESUBMIT:
		U8(c, "slot", op->slot);
		U8(c, "nth", op->entry);
		U8(c, "cap", op->cap);
		break;
	case SCN_IOMMU_MAP:
		if (scn_mods(op) & SCN_MOD_A) { /* raw: any ranges, wrapping ones too */
			U64(c, "iova", op->addr);
			U64(c, "gpa", op->gpa);
		} else {
			c->loc(c, "at", &op->loc);
		}
		U32(c, "len", op->len32);
		U8(c, "perm", op->fill);
		break;
	case SCN_IOMMU_UNMAP:
		if (scn_mods(op) & SCN_MOD_A)
			U64(c, "iova", op->addr);
		else
			c->loc(c, "at", &op->loc);
		U32(c, "len", op->len32);
		break;
	case SCN_LOG:
		U8(c, "on", op->fill);
		break;
	case SCN_PUBLISH:
	case SCN_NEEDS_NOTIFY:
	case SCN_ENABLE_NOTIFY:
	case SCN_DISABLE_NOTIFY:
	case SCN_UNPOP:
	case SCN_RESET:
	case SCN_DISCARD:
	case SCN_NOPS:
		break;
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * The fuzz scenario format (documented in fuzz/README.md, "Scenario format").
 *
 * A scenario is a guest memory layout, then a sequence of guest and device
 * operations. Its byte form is:
 *
 *   total       every byte string decodes to a scenario: missing bytes read
 *               as 0, unknown opcodes wrap around, nothing is rejected;
 *   reversible  the decoded struct keeps every operand exactly as its bytes,
 *               and one visitor (scenario_codec.c) both decodes and encodes,
 *               so decode(encode(s)) == s and encode(decode(b)) == b for
 *               every b whose last operation is complete;
 *   biased      operands are interpreted by the executor, not the decoder:
 *               addresses are "region + offset" reduced into guest memory and
 *               indices are reduced modulo the queue size, unless an
 *               operation's RAW modifier says otherwise -- so most inputs are
 *               nearly valid rings and a malicious shape is one bit away.
 */
#ifndef FUZZ_SCENARIO_H
#define FUZZ_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCN_VERSION 1u
/* Format 2, "memory": the version byte 0x4d ('M'), a value no input of the
 * version-1 era (corpus/, fuzz/regressions/) has, so that every one of them
 * still decodes as before. Two more header bytes (perms, iommu) and three
 * more operations (iommu_map, iommu_unmap, log). Any other version byte is
 * read as 1, as before. */
#define SCN_VERSION_MEM 0x4du
#define SCN_HEADER_BYTES 12u
#define SCN_HEADER_MEM_BYTES 2u
#define SCN_MAX_OPS 256u
#define SCN_MAX_BUFS 8u
#define SCN_SLOTS 4u

/* Header: the guest and the queue configuration. */
struct scn_header {
	uint8_t version;   /* 1; other values are kept but read as 1 */
	uint8_t features;  /* bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 apply the ring
			    * skews (only if bits 3-7 are clear) */
	uint8_t size_log2; /* queue size 1 << ((v + 4) % 16): 0 gives 16 */
	uint8_t regions;   /* bits 0-1 extra buffer regions; bit 2 adjacent (else a hole) */
	uint8_t region_kib; /* extra region size: 4 KiB * (1 + v % 16) */
	uint8_t start_back; /* indices start at 65536 - v (0: at 0), to reach wraparound */
	uint16_t desc_skew, avail_skew, used_skew; /* int16 added to each ring address (see features) */
	/* format 2 (version SCN_VERSION_MEM) only: */
	uint8_t perms; /* region i's flags: bits 2i..2i+1, 1 READONLY, 2 WRITEONLY (0, 3: none);
			* region 0's (it holds the rings) only with iommu bit 7 */
	uint8_t iommu; /* bit 0 ACCESS_PLATFORM with the mock IOMMU (identity mappings of
			* every region to start with); bits 1-4 loc i's buffers start
			* unmapped; bit 5 buffer mappings without write, bit 6 without read;
			* bit 7 region 0 takes its perms bits */
};

/* Whether a header is format 2 ("memory"). */
static inline bool scn_header_mem(const struct scn_header *h)
{
	return h->version == SCN_VERSION_MEM;
}

/* Region i's flags (VIRTQ_MEM_READONLY or VIRTQ_MEM_WRITEONLY, or 0) in a
 * format 2 header; region 0 keeps read and write unless iommu bit 7 says
 * otherwise, so that most random headers still activate a queue. */
static inline uint32_t scn_region_flags(const struct scn_header *h, uint32_t i)
{
	const uint32_t flags = (uint32_t)h->perms >> 2 * i & 3u; /* 3, both, is no region's */
	if (!scn_header_mem(h) || flags == 3u || (i == 0 && !(h->iommu & 0x80u)))
		return 0;
	return flags;
}

enum scn_opcode {
	/* device */
	SCN_POP,          /* slot, cap: pop into slot with cap segments (0: many) */
	SCN_READ,         /* slot, len: read len bytes from the slot's reader */
	SCN_WRITE,        /* slot, len, fill: write len bytes of fill via its writer */
	SCN_ADD_USED,     /* slot, len32 [, id16 with MOD_RAW_ID] */
	SCN_PUBLISH,
	SCN_NEEDS_NOTIFY,
	SCN_ENABLE_NOTIFY,
	SCN_DISABLE_NOTIFY,
	SCN_UNPOP,
	SCN_SAVE_RESTORE, /* save, encode, decode, restore into a fresh queue */
	SCN_RESET,        /* reset queue and driver, activate again */
	SCN_LIMIT,        /* slot, len: limit the slot's reader to len bytes */
	SCN_SEGMENTS,     /* slot, len, cap: describe len reader bytes as segments */
	SCN_VSOCK_TX,     /* slot, len32 = max packet: parse as TX, read all data */
	SCN_VSOCK_RX,     /* slot, len32 = max packet, len, fill: write a reply packet */
	/* guest */
	SCN_POST,         /* nbufs, nread, bufs: a well-formed chain via the mock */
	SCN_WRITE_DESC,   /* idx, addr, len32, flags, next: any descriptor (see guest.c) */
	SCN_WRITE_TABLE,  /* table, entry, addr, len32, flags, next: indirect table entry */
	SCN_WRITE_AVAIL,  /* idx (ring slot), head */
	SCN_BUMP_AVAIL,   /* delta: avail.idx += delta (published) */
	SCN_AVAIL_FLAGS,  /* value */
	SCN_USED_EVENT,   /* value */
	SCN_CONSUME,      /* count: the driver takes up to count used entries */
	SCN_POKE,         /* loc, value32: the guest writes 4 bytes anywhere (headers, TOCTOU) */
	SCN_APPEND,       /* slot, buf: append a segment to the slot's chain by hand */
	/* device, lifecycle */
	SCN_DISCARD,      /* consume the next chain, complete it with length 0 */
	SCN_RECONNECT,    /* the back-end restarts: keep the in-flight area, re-initialise,
			   * resume [cleared u8 with B] [at u32, xor u8 with C] */
	SCN_RESUBMIT,     /* slot, nth, cap: the nth chain in flight (pop order) into slot */
	/* format 2 ("memory") only; format 1's opcodes are modulo SCN_NOPS_V1 */
	SCN_IOMMU_MAP,    /* at loc, len32, perm [iova u64, gpa u64 with A] */
	SCN_IOMMU_UNMAP,  /* at loc, len32 [iova u64 with A]; B: not told to the queue */
	SCN_LOG,          /* on: dirty logging on (bit 0) or off */
	SCN_NOPS
};
#define SCN_NOPS_V1 ((unsigned)SCN_IOMMU_MAP)

/* Modifier bits: the top three bits of the opcode byte. */
#define SCN_MOD_A 1u /* POST: indirect; READ: skip; ADD_USED: raw id;
		      * SAVE_RESTORE: the guest first writes used_idx to used.idx
		      * (and with B, instead of saving and restoring, every index
		      * moves on as after 65535 publishes since the last
		      * notification decision, at once: exec_state.c);
		      * RESET: the VMM's misuse of the API first (exec_misuse.c);
		      * WRITE_DESC/TABLE: raw address, length and flags */
#define SCN_MOD_B 2u /* POST: don't publish; ADD_USED: use bytes written;
		      * WRITE_DESC: raw index and next; WRITE_AVAIL, BUMP_AVAIL: raw */
#define SCN_MOD_C 4u /* SAVE_RESTORE: corrupt one byte of the encoding first;
		      * POP: virtq_pop_many into the slots from slot on;
		      * ADD_USED: virtq_complete (add, publish, notify decision);
		      * PUBLISH: virtq_complete_many of every valid slot's chain
		      * (with A: virtq_add_used_many, not published);
		      * POKE: instead of writing at loc now, write value into the
		      * bytes the next chain walk (pop, discard, resubmit) loads
		      * at its load-th guest load, right after that load */
/* RECONNECT: A resumes at used.idx (a front-end that lost the back-end's
 * index), else at the old next_avail; B the old back-end died publishing,
 * after used.idx, with `cleared` of its batch's flags cleared; C a byte of
 * the area at `at` is XORed with `xor` before resuming. */
/* Also: VSOCK_TX/RX with A use the zero-copy segment paths; VSOCK_TX with B
 * first writes its hdr_len operand into the packet's len field; APPEND with A
 * is writable. */

/* A guest address: a region and an offset, reduced into guest memory. */
struct scn_loc {
	uint8_t region;
	uint16_t offset;
};

struct scn_buf {
	struct scn_loc loc;
	uint16_t len;
};

struct scn_op {
	uint8_t code_byte; /* raw; opcode and modifiers derive from it */
	bool mem_format;   /* the scenario is format 2: code_byte selects among SCN_NOPS
			    * (not stored: the header's version says it) */
	uint8_t slot, cap, fill, nbufs, nread, entry;
	uint16_t len16, idx, next, flags, value;
	uint32_t len32;
	uint32_t hdr_len;       /* VSOCK_TX with B: the header len the guest writes first */
	uint64_t addr;          /* buffer address, with the raw-address modifier; IOMMU_MAP,
				 * IOMMU_UNMAP with A: the IOVA */
	uint64_t gpa;           /* IOMMU_MAP with A: the guest-physical address */
	struct scn_loc loc;     /* buffer address, without it */
	struct scn_loc table;   /* WRITE_TABLE: where the indirect table is */
	struct scn_buf bufs[SCN_MAX_BUFS];
};

struct scenario {
	struct scn_header hdr;
	uint32_t nops;
	struct scn_op ops[SCN_MAX_OPS];
};

static inline enum scn_opcode scn_opcode(const struct scn_op *op)
{
	return (enum scn_opcode)((op->code_byte & 31u) % (op->mem_format ? SCN_NOPS : SCN_NOPS_V1));
}

static inline unsigned scn_mods(const struct scn_op *op)
{
	return op->code_byte >> 5;
}

static inline uint8_t scn_code_byte(enum scn_opcode code, unsigned mods)
{
	return (uint8_t)(code | (mods & 7u) << 5);
}

/* Number of buffers a POST carries: 1..8. */
static inline unsigned scn_post_bufs(const struct scn_op *op)
{
	return 1u + op->nbufs % SCN_MAX_BUFS;
}

/* Decodes any bytes; never fails. Bytes after SCN_MAX_OPS operations are ignored. */
void scenario_decode(struct scenario *s, const uint8_t *data, size_t len);

/* Encodes s; returns the byte count, or 0 if cap is too small. */
size_t scenario_encode(const struct scenario *s, uint8_t *out, size_t cap);

/* Upper bound of scenario_encode()'s output for any scenario. */
#define SCN_MAX_BYTES                                                                  \
	(SCN_HEADER_BYTES + SCN_HEADER_MEM_BYTES + SCN_MAX_OPS * (1u + 2u + SCN_MAX_BUFS * 5u))

/* Gives every operation the header's format (after the header changed). */
void scenario_sync_format(struct scenario *s);

/* Equality of the fields the byte form carries. */
bool scenario_equal(const struct scenario *a, const struct scenario *b);

/* Starts a scenario with a sane header: given features and queue size. */
void scenario_init(struct scenario *s, uint8_t features, uint32_t queue_size);

/* Appends an operation (code byte set, operands zero); NULL when full. */
struct scn_op *scenario_add(struct scenario *s, enum scn_opcode code, unsigned mods);

const char *scn_opcode_name(enum scn_opcode code);

#endif /* FUZZ_SCENARIO_H */

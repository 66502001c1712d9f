/* SPDX-License-Identifier: MIT */
/*
 * The shared fuzz harness: runs a scenario against the library and the
 * reference model, and checks the oracles after every operation. A fuzz
 * target is one small file that picks which operations to run.
 */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>

#include "model.h"
#include "scenario.h"

/* A failed oracle is a crash: libFuzzer and the replay driver report it. */
#define FUZZ_CHECK(cond, ...)                                                          \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "oracle failed at %s:%d: %s: ", __FILE__,     \
				__LINE__, #cond);                                     \
			fprintf(stderr, __VA_ARGS__);                                  \
			fputc('\n', stderr);                                           \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* Every negative value the library returns has a documented description. */
void harness_check_error_text(int64_t r);

/* From VIRTQ_FUZZ_TRACE: "ops" prints each operation as it starts ("op 3:
 * pop"), which tells which one failed; any other value also prints every
 * comparison (debugging a crash). */
extern bool harness_tracing, harness_tracing_ops;

/* " (VIRTQ_EBADIDX)" for a negative return value, "" for a success value:
 * a count or a flag is not an error. */
const char *harness_code_name(int64_t r);

/* Both sides must return the same value (each argument evaluated once). */
#define FUZZ_SAME(lib, want, what)                                                     \
	do {                                                                           \
		int64_t lib_ = (int64_t)(lib), want_ = (int64_t)(want);                \
		if (harness_tracing)                                                   \
			fprintf(stderr, "  %-28s %lld%s\n", what, (long long)lib_,    \
				harness_code_name(lib_));                              \
		harness_check_error_text(lib_);                                        \
		FUZZ_CHECK(lib_ == want_, "%s: library %lld%s, model %lld%s", what,    \
			   (long long)lib_, harness_code_name(lib_), (long long)want_, \
			   harness_code_name(want_));                                  \
	} while (0)

#define HARNESS_OP(code) (1u << (code))
#define HARNESS_ALL_OPS ((1u << SCN_NOPS) - 1u)
/* What every target needs to get chains: the guest posting and rewriting
 * rings, the device popping and returning them. */
#define HARNESS_RING_OPS                                                               \
	(HARNESS_OP(SCN_POST) | HARNESS_OP(SCN_WRITE_DESC) | HARNESS_OP(SCN_WRITE_TABLE) |  \
	 HARNESS_OP(SCN_WRITE_AVAIL) | HARNESS_OP(SCN_BUMP_AVAIL) | HARNESS_OP(SCN_POKE) |   \
	 HARNESS_OP(SCN_POP) | HARNESS_OP(SCN_ADD_USED) | HARNESS_OP(SCN_PUBLISH) |          \
	 HARNESS_OP(SCN_CONSUME))

/* Segments a slot can hold: pop's cap operand 0 means this many. */
#define HARNESS_MAX_SEGS MODEL_MAX_SEGS

struct harness_slot {
	bool valid;
	struct virtq_chain chain;
	struct virtq_seg segs[HARNESS_MAX_SEGS];
	struct model_chain want; /* the model's chain: gpa pieces */
	struct virtq_cursor reader, writer;
	uint64_t model_read_done, model_read_total, model_write_done;
};

/* Guest memory the harness's dirty log covers (the largest layout is
 * about 1.3 MiB: guest.c). */
#define HARNESS_LOG_COVERS (UINT64_C(16) << 20)

struct harness {
	struct virtq_mock *guest; /* from a cache of mapped guests, see guest.c */
	struct virtq q;
	struct model model;
	uint32_t ops_mask;
	uint32_t cursor_ops; /* parity picks the inline or the exported cursor call */
	uint32_t nlocs;               /* regions a scn_loc can select */
	uint64_t loc_gpa[MODEL_MAX_REGIONS], loc_size[MODEL_MAX_REGIONS];
	struct harness_slot slots[SCN_SLOTS];
	struct virtq_log log; /* dirty log over all guest memory, on: every run */
	uint64_t log_words[VIRTQ_LOG_BYTES(HARNESS_LOG_COVERS) / 8];
	/* LOG off: the words when it was switched off, which must not change
	 * until it is switched on again (log.h: off logs nothing). */
	bool log_off;
	uint64_t log_words_off[VIRTQ_LOG_BYTES(HARNESS_LOG_COVERS) / 8];
	/* Format 2: regions the device may not write (their bytes never change
	 * but by the driver), and ACCESS_PLATFORM through the mock IOMMU. */
	uint32_t readonly_regions; /* bit i: mock region i */
	bool iommu_on;
	struct virtq_mock_iommu iommu;
	unsigned char scratch[1u << 16];
	unsigned char expect[1u << 16];
};

/* Runs s, executing only the operations in ops_mask (others are skipped).
 * Aborts with a message when an oracle fails. */
void harness_run(const struct scenario *s, uint32_t ops_mask);

/* What runs reached, summed over all runs: for tests of the format's bias. */
struct harness_stats {
	uint64_t runs, activated, pops, chains, pop_errors, pop_unusable; /* broken/not ready */
	uint64_t pop_error_codes[VIRTQ_ERROR_COUNT];
};
extern struct harness_stats harness_stats;

/* A little-endian u32 from guest bytes, however aligned. */
static inline uint32_t harness_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Pieces of the harness, one file each. */
int harness_guest_setup(struct harness *h, const struct scn_header *hdr);
/* Where the guest's memory starts: 0, or with header feature bit 3 (the
 * highest set) 2^64 minus its size, so that its last region ends at 2^64. */
uint64_t harness_memory_base(const struct scn_header *hdr);
uint64_t harness_loc(const struct harness *h, struct scn_loc loc);
uint64_t harness_op_addr(const struct harness *h, const struct scn_op *op);
void harness_guest_op(struct harness *h, const struct scn_op *op);
/* Format 2's operations: IOMMU mappings and dirty logging (exec_memory.c). */
void harness_memory_op(struct harness *h, const struct scn_op *op);
void harness_memory_setup(struct harness *h, const struct scn_header *hdr);
/* Oracles of format 2, after every operation and on every chain. */
void harness_check_readonly(struct harness *h);
void harness_check_segment_access(struct harness *h, const struct harness_slot *sl);
/* The log is attached and switched on (after activation, resets, restarts). */
void harness_attach_log(struct harness *h);
void harness_check_logged(struct harness *h);
void harness_device_op(struct harness *h, const struct scn_op *op);
void harness_cursor_op(struct harness *h, const struct scn_op *op);
void harness_vsock_op(struct harness *h, const struct scn_op *op);
void harness_save_restore(struct harness *h, const struct scn_op *op);
void harness_start_back(struct harness *h, uint8_t back);
/* Number of pieces (one per model segment touched) of those bytes. */
uint32_t harness_count_pieces(const struct model_chain *c, bool writable, uint64_t offset,
			      uint64_t n);
/* Guest address of byte offset of a model chain's part (UINT64_MAX: none). */
uint64_t harness_part_gpa(const struct model_chain *c, bool writable, uint64_t offset);
/* Fresh reader and writer on a slot's chain, model positions at 0. */
void harness_restart_cursors(struct harness *h, struct harness_slot *sl);
/* Bytes [offset, offset + n) of a model chain's readable or writable part. */
void harness_part_bytes(struct harness *h, const struct model_chain *c, bool writable,
			uint64_t offset, uint64_t n, unsigned char *out);
void harness_reactivate(struct harness *h);
/* Configures and activates the queue as the mock's driver does; the result
 * must be the model's and harness/accept_activate.c's. */
void harness_activate(struct harness *h);
void harness_check_writes(struct harness *h);
void harness_lifecycle_op(struct harness *h, const struct scn_op *op);
/* Oracles shared by pop, discard and resubmit. */
void harness_check_chain(struct harness *h, const struct harness_slot *sl);
void harness_check_chain_info(struct harness *h, const struct virtq_chain *c,
			      const struct model_chain *want, int got);
void harness_slot_filled(struct harness *h, struct harness_slot *sl);
void harness_check_avail_event(struct harness *h);
void harness_check_used_elem(struct harness *h, uint16_t id, uint32_t len);
/* Deterministic TOCTOU (exec_toctou.c, fuzz builds with VIRTQ_FUZZ_HOOKS):
 * POKE+C arms a rewrite of the bytes the next chain walk loads at its
 * load-th guest load, right after that load. The walk calls model_begin /
 * model_end around the model's walk and library_begin / library_end around
 * the library's (the model first); a rewritten field the model reads once
 * and the library loads again is a double fetch, an oracle failure. */
/* RESET+A: the VMM's misuse of the queue API first (exec_misuse.c). */
void harness_misuse(struct harness *h);
/* NULL at every public entry point, and the error names (exec_misuse_null.c):
 * input-independent, so run by the first misuse of a process only. */
void harness_misuse_null(void);
/* The region table rebuilt from this run's guest memory (exec_mem_table.c). */
void harness_check_mem_table(struct harness *h);
void harness_toctou_arm(struct harness *h, const struct scn_op *op);
void harness_toctou_model_begin(struct harness *h);
void harness_toctou_model_end(struct harness *h);
void harness_toctou_library_begin(struct harness *h);
void harness_toctou_library_end(struct harness *h);
void harness_toctou_disarm(void);

/* The mock's in-flight area outlives runs (cached guests): a queue that did
 * not activate must not see an earlier run's records. */
void harness_forget_stale_area(struct harness *h);

#endif /* FUZZ_HARNESS_H */

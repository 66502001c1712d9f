/* SPDX-License-Identifier: MIT */
/*
 * virtq-scenario: fuzz inputs as readable scenarios, and back.
 *
 *   virtq-scenario print [--mark N|final] FILE...  show binary inputs (crashes,
 *                                     corpus) as text; --mark flags operation N (or
 *                                     the final checks), the one a failure report names
 *   virtq-scenario print-state FILE...  show fuzz_state inputs: the decoded state
 *   virtq-scenario build IN.scn OUT   write the binary input for a text scenario
 *                                     (IN may be "-" for standard input)
 *   virtq-scenario state-seeds DIR    write fuzz_state's seeds: encoded queue states
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtq/state.h>

#include "harness/scenario.h"
#include "harness/scenario_text.h"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 4096, n;
	unsigned char *buf = malloc(cap + 1);
	if (!f || !buf) {
		perror(path);
		exit(1);
	}
	*len = 0;
	while ((n = fread(buf + *len, 1, cap - *len, f)) > 0) {
		*len += n;
		if (*len == cap && !(buf = realloc(buf, (cap *= 2) + 1))) {
			perror("realloc");
			exit(1);
		}
	}
	if (f != stdin)
		fclose(f);
	buf[*len] = '\0';
	return buf;
}

static int print_files(int argc, char **argv, long mark)
{
	static struct scenario s;
	for (int i = 0; i < argc; i++) {
		size_t len;
		unsigned char *data = slurp(argv[i], &len);
		scenario_decode(&s, data, len);
		if (argc > 1)
			printf("### %s\n", argv[i]);
		scenario_print_marked(stdout, &s, mark);
		free(data);
	}
	return 0;
}

/* fuzz_state's inputs are encoded states, not scenarios: decode and show. */
static int print_states(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		size_t len;
		unsigned char *data = slurp(argv[i], &len);
		struct virtq_state s;
		int r = virtq_state_decode(&s, data, len);
		printf("### %s: %zu bytes, decode %d%s%s\n", argv[i], len, r, r ? " " : "",
		       r ? virtq_errname(r) : "");
		if (r == 0)
			printf("max_size=%u size=%u features=0x%llx desc=0x%llx avail=0x%llx "
			       "used=0x%llx active=%d broken=%d next_avail=%u next_used=%u "
			       "published_used=%u in_flight=%u signalled_used=%u signalled_valid=%d "
			       "notify_enabled=%d\n",
			       s.max_size, s.size, (unsigned long long)s.features,
			       (unsigned long long)s.desc_gpa, (unsigned long long)s.avail_gpa,
			       (unsigned long long)s.used_gpa, s.active, s.broken, s.next_avail,
			       s.next_used, s.published_used, s.in_flight, s.signalled_used,
			       s.signalled_valid, s.notify_enabled);
		free(data);
	}
	return 0;
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: virtq-scenario print [--mark N|final] FILE... | print-state FILE... |\n"
		   "                      build IN.scn OUT | state-seeds DIR\n");
	return status;
}

/* "print [--mark N|final] FILE...": -1 for no mark, -2 for a bad --mark,
 * LONG_MAX for the checks after the last operation. */
static long parse_mark(int *argc, char ***argv)
{
	if (*argc < 2 || strcmp((*argv)[0], "--mark"))
		return -1;
	const char *arg = (*argv)[1];
	*argc -= 2;
	*argv += 2;
	if (!strcmp(arg, "final"))
		return LONG_MAX;
	char *end;
	long n = strtol(arg, &end, 10);
	return (*end || end == arg || n < 0) ? -2 : n;
}

static int build(const char *in, const char *out)
{
	static struct scenario s;
	static unsigned char bytes[SCN_MAX_BYTES];
	char err[256];
	size_t len;
	char *text = (char *)slurp(in, &len);
	int bad = scenario_parse(&s, text, err, sizeof(err));
	free(text);
	if (bad) {
		fprintf(stderr, "%s: %s\n", in, err);
		return 1;
	}
	size_t n = scenario_encode(&s, bytes, sizeof(bytes));
	FILE *f = fopen(out, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n || fclose(f)) {
		perror(out);
		return 1;
	}
	return 0;
}

static int write_state(const char *dir, const char *name, const struct virtq_state *s)
{
	static uint8_t bytes[VIRTQ_STATE_MAX_BYTES];
	char path[4096];
	int len = virtq_state_encode(s, bytes, sizeof(bytes));
	if (len < 0) {
		fprintf(stderr, "state %s does not encode\n", name);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, (size_t)len, f) != (size_t)len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

/* An encoding the encoder refuses to write: s's bytes with the 16-bit field
 * at `at` replaced by `value` (a state one rule away from a valid one). */
static int write_spoiled_state(const char *dir, const char *name, const struct virtq_state *s,
			       size_t at, uint16_t value)
{
	static uint8_t bytes[VIRTQ_STATE_MAX_BYTES];
	char path[4096];
	int len = virtq_state_encode(s, bytes, sizeof(bytes));
	if (len < 0 || at + 2 > (size_t)len) {
		fprintf(stderr, "state %s does not encode\n", name);
		return 1;
	}
	bytes[at] = (uint8_t)value;
	bytes[at + 1] = (uint8_t)(value >> 8);
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, (size_t)len, f) != (size_t)len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

/* s's encoding with `extra` more bytes (zero), then the 16-bit fields at
 * at[i] set to value[i]: framings and contents one step from a valid one
 * (n 0: only trailing bytes, a framing that must be refused). */
static int write_edited_state(const char *dir, const char *name, const struct virtq_state *s,
			      size_t extra, const size_t *at, const uint16_t *value, size_t n)
{
	static uint8_t bytes[VIRTQ_STATE_MAX_BYTES + 8];
	char path[4096];
	int len = virtq_state_encode(s, bytes, VIRTQ_STATE_MAX_BYTES);
	if (len < 0 || extra > 8) {
		fprintf(stderr, "state %s does not encode\n", name);
		return 1;
	}
	memset(bytes + len, 0, extra);
	const size_t total = (size_t)len + extra;
	for (size_t i = 0; i < n; i++) {
		if (at[i] + 2 > total) {
			fprintf(stderr, "state %s: no field at %zu\n", name, at[i]);
			return 1;
		}
		bytes[at[i]] = (uint8_t)value[i];
		bytes[at[i] + 1] = (uint8_t)(value[i] >> 8);
	}
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, total, f) != total || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

/* fuzz_state reads the restoring queue's limits from feature bits 60-63
 * (fuzz_state.c): 1 is "exactly s->size", 2 "half of it". */
#define QUEUE_MAX_IS_SIZE (UINT64_C(1) << 62)
#define QUEUE_MAX_IS_HALF (UINT64_C(2) << 62)
#define AREA_IS_SIZE (UINT64_C(1) << 60)
#define AREA_IS_HALF (UINT64_C(2) << 60)
#define VERSION_1 (UINT64_C(1) << 32)

/* States whose size is below their max_size, restored onto queues and areas
 * exactly as large as the size, or half as large: each bound met and missed. */
static int bound_seeds(const char *dir)
{
	static struct virtq_state s = { .max_size = 256, .size = 16, .active = true,
					.desc_gpa = 0x4000, .avail_gpa = 0x5000,
					.used_gpa = 0x6000, .notify_enabled = true };
	/* popped 15 (the largest head) and 0, 3 completed unpublished; next_avail
	 * odd: fuzz_state writes used.idx = published_used */
	s.next_avail = 9, s.next_used = 7, s.published_used = 6, s.in_flight = 2;
	s.heads[0] = 3 | VIRTQ_STATE_HEAD_USED, s.heads[1] = 15, s.heads[2] = 0;
	s.unpop_depth = 2;
	s.features = VERSION_1 | QUEUE_MAX_IS_SIZE | AREA_IS_SIZE;
	int r = write_state(dir, "size_below_max", &s);
	s.features = VERSION_1 | QUEUE_MAX_IS_HALF | AREA_IS_SIZE;
	r |= write_state(dir, "queue_max_below_size", &s);
	s.features = VERSION_1 | QUEUE_MAX_IS_SIZE | AREA_IS_HALF;
	r |= write_state(dir, "area_below_size", &s);
	s.features = VERSION_1;
	/* heads[1] (offset 68 + 2) = size: below max_size, not below size */
	r |= write_spoiled_state(dir, "head_at_size", &s, VIRTQ_STATE_V2_FIXED_SIZE + 2, 16);
	r |= write_spoiled_state(dir, "head_twice", &s, VIRTQ_STATE_V2_FIXED_SIZE + 2, 0);
	/* popped 15, 3 (completed), 0: only 0 is undoable; unpop_depth
	 * (offset 64) 2 reaches behind the completion, yet is <= in_flight */
	struct virtq_state behind = s;
	behind.heads[0] = 15, behind.heads[1] = 3 | VIRTQ_STATE_HEAD_USED, behind.heads[2] = 0;
	behind.unpop_depth = 1;
	r |= write_spoiled_state(dir, "unpop_depth_behind_completion", &behind, 64, 2);
	r |= write_edited_state(dir, "trailing_bytes", &s, 2, NULL, NULL, 0);
	/* The used ring (6 + 8 * 16 bytes, avail_event included) as close to
	 * the end of the 64 KiB region at 2 MiB as its 4-alignment allows: 2
	 * bytes before it; 4 bytes higher it runs 2 bytes past (refused). */
	struct virtq_state at_end = s;
	at_end.features |= UINT64_C(1) << 29;
	at_end.used_gpa = (2u << 20) + 0x10000 - (8 + 8 * 16);
	r |= write_state(dir, "used_ring_at_region_end", &at_end);
	at_end.used_gpa += 4;
	r |= write_state(dir, "used_ring_event_past_end", &at_end);
	/* next_avail even: used.idx in memory stays 0, published_used is 6 */
	s.next_avail = 10, s.next_used = 8, s.published_used = 7;
	r |= write_state(dir, "used_idx_stale", &s);
	return r;
}

#define RING_PACKED (UINT64_C(1) << 34)

/* Packed queues (version 3): valid states, then one seed per rule that
 * refuses a version-3 encoding or a packed state (state.h), each one edit
 * away from the valid one. Rings where fuzz_state's guest has memory: the
 * descriptor ring 16 * size bytes, the event structures 4 bytes each. */
static int packed_seeds(const char *dir)
{
	static struct virtq_state s = { .max_size = 256, .size = 256, .active = true,
					.desc_gpa = 0x4000, .avail_gpa = 0x8000,
					.used_gpa = 0x8004, .notify_enabled = true,
					.signalled_valid = true };
	s.features = VERSION_1 | RING_PACKED | (UINT64_C(1) << 29);
	s.next_avail = s.next_used = s.published_used = 77;
	s.avail_pos = s.used_pos = 0x61;
	s.signal_slots = 5;
	int r = write_state(dir, "packed_event_idx", &s);
	struct virtq_state w = s;
	w.avail_pos = w.used_pos = 255;
	w.avail_wrap = w.used_wrap = true;
	w.signal_slots = 512; /* 2 * size: the largest */
	w.features = VERSION_1 | RING_PACKED | QUEUE_MAX_IS_SIZE | AREA_IS_SIZE;
	w.notify_enabled = false;
	r |= write_state(dir, "packed_wrapped_at_limits", &w);
	w.broken = true;
	w.features = VERSION_1 | RING_PACKED | QUEUE_MAX_IS_HALF;
	r |= write_state(dir, "packed_broken_queue_max_below_size", &w);
	static struct virtq_state one = { .max_size = 1, .size = 1, .active = true,
					  .features = VERSION_1 | RING_PACKED,
					  .desc_gpa = 0x3000, .avail_gpa = 0x3010,
					  .used_gpa = 0x3014, .avail_wrap = true, .used_wrap = true };
	r |= write_state(dir, "packed_size_one", &one);
	static const struct virtq_state inactive = { .max_size = 256, .size = 64,
						     .features = VERSION_1 | RING_PACKED };
	r |= write_state(dir, "packed_inactive_v1", &inactive);
	struct virtq_state far = s;
	far.desc_gpa = (2u << 20) + 0x10000 - 16u * 256 + 16; /* 16 bytes past the region */
	r |= write_state(dir, "packed_desc_ring_past_region", &far);
	far = s;
	far.used_gpa = 0x8006; /* the device event structure 4-aligned */
	r |= write_state(dir, "packed_device_event_misaligned", &far);
	far = s;
	far.features &= ~VERSION_1;
	r |= write_state(dir, "packed_without_version_1", &far);
	/* one field each: offsets of state.h's version-3 table */
	struct edit {
		const char *name;
		size_t extra, n, at[2];
		uint16_t value[2];
	};
	static const struct edit edits[] = {
		{ "v3_avail_pos_at_size", 0, 1, { 68 }, { 256 } },
		{ "v3_used_pos_apart", 0, 1, { 70 }, { 0x62 } },
		{ "v3_used_wrap_apart", 0, 1, { 70 }, { 0x8061 } },
		{ "v3_signal_slots_above", 0, 1, { 72 }, { 513 } },
		{ "v3_unpop_depth", 0, 1, { 64 }, { 1 } },
		{ "v3_in_flight_with_head", 2, 2, { 20, 56 }, { 1, 78 } },
		{ "v3_unpublished_with_head", 2, 2, { 60, 76 }, { 76, 0x8003 } },
		{ "v3_head_announced_missing", 0, 2, { 20, 56 }, { 1, 78 } },
		{ "v3_trailing_bytes", 2, 0, { 0 }, { 0 } },
		{ "v3_fixed_length_68", 0, 1, { 6 }, { 68 } },
		{ "v3_for_split_queue", 0, 1, { 28 }, { 0 } },
		{ "v3_for_inactive_queue", 0, 1, { 8 }, { 0x4 } },
		{ "v3_reserved_flag", 0, 1, { 8 }, { 0x15 } },
		{ "version_4", 0, 1, { 4 }, { 4 } },
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
		r |= write_edited_state(dir, edits[i].name, &s, edits[i].extra, edits[i].at,
					edits[i].value, edits[i].n);
	/* versions 1 and 2 of an active packed queue: the bytes a split state
	 * has, with RING_PACKED set (no virtq wrote them: refused) */
	static struct virtq_state split = { .max_size = 256, .size = 256, .active = true,
					    .features = VERSION_1, .desc_gpa = 0,
					    .avail_gpa = 0x1000, .used_gpa = 0x2000 };
	static const size_t features_hi = 28;
	static const uint16_t packed_bit = 0x0005; /* VERSION_1 | RING_PACKED >> 32 */
	r |= write_edited_state(dir, "v1_of_packed_queue", &split, 0, &features_hi, &packed_bit, 1);
	split.next_avail = 1, split.in_flight = 1, split.heads[0] = 9;
	r |= write_edited_state(dir, "v2_of_packed_queue", &split, 0, &features_hi, &packed_bit, 1);
	return r;
}

/* Representative saved states, through the encoder: fuzz_state's seeds.
 * The rings sit where the mock guest of fuzz_state has memory. */
static int state_seeds(const char *dir)
{
	static const struct virtq_state fresh = { .max_size = 256, .size = 256 };
	static struct virtq_state active = { .max_size = 256, .size = 256, .active = true,
					     .features = VERSION_1,
					     .desc_gpa = 0, .avail_gpa = 0x1000,
					     .used_gpa = 0x2000, .notify_enabled = true };
	static struct virtq_state tiny = { .max_size = 1, .size = 1, .active = true,
					   .features = VERSION_1,
					   .desc_gpa = 0x3000, .avail_gpa = 0x3010,
					   .used_gpa = 0x3020, .notify_enabled = true };
	static struct virtq_state far;
	int r = write_state(dir, "inactive", &fresh);
	r |= write_state(dir, "active_start", &active);
	active.features = 0; /* the feature contract: VERSION_1 required */
	r |= write_state(dir, "active_without_version_1", &active);
	active.next_avail = 7;
	active.next_used = 4;
	active.published_used = 3;
	active.in_flight = 3;
	active.unpop_depth = 2;
	active.signalled_used = 3;
	active.signalled_valid = true;
	active.features = (UINT64_C(1) << 28) | (UINT64_C(1) << 29) | (UINT64_C(1) << 32);
	/* popped 5, 7, 9, 2; 7 completed, not published; 9 and 2 undoable */
	active.heads[0] = 5, active.heads[1] = 7 | VIRTQ_STATE_HEAD_USED;
	active.heads[2] = 9, active.heads[3] = 2;
	r |= write_state(dir, "in_flight_event_idx", &active);
	active.next_avail = 65535;
	active.next_used = 65534;
	active.published_used = 65530;
	active.in_flight = 1;
	active.unpop_depth = 1; /* popped 11, completed 7, 5, 9, 2 (4 unpublished) */
	active.heads[0] = 7 | VIRTQ_STATE_HEAD_USED, active.heads[1] = 5 | VIRTQ_STATE_HEAD_USED;
	active.heads[2] = 9 | VIRTQ_STATE_HEAD_USED, active.heads[3] = 2 | VIRTQ_STATE_HEAD_USED;
	active.heads[4] = 11;
	r |= write_state(dir, "near_wrap", &active);
	active.broken = true;
	r |= write_state(dir, "broken", &active);
	r |= write_state(dir, "size_one", &tiny);
	far = active;
	far.broken = false;
	far.used_gpa = (2u << 20) + 0xfff8; /* the used ring runs off the second region */
	r |= write_state(dir, "ring_off_memory", &far);
	return r | bound_seeds(dir) | packed_seeds(dir);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "state-seeds"))
		return state_seeds(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "print")) {
		int n = argc - 2;
		char **files = argv + 2;
		long mark = parse_mark(&n, &files);
		if (mark == -2 || n == 0)
			return usage(stderr, 2);
		return print_files(n, files, mark);
	}
	if (argc >= 3 && !strcmp(argv[1], "print-state"))
		return print_states(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "build"))
		return build(argv[2], argv[3]);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout, 0);
	return usage(stderr, 2);
}

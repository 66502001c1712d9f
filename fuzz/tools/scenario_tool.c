/* SPDX-License-Identifier: MIT */
/*
 * virtq-scenario: fuzz inputs as readable scenarios, and back.
 *
 *   virtq-scenario print FILE...      show binary inputs (crashes, corpus) as text
 *   virtq-scenario build IN.scn OUT   write the binary input for a text scenario
 *                                     (IN may be "-" for standard input)
 *   virtq-scenario state-seeds DIR    write fuzz_state's seeds: encoded queue states
 */
#define _POSIX_C_SOURCE 200809L
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

static int print_files(int argc, char **argv)
{
	static struct scenario s;
	for (int i = 0; i < argc; i++) {
		size_t len;
		unsigned char *data = slurp(argv[i], &len);
		scenario_decode(&s, data, len);
		if (argc > 1)
			printf("### %s\n", argv[i]);
		scenario_print(stdout, &s);
		free(data);
	}
	return 0;
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

/* Representative saved states, through the encoder: fuzz_state's seeds.
 * The rings sit where the mock guest of fuzz_state has memory. */
static int state_seeds(const char *dir)
{
	static const struct virtq_state fresh = { .max_size = 256, .size = 256 };
	static struct virtq_state active = { .max_size = 256, .size = 256, .active = true,
					     .desc_gpa = 0, .avail_gpa = 0x1000,
					     .used_gpa = 0x2000, .notify_enabled = true };
	static struct virtq_state tiny = { .max_size = 1, .size = 1, .active = true,
					   .desc_gpa = 0x3000, .avail_gpa = 0x3010,
					   .used_gpa = 0x3020, .notify_enabled = true };
	static struct virtq_state far;
	int r = write_state(dir, "inactive", &fresh);
	r |= write_state(dir, "active_start", &active);
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
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "state-seeds"))
		return state_seeds(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "print"))
		return print_files(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "build"))
		return build(argv[2], argv[3]);
	fprintf(stderr, "usage: %s print FILE... | build IN.scn OUT | state-seeds DIR\n", argv[0]);
	return 2;
}

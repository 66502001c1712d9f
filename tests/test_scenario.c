/* SPDX-License-Identifier: MIT */
/*
 * The fuzz scenario format's promises (fuzz/README.md): total, reversible,
 * stable under re-encoding, exact as text, and biased toward valid rings.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness/harness.h"
#include "harness/scenario.h"
#include "harness/scenario_text.h"

#define ROUNDS 3000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random bytes; a third of the time mostly small values, like real inputs. */
static size_t random_input(uint8_t *buf, size_t cap)
{
	size_t len = rng() % cap;
	bool small = rng() % 3 == 0;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(small ? rng() % 24 : rng());
	if (len && rng() % 3 == 0)
		buf[0] = SCN_VERSION_MEM; /* format 2 as often as the small values */
	return len;
}

static struct scenario s1, s2;
static uint8_t in[4096], out1[SCN_MAX_BYTES], out2[SCN_MAX_BYTES];

/* Every byte string decodes, to at most SCN_MAX_OPS operations. */
static void test_total(void **state)
{
	(void)state;
	scenario_decode(&s1, NULL, 0);
	assert_int_equal(s1.nops, 0);
	for (unsigned b = 0; b < 256; b++) { /* every 1-byte input */
		uint8_t one = (uint8_t)b;
		scenario_decode(&s1, &one, 1);
		assert_int_equal(s1.nops, 0);
	}
	for (int round = 0; round < ROUNDS; round++) {
		size_t len = random_input(in, sizeof(in));
		scenario_decode(&s1, in, len);
		assert_true(s1.nops <= SCN_MAX_OPS);
	}
}

/* decode(encode(s)) == s, field for field, for every decoded s; and the
 * encoding reproduces the input bytes it came from. */
static void test_reversible(void **state)
{
	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		size_t len = random_input(in, sizeof(in));
		scenario_decode(&s1, in, len);
		size_t n = scenario_encode(&s1, out1, sizeof(out1));
		assert_true(n >= SCN_HEADER_BYTES);
		scenario_decode(&s2, out1, n);
		assert_memory_equal(&s1, &s2, sizeof(s1));
		/* Missing bytes decode as 0, so the input is a prefix of its encoding
		 * unless ops beyond SCN_MAX_OPS were dropped. */
		if (s1.nops < SCN_MAX_OPS)
			assert_memory_equal(out1, in, len < n ? len : n);
	}
}

/* Re-encoding a decoded fuzzer input is stable. */
static void test_stable(void **state)
{
	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		size_t len = random_input(in, sizeof(in));
		scenario_decode(&s1, in, len);
		size_t n1 = scenario_encode(&s1, out1, sizeof(out1));
		scenario_decode(&s2, out1, n1);
		size_t n2 = scenario_encode(&s2, out2, sizeof(out2));
		assert_int_equal(n1, n2);
		assert_memory_equal(out1, out2, n1);
	}
}

static char *print_to_string(const struct scenario *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	scenario_print(f, s);
	fclose(f);
	return text;
}

/* Text is exact: parsing the printed form prints the same again. */
static void test_text_round_trip(void **state)
{
	(void)state;
	char err[256];
	for (int round = 0; round < ROUNDS / 3; round++) {
		size_t len = random_input(in, sizeof(in));
		scenario_decode(&s1, in, len);
		char *text = print_to_string(&s1);
		if (scenario_parse(&s2, text, err, sizeof(err)))
			fail_msg("%s\n%s", err, text);
		char *again = print_to_string(&s2);
		assert_string_equal(text, again);
		free(text);
		free(again);
	}
}

/* Format 2 is only the version byte 0x4d: every other input decodes as in
 * format 1, opcodes 28-31 wrapping to 0-3, and format 2's header bytes and
 * operations exist only there. */
static void test_formats(void **state)
{
	(void)state;
	uint8_t bytes[SCN_HEADER_BYTES + 4] = { 1 };
	bytes[SCN_HEADER_BYTES] = 28;     /* format 1: pop */
	scenario_decode(&s1, bytes, SCN_HEADER_BYTES + 1);
	assert_int_equal(s1.nops, 1);
	assert_int_equal(scn_opcode(&s1.ops[0]), SCN_POP);
	bytes[0] = SCN_VERSION_MEM;       /* format 2: two more header bytes, then iommu_map */
	bytes[SCN_HEADER_BYTES] = 0x03;   /* perms: region 0 write-only and read-only = none */
	bytes[SCN_HEADER_BYTES + 1] = 1;  /* iommu */
	bytes[SCN_HEADER_BYTES + 2] = 28;
	scenario_decode(&s1, bytes, sizeof(bytes));
	assert_int_equal(s1.hdr.perms, 3);
	assert_int_equal(s1.hdr.iommu, 1);
	assert_int_equal(s1.nops, 1);
	assert_int_equal(scn_opcode(&s1.ops[0]), SCN_IOMMU_MAP);
	char err[256];
	assert_int_not_equal(scenario_parse(&s1, "header size=16\nlog on=1\n", err, sizeof(err)),
			     0);
	assert_int_equal(scenario_parse(&s1, "header size=16 readonly=2 access_platform\nlog on=1\n",
					err, sizeof(err)),
			 0);
	assert_int_equal(s1.hdr.version, SCN_VERSION_MEM);
	assert_int_equal(s1.hdr.perms, 1u << 4);
	assert_int_equal(s1.hdr.iommu, 1);
	assert_int_equal(scn_opcode(&s1.ops[0]), SCN_LOG);
}

static void test_text_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"header size=12\n",            "frobnicate slot=0\n",
		"pop slot=0 bogus=1\n",        "pop slot=zero\n",
		"post b0=0x10\n",              "post+sideways b0=0:0+1\n",
		"pop\nheader size=16\n",
	};
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!scenario_parse(&s1, bad[i], err, sizeof(err)))
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(scenario_parse(&s1, "# nothing\n\nheader size=8 event_idx\npop\n", err,
					 sizeof(err)),
			 0);
	assert_int_equal(s1.nops, 1);
	assert_int_equal(s1.hdr.features, 1);
	assert_int_equal(1u << ((s1.hdr.size_log2 + 4u) % 16u), 8);
}

/* Biased toward validity: random inputs mostly activate a queue, and a good
 * share of their pops return chains rather than errors. */
static void test_biased_toward_valid(void **state)
{
	(void)state;
	memset(&harness_stats, 0, sizeof(harness_stats));
	for (int round = 0; round < 600; round++) {
		size_t len = random_input(in, 400);
		scenario_decode(&s1, in, len);
		harness_run(&s1, HARNESS_ALL_OPS);
	}
	const struct harness_stats *st = &harness_stats;
	print_message("runs %llu activated %llu pops %llu chains %llu errors %llu unusable %llu\n",
		      (unsigned long long)st->runs, (unsigned long long)st->activated,
		      (unsigned long long)st->pops, (unsigned long long)st->chains,
		      (unsigned long long)st->pop_errors, (unsigned long long)st->pop_unusable);
	for (int e = 1; e < VIRTQ_ERROR_COUNT; e++)
		if (st->pop_error_codes[e])
			print_message("  %s %llu\n", virtq_errname(e),
				      (unsigned long long)st->pop_error_codes[e]);
	assert_true(st->activated * 10 >= st->runs * 8);
	assert_true(st->chains >= st->pop_errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_total),
		cmocka_unit_test(test_reversible),
		cmocka_unit_test(test_stable),
		cmocka_unit_test(test_text_round_trip),
		cmocka_unit_test(test_text_errors),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_biased_toward_valid),
	};
	return cmocka_run_group_tests_name("fuzz scenario format", tests, NULL, NULL);
}

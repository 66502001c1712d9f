/* SPDX-License-Identifier: MIT */
/* Test fixture: a mock guest with an activated queue, plus assertion helpers. */
#ifndef VIRTQ_TEST_FIXTURE_H
#define VIRTQ_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>

#define FIXTURE_SEGS 512

struct fixture {
	struct virtq_mock_config cfg;
	struct virtq_mock m;
	struct virtq q;
	struct virtq_seg segs[FIXTURE_SEGS];
	struct virtq_chain c;
	const void *param; /* a table-driven test's case */
};

/* Name of a return value: an error name when negative, else "count". */
static inline const char *fixture_retname(int64_t r)
{
	return r < 0 ? virtq_errname((int)r) : r == 0 ? "VIRTQ_OK" : "count";
}

/* Fails the test, naming both values, when expr != expected. */
#define assert_err(expr, expected)                                                    \
	do {                                                                          \
		int64_t got_ = (expr), want_ = (int64_t)(expected);                          \
		if (got_ != want_)                                                    \
			fail_msg("%s = %lld (%s), expected %lld (%s)", #expr,         \
				 (long long)got_, fixture_retname(got_),              \
				 (long long)want_, fixture_retname(want_));           \
	} while (0)

/* Small queue, one 1 MiB region at 0, indirect descriptors negotiated. */
void fixture_config(struct virtq_mock_config *cfg);

/* Starts guest and queue from f->cfg (asserting success). */
void fixture_start(struct fixture *f);
void fixture_stop(struct fixture *f);

/* A heap fixture with fixture_config() in the packed layout: queue size
 * `size`, the features `extra` besides, started and snapshotted. */
struct fixture *fixture_new_packed(uint32_t size, uint64_t extra);

/* The end of a heap fixture's test: the device wrote only allowed bytes,
 * the guards are intact; then stopped and freed. */
void fixture_finish(struct fixture *f);

/* The driver reads the next used buffer: id with len. */
void fixture_expect_used(struct fixture *f, uint32_t id, uint32_t len);

/* cmocka setup/teardown: heap fixture with fixture_config(), started. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Guest buffer of len bytes, 16-aligned, filled with byte. */
uint64_t fixture_buf(struct fixture *f, uint32_t len, int byte);

/* Posts one chain: a readable buffer of rlen bytes then a writable one of
 * wlen (each omitted when 0). Returns the head. */
int fixture_post(struct fixture *f, uint32_t rlen, uint32_t wlen, unsigned flags);

/*
 * The contract of every fatal guest error: virtq_pop() returns err, the queue
 * is broken and every call says -VIRTQ_EBROKEN, nothing outside the allowed
 * ranges changed since the last virtq_mock_snapshot(), guard bytes intact;
 * after virtq_reset() and a fresh driver, a well-formed chain pops again.
 */
void fixture_expect_fatal(struct fixture *f, int err);

#endif /* VIRTQ_TEST_FIXTURE_H */

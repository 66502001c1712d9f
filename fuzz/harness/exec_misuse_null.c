/* SPDX-License-Identifier: MIT */
/*
 * NULL from the VMM at every public entry point that takes a pointer, as
 * common.h documents it: refused with -VIRTQ_EINVAL, or the neutral value
 * for calls that cannot fail (0, NULL, false, nothing done), never a
 * dereference. Both the header's inline cursor calls and the exported ones
 * (the parenthesised names) are checked: a VMM may use either. And every
 * error code has its name and text; codes outside the table are "unknown".
 */
#include <string.h>

#include "harness.h"

static void null_chain(void)
{
	unsigned char byte = 0;
	struct virtq_seg seg;
	struct virtq_cursor cur;
	struct virtq_chain c;
	virtq_chain_init(&c, &seg, 1);
	virtq_chain_init(NULL, &seg, 1);
	virtq_chain_clear(NULL);
	FUZZ_SAME(virtq_chain_append(NULL, &byte, 1, 0), -VIRTQ_EINVAL, "chain_append(NULL)");
	FUZZ_SAME(virtq_chain_append(&c, NULL, 1, 0), -VIRTQ_EINVAL, "chain_append(NULL addr)");
	virtq_chain_reader(NULL, &c);
	virtq_chain_writer(NULL, &c);
	FUZZ_SAME(virtq_chain_limit(NULL, 1), -VIRTQ_EINVAL, "inline chain_limit(NULL)");
	(virtq_chain_reader)(NULL, &c);
	(virtq_chain_reader)(&cur, NULL);
	FUZZ_SAME((virtq_chain_remaining)(&cur), 0, "remaining of a reader over NULL");
	(virtq_chain_writer)(NULL, &c);
	(virtq_chain_writer)(&cur, NULL);
	FUZZ_SAME((virtq_chain_offset)(&cur), 0, "offset of a writer over NULL");
	FUZZ_SAME((virtq_chain_read)(NULL, &byte, 1), -VIRTQ_EINVAL, "chain_read(NULL)");
	FUZZ_SAME((virtq_chain_read)(&cur, NULL, 1), -VIRTQ_EINVAL, "chain_read(NULL dst)");
	FUZZ_SAME((virtq_chain_write)(NULL, &byte, 1), -VIRTQ_EINVAL, "chain_write(NULL)");
	FUZZ_SAME((virtq_chain_write)(&cur, NULL, 1), -VIRTQ_EINVAL, "chain_write(NULL src)");
	FUZZ_SAME(virtq_chain_skip(NULL, 1), -VIRTQ_EINVAL, "chain_skip(NULL)");
	FUZZ_SAME((virtq_chain_limit)(NULL, 1), -VIRTQ_EINVAL, "chain_limit(NULL)");
	FUZZ_SAME((virtq_chain_remaining)(NULL), 0, "chain_remaining(NULL)");
	FUZZ_SAME((virtq_chain_offset)(NULL), 0, "chain_offset(NULL)");
	FUZZ_SAME((virtq_chain_segments)(NULL, 0, &seg, 1), -VIRTQ_EINVAL, "chain_segments(NULL)");
	FUZZ_SAME((virtq_chain_segments)(&cur, 1, NULL, 1), -VIRTQ_EINVAL,
		  "chain_segments(NULL out)");
	FUZZ_SAME(virtq_chain_log_written(NULL, 0), -VIRTQ_EINVAL, "chain_log_written(NULL)");
	/* a chain's total stays below 2^32 (chain.h) */
	FUZZ_SAME(virtq_chain_append(&c, &byte, 1, 0), 0, "chain_append");
	FUZZ_SAME(virtq_chain_append(&c, &byte, UINT32_MAX, 0), -VIRTQ_EOVERFLOW,
		  "chain_append past 2^32 - 1 bytes");
}

static void null_vsock(void)
{
	unsigned char raw[VIRTQ_VSOCK_HDR_SIZE] = { 0 };
	struct virtq_vsock_hdr hdr;
	uint32_t free_bytes = 0;
	for (unsigned i = 0; i < VIRTQ_VSOCK_HDR_SIZE; i++)
		raw[i] = (unsigned char)(i * 37 + 1);
	virtq_vsock_hdr_decode(&hdr, raw);
	unsigned char again[VIRTQ_VSOCK_HDR_SIZE];
	virtq_vsock_hdr_encode(&hdr, again);
	FUZZ_CHECK(!memcmp(raw, again, sizeof(raw)), "vsock header decode/encode round trip");
	virtq_vsock_hdr_decode(NULL, raw);
	virtq_vsock_hdr_decode(&hdr, NULL);
	virtq_vsock_hdr_encode(NULL, raw);
	FUZZ_SAME(virtq_vsock_parse_tx(NULL, NULL, 0), -VIRTQ_EINVAL, "parse_tx(NULL)");
	FUZZ_SAME(virtq_vsock_tx_read(NULL, raw, 1), -VIRTQ_EINVAL, "tx_read(NULL)");
	FUZZ_SAME(virtq_vsock_tx_remaining(NULL), 0, "tx_remaining(NULL)");
	FUZZ_SAME(virtq_vsock_tx_segments(NULL, NULL, 0), -VIRTQ_EINVAL, "tx_segments(NULL)");
	FUZZ_SAME(virtq_vsock_parse_rx(NULL, NULL, 0), -VIRTQ_EINVAL, "parse_rx(NULL)");
	FUZZ_SAME(virtq_vsock_rx_write(NULL, raw, 1), -VIRTQ_EINVAL, "rx_write(NULL)");
	FUZZ_SAME(virtq_vsock_rx_room(NULL), 0, "rx_room(NULL)");
	FUZZ_SAME(virtq_vsock_rx_segments(NULL, 0, NULL, 0), -VIRTQ_EINVAL, "rx_segments(NULL)");
	FUZZ_SAME(virtq_vsock_rx_commit(NULL, 0), -VIRTQ_EINVAL, "rx_commit(NULL)");
	FUZZ_SAME(virtq_vsock_rx_finish(NULL, &hdr), -VIRTQ_EINVAL, "rx_finish(NULL)");
	struct virtq_vsock_rx never_parsed;
	memset(&never_parsed, 0, sizeof(never_parsed));
	FUZZ_SAME(virtq_vsock_rx_finish(&never_parsed, &hdr), -VIRTQ_EINVAL, "rx_finish unparsed");
	FUZZ_SAME(virtq_vsock_peer_credit(0, 0, 0, NULL), -VIRTQ_EINVAL, "peer_credit(NULL)");
	FUZZ_SAME(virtq_vsock_peer_credit(1, 0, 0, &free_bytes), 0, "peer_credit");
	FUZZ_SAME(free_bytes, 1, "peer_credit free bytes");
}

static void null_mem_and_log(void)
{
	unsigned char byte = 0;
	struct virtq_seg seg;
	struct virtq_mem_region region;
	struct virtq_mem m;
	struct virtq_log log;
	FUZZ_SAME(virtq_mem_init(NULL, &region, 1), -VIRTQ_EINVAL, "mem_init(NULL)");
	FUZZ_SAME(virtq_mem_init(&m, &region, 1), 0, "mem_init");
	FUZZ_SAME(virtq_mem_add_region(NULL, 0, 1, &byte), -VIRTQ_EINVAL, "add_region(NULL)");
	FUZZ_SAME(virtq_mem_add_region(&m, 0, 1, NULL), -VIRTQ_EINVAL, "add_region(NULL host)");
	FUZZ_SAME(virtq_mem_translate(NULL, 0, 1) == NULL, 1, "translate(NULL)");
	FUZZ_SAME(virtq_mem_split(NULL, 0, 1, &seg, 1), -VIRTQ_EINVAL, "mem_split(NULL)");
	FUZZ_SAME(virtq_mem_read(NULL, 0, &byte, 1), -VIRTQ_EINVAL, "mem_read(NULL)");
	FUZZ_SAME(virtq_mem_write(NULL, 0, &byte, 1), -VIRTQ_EINVAL, "mem_write(NULL)");
	FUZZ_SAME(virtq_log_init(NULL, &m, &byte, 1), -VIRTQ_EINVAL, "log_init(NULL)");
	FUZZ_SAME(virtq_log_init(&log, &m, NULL, 1), -VIRTQ_EINVAL, "log_init(NULL base)");
	virtq_log_set_enabled(NULL, true);
	FUZZ_SAME(virtq_log_enabled(NULL), 0, "log_enabled(NULL)");
	FUZZ_SAME(virtq_log_range(NULL, 0, 1), -VIRTQ_EINVAL, "log_range(NULL)");
	FUZZ_SAME(virtq_log_covers_mem(NULL), -VIRTQ_EINVAL, "log_covers_mem(NULL)");
}

static void null_queue_calls(void)
{
	struct virtq_chain c;
	struct virtq_used_elem elem = { 0, 0 };
	struct virtq_state s;
	uint16_t head = 0;
	unsigned char byte = 0;
	virtq_chain_init(&c, NULL, 0);
	memset(&s, 0, sizeof(s));
	FUZZ_SAME(virtq_init(NULL, NULL, 8), -VIRTQ_EINVAL, "init(NULL)");
	FUZZ_SAME(virtq_set_size(NULL, 8), -VIRTQ_EINVAL, "set_size(NULL)");
	FUZZ_SAME(virtq_set_addrs(NULL, NULL), -VIRTQ_EINVAL, "set_addrs(NULL)");
	FUZZ_SAME(virtq_set_features(NULL, 0), -VIRTQ_EINVAL, "set_features(NULL)");
	FUZZ_SAME(virtq_activate(NULL), -VIRTQ_EINVAL, "activate(NULL)");
	FUZZ_SAME(virtq_pop(NULL, &c), -VIRTQ_EINVAL, "pop(NULL)");
	FUZZ_SAME(virtq_add_used(NULL, 0, 0), -VIRTQ_EINVAL, "add_used(NULL)");
	FUZZ_SAME(virtq_publish_used(NULL), -VIRTQ_EINVAL, "publish_used(NULL)");
	FUZZ_SAME(virtq_needs_notify(NULL), -VIRTQ_EINVAL, "needs_notify(NULL)");
	FUZZ_SAME(virtq_unpop(NULL), -VIRTQ_EINVAL, "unpop(NULL)");
	FUZZ_SAME(virtq_in_flight(NULL), 0, "in_flight(NULL)");
	FUZZ_SAME(virtq_set_log(NULL, NULL), -VIRTQ_EINVAL, "set_log(NULL)");
	FUZZ_SAME(virtq_set_inflight(NULL, &byte, 1), -VIRTQ_EINVAL, "set_inflight(NULL)");
	FUZZ_SAME(virtq_set_journal(NULL, &byte, 1), -VIRTQ_EINVAL, "set_journal(NULL)");
	FUZZ_SAME(virtq_set_iommu(NULL, NULL), -VIRTQ_EINVAL, "set_iommu(NULL)");
	FUZZ_SAME(virtq_iommu_invalidate(NULL, 0, 1), -VIRTQ_EINVAL, "iommu_invalidate(NULL)");
	FUZZ_SAME(virtq_resume(NULL, 0), -VIRTQ_EINVAL, "resume(NULL)");
	FUZZ_SAME(virtq_in_flight_list(NULL, &head, 1), -VIRTQ_EINVAL, "in_flight_list(NULL)");
	FUZZ_SAME(virtq_resubmit(NULL, 0, &c), -VIRTQ_EINVAL, "resubmit(NULL)");
	FUZZ_SAME(virtq_discard(NULL, &c), -VIRTQ_EINVAL, "discard(NULL)");
	FUZZ_SAME(virtq_pop_many(NULL, &c, 1), -VIRTQ_EINVAL, "pop_many(NULL)");
	FUZZ_SAME(virtq_add_used_many(NULL, &elem, 1), -VIRTQ_EINVAL, "add_used_many(NULL)");
	FUZZ_SAME(virtq_complete(NULL, 0, 0), -VIRTQ_EINVAL, "complete(NULL)");
	FUZZ_SAME(virtq_complete_many(NULL, &elem, 1), -VIRTQ_EINVAL, "complete_many(NULL)");
	FUZZ_SAME(virtq_enable_notify(NULL), -VIRTQ_EINVAL, "enable_notify(NULL)");
	FUZZ_SAME(virtq_disable_notify(NULL), -VIRTQ_EINVAL, "disable_notify(NULL)");
	FUZZ_SAME(virtq_is_broken(NULL), 0, "is_broken(NULL)");
	FUZZ_SAME(virtq_is_active(NULL), 0, "is_active(NULL)");
	FUZZ_SAME(virtq_next_avail(NULL), 0, "next_avail(NULL)");
	FUZZ_SAME(virtq_next_used(NULL), 0, "next_used(NULL)");
	FUZZ_SAME(virtq_size(NULL), 0, "size(NULL)");
	virtq_reset(NULL);
	FUZZ_SAME(virtq_save(NULL, &s), -VIRTQ_EINVAL, "save(NULL)");
	FUZZ_SAME(virtq_restore(NULL, NULL, &s), -VIRTQ_EINVAL, "restore(NULL)");
	FUZZ_SAME(virtq_state_check(NULL), -VIRTQ_EINVAL, "state_check(NULL)");
	FUZZ_SAME(virtq_state_encoded_size(NULL), 0, "state_encoded_size(NULL)");
	FUZZ_SAME(virtq_state_encode(NULL, &byte, 1), -VIRTQ_EINVAL, "state_encode(NULL)");
	FUZZ_SAME(virtq_state_decode(NULL, &byte, 1), -VIRTQ_EINVAL, "state_decode(NULL)");
	FUZZ_SAME(virtq_state_decode(&s, NULL, 1), -VIRTQ_EINVAL, "state_decode(NULL buf)");
}

/* Every code's name is VIRTQ_<something> and its text is not the unknown one;
 * either sign; codes past the table are unknown, never out of bounds. */
static void error_names(void)
{
	const char *unknown = virtq_strerror(-VIRTQ_ERROR_COUNT);
	FUZZ_CHECK(unknown && !strcmp(unknown, "unknown error"), "strerror of an unknown code");
	FUZZ_CHECK(virtq_errname(INT32_MIN) != NULL, "errname(INT_MIN)");
	FUZZ_CHECK(!strcmp(virtq_strerror(INT32_MIN), unknown), "strerror(INT_MIN)");
	for (int code = 0; code < VIRTQ_ERROR_COUNT; code++) {
		const char *name = virtq_errname(-code), *text = virtq_strerror(-code);
		FUZZ_CHECK(name && !strncmp(name, "VIRTQ_", 6), "code %d has no name", code);
		FUZZ_CHECK(text && strcmp(text, unknown) != 0, "code %d has no text", code);
		FUZZ_CHECK(!strcmp(name, virtq_errname(code)), "code %d: names differ by sign", code);
	}
}

/* The features every device may count on: the ring format virtq implements. */
static void supported_features(void)
{
	const uint64_t must = VIRTQ_FEATURE(VIRTQ_F_VERSION_1) |
			      VIRTQ_FEATURE(VIRTQ_F_INDIRECT_DESC) | VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX);
	FUZZ_SAME(virtq_supported_features() & must, must, "supported features");
}

/* The log's limits (log.h): a misaligned or odd-sized area refused, a range
 * that wraps or lies past the log refused with no bit set, a map the log
 * does not cover refused by virtq_set_log(), and so is another map's log.
 * And the memory map's (mem.h): ranges that wrap, need more segments than
 * given, or write read-only memory refused, nothing copied. */
static void log_limits(void)
{
	static uint64_t words[2];
	static unsigned char host[16], rom[16];
	static struct virtq q;
	unsigned char byte = 0x5a;
	struct virtq_seg seg;
	struct virtq_mem_region regions[2], other_regions[1];
	struct virtq_mem m, other;
	struct virtq_log log, foreign;
	const uint64_t pages = 8u * sizeof(words), end = pages << VIRTQ_LOG_PAGE_SHIFT;
	memset(words, 0, sizeof(words));
	memset(&q, 0, sizeof(q));
	FUZZ_SAME(virtq_mem_init(&m, regions, 2), 0, "mem_init");
	FUZZ_SAME(virtq_mem_init(&other, other_regions, 1), 0, "mem_init");
	FUZZ_SAME(virtq_log_init(&log, &m, (unsigned char *)words + 4, 8), -VIRTQ_EINVAL,
		  "log_init(misaligned base)");
	FUZZ_SAME(virtq_log_init(&log, &m, words, 0), -VIRTQ_EINVAL, "log_init(0 bytes)");
	FUZZ_SAME(virtq_log_init(&log, &m, words, 12), -VIRTQ_EINVAL, "log_init(12 bytes)");
	FUZZ_SAME(virtq_log_init(&log, &m, words, sizeof(words)), 0, "log_init");
	FUZZ_SAME(virtq_log_covers_mem(&log), 0, "log_covers_mem(empty map)");
	FUZZ_SAME(virtq_log_range(&log, UINT64_MAX, 2), -VIRTQ_EOVERFLOW, "log_range(wrapping)");
	FUZZ_SAME(virtq_log_range(&log, end - 1, 2), -VIRTQ_ENOSPC, "log_range(past the log)");
	FUZZ_SAME(virtq_log_range(&log, end - 1, 0), 0, "log_range(0 bytes)");
	FUZZ_CHECK(words[0] == 0 && words[1] == 0, "a refused log_range set a bit");
	FUZZ_SAME(virtq_log_range(&log, end - 1, 1), 0, "log_range(last page)");
	FUZZ_CHECK(words[1] == UINT64_C(1) << 63 && words[0] == 0, "log_range(last page) bits");
	FUZZ_SAME(virtq_log_range(&log, 0, end), 0, "log_range(every page)");
	FUZZ_CHECK(words[0] == UINT64_MAX && words[1] == UINT64_MAX, "log_range(every page) bits");
	FUZZ_SAME(virtq_mem_add_region(&m, end, sizeof(host), host), 0, "add_region");
	FUZZ_SAME(virtq_mem_add_region_flags(&m, end + sizeof(host), sizeof(rom), rom,
					     VIRTQ_MEM_READONLY),
		  0, "add_region(read-only)");
	FUZZ_SAME(virtq_mem_split(&m, end, 0, NULL, 0), 0, "mem_split(0 bytes)");
	FUZZ_SAME(virtq_mem_split(&m, UINT64_MAX, 2, &seg, 1), -VIRTQ_EOVERFLOW,
		  "mem_split(wrapping)");
	FUZZ_SAME(virtq_mem_split(&m, end, sizeof(host) + 1, &seg, 1), -VIRTQ_ENOSPC,
		  "mem_split(two regions, one segment)");
	FUZZ_SAME(virtq_mem_read(&m, end, NULL, 1), -VIRTQ_EINVAL, "mem_read(NULL dst)");
	FUZZ_SAME(virtq_mem_read(&m, UINT64_MAX, &byte, 2), -VIRTQ_EOVERFLOW, "mem_read(wrapping)");
	FUZZ_SAME(virtq_mem_write(&m, end + sizeof(host) - 1, &byte, 1), 0, "mem_write");
	FUZZ_SAME(virtq_mem_write(&m, end + sizeof(host) - 1, &byte, 2), -VIRTQ_EACCES,
		  "mem_write(into read-only)");
	FUZZ_CHECK(rom[0] == 0, "a refused mem_write copied");
	FUZZ_SAME(virtq_log_covers_mem(&log), -VIRTQ_ENOSPC, "log_covers_mem(region past it)");
	FUZZ_SAME(virtq_init(&q, &m, 3), -VIRTQ_EINVAL, "init(max size 3)");
	FUZZ_SAME(virtq_init(&q, &m, 2u * VIRTQ_MAX_SIZE), -VIRTQ_EINVAL, "init(max size 2^16)");
	FUZZ_SAME(virtq_init(&q, NULL, 8), -VIRTQ_EINVAL, "init(NULL mem)");
	virtq_reset(&q); /* never initialised (zeroed): nothing to reset */
	FUZZ_SAME(virtq_set_size(&q, 8), -VIRTQ_EINVAL, "set_size before init");
	FUZZ_SAME(virtq_init(&q, &m, 8), 0, "init");
	FUZZ_SAME(virtq_set_log(&q, &log), -VIRTQ_ENOSPC, "set_log(log too small)");
	FUZZ_SAME(virtq_log_init(&foreign, &other, words, sizeof(words)), 0, "log_init");
	FUZZ_SAME(virtq_set_log(&q, &foreign), -VIRTQ_EINVAL, "set_log(another map's log)");
	FUZZ_SAME(virtq_set_log(&q, NULL), 0, "set_log(NULL log)");
}

void harness_misuse_null(void)
{
	/* No input reaches these calls and the library keeps no state of its
	 * own, so a second run could only repeat the first: once per process. */
	static bool done;
	if (done)
		return;
	done = true;
	supported_features();
	null_chain();
	null_vsock();
	null_mem_and_log();
	log_limits();
	null_queue_calls();
	error_names();
}

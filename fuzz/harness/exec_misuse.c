/* SPDX-License-Identifier: MIT */
/*
 * Misuse by the VMM, as queue.h and common.h document it (RESET+A): on the
 * live queue, every configuration call refused while active (-VIRTQ_EINVAL)
 * and changing nothing; NULL queues and arguments refused with
 * -VIRTQ_EINVAL; after the reset, sizes a driver may offer that are not a
 * power of two from 1 to the queue's maximum refused, and the datapath not
 * ready (-VIRTQ_ENOTREADY). Then the ordinary reset and activation follow.
 */
#include "harness.h"

/* What a datapath call with a NULL argument returns: the entry check's
 * code first. Asked before each call, as each call makes its own entry
 * check: stale rings are re-translated by the first one (-VIRTQ_EAGAIN, or
 * a fatal code that breaks the queue), and the next one sees the result. */
static int null_arg(struct harness *h)
{
	const int usable = model_usable(&h->model);
	return usable ? usable : -VIRTQ_EINVAL;
}

/* While active: configuration frozen, the queue as it was. */
static void misuse_active(struct harness *h)
{
	struct virtq *q = &h->q;
	const struct virtq_ring_addrs addrs = { 0x1000, 0x2000, 0x3000 };
	const uint32_t size = virtq_size(q), in_flight = virtq_in_flight(q);
	const bool active = virtq_is_active(q);
	const int frozen = active ? -VIRTQ_EINVAL : 0;
	if (!active)
		return; /* a rejected restore left it inactive: nothing is frozen */
	FUZZ_SAME(virtq_set_size(q, size), frozen, "set_size while active");
	FUZZ_SAME(virtq_set_addrs(q, &addrs), frozen, "set_addrs while active");
	FUZZ_SAME(virtq_set_features(q, VIRTQ_FEATURE(VIRTQ_F_VERSION_1)), frozen,
		  "set_features while active");
	FUZZ_SAME(virtq_set_inflight(q, h->guest->inflight, h->guest->inflight_bytes), frozen,
		  "set_inflight while active");
	FUZZ_SAME(virtq_set_journal(q, h->guest->journal, h->guest->journal_bytes), frozen,
		  "set_journal while active");
	FUZZ_SAME(virtq_activate(q), frozen, "activate while active");
	FUZZ_SAME(virtq_set_iommu(q, NULL), frozen, "set_iommu while active");
	FUZZ_SAME(virtq_iommu_invalidate(q, 0, 0), 0, "iommu_invalidate of nothing");
	FUZZ_SAME(virtq_size(q), size, "size after refused configuration");
	FUZZ_SAME(virtq_in_flight(q), in_flight, "in flight after refused configuration");
	FUZZ_SAME(virtq_pop(q, NULL), null_arg(h), "pop into NULL");
	FUZZ_SAME(virtq_pop_many(q, NULL, 1), null_arg(h), "pop_many into NULL");
	FUZZ_SAME(virtq_add_used_many(q, NULL, 1), null_arg(h), "add_used_many of NULL");
	FUZZ_SAME(virtq_in_flight_list(q, NULL, 1), virtq_is_broken(q) ? -VIRTQ_EBROKEN : -VIRTQ_EINVAL,
		  "in_flight_list into NULL");
}

/* After the reset: a driver's bad sizes refused, the datapath not ready, a
 * translator without its callback, in-flight areas too small or misaligned,
 * a restore from another memory map or of no state refused. */
static void misuse_inactive(struct harness *h)
{
	struct virtq *q = &h->q;
	static const uint32_t bad[] = { 0, 3, 6, 24, 65536, 32769, UINT32_MAX };
	static const struct virtq_iommu no_callback;
	static struct virtq_mem other;
	static struct virtq_state s; /* zeroed: no size, refused by virtq_state_check() */
	struct virtq_chain c;
	virtq_chain_init(&c, NULL, 0);
	FUZZ_SAME(virtq_set_iommu(q, &no_callback), -VIRTQ_EINVAL, "set_iommu without a callback");
	FUZZ_SAME(virtq_iommu_invalidate(q, 0, UINT64_MAX), 0, "invalidate before activation");
	FUZZ_SAME(virtq_set_inflight(q, NULL, VIRTQ_INFLIGHT_BYTES(1)), -VIRTQ_EINVAL,
		  "set_inflight(NULL area)");
	FUZZ_SAME(virtq_set_inflight(q, h->guest->inflight, VIRTQ_INFLIGHT_BYTES(1) - 1),
		  -VIRTQ_EINVAL, "set_inflight of too few bytes");
	unsigned char *const misaligned = (unsigned char *)h->guest->inflight + 1;
	FUZZ_SAME(virtq_set_inflight(q, misaligned, VIRTQ_INFLIGHT_BYTES(1)), -VIRTQ_EINVAL,
		  "set_inflight of a misaligned area");
	unsigned char *const journal = h->guest->journal;
	FUZZ_SAME(virtq_set_journal(q, journal + 4, VIRTQ_JOURNAL_BYTES(1)), -VIRTQ_EINVAL,
		  "set_journal of a misaligned area");
	FUZZ_SAME(virtq_set_journal(q, journal, VIRTQ_JOURNAL_BYTES(1) - 1), -VIRTQ_EINVAL,
		  "set_journal of too few bytes");
	FUZZ_SAME(virtq_set_journal(q, NULL, 0), 0, "set_journal(NULL): detached");
	FUZZ_SAME(virtq_set_journal(q, journal, h->guest->journal_bytes), 0, "set_journal again");
	FUZZ_SAME(virtq_save(q, NULL), -VIRTQ_EINVAL, "save into NULL");
	FUZZ_SAME(virtq_restore(q, NULL, &s), -VIRTQ_EINVAL, "restore(NULL mem)");
	FUZZ_SAME(virtq_restore(q, &h->guest->mem, NULL), -VIRTQ_EINVAL, "restore(NULL state)");
	FUZZ_SAME(virtq_restore(q, &other, &s), -VIRTQ_EINVAL, "restore from another map");
	FUZZ_SAME(virtq_restore(q, &h->guest->mem, &s), -VIRTQ_EBADSTATE, "restore of no state");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		FUZZ_SAME(virtq_set_size(q, bad[i]), -VIRTQ_EINVAL, "set_size of a bad size");
	FUZZ_SAME(virtq_set_size(q, h->model.size - 1 ? h->model.size - 1 : 0), 
		  h->model.size == 2 ? 0 : -VIRTQ_EINVAL, "set_size of size - 1");
	FUZZ_SAME(virtq_set_addrs(q, NULL), -VIRTQ_EINVAL, "set_addrs(NULL addrs)");
	FUZZ_SAME(virtq_pop(q, &c), -VIRTQ_ENOTREADY, "pop before activation");
	FUZZ_SAME(virtq_add_used(q, 0, 0), -VIRTQ_ENOTREADY, "add_used before activation");
	FUZZ_SAME(virtq_publish_used(q), -VIRTQ_ENOTREADY, "publish before activation");
	FUZZ_SAME(virtq_is_active(q), 0, "active after reset");
}

void harness_misuse(struct harness *h)
{
	misuse_active(h);
	harness_misuse_null();
	harness_check_mem_table(h);
	virtq_reset(&h->q);
	misuse_inactive(h);
}

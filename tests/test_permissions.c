/* SPDX-License-Identifier: MIT */
/*
 * Region permissions (mem.h): a readable buffer, indirect table, descriptor
 * table and avail ring need read access, a writable buffer write access, the
 * used ring both. Violations are -VIRTQ_EACCES, fatal in pop, refused at
 * activation, resume and restore. The mock maps read-only regions PROT_READ
 * for the device, so a check virtq missed is a SIGSEGV here.
 *
 * Guest: [0, 1 MiB) read-write (rings, buffer area), [1 MiB, 1 MiB + 64 KiB)
 * read-only, adjacent to it, and [2 MiB, 2 MiB + 64 KiB) write-only.
 */
#define _GNU_SOURCE /* fork, sigaction */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#define MiB (UINT64_C(1) << 20)
#define RO_GPA MiB
#define WO_GPA (2 * MiB)
#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT

static void permission_config(struct virtq_mock_config *cfg)
{
	fixture_config(cfg);
	cfg->nregions = 3;
	cfg->regions[1] = (struct virtq_mock_region){ .gpa = RO_GPA, .size = 64 * 1024,
						      .flags = VIRTQ_MEM_READONLY };
	cfg->regions[2] = (struct virtq_mock_region){ .gpa = WO_GPA, .size = 64 * 1024,
						      .flags = VIRTQ_MEM_WRITEONLY };
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	permission_config(&f->cfg);
	fixture_start(f);
	assert_err(virtq_mock_fill(&f->m, RO_GPA, 'R', 4096), 0); /* the driver may */
	*state = f;
	return 0;
}

static void desc(struct fixture *f, uint32_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	assert_err(virtq_mock_set_desc(&f->m, idx, addr, len, flags, next), 0);
}

/* Head 0 available, then the chain built by the caller. */
static void make_available(struct fixture *f)
{
	assert_err(virtq_mock_set_avail_entry(&f->m, 0, 0), 0);
	assert_err(virtq_mock_set_avail_idx(&f->m, 1), 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
}

struct bad_chain {
	const char *name;
	void (*build)(struct fixture *f);
};

static uint64_t rw_buf(struct fixture *f) { return fixture_buf(f, 64, 'b'); }

static void writable_in_readonly(struct fixture *f) { desc(f, 0, RO_GPA, 64, F_WRITE, 0); }
/* The last 32 bytes of the read-write region, then 32 of the read-only one. */
static void writable_into_readonly(struct fixture *f) { desc(f, 0, RO_GPA - 32, 64, F_WRITE, 0); }
/* A readable buffer in the read-only region makes it the last region hit:
 * the writable one after it, in the same region, must still be refused. */
static void writable_after_readable_same_region(struct fixture *f)
{
	desc(f, 0, RO_GPA, 64, F_NEXT, 1);
	desc(f, 1, RO_GPA + 64, 64, F_WRITE, 0);
}
static void second_writable_in_readonly(struct fixture *f)
{
	desc(f, 0, rw_buf(f), 64, F_WRITE | F_NEXT, 1);
	desc(f, 1, RO_GPA + 128, 64, F_WRITE, 0);
}
static void readable_in_writeonly(struct fixture *f) { desc(f, 0, WO_GPA, 64, 0, 0); }
static void indirect_table_in_writeonly(struct fixture *f)
{
	assert_err(virtq_mock_write_desc_at(&f->m, WO_GPA, rw_buf(f), 64, 0, 0), 0);
	desc(f, 0, WO_GPA, 16, F_INDIRECT, 0);
}
static void indirect_writable_in_readonly(struct fixture *f)
{
	uint64_t table = fixture_buf(f, 32, 0);
	assert_err(virtq_mock_write_desc_at(&f->m, table, rw_buf(f), 64, F_NEXT, 1), 0);
	assert_err(virtq_mock_write_desc_at(&f->m, table + 16, RO_GPA, 64, F_WRITE, 0), 0);
	desc(f, 0, table, 32, F_INDIRECT, 0);
}

static const struct bad_chain bad_chains[] = {
	{ "writable_in_readonly", writable_in_readonly },
	{ "writable_into_readonly", writable_into_readonly },
	{ "writable_after_readable_same_region", writable_after_readable_same_region },
	{ "second_writable_in_readonly", second_writable_in_readonly },
	{ "readable_in_writeonly", readable_in_writeonly },
	{ "indirect_table_in_writeonly", indirect_table_in_writeonly },
	{ "indirect_writable_in_readonly", indirect_writable_in_readonly },
};

static void test_bad_chain(void **state)
{
	struct fixture *f = *state;
	const struct bad_chain *bc = f->param;
	bc->build(f);
	make_available(f);
	fixture_expect_fatal(f, -VIRTQ_EACCES);
}

static int bad_chain_setup(void **state)
{
	const struct bad_chain *bc = *state;
	int r = setup(state);
	if (!r)
		((struct fixture *)*state)->param = bc;
	return r;
}

/* What each region allows works, zero-copy, and the device reads what the
 * driver wrote into its read-only region. */
static void test_allowed_accesses(void **state)
{
	struct fixture *f = *state;
	uint64_t table = fixture_buf(f, 48, 0);
	/* readable in RO, writable in WO, then an indirect table in RO */
	desc(f, 0, RO_GPA, 16, F_NEXT, 1);
	desc(f, 1, WO_GPA, 32, F_WRITE, 0);
	assert_err(virtq_mock_write_desc_at(&f->m, RO_GPA + 4096, RO_GPA + 16, 8, F_NEXT, 1), 0);
	assert_err(virtq_mock_write_desc_at(&f->m, RO_GPA + 4112, table, 48, F_WRITE, 0), 0);
	desc(f, 2, RO_GPA + 4096, 32, F_INDIRECT, 0);
	assert_err(virtq_mock_set_avail_entry(&f->m, 0, 0), 0);
	assert_err(virtq_mock_set_avail_entry(&f->m, 1, 2), 0);
	assert_err(virtq_mock_set_avail_idx(&f->m, 2), 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.nread, 1);
	assert_memory_equal(f->c.segs[0].addr, "RRRRRRRRRRRRRRRR", 16);
	memset(f->c.segs[1].addr, 'w', 32); /* write-only memory is writable */
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.read_len, 8);
	assert_int_equal(f->c.write_len, 48);
	assert_false(virtq_is_broken(&f->q));
}

/* The mock really maps read-only memory read-only for the device. */
static void on_segv(int sig)
{
	(void)sig;
	_exit(42);
}

static void test_mock_readonly_faults(void **state)
{
	struct fixture *f = *state;
	volatile unsigned char *ro = virtq_mem_translate(&f->m.mem, RO_GPA, 1);
	assert_non_null(ro);
	assert_int_equal(ro[0], 'R');
	unsigned char *drv = virtq_mock_host(&f->m, RO_GPA, 1);
	assert_ptr_not_equal(drv, ro);
	drv[0] = 'D'; /* the driver's view writes the same page */
	assert_int_equal(ro[0], 'D');
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_segv };
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		ro[0] = 'x';
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 42);
}

/* Rings: desc and avail need read, used needs read and write. */
struct bad_rings {
	const char *name;
	uint64_t desc, avail, used; /* 0: the mock's */
};

static const struct bad_rings bad_rings[] = {
	{ "desc_in_writeonly", WO_GPA, 0, 0 },
	{ "avail_in_writeonly", 0, WO_GPA, 0 },
	{ "used_in_readonly", 0, 0, RO_GPA },
	{ "used_in_writeonly", 0, 0, WO_GPA },
};

static void test_bad_rings(void **state)
{
	const struct bad_rings *br = *state;
	struct fixture *f = calloc(1, sizeof(*f));
	permission_config(&f->cfg);
	if (br->desc)
		f->cfg.desc_gpa = br->desc;
	if (br->avail)
		f->cfg.avail_gpa = br->avail;
	if (br->used)
		f->cfg.used_gpa = br->used;
	assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
	assert_err(virtq_mock_snapshot(&f->m), 0);
	assert_err(virtq_mock_attach(&f->m, &f->q), -VIRTQ_EACCES);
	assert_false(virtq_is_active(&f->q));
	assert_err(virtq_mock_resume(&f->m, &f->q, 0), -VIRTQ_EACCES);
	assert_false(virtq_is_active(&f->q));
	assert_err(virtq_mock_check_writes(&f->m, NULL), 0);
	/* a saved state naming these rings is refused as well */
	struct virtq_state s;
	memset(&s, 0, sizeof(s));
	s.max_size = 32768;
	s.size = 8;
	s.active = s.notify_enabled = true;
	s.features = VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	s.desc_gpa = f->m.cfg.desc_gpa;
	s.avail_gpa = f->m.cfg.avail_gpa;
	s.used_gpa = f->m.cfg.used_gpa;
	assert_err(virtq_restore(&f->q, &f->m.mem, &s), -VIRTQ_EACCES);
	assert_false(virtq_is_active(&f->q));
	fixture_stop(f);
	free(f);
}

/* Rings in read-only memory that only need reading are fine. */
static void test_read_rings_in_readonly(void **state)
{
	(void)state;
	struct fixture *f = calloc(1, sizeof(*f));
	permission_config(&f->cfg);
	f->cfg.desc_gpa = RO_GPA;
	f->cfg.avail_gpa = RO_GPA + 4096;
	f->cfg.used_gpa = 4096;
	assert_err(virtq_mock_init(&f->m, &f->cfg), 0);
	assert_err(virtq_mock_attach(&f->m, &f->q), 0);
	virtq_chain_init(&f->c, f->segs, FIXTURE_SEGS);
	int head = fixture_post(f, 8, 8, 0);
	assert_err(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.id, head);
	assert_err(virtq_add_used(&f->q, f->c.id, 0), 0);
	assert_err(virtq_publish_used(&f->q), 1);
	fixture_stop(f);
	free(f);
}

/* The memory map's own rules: flags values, and all-or-nothing copies. */
static void test_mem_flags(void **state)
{
	(void)state;
	static unsigned char a[4096], b[4096];
	struct virtq_mem_region slots[2];
	struct virtq_mem m;
	unsigned char buf[64];
	virtq_mem_init(&m, slots, 2);
	assert_err(virtq_mem_add_region_flags(&m, 0, 4096, a, VIRTQ_MEM_READONLY | VIRTQ_MEM_WRITEONLY),
		   -VIRTQ_EINVAL);
	assert_err(virtq_mem_add_region_flags(&m, 0, 4096, a, 4), -VIRTQ_EINVAL);
	assert_int_equal(m.nregions, 0);
	assert_err(virtq_mem_add_region_flags(&m, 0, 4096, a, 0), 0);
	assert_err(virtq_mem_add_region_flags(&m, 4096, 4096, b, VIRTQ_MEM_READONLY), 0);
	assert_int_equal(m.regions[0].flags, 0);
	assert_int_equal(m.regions[1].flags, VIRTQ_MEM_READONLY);
	/* a write across into the read-only region writes nothing at all */
	memset(buf, 'x', sizeof(buf));
	assert_err(virtq_mem_write(&m, 4096 - 32, buf, 64), -VIRTQ_EACCES);
	assert_int_equal(a[4095], 0);
	assert_int_equal(b[0], 0);
	assert_err(virtq_mem_read(&m, 4096 - 32, buf, 64), 0);
	/* write-only: reads refused, writes fine */
	virtq_mem_init(&m, slots, 2);
	assert_err(virtq_mem_add_region_flags(&m, 0, 4096, a, VIRTQ_MEM_WRITEONLY), 0);
	memset(buf, 'y', sizeof(buf));
	assert_err(virtq_mem_read(&m, 0, buf, 64), -VIRTQ_EACCES);
	assert_int_equal(buf[0], 'y');
	assert_err(virtq_mem_write(&m, 0, buf, 64), 0);
	assert_int_equal(a[0], 'y');
	/* translate and split do not check (documented) */
	assert_ptr_equal(virtq_mem_translate(&m, 0, 64), a);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(bad_chains) / sizeof(bad_chains[0]) +
				sizeof(bad_rings) / sizeof(bad_rings[0]) + 4];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(bad_chains) / sizeof(bad_chains[0]); i++)
		tests[n++] = (struct CMUnitTest){ .name = bad_chains[i].name,
						  .test_func = test_bad_chain,
						  .setup_func = bad_chain_setup,
						  .teardown_func = fixture_teardown,
						  .initial_state = (void *)(uintptr_t)&bad_chains[i] };
	for (size_t i = 0; i < sizeof(bad_rings) / sizeof(bad_rings[0]); i++)
		tests[n++] = (struct CMUnitTest){ .name = bad_rings[i].name,
						  .test_func = test_bad_rings,
						  .initial_state = (void *)(uintptr_t)&bad_rings[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_allowed_accesses, setup,
									 fixture_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_mock_readonly_faults,
									 setup, fixture_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_read_rings_in_readonly);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mem_flags);
	return cmocka_run_group_tests_name("region permissions", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * A VMM of a user of virtq, built by every consumer test (tests/consumers/
 * run.sh) and the Debian package test (scripts/package.sh) through the
 * README's snippets. With USE_MOCK it is the VMM's test program as well.
 */
#include <stdio.h>
#include <string.h>

#include <virtq/virtq.h>
#ifdef USE_MOCK
#include <virtq/mock.h>
#endif

/* Written so that virtq's own warning flags (-Wextra -Wmissing-prototypes,
 * -Werror) would reject it: a build that imposes them on its parent fails. */
int vmm_hook(int unused)
{
	return 0;
}

int main(void)
{
	if (strcmp(virtq_version(), VIRTQ_VERSION_STRING) != 0) {
		fprintf(stderr, "headers %s, library %s\n", VIRTQ_VERSION_STRING, virtq_version());
		return 1;
	}
	static struct virtq_mem_region slots[VIRTQ_MEM_VHOST_USER_SLOTS];
	static unsigned char ram[1 << 16];
	struct virtq_mem mem;
	if (virtq_mem_init(&mem, slots, VIRTQ_MEM_VHOST_USER_SLOTS) ||
	    virtq_mem_add_region(&mem, 0, sizeof(ram), ram) ||
	    virtq_mem_translate(&mem, 0x100, 16) != ram + 0x100)
		return 1;
#ifdef USE_MOCK
	struct virtq_mock_config cfg;
	struct virtq_mock m;
	struct virtq q;
	virtq_mock_config_default(&cfg);
	if (virtq_mock_init(&m, &cfg) || virtq_mock_attach(&m, &q))
		return 1;
	int empty = virtq_pop(&q, &(struct virtq_chain){ 0 });
	virtq_mock_destroy(&m);
	if (empty != 0)
		return 1;
#endif
	printf("my_vmm: virtq %s ok%s\n", virtq_version(), vmm_hook(0) ? "?" : "");
	return 0;
}

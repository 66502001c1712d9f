/* SPDX-License-Identifier: MIT */
/* Built against an installed virtq: headers, libraries and package files work. */
#include <stdio.h>
#include <string.h>

#include <virtq/virtq.h>
#ifndef NO_MOCK
#include <virtq/mock.h>
#endif

int main(void)
{
	if (strcmp(virtq_errname(-VIRTQ_EBADIDX), "VIRTQ_EBADIDX") != 0)
		return 1;
#ifndef NO_MOCK
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
	printf("virtq %s consumer ok\n", VIRTQ_VERSION_STRING);
	return 0;
}

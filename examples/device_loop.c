/* SPDX-License-Identifier: MIT */
/*
 * The README's device loop: an "upper-case echo" device. The part between the
 * README markers is copied verbatim into README.md (a test checks they match).
 * main() plays the guest with the mock driver.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <virtq/mock.h>
#include <virtq/virtq.h>

static void notify_guest(void) { /* a real VMM would signal the irqfd here */ }

/* README:device-loop:begin */
/* Serve every available request; returns 0, or a negative VIRTQ_E* code. */
static int serve_queue(struct virtq *q)
{
	struct virtq_seg segs[64];
	struct virtq_chain chain;
	virtq_chain_init(&chain, segs, 64);
	for (;;) {
		virtq_disable_notify(q);           /* we are polling: no kicks */
		int r;
		while ((r = virtq_pop(q, &chain)) == 1) {
			struct virtq_cursor in, out;
			char buf[256];
			virtq_chain_reader(&in, &chain);
			virtq_chain_writer(&out, &chain);
			int64_t n = virtq_chain_read(&in, buf, sizeof(buf));
			for (int64_t i = 0; i < n; i++)
				buf[i] = (char)toupper((unsigned char)buf[i]);
			virtq_chain_write(&out, buf, (size_t)n);
			virtq_add_used(q, chain.id, (uint32_t)virtq_chain_offset(&out));
		}
		virtq_publish_used(q);
		if (virtq_needs_notify(q) == 1)
			notify_guest();
		if (r < 0)      /* -VIRTQ_EBADDESC etc.: queue broken. (-VIRTQ_EBUSY, all */
			return r; /* chains in flight, cannot happen: each is used at once) */
		if (virtq_enable_notify(q) != 1)   /* nothing arrived meanwhile: sleep */
			return 0;
	}
}
/* README:device-loop:end */

int main(void)
{
	struct virtq_mock_config cfg;
	struct virtq_mock guest;
	struct virtq q;
	const char *words[] = { "hello", "virtq", "split ring" };
	uint64_t replies[3];
	virtq_mock_config_default(&cfg);
	if (virtq_mock_init(&guest, &cfg) || virtq_mock_attach(&guest, &q))
		return 1;
	for (unsigned i = 0; i < 3; i++) {
		uint64_t req = virtq_mock_alloc(&guest, 64, 8);
		replies[i] = virtq_mock_alloc(&guest, 64, 8);
		virtq_mock_write(&guest, req, words[i], strlen(words[i]));
		struct virtq_mock_buf bufs[] = { { req, (uint32_t)strlen(words[i]), false },
						 { replies[i], 64, true } };
		if (virtq_mock_add_chain(&guest, bufs, 2, 0) < 0)
			return 1;
	}
	int r = serve_queue(&q);
	int bad = r != 0;
	for (unsigned i = 0; i < 3; i++) {
		uint32_t id, len;
		char reply[65] = { 0 };
		if (virtq_mock_get_used(&guest, &id, &len) != 1 || len != strlen(words[i]))
			return 1;
		virtq_mock_read(&guest, replies[i], reply, len);
		printf("%s -> %s\n", words[i], reply);
		for (uint32_t k = 0; k < len; k++)
			bad |= reply[k] != toupper((unsigned char)words[i][k]);
	}
	virtq_mock_destroy(&guest);
	return bad;
}

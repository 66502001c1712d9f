/* SPDX-License-Identifier: MIT */
/*
 * A minimal epoll loop: every watched file descriptor has a handler embedded
 * in the object that owns it. A handler removed during a batch of events
 * has its fd set to -1, so its stale events in that batch are skipped; the
 * owner frees objects only between batches (see ev_loop_run_once()).
 */
#ifndef VU_LOOP_H
#define VU_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ev_handler;
typedef void (*ev_fn)(struct ev_handler *h, uint32_t events);

struct ev_handler {
	int fd;          /* -1 when not watched */
	uint32_t events; /* current interest (EPOLLIN, EPOLLOUT) */
	ev_fn fn;
};

struct ev_loop {
	int epfd;
	bool stop;
	void (*after_batch)(void *arg); /* called after each batch: free dead objects */
	void *after_batch_arg;
};

int ev_loop_init(struct ev_loop *l);
void ev_loop_close(struct ev_loop *l);
void ev_handler_init(struct ev_handler *h, ev_fn fn);
/* Starts watching fd with the given interest. Returns 0 or -errno. */
int ev_add(struct ev_loop *l, struct ev_handler *h, int fd, uint32_t events);
/* Changes the interest (no system call if unchanged). */
int ev_mod(struct ev_loop *l, struct ev_handler *h, uint32_t events);
/* Stops watching; does not close the fd. h->fd becomes -1. */
void ev_del(struct ev_loop *l, struct ev_handler *h);
/* Waits up to timeout_ms for events and dispatches them. Returns 0 or -errno
 * (EINTR is not an error). */
int ev_loop_run_once(struct ev_loop *l, int timeout_ms);

#endif

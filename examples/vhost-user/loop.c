/* SPDX-License-Identifier: MIT */
/* The epoll loop (see loop.h). */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

int ev_loop_init(struct ev_loop *l)
{
	l->stop = false;
	l->after_batch = 0;
	l->after_batch_arg = 0;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void ev_loop_close(struct ev_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

void ev_handler_init(struct ev_handler *h, ev_fn fn)
{
	h->fd = -1;
	h->events = 0;
	h->fn = fn;
}

int ev_add(struct ev_loop *l, struct ev_handler *h, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	h->fd = fd;
	h->events = events;
	return 0;
}

int ev_mod(struct ev_loop *l, struct ev_handler *h, uint32_t events)
{
	if (h->fd < 0 || h->events == events)
		return 0;
	struct epoll_event ev = { .events = events, .data.ptr = h };
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		return -errno;
	h->events = events;
	return 0;
}

void ev_del(struct ev_loop *l, struct ev_handler *h)
{
	if (h->fd >= 0)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, 0);
	h->fd = -1;
	h->events = 0;
}

int ev_loop_run_once(struct ev_loop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(l->epfd, evs, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !l->stop; i++) {
		struct ev_handler *h = evs[i].data.ptr;
		if (h->fd >= 0)
			h->fn(h, evs[i].events);
	}
	if (l->after_batch)
		l->after_batch(l->after_batch_arg);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* The back-end program's frame (see server.h). */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "unix_sock.h"

static void on_signal(struct ev_handler *h, uint32_t events)
{
	(void)events;
	struct vu_server *s = (struct vu_server *)(void *)((char *)h - offsetof(struct vu_server, sig));
	struct signalfd_siginfo si;
	if (read(h->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		log_info("signal %u: shutting down", si.ssi_signo);
	s->loop.stop = true;
}

static void on_listener(struct ev_handler *h, uint32_t events)
{
	(void)events;
	struct vu_server *s =
		(struct vu_server *)(void *)((char *)h - offsetof(struct vu_server, listener));
	int fd = unix_sock_accept(h->fd);
	if (fd < 0)
		return;
	if (vu_dev_connected(s->dev)) {
		log_info("a second front-end connection refused");
		close(fd);
		return;
	}
	/* vhost-user messages are read blocking, with a timeout */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (vu_dev_attach(s->dev, fd) < 0)
		close(fd);
}

static sigset_t shutdown_signals(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	return mask;
}

int vu_server_init(struct vu_server *s)
{
	memset(s, 0, sizeof(*s));
	ev_handler_init(&s->listener, on_listener);
	ev_handler_init(&s->sig, on_signal);
	sigset_t mask = shutdown_signals();
	sigprocmask(SIG_BLOCK, &mask, 0);
	signal(SIGPIPE, SIG_IGN);
	return ev_loop_init(&s->loop);
}

int vu_server_listen(struct vu_server *s, const char *socket_path, struct vu_dev *dev)
{
	s->dev = dev;
	s->socket_path = socket_path;
	sigset_t mask = shutdown_signals();
	int lfd = unix_sock_listen(socket_path);
	if (lfd < 0)
		return lfd;
	int r = 0;
	int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || (r = ev_add(&s->loop, &s->listener, lfd, EPOLLIN)) < 0 ||
	    (r = ev_add(&s->loop, &s->sig, sfd, EPOLLIN)) < 0) {
		if (sfd < 0)
			r = -errno;
		ev_del(&s->loop, &s->listener);
		close(lfd);
		if (sfd >= 0)
			close(sfd);
		(void)unlink(socket_path);
		return r;
	}
	return 0;
}

int vu_server_run(struct vu_server *s, bool (*more_work)(void *arg), void *arg)
{
	bool busy = false;
	while (!s->loop.stop) {
		int r = ev_loop_run_once(&s->loop, busy ? 0 : -1);
		if (r < 0) {
			log_info("epoll_wait: %s", strerror(-r));
			return r;
		}
		busy = more_work && more_work(arg);
	}
	return 0;
}

void vu_server_close(struct vu_server *s)
{
	if (s->listener.fd >= 0) {
		int fd = s->listener.fd;
		ev_del(&s->loop, &s->listener);
		close(fd);
		(void)unlink(s->socket_path);
	}
	if (s->sig.fd >= 0) {
		int fd = s->sig.fd;
		ev_del(&s->loop, &s->sig);
		close(fd);
	}
	ev_loop_close(&s->loop);
}

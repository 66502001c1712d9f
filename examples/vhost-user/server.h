/* SPDX-License-Identifier: MIT */
/*
 * The frame of a vhost-user back-end program: SIGTERM and SIGINT through a
 * signalfd, the listening vhost-user socket, and the epoll loop. One
 * front-end at a time: a second connection is refused while one is attached;
 * when the front-end goes away the device resets and the next one may come.
 */
#ifndef VU_SERVER_H
#define VU_SERVER_H

#include <stdbool.h>

#include "loop.h"
#include "vhost_user.h"

struct vu_server {
	struct ev_loop loop;
	struct vu_dev *dev;
	struct ev_handler listener; /* the front-end connects here */
	struct ev_handler sig;
	const char *socket_path;
};

/* Blocks SIGTERM and SIGINT (they arrive on the signalfd), ignores SIGPIPE,
 * creates the loop. Returns 0 or -errno. */
int vu_server_init(struct vu_server *s);

/* Listens on socket_path for front-ends of dev, and watches the signals.
 * Returns 0 or -errno (nothing is left open). */
int vu_server_listen(struct vu_server *s, const char *socket_path, struct vu_dev *dev);

/*
 * Runs until a signal. After each batch of events more_work(arg) is called;
 * while it returns true (work left over from a bounded batch) the loop only
 * polls. Returns 0, or -errno if epoll_wait failed (logged).
 */
int vu_server_run(struct vu_server *s, bool (*more_work)(void *arg), void *arg);

/* Closes the sockets (the vhost-user socket file is removed) and the loop. */
void vu_server_close(struct vu_server *s);

#endif

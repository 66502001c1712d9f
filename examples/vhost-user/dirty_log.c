/* SPDX-License-Identifier: MIT */
/* Dirty page logging: refused for now (see dirty_log.h). */
#include "dirty_log.h"

#include "log.h"

int vu_dirty_log_on_msg(struct vu_dev *d, const struct vu_msg *m, unsigned nfds)
{
	(void)d;
	/* SET_LOG_BASE carries the log's fd; SET_LOG_FD an eventfd */
	log_info("%s (%u) not supported%s", vu_request_name(m->request), m->request,
		 nfds != 1 ? ", unexpected fds" : "");
	return 1;
}

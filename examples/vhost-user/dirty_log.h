/* SPDX-License-Identifier: MIT */
/*
 * Dirty page logging for live migration (VHOST_F_LOG_ALL, SET_LOG_BASE,
 * SET_LOG_FD): not implemented yet, so LOG_ALL is not offered and the log
 * messages are refused (their fds closed). The place where the log will be
 * mapped and handed to the queues (virtq's own dirty log, issue 15).
 */
#ifndef VU_DIRTY_LOG_H
#define VU_DIRTY_LOG_H

#include "message.h"

struct vu_dev;

/* SET_LOG_BASE / SET_LOG_FD: 1 (refused). */
int vu_dirty_log_on_msg(struct vu_dev *d, const struct vu_msg *m, unsigned nfds);

#endif

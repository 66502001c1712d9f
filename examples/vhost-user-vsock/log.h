/* SPDX-License-Identifier: MIT */
/* Logging to stderr; debug messages only with --verbose. */
#ifndef VSOCK_LOG_H
#define VSOCK_LOG_H

#include <stdbool.h>
#include <stdio.h>

extern bool log_verbose;

#define log_info(...) (fprintf(stderr, "virtq-vsock: " __VA_ARGS__), fputc('\n', stderr))
#define log_debug(...) (log_verbose ? (void)log_info(__VA_ARGS__) : (void)0)

#endif

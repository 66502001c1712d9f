/* SPDX-License-Identifier: MIT */
/* Logging to stderr, each line prefixed with the program's name; debug
 * messages only with --verbose. */
#ifndef VU_LOG_H
#define VU_LOG_H

#include <stdbool.h>
#include <stdio.h>

extern bool log_verbose;
extern const char *log_name; /* "virtq-vsock", set by main() */

#define log_info(...) \
	(fprintf(stderr, "%s: ", log_name), fprintf(stderr, __VA_ARGS__), fputc('\n', stderr))
#define log_debug(...) (log_verbose ? (void)log_info(__VA_ARGS__) : (void)0)

#endif

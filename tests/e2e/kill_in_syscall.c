/* SPDX-License-Identifier: MIT */
/* kill_in_syscall PID SECONDS NR...: SIGKILLs process PID while it is
 * inside one of the system calls NR (numbers, as /proc/PID/syscall shows
 * them), so that a test can kill a back-end in the middle of a request.
 *
 * It samples: SIGSTOP, wait until stopped, read /proc/PID/syscall, then
 * SIGKILL if the call is one of NR, else SIGCONT and sample again. A shell
 * loop manages a few dozen samples a second and misses a pwritev that
 * takes 0.1 ms of a mostly idle back-end's time; this loop takes thousands.
 * Exit 0: killed inside one of NR. Exit 1: not caught within SECONDS
 * (PID is SIGKILLed all the same, so that the test goes on). Exit 2: usage,
 * or PID is gone. Linux only. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_CALLS = 8 };

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	return ok ? 0 : -1;
}

/* The state letter of /proc/PID/stat: after the ')' closing the name. */
static char process_state(const char *stat_path)
{
	char line[512];
	if (read_line(stat_path, line, sizeof line))
		return 0;
	const char *p = strrchr(line, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static int wait_stopped(const char *stat_path)
{
	for (int i = 0; i < 100000; i++) {
		char s = process_state(stat_path);
		if (s == 'T' || s == 't')
			return 0;
		if (s == 0)
			return -1;
	}
	return -1;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || end == s || *end || *out < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	long pid, seconds, calls[MAX_CALLS];
	int ncalls = argc - 3;
	if (argc < 4 || ncalls > MAX_CALLS || parse_long(argv[1], &pid) || pid <= 0 ||
	    parse_long(argv[2], &seconds)) {
		fprintf(stderr, "usage: kill_in_syscall PID SECONDS NR... (at most %d NR)\n",
			MAX_CALLS);
		return 2;
	}
	for (int i = 0; i < ncalls; i++)
		if (parse_long(argv[3 + i], &calls[i])) {
			fprintf(stderr, "kill_in_syscall: bad system call number '%s'\n", argv[3 + i]);
			return 2;
		}
	char stat_path[64], syscall_path[64], line[512];
	snprintf(stat_path, sizeof stat_path, "/proc/%ld/stat", pid);
	snprintf(syscall_path, sizeof syscall_path, "/proc/%ld/syscall", pid);
	double deadline = now_s() + (double)seconds;
	unsigned long samples = 0;
	while (now_s() < deadline) {
		if (kill((pid_t)pid, SIGSTOP) || wait_stopped(stat_path)) {
			fprintf(stderr, "kill_in_syscall: process %ld is gone\n", pid);
			return 2;
		}
		samples++;
		long nr = -1;
		if (!read_line(syscall_path, line, sizeof line))
			nr = strtol(line, NULL, 10);
		for (int i = 0; i < ncalls; i++)
			if (nr == calls[i]) {
				kill((pid_t)pid, SIGKILL);
				printf("killed process %ld inside system call %ld (sample %lu)\n", pid,
				       nr, samples);
				return 0;
			}
		kill((pid_t)pid, SIGCONT);
		nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
	}
	kill((pid_t)pid, SIGKILL);
	printf("process %ld not caught inside the system calls in %ld s (%lu samples); killed\n",
	       pid, seconds, samples);
	return 1;
}

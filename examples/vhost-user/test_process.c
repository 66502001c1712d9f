/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "test_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

pid_t tp_spawn(const char *log_path, const char *const argv[])
{
	pid_t p = fork();
	if (p == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], (char *const *)argv); /* execv does not write them */
		_exit(127);
	}
	return p;
}

void tp_sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };
	nanosleep(&ts, 0);
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, 0, 0);
}

unsigned tp_kill_mid_traffic(pid_t pid, unsigned seed, unsigned warmup, unsigned jitter_us,
			     void (*traffic)(void), unsigned (*caught)(void))
{
	for (unsigned i = 0; i < warmup; i++) {
		traffic();
		tp_sleep_us(100);
	}
	for (unsigned tries = 0; tries < 2000; tries++) {
		traffic();
		tp_sleep_us((long)((seed * 7919u + tries * 104729u) % jitter_us));
		kill(pid, SIGSTOP);
		waitpid(pid, 0, WUNTRACED);
		unsigned n = caught();
		if (n) {
			kill_and_reap(pid);
			return n;
		}
		kill(pid, SIGCONT);
	}
	kill_and_reap(pid);
	return 0;
}

unsigned tp_count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != 0;
	if (f)
		fclose(f);
	return n;
}

bool tp_stop(pid_t pid)
{
	int status = 0;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void tp_show_log(const char *path, unsigned lines)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "tail -%u %s >&2", lines, path);
	(void)system(cmd);
}

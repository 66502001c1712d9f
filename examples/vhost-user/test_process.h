/* SPDX-License-Identifier: MIT */
/*
 * The back-end process of the example devices' restart tests: started with
 * its stderr appended to a log, stopped (SIGSTOP) until the test sees what
 * it waits for and killed there (SIGKILL), its log searched afterwards.
 */
#ifndef VU_TEST_PROCESS_H
#define VU_TEST_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

/* Starts argv[0] with argv (0-terminated), its stderr appended to log_path. */
pid_t tp_spawn(const char *log_path, const char *const argv[]);

void tp_sleep_us(long us);

/*
 * Runs traffic() warmup times (100 us apart), then keeps calling it, each
 * time stopping pid after a jitter below jitter_us (from seed) and asking
 * caught() whether pid is where the test wants it. Kills pid there and
 * returns what caught() said; kills it anyway after 2000 tries and returns 0.
 */
unsigned tp_kill_mid_traffic(pid_t pid, unsigned seed, unsigned warmup, unsigned jitter_us,
			     void (*traffic)(void), unsigned (*caught)(void));

/* Lines of the file at path that contain needle (0 if it cannot be read). */
unsigned tp_count_lines(const char *path, const char *needle);

/* SIGTERM to pid; true if it then exits with status 0. */
bool tp_stop(pid_t pid);

/* The last lines of the file at path on stderr (a failed test's log). */
void tp_show_log(const char *path, unsigned lines);

#endif

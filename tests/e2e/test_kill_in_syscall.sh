#!/usr/bin/env bash
# kill_in_syscall on its success and failure paths: it kills a process
# caught inside a listed system call (exit 0), kills one never caught all
# the same and says so (exit 1), and refuses bad arguments or a gone
# process (exit 2).
#
#   tests/e2e/test_kill_in_syscall.sh KILL_IN_SYSCALL
set -euo pipefail
killer=$1 fail=0
check() { # check WHAT COMMAND...
	if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; fail=1; fi
}
exits() { # exits WHAT EXPECTED COMMAND...: runs COMMAND, output in $out
	local rc=0
	out=$("${@:3}" 2>&1) || rc=$?
	check "$1" test "$rc" -eq "$2"
	[ "$rc" -eq "$2" ] || echo "  exit $rc, expected $2: $out"
}

# sleep waits in clock_nanosleep (x86_64: 230) all the time
sleep 30 &
pid=$!
exits "a process inside clock_nanosleep is killed, exit 0" 0 "$killer" "$pid" 5 230
check "it names the system call" grep -q "inside system call 230" <<<"$out"
check "the process is dead" bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null || true

sleep 30 &
pid=$!
exits "never inside pwritev (296): exit 1 after the time given" 1 "$killer" "$pid" 1 296
check "it says so" grep -q "not caught" <<<"$out"
check "and kills it all the same" bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null || true

exits "a gone process: exit 2" 2 "$killer" "$pid" 1 296
exits "no system call given: exit 2" 2 "$killer" 1 1
exits "a bad number: exit 2" 2 "$killer" 1 1 pwritev
exit "$fail"

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
status() { # status EXPECTED COMMAND...: runs COMMAND, output in $out
	local rc=0
	out=$("${@:2}" 2>&1) || rc=$?
	[ "$rc" -eq "$1" ] || { echo "  exit $rc, expected $1: $out"; return 1; }
}

# sleep waits in clock_nanosleep (x86_64: 230) all the time
sleep 30 &
pid=$!
check "a process inside clock_nanosleep is killed, exit 0" status 0 "$killer" "$pid" 5 230
check "it names the system call" grep -q "inside system call 230" <<<"$out"
check "the process is dead" bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null || true

sleep 30 &
pid=$!
check "never inside pwritev (296): exit 1 after the time given" status 1 "$killer" "$pid" 1 296
check "it says so" grep -q "not caught" <<<"$out"
check "and kills it all the same" bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null || true

check "a gone process: exit 2" status 2 "$killer" "$pid" 1 296
check "no system call given: exit 2" status 2 "$killer" 1 1
check "a bad number: exit 2" status 2 "$killer" 1 1 pwritev
exit "$fail"

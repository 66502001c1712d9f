#!/usr/bin/env bash
# scripts/lib/stages.sh (the stage runner of .ci/run) on both paths: all
# stages pass -> a table and a PASSED verdict; a stage fails -> the later
# stages do not run, the table marks it, and the verdict names it.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
expect() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
has() { grep -q -E -- "$2" "$1"; }

cat >"$tmp/ci-pass" <<CI
source "$root/scripts/lib/stages.sh"
stage first true
stage second sleep 1
stages_passed
CI
bash "$tmp/ci-pass" >"$tmp/pass.out" 2>"$tmp/pass.err" && rc=0 || rc=$?
expect "passing run: exit 0" test "$rc" = 0
expect "... each stage announced" has "$tmp/pass.err" "==== stage second: sleep 1"
expect "... a table row per stage with its time" has "$tmp/pass.out" '^second +0m0[12]s +ok$'
expect "... the total" has "$tmp/pass.out" '^total +0m0[12]s$'
expect "... one verdict line, last" test "$(tail -1 "$tmp/pass.out")" = "VERDICT: PASSED, 2 stages in $(grep -oE '0m0[12]s$' "$tmp/pass.out" | tail -1)"

cat >"$tmp/ci-fail" <<CI
source "$root/scripts/lib/stages.sh"
stage first true
stage broken bash -c 'echo the cause >&2; exit 3'
stage never touch "$tmp/ran"
stages_passed
CI
bash "$tmp/ci-fail" >"$tmp/fail.out" 2>"$tmp/fail.err" && rc=0 || rc=$?
expect "failing run: exit 1" test "$rc" = 1
expect "... the stage's own output is kept" has "$tmp/fail.err" "the cause"
expect "... the table marks the failed stage" has "$tmp/fail.out" '^broken +0m0[01]s +FAILED \(exit 3\)$'
expect "... later stages do not run" test ! -e "$tmp/ran"
expect "... the verdict names the stage" has "$tmp/fail.out" "^VERDICT: FAILED in stage 'broken' \(exit 3\) after 0m0[01]s"
expect "... as the last line" has <(tail -1 "$tmp/fail.out") "^VERDICT: FAILED"

[ "$failures" -eq 0 ] || { echo "$failures check(s) of stages.sh failed" >&2; exit 1; }
echo "stages.sh: both paths checked"

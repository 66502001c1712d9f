#!/usr/bin/env bash
# scripts/e2e.sh's command line on its failure paths: an unknown device or
# option is named in one line and fails before anything is built; --help
# names both devices.
set -uo pipefail
e2e="$(cd "$(dirname "$0")/../.." && pwd)/scripts/e2e.sh"
failures=0
expect() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
out=$(bash "$e2e" --device floppy 2>&1) && rc=0 || rc=$?
expect "--device floppy fails" test "$rc" -ne 0
expect "--device floppy is named" grep -q -F "unknown device 'floppy' (vsock, blk)" <<<"$out"
expect "--device floppy: one line, nothing built" test "$(wc -l <<<"$out")" = 1
out=$(bash "$e2e" --frobnicate 2>&1) && rc=0 || rc=$?
expect "--frobnicate fails and is named" test "$rc" -ne 0 -a -n "$(grep -F 'unknown option --frobnicate' <<<"$out")"
help=$(bash "$e2e" --help)
expect "--help shows --device blk" grep -q -F -- "--device blk" <<<"$help"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "e2e.sh command line checked"

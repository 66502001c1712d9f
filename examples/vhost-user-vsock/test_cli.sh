#!/usr/bin/env bash
# The device's command line: --help describes every option and its default;
# each bad value or missing option is named in a one-line error, exit 2.
#   test_cli.sh BINARY
set -uo pipefail
bin=$1
failures=0
expect() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
help=$("$bin" --help) && rc=0 || rc=$?
expect "--help exits 0" test "$rc" = 0
for opt in --socket --uds-path --guest-cid --vm --verbose --help; do
	expect "--help describes $opt" grep -q -E -- "^  $opt" <<<"$help"
done
expect "--help gives --guest-cid's default" grep -q -E -- '--guest-cid N .*\(default 3\)' <<<"$help"
expect "--help gives --verbose's default" grep -q -E -- '--verbose.*\(default: off\)' <<<"$help"

# rejected ARGS -- EXPECTED_MESSAGE
rejected() {
	local args=() msg out rc
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	msg=$2
	out=$("$bin" "${args[@]}" 2>&1) && rc=0 || rc=$?
	expect "${args[*]}: exit 2" test "$rc" = 2
	expect "${args[*]}: says \"$msg\"" grep -q -F -- "$msg" <<<"$out"
	expect "${args[*]}: one line" test "$(wc -l <<<"$out")" = 1
}
rejected --socket /tmp/s --uds-path /tmp/u --guest-cid 2 -- "bad guest CID '2': a number from 3 to 4294967294"
rejected --socket /tmp/s --uds-path /tmp/u --guest-cid 4294967295 -- "bad guest CID '4294967295'"
rejected --socket /tmp/s --uds-path /tmp/u --guest-cid abc -- "bad guest CID 'abc'"
rejected --vm guest-cid=x,socket=/tmp/s,uds-path=/tmp/u -- "bad guest CID 'x'"
rejected --vm color=blue -- "--vm: unknown key 'color' (socket, uds-path, guest-cid)"
rejected --vm socket -- "--vm: 'socket' is not KEY=VALUE"
rejected --frobnicate -- "unknown option '--frobnicate'"
rejected --socket -- "--socket needs a value"
rejected --uds-path /tmp/u -- "--socket PATH is required"
rejected --socket /tmp/s -- "--uds-path PATH is required"
# The manual page (installed by the Debian package) names every option too.
man_page="$(dirname "$0")/virtq-vsock-vhost-user.1"
for opt in socket uds-path guest-cid vm verbose help; do
	expect "the manual page describes --$opt" grep -q -F -- "\\-\\-${opt//-/\\-}" "$man_page"
done
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "command line checked"

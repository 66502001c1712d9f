# shellcheck shell=bash
# shellcheck disable=SC2154 # bin: the program, set by the sourcing test
# Checks shared by the example devices' command-line tests
# (examples/*/test_cli.sh), run against the program in bin. Failed checks
# are counted in failures; cli_finish reports them.
failures=0

# expect DESCRIPTION COMMAND...: one check, "ok:" or "FAILED:"
expect() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}

# cli_help OPTION...: --help exits 0 and describes each OPTION; the text is
# left in help for the callers' own checks
cli_help() {
	local rc opt
	help=$("$bin" --help) && rc=0 || rc=$?
	expect "--help exits 0" test "$rc" = 0
	for opt in "$@"; do
		expect "--help describes $opt" grep -q -E -- "^  $opt" <<<"$help"
	done
}

# rejected EXIT ARGS -- EXPECTED_MESSAGE: the program run with ARGS exits
# EXIT with EXPECTED_MESSAGE in a one-line error
rejected() {
	local want=$1 args=() msg out rc
	shift
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	msg=$2
	out=$("$bin" "${args[@]}" 2>&1) && rc=0 || rc=$?
	expect "${args[*]}: exit $want" test "$rc" = "$want"
	expect "${args[*]}: says \"$msg\"" grep -q -F -- "$msg" <<<"$out"
	expect "${args[*]}: one line" test "$(wc -l <<<"$out")" = 1
}

# cli_man_page PAGE OPTION...: the manual page names each --OPTION
cli_man_page() {
	local page=$1 opt
	shift
	for opt in "$@"; do
		expect "the manual page describes --$opt" grep -q -F -- "\\-\\-${opt//-/\\-}" "$page"
	done
}

# cli_finish: fails if any check did
cli_finish() {
	[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
	echo "command line checked"
}

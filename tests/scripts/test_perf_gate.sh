#!/usr/bin/env bash
# scripts/perf-gate.sh on its paths, with figures files made up here (the
# checked-in bench/instructions.json is not touched) and one workload
# (--only steady) to keep it short: --update writes the measured count and a
# comparison with it passes; a figure 10% below the count fails, naming the
# workload and how to update the figures; a missing figure fails; a figure
# well above the count passes with the note that it can be lowered; a
# tolerance above the regression lets it pass; --update --only adds a new
# workload's figure in the binary's order and leaves the others alone.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
gate="$root/scripts/perf-gate.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
expect() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
has() { grep -q -E -- "$2" "$1"; }
run_gate() { # run_gate NAME ARGS...: output in $tmp/NAME.out, exit status in rc
	local name=$1
	shift
	"$gate" --only steady "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" && rc=0 || rc=$?
}
# with_figure FILE N: a figures file like the measured one, steady's figure N.
with_figure() {
	sed "s/^    \"steady\": [0-9]*/    \"steady\": $2/" "$tmp/measured.json" >"$1"
}

run_gate update --update --figures "$tmp/measured.json"
expect "--update: exit 0" test "$rc" = 0
expect "... writes the measured count" has "$tmp/measured.json" '^    "steady": [1-9][0-9]*$'
expect "... records the toolchain" has "$tmp/measured.json" '^  "toolchain": ".*valgrind'
count=$(sed -n 's/^    "steady": \([0-9]*\)$/\1/p' "$tmp/measured.json")
[ -n "$count" ] || { echo "FAILED: no count measured; stopping" >&2; exit 1; }

run_gate same --figures "$tmp/measured.json"
expect "same figures: exit 0" test "$rc" = 0
expect "... steady ok" has "$tmp/same.out" "^steady $count $count \+0\.0% ok$"
expect "... PASSED" has "$tmp/same.out" '^perf-gate: PASSED'

with_figure "$tmp/lower.json" $((count * 9 / 10))
run_gate lower --figures "$tmp/lower.json"
expect "figure 10% below the count: exit 1" test "$rc" = 1
expect "... names the workload and the regression" has "$tmp/lower.out" \
	"^steady $((count * 9 / 10)) $count \+1[01]\.[0-9]% FAILED: regressed by more than 3%$"
expect "... FAILED verdict" has "$tmp/lower.out" '^perf-gate: FAILED'
expect "... says how to update the figures" has "$tmp/lower.out" 'scripts/perf-gate.sh --update'
expect "... and to commit them" has "$tmp/lower.out" '^  git commit '

run_gate tolerant --figures "$tmp/lower.json" --tolerance 20
expect "--tolerance 20 with the same figure: exit 0" test "$rc" = 0

grep -v '"steady"' "$tmp/measured.json" >"$tmp/missing.json"
run_gate missing --figures "$tmp/missing.json"
expect "no figure for the workload: exit 1" test "$rc" = 1
expect "... says so" has "$tmp/missing.out" '^steady - [0-9]+ - FAILED: no checked-in figure$'

with_figure "$tmp/higher.json" $((count * 2))
run_gate higher --figures "$tmp/higher.json"
expect "figure twice the count: exit 0" test "$rc" = 0
expect "... with the note that it can be lowered" has "$tmp/higher.out" \
	'^steady [0-9]+ [0-9]+ -50\.0% ok \(cheaper: the figure can be lowered\)$'

# --update --only for a workload the file lacks (a new workload): its figure
# is added in the binary's order (steady after multi, before steady_logged),
# the others keep their figures, also one the binary no longer has (last).
cat >"$tmp/partial.json" <<'EOF'
{
  "counter": "callgrind instructions per iteration",
  "command": "scripts/perf-gate.sh --update",
  "toolchain": "made up",
  "workloads": {
    "steady_logged": 222,
    "gone": 333,
    "multi": 111
  }
}
EOF
run_gate partial --update --figures "$tmp/partial.json"
expect "--update --only with a new workload: exit 0" test "$rc" = 0
expect "... adds its figure" has "$tmp/partial.json" "^    \"steady\": $count,$"
expect "... keeps the others, in the binary's order" \
	test "$(sed -n 's/^    "\([a-z_]*\)": \([0-9]*\),\{0,1\}$/\1=\2/p' "$tmp/partial.json" |
		tr '\n' ' ')" = "multi=111 steady=$count steady_logged=222 gone=333 "

run_gate nofile --figures "$tmp/none.json"
expect "no figures file: exit 1" test "$rc" = 1
expect "... says how to create it" has "$tmp/nofile.err" 'no figures file .*--update'

"$gate" --tolerance x >"$tmp/bad.out" 2>&1 && rc=0 || rc=$?
expect "bad --tolerance: refused" test "$rc" != 0

[ "$failures" -eq 0 ] || { echo "$failures check(s) of perf-gate.sh failed" >&2; exit 1; }
echo "perf-gate.sh: pass and failure paths checked"

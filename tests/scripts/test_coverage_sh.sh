#!/usr/bin/env bash
# scripts/coverage.sh on its paths: usage errors exit 2 before building; the
# corpus run prints the per-file table with headers included, the functions
# never run and, with --misses, every line never run as file:line:; a floor
# met and a floor missed are both reported, the missed one with exit 1;
# --tests reports the unit tests' coverage; and a corpus input that crashes
# (a copy of the tree with a known bug) fails the run, naming the target.
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
# shellcheck disable=SC2317 # called through expect
has() { grep -q -E -- "$2" "$1"; }
run() { # run NAME SCRIPT ARGS...: output in $tmp/NAME.out (stdout and stderr), status in rc
	local name=$1 script=$2
	shift 2
	"$script" "$@" >"$tmp/$name.out" 2>&1 && rc=0 || rc=$?
}
cov="$root/scripts/coverage.sh"

run bad-option "$cov" --bogus
expect "unknown option: exit 2" test "$rc" = 2
expect "... names it" has "$tmp/bad-option.out" "unknown option '--bogus'"
run bad-floor "$cov" --min-regions lots
expect "a floor that is not a percentage: exit 2" test "$rc" = 2
expect "... says so" has "$tmp/bad-floor.out" "--min-regions wants a percentage, got 'lots'"
run no-floor "$cov" --min-branches
expect "a floor without its value: exit 2" test "$rc" = 2

run corpus "$cov" --misses --min-regions 1 --min-branches 100
expect "a floor missed: exit 1" test "$rc" = 1
expect "... the table covers src/*.c" has "$tmp/corpus.out" '^src/pop\.c +[0-9]+'
expect "... and the headers" has "$tmp/corpus.out" '^include/virtq/chain\.h +[0-9]+'
expect "... and the total" has "$tmp/corpus.out" '^TOTAL +[0-9]+ +[0-9]+ +[0-9.]+%'
expect "... functions never run are listed" has "$tmp/corpus.out" 'functions never run'
expect "... an inline function of a header is not listed by copy" \
	bash -c "! grep -q -E '^  [a-z_]+\.c:virtq_chain_[a-z_]+_inline$' '$tmp/corpus.out'"
expect "... lines never run as file:line:" has "$tmp/corpus.out" '^  (src|include/virtq)/[a-z_/]+\.[ch]:[0-9]+:'
expect "... the met floor" has "$tmp/corpus.out" '^coverage floor met: regions [0-9.]+% >= 1%$'
expect "... the missed floor" has "$tmp/corpus.out" '^coverage below the floor: branches [0-9.]+% < 100%$'

run tests "$cov" --tests --min-regions 50
expect "--tests: exit 0" test "$rc" = 0
expect "... says what ran" has "$tmp/tests.out" 'coverage of src/ \(tests\)'
expect "... the floor met" has "$tmp/tests.out" '^coverage floor met: regions'

# A tree with a known bug: its corpus holds the input that shows it.
mkdir "$tmp/tree"
(cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$tmp/tree"
patch -s -d "$tmp/tree" -p1 <"$root/fuzz/known-bugs/avail-idx-ahead.patch"
run crash "$tmp/tree/scripts/coverage.sh"
expect "a corpus input that fails its oracle: exit 1" test "$rc" = 1
expect "... names the target" has "$tmp/crash.out" 'the replay of corpus/fuzz_(chain|queue) failed'
expect "... shows the oracle" has "$tmp/crash.out" 'oracle failed'

[ "$failures" = 0 ] && echo "test_coverage_sh: all passed" && exit 0
echo "test_coverage_sh: $failures failed" >&2
exit 1

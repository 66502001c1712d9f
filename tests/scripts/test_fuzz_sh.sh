#!/usr/bin/env bash
# scripts/fuzz.sh on its failure paths: it must report every failure, never
# stop silently, never lose what a run found, and refuse bad options.
# Runs a scratch copy of the tree (its corpus/ and build/ are the copy's) with
# known-bug patches: a crash the checked-in corpus triggers while loading, one
# found by mutation from nothing, a timeout, an OOM, a leak, a fuzzer that
# dies at start-up, --jobs 2 with and without a crash, --merge, --summary and
# AFL++. Takes a few minutes; .ci/run runs it (stage "tools").
#
#   tests/scripts/test_fuzz_sh.sh [--keep]    --keep: leave the scratch tree
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
keep=0
[ "${1:-}" = --keep ] && keep=1
tmp=$(mktemp -d)
[ "$keep" = 1 ] && echo "scratch tree: $tmp/tree"
trap '[ "$keep" = 1 ] || rm -rf "$tmp"' EXIT
tree=$tmp/tree
mkdir -p "$tree"
(cd "$root" && tar -cf - --exclude=./build --exclude=./.git .) | tar -xf - -C "$tree"
fuzz=$tree/scripts/fuzz.sh

failures=0
expect() { # expect DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
has() { grep -q -F -- "$2" "$1"; }
# run NAME ARGS...: fuzz.sh ARGS with stdout+stderr in $tmp/NAME.out, status in $tmp/NAME.rc
run() {
	local name=$1 rc=0
	shift
	"$fuzz" "$@" >"$tmp/$name.out" 2>&1 || rc=$?
	echo "$rc" >"$tmp/$name.rc"
	sed "s/^/  [$name] /" "$tmp/$name.out"
}
status() { cat "$tmp/$1.rc"; }
# make_patch NAME FILE SED_SCRIPT: a patch of the tree's FILE, in $tmp/NAME.patch
make_patch() {
	mkdir -p "$tmp/p/a/$(dirname "$2")" "$tmp/p/b/$(dirname "$2")"
	cp "$tree/$2" "$tmp/p/a/$2"
	sed "$3" "$tree/$2" >"$tmp/p/b/$2"
	(cd "$tmp/p" && diff -u "a/$2" "b/$2") >"$tmp/$1.patch"
	rm -rf "$tmp/p"
}

# ---- options: checked before anything is built ---------------------------------
bad_option() { # bad_option MESSAGE ARGS...
	local msg=$1
	shift
	run bad "$@"
	expect "fuzz.sh $* exits 2" test "$(status bad)" = 2
	expect "fuzz.sh $* says: $msg" has "$tmp/bad.out" "$msg"
	expect "fuzz.sh $* prints one line" test "$(wc -l <"$tmp/bad.out")" -eq 1
}
bad_option "--time takes a whole number, not 'abc'" --time abc
bad_option "--time needs a value" --time
bad_option "--time needs a value" --time --jobs 2
bad_option "--time must be at least 1, not '0'" --time 0
bad_option "--jobs takes a whole number, not 'x'" --jobs x
bad_option "--timeout takes a whole number, not '1.5'" --timeout 1.5
bad_option "--rss-limit-mb needs a value" --rss-limit-mb
bad_option "--seed takes a whole number, not '-1'" --seed -1
# every fuzz/fuzz_*.c is a target: the list grows with them
targets=""
for f in "$root"/fuzz/fuzz_*.c; do
	f=${f##*/}
	targets+="${targets:+ }${f%.c}"
done
bad_option "unknown target 'queue'; the targets are: $targets" --target queue
bad_option "--engine must be libfuzzer or afl, not 'honggfuzz'" --engine honggfuzz
bad_option "unknown option '--frobnicate'" --frobnicate
bad_option "--patch: no file 'nothing.patch'" --patch nothing.patch
bad_option "--merge merges into corpus/: not with --patch" --merge --patch "$tree/fuzz/known-bugs/region-split.patch"
expect "bad options built nothing" test ! -e "$tree/build"

run help --help
expect "--help exits 0" test "$(status help)" = 0
for opt in $(grep -oE '^	(--[a-z-]+|-h\|--help)\)' "$fuzz" | tr -d '\t)' | tr '|' ' '); do
	expect "--help lists $opt" grep -q -E -- "(^| )$opt( |,|$)" "$tmp/help.out"
done

# ---- a crash the checked-in corpus triggers while it is loaded ---------------------
run load --target fuzz_queue --time 30 --patch "$tree/fuzz/known-bugs/avail-idx-ahead.patch" \
	--minimize-time 10 --summary "$tmp/summary.md"
expect "corpus-load crash: exit 1" test "$(status load)" = 1
expect "... a FAILED line for the target" has "$tmp/load.out" "FAILED fuzz_queue: "
expect "... the oracle's message as the reason" has "$tmp/load.out" "crash: oracle failed at "
expect "... with error names for errors only" has "$tmp/load.out" "pop: library 1, model -4 (VIRTQ_EBADIDX)"
expect "... the corpus input that triggers it" has "$tmp/load.out" \
	"found by:  an input already in the corpus: corpus/fuzz_queue/seed-bad_avail_idx_ahead"
expect "... the operation that failed" grep -q -E 'failed in: operation [0-9]+$' "$tmp/load.out"
expect "... a minimised artifact" grep -q -E 'minimised: .*/minimized/crash-[0-9a-f]+ \([0-9]+ -> [0-9]+ bytes\)$' "$tmp/load.out"
expect "... that loading stopped the run" has "$tmp/load.out" "(stopped while loading the corpus)"
artifact=$(sed -n 's/^    artifact:  //p' "$tmp/load.out" | head -1)
expect "... the artifact exists" test -s "$artifact"
repro=$(sed -n 's/^    reproduce: //p' "$tmp/load.out" | head -1)
# shellcheck disable=SC2086 # the command as printed, split into words
expect "... the reproduce command fails again" bash -c "! $repro >$tmp/repro.out 2>&1"
expect "... ... with the same message" has "$tmp/repro.out" "pop: library 1, model -4 (VIRTQ_EBADIDX)"
inspect=$(sed -n 's/^    inspect:   //p' "$tmp/load.out" | head -1)
(cd "$tree" && bash -c "$inspect") >"$tmp/inspect.out" 2>&1
expect "... the inspect command marks the failed operation" grep -q -E '^# ---- op [0-9]+ failed: ----$' "$tmp/inspect.out"
expect "... the report is kept beside the run" test -s "$(dirname "$(dirname "$artifact")")/report.txt"
expect "... the Markdown summary has the table" has "$tmp/summary.md" "| target | exec/s | new units | coverage | features |"
expect "... and the report" has "$tmp/summary.md" "FAILED fuzz_queue: "
expect "... and the verdict" has "$tmp/summary.md" "**FAILED: fuzz_queue**"

# ---- a crash found by mutation, from an empty corpus ------------------------------
run mutation --target fuzz_queue --time 60 --no-seeds --seed 1 --minimize-time 10 \
	--patch "$tree/fuzz/known-bugs/region-split.patch"
expect "mutation crash: exit 1" test "$(status mutation)" = 1
expect "... reported" has "$tmp/mutation.out" "FAILED fuzz_queue: "
expect "... as found by mutation" has "$tmp/mutation.out" "found by:  a mutation (no input of the corpus has these bytes)"
expect "... with reproduce and inspect commands" bash -c "grep -q '    reproduce: ' '$tmp/mutation.out' && grep -q '    inspect:   scripts/scenario print' '$tmp/mutation.out'"
expect "nothing lost: the first run's artifact is still there" test -s "$artifact"
expect "nothing lost: both runs have their own directory" \
	test "$(find "$tree/build/fuzz-out/fuzz_queue" -maxdepth 1 -name 'run-*' | wc -l)" -eq 2

# ---- --merge: what earlier runs found goes into corpus/, without fuzzing ------------
before=$(find "$tree/corpus/fuzz_queue" -maxdepth 1 -type f | wc -l)
runs_with_units=$(find "$tree/build/fuzz-out/fuzz_queue" -mindepth 2 -maxdepth 2 -name new -type d \
	! -empty | wc -l)
expect "the mutation run kept new units" test "$runs_with_units" -ge 1
start=$SECONDS
run merge --merge --target fuzz_queue
after=$(find "$tree/corpus/fuzz_queue" -maxdepth 1 -type f | wc -l)
expect "--merge exits 0" test "$(status merge)" = 0
expect "--merge says what it merged from how many runs" \
	grep -q -E "fuzz_queue: merged $((after - before)) units into corpus/fuzz_queue from $runs_with_units earlier run\(s\)" "$tmp/merge.out"
expect "--merge does not fuzz (no new run)" \
	test "$(find "$tree/build/fuzz-out/fuzz_queue" -maxdepth 1 -name 'run-*' | wc -l)" -eq 2
expect "--merge takes seconds, not a fuzzing session" test $((SECONDS - start)) -lt 120

# ---- --jobs 2 -----------------------------------------------------------------------
run jobs --target fuzz_state --time 10 --jobs 2
expect "--jobs 2 without a failure: exit 0" test "$(status jobs)" = 0
expect "... exec/s, coverage and features like one job" \
	grep -q -E '^fuzz_state +exec/s [0-9]+ +new units [0-9]+ +coverage [0-9]+ +features [0-9]+' "$tmp/jobs.out"
expect "... a verdict" has "$tmp/jobs.out" "no failure in fuzz_state"
run jobs_crash --target fuzz_queue --time 15 --jobs 2 --minimize-time 3 \
	--patch "$tree/fuzz/known-bugs/avail-idx-ahead.patch"
expect "--jobs 2 with a crash: exit 1" test "$(status jobs_crash)" = 1
expect "... the crash reported" has "$tmp/jobs_crash.out" "crash: oracle failed at "

# ---- timeouts, OOMs, leaks, a fuzzer that dies without an artifact -------------------
run hang --target fuzz_queue --time 20 --timeout 1 --minimize-time 0 \
	--patch "$tree/fuzz/known-bugs/chain-length-bound.patch"
expect "timeout: exit 1" test "$(status hang)" = 1
expect "... reported as a timeout" has "$tmp/hang.out" "timeout: ALARM: working on the last Unit for 1 seconds"
run oom --target fuzz_chain --time 10 --rss-limit-mb 20 --minimize-time 0
expect "OOM: exit 1" test "$(status oom)" = 1
expect "... reported as out of memory" grep -q -E 'oom: libFuzzer: out-of-memory \(used: [0-9]+Mb; limit: 20Mb\)' "$tmp/oom.out"
make_patch leak fuzz/fuzz_chain.c 's|^	static struct scenario s;|	static struct scenario s;\n	volatile char *leaked = malloc(64);\n	leaked[0] = 1;|'
run leak --target fuzz_chain --time 10 --minimize-time 0 --patch "$tmp/leak.patch"
expect "leak: exit 1" test "$(status leak)" = 1
expect "... reported as a leak" grep -q -E 'leak: SUMMARY: AddressSanitizer: 64 byte\(s\) leaked' "$tmp/leak.out"
make_patch nostart fuzz/fuzz_state.c 's|^int LLVMFuzzerTestOneInput(const uint8_t \*data, size_t size);|&\nint LLVMFuzzerInitialize(int *argc, char ***argv);\nint LLVMFuzzerInitialize(int *argc, char ***argv) { (void)argc; (void)argv; fprintf(stderr, "cannot start\\n"); exit(3); }|'
run nostart --target fuzz_state --time 10 --patch "$tmp/nostart.patch"
expect "a fuzzer dying at start: exit 1" test "$(status nostart)" = 1
expect "... reported with its status" has "$tmp/nostart.out" "FAILED fuzz_state: libFuzzer exited with status 3 and left no artifact"
expect "... and its last words" has "$tmp/nostart.out" "cannot start"

# ---- AFL++ ---------------------------------------------------------------------------
run afl --engine afl --target fuzz_vsock --time 10
expect "AFL++ run: exit 0" test "$(status afl)" = 0
expect "... prints stability" grep -q -E '^fuzz_vsock +exec/s [0-9.]+ +corpus [0-9]+ +stability [0-9.]+%' "$tmp/afl.out"

[ "$failures" -eq 0 ] || { echo "$failures check(s) of scripts/fuzz.sh failed" >&2; exit 1; }
echo "scripts/fuzz.sh: all failure paths reported"

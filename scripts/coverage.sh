#!/usr/bin/env bash
# Coverage of the library (src/, its internal headers and include/virtq/'s
# inline code) with clang source-based coverage: builds in build/coverage,
# runs the corpus replays (default) or the unit tests, prints a per-file
# table (regions, functions, lines, branches), writes an HTML report and
# lists the functions never run -- the input for deciding which fuzz targets
# or seeds to add (docs/fuzzing.md lesson 6).
#
#   scripts/coverage.sh                 replay corpus/<target>/ through every target
#   scripts/coverage.sh --tests         run the unit tests (ctest) instead
#   scripts/coverage.sh --all           both
#   scripts/coverage.sh --misses        also list every line never run (file:line: text)
#   scripts/coverage.sh --min-regions P --min-branches P
#                                       exit 1 if the total is below P percent
# Exit 0 on success, 1 below a floor, 2 on a usage error.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() { sed -n '9,16p' "$0" >&2; exit 2; }
percent() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "error: $2 wants a percentage, got '$1'" >&2; usage; }; }
mode=corpus misses=0 min_regions="" min_branches=""
while [ $# -gt 0 ]; do
	case "$1" in
	--tests) mode=tests ;;
	--all) mode=all ;;
	--misses) misses=1 ;;
	--min-regions) [ $# -ge 2 ] || usage; percent "$2" "$1"; min_regions=$2; shift ;;
	--min-branches) [ $# -ge 2 ] || usage; percent "$2" "$1"; min_branches=$2; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "error: unknown option '$1'" >&2; usage ;;
	esac
	shift
done

ensure_packages "${VIRTQ_BUILD_PACKAGES[@]}" llvm
dir="$VIRTQ_ROOT/build/coverage"
profiles="$dir/profiles"
say "building with coverage instrumentation in $dir"
cmake -S "$VIRTQ_ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DVIRTQ_COVERAGE=ON \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$dir" -j "$(nproc_or_2)" >"$dir/build.log" 2>&1 || { tail -20 "$dir/build.log"; die "build failed"; }
rm -rf "$profiles" && mkdir -p "$profiles"
export LLVM_PROFILE_FILE="$profiles/%p-%m.profraw"

objects=()
if [ "$mode" != tests ]; then
	for replay in "$dir"/fuzz/fuzz_*_replay; do
		t=$(basename "$replay" _replay)
		say "replaying corpus/$t"
		"$replay" "$VIRTQ_ROOT/corpus/$t" "$VIRTQ_ROOT/corpus/$t/regressions" \
			>"$dir/replay-$t.log" 2>&1 || {
			tail -5 "$dir/replay-$t.log" >&2
			die "the replay of corpus/$t failed (log: $dir/replay-$t.log); see it with scripts/fuzz.sh --target $t --time 1"
		}
		objects+=("$replay")
	done
fi
if [ "$mode" != corpus ]; then
	say "running the unit tests"
	(cd "$dir" && ctest -L unit -j "$(nproc_or_2)" >/dev/null)
	while IFS= read -r t; do objects+=("$t"); done < <(find "$dir/tests" -maxdepth 1 -name 'test_*' -type f -perm -u+x)
	objects+=("$dir/libvirtq.so")
fi

llvm-profdata merge -sparse "$profiles"/*.profraw -o "$dir/merged.profdata"
cov_args=(-instr-profile="$dir/merged.profdata" "${objects[0]}")
for o in "${objects[@]:1}"; do cov_args+=(-object "$o"); done
sources=("$VIRTQ_ROOT"/src/*.c "$VIRTQ_ROOT"/src/*.h "$VIRTQ_ROOT"/include/virtq/*.h)

echo
say "coverage of src/ ($mode)"
llvm-cov report "${cov_args[@]}" "${sources[@]}" 2>/dev/null | sed "s|$VIRTQ_ROOT/||" |
	grep -v -E '^(Files which contain no functions:|\S+\s+0\s+0\s+-\s+0\s+0\s+-)' | tee "$dir/report.txt"
llvm-cov show -format=html -output-dir="$dir/html" "${cov_args[@]}" "${sources[@]}" >/dev/null
echo
say "functions never run"
# A header's static inline function has one copy per translation unit
# ("fuzz_queue.c:name"): it was never run only if no copy ran.
llvm-cov report -show-functions "${cov_args[@]}" "${sources[@]}" 2>/dev/null |
	awk '/^File /{ header = $2 ~ /\.h.:$/; next }
		$1 !~ /^(Name|-|TOTAL)/ && NF > 3 {
			name = $1; if (header) sub(/^[^:]*:/, "", name)
			if (!(name in ran)) { ran[name] = 0; order[++n] = name }
			if ($2 != $3) ran[name] = 1
		}
		END { for (i = 1; i <= n; i++) if (!ran[order[i]]) print "  " order[i] }' || true
echo
say "HTML report: $dir/html/index.html"

if [ "$misses" = 1 ]; then
	echo
	say "lines never run"
	llvm-cov show -show-line-counts "${cov_args[@]}" "${sources[@]}" 2>/dev/null |
		awk -v root="$VIRTQ_ROOT/" '
			/^\/.*:$/ { file = substr($0, 1, length($0) - 1); sub(root, "", file); next }
			{ n = split($0, f, "|") }
			n >= 3 && f[2] ~ /^ *0$/ { line = f[1]; gsub(/ /, "", line); text = $0; sub(/^[^|]*\|[^|]*\|/, "", text); print "  " file ":" line ":" text }'
fi

# The floors: TOTAL's region and branch percentages (columns 4 and 13).
read -r regions branches < <(awk '$1 == "TOTAL" { gsub("%", ""); print $4, $13 }' "$dir/report.txt")
below=0
floor() { # floor NAME ACTUAL MIN
	[ -n "$3" ] || return 0
	if awk -v a="$2" -v m="$3" 'BEGIN { exit !(a < m) }'; then
		echo "coverage below the floor: $1 $2% < $3%" >&2
		below=1
	else
		echo "coverage floor met: $1 $2% >= $3%"
	fi
}
floor regions "$regions" "$min_regions"
floor branches "$branches" "$min_branches"
exit "$below"

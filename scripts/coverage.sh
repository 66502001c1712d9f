#!/usr/bin/env bash
# Coverage of the library (src/) with clang source-based coverage: builds in
# build/coverage, runs the corpus replays (default) or the unit tests, prints a
# per-file table (regions, missed, cover, functions, lines), writes an HTML
# report and lists the functions never run -- the input for deciding which
# fuzz targets or seeds to add (docs/fuzzing.md lesson 6).
#
#   scripts/coverage.sh            replay corpus/<target>/ through every target
#   scripts/coverage.sh --tests    run the unit tests (ctest) instead
#   scripts/coverage.sh --all      both
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

mode=corpus
case "${1:-}" in
"") ;;
--tests) mode=tests ;;
--all) mode=all ;;
-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
*) die "usage: $0 [--tests|--all]" ;;
esac

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
		"$replay" "$VIRTQ_ROOT/corpus/$t" "$VIRTQ_ROOT/corpus/$t/regressions" >/dev/null
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
sources=("$VIRTQ_ROOT"/src/*.c)

echo
say "coverage of src/ ($mode)"
llvm-cov report "${cov_args[@]}" "${sources[@]}" | sed "s|$VIRTQ_ROOT/||"
llvm-cov show -format=html -output-dir="$dir/html" "${cov_args[@]}" "${sources[@]}" >/dev/null
echo
say "functions never run"
llvm-cov report -show-functions "${cov_args[@]}" "${sources[@]}" |
	awk '/^File /{file=$2} $1 !~ /^(Name|-|File|TOTAL)/ && NF > 3 && $2 == $3 {print "  " $1}' |
	sed "s|$VIRTQ_ROOT/||" || true
echo
say "HTML report: $dir/html/index.html"

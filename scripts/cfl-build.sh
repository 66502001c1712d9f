#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh locally, without Docker, with the variables
# ClusterFuzzLite would set, so it cannot rot (.ci/run calls this).
#   scripts/cfl-build.sh [libfuzzer|afl]     -> build/cfl-<engine>/out
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
engine=${1:-libfuzzer}
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
case "$engine" in
libfuzzer)
	ensure_packages clang libclang-rt-dev cmake make zip
	export CC=clang CXX=clang++ LIB_FUZZING_ENGINE=-fsanitize=fuzzer
	export CFLAGS="-O1 -g $sanitize -fsanitize=fuzzer-no-link"
	;;
afl)
	ensure_packages afl++ clang libclang-rt-dev cmake make zip
	export CC=afl-clang-fast CXX=afl-clang-fast++ LIB_FUZZING_ENGINE=/usr/lib/afl/libAFLDriver.a
	export CFLAGS="-O1 -g $sanitize" AFL_QUIET=1
	;;
*) die "engine must be libfuzzer or afl" ;;
esac
export CXXFLAGS="$CFLAGS"
base="$VIRTQ_ROOT/build/cfl-$engine"
export OUT="$base/out" WORK="$base/work" SRC="$base" VIRTQ_SRC="$VIRTQ_ROOT"
mkdir -p "$OUT" "$WORK"
bash "$VIRTQ_ROOT/.clusterfuzzlite/build.sh" >"$base/build.log" 2>&1 ||
	{ tail -30 "$base/build.log"; die "build.sh failed ($engine), log: $base/build.log"; }
for source in "$VIRTQ_ROOT"/fuzz/fuzz_*.c; do
	bin="$OUT/$(basename "$source" .c)"
	[ -x "$bin" ] || die "build.sh produced no executable $bin"
done
say "built $(find "$OUT" -maxdepth 1 -name 'fuzz_*' -type f -perm -u+x | wc -l) targets for $engine in $OUT"

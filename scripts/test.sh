#!/usr/bin/env bash
# Builds virtq with warnings as errors and ASan+UBSan, and runs ctest:
# with gcc and with clang by default. Installs missing Debian packages when
# run as root, else says what to install.
#
#   scripts/test.sh                  both compilers, sanitizers
#   scripts/test.sh --compiler clang one compiler
#   scripts/test.sh --release        also a Release build without sanitizers
#   scripts/test.sh --tsan           only a clang ThreadSanitizer build (build/clang-tsan)
#   scripts/test.sh -- -R pop        extra arguments for ctest (replacing the
#                                    default -LE e2e: the QEMU test is scripts/e2e.sh)
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

compilers=(gcc clang)
release=0
tsan=0
ctest_args=(-LE e2e)
while [ $# -gt 0 ]; do
	case "$1" in
	--compiler) compilers=("$2"); shift 2 ;;
	--release) release=1; shift ;;
	--tsan) tsan=1; shift ;;
	--) shift; ctest_args=("$@"); break ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

ensure_packages "${VIRTQ_BUILD_PACKAGES[@]}"

# build_and_test NAME CC CMAKE_ARGS...
build_and_test() {
	local name=$1 cc=$2 dir="$VIRTQ_ROOT/build/$1"
	shift 2
	say "$name: configure"
	# VIRTQ_BENCH: the benchmarks build and run once (ctest label bench), so they cannot rot.
	cmake -S "$VIRTQ_ROOT" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DVIRTQ_BENCH=ON "$@" >/dev/null
	say "$name: build"
	cmake --build "$dir" -j "$(nproc_or_2)" -- --no-print-directory >/dev/null ||
		cmake --build "$dir" -j 1 # rerun serially so the first error is readable
	say "$name: ctest"
	(cd "$dir" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1 \
		ctest --output-on-failure -j "$(nproc_or_2)" "${ctest_args[@]}")
}

if [ "$tsan" = 1 ]; then
	# ThreadSanitizer excludes ASan, and gcc's TSan ignores atomic fences: clang only.
	build_and_test clang-tsan clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIRTQ_TSAN=ON
	say "all tests passed (clang, ThreadSanitizer)"
	exit 0
fi

for cc in "${compilers[@]}"; do
	build_and_test "$cc-sanitize" "$cc" -DCMAKE_BUILD_TYPE=Debug -DVIRTQ_SANITIZE=ON
	if [ "$release" = 1 ]; then
		build_and_test "$cc-release" "$cc" -DCMAKE_BUILD_TYPE=Release
	fi
done
say "all tests passed (${compilers[*]})"

#!/usr/bin/env bash
# ctest consumer_checks_fail: the consumer test's checks can fail. run.sh
# must fail on a README whose add_subdirectory snippet links the shared
# library where the static one is expected, or puts warning flags on the
# VMM's code, and on a README without the snippet.
# Usage: selftest.sh BUILD_DIR SOURCE_DIR C_COMPILER
set -euo pipefail
build=$1 src=$2 cc=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# expect_failure MESSAGE README: run.sh add_subdirectory fails, saying MESSAGE.
expect_failure() {
	if VIRTQ_README=$2 bash "$here/run.sh" add_subdirectory "$build" "$src" "$cc" "" \
		>"$work/out" 2>&1; then
		echo "run.sh passed with $2" >&2
		exit 1
	fi
	grep -q -- "$1" "$work/out" || { cat "$work/out"; echo "expected: $1" >&2; exit 1; }
}

sed 's/my_vmm PRIVATE virtq::virtq_static)/my_vmm PRIVATE virtq::virtq)/' "$src/README.md" \
	>"$work/shared.md"
! cmp -s "$src/README.md" "$work/shared.md" || { echo "sed changed nothing" >&2; exit 1; }
expect_failure "my_vmm links libvirtq.so" "$work/shared.md"

sed 's|^add_subdirectory(third_party/virtq)$|&\ntarget_compile_options(my_vmm PRIVATE -Wall)|' \
	"$src/README.md" >"$work/flags.md"
expect_failure "warning flags on the parent's code" "$work/flags.md"

sed 's/<!-- snippet:add_subdirectory -->//' "$src/README.md" >"$work/none.md"
expect_failure "no snippet 'add_subdirectory'" "$work/none.md"
echo "consumer checks fail when they must: ok"

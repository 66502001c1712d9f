#!/usr/bin/env bash
# The ABI of libvirtq.so against the reviewed dump abi/libvirtq.abi
# (abidw/abidiff from Debian's abigail-tools): its exported functions and every
# type they reach, which are the types of include/virtq.
# Any difference fails: callers embed virtq's structs, so a layout change is a
# break even where abidiff calls it compatible, and an addition that is not
# in the dump would go unchecked from then on.
#
#   scripts/check-abi.sh            build (build/abi), compare with the dump, then
#                                   check that a deliberate break is caught
#   scripts/check-abi.sh --update   rewrite abi/libvirtq.abi from the current
#                                   code, for an intended change (see docs/abi.md)
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

update=0
case "${1:-}" in
"") ;;
--update) update=1 ;;
-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
*) die "unknown option $1 (see --help)" ;;
esac

ensure_packages "${VIRTQ_BUILD_PACKAGES[@]}" abigail-tools
dump="$VIRTQ_ROOT/abi/libvirtq.abi"
dir="$VIRTQ_ROOT/build/abi"

# write_dump LIBRARY OUT: the ABI of LIBRARY, without paths, line numbers or
# sequence numbers, so that the dump changes only with the ABI.
write_dump() {
	abidw --no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash \
		--out-file "$2" "$1"
}

# compare LIBRARY: abidiff's report of LIBRARY against the dump; its status.
compare() {
	abidiff "$dump" "$1"
}

say "build the libraries in build/abi"
build_libraries "$dir"
lib="$dir/libvirtq.so"

if [ "$update" = 1 ]; then
	mkdir -p "$(dirname "$dump")"
	write_dump "$lib" "$dump"
	say "wrote abi/libvirtq.abi: review 'git diff abi/', bump VIRTQ_SOVERSION if it is a break, commit"
	exit 0
fi

[ -f "$dump" ] || die "no abi/libvirtq.abi: create it with scripts/check-abi.sh --update"
say "compare libvirtq.so with abi/libvirtq.abi"
if ! compare "$lib"; then
	die "the ABI differs from abi/libvirtq.abi (report above). If intended: scripts/check-abi.sh --update, and see docs/abi.md"
fi

# The update path's output must describe this very library.
write_dump "$lib" "$dir/current.abi"
abidiff "$dir/current.abi" "$lib" >/dev/null || die "a fresh dump differs from its own library"

# Self-test: the same library with one field more in struct virtq_mem (a
# caller-embedded struct) must not pass.
say "self-test: a changed struct layout must fail"
copy="$dir/selftest-src"
rm -rf "$copy"
mkdir -p "$copy"
(cd "$VIRTQ_ROOT" && tar --exclude=./build --exclude=./corpus --exclude=./.git -cf - .) |
	tar -xf - -C "$copy"
sed -i 's|^\tuint32_t capacity; |\tuint32_t capacity;\n\tuint32_t selftest_field;|' "$copy/include/virtq/mem.h"
grep -q selftest_field "$copy/include/virtq/mem.h" || die "self-test: could not change mem.h"
build_libraries "$dir/selftest-build" "$copy"
if compare "$dir/selftest-build/libvirtq.so" >"$dir/selftest.txt"; then
	die "self-test: abidiff saw no change in struct virtq_mem"
fi
grep -q selftest_field "$dir/selftest.txt" || die "self-test: unexpected report: $(cat "$dir/selftest.txt")"
say "ABI check ok"

#!/usr/bin/env bash
# Every global symbol that virtq's libraries define starts with virtq_, so a
# VMM linking them meets no clash: names outside the prefix fail, with the
# library and symbol named. Names starting with two underscores are the
# compiler's (sanitizer and coverage instrumentation) and are not ours.
#
#   scripts/check-symbols.sh            build the libraries (build/symbols) and check
#                                       libvirtq.so, libvirtq.a and both mock archives
#   scripts/check-symbols.sh FILE...    check these libraries or objects
#
# Without arguments it then checks itself: an object defining a global
# outside the prefix must fail.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_packages binutils

# foreign_symbols FILE: the global symbols FILE defines outside the namespace.
foreign_symbols() {
	local dynamic=()
	[[ "$1" == *.so* ]] && dynamic=(-D)
	nm -g --defined-only "${dynamic[@]}" "$1" |
		awk 'NF >= 3 && $3 !~ /^virtq_/ && $3 !~ /^__/ { print $3 }' | sort -u
}

# check FILE...: 0 if every file is clean, else 1 after listing the culprits.
check() {
	local f bad status=0
	for f in "$@"; do
		[ -f "$f" ] || die "$f: no such library"
		bad=$(foreign_symbols "$f")
		if [ -n "$bad" ]; then
			printf '%s: global symbols without the virtq_ prefix:\n%s\n' "$f" "$bad" >&2
			status=1
		fi
	done
	return "$status"
}

if [ $# -gt 0 ]; then
	check "$@"
	exit
fi

ensure_packages "${VIRTQ_BUILD_PACKAGES[@]}"
dir="$VIRTQ_ROOT/build/symbols"
say "build the libraries in build/symbols"
build_libraries "$dir"
libs=("$dir/libvirtq.so" "$dir/libvirtq.a" "$dir/libvirtq_mock.a" "$dir/libvirtq_mock_static.a")
check "${libs[@]}" || die "symbols outside the virtq_ namespace (rename them, or make them static)"
say "every global symbol of ${#libs[@]} libraries starts with virtq_"

say "self-test: a global outside the namespace must fail"
printf 'int map_rings(void);\nint map_rings(void) { return 0; }\n' >"$dir/selftest.c"
gcc -c -o "$dir/selftest.o" "$dir/selftest.c"
if check "$dir/selftest.o" 2>"$dir/selftest.err"; then
	die "self-test: map_rings was not reported"
fi
grep -qx map_rings "$dir/selftest.err" || die "self-test: wrong report: $(cat "$dir/selftest.err")"
say "symbol check ok"

#!/usr/bin/env bash
# ctest install_smoke: install the build tree into a scratch prefix, then build
# and run a consumer through find_package(virtq) and through pkg-config.
# Usage: run.sh BUILD_DIR SOURCE_DIR C_COMPILER "C_FLAGS"
set -euo pipefail
build=$1 src=$2 cc=$3 flags=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/install" -B "$work/consumer" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$flags" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib:$work/prefix/lib64:${LD_LIBRARY_PATH:-}" "$work/consumer/consumer"
"$work/consumer/consumer_static"
libdir=$(find "$work/prefix" -name virtq.pc -printf '%h\n' | head -1)
# shellcheck disable=SC2046,SC2086 # pkg-config output and flags are word lists
"$cc" $flags -DNO_MOCK "$src/tests/install/consumer.c" -o "$work/pc" \
	$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs virtq)
LD_LIBRARY_PATH="$work/prefix/lib:$work/prefix/lib64:${LD_LIBRARY_PATH:-}" "$work/pc"

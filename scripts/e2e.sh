#!/usr/bin/env bash
# End-to-end test: builds examples/vhost-user-vsock (gcc, -O2 with ASan+UBSan
# by default) and runs ctest -L e2e: a Debian kernel under QEMU (KVM if
# usable, TCG otherwise) drives the device through Linux's virtio-vsock
# driver. Installs the Debian packages it misses when run as root (qemu,
# kernel, busybox-static: tests/e2e/run.sh asks for those). Takes a few
# minutes under TCG; prints the throughput of 64 KiB writes each way.
#
#   scripts/e2e.sh                   gcc, sanitizers
#   scripts/e2e.sh --compiler clang
#   scripts/e2e.sh --no-sanitize     an optimized build without sanitizers
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

cc=gcc
sanitize=ON
while [ $# -gt 0 ]; do
	case "$1" in
	--compiler) cc=$2; shift 2 ;;
	--no-sanitize) sanitize=OFF; shift ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

ensure_packages "${VIRTQ_BUILD_PACKAGES[@]}"
dir=$VIRTQ_ROOT/build/e2e-$cc-$([ "$sanitize" = ON ] && echo sanitize || echo release)
say "e2e: configure ($cc, sanitizers $sanitize)"
cmake -S "$VIRTQ_ROOT" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DVIRTQ_SANITIZE="$sanitize" -DVIRTQ_BUILD_TESTS=OFF >/dev/null
say "e2e: build"
cmake --build "$dir" -j "$(nproc_or_2)" --target virtq-vsock-vhost-user e2e_vsock_tool \
	-- --no-print-directory >/dev/null ||
	cmake --build "$dir" -j 1 --target virtq-vsock-vhost-user e2e_vsock_tool
say "e2e: ctest -L e2e"
(cd "$dir" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest -L e2e --output-on-failure -V)

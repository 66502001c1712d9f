#!/usr/bin/env bash
# End-to-end test: builds an example device (gcc, -O2 with ASan+UBSan by
# default) and runs its ctest e2e test: a Debian kernel under QEMU (KVM if
# usable, TCG otherwise) drives the device through Linux's own driver.
# Installs the Debian packages it misses when run as root (qemu, kernel,
# busybox-static; for blk the kernel headers: tests/e2e/run*.sh ask for
# those). Takes a few minutes under TCG; prints the throughput.
#
#   scripts/e2e.sh                   vsock (tests/e2e/run.sh), gcc, sanitizers
#   scripts/e2e.sh --device blk      blk (tests/e2e/run_blk.sh, then the live
#                                    migration, tests/e2e/run_blk_migrate.sh)
#   scripts/e2e.sh --packed          the same with packed rings (QEMU's
#                                    packed=on; the *_packed ctest entries):
#                                    fails unless the back-end's log says the
#                                    ring was packed
#   scripts/e2e.sh --compiler clang
#   scripts/e2e.sh --no-sanitize     an optimized build without sanitizers
#   scripts/e2e.sh --list            prints the build directory and the ctest
#                                    entries the other options select; runs
#                                    nothing
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

cc=gcc
sanitize=ON
device=vsock
layout="split"
list=no
while [ $# -gt 0 ]; do
	case "$1" in
	--compiler) cc=$2; shift 2 ;;
	--device) device=${2:-}; shift 2 || shift ;;
	--packed) layout=packed; shift ;;
	--no-sanitize) sanitize=OFF; shift ;;
	--list) list=yes; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

case "$device" in
vsock) targets=(virtq-vsock-vhost-user e2e_vsock_tool) ;;
blk) targets=(virtq-blk-vhost-user e2e_blk_tool e2e_kill_in_syscall) ;;
*) die "unknown device '$device' (vsock, blk)" ;;
esac

# e2e_vhost_user_DEVICE[_migrate], with packed rings their _packed twins
suffix=""
[ "$layout" = split ] || suffix=_packed
tests="^e2e_vhost_user_$device(_migrate)?$suffix\$"
dir=$VIRTQ_ROOT/build/e2e-$cc-$([ "$sanitize" = ON ] && echo sanitize || echo release)
if [ "$list" = yes ]; then
	echo "build: $dir"
	echo "ctest: -L e2e -R '$tests'"
	exit 0
fi
ensure_packages "${VIRTQ_BUILD_PACKAGES[@]}"
say "e2e: configure ($cc, sanitizers $sanitize)"
cmake -S "$VIRTQ_ROOT" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DVIRTQ_SANITIZE="$sanitize" -DVIRTQ_BUILD_TESTS=OFF >/dev/null
say "e2e: build"
cmake --build "$dir" -j "$(nproc_or_2)" --target "${targets[@]}" \
	-- --no-print-directory >/dev/null ||
	cmake --build "$dir" -j 1 --target "${targets[@]}"
say "e2e: ctest -L e2e -R '$tests'"
(cd "$dir" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest -L e2e -R "$tests" --output-on-failure -V)

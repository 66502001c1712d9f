#!/usr/bin/env bash
# End-to-end live migration of a guest using the vhost-user blk device
# built on virtq (examples/blk), under QEMU, through Linux's virtio_blk.
#
#   tests/e2e/run_blk_migrate.sh [--packed] BACKEND BLK_TOOL WORKDIR
#
# --packed: both QEMUs' devices with packed=on (Linux's virtio_ring drives a
# packed ring; the destination resumes at the packed base the source's
# GET_VRING_BASE gave); by both back-ends' logs every ring Linux's driver
# started must be packed (split without --packed).
# Two back-ends serve the same image; QEMU A (on the first) boots Debian's
# kernel with guest_init_blk_migrate.sh as /init, QEMU B (on the second)
# waits with -incoming on a Unix socket. The guest writes four regions, then
# two processes churn (each round: a region written with a new seed and read
# back whole into one buffer, compared) while A migrates to B (bandwidth
# capped so that the migration spans several rounds); the source back-end
# logs the pages it writes through LOG_ALL. On B the guest verifies every
# block written before and during the migration. Checks: the migration
# completed, churn rounds ran on both sides with no mismatch, every checksum
# matches in the guest and in the image on the host, the source back-end
# logged device writes. Prints the migration time (QEMU's total and
# downtime, and as seen here), the bytes the source back-end logged, and
# QEMU's RAM figures. KVM only if a probe boots a kernel with it, else TCG
# (VIRTQ_E2E_ACCEL=kvm|tcg forces one). Exit 77 (ctest SKIP_RETURN_CODE)
# only if the packages cannot be installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/common.sh
source "$here/../../scripts/lib/common.sh"
# shellcheck source=tests/e2e/qemu.sh
source "$here/qemu.sh"
# shellcheck source=tests/e2e/guest.sh
source "$here/guest.sh"

e2e_ring_layout_arg "${1:-}"
shift "$E2E_SHIFT"
[ $# -eq 3 ] || die "usage: $0 [--packed] BACKEND BLK_TOOL WORKDIR"
backend=$1 tool=$2 work=$3
[ -x "$backend" ] || die "no backend at $backend"
[ -x "$tool" ] || die "no blk_tool at $tool"

if ! (ensure_packages qemu-system-x86 linux-image-amd64 busybox-static cpio kmod xz-utils zstd); then
	echo "SKIP: qemu-system-x86 / linux-image-amd64 could not be installed (run as root on Debian)"
	exit 77
fi

# ---- kernel, modules, initramfs -------------------------------------------------------
e2e_pick_kernel virtio_blk
kver=$E2E_KVER
e2e_guest_root "$work" "$tool" blk_tool "$here/guest_init_blk_migrate.sh" tmp
e2e_modules "$work/root/mod" order virtio_pci
e2e_modules "$work/root/mod" blk_order virtio_blk
e2e_pack_initramfs "$work"

# ---- processes, all bounded, all stopped on exit --------------------------------------
e2e_stop_on_exit

image=$work/disk.img
truncate -s 64M "$image"
start_backend() { # start_backend SOCKET LOG: a back-end on the image, in backend_pid
	rm -f "$1"
	"$backend" --socket "$1" --image "$image" --serial virtq-e2e >"$2" 2>&1 &
	backend_pid=$!
	pids+=("$backend_pid")
	for _ in $(seq 1 50); do [ -S "$1" ] && break; sleep 0.1; done
	[ -S "$1" ] || { cat "$2"; die "backend did not create $1"; }
}
start_backend "$work/src.sock" "$work/backend-src.log"
src_backend=$backend_pid
start_backend "$work/dst.sock" "$work/backend-dst.log"
dst_backend=$backend_pid

e2e_pick_accel "/boot/vmlinuz-$kver" "$work" >"$work/accel" || exit 1
accel=$E2E_ACCEL cpu=$E2E_CPU
churn_s=${VIRTQ_E2E_CHURN_SECONDS:-20}
say "guest kernel $kver, $(cat "$work/accel"), $E2E_LAYOUT rings, churn $churn_s s"
# start_qemu NAME SOCKET [ARGS...]: a VM on the back-end at SOCKET, its
# serial console in NAME.console, its monitor on the pipes NAME.mon.in/out
# (written through fd 8 or 9), its pid in qemu_pid
start_qemu() {
	local name=$1 sock=$2
	shift 2
	mkfifo "$work/$name.mon.in" "$work/$name.mon.out"
	cat "$work/$name.mon.out" >"$work/$name.monitor.log" &
	pids+=("$!")
	timeout 600 "$E2E_QEMU" -machine q35,accel="$accel" -cpu "$cpu" -smp 2 -m 256 \
		-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
		-chardev socket,id=blk0,path="$sock" \
		-device vhost-user-blk-pci,chardev=blk0,num-queues=1"$E2E_QEMU_RING" \
		-kernel "/boot/vmlinuz-$kver" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 oops=panic e2e_churn=$churn_s" -no-reboot \
		-display none -serial "file:$work/$name.console" -monitor "pipe:$work/$name.mon" \
		-nodefaults "$@" >"$work/$name.console.qemu" 2>&1 &
	qemu_pid=$!
	pids+=("$qemu_pid")
}
start_qemu dst "$work/dst.sock" -incoming "unix:$work/migrate.sock"
dst_qemu=$qemu_pid
exec 9<>"$work/dst.mon.in"
start_qemu src "$work/src.sock"
src_qemu=$qemu_pid
exec 8<>"$work/src.mon.in"
hmp_src() { printf '%s\n' "$*" >&8; }
ms() { date +%s%3N; }

# ---- the migration, during the churn --------------------------------------------------
src_console=$work/src.console dst_console=$work/dst.console
migrated=no t_mig=0 rounds_before=0
if e2e_wait_console "$src_console" "E2E-MIGRATE-READY" 300 "$src_qemu" &&
	e2e_wait_console "$src_console" "E2E-churn[01] churn round=" 120 "$src_qemu" 2; then
	hmp_src "migrate_set_parameter max-bandwidth 32M"
	hmp_src "migrate_set_parameter downtime-limit 3000"
	t0=$(ms)
	hmp_src "migrate -d unix:$work/migrate.sock"
	for _ in $(seq 1 240); do
		sleep 0.5
		hmp_src "info migrate"
		sleep 0.2
		status=$(sed -n 's/^Migration status: *\([a-z-]*\).*/\1/p' "$work/src.monitor.log" | tail -1)
		case "$status" in
		completed) migrated=yes; break ;;
		failed | cancelled) break ;;
		esac
	done
	t_mig=$(($(ms) - t0))
	rounds_before=$(grep -ac 'E2E-churn[01] churn round=.* ok' "$src_console" || true)
	say "migration $status after $t_mig ms, with $rounds_before churn rounds done on the source"
else
	fail=1
fi
e2e_wait_console "$dst_console" "E2E-DONE" 300 "$dst_qemu" || fail=1
for _ in $(seq 1 60); do kill -0 "$dst_qemu" 2>/dev/null || break; sleep 1; done
# the source stays paused after the migration: stop it, so that its
# back-end says what it logged when the connection ends
hmp_src "quit"
for _ in $(seq 1 50); do kill -0 "$src_qemu" 2>/dev/null || break; sleep 0.1; done
for _ in $(seq 1 50); do grep -q 'dirty log:' "$work/backend-src.log" && break; sleep 0.1; done

# ---- assertions ---------------------------------------------------------------------
has() { grep -qa -- "$2" "$1"; }
sum() { grep -a -- "$2" "$1" | grep -o 'sum=[0-9a-f]*' | tail -1 || true; }
check "migration completed" test "$migrated" = yes
check "churn rounds ran on the source before the switch" test "$rounds_before" -ge 2
check "churn rounds ran on the destination after it" \
	test "$(grep -ac 'E2E-churn[01] churn round=.* ok' "$dst_console" || true)" -ge 1
check "no churn round found a mismatch" \
	bash -c "! grep -aq 'churn round=[0-9]* bad' '$src_console' '$dst_console'"
for i in 0 1 2 3; do
	w=$(sum "$src_console" "E2E-pre$i write ") v=$(sum "$dst_console" "E2E-pre$i verify ")
	h=$("$tool" verify "$image" $((i * 8)) 8 $((100 + i)) | grep -o 'sum=[0-9a-f]*' || true)
	check "written before: region $i verified on the destination and on the host" \
		test -n "$w" -a "$w" = "$v" -a "$w" = "$h"
done
for i in 0 1; do
	last=$(sed -n "s/.*E2E-churn$i churn rounds=[0-9]* last_seed=\([0-9]*\) ok.*/\1/p" "$dst_console")
	r=$(sum "$dst_console" "E2E-churn$i churn round=.* seed=${last:-none} ") v=$(sum "$dst_console" "E2E-last$i verify ")
	h=$("$tool" verify "$image" $((32 + i * 8)) 8 "${last:-0}" | grep -o 'sum=[0-9a-f]*' || true)
	check "written during: churn $i's last round (seed ${last:-?}) verified on the destination and on the host" \
		test -n "$last" -a -n "$r" -a "$r" = "$v" -a "$r" = "$h"
done
check "no guest kernel warning or oops" \
	bash -c "! grep -aE 'WARNING:|BUG:|Oops|Call Trace|I/O error' '$src_console' '$dst_console'"
logged=$(sed -n 's/.*dirty log: \([0-9]*\) bytes of device writes logged in \([0-9]*\) requests.*/\1 \2/p' \
	"$work/backend-src.log" | tail -1)
logged=${logged:-0 0}
check "the source back-end logged its writes during the migration" test "${logged%% *}" -gt 0
check "the destination back-end served the guest" has "$work/backend-dst.log" "front-end connected"
for side in src dst; do
	check "$E2E_LAYOUT rings: every ring Linux's driver started ($side)" \
		e2e_ring_layout_is "$work/backend-$side.log" "$E2E_LAYOUT"
done
for p in "$src_backend" "$dst_backend"; do kill -TERM "$p" 2>/dev/null || true; done
wait "$src_backend" "$dst_backend" 2>/dev/null || true
check "backend logs free of sanitizer reports" \
	bash -c "! grep -q -E 'Sanitizer|runtime error' '$work/backend-src.log' '$work/backend-dst.log'"

# ---- figures ------------------------------------------------------------------------
mon() { sed -n "s/^$1: *\([0-9]*\).*/\1/p" "$work/src.monitor.log" | tail -1; }
say "migration ($accel, $E2E_LAYOUT rings, 2 vCPUs, 256 MiB, max-bandwidth 32 MiB/s): $t_mig ms here," \
	"QEMU total $(mon 'total time') ms, downtime $(mon downtime) ms," \
	"transferred $(mon 'transferred ram') KiB, $(mon 'dirty sync count') dirty syncs;" \
	"source back-end logged ${logged%% *} bytes in ${logged##* } requests" \
	"(~$(( ${logged%% *} / 4096 )) pages)"
if [ "$fail" -ne 0 ]; then
	for f in backend-src.log backend-dst.log src.console.qemu dst.console.qemu src.monitor.log; do
		e2e_show_tail "$work/$f" 20
	done
	echo "--- guest consoles" >&2
	grep -a E2E- "$src_console" | tail -30 >&2
	grep -a E2E- "$dst_console" | tail -30 >&2
	exit 1
fi
echo "e2e blk migration: all checks passed"

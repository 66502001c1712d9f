#!/usr/bin/env bash
# End-to-end test of the vhost-user blk device built on virtq
# (examples/blk) under QEMU, through Linux's virtio_blk driver.
#
#   tests/e2e/run_blk.sh [--packed] BACKEND BLK_TOOL KILL_IN_SYSCALL WORKDIR
#
# --packed: QEMU's device with packed=on, so that Linux's virtio_ring drives
# packed rings (virtio 2.8); by the back-end's log every ring Linux's driver
# started must be packed (split without --packed). The same checks, the
# reconnect included: QEMU, unable to read a packed ring's position back
# from a dead back-end, sends the new one the base it last knew, and the
# new back-end resumes from the ring's descriptor journal in the inflight
# region (<virtq/inflight.h>), which also holds the chains in flight.
# Builds blk_bad (a kernel module sending malformed requests) against the
# guest kernel's headers and an initramfs (busybox-static, blk_tool, the
# virtio modules, guest_init_blk.sh as /init), starts the back-end on a
# 96 MiB image with 2 queues, boots Debian's kernel with 2 vCPUs under
# qemu-system-x86 (KVM only if a probe boots a kernel with it, else TCG;
# VIRTQ_E2E_ACCEL=kvm|tcg forces one) and checks:
#   - malformed requests (sector beyond the disk, short header, status in a
#     readable buffer, unknown type) get an error status (or, without a
#     writable status, length 0) and the next request is served;
#   - a pattern written with direct I/O by four processes reads back, and
#     the image on the host holds exactly it (checksums);
#   - reconnect: the back-end is killed (SIGKILL) during such writes and a
#     new one started; QEMU (reconnect=1) comes back with the inflight
#     region, no write fails, every checksum matches;
#   - the back-end stops cleanly on SIGTERM, its log free of sanitizer reports.
# Prints MiB/s of 1 MiB sequential I/O and IOPS of 4 KiB random I/O each
# way, naming the accelerator. Exit 77 (ctest SKIP_RETURN_CODE) only if the
# packages cannot be installed.
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
[ $# -eq 4 ] || die "usage: $0 [--packed] BACKEND BLK_TOOL KILL_IN_SYSCALL WORKDIR"
backend=$1 tool=$2 killer=$3 work=$4
[ -x "$backend" ] || die "no backend at $backend"
[ -x "$tool" ] || die "no blk_tool at $tool"
[ -x "$killer" ] || die "no kill_in_syscall at $killer"

if ! (ensure_packages qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static \
	cpio kmod xz-utils zstd make gcc); then
	echo "SKIP: qemu-system-x86 / linux-image-amd64 / linux-headers-amd64 could not be installed (run as root on Debian)"
	exit 77
fi

# ---- kernel, modules, blk_bad -------------------------------------------------------
e2e_pick_kernel virtio_blk headers
kver=$E2E_KVER
e2e_guest_root "$work" "$tool" blk_tool "$here/guest_init_blk.sh"
cp -r "$here/blk_bad" "$work/kmod"
make -s -C "/lib/modules/$kver/build" M="$work/kmod" modules >"$work/kmod.log" 2>&1 ||
	{ cat "$work/kmod.log"; die "blk_bad did not build against $kver"; }
cp "$work/kmod/blk_bad.ko" "$work/root/mod/"
e2e_modules "$work/root/mod" order virtio_pci
e2e_modules "$work/root/mod" blk_order virtio_blk
e2e_pack_initramfs "$work"

# ---- processes, all bounded, all stopped on exit --------------------------------------
e2e_stop_on_exit

image=$work/disk.img sock=$work/blk.sock
truncate -s 96M "$image"
start_backend() { # start_backend LOG: the back-end on the image, in backend_pid
	rm -f "$sock"
	"$backend" --socket "$sock" --image "$image" --num-queues 2 --serial virtq-e2e >"$1" 2>&1 &
	backend_pid=$!
	pids+=("$backend_pid")
	for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || { cat "$1"; die "backend did not create $sock"; }
}
start_backend "$work/backend.log"

e2e_pick_accel "/boot/vmlinuz-$kver" "$work" >"$work/accel" || exit 1
accel=$E2E_ACCEL cpu=$E2E_CPU
say "guest kernel $kver, $(cat "$work/accel"), $E2E_LAYOUT rings"
console=$work/console.log
t_start=$(date +%s)
timeout 900 "$E2E_QEMU" -machine q35,accel="$accel" -cpu "$cpu" -smp 2 -m 512 \
	-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
	-chardev socket,id=blk0,path="$sock",reconnect=1 \
	-device vhost-user-blk-pci,chardev=blk0,num-queues=2"$E2E_QEMU_RING" \
	-kernel "/boot/vmlinuz-$kver" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 oops=panic" -no-reboot \
	-display none -serial "file:$console" -monitor none -nodefaults >"$console.qemu" 2>&1 &
qemu_pid=$!
pids+=("$qemu_pid")
# reconnect: SIGKILL the back-end inside a request during the guest's
# writes, start a new one on the same socket and image
rc_killed=-1 caught=no
last_log=$work/backend.log # the log of the back-end serving at the end
if e2e_wait_console "$console" "E2E-RECONNECT-START" 600 "$qemu_pid"; then
	# no delay: the first pwritev from here on is one of the reconnect writes
	# x86_64 pwritev (296): a write request popped and not yet completed
	"$killer" "$backend_pid" 60 296 && caught=yes
	wait "$backend_pid" 2>/dev/null || true
	rc_killed=$(grep -ac 'E2E-rc[0-3] write ' "$console" || true)
	say "back-end killed with $rc_killed of 32 reconnect writes done; starting a new one"
	start_backend "$work/backend2.log"
	last_log=$work/backend2.log
else
	fail=1
fi
e2e_wait_console "$console" "E2E-DONE" 900 "$qemu_pid" || fail=1
for _ in $(seq 1 60); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 1; done
t_end=$(date +%s)

# ---- assertions ---------------------------------------------------------------------
has() { grep -qa -- "$2" "$1"; }
bad() { # bad NAME STATUS LEN: blk_bad's request NAME was answered so
	check "malformed: $1 -> status $2, length $3" grep -qaw -- "E2E-bad $1 status=$2 len=$3" "$console"
}
bad good-first 0 513
bad out-of-range 1 1
bad after-out-of-range 0 513
bad short-header 1 1
bad after-short-header 0 513
bad status-readable 238 0 # 0xee: untouched, nothing written
bad after-status-readable 0 513
bad unknown-type 2 1
bad after-unknown-type 0 513
check "virtio_blk sees 96 MiB on 2 queues" has "$console" "E2E-DISK sectors=196608 queues=2"
for i in 0 1 2 3; do
	w=$(grep -a -- "E2E-data$i write " "$console" | grep -o 'sum=[0-9a-f]*' || true)
	v=$(grep -a -- "E2E-data$i verify " "$console" | grep -o 'sum=[0-9a-f]*' || true)
	check "process $i: 8 MiB written with direct I/O" has "$console" "E2E-data$i write bytes=8388608 .* ok"
	check "process $i: read back, checksums match" test -n "$w" -a "$w" = "$v"
	h=$("$tool" verify "$image" $((i * 8)) 8 $((100 + i)) | grep -o 'sum=[0-9a-f]*' || true)
	check "process $i: the image holds the pattern" test -n "$w" -a "$w" = "$h"
done
check "reconnect: the back-end was killed inside a request, during the writes" \
	test "$caught" = yes -a "$rc_killed" -ge 0 -a "$rc_killed" -lt 32
check "reconnect: QEMU connected to the new back-end" has "$work/backend2.log" "front-end connected"
for i in 0 1 2 3; do
	n=$(grep -ac -- "E2E-rc$i write bytes=8388608 .* ok" "$console" || true)
	last=$(grep -a -- "E2E-rc$i write " "$console" | tail -1 | grep -o 'sum=[0-9a-f]*' || true)
	v=$(grep -a -- "E2E-rc$i verify " "$console" | grep -o 'sum=[0-9a-f]*' || true)
	h=$("$tool" verify "$image" $((48 + i * 8)) 8 $((208 + i * 10)) | grep -o 'sum=[0-9a-f]*' || true)
	check "reconnect: process $i: 8 writes of 8 MiB, none failed" test "$n" -eq 8
	check "reconnect: process $i: read back and on the host, checksums match" \
		test -n "$last" -a "$last" = "$v" -a "$last" = "$h"
done
resubmitted=$(sed -n 's/.*: \([0-9]*\) requests in flight before the restart.*/\1/p' \
	"$work/backend2.log" | awk '{ n += $1 } END { print n + 0 }')
check "reconnect: the new back-end served again the $resubmitted request(s) the killed one had in flight" \
	test "$resubmitted" -ge 1
check "no guest kernel warning or oops" bash -c "! grep -E 'WARNING:|BUG:|Oops|Call Trace|I/O error' '$console'"
check "the back-end logged the malformed requests" test "$(grep -c 'bad request' "$work/backend.log")" -ge 3
for log in "$work/backend.log" "$work"/backend2.log; do
	[ -e "$log" ] || continue
	check "$E2E_LAYOUT rings: every ring Linux's driver started (${log##*/})" \
		e2e_ring_layout_is "$log" "$E2E_LAYOUT"
done
check "backend alive" kill -0 "$backend_pid"
# the back-end's CPU time (utime + stime, in clock ticks) for all requests
cpu_ticks=$(awk '{ print $14 + $15 }' "/proc/$backend_pid/stat" 2>/dev/null || echo 0)
kill -TERM "$backend_pid" 2>/dev/null || true
backend_rc=0
wait "$backend_pid" || backend_rc=$?
check "backend exits 0 on SIGTERM" test "$backend_rc" -eq 0
check "backend removed its socket" test ! -e "$sock"
check "backend logs free of sanitizer reports" \
	bash -c "! grep -q -s -E 'Sanitizer|runtime error' '$work/backend.log' '$work/backend2.log'"

# ---- throughput ---------------------------------------------------------------------
val() { grep -a -- "E2E-bench bench $1 " "$console" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p" | head -1; }
say "throughput ($accel, $E2E_LAYOUT rings, 2 vCPUs, queue depth 1, direct I/O): 1 MiB sequential write $(val seqwrite mibps) MiB/s," \
	"read $(val seqread mibps) MiB/s; 4 KiB random write $(val randwrite iops) IOPS," \
	"read $(val randread iops) IOPS; VM ran $((t_end - t_start)) s"
requests=$(sed -n 's/.*: \([0-9]*\) requests, .*/\1/p' "$last_log" | tail -1)
ticks_per_s=$(getconf CLK_TCK)
say "back-end CPU (the restarted one): $((cpu_ticks * 1000 / ticks_per_s)) ms for ${requests:-?} requests" \
	"($(( ${requests:-0} > 0 ? cpu_ticks * 1000000 / ticks_per_s / requests : 0 )) us each, synchronous I/O included)"
if [ "$fail" -ne 0 ]; then
	echo "--- backend log" >&2
	tail -60 "$work/backend.log" >&2
	echo "--- guest console" >&2
	grep -a E2E- "$console" | tail -60 >&2
	exit 1
fi
echo "e2e blk: all checks passed"

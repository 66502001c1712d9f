#!/usr/bin/env bash
# End-to-end test: a Linux guest under QEMU drives the vhost-user vsock device
# built on virtq (examples/vhost-user-vsock) through its real virtio-vsock
# driver.
#
#   tests/e2e/run.sh [--packed] BACKEND VSOCK_TOOL WORKDIR
#
# --packed: QEMU's device with packed=on, so that Linux's virtio_ring drives
# packed rings (virtio 2.8); the same checks, and by the back-end's log every
# ring Linux's driver started must be packed (split without --packed).
# Builds an initramfs (busybox-static, the static vsock_tool, the kernel's
# virtio/vsock modules, guest_init.sh as /init), starts the backend, boots
# Debian's kernel under qemu-system-x86 (KVM only if a probe boots a kernel
# with it, else TCG; VIRTQ_E2E_ACCEL=kvm|tcg forces one) and checks:
# 64 MiB each way with checksums, 32 concurrent connections each way, reset
# paths (refused both ways, peer closing mid-stream both ways), an in-guest
# reboot, and a second VM against the same backend process, which must then
# stop cleanly on SIGTERM. Prints the throughput of 64 KiB writes each way.
# Exit 77 (ctest SKIP_RETURN_CODE) only if qemu or the kernel cannot be
# installed.
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
[ $# -eq 3 ] || die "usage: $0 [--packed] BACKEND VSOCK_TOOL WORKDIR"
backend=$1 tool=$2 work=$3
[ -x "$backend" ] || die "no backend at $backend"
[ -x "$tool" ] || die "no vsock_tool at $tool"

if ! (ensure_packages qemu-system-x86 linux-image-amd64 busybox-static cpio kmod xz-utils zstd); then
	echo "SKIP: qemu-system-x86 / linux-image-amd64 could not be installed (run as root on Debian)"
	exit 77
fi

# ---- kernel and modules -------------------------------------------------------
e2e_pick_kernel vmw_vsock_virtio_transport
kver=$E2E_KVER
e2e_guest_root "$work" "$tool" vsock_tool "$here/guest_init.sh"
e2e_modules "$work/root/mod" order virtio_pci vmw_vsock_virtio_transport
e2e_pack_initramfs "$work"

# ---- processes, all bounded, all stopped on exit --------------------------------
e2e_stop_on_exit

uds=$work/vm.vsock
vhost=$work/vhost.sock
hostlog=$work/host.log
: >"$hostlog"

"$backend" --socket "$vhost" --uds-path "$uds" --guest-cid 3 --verbose >"$work/backend.log" 2>&1 &
backend_pid=$!
pids+=("$backend_pid")
for _ in $(seq 1 50); do [ -S "$vhost" ] && break; sleep 0.1; done
[ -S "$vhost" ] || { cat "$work/backend.log"; die "backend did not create $vhost"; }

# host_serve TAG ARGS...: a host-side vsock_tool server, output in serve-TAG.log
# (the tool itself is the background job: killing it leaves nothing behind)
host_serve() {
	local tag=$1
	shift
	VSOCK_TOOL_TIMEOUT=600 "$tool" serve "$@" >"$work/serve-$tag.log" 2>&1 &
	pids+=("$!")
}
# host_run TAG ARGS...: a host-side client, retried while the guest does not
# listen yet (exit 3 or a refusal before any byte)
host_run() {
	local tag=$1 i out
	shift
	for i in $(seq 1 30); do
		out=$(VSOCK_TOOL_TIMEOUT=300 "$tool" "$@" 2>&1) && break
		case "$out" in *"connect "*) sleep 1 ;; *) break ;; esac
	done
	printf '%s\n' "$out" | sed "s/^/$tag /" >>"$hostlog"
}
# wait_for CONSOLE PATTERN SECONDS [COUNT]: the guest's console, failing at
# once if the VM's QEMU exits (tests/e2e/qemu.sh)
wait_for() { e2e_wait_console "$1" "$2" "$3" "$qemu_pid" "${4:-1}"; }

echo main >"$work/plan"
host_serve plan "unix:${uds}_4999" 0 "file:$work/plan"
host_serve g2h "unix:${uds}_5000" 1 recv 67108864 11
host_serve conc "unix:${uds}_5001" 32 recv
host_serve reset "unix:${uds}_5002" 1 close
host_serve again "unix:${uds}_5010" 2 recv 4194304 21
sleep 0.3

e2e_pick_accel "/boot/vmlinuz-$kver" "$work" >"$work/accel" || exit 1
accel=$E2E_ACCEL cpu=$E2E_CPU
say "guest kernel $kver, $(cat "$work/accel"), $E2E_LAYOUT rings"
boot() { # boot CONSOLE_LOG EXTRA_QEMU_ARGS...
	local log=$1
	shift
	timeout 600 "$E2E_QEMU" -machine q35,accel="$accel" -cpu "$cpu" -smp 1 -m 512 \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		-chardev socket,id=vsock0,path="$vhost" -device vhost-user-vsock-pci,chardev=vsock0"$E2E_QEMU_RING" \
		-kernel "/boot/vmlinuz-$kver" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 oops=panic" \
		-display none -serial "file:$log" -monitor none -nodefaults "$@" \
		>"$log.qemu" 2>&1 &
	pids+=("$!")
	qemu_pid=$!
}

t_start=$(date +%s)
# ---- VM 1: main plan, then an in-guest reboot, then the short plan ---------------
boot "$work/console1.log"
wait_for "$work/console1.log" "E2E-PLAN main" 120
echo again >"$work/plan"
wait_for "$work/console1.log" "E2E-READY main" 300
host_run h2g send "hybrid:$uds:6000" 67108864 12
pids_conc=()
for i in $(seq 200 231); do
	host_run hconc send "hybrid:$uds:6001" 262144 "$i" &
	pids_conc+=("$!")
done
host_run hrefused refused "hybrid:$uds:6009"
host_run hreset send "hybrid:$uds:6002" 8388608 14
wait "${pids_conc[@]}" || true
wait_for "$work/console1.log" "E2E-DONE main" 300
wait_for "$work/console1.log" "E2E-READY again" 120
host_run again1 send "hybrid:$uds:6010" 4194304 22
wait_for "$work/console1.log" "E2E-DONE again" 120
for _ in $(seq 1 60); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 1; done
check "VM 1 powered off" bash -c "! kill -0 $qemu_pid 2>/dev/null"

# ---- VM 2: a new QEMU against the same backend process ------------------------------
boot "$work/console2.log" -no-reboot
wait_for "$work/console2.log" "E2E-READY again" 180
host_run again2 send "hybrid:$uds:6010" 4194304 22
wait_for "$work/console2.log" "E2E-DONE again" 120
for _ in $(seq 1 60); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 1; done
t_end=$(date +%s)

# ---- assertions --------------------------------------------------------------------
for f in "$work"/serve-*.log; do
	t=${f##*/serve-}
	sed "s/^/${t%.log} /" "$f" >>"$hostlog"
done
c1=$work/console1.log c2=$work/console2.log
has() { grep -q -- "$2" "$1"; }
count() { grep -c -- "$2" "$1" || true; }
sums() { grep -- "$2" "$1" | grep -o 'sum=[0-9a-f]*' | sort; }
check "guest->host 64 MiB: guest sent it" has "$c1" "E2E-g2h send bytes=67108864 .* ok"
check "guest->host 64 MiB: host received the stream" has "$hostlog" "^g2h recv bytes=67108864 .* ok"
check "guest->host 64 MiB: checksums match" \
	test "$(sums "$c1" "E2E-g2h send")" = "$(sums "$hostlog" "^g2h recv")"
check "host->guest 64 MiB: host sent it" has "$hostlog" "^h2g send bytes=67108864 .* ok"
check "host->guest 64 MiB: guest received the stream" has "$c1" "E2E-h2g recv bytes=67108864 .* ok"
check "host->guest 64 MiB: checksums match" \
	test "$(sums "$hostlog" "^h2g send")" = "$(sums "$c1" "E2E-h2g recv")"
check "32 concurrent guest->host connections sent" test "$(count "$c1" "E2E-conc send bytes=262144 .* ok")" -eq 32
check "32 concurrent guest->host connections received" test "$(count "$hostlog" "^conc recv bytes=262144 .* ok")" -eq 32
check "32 concurrent guest->host checksums" test "$(sums "$c1" "E2E-conc send")" = "$(sums "$hostlog" "^conc recv")"
check "32 concurrent host->guest connections sent" test "$(count "$hostlog" "^hconc send bytes=262144 .* ok")" -eq 32
check "32 concurrent host->guest connections received" test "$(count "$c1" "E2E-hconc recv bytes=262144 .* ok")" -eq 32
check "32 concurrent host->guest checksums" test "$(sums "$hostlog" "^hconc send")" = "$(sums "$c1" "E2E-hconc recv")"
check "guest connect to a host port nobody serves is refused" has "$c1" "E2E-refused refused: .* ok"
check "host connect to a guest port nobody serves is refused" has "$hostlog" "^hrefused refused: .* ok"
check "host closing mid-stream resets the guest's sender" has "$c1" "E2E-reset send .* bad"
check "guest closing mid-stream resets the host's sender" has "$hostlog" "^hreset send .* bad"
check "after the in-guest reboot: guest->host" has "$c1" "E2E-again-g2h send bytes=4194304 .* ok"
check "after the in-guest reboot: host->guest" has "$c1" "E2E-again-h2g recv bytes=4194304 .* ok"
check "second VM: guest->host" has "$c2" "E2E-again-g2h send bytes=4194304 .* ok"
check "second VM: host->guest" has "$c2" "E2E-again-h2g recv bytes=4194304 .* ok"
check "host received both short guest->host streams" test "$(count "$hostlog" "^again recv bytes=4194304 .* ok")" -eq 2
check "no guest kernel warning or oops" bash -c "! grep -E 'WARNING:|BUG:|Oops|Call Trace' '$c1' '$c2'"
check "$E2E_LAYOUT rings: every ring Linux's driver started (by both VMs)" \
	e2e_ring_layout_is "$work/backend.log" "$E2E_LAYOUT"
check "backend alive after two VMs" kill -0 "$backend_pid"
kill -TERM "$backend_pid" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$backend_pid" 2>/dev/null || break; sleep 0.1; done
backend_rc=0
wait "$backend_pid" || backend_rc=$?
check "backend exits 0 on SIGTERM" test "$backend_rc" -eq 0
check "backend removed its sockets" test ! -e "$vhost" -a ! -e "$uds"
check "backend log free of sanitizer reports" bash -c "! grep -q -E 'Sanitizer|runtime error' '$work/backend.log'"

# ---- throughput --------------------------------------------------------------------
mibps() { grep -- "$2" "$1" | head -1 | sed -n 's/.*mibps=\([0-9.]*\).*/\1/p'; }
say "throughput ($accel, $E2E_LAYOUT rings, 64 KiB writes, 64 MiB): guest->host $(mibps "$hostlog" "^g2h recv") MiB/s," \
	"host->guest $(mibps "$hostlog" "^h2g send") MiB/s; VMs ran $((t_end - t_start)) s"
if [ "$fail" -ne 0 ]; then
	echo "--- backend log" >&2
	tail -80 "$work/backend.log" >&2
	echo "--- host log" >&2
	tail -50 "$hostlog" >&2
	echo "--- guest console (VM 1)" >&2
	grep -a E2E- "$c1" | tail -80 >&2
	exit 1
fi
echo "e2e: all checks passed"

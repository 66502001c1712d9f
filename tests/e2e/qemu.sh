# shellcheck shell=bash
# QEMU helpers shared by the end-to-end tests: choosing an accelerator that
# really works, and waiting for guest console output without ever waiting in
# vain. Sourced by tests/e2e/run*.sh (and tests/e2e/test_qemu_helpers.sh).
#
# Environment:
#   VIRTQ_E2E_ACCEL=kvm|tcg          force the accelerator (no probe)
#   VIRTQ_E2E_KVM_DEVICE=PATH        the KVM device to look for (/dev/kvm)
#   VIRTQ_E2E_KVM_PROBE_SECONDS=N    how long the probe may take (10)
#   VIRTQ_E2E_QEMU=PROGRAM           the QEMU binary (qemu-system-x86_64)

E2E_QEMU=${VIRTQ_E2E_QEMU:-qemu-system-x86_64}

# e2e_kvm_probe KERNEL WORKDIR: boots KERNEL under KVM with no initramfs and
# succeeds once the kernel prints its first console line ("Linux version").
# A /dev/kvm that opens is not enough: under nested virtualisation QEMU may
# abort at once (an MSR it cannot set) or run the real-mode boot code and then
# hang. On failure prints why, naming the log that holds the cause.
e2e_kvm_probe() {
	local kernel=$1 dir=$2 limit=${VIRTQ_E2E_KVM_PROBE_SECONDS:-10}
	local console=$dir/kvm-probe.console qlog=$dir/kvm-probe.qemu pid rc tenths=0
	mkdir -p "$dir"
	: >"$console"
	# QEMU runs under a subshell that forwards SIGTERM to it and whose stderr,
	# where bash reports a QEMU killed by a signal ("Aborted"), is dropped.
	(
		"$E2E_QEMU" -machine q35,accel=kvm -cpu host -smp 1 -m 256 -kernel "$kernel" \
			-append "console=ttyS0 earlyprintk=ttyS0 panic=-1" -display none \
			-serial "file:$console" -monitor none -nodefaults -no-reboot >"$qlog" 2>&1 &
		child=$!
		trap 'kill -9 $child' TERM
		wait $child
	) 2>/dev/null &
	pid=$!
	while [ "$tenths" -lt $((limit * 10)) ]; do
		if grep -a -q 'Linux version' "$console" 2>/dev/null; then
			kill "$pid" 2>/dev/null
			wait "$pid" || true
			E2E_PROBE_NOTE="the KVM probe reached the kernel's first console line in $((tenths / 10)).$((tenths % 10)) s"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			rc=0
			wait "$pid" || rc=$?
			E2E_PROBE_NOTE="the KVM probe failed: QEMU exited with status $rc after $((tenths / 10)).$((tenths % 10)) s: $(e2e_last_line "$qlog") (log: $qlog)"
			return 1
		fi
		sleep 0.1
		tenths=$((tenths + 1))
	done
	kill "$pid" 2>/dev/null
	wait "$pid" || true
	E2E_PROBE_NOTE="the KVM probe failed: no kernel console line within $limit s (console: $console, QEMU log: $qlog)"
	return 1
}

# e2e_last_line FILE: the last non-empty line of FILE, or "(empty)"
e2e_last_line() {
	local line
	line=$(grep -a -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -1) || true
	printf '%s' "${line:-(empty)}"
}

# e2e_pick_accel KERNEL WORKDIR: sets E2E_ACCEL (kvm|tcg) and E2E_CPU (the
# -cpu model to use with it) and prints one line saying which and why. Fails
# only on a bad VIRTQ_E2E_ACCEL.
# shellcheck disable=SC2034 # E2E_CPU is for the caller
e2e_pick_accel() {
	local kernel=$1 dir=$2 dev=${VIRTQ_E2E_KVM_DEVICE:-/dev/kvm}
	case "${VIRTQ_E2E_ACCEL:-}" in
	kvm) E2E_ACCEL=kvm E2E_CPU=host E2E_PROBE_NOTE="forced by VIRTQ_E2E_ACCEL=kvm" ;;
	tcg) E2E_ACCEL=tcg E2E_CPU=qemu64 E2E_PROBE_NOTE="forced by VIRTQ_E2E_ACCEL=tcg" ;;
	"")
		E2E_ACCEL=tcg E2E_CPU=qemu64
		if ! [ -r "$dev" ] || ! [ -w "$dev" ]; then
			E2E_PROBE_NOTE="no usable $dev"
		elif e2e_kvm_probe "$kernel" "$dir"; then
			E2E_ACCEL=kvm E2E_CPU=host
		fi
		;;
	*)
		echo "error: VIRTQ_E2E_ACCEL must be kvm or tcg, not '$VIRTQ_E2E_ACCEL'" >&2
		return 1
		;;
	esac
	echo "accel $E2E_ACCEL: $E2E_PROBE_NOTE"
}

# e2e_show_tail FILE [LINES]: the end of a log, framed with its name
e2e_show_tail() {
	echo "--- last ${2:-20} lines of $1" >&2
	if [ -s "$1" ]; then tail -n "${2:-20}" "$1" >&2; else echo "(empty)" >&2; fi
}

# e2e_wait_console CONSOLE PATTERN SECONDS QEMU_PID [COUNT]: waits until
# PATTERN appears COUNT times (default 1) in the guest's console log. Fails
# at once if QEMU exits first, and on timeout; either way it says which and
# shows the console and QEMU's own log (CONSOLE.qemu), which hold the cause.
e2e_wait_console() {
	local console=$1 pattern=$2 limit=$3 pid=$4 want=${5:-1} n i rc
	# polled every 50 ms: a test that acts on a line (run_blk.sh kills the
	# back-end at RECONNECT-START) must not find it up to a second late, when
	# a fast host has already done the writes it meant to interrupt
	for ((i = 0; i < limit * 20; i++)); do
		n=$(grep -a -c -- "$pattern" "$console" 2>/dev/null) || n=0
		[ "$n" -ge "$want" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			rc=0
			wait "$pid" 2>/dev/null || rc=$?
			# it may have printed the line on its way out
			n=$(grep -a -c -- "$pattern" "$console" 2>/dev/null) || n=0
			[ "$n" -ge "$want" ] && return 0
			echo "FAILED: QEMU (pid $pid) exited with status $rc before '$pattern' appeared in $console;" \
				"its log: $console.qemu: $(e2e_last_line "$console.qemu")" >&2
			e2e_show_tail "$console.qemu" >&2
			e2e_show_tail "$console" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "FAILED: timed out after $limit s waiting for '$pattern' in $console" \
		"(QEMU still running, accel ${E2E_ACCEL:-?}; if KVM hangs on this host, set VIRTQ_E2E_ACCEL=tcg)" >&2
	e2e_show_tail "$console.qemu" >&2
	e2e_show_tail "$console" >&2
	return 1
}

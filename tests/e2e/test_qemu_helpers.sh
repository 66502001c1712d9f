#!/usr/bin/env bash
# Tests of tests/e2e/qemu.sh on its failure paths, with fake QEMUs: the KVM
# probe falls back to TCG when QEMU aborts (tests/e2e/broken-kvm), hangs, or
# there is no KVM device; VIRTQ_E2E_ACCEL forces a choice without probing; a
# console wait fails at once when QEMU exits and names the logs on timeout.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/qemu.sh
source "$here/qemu.sh"
tmp=$(mktemp -d)
# only the test's own shell cleans up: a subshell that inherited the trap must not
trap '[ "$BASHPID" = "$$" ] || exit; kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
expect() { # expect DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
contains() { grep -q -F -- "$2" <<<"$1"; }

: >"$tmp/kvm" # stands for a /dev/kvm that opens
export VIRTQ_E2E_KVM_DEVICE=$tmp/kvm VIRTQ_E2E_KVM_PROBE_SECONDS=2
unset VIRTQ_E2E_ACCEL VIRTQ_BROKEN_KVM

# A QEMU that boots: prints the kernel's first line to its -serial file.
cat >"$tmp/good-qemu" <<'QEMU'
#!/usr/bin/env bash
for a in "$@"; do case "$a" in file:*) echo "[    0.000000] Linux version 6.1.0" >"${a#file:}" ;; esac; done
echo "$*" >>"${0%/*}/good-qemu.calls"
exec sleep 60
QEMU
chmod +x "$tmp/good-qemu"

pick() { # pick [VAR=VALUE...]: runs e2e_pick_accel in a subshell, prints "ACCEL|line"
	(
		for kv in "$@"; do export "${kv?}"; done
		E2E_QEMU=${VIRTQ_E2E_QEMU:-qemu-system-x86_64}
		e2e_pick_accel /boot/vmlinuz "$tmp/work" >"$tmp/line" || exit 1
		echo "$E2E_ACCEL|$(cat "$tmp/line")"
	)
}

out=$(pick VIRTQ_E2E_QEMU="$tmp/good-qemu")
expect "a KVM that boots the kernel is used" contains "$out" "kvm|accel kvm: the KVM probe reached"

start=$SECONDS
out=$(pick VIRTQ_E2E_QEMU="$here/broken-kvm/qemu-system-x86_64")
expect "QEMU aborting under KVM: TCG" contains "$out" "tcg|accel tcg: the KVM probe failed: QEMU exited with status 134"
expect "the abort's message is shown" contains "$out" "kvm_buf_set_msrs: Assertion"
expect "the log holding the cause is named" contains "$out" "log: $tmp/work/kvm-probe.qemu"
expect "an abort is noticed at once" test $((SECONDS - start)) -le 2

out=$(pick VIRTQ_E2E_QEMU="$here/broken-kvm/qemu-system-x86_64" VIRTQ_BROKEN_KVM=hang)
expect "QEMU hanging under KVM: TCG after the probe's limit" \
	contains "$out" "tcg|accel tcg: the KVM probe failed: no kernel console line within 2 s"
expect "the hang names the console and QEMU logs" contains "$out" "console: $tmp/work/kvm-probe.console"
expect "the hung probe QEMU is gone" bash -c "! pgrep -f 'sleep 360[0]' >/dev/null"

out=$(pick VIRTQ_E2E_QEMU="$tmp/good-qemu" VIRTQ_E2E_KVM_DEVICE="$tmp/none")
expect "no KVM device: TCG, without probing" contains "$out" "tcg|accel tcg: no usable $tmp/none"

rm -f "$tmp/good-qemu.calls"
out=$(pick VIRTQ_E2E_QEMU="$tmp/good-qemu" VIRTQ_E2E_ACCEL=tcg)
expect "VIRTQ_E2E_ACCEL=tcg forces TCG" contains "$out" "tcg|accel tcg: forced by VIRTQ_E2E_ACCEL=tcg"
out=$(pick VIRTQ_E2E_QEMU="$here/broken-kvm/qemu-system-x86_64" VIRTQ_E2E_ACCEL=kvm)
expect "VIRTQ_E2E_ACCEL=kvm forces KVM" contains "$out" "kvm|accel kvm: forced by VIRTQ_E2E_ACCEL=kvm"
expect "a forced choice runs no probe" test ! -e "$tmp/good-qemu.calls"
err=$(pick VIRTQ_E2E_ACCEL=hvf 2>&1) && rc=0 || rc=$?
expect "a bad VIRTQ_E2E_ACCEL is an error" test "$rc" -ne 0
expect "the error names the bad value" contains "$err" "VIRTQ_E2E_ACCEL must be kvm or tcg, not 'hvf'"

# ---- e2e_wait_console -----------------------------------------------------------
console=$tmp/console.log
echo "E2E-PLAN main" >"$console"
sleep 30 &
expect "a line already there is found" e2e_wait_console "$console" "E2E-PLAN main" 5 $!
kill $! 2>/dev/null

: >"$console"
bash -c 'echo "qemu: could not open kernel" >&2; exit 3' 2>"$console.qemu" &
start=$SECONDS
e2e_wait_console "$console" "E2E-PLAN main" 60 $! 2>"$tmp/err" && rc=0 || rc=$?
err=$(cat "$tmp/err")
expect "QEMU exiting early fails the wait" test "$rc" -ne 0
expect "... at once" test $((SECONDS - start)) -le 3
expect "... with QEMU's status" contains "$err" "exited with status 3 before 'E2E-PLAN main' appeared in $console"
expect "... and the cause from its log" contains "$err" "its log: $console.qemu: qemu: could not open kernel"

echo "booting" >"$console"
echo "still alive" >"$console.qemu"
sleep 30 &
E2E_ACCEL=kvm e2e_wait_console "$console" "E2E-PLAN main" 2 $! 2>"$tmp/err" && rc=0 || rc=$?
err=$(cat "$tmp/err")
kill $! 2>/dev/null
expect "a timeout fails the wait" test "$rc" -ne 0
expect "... naming the console" contains "$err" "timed out after 2 s waiting for 'E2E-PLAN main' in $console"
expect "... showing the console's tail" contains "$err" "booting"
expect "... and suggesting TCG when KVM is in use" contains "$err" "accel kvm; if KVM hangs on this host, set VIRTQ_E2E_ACCEL=tcg"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "all qemu.sh checks passed"

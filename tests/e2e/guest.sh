# shellcheck shell=bash
# Guest setup shared by the end-to-end tests (tests/e2e/run.sh, run_blk.sh,
# run_blk_migrate.sh): choosing the installed kernel, building the initramfs,
# stopping every started process on exit, and recording failed assertions.
# Sourced after scripts/lib/common.sh (say, die).

# e2e_pick_kernel MODULE [headers]: sets E2E_KVER to the newest installed
# kernel that has MODULE (and, with "headers", its build headers). Exits 77
# (ctest SKIP_RETURN_CODE) if there is none.
e2e_pick_kernel() {
	local module=$1 need=${2:-} k v
	E2E_KVER=""
	while read -r k; do
		v=${k#/boot/vmlinuz-}
		if [ -f "$k" ] && { [ "$need" != headers ] || [ -d "/lib/modules/$v/build" ]; } &&
			modprobe -S "$v" --show-depends "$module" >/dev/null 2>&1; then
			E2E_KVER=$v # the newest wins
		fi
	done < <(printf '%s\n' /boot/vmlinuz-* | sort -V)
	if [ -z "$E2E_KVER" ]; then
		echo "SKIP: no installed kernel with $module${need:+ and its headers}"
		exit 77
	fi
}

# e2e_guest_root WORK TOOL NAME INIT [DIR...]: a fresh WORK (removed first)
# whose WORK/root holds busybox as /bin/sh, TOOL as /bin/NAME, INIT as /init,
# and the empty directories mod, proc, sys, dev and each DIR
e2e_guest_root() {
	local work=$1 tool=$2 name=$3 init=$4 d
	shift 4
	rm -rf "$work"
	mkdir -p "$work/root/bin"
	for d in mod proc sys dev "$@"; do mkdir -p "$work/root/$d"; done
	cp /bin/busybox "$work/root/bin/busybox"
	ln -s busybox "$work/root/bin/sh"
	cp "$tool" "$work/root/bin/$name"
	cp "$init" "$work/root/init"
	chmod 755 "$work/root/init"
}

# e2e_modules MODDIR LIST MODULE...: appends to MODDIR/LIST each module of
# E2E_KVER that MODULE needs (dependencies first) and that no list (order,
# blk_order) holds yet, decompressed into MODDIR
e2e_modules() {
	local dir=$1 list=$2 m ko name
	shift 2
	for m in "$@"; do modprobe -S "$E2E_KVER" --show-depends "$m"; done |
		awk '$1 == "insmod" { print $2 }' | while read -r ko; do
		name=$(basename "$ko")
		name=${name%.xz} name=${name%.zst} name=${name%.gz}
		grep -qsx "$name" "$dir/order" "$dir/blk_order" && continue
		case "$ko" in
		*.xz) xz -dc "$ko" ;;
		*.zst) zstd -qdc "$ko" ;;
		*.gz) gzip -dc "$ko" ;;
		*) cat "$ko" ;;
		esac >"$dir/$name"
		echo "$name" >>"$dir/$list"
	done
}

# e2e_pack_initramfs WORK: WORK/root as the gzipped cpio WORK/initrd.gz
e2e_pack_initramfs() {
	(cd "$1/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$1/initrd.gz")
}

# e2e_stop_on_exit: every pid the test appends to pids is killed when the
# test exits (bounded processes, none left behind)
e2e_stop_on_exit() {
	pids=()
	trap e2e_cleanup EXIT
}
e2e_cleanup() {
	local p
	[ "$BASHPID" = "$$" ] || return 0 # a subshell that inherited the trap
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}

# check DESCRIPTION COMMAND...: records a failed assertion in fail, which the
# sourcing test reads
fail=0
# shellcheck disable=SC2034
check() {
	local what=$1
	shift
	if "$@"; then
		say "ok: $what"
	else
		echo "FAILED: $what" >&2
		fail=1
	fi
}

# e2e_ring_layout_arg ARG: sets E2E_LAYOUT to packed for ARG --packed
# (E2E_SHIFT=1: the caller shifts it away), to split otherwise (E2E_SHIFT=0),
# and E2E_QEMU_RING to what QEMU's vhost-user device then needs (",packed=on":
# QEMU offers VIRTIO_F_RING_PACKED only with it, and Linux's virtio_ring then
# drives a packed ring)
# shellcheck disable=SC2034 # for the caller
e2e_ring_layout_arg() {
	E2E_LAYOUT=split E2E_QEMU_RING="" E2E_SHIFT=0
	if [ "${1:-}" = --packed ]; then
		E2E_LAYOUT=packed E2E_QEMU_RING=",packed=on" E2E_SHIFT=1
	fi
}

# e2e_ring_layout_is LOG LAYOUT: whether, by the back-end log LOG, Linux's
# driver started rings and each with LAYOUT (split or packed): the
# back-end's "ring N started: LAYOUT layout, features F" lines, counting
# those with EVENT_IDX (bit 29) in F. Linux's virtio_ring always acks it;
# the firmware's virtio-blk driver (SeaBIOS, before the kernel) never does
# and knows only split rings. Says what it found, failing or not.
e2e_ring_layout_is() {
	local log=$1 want=$2 layout features line linux="" firmware=0 first=""
	while read -r layout features line; do
		if [ $(((features >> 29) & 1)) -eq 1 ]; then
			linux+="$layout "
			first=${first:-$line}
		else
			firmware=$((firmware + 1))
		fi
	done < <(sed -n 's/^[^:]*: \(ring [0-9]* started: \([a-z]*\) layout.*, features \(0x[0-9a-f]*\),.*\)/\2 \3 \1/p' "$log" 2>/dev/null)
	local got
	got=$(tr ' ' '\n' <<<"$linux" | grep . | sort -u | tr '\n' ' ')
	got=${got% }
	if [ "$got" = "$want" ]; then
		echo "$(wc -w <<<"$linux") ring starts by Linux's driver, all $want ($firmware by the firmware ignored); the first: $first"
		return 0
	fi
	echo "the back-end's log $log says Linux's driver started rings with '${got:-no}' layout, not '$want'" >&2
	return 1
}

#!/usr/bin/env bash
# scripts/e2e.sh's command line: an unknown device or option is named in one
# line and fails before anything is built; --help names every option; --list
# shows what each option selects (the build directory, the ctest entries,
# which tests/e2e/CMakeLists.txt must register). And the ring-layout check
# the e2e tests end with (tests/e2e/guest.sh): a packed run fails when the
# back-end's log says a ring started split, or none started.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
e2e=$root/scripts/e2e.sh
failures=0
expect() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
has() { grep -q -F -- "$2" <<<"$1"; }
out=$(bash "$e2e" --device floppy 2>&1) && rc=0 || rc=$?
expect "--device floppy fails" test "$rc" -ne 0
expect "--device floppy is named" grep -q -F "unknown device 'floppy' (vsock, blk)" <<<"$out"
expect "--device floppy: one line, nothing built" test "$(wc -l <<<"$out")" = 1
out=$(bash "$e2e" --packed --device floppy 2>&1) && rc=0 || rc=$?
expect "--packed --device floppy fails the same way" test "$rc" -ne 0 -a "$(wc -l <<<"$out")" = 1
out=$(bash "$e2e" --frobnicate 2>&1) && rc=0 || rc=$?
expect "--frobnicate fails and is named" test "$rc" -ne 0 -a -n "$(grep -F 'unknown option --frobnicate' <<<"$out")"
help=$(bash "$e2e" --help)
for opt in "--device blk" --packed --compiler --no-sanitize --list; do
	expect "--help shows $opt" has "$help" "$opt"
done

# --list: each option's selection, nothing built
registered=$(sed -n 's/^add_test(NAME \(e2e_vhost_user_[a-z_]*\)$/\1/p' "$root/tests/e2e/CMakeLists.txt")
selected() { # selected ARGS...: the ctest entries scripts/e2e.sh ARGS --list selects
	local re
	re=$(bash "$e2e" "$@" --list | sed -n "s/^ctest: -L e2e -R '\(.*\)'$/\1/p")
	grep -E -- "$re" <<<"$registered" | tr '\n' ' '
}
expect "default: the vsock test" test "$(selected)" = "e2e_vhost_user_vsock "
expect "--packed: its packed twin" test "$(selected --packed)" = "e2e_vhost_user_vsock_packed "
expect "--device blk: blk, then the migration" \
	test "$(selected --device blk)" = "e2e_vhost_user_blk e2e_vhost_user_blk_migrate "
expect "--device blk --packed: their packed twins" \
	test "$(selected --device blk --packed)" = "e2e_vhost_user_blk_packed e2e_vhost_user_blk_migrate_packed "
out=$(bash "$e2e" --list)
expect "default build: gcc with sanitizers" has "$out" "build: $root/build/e2e-gcc-sanitize"
out=$(bash "$e2e" --compiler clang --no-sanitize --list)
expect "--compiler clang --no-sanitize: its own build" has "$out" "build: $root/build/e2e-clang-release"
expect "--list prints two lines and builds nothing" test "$(wc -l <<<"$out")" = 2

# the ring-layout check, on back-end logs as the examples write them
# shellcheck source=scripts/lib/common.sh
source "$root/scripts/lib/common.sh"
# shellcheck source=tests/e2e/guest.sh
source "$root/tests/e2e/guest.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
firmware="virtq-blk: ring 0 started: split layout, features 0x140000006, size 128, avail index 0"
packed="virtq-blk: ring 0 started: packed layout (VIRTIO_F_RING_PACKED, bit 34), features 0x570007206, size 128, packed base 0x80008000 (avail position 0 wrap 1, used position 0 wrap 1)"
split="virtq-blk: ring 1 started: split layout, features 0x170007206, size 128, avail index 0"
printf '%s\n' "virtq-blk: front-end connected" "$firmware" "$packed" "$packed" >"$tmp/packed.log"
printf '%s\n' "$firmware" "$split" "$split" >"$tmp/split.log"
printf '%s\n' "$packed" "$split" >"$tmp/mixed.log"
printf '%s\n' "$firmware" >"$tmp/firmware.log"
echo "virtq-blk: front-end connected" >"$tmp/none.log"
fails() { ! "$@"; }
layout_is() { # layout_is LOG LAYOUT: e2e_ring_layout_is's status, its stdout and stderr in $said
	said=$(e2e_ring_layout_is "$tmp/$1" "$2" 2>&1)
}
expect "packed run, Linux started packed rings: passes" layout_is packed.log packed
expect "... counting Linux's starts, not the firmware's" \
	has "$said" "2 ring starts by Linux's driver, all packed (1 by the firmware ignored); the first: ring 0 started: packed layout"
expect "split run, Linux started split rings: passes" layout_is split.log split
expect "packed run, Linux started split rings: fails" fails layout_is split.log packed
layout_is split.log packed
expect "... saying what the log says" has "$said" "Linux's driver started rings with 'split' layout, not 'packed'"
expect "packed run, one ring started split: fails" fails layout_is mixed.log packed
expect "split run, Linux started packed rings: fails" fails layout_is packed.log split
expect "packed run, only the firmware started a ring: fails" fails layout_is firmware.log packed
layout_is none.log packed
expect "no ring started: fails, saying so" has "$said" "with 'no' layout, not 'packed'"
expect "a missing log fails" fails layout_is absent.log packed

# the run scripts take --packed (and nothing else) before their arguments
for s in run.sh run_blk.sh run_blk_migrate.sh; do
	out=$(bash "$root/tests/e2e/$s" --packed 2>&1) && rc=0 || rc=$?
	expect "$s --packed without arguments: usage" test "$rc" -ne 0 -a -n "$(grep -F -- "usage: " <<<"$out" | grep -F -- "[--packed]")"
done
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "e2e.sh command line checked"

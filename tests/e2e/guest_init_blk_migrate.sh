#!/bin/sh
# PID 1 of the blk live-migration guest (busybox, in the initramfs
# run_blk_migrate.sh builds). Writes four 8 MiB regions, says
# MIGRATE-READY, then two processes churn (blk_tool churn: write a region
# with a new seed, read it back whole into one buffer, compare) for
# E2E_CHURN seconds while the host migrates the VM to a second QEMU; then
# everything written before and during the migration is verified. Reports
# on the serial console with "E2E-" lines. Every step is bounded in time.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
say() { echo "E2E-$*"; }
run() { # run TAG ARGS...: blk_tool's output lines, prefixed for the host
	tag=$1
	shift
	timeout 300 /bin/blk_tool "$@" 2>&1 | tee "/tmp/$tag" | sed "s/^/E2E-$tag /"
}
load() { # load ORDER_FILE: the modules it names, in order
	while read -r m; do
		insmod "/mod/$m" || say "ERROR insmod $m"
	done <"$1"
}
churn=20
# shellcheck disable=SC2013 # the words of one line
for a in $(cat /proc/cmdline); do
	case "$a" in e2e_churn=*) churn=${a#e2e_churn=} ;; esac
done
load /mod/order
load /mod/blk_order
for _ in $(seq 1 300); do [ -b /dev/vda ] && break; sleep 0.1; done
say "DISK sectors=$(cat /sys/block/vda/size)"

# before: four regions, seeds 100..103
for i in 0 1 2 3; do
	run "pre$i" write /dev/vda $((i * 8)) 8 $((100 + i)) &
done
wait
say "MIGRATE-READY"
# during: the host migrates while these run
for i in 0 1; do
	run "churn$i" churn /dev/vda $((32 + i * 8)) 8 $((1000 * (i + 1))) "$churn" &
done
wait
say "CHURN-DONE"
# after, on the destination: every block written before and during
for i in 0 1 2 3; do
	run "pre$i" verify /dev/vda $((i * 8)) 8 $((100 + i)) &
done
for i in 0 1; do
	last=$(sed -n 's/.*last_seed=\([0-9]*\).*/\1/p' "/tmp/churn$i")
	run "last$i" verify /dev/vda $((32 + i * 8)) 8 "${last:-0}" &
done
wait
say DONE
sync
poweroff -f
sleep 30

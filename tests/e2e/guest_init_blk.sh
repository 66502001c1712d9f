#!/bin/sh
# PID 1 of the blk end-to-end guest (busybox, in the initramfs run_blk.sh
# builds). Runs blk_bad (malformed requests) against the disk first, then
# virtio_blk: a pattern written with direct I/O by four processes and read
# back, writes during which the host restarts the back-end, then the
# throughput runs. Reports on the serial console with "E2E-"
# lines, which run_blk.sh reads. Every step is bounded in time.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
say() { echo "E2E-$*"; }
# run TAG ARGS...: blk_tool's output lines, prefixed for run_blk.sh
run() {
	tag=$1
	shift
	timeout 300 /bin/blk_tool "$@" 2>&1 | sed "s/^/E2E-$tag /"
}
load() { # load ORDER_FILE: the modules it names, in order
	while read -r m; do
		insmod "/mod/$m" || say "ERROR insmod $m"
	done <"$1"
}
load /mod/order

# malformed requests first: blk_bad drives the device, then lets it go
insmod /mod/blk_bad.ko || say "ERROR insmod blk_bad"
dmesg | grep -o 'E2E-bad.*'
rmmod blk_bad || say "ERROR rmmod blk_bad"

load /mod/blk_order
for _ in $(seq 1 300); do [ -b /dev/vda ] && break; sleep 0.1; done
set -- /sys/block/vda/mq/*
say "DISK sectors=$(cat /sys/block/vda/size) queues=$#"

# data: four processes, 8 MiB each, written then read back
for i in 0 1 2 3; do
	run "data$i" write /dev/vda $((i * 8)) 8 $((100 + i)) &
done
wait
for i in 0 1 2 3; do
	run "data$i" verify /dev/vda $((i * 8)) 8 $((100 + i)) &
done
wait
say "DATA-DONE"

# reconnect: the host kills the back-end (SIGKILL) during these writes and
# starts a new one; QEMU reconnects with the inflight region. Each process
# writes its 8 MiB region 8 times (seeds 200 + 10 i + 1..8), then reads back
# the last pattern; no write may fail.
say "RECONNECT-START"
for i in 0 1 2 3; do
	(
		for r in 1 2 3 4 5 6 7 8; do
			timeout 300 /bin/blk_tool write /dev/vda $((48 + i * 8)) 8 $((200 + i * 10 + r)) ||
				echo "write failed"
		done
	) 2>&1 | sed "s/^/E2E-rc$i /" &
done
wait
for i in 0 1 2 3; do
	run "rc$i" verify /dev/vda $((48 + i * 8)) 8 $((208 + i * 10)) &
done
wait
say "RECONNECT-DONE"

# throughput: 1 MiB sequential over 16 MiB, 4 KiB random for 5 s each way
run bench bench /dev/vda 32 16 5
say DONE
sync
poweroff -f
sleep 30

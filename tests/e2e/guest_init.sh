#!/bin/sh
# PID 1 of the end-to-end test's guest (busybox, in the initramfs that run.sh
# builds). Loads the virtio and vsock modules, asks the host for its plan
# over vsock (host port 4999), runs it and reports on the serial console with
# "E2E-" lines, which run.sh reads. Every step is bounded in time.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
while read -r m; do
	insmod "/mod/$m" || echo "E2E-ERROR insmod $m"
done </mod/order

T=/bin/vsock_tool
export VSOCK_TOOL_TIMEOUT=240
say() { echo "E2E-$*"; }
# run TAG ARGS...: the tool's output lines, prefixed for run.sh
run() {
	tag=$1
	shift
	"$T" "$@" 2>&1 | sed "s/^/E2E-$tag /"
}

plan=""
for _ in $(seq 1 60); do
	plan=$(VSOCK_TOOL_TIMEOUT=10 "$T" cat vsock:2:4999 2>/dev/null) && [ -n "$plan" ] && break
	sleep 1
done
say "PLAN ${plan:-none}"

case "$plan" in
main)
	# guest -> host, 64 MiB, checked by the host against the stream
	run g2h send vsock:2:5000 67108864 11
	# 32 concurrent guest -> host connections
	for i in $(seq 100 131); do
		run conc send vsock:2:5001 262144 "$i" &
	done
	wait
	# reset paths: nobody listens on host port 5003; the host closes 5002
	run refused refused vsock:2:5003
	run reset send vsock:2:5002 8388608 13
	# now the host's turn: listeners for its connections
	run hconc serve vsock:-1:6001 32 recv &
	run hreset serve vsock:-1:6002 1 close &
	say READY main
	# host -> guest, 64 MiB, checked here (the host retries until we listen)
	run h2g serve vsock:-1:6000 1 recv 67108864 12
	wait
	say DONE main
	sync
	reboot -f
	;;
again)
	run again-g2h send vsock:2:5010 4194304 21
	run again-h2g serve vsock:-1:6010 1 recv 4194304 22 &
	say READY again
	wait
	say DONE again
	sync
	poweroff -f
	;;
*)
	say "ERROR no plan"
	poweroff -f
	;;
esac
sleep 30

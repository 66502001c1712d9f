# shellcheck shell=bash
# Builds the peer benchmarks of scripts/bench.sh --peers from Debian packages,
# at run time, into build/bench/peers (never committed):
#   vringh         Linux drivers/vhost/vringh.c with the kernel's userspace
#                  shims (tools/virtio), from the linux-source-6.1 package
#   libvhost-user  QEMU subprojects/libvhost-user, from the qemu source package
#                  (apt-get source, with a private deb-src list: the system's
#                  apt configuration is not changed)
# rust-vmm's virtio-queue is not packaged by Debian and crates.io is not
# reachable from here: it is reported as not built.
# Harnesses: bench/peers/peer_*.c (ours), same guest driver and workloads.

PEERS_DIR="$VIRTQ_ROOT/build/bench/peers"
PEER_CFLAGS=(-O3 -DNDEBUG -pthread) # as our Release build
PEER_CC=${PEER_CC:-cc}             # scripts/bench.sh sets its --compiler

# peers_apt ARGS...: apt-get/apt-cache with a private deb-src list and state.
peers_apt_opts() {
	local d="$PEERS_DIR/apt"
	printf '%s\n' -o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=-" \
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o "Debug::NoLocking=1"
}

peers_apt_setup() {
	local d="$PEERS_DIR/apt"
	[ -f "$d/lists/.updated" ] && return 0
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	# The Debian suites this machine's apt already uses, as source entries.
	cat >"$d/sources.list" <<-EOF
		deb-src http://deb.debian.org/debian bookworm main
		deb-src http://deb.debian.org/debian-security bookworm-security main
	EOF
	local opts
	mapfile -t opts < <(peers_apt_opts)
	apt-get "${opts[@]}" update -qq || die "apt-get update (deb-src) failed"
	touch "$d/lists/.updated"
}

# Linux vringh: linux-source-6.1 ships the kernel tree as a tarball.
build_peer_vringh() {
	local src="$PEERS_DIR/src/linux" bin="$PEERS_DIR/bench_vringh"
	if [ ! -f "$src/.extracted" ]; then
		say "peers: fetching linux-source-6.1 (Debian)"
		mkdir -p "$PEERS_DIR/dl" "$src"
		(cd "$PEERS_DIR/dl" && rm -f linux-source-6.1_*.deb && apt-get download -q linux-source-6.1 2>/dev/null) ||
			{ warn_peer vringh "apt-get download linux-source-6.1 failed"; return 1; }
		local deb
		deb=$(ls "$PEERS_DIR"/dl/linux-source-6.1_*.deb)
		basename "$deb" .deb | sed 's/^linux-source-6.1_//; s/_all$//' >"$src/VERSION"
		rm -rf "$PEERS_DIR/dl/x" && dpkg-deb -x "$deb" "$PEERS_DIR/dl/x"
		tar -xaf "$PEERS_DIR"/dl/x/usr/src/linux-source-6.1.tar.* -C "$src" --strip-components=1 \
			linux-source-6.1/include linux-source-6.1/tools/virtio \
			linux-source-6.1/tools/include linux-source-6.1/drivers/vhost/vringh.c ||
			{ warn_peer vringh "extracting the kernel tarball failed"; return 1; }
		rm -rf "$PEERS_DIR/dl"
		touch "$src/.extracted"
	fi
	say "peers: building vringh $(cat "$src/VERSION")"
	# The flags of tools/virtio/Makefile, plus ours (-O3 -DNDEBUG).
	local kflags=(-I "$src/tools/virtio" -I "$src/tools/include" -Wno-pointer-sign
		-fno-strict-overflow -fno-strict-aliasing -fno-common -U_FORTIFY_SOURCE
		-include "$src/include/linux/kconfig.h")
	mkdir -p "$PEERS_DIR/obj"
	(cd "$src/tools/virtio" &&
		"$PEER_CC" "${PEER_CFLAGS[@]}" "${kflags[@]}" -c "$src/drivers/vhost/vringh.c" -o "$PEERS_DIR/obj/vringh.o" &&
		"$PEER_CC" "${PEER_CFLAGS[@]}" "${kflags[@]}" -I "$VIRTQ_ROOT/bench" \
			-c "$VIRTQ_ROOT/bench/peers/peer_vringh.c" -o "$PEERS_DIR/obj/peer_vringh.o" &&
		"$PEER_CC" "${PEER_CFLAGS[@]}" -c "$VIRTQ_ROOT/bench/harness.c" -o "$PEERS_DIR/obj/harness.o" &&
		"$PEER_CC" -pthread -o "$bin" "$PEERS_DIR/obj/peer_vringh.o" "$PEERS_DIR/obj/vringh.o" \
			"$PEERS_DIR/obj/harness.o") ||
		{ warn_peer vringh "build failed (see above)"; return 1; }
}

# QEMU libvhost-user: in the qemu source package, Debian's patches applied.
build_peer_vhost_user() {
	local src="$PEERS_DIR/src/qemu" bin="$PEERS_DIR/bench_libvhost_user"
	if [ ! -f "$src/.extracted" ]; then
		say "peers: fetching the qemu source package (Debian)"
		peers_apt_setup
		local opts
		mapfile -t opts < <(peers_apt_opts)
		mkdir -p "$PEERS_DIR/dl" && rm -rf "$src"
		(cd "$PEERS_DIR/dl" && apt-get "${opts[@]}" source -q --download-only qemu >/dev/null 2>&1) ||
			{ warn_peer libvhost-user "apt-get source qemu failed"; return 1; }
		dpkg-source -x "$PEERS_DIR"/dl/qemu_*.dsc "$src" >/dev/null ||
			{ warn_peer libvhost-user "dpkg-source -x failed"; return 1; }
		(cd "$PEERS_DIR"/dl && ls qemu_*.dsc) | sed 's/^qemu_//; s/\.dsc$//' >"$src/VERSION"
		rm -rf "$PEERS_DIR/dl"
		touch "$src/.extracted"
	fi
	say "peers: building libvhost-user (qemu $(cat "$src/VERSION"))"
	local lvu="$src/subprojects/libvhost-user"
	mkdir -p "$PEERS_DIR/obj"
	if ! "$PEER_CC" "${PEER_CFLAGS[@]}" -std=gnu11 -I "$lvu" -I "$lvu/include" -I "$VIRTQ_ROOT/bench" \
		"-DPEER_LIBVHOST_USER_C=\"$lvu/libvhost-user.c\"" \
		-c "$VIRTQ_ROOT/bench/peers/peer_vhost_user.c" -o "$PEERS_DIR/obj/peer_vhost_user.o" ||
		! "$PEER_CC" "${PEER_CFLAGS[@]}" -c "$VIRTQ_ROOT/bench/harness.c" -o "$PEERS_DIR/obj/harness.o" ||
		! "$PEER_CC" -pthread -o "$bin" "$PEERS_DIR/obj/peer_vhost_user.o" "$PEERS_DIR/obj/harness.o"; then
		warn_peer libvhost-user "build failed (see above)"
		return 1
	fi
}

warn_peer() {
	printf 'peers: %s not built: %s\n' "$1" "$2" >&2
	PEER_NOTES+=("$1: not built: $2")
}

# build_peers: builds what it can; sets PEER_BINS (name=path) and PEER_NOTES.
PEER_BINS=()
PEER_NOTES=()
build_peers() {
	ensure_packages xz-utils dpkg-dev
	mkdir -p "$PEERS_DIR"
	if build_peer_vringh; then
		PEER_BINS+=("vringh=$PEERS_DIR/bench_vringh")
		PEER_NOTES+=("vringh: Debian linux-source-6.1 $(cat "$PEERS_DIR/src/linux/VERSION")")
	fi
	if build_peer_vhost_user; then
		PEER_BINS+=("libvhost-user=$PEERS_DIR/bench_libvhost_user")
		PEER_NOTES+=("libvhost-user: Debian qemu source $(cat "$PEERS_DIR/src/qemu/VERSION")")
	fi
	PEER_NOTES+=("rust-vmm virtio-queue: not built: no Debian package (apt-cache search virtio-queue finds none; librust-vm-memory-dev is only its memory crate) and crates.io/GitHub are not reachable from this machine")
}

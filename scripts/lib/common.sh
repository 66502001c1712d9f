# shellcheck shell=bash
# Shared by the scripts in scripts/: messages and package installation.

VIRTQ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export VIRTQ_ROOT

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_packages PKG...: installs the Debian packages that are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if ! command -v apt-get >/dev/null; then
		die "missing packages ${missing[*]} and no apt-get: install them with your package manager"
	fi
	can_be_root || die "missing packages; run: sudo apt-get install -y ${missing[*]}"
	say "installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
		die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

# can_be_root: whether as_root works: root, or passwordless sudo (CI runners
# have it; people are told what to run instead).
can_be_root() { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }
# as_root CMD...: runs CMD as root.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Packages every build needs: compilers with their sanitizer runtimes, cmake, cmocka.
VIRTQ_BUILD_PACKAGES=(cmake make gcc clang libclang-rt-dev libcmocka-dev pkg-config patch)

nproc_or_2() { nproc 2>/dev/null || echo 2; }

# build_libraries DIR [SOURCE_DIR]: virtq's libraries alone (shared, static,
# both mocks), gcc, RelWithDebInfo (the ABI checks read the debug info), in DIR.
VIRTQ_LIBRARY_TARGETS=(virtq virtq_static virtq_mock virtq_mock_static)
build_libraries() {
	local dir=$1 src=${2:-$VIRTQ_ROOT}
	cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DVIRTQ_BUILD_TESTS=OFF -DVIRTQ_BUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF >/dev/null
	cmake --build "$dir" -j "$(nproc_or_2)" --target "${VIRTQ_LIBRARY_TARGETS[@]}" \
		-- --no-print-directory >/dev/null
}

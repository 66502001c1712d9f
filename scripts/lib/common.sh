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
	if [ "$(id -u)" -ne 0 ]; then
		die "missing packages; run: sudo apt-get install -y ${missing[*]}"
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

# Packages every build needs: compilers with their sanitizer runtimes, cmake, cmocka.
VIRTQ_BUILD_PACKAGES=(cmake make gcc clang libclang-rt-dev libcmocka-dev pkg-config patch)

nproc_or_2() { nproc 2>/dev/null || echo 2; }

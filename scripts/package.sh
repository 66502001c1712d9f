#!/usr/bin/env bash
# The Debian packages (debian/): libvirtq0, libvirtq-dev, virtq-examples.
# Builds them with dpkg-buildpackage from a copy of the tree (build/deb/src),
# checks them with lintian (any error or warning fails), installs them on
# this machine, builds README.md's Debian snippet and find_package snippet
# against the installed packages, runs the results and the example device's
# --help, and removes the packages again (--keep leaves them installed).
# The packages' own test run is skipped (DEB_BUILD_OPTIONS=nocheck): ctest
# runs in scripts/test.sh. The .debs end up in build/deb/.
#
#   scripts/package.sh           build, lintian, install, consumers, remove
#   scripts/package.sh --keep    the same, leaving the packages installed
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/consumers/snippet.sh
source "$VIRTQ_ROOT/tests/consumers/snippet.sh"

keep=0
case "${1:-}" in
"") ;;
--keep) keep=1 ;;
-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
*) die "unknown option $1 (see --help)" ;;
esac

can_be_root || die "installing the packages needs root or passwordless sudo"
ensure_packages dpkg-dev debhelper cmake make gcc pkgconf lintian binutils git
out="$VIRTQ_ROOT/build/deb"
version=$(dpkg-parsechangelog -l "$VIRTQ_ROOT/debian/changelog" -S Version)
packages=(libvirtq0 libvirtq-dev virtq-examples)
project_version=$(sed -n 's/^project(virtq VERSION \([0-9.]*\) .*/\1/p' "$VIRTQ_ROOT/CMakeLists.txt")
[ "$version" = "$project_version" ] ||
	die "debian/changelog has $version, CMakeLists.txt $project_version: add a changelog entry (dch -v $project_version)"

say "copy the tree to build/deb/src/virtq-$version"
rm -rf "$out"
src="$out/src/virtq-$version"
mkdir -p "$src"
(cd "$VIRTQ_ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
	tar -xf - -C "$src"

say "dpkg-buildpackage -us -uc -b (nocheck)"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc_or_2)" \
	dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) ||
	{ tail -40 "$out/build.log"; die "dpkg-buildpackage failed (build/deb/build.log)"; }
mv "$out/src/"*.deb "$out/src/"*.changes "$out/src/"*.buildinfo "$out/"
for p in "${packages[@]}"; do
	[ -f "$(echo "$out/${p}_${version}_"*.deb)" ] || die "no package $p"
done

say "lintian (errors and warnings fail)"
run_lintian() { lintian --fail-on error,warning --display-info "$@"; }
run_lintian "$out/"*.changes || die "lintian found errors or warnings (above)"
# Self-test: the example package without its manual page must fail.
say "self-test: a package lintian warns about must fail"
bad="$out/selftest"
mkdir -p "$bad"
dpkg-deb -R "$(echo "$out/virtq-examples_${version}_"*.deb)" "$bad/root"
rm "$bad/root/usr/share/man/man1/virtq-vsock-vhost-user.1.gz"
sed -i '/man1/d' "$bad/root/DEBIAN/md5sums"
dpkg-deb -b "$bad/root" "$bad/virtq-examples.deb" >/dev/null
if run_lintian "$bad/virtq-examples.deb" >"$bad/lintian.txt" 2>&1; then
	die "self-test: lintian passed a package without its manual page"
fi
grep -q no-manual-page "$bad/lintian.txt" || die "self-test: $(cat "$bad/lintian.txt")"

say "install ${packages[*]}"
debs=()
for p in "${packages[@]}"; do debs+=("$(echo "$out/${p}_${version}_"*.deb)"); done
remove() { as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${packages[@]}" >/dev/null; }
[ "$keep" = 1 ] || trap remove EXIT
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null

say "consumers of the installed packages"
work="$out/consumer"
mkdir -p "$work"
cp "$VIRTQ_ROOT/tests/consumers/my_vmm.c" "$work/"
# README's Debian snippet, its apt-get line run here with this build's files.
snippet=$(readme_snippet "$VIRTQ_ROOT/README.md" debian | grep -v '^apt-get install ')
(cd "$work" && eval "$snippet") || die "README's Debian snippet failed"
readelf -d "$work/my_vmm" | grep -q 'NEEDED.*\[libvirtq\.so\.0\]' || die "my_vmm does not link libvirtq.so.0"
env -u LD_LIBRARY_PATH "$work/my_vmm" || die "my_vmm did not run"
# find_package from /usr, no path given: the -dev package's CMake files.
mkdir -p "$work/cmake"
cp "$work/my_vmm.c" "$work/cmake/"
{
	printf 'cmake_minimum_required(VERSION 3.20)\nproject(my_vmm LANGUAGES C)\n'
	printf 'add_executable(my_vmm my_vmm.c)\nadd_executable(my_vmm_tests my_vmm.c)\n'
	printf 'target_compile_definitions(my_vmm_tests PRIVATE USE_MOCK)\n'
	readme_snippet "$VIRTQ_ROOT/README.md" find_package
} >"$work/cmake/CMakeLists.txt"
cmake -S "$work/cmake" -B "$work/cmake/build" >/dev/null ||
	die "find_package(virtq) against the packages failed"
cmake --build "$work/cmake/build" >/dev/null || die "the find_package consumer did not build"
for bin in my_vmm my_vmm_tests; do
	"$work/cmake/build/$bin" || die "the find_package consumer $bin did not run"
done
virtq-vsock-vhost-user --help >/dev/null || die "virtq-vsock-vhost-user --help failed"
virtq-blk-vhost-user --help >/dev/null || die "virtq-blk-vhost-user --help failed"
say "packages ok: $(cd "$out" && echo ./*.deb)"

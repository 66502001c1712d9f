#!/usr/bin/env bash
# ctest consumer_*: builds tests/consumers/my_vmm.c the way a VMM author would,
# with README.md's snippet for WAY, runs the binaries and checks which virtq
# library each one links (static: no libvirtq.so NEEDED; shared: NEEDED and
# found without LD_LIBRARY_PATH).
#
# Usage: run.sh WAY BUILD_DIR SOURCE_DIR C_COMPILER "C_FLAGS"
#   WAY: add_subdirectory | fetchcontent | find_package | pkg-config | pkg-config-static
#   C_FLAGS: the flags the installed libraries were built with (sanitizers),
#   for the ways that link them; the subproject ways build virtq themselves.
set -euo pipefail
way=$1 build=$2 src=$3 cc=$4 flags=$5
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/consumers/snippet.sh
source "$here/snippet.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL ($way): $*" >&2; exit 1; }

# VIRTQ_README: another README to take the snippet from (the self-test's).
snippet=$(readme_snippet "${VIRTQ_README:-$src/README.md}" "$way")
mkdir -p "$work/vmm"
cp "$here/my_vmm.c" "$work/vmm/"

# links_libvirtq_so BIN: whether BIN needs libvirtq.so.N.
links_libvirtq_so() { readelf -d "$1" | grep -q 'NEEDED.*\[libvirtq\.so'; }

# expect BIN static|shared: runs $bindir/BIN and checks its link.
bindir=$work
expect() {
	local bin=$bindir/$1
	[ -x "$bin" ] || fail "$1 was not built"
	case "$2" in
	static) ! links_libvirtq_so "$bin" || fail "$1 links libvirtq.so" ;;
	shared) links_libvirtq_so "$bin" || fail "$1 does not link libvirtq.so" ;;
	esac
	env -u LD_LIBRARY_PATH "$bin" || fail "$1 did not run"
}

# A VMM project whose CMakeLists.txt ends with the snippet.
cmake_project() {
	cat >"$work/vmm/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(my_vmm LANGUAGES C)
add_executable(my_vmm my_vmm.c)
add_executable(my_vmm_tests my_vmm.c)
target_compile_definitions(my_vmm_tests PRIVATE USE_MOCK)
set_target_properties(my_vmm my_vmm_tests PROPERTIES RUNTIME_OUTPUT_DIRECTORY $work)
$snippet
CMAKE
}

# cmake_build EXTRA_ARGS...: configures and builds the VMM project.
cmake_build() {
	cmake -S "$work/vmm" -B "$work/build" -DCMAKE_C_COMPILER="$cc" \
		-DCMAKE_EXPORT_COMPILE_COMMANDS=ON "$@" >"$work/configure.log" 2>&1 ||
		{ cat "$work/configure.log"; fail "configure"; }
	cmake --build "$work/build" >"$work/build.log" 2>&1 ||
		{ cat "$work/build.log"; fail "build"; }
}

# As a subproject virtq must not look for cmocka, build its tests or tools,
# choose the build type, put its warning flags on the parent's code (my_vmm.c
# would not compile with them: see its vmm_hook) or install anything.
check_subproject_defaults() {
	local cache=$work/build/CMakeCache.txt
	! grep -q '^CMOCKA' "$cache" || fail "virtq looked for cmocka"
	grep -q '^VIRTQ_BUILD_TESTS:BOOL=OFF' "$cache" || fail "tests not off"
	grep -q '^VIRTQ_WERROR:BOOL=OFF' "$cache" || fail "-Werror not off"
	local f
	for f in test_pop virtq-scenario fuzz_queue_replay example_device_loop virtq-vsock-vhost-user; do
		[ -z "$(find "$work/build" -name "$f" -type f)" ] || fail "$f was built"
	done
	grep -q '^CMAKE_BUILD_TYPE:STRING=$' "$cache" || fail "virtq chose the parent's build type"
	local commands
	commands=$(grep -B1 '"file": ".*/my_vmm.c"' "$work/build/compile_commands.json" |
		grep '"command"') || fail "no compile command for my_vmm.c"
	! grep -q -- ' -W' <<<"$commands" || fail "warning flags on the parent's code"
	cmake --install "$work/build" --prefix "$work/installed" >/dev/null
	[ -z "$(find "$work/installed" -name '*virtq*' 2>/dev/null)" ] ||
		fail "virtq's install rules are on"
}

# install_prefix: the build tree installed into $work/prefix.
install_prefix() {
	cmake --install "$build" --prefix "$work/prefix" >/dev/null
}

# cmocka hidden: nothing under the system prefixes can be found.
hide_system=(-DCMAKE_IGNORE_PREFIX_PATH="/usr;/usr/local")

case "$way" in
add_subdirectory)
	mkdir -p "$work/vmm/third_party"
	ln -s "$src" "$work/vmm/third_party/virtq"
	cmake_project
	cmake_build "${hide_system[@]}"
	check_subproject_defaults
	expect my_vmm static
	expect my_vmm_tests static
	;;
fetchcontent)
	cmake_project
	cmake_build "${hide_system[@]}" -DFETCHCONTENT_SOURCE_DIR_VIRTQ="$src" \
		-DVIRTQ_GIT_URL=unused-with-FETCHCONTENT_SOURCE_DIR_VIRTQ
	check_subproject_defaults
	expect my_vmm shared
	expect my_vmm_tests shared
	;;
find_package)
	install_prefix
	cmake_project
	cmake_build -DCMAKE_C_FLAGS="$flags" -DCMAKE_PREFIX_PATH="$work/prefix"
	expect my_vmm shared
	expect my_vmm_tests static
	;;
pkg-config | pkg-config-static)
	install_prefix
	# The snippet as written, in the VMM's directory, with /opt/virtq being
	# this prefix and cc this compiler with the libraries' flags.
	script=${snippet//\/opt\/virtq/$work/prefix}
	(
		cd "$work/vmm"
		# shellcheck disable=SC2086,SC2317 # flags: a word list; cc: called by the snippet
		cc() { command "$cc" $flags "$@"; }
		eval "$script"
	) || fail "the snippet failed"
	bindir=$work/vmm
	if [ "$way" = pkg-config ]; then
		expect my_vmm shared
	else
		expect my_vmm_tests static
	fi
	;;
*) fail "unknown way" ;;
esac
echo "consumer $way: ok"

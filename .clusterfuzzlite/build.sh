#!/bin/bash -eu
# Builds every fuzz target the way ClusterFuzz / OSS-Fuzz expect:
#   $CC $CFLAGS for every object, $CXX $CXXFLAGS ... $LIB_FUZZING_ENGINE to link,
#   binaries, <target>_seed_corpus.zip, <target>.dict and <target>.options in $OUT.
# Runs in the ClusterFuzzLite container, and locally without Docker with the
# same variables set (scripts/cfl-build.sh does that; .ci/run runs it).
#
# Inputs: SRC (checkout parent; the tree is $SRC/virtq, or VIRTQ_SRC), OUT,
# WORK, CC, CXX, CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE.

set -eu # also when run as "bash build.sh", which ignores the #! options

tree=${VIRTQ_SRC:-$SRC/virtq}
build="$WORK/virtq-build"
mkdir -p "$OUT" "$build"

# The library, mock and harness as static libraries, with the engine's
# CFLAGS (sanitizers, coverage instrumentation) and nothing of our own.
cmake -S "$tree" -B "$build" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" \
	-DCMAKE_BUILD_TYPE=None -DVIRTQ_WERROR=OFF -DVIRTQ_BUILD_TESTS=OFF -DBUILD_TESTING=OFF \
	-DVIRTQ_FUZZ_HOOKS=ON # the TOCTOU operation (fuzz/README.md)
cmake --build "$build" --target virtq_fuzz_harness -j "$(nproc)"
libs=("$build/fuzz/libvirtq_fuzz_harness.a" "$build/libvirtq_mock_static.a" "$build/libvirtq.a")

zip_dir() { # zip_dir OUT.zip FILE...: flat archive of the seed files
	if command -v zip >/dev/null; then
		zip -q -j "$@"
	else
		python3 -m zipfile -c "$@"
	fi
}

# The scenario-level custom mutator (libFuzzer uses it; other engines ignore it).
# shellcheck disable=SC2086
$CC $CFLAGS -I"$tree/include" -I"$tree/fuzz/harness" -c "$tree/fuzz/harness/mutator.c" \
	-o "$WORK/mutator.o"

for source in "$tree"/fuzz/fuzz_*.c; do
	target=$(basename "$source" .c)
	# shellcheck disable=SC2086 # CFLAGS and LIB_FUZZING_ENGINE are flag lists
	$CC $CFLAGS -I"$tree/include" -I"$tree/fuzz" -c "$source" -o "$WORK/$target.o"
	# shellcheck disable=SC2086
	$CXX $CXXFLAGS "$WORK/$target.o" "$WORK/mutator.o" "${libs[@]}" $LIB_FUZZING_ENGINE \
		-o "$OUT/$target"

	mapfile -t seeds < <(find "$tree/corpus/$target" -type f ! -name 'README*' | sort)
	rm -f "$OUT/${target}_seed_corpus.zip"
	[ ${#seeds[@]} -eq 0 ] || zip_dir "$OUT/${target}_seed_corpus.zip" "${seeds[@]}"
	cp "$tree/fuzz/$target.dict" "$OUT/$target.dict"
	# docs/fuzzing.md lesson 1: a parser answers in milliseconds, not libFuzzer's 1200 s.
	printf '[libfuzzer]\ntimeout = 5\nrss_limit_mb = 2560\ndict = %s.dict\n' "$target" \
		>"$OUT/$target.options"
done

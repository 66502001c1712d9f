#!/usr/bin/env bash
# The main job: build the fuzz targets with ASan+UBSan and fuzz every parser.
#
#   scripts/fuzz.sh                    every target, 60 s each, libFuzzer
#   scripts/fuzz.sh --target fuzz_vsock --time 900 --jobs 2
#   scripts/fuzz.sh --merge            also minimise new units into corpus/
#   scripts/fuzz.sh --engine afl       AFL++ on the same targets and corpus
#
# Options: --target NAME (repeatable), --time SECONDS per target (default 60),
# --jobs N (libFuzzer -fork=N), --merge, --timeout SECONDS per input (default
# 5: docs/fuzzing.md lesson 1, never libFuzzer's 1200 s), --rss-limit-mb MB (default 2048),
# --engine libfuzzer|afl, --corpus-out DIR (keep new units in DIR/<target>,
# which is also read: CI caches it between runs).
#
# Prints per target: exec/s, new corpus units, coverage and features, and every
# crash with the command that reproduces it. Artifacts (crash-*, timeout-*,
# oom-*, leak-*) land in build/fuzz-out/<target>/artifacts/. Exits non-zero on
# any crash, timeout, OOM or leak. Installs clang/llvm (and afl++) when run as root.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

targets=() time_limit=60 jobs=1 merge=0 timeout=5 rss=2048 engine=libfuzzer corpus_out=
while [ $# -gt 0 ]; do
	case "$1" in
	--target) targets+=("$2"); shift 2 ;;
	--time) time_limit=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--merge) merge=1; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	--rss-limit-mb|-rss_limit_mb) rss=$2; shift 2 ;;
	--engine) engine=$2; shift 2 ;;
	--corpus-out) corpus_out=$2; shift 2 ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
if [ ${#targets[@]} -eq 0 ]; then
	mapfile -t targets < <(find "$VIRTQ_ROOT/fuzz" -maxdepth 1 -name 'fuzz_*.c' -printf '%f\n' |
		sed 's/\.c$//' | sort)
fi
for t in "${targets[@]}"; do
	[ -f "$VIRTQ_ROOT/fuzz/$t.c" ] || die "no fuzz target $t (fuzz/$t.c)"
done

out="$VIRTQ_ROOT/build/fuzz-out"
failed=0

# ---- libFuzzer ----------------------------------------------------------------
build_libfuzzer() {
	ensure_packages clang llvm libclang-rt-dev cmake make
	local dir="$VIRTQ_ROOT/build/fuzz-libfuzzer"
	say "building ${targets[*]} (clang, libFuzzer, ASan+UBSan) in $dir"
	cmake -S "$VIRTQ_ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DVIRTQ_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIRTQ_BUILD_TESTS=OFF -DBUILD_TESTING=OFF >/dev/null
	cmake --build "$dir" --target "${targets[@]}" -j "$(nproc_or_2)" >"$dir/build.log" 2>&1 ||
		{ tail -30 "$dir/build.log"; die "build failed"; }
	bindir="$dir/fuzz"
}

# last_field LOG NAME: the value after "NAME: " on the last status line
last_field() { grep -oE "$2: [0-9]+" "$1" | tail -1 | awk '{print $2}'; }

fuzz_libfuzzer() {
	local t=$1 dir="$out/$1" bin="$bindir/$1" new="$out/$1/new"
	rm -rf "$dir/artifacts" "$new" && mkdir -p "$dir/artifacts"
	[ -z "$corpus_out" ] || new="$corpus_out/$t"
	mkdir -p "$new"
	local had
	had=$(find "$new" -type f | wc -l)
	local args=(-max_total_time="$time_limit" -timeout="$timeout" -rss_limit_mb="$rss"
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" -dict="$VIRTQ_ROOT/fuzz/$t.dict")
	[ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
	say "$t: fuzzing for ${time_limit}s (log: $dir/log)"
	# New units go to the first directory; corpus/ is only read.
	(cd "$dir" && "$bin" "${args[@]}" "$new" "$VIRTQ_ROOT/corpus/$t" >"$dir/log" 2>&1) || true
	local execs units cov ft
	execs=$(grep -oE 'average_exec_per_sec: *[0-9]+' "$dir/log" | awk '{print $2}' | tail -1)
	[ -n "$execs" ] || execs=$(last_field "$dir/log" "exec/s")
	units=$(($(find "$new" -type f | wc -l) - had))
	cov=$(last_field "$dir/log" "cov")
	ft=$(last_field "$dir/log" "ft")
	printf '%-12s exec/s %-7s new units %-5s coverage %-5s features %s\n' "$t" \
		"${execs:-?}" "$units" "${cov:-?}" "${ft:-?}"
	report_artifacts "$t" "$dir/artifacts" "$bin"
	if [ "$merge" = 1 ] && [ "$units" -gt 0 ]; then
		local before after
		before=$(find "$VIRTQ_ROOT/corpus/$t" -maxdepth 1 -type f | wc -l)
		"$bin" -merge=1 -timeout="$timeout" -rss_limit_mb="$rss" "$VIRTQ_ROOT/corpus/$t" "$new" \
			>"$dir/merge.log" 2>&1 || die "merge failed: $dir/merge.log"
		after=$(find "$VIRTQ_ROOT/corpus/$t" -maxdepth 1 -type f | wc -l)
		say "$t: merged $((after - before)) units into corpus/$t"
	fi
}

# report_artifacts TARGET DIR REPRODUCER: list crashes, how to reproduce them
report_artifacts() {
	local t=$1 dir=$2 bin=$3 f
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		failed=1
		printf '  %s %s\n    reproduce: %s %s\n    inspect:   scripts/scenario print %s\n' \
			"$(basename "$f" | cut -d- -f1 | tr '[:lower:]' '[:upper:]')" "$f" "$bin" "$f" "$f"
	done
}

# ---- AFL++ --------------------------------------------------------------------
build_afl() {
	"$VIRTQ_ROOT/scripts/cfl-build.sh" afl
	bindir="$VIRTQ_ROOT/build/cfl-afl/out"
}

fuzz_afl() {
	local t=$1 dir="$out/afl/$1"
	rm -rf "$dir" && mkdir -p "$dir/in"
	find "$VIRTQ_ROOT/corpus/$t" -type f ! -name 'README*' -exec cp {} "$dir/in/" \;
	say "$t: AFL++ for ${time_limit}s (log: $dir/log)"
	AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
		AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1 \
		timeout $((time_limit + 60)) afl-fuzz -V "$time_limit" -t "$((timeout * 1000))" -m none \
		-i "$dir/in" -o "$dir/out" -x "$VIRTQ_ROOT/fuzz/$t.dict" -- "$bindir/$t" >"$dir/log" 2>&1 || true
	local stats="$dir/out/default/fuzzer_stats"
	[ -f "$stats" ] || { tail -20 "$dir/log"; die "afl-fuzz did not start for $t"; }
	stat() { awk -F': *' -v k="$1" '$1 ~ "^"k" *$" {print $2}' "$stats"; }
	printf '%-12s exec/s %-7s corpus %-5s crashes %-3s hangs %s\n' "$t" "$(stat execs_per_sec)" \
		"$(stat corpus_count)" "$(stat saved_crashes)" "$(stat saved_hangs)"
	mkdir -p "$dir/artifacts"
	find "$dir/out/default/crashes" "$dir/out/default/hangs" -type f -name 'id:*' \
		-exec cp {} "$dir/artifacts/" \; 2>/dev/null || true
	report_artifacts "$t" "$dir/artifacts" "$bindir/$t"
}

case "$engine" in
libfuzzer) build_libfuzzer ;;
afl) build_afl ;;
*) die "--engine must be libfuzzer or afl" ;;
esac
for t in "${targets[@]}"; do
	"fuzz_$engine" "$t"
done
if [ "$failed" = 1 ]; then
	say "FAILED: crashes, timeouts, OOMs or leaks above"
	exit 1
fi
say "no crash in ${targets[*]}"

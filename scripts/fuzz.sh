#!/usr/bin/env bash
# The main job: build the fuzz targets with ASan+UBSan and fuzz every parser.
#
#   scripts/fuzz.sh                       every target, 60 s each, libFuzzer
#   scripts/fuzz.sh --target fuzz_vsock --time 900 --jobs 2
#   scripts/fuzz.sh --merge               add what earlier runs found to corpus/ (no fuzzing)
#   scripts/fuzz.sh --engine afl          AFL++ on the same targets and corpus
#   scripts/fuzz.sh --patch fuzz/known-bugs/region-split.patch --no-seeds
#                                         does fuzzing find this bug from nothing?
#
# Options:
#   --target NAME         fuzz only NAME (repeatable); default: every fuzz/fuzz_*.c
#   --time SECONDS        fuzzing time per target (default 60)
#   --jobs N              N parallel libFuzzer workers per target (-fork=N; default 1);
#                         they keep going after a failure and every failure is reported
#   --timeout SECONDS     per-input time limit: longer is a failure (default 5, never
#                         libFuzzer's 1200)
#   --rss-limit-mb MB     memory limit: more is a failure (default 2048)
#   --engine NAME         libfuzzer (default) or afl (AFL++)
#   --corpus-out DIR      keep new units in DIR/<target> (also read; CI caches it)
#   --no-seeds            do not read corpus/<target>: start from nothing
#   --seed N              libFuzzer's random seed, for a repeatable run
#   --patch FILE          fuzz a scratch copy of the tree with FILE applied (libfuzzer)
#   --minimize-time SECS  time to minimise each distinct failure (default 30; 0: skip)
#   --summary FILE        also append the report to FILE as Markdown (CI job summary)
#   --merge               fuzz nothing: merge the new units of every earlier run
#                         (and of --corpus-out) into corpus/<target>
#   --clean               delete earlier runs (build/fuzz-out) first
#   -h, --help            this text
#
# Per target it prints exec/s, new corpus units, coverage and features; then
# every failure (crash, timeout, OOM, leak, oracle failure), found while
# loading the corpus or while mutating, grouped by reason: the reason (the
# oracle's message or the sanitizer's SUMMARY line), the operation that
# failed, the artifact, a minimised artifact, and commands to reproduce and
# inspect it. Each run keeps its log, new units, artifacts and report in its
# own directory build/fuzz-out/<target>/run-<time>/: nothing is overwritten.
# Exit status: 0 nothing failed, 1 a failure was found, 2 bad options, 3 the
# fuzzer could not be built or run. Installs clang/llvm (afl++) as root.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/fuzz_report.sh
source "$(dirname "$0")/lib/fuzz_report.sh"

usage_error() { printf 'error: %s (see scripts/fuzz.sh --help)\n' "$*" >&2; exit 2; }
# need_value OPTION ARGS...: the option's value, which must be there
need_value() {
	if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#--}" != "$2" ]; then usage_error "$1 needs a value"; fi
}
# need_number OPTION VALUE MIN: a whole number >= MIN
need_number() {
	[[ $2 =~ ^[0-9]+$ ]] || usage_error "$1 takes a whole number, not '$2'"
	[ "$((10#$2))" -ge "$3" ] || usage_error "$1 must be at least $3, not '$2'"
}

all_targets=()
mapfile -t all_targets < <(find "$VIRTQ_ROOT/fuzz" -maxdepth 1 -name 'fuzz_*.c' -printf '%f\n' |
	sed 's/\.c$//' | sort)
targets=() time_limit=60 jobs=1 merge=0 timeout=5 rss=2048 engine=libfuzzer corpus_out=
no_seeds=0 seed='' patch='' minimize_time=30 summary='' clean=0
while [ $# -gt 0 ]; do
	case "$1" in
	--target) need_value "$@"; targets+=("$2"); shift 2 ;;
	--time) need_value "$@"; need_number "$1" "$2" 1; time_limit=$2; shift 2 ;;
	--jobs) need_value "$@"; need_number "$1" "$2" 1; jobs=$2; shift 2 ;;
	--timeout) need_value "$@"; need_number "$1" "$2" 1; timeout=$2; shift 2 ;;
	--rss-limit-mb) need_value "$@"; need_number "$1" "$2" 1; rss=$2; shift 2 ;;
	--engine) need_value "$@"; engine=$2; shift 2 ;;
	--corpus-out) need_value "$@"; corpus_out=$2; shift 2 ;;
	--no-seeds) no_seeds=1; shift ;;
	--seed) need_value "$@"; need_number "$1" "$2" 0; seed=$2; shift 2 ;;
	--patch) need_value "$@"; patch=$2; shift 2 ;;
	--minimize-time) need_value "$@"; need_number "$1" "$2" 0; minimize_time=$2; shift 2 ;;
	--summary) need_value "$@"; summary=$2; shift 2 ;;
	--merge) merge=1; shift ;;
	--clean) clean=1; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage_error "unknown option '$1'" ;;
	esac
done
case "$engine" in libfuzzer|afl) ;; *) usage_error "--engine must be libfuzzer or afl, not '$engine'" ;; esac
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
	[[ " ${all_targets[*]} " == *" $t "* ]] ||
		usage_error "unknown target '$t'; the targets are: ${all_targets[*]}"
done
if [ -n "$patch" ]; then
	[ -f "$patch" ] || usage_error "--patch: no file '$patch'"
	[ "$engine" = libfuzzer ] || usage_error "--patch works with --engine libfuzzer only"
	patch=$(cd "$(dirname "$patch")" && pwd)/$(basename "$patch")
fi
if [ "$merge" = 1 ]; then
	if [ -n "$patch" ] || [ "$no_seeds" = 1 ] || [ "$clean" = 1 ] || [ "$engine" != libfuzzer ]; then
		usage_error "--merge merges into corpus/: not with --patch, --no-seeds, --clean or --engine afl"
	fi
fi
if [ -n "$summary" ]; then
	: >>"$summary" 2>/dev/null || usage_error "--summary: cannot write '$summary'"
fi
[ -z "$corpus_out" ] || mkdir -p "$corpus_out" 2>/dev/null ||
	usage_error "--corpus-out: cannot create '$corpus_out'"

out="$VIRTQ_ROOT/build/fuzz-out"
if [ "$clean" = 1 ]; then
	say "deleting earlier runs in $out"
	rm -rf "$out"
fi
failed_targets=()

# ---- building -------------------------------------------------------------------
# build_libfuzzer: the targets, from the tree or from a patched copy of it
build_libfuzzer() {
	ensure_packages clang llvm libclang-rt-dev cmake make patch
	local src=$VIRTQ_ROOT dir="$VIRTQ_ROOT/build/fuzz-libfuzzer" werror=ON
	if [ -n "$patch" ]; then
		local name
		name=$(basename "$patch" .patch)
		src="$VIRTQ_ROOT/build/fuzz-patched/$name/src" dir="$VIRTQ_ROOT/build/fuzz-patched/$name/build"
		rm -rf "$src" && mkdir -p "$src"
		(cd "$VIRTQ_ROOT" && tar -cf - --exclude=./build --exclude=./.git .) | tar -xf - -C "$src"
		patch -s -p1 -d "$src" <"$patch" || { echo "error: $patch does not apply" >&2; exit 3; }
		werror=OFF # a bug patch may leave a variable unused
		say "building ${targets[*]} with $(basename "$patch") applied, in $dir"
	else
		say "building ${targets[*]} (clang, libFuzzer, ASan+UBSan) in $dir"
	fi
	mkdir -p "$dir"
	cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER=clang -DVIRTQ_FUZZ=ON -DVIRTQ_WERROR="$werror" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIRTQ_BUILD_TESTS=OFF -DBUILD_TESTING=OFF \
		>"$dir/configure.log" 2>&1 || { tail -30 "$dir/configure.log"; echo "error: cmake failed" >&2; exit 3; }
	cmake --build "$dir" --target "${targets[@]}" -j "$(nproc_or_2)" >"$dir/build.log" 2>&1 ||
		{ tail -30 "$dir/build.log"; echo "error: build failed (log: $dir/build.log)" >&2; exit 3; }
	bindir="$dir/fuzz"
}

build_afl() {
	"$VIRTQ_ROOT/scripts/cfl-build.sh" afl || exit 3
	bindir="$VIRTQ_ROOT/build/cfl-afl/out"
}

# new_run_dir TARGET: a fresh directory for this run's results
new_run_dir() {
	local base d n=1
	base="$out/$1/run-$(date +%Y%m%d-%H%M%S)"
	d=$base
	while [ -e "$d" ]; do n=$((n + 1)) d=$base-$n; done
	mkdir -p "$d/artifacts"
	printf '%s' "$d"
}

# print_stats TARGET EXECS UNITS COV FT EXTRA
print_stats() {
	printf '%-12s exec/s %-7s new units %-5s coverage %-5s features %s%s\n' "$@"
	summary_line "| $1 | $2 | $3 | $4 | $5 |"
}

# ---- libFuzzer ----------------------------------------------------------------
fuzz_libfuzzer() {
	local t=$1 bin="$bindir/$1" run new had rc=0
	run=$(new_run_dir "$t")
	new="$run/new"
	[ -z "$corpus_out" ] || new="$corpus_out/$t"
	mkdir -p "$new"
	had=$(find "$new" -type f | wc -l)
	local args=(-max_total_time="$time_limit" -timeout="$timeout" -rss_limit_mb="$rss"
		-print_final_stats=1 -artifact_prefix="$run/artifacts/" -dict="$VIRTQ_ROOT/fuzz/$t.dict")
	[ -z "$seed" ] || args+=(-seed="$seed")
	# Workers go on after a failure, so a long session reports all it finds.
	[ "$jobs" -eq 1 ] || args+=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
	local dirs=("$new")
	[ "$no_seeds" = 1 ] || dirs+=("$VIRTQ_ROOT/corpus/$t")
	say "$t: fuzzing for ${time_limit}s$([ "$jobs" -eq 1 ] || echo " with $jobs workers") (run: $run)"
	# New units go to the first directory; corpus/ is only read.
	local started=$SECONDS
	(cd "$run" && timeout $((time_limit + 10 * timeout + 120)) "$bin" "${args[@]}" "${dirs[@]}" \
		>"$run/log" 2>&1) || rc=$?
	echo "fuzz.sh: libFuzzer exited with status $rc after $((SECONDS - started)) s" >>"$run/log"
	local cov ft
	cov=$(fuzz_stat "$run/log" 'cov: [0-9]+')
	ft=$(fuzz_stat "$run/log" 'ft: [0-9]+')
	print_stats "$t" "$(fuzz_exec_per_sec "$run/log")" "$(($(find "$new" -type f | wc -l) - had))" \
		"${cov:-?}" "${ft:-?}" \
		"$(grep -q -a -E 'INITED|starting to fuzz' "$run/log" || echo " (stopped while loading the corpus)")"
	index_inputs "${dirs[@]}"
	report_failures "$t" "$run" "$bin"
	if [ "$failing_inputs" -gt 0 ]; then
		failed_targets+=("$t")
	elif [ "$rc" -ne 0 ]; then
		# a fuzzer that stops early without an artifact is a failure too
		printf 'FAILED %s: libFuzzer exited with status %s and left no artifact; last lines of %s:\n' \
			"$t" "$rc" "$run/log" | tee "$run/report.txt"
		tail -5 "$run/log" | sed 's/^/    /' | tee -a "$run/report.txt"
		summary_block "$run/report.txt"
		failed_targets+=("$t")
	fi
}

# merge_runs TARGET: earlier runs' new units (and --corpus-out's) into corpus/
merge_runs() {
	local t=$1 bin="$bindir/$1" dir="$VIRTQ_ROOT/corpus/$1" sources=() d before after log
	for d in "$out/$t"/run-*/new ${corpus_out:+"$corpus_out/$t"}; do
		[ -d "$d" ] && [ -n "$(ls -A "$d")" ] && sources+=("$d")
	done
	if [ ${#sources[@]} -eq 0 ]; then
		say "$t: no new units from earlier runs to merge"
		return
	fi
	log="$out/$t/merge-$(date +%Y%m%d-%H%M%S).log"
	before=$(find "$dir" -maxdepth 1 -type f | wc -l)
	"$bin" -merge=1 -timeout="$timeout" -rss_limit_mb="$rss" "$dir" "${sources[@]}" >"$log" 2>&1 ||
		{ tail -20 "$log"; echo "error: merge failed (log: $log)" >&2; exit 3; }
	after=$(find "$dir" -maxdepth 1 -type f | wc -l)
	say "$t: merged $((after - before)) units into corpus/$t from ${#sources[@]} earlier run(s) (log: $log)"
}

# ---- AFL++ --------------------------------------------------------------------
fuzz_afl() {
	local t=$1 run stats
	run=$(new_run_dir "$t")
	mkdir -p "$run/in"
	if [ "$no_seeds" = 0 ]; then
		find "$VIRTQ_ROOT/corpus/$t" -type f ! -name 'README*' -exec cp {} "$run/in/" \;
	fi
	[ -n "$(ls -A "$run/in")" ] || printf 'seed' >"$run/in/empty"
	say "$t: AFL++ for ${time_limit}s (run: $run)"
	AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
		AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1 \
		timeout $((time_limit + 60)) afl-fuzz -V "$time_limit" -t "$((timeout * 1000))" -m none \
		${seed:+-s "$seed"} -i "$run/in" -o "$run/out" -x "$VIRTQ_ROOT/fuzz/$t.dict" \
		-- "$bindir/$t" >"$run/log" 2>&1 || true
	stats="$run/out/default/fuzzer_stats"
	if [ ! -f "$stats" ]; then
		printf 'FAILED %s: afl-fuzz did not start; last lines of %s:\n' "$t" "$run/log"
		tail -20 "$run/log" | sed 's/^/    /'
		failed_targets+=("$t")
		return
	fi
	stat() { awk -F': *' -v k="$1" '$1 ~ "^"k" *$" {print $2}' "$stats"; }
	printf '%-12s exec/s %-7s corpus %-5s stability %-8s crashes %-3s hangs %s\n' "$t" \
		"$(stat execs_per_sec)" "$(stat corpus_count)" "$(stat stability)" \
		"$(stat saved_crashes)" "$(stat saved_hangs)"
	summary_line "| $t | $(stat execs_per_sec) | $(stat corpus_count) | stability $(stat stability) | |"
	local f
	for f in "$run/out/default/crashes"/id:* "$run/out/default/hangs"/id:*; do
		[ -f "$f" ] || continue
		case "$f" in */hangs/*) cp "$f" "$run/artifacts/timeout-$(basename "$f" | tr ':,' '__')" ;;
		*) cp "$f" "$run/artifacts/crash-$(basename "$f" | tr ':,' '__')" ;; esac
	done
	# AFL++'s binaries run one input from a file argument, like libFuzzer's
	minimize_time=0 report_failures "$t" "$run" "$bindir/$t"
	[ "$failing_inputs" -eq 0 ] || failed_targets+=("$t")
}

case "$engine" in
libfuzzer) build_libfuzzer ;;
afl) build_afl ;;
esac
if [ "$merge" = 1 ]; then
	for t in "${targets[@]}"; do merge_runs "$t"; done
	exit 0
fi
summary_line "### scripts/fuzz.sh: ${time_limit} s per target, $engine$([ -z "$patch" ] || echo ", $(basename "$patch") applied")"
summary_line ""
summary_line "| target | exec/s | new units | coverage | features |"
summary_line "|---|---|---|---|---|"
for t in "${targets[@]}"; do
	"fuzz_$engine" "$t"
done
if [ ${#failed_targets[@]} -gt 0 ]; then
	say "FAILED: ${failed_targets[*]} (reports above; each run's report.txt is in build/fuzz-out/<target>/run-*/)"
	summary_line "**FAILED: ${failed_targets[*]}**"
	exit 1
fi
say "no failure in ${targets[*]}"
summary_line "No failure in ${targets[*]}."

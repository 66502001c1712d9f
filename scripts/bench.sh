#!/usr/bin/env bash
# Benchmarks virtq's datapath (bench/README.md "Workloads" W1-W7, and W1-W6
# in the packed layout as <workload>_packed) against a trusted-ring baseline
# and, with --peers, against Linux vringh and QEMU libvhost-user built from
# Debian packages (split layout only), on the same machine in one run.
# Release build with -DVIRTQ_BENCH=ON in build/bench.
#
#   scripts/bench.sh                 virtq + baseline + threaded, 5 rounds
#   scripts/bench.sh --peers         also the peers (downloads Debian sources once)
#   scripts/bench.sh --perf          also instructions per iteration (perf stat,
#                                    or callgrind where perf has no counters)
#   scripts/bench.sh --runs N        rounds (default 5; each >= --min-time s)
#   scripts/bench.sh --min-time S    seconds per timed run (default 0.3)
#   scripts/bench.sh --only NAME     one workload (multi, multi_packed, single, ...)
#   scripts/bench.sh --compiler CC   gcc (default) or clang
#
# Rounds are interleaved: round 1 runs every implementation once, then round
# 2, ..., so a load on a shared machine hits every implementation alike.
# Each binary's "<workload> <ns>" lines go to stderr as they come; stdout gets
# virtq's "<workload> <median ns>" lines, then the table (median ns per
# iteration, lower is better; ratios; spread), virtq's split and packed
# figures side by side (packed/split), the threaded figure in chains/s,
# a WARNING line when the load average or a spread above 10% makes the
# timings unreliable, and the path of build/bench/bench.json, which has every
# run, the median, min and max.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/peers.sh
source "$(dirname "$0")/lib/peers.sh"

runs=5
min_time=0.3
only=""
peers=0
perf=0
cc=gcc
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift 2 ;;
	--min-time) min_time=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--peers) peers=1; shift ;;
	--perf) perf=1; shift ;;
	--compiler) cc=$2; shift 2 ;;
	-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"

ensure_packages "${VIRTQ_BUILD_PACKAGES[@]}"
out="$VIRTQ_ROOT/build/bench"
# Wall-clock figures need an idle machine; instruction counts (--perf) do not.
warnings=()
load_warning() { # load_warning WHEN: a warning if the 1-minute load average is high
	local load
	load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null) || return 0
	if awk -v l="$load" -v n="$(nproc_or_2)" 'BEGIN { exit !(l > n / 4) }'; then
		warnings+=("load average $load $1 on $(nproc_or_2) cpus: other work shares the machine, the timings are unreliable (the instruction counts are not affected)")
	fi
}
load_warning "before the runs"
say "configure + build (Release, VIRTQ_BENCH=ON, $cc) in build/bench"
cmake -S "$VIRTQ_ROOT" -B "$out" -DCMAKE_BUILD_TYPE=Release -DVIRTQ_BENCH=ON \
	-DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$out" -j "$(nproc_or_2)" -- --no-print-directory >/dev/null ||
	cmake --build "$out" -j 1

impls=("virtq=$out/bench/bench_virtq" "baseline=$out/bench/bench_baseline")
if [ "$peers" = 1 ]; then
	PEER_CC=$cc build_peers
	impls+=("${PEER_BINS[@]}")
fi

only_args=()
[ -n "$only" ] && only_args=(--only "$only")
results="$out/results.txt" # lines: impl workload ns
: >"$results"
for ((round = 1; round <= runs; round++)); do
	for entry in "${impls[@]}"; do
		name=${entry%%=*} bin=${entry#*=}
		say "round $round/$runs: $name"
		# The lines also go to stderr (not via tee /dev/stderr: reopening
		# it truncates a log file that stderr is redirected to).
		"$bin" --runs 1 --min-time "$min_time" "${only_args[@]}" | tee >(cat >&2) |
			awk -v impl="$name" 'NF == 2 { print impl, $1, $2 }' >>"$results"
	done
done

threaded_json="$out/threaded.json"
if [ -z "$only" ] || [ "$only" = threaded ]; then
	say "threaded: guest thread + device thread, $runs runs"
	"$out/bench/bench_threaded" --runs "$runs" --min-time "$min_time" --json "$threaded_json"
else
	rm -f "$threaded_json"
fi

# Instructions per iteration: (count at 2N+k iterations - count at k) / 2N,
# which cancels start-up and setup. perf stat where the machine has counters,
# else callgrind (exact, slower).
instr="$out/instructions.txt" # lines: impl workload instructions
: >"$instr"
count_instructions() { # BIN WORKLOAD ITERS -> total instructions of the process
	if [ "$counter" = perf ]; then
		perf stat -x, -e instructions:u "$1" --only "$2" --runs 1 --iters "$3" 2>&1 >/dev/null |
			awk -F, '/instructions/ { print $1 }'
	else
		valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --only "$2" --runs 1 \
			--iters "$3" 2>&1 >/dev/null | awk '/Collected/ { print $NF }'
	fi
}
# perf_counts: whether perf stat counts instructions on this machine.
perf_counts() {
	local o
	command -v perf >/dev/null || return 1
	o=$(perf stat -x, -e instructions:u true 2>&1 || true)
	[[ "$o" =~ ^[0-9]+,.*instructions ]]
}
if [ "$perf" = 1 ]; then
	command -v perf >/dev/null || ensure_packages linux-perf
	if perf_counts; then
		counter=perf
	else
		say "perf stat has no instruction counter here: using callgrind"
		counter=callgrind
		ensure_packages valgrind
	fi
	for entry in "${impls[@]}"; do
		name=${entry%%=*} bin=${entry#*=}
		mapfile -t ws < <(awk -v i="$name" '$1 == i { print $2 }' "$results" | sort -u)
		for w in "${ws[@]}"; do
			a=$(count_instructions "$bin" "$w" 100)
			b=$(count_instructions "$bin" "$w" 1100)
			if [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]]; then
				echo "$name $w $(((b - a) / 1000))" >>"$instr"
			fi
		done
	done
fi

json="$out/bench.json"
impl_names=$(for e in "${impls[@]}"; do printf '%s ' "${e%%=*}"; done)
awk -v impls="$impl_names" -v json="$json" -v runs="$runs" -v min_time="$min_time" \
	-v counter="${counter:-}" -v instr_file="$instr" -v threaded="$threaded_json" \
	-v notes="$(printf '%s\n' "${PEER_NOTES[@]}")" -v host="$(uname -m) $(nproc_or_2) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	lo = a[1]; hi = a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	if (($1, $2) in v) v[$1, $2] = v[$1, $2] " " $3; else v[$1, $2] = $3
	if (!($2 in seen)) { seen[$2] = 1; order[++nw] = $2 }
}
END {
	ni = split(impls, im, " ")
	while ((getline line < instr_file) > 0) { split(line, f, " "); ins[f[1], f[2]] = f[3] }
	# virtq: one line "<workload> <median ns>" each, then the table
	for (w = 1; w <= nw; w++)
		if ((im[1], order[w]) in v) printf "%s %.1f\n", order[w], median(v[im[1], order[w]])
	printf "\nmedian ns per iteration over %d runs of >= %ss (lower is better)\n", runs, min_time
	printf "%-24s", "workload"
	for (i = 1; i <= ni; i++) printf " %14s", im[i]
	printf " %15s", "virtq/baseline"
	for (i = 3; i <= ni; i++) printf " %18s", im[i] "/virtq"
	printf "\n"
	for (w = 1; w <= nw; w++) {
		name = order[w]; printf "%-24s", name
		for (i = 1; i <= ni; i++) {
			if ((im[i], name) in v) { m[i] = median(v[im[i], name]); mn[im[i], name] = lo; mx[im[i], name] = hi; md[im[i], name] = m[i]; printf " %14.1f", m[i] }
			else { m[i] = ""; printf " %14s", "-" }
		}
		printf " %15s", (m[1] != "" && m[2] > 0) ? sprintf("%.2f", m[1] / m[2]) : "-"
		for (i = 3; i <= ni; i++) printf " %18s", (m[i] != "" && m[1] > 0) ? sprintf("%.2fx", m[i] / m[1]) : "-"
		printf "\n"
	}
	printf "\nspread of the runs: min..max ns\n"
	for (w = 1; w <= nw; w++) {
		printf "%-24s", order[w]
		for (i = 1; i <= ni; i++)
			printf " %22s", ((im[i], order[w]) in md) ? sprintf("%.1f..%.1f", mn[im[i], order[w]], mx[im[i], order[w]]) : "-"
		printf "\n"
	}
	if (counter != "") {
		printf "\ninstructions per iteration (%s)\n", counter
		for (w = 1; w <= nw; w++) {
			printf "%-24s", order[w]
			for (i = 1; i <= ni; i++) printf " %14s", ((im[i], order[w]) in ins) ? ins[im[i], order[w]] : "-"
			printf "\n"
		}
	}
	# virtq split vs packed: each <workload> beside its <workload>_packed
	np = 0
	for (w = 1; w <= nw; w++)
		if ((im[1], order[w] "_packed") in md && (im[1], order[w]) in md) pair[++np] = order[w]
	if (np) {
		printf "\n%s: split vs packed layout, median ns per iteration%s\n", im[1], counter != "" ? " and instructions" : ""
		printf "%-24s %14s %14s %14s", "workload", "split", "packed", "packed/split"
		if (counter != "") printf " %14s %14s", "split instr", "packed instr"
		printf "\n"
		for (k = 1; k <= np; k++) {
			name = pair[k]; s_ns = md[im[1], name]; p_ns = md[im[1], name "_packed"]
			printf "%-24s %14.1f %14.1f %14s", name, s_ns, p_ns, (s_ns > 0 ? sprintf("%.2f", p_ns / s_ns) : "-")
			if (counter != "")
				printf " %14s %14s", ((im[1], name) in ins) ? ins[im[1], name] : "-", ((im[1], name "_packed") in ins) ? ins[im[1], name "_packed"] : "-"
			printf "\n"
		}
	}
	if (notes != "") printf "\n%s\n", notes
	printf "{\n  \"host\": \"%s\",\n  \"runs\": %d,\n  \"min_time_s\": %s,\n  \"unit\": \"ns per iteration\",\n  \"implementations\": {", host, runs, min_time > json
	for (i = 1; i <= ni; i++) {
		printf "%s\n    \"%s\": {", (i > 1 ? "," : ""), im[i] > json
		first = 1
		for (w = 1; w <= nw; w++) {
			name = order[w]
			if (!((im[i], name) in v)) continue
			list = v[im[i], name]; gsub(/ /, ", ", list)
			printf "%s\n      \"%s\": {\"median\": %.2f, \"min\": %.2f, \"max\": %.2f, \"runs\": [%s]", (first ? "" : ","), name, md[im[i], name], mn[im[i], name], mx[im[i], name], list > json
			if ((im[i], name) in ins) printf ", \"instructions\": %d", ins[im[i], name] > json
			printf "}" > json
			first = 0
		}
		printf "\n    }" > json
	}
	printf "\n  }" > json
	if (counter != "") printf ",\n  \"instruction_counter\": \"%s\"", counter > json
	n = split(notes, nl, "\n")
	printf ",\n  \"notes\": [" > json
	for (k = 1; k <= n; k++) { gsub(/"/, "\\\"", nl[k]); printf "%s\"%s\"", (k > 1 ? ", " : ""), nl[k] > json }
	printf "]" > json
	if ((getline tline < threaded) > 0) {
		printf ",\n  \"threaded\": %s", tline > json
		while ((getline tline < threaded) > 0) printf "\n  %s", tline > json
	}
	printf "\n}\n" > json
}' "$results"
if [ -f "$threaded_json" ]; then
	awk -F'"median": ' '/"threaded"/ { split($2, a, ","); printf "\nthreaded (guest thread + device thread): %.0f chains/s (median; higher is better)\n", a[1] }' "$threaded_json"
fi
load_warning "after the runs"
# A spread (max - min) above 10% of the median: that figure is not reliable.
while read -r line; do
	warnings+=("$line")
done < <(awk '{ k = $1 " " $2; v[k] = v[k] " " $3 }
	END {
		for (k in v) {
			n = split(v[k], a, " "); lo = hi = a[1]
			for (i = 2; i <= n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			if (n > 1 && med > 0 && (hi - lo) / med > 0.10)
				printf "spread of %s is %.0f%% of its median (%.1f..%.1f ns): not a reliable figure\n", k, 100 * (hi - lo) / med, lo, hi
		}
	}' "$results" | sort)
for w in "${warnings[@]}"; do
	printf 'WARNING: %s\n' "$w"
done
echo "results: $json"

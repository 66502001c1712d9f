#!/usr/bin/env bash
# Deterministic performance gate: counts the instructions per iteration of
# every virtq benchmark workload (bench/README.md "Workloads") under
# callgrind, which is exact and unaffected by the machine's load, and
# compares them with the figures checked in as bench/instructions.json.
# Fails when any workload takes more than --tolerance percent (default 3)
# more instructions than its checked-in figure, or has no figure, and then
# prints how to update the figures intentionally.
#
#   scripts/perf-gate.sh                  build (gcc, Release, VIRTQ_BENCH=ON) in
#                                         build/perf-gate, count, compare
#   scripts/perf-gate.sh --update         write the measured counts to the figures
#                                         file instead (a reviewed commit)
#   scripts/perf-gate.sh --figures FILE   compare with (or --update) FILE instead
#   scripts/perf-gate.sh --only NAME      one workload
#   scripts/perf-gate.sh --tolerance P    allowed increase in percent (default 3)
#
# Output: one line per workload "<name> <figure> <measured> <change %> <verdict>",
# then "perf-gate: PASSED" or "perf-gate: FAILED" with the update command.
# A workload that got more than the tolerance cheaper passes with a note
# that the figures can be lowered (so the gain is kept by the gate).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

figures="$VIRTQ_ROOT/bench/instructions.json"
update=0
only=""
tolerance=3
while [ $# -gt 0 ]; do
	case "$1" in
	--update) update=1; shift ;;
	--figures) figures=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--tolerance) tolerance=$2; shift 2 ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
[[ "$tolerance" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--tolerance needs a number of percent"

ensure_packages "${VIRTQ_BUILD_PACKAGES[@]}" valgrind
out="$VIRTQ_ROOT/build/perf-gate"
say "configure + build bench_virtq (Release, gcc) in $out"
cmake -S "$VIRTQ_ROOT" -B "$out" -DCMAKE_BUILD_TYPE=Release -DVIRTQ_BENCH=ON \
	-DCMAKE_C_COMPILER=gcc -DVIRTQ_BUILD_TESTS=OFF -DVIRTQ_BUILD_EXAMPLES=OFF \
	-DVIRTQ_BUILD_FUZZ_TOOLS=OFF >/dev/null
cmake --build "$out" -j "$(nproc_or_2)" --target bench_virtq -- --no-print-directory >/dev/null
bench="$out/bench/bench_virtq"
toolchain="$(gcc -dumpfullversion) $(uname -m), $(valgrind --version)"

# instructions BIN WORKLOAD ITERS: instructions callgrind counts for the process.
instructions() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --only "$2" --runs 1 \
		--iters "$3" 2>&1 >/dev/null | awk '/Collected/ { print $NF }'
}
# per_iteration WORKLOAD: (count at 1100 iterations - count at 100) / 1000,
# which cancels start-up and setup; rounded to the nearest instruction
# (callgrind's totals vary by a handful of instructions between runs).
per_iteration() {
	local a b
	a=$(instructions "$bench" "$1" 100)
	b=$(instructions "$bench" "$1" 1100)
	[[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] || die "callgrind counted nothing for $1"
	echo $(((b - a + 500) / 1000))
}

# The workloads the binary has, in its order (its --quick run lists them).
mapfile -t workloads < <("$bench" --quick | awk 'NF == 2 { print $1 }')
all_workloads=("${workloads[@]}")
if [ -n "$only" ]; then
	printf '%s\n' "${workloads[@]}" | grep -qx -- "$only" || die "no workload $only"
	workloads=("$only")
fi
measured=()
for w in "${workloads[@]}"; do
	say "callgrind: $w"
	measured+=("$w $(per_iteration "$w")")
done

if [ "$update" = 1 ]; then
	# Keep the figures of workloads not measured now (--only), in the
	# binary's order, then any the binary no longer has, in the file's.
	declare -A counts=()
	kept=()
	if [ -f "$figures" ]; then
		while read -r w n; do counts[$w]=$n; kept+=("$w"); done < <(
			sed -n 's/^    "\([a-z_0-9]*\)": \([0-9]*\),\{0,1\}$/\1 \2/p' "$figures")
	fi
	for m in "${measured[@]}"; do counts[${m% *}]=${m#* }; done
	mapfile -t names < <(printf '%s\n' "${all_workloads[@]}" "${kept[@]}" |
		awk 'NF && !seen[$0]++')
	mapfile -t names < <(for w in "${names[@]}"; do [ -n "${counts[$w]+set}" ] && echo "$w"; done)
	{
		printf '{\n  "counter": "callgrind instructions per iteration",\n'
		printf '  "command": "scripts/perf-gate.sh --update",\n'
		printf '  "toolchain": "%s",\n  "workloads": {\n' "$toolchain"
		for ((i = 0; i < ${#names[@]}; i++)); do
			printf '    "%s": %s%s\n' "${names[i]}" "${counts[${names[i]}]}" \
				"$([ $((i + 1)) -lt ${#names[@]} ] && echo ,)"
		done
		printf '  }\n}\n'
	} >"$figures"
	printf '%s\n' "${measured[@]}"
	echo "perf-gate: figures written to $figures; commit them with the reason for the change"
	exit 0
fi

[ -f "$figures" ] || die "no figures file $figures (create it: $0 --update)"
figure_toolchain=$(sed -n 's/^  "toolchain": "\(.*\)",$/\1/p' "$figures")
status=0
for m in "${measured[@]}"; do
	w=${m% *} n=${m#* }
	f=$(sed -n "s/^    \"$w\": \([0-9]*\),\{0,1\}$/\1/p" "$figures")
	if [ -z "$f" ]; then
		echo "$w - $n - FAILED: no checked-in figure"
		status=1
		continue
	fi
	awk -v w="$w" -v f="$f" -v n="$n" -v t="$tolerance" 'BEGIN {
		change = f > 0 ? 100 * (n - f) / f : (n > 0 ? 100 : 0)
		verdict = change > t ? "FAILED: regressed by more than " t "%" : \
			(change < -t ? "ok (cheaper: the figure can be lowered)" : "ok")
		printf "%s %d %d %+.1f%% %s\n", w, f, n, change, verdict
		exit change > t
	}' || status=1
done
if [ "$status" = 0 ]; then
	echo "perf-gate: PASSED (tolerance ${tolerance}%, figures $figures)"
	exit 0
fi
echo "perf-gate: FAILED: instructions per iteration above the checked-in figures by more than ${tolerance}%"
if [ "$figure_toolchain" != "$toolchain" ]; then
	echo "note: the figures were taken with $figure_toolchain; this is $toolchain (counts depend on the compiler)"
fi
cat <<EOF
If the cost is intended (a new check, a new feature), update the figures and
let the change be reviewed with them:
  scripts/perf-gate.sh --update      # rewrites ${figures#"$VIRTQ_ROOT/"}
  git commit ${figures#"$VIRTQ_ROOT/"} # say in the message what costs the instructions
Otherwise find the regression: scripts/bench.sh --perf, or
  valgrind --tool=callgrind $bench --only <workload> --iters 1000
EOF
exit 1

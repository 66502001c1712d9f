#!/usr/bin/env bash
# Machine-checked absence of runtime errors (README, "What is proved").
#
# Runs Frama-C's Eva on every guest-facing function from the drivers in
# proofs/drivers/, then WP on the ACSL contracts of proofs/wp/. Each Eva alarm
# must be listed, with its reason, in proofs/false-alarms.md; any other alarm,
# any failed proof goal or any analysis that does not run fails the script.
#
# Exit status: 0 all proved, 1 a new alarm or a failed goal, 2 bad option,
# 3 an analysis could not run (parse error, tool missing).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
	cat <<'EOF'
usage: scripts/prove.sh [--only NAME]... [--all] [--patch FILE] [--sizes LOG2] [--list]
  (no option)    the analyses CI runs: every one with no unjustified alarm
  --only NAME    run only this analysis (repeatable; see --list; "wp" is
                 all the WP proofs, "wp-NAME" one of them)
  --all          run every analysis, those with open alarms too
  --patch FILE   analyse a copy of the tree with FILE applied (patch -p1),
                 e.g. a deliberately reintroduced bug that must give an alarm
  --sizes LOG2   queue sizes 1 .. 2^LOG2 (default 15: every power of two up
                 to 32768)
  --list         print the analyses and what each covers, and exit
Prints, per analysis, the library functions analysed, the alarms (each new
one with its place) and the proved goals, with the time taken; output and
logs in build/prove/.
EOF
}

# name | driver | library sources | functions kept path-sensitive | defines |
# functions the analysis must reach (else the driver's set-up failed and the
# analysis proved nothing)
QUEUE_SLEVEL="one_size:100,resumed:1000,virtq_resume:100,virtq_pop:50,pop_ready:50,next_head:50,refresh_avail:50,virtq_discard:50,virtq_resubmit:50"
# What proofs/drivers/guest.c calls: in every analysis.
SETUP_SOURCES="mem.c queue.c inflight.c journal.c"
QUEUE_SOURCES="pop.c used.c batch.c chain.c $SETUP_SOURCES"
QUEUE_REACH="walk_chain virtq_add_used virtq_publish_used virtq_needs_notify virtq_add_used_many resume_apply datapath_after_resume"
PACKED_SOURCES="packed_pop.c packed_used.c packed_event.c $QUEUE_SOURCES"
PACKED_SLEVEL="one_packed_size:100,resumed_packed:1000,virtq_resume_packed:100,virtq_pop:50,virtq_discard:50,pop_one:50"
PACKED_REACH="virtq_packed_pop virtq_packed_add_used virtq_packed_publish virtq_packed_needs_notify virtq_packed_add_used_many virtq_packed_enable_notify walk_copies recover datapath_after_packed_resume"
ANALYSES=(
	"queue|eva_queue.c|$QUEUE_SOURCES|$QUEUE_SLEVEL|-DGUEST_INDIRECT=0|$QUEUE_REACH"
	"indirect|eva_queue.c|$QUEUE_SOURCES|$QUEUE_SLEVEL|-DGUEST_INDIRECT=1|$QUEUE_REACH"
	"state|eva_state.c|state.c state_codec.c $SETUP_SOURCES|||decode_fields virtq_state_encode"
	"restore|eva_restore.c|state.c state_codec.c $SETUP_SOURCES|restore_onto:100,virtq_restore:100,restore_checks:100||restore_apply virtq_save"
	"packed|eva_packed.c|$PACKED_SOURCES|$PACKED_SLEVEL||$PACKED_REACH"
	"mem|eva_mem.c|$SETUP_SOURCES|virtq_mem_split:100||virtq_mem_split copy_range"
	"chain|eva_chain.c|chain.c $SETUP_SOURCES|||cursor_move virtq_chain_segments"
	"vsock|eva_vsock.c|vsock.c vsock_hdr.c chain.c $SETUP_SOURCES|||virtq_vsock_rx_finish virtq_vsock_tx_segments"
)
# WP proofs: name | file in proofs/wp/ | functions proved | which of their
# properties. Functions called but not listed keep their contracts as
# assumptions (proofs/wp/*.c says which and why).
WP_JOBS=(
	"decode|state_codec.c|get_le,get16,get32,get64,announced_heads,check_heads_length,packed_active,decode_fixed,decode_fields|-wp-rte"
	"walk|walk.c|walk_chain|-wp-prop=@invariant,@variant"
)

# What the CI stage runs (no option): the analyses at zero unjustified
# alarms. The others run with --all or --only; they still have alarms that
# need a relational argument (README, "What is proved": not yet covered).
GATED="queue indirect packed state mem restore"

# Functions whose paths are kept apart (no merging) everywhere: the map and
# queue set-up, so that the configuration stays exact.
SETUP_SLEVEL="main:100,guest_map:200,add:200,virtq_mem_add_region:100,mem_first_above:100,any_features:200,guest_queue:200,guest_queue_packed:200,guest_configure:200,virtq_activate:100,virtq_queue_start_checks:100,virtq_queue_map_rings:100,map_ring:100,virtq_mem_translate:50,mem_region_of:50"

only=() patch="" log2_sizes=15 list=0 all=0 wp=1
while [ $# -gt 0 ]; do
	case $1 in
	--only) [ $# -ge 2 ] || { usage >&2; exit 2; }; only+=("$2"); shift 2 ;;
	--patch) [ $# -ge 2 ] || { usage >&2; exit 2; }; patch=$(realpath "$2"); shift 2 ;;
	--sizes)
		if [ $# -lt 2 ] || ! [[ $2 =~ ^([0-9]|1[0-5])$ ]]; then usage >&2; exit 2; fi
		log2_sizes=$2; shift 2 ;;
	--list) list=1; shift ;;
	--all) all=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
	esac
done
known() { local a; for a in "${ANALYSES[@]}"; do [ "${a%%|*}" = "$1" ] && return 0; done; return 1; }
known_wp() { local j; for j in "${WP_JOBS[@]}"; do [ "wp-${j%%|*}" = "$1" ] && return 0; done; return 1; }
# wanted_wp NAME: WP job NAME is to run (no --only, --only wp or --only wp-NAME)
wanted_wp() { [ ${#only[@]} -eq 0 ] || printf '%s\n' "${only[@]}" | grep -qx "wp\|wp-$1"; }
for n in "${only[@]}"; do
	[ "$n" = wp ] || known "$n" || known_wp "$n" || { echo "unknown analysis: $n (see --list)" >&2; exit 2; }
done
if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -q '^wp'; then wp=0; fi
[ -z "$patch" ] || [ -f "$patch" ] || { echo "no such patch: $patch" >&2; exit 2; }

if [ "$list" = 1 ]; then
	for a in "${ANALYSES[@]}"; do
		IFS='|' read -r name driver _ _ defines _ <<<"$a"
		gate=$([[ " $GATED " == *" $name "* ]] && echo gated || echo open)
		printf '%-8s %-5s proofs/drivers/%s %s: %s\n' "$name" "$gate" "$driver" "$defines" \
			"$(sed -n '3,/\*\//p' "$VIRTQ_ROOT/proofs/drivers/$driver" | sed 's/^ *\*\/.*//; s/^ \* *//' | tr '\n' ' ' | sed 's/  */ /g')"
	done
	for j in "${WP_JOBS[@]}"; do
		IFS='|' read -r name file fcts props <<<"$j"
		printf '%-8s gated proofs/wp/%s: %s (%s)\n' "wp-$name" "$file" "$fcts" "$props"
	done
	exit 0
fi

ensure_packages frama-c-base why3 z3 cvc4
command -v frama-c >/dev/null || { echo "frama-c not found after install" >&2; exit 3; }

out="$VIRTQ_ROOT/build/prove"
rm -rf "$out"
mkdir -p "$out"
# WP reaches z3 and cvc4 through why3, which knows only the provers its
# configuration lists: a private one, detected afresh, so that a fresh machine
# (or a user's stale ~/.why3.conf) cannot make the proofs fail to run.
export WHY3CONFIG="$out/why3.conf"
if [ "$wp" = 1 ] && ! why3 config detect >"$out/why3-detect.log" 2>&1; then
	echo "why3 config detect failed (see $out/why3-detect.log)" >&2
	exit 3
fi
tree="$VIRTQ_ROOT"
if [ -n "$patch" ]; then
	tree="$out/tree"
	mkdir -p "$tree"
	(cd "$VIRTQ_ROOT" && tar cf - src include proofs) | (cd "$tree" && tar xf -)
	patch -s -d "$tree" -p1 <"$patch" || { echo "patch $patch does not apply" >&2; exit 3; }
	say "analysing a copy with $(basename "$patch") applied"
fi

# The justified alarms: "| analyses | `file` | `message` | reason |" rows of
# false-alarms.md, as "analysis|file: message" lines.
justified="$out/justified.txt"
# shellcheck disable=SC2016 # the backquotes are markdown's
sed -n 's/^| *\([a-z, ]*\) *| *`\([^`]*\)` *| *`\([^`]*\)` *|.*/\1|\2: \3/p' \
	"$VIRTQ_ROOT/proofs/false-alarms.md" |
	while IFS='|' read -r names alarm; do
		for n in ${names//,/ }; do printf '%s|%s\n' "$n" "$alarm"; done
	done | sort -u >"$justified"

# alarms LOG: one "file:line: message" line per alarm Eva emitted.
alarms() {
	awk '/^\[eva:alarm\]/ { if (key != "") print key; key = $0; sub(/^\[eva:alarm\] /, "", key); next }
	     key != "" && /^  stack:/ { print key; key = ""; next }
	     key != "" && /^  / { m = $0; sub(/^ +/, "", m); key = key " " m; next }
	     key != "" { print key; key = "" }
	     END { if (key != "") print key }' "$1" | sed 's/  */ /g; s/ Warning://' | sort -u
}
# without_line: "file: message", the key false-alarms.md lists.
without_line() { sed -E 's/^([^:]+):[0-9]+: /\1: /' | sort -u; }

# functions LOG: the library functions Eva analysed (not the drivers').
functions() {
	sed -n 's/^\[eva:final-states\] Values at end of function \([A-Za-z0-9_]*\):$/\1/p' "$1" |
		grep -v -x -f <(grep -ohE '^[a-z_0-9 *]*\b([a-z_0-9]+)\(' "$tree"/proofs/drivers/*.c |
			sed -E 's/.*\b([a-z_0-9]+)\($/\1/') |
		grep -v -E '^(Frama_C_|__fc_|mem(cpy|move|set|cmp)$|virtq_model_)' |
		sed -E 's/_[0-9]+$//' | sort -u
}

# The analyses run as background jobs, one per core. An analysis over queue
# sizes (its driver reads LOG2_SIZES) is split into two jobs by size, the
# sizes up to half of LOG2 and those above (SIZES_FROM), the longest
# analyses being those. A job writes frama-c's log and exit status; a WP job
# also its messages ($dir/report), table row ($dir/row) and verdict
# ($dir/verdict: 0 passed, 1 failed goals, 3 did not run), last, so that a
# job that died on the way counts as not run.

# eva_part LOG FROM TO DRIVER SOURCES SLEVEL DEFINES: Eva on sizes 2^FROM ..
# 2^TO; exit status in LOG.rc.
eva_part() {
	local log=$1 from=$2 to=$3 driver=$4 sources=$5 slevel=$6 defines=$7 srcs=() s rc=0 start
	start=$(date +%s)
	for s in $sources; do srcs+=("$tree/src/$s"); done
	(cd "$tree" && frama-c -c11 -machdep gcc_x86_64 \
		-cpp-extra-args="-Iinclude -Iproofs/drivers -include proofs/include/atomics_model.h -include proofs/include/builtins_model.h -DSIZES_FROM=$from -DLOG2_SIZES=$to $defines" \
		-eva -eva-no-show-progress -eva-print-callstacks -eva-msg-key=-initial-state \
		-eva-split-return full -eva-slevel 0 \
		-eva-slevel-function "$SETUP_SLEVEL${slevel:+,$slevel}" \
		"proofs/drivers/$driver" proofs/drivers/guest.c proofs/drivers/datapath.c "${srcs[@]}") >"$log" 2>&1 || rc=$?
	echo "$rc" >"$log.rc"
	echo "$(($(date +%s) - start))" >"$log.seconds"
}

# size_ranges DRIVER: "FROM TO" per job of an analysis with this driver.
size_ranges() {
	if grep -q LOG2_SIZES "$tree/proofs/drivers/$1" && [ "$log2_sizes" -ge 1 ] && [ "$jobs_max" -ge 2 ]; then
		echo "0 $((log2_sizes / 2))"
		echo "$((log2_sizes / 2 + 1)) $log2_sizes"
	else
		echo "0 $log2_sizes"
	fi
}

# eva_verdict NAME REACH: the parts' logs (eva-*.log, in the analysis's
# directory) checked together: each ran to the end of its driver, the
# functions REACH were reached, every alarm is justified. Prints the
# messages, writes the row; returns 0, 1 (new alarms) or 3 (did not run).
eva_verdict() {
	local name=$1 reach=$2 dir="$out/$1" v=0 log f seconds=0
	for log in "$dir"/eva-*.log; do
		seconds=$((seconds + $(cat "$log.seconds")))
		if [ "$(cat "$log.rc")" != 0 ]; then
			echo "FAILED to run: $name (frama-c exit $(cat "$log.rc"), see $log)" >&2
			grep -E 'User Error|Failure|error:' "$log" | head -5 >&2 || true
			echo "$name|-|-|-|did not run" >"$dir/row"
			return 3
		fi
		if grep -q 'NON TERMINATING FUNCTION\|Degeneration occurred' "$log" ||
			! grep -q 'Values at end of function main' "$log"; then
			echo "FAILED: $name: the analysis did not reach the end of its driver (see $log)" >&2
			v=3
		fi
	done
	cat "$dir"/eva-*.log >"$dir/eva.log"
	alarms "$dir/eva.log" >"$dir/alarms.txt"
	functions "$dir/eva.log" >"$dir/functions.txt"
	# a driver's own function (datapath_after_resume) counts too: it runs
	# only if the call before it can succeed
	for f in $reach; do
		grep -qx "$f" "$dir/functions.txt" ||
			grep -qx "\[eva:final-states\] Values at end of function $f:" "$dir/eva.log" || {
			echo "FAILED: $name: $f was never reached: the driver's set-up fails (see $dir/eva.log)" >&2
			v=3
		}
	done
	while IFS= read -r alarm; do
		grep -qxF "$name|$(without_line <<<"$alarm")" "$justified" || echo "$alarm"
	done <"$dir/alarms.txt" >"$dir/new-alarms.txt"
	local n_alarms n_new n_fun
	n_alarms=$(wc -l <"$dir/alarms.txt")
	n_new=$(wc -l <"$dir/new-alarms.txt")
	n_fun=$(wc -l <"$dir/functions.txt")
	if [ "$n_new" -gt 0 ]; then
		[ "$v" = 3 ] || v=1
		echo "NEW ALARM(S) in analysis $name: $n_new, not justified in proofs/false-alarms.md:" >&2
		sed 's/^/  /' "$dir/new-alarms.txt" >&2
	fi
	echo "  functions: $(tr '\n' ' ' <"$dir/functions.txt")"
	echo "$name|$n_fun|$n_alarms|$((n_alarms - n_new))|${seconds}s" >"$dir/row"
	return "$v"
}

run_wp() {
	local name=$1 file=$2 fcts=$3 props=$4 dir="$out/wp-$1" start end proved total v=0
	start=$(date +%s)
	# shellcheck disable=SC2086 # props: several options
	if ! (cd "$tree" && frama-c -c11 -machdep gcc_x86_64 \
		-cpp-extra-args="-Iinclude -Isrc -include proofs/include/atomics_model.h -include proofs/include/builtins_model.h" \
		"proofs/wp/$file" -wp $props -wp-fct "$fcts" -wp-prover z3,cvc4 \
		-wp-timeout 20 -wp-par 1 -wp-session "$dir/session") >"$dir/wp.log" 2>&1; then
		echo "FAILED to run: wp $name (see $dir/wp.log)" >&2
		grep -E 'User Error|Failure|error:' "$dir/wp.log" | head -5 >&2 || true
		echo "$name|-|did not run" >"$dir/row"
		echo 3 >"$dir/verdict"
		return
	fi
	end=$(date +%s)
	read -r proved total < <(sed -n 's/^\[wp\] Proved goals: *\([0-9]*\) \/ \([0-9]*\)$/\1 \2/p' "$dir/wp.log")
	if [ -z "${total:-}" ] || [ "$proved" != "$total" ]; then
		v=1
		echo "FAILED GOAL(S) in wp $name: ${proved:-?} of ${total:-?} proved:" >&2
		grep -A3 '^\[wp\] \[Failed\]\|^\[wp\] \[Unknown\]\|Timeout' "$dir/wp.log" | sed 's/^/  /' >&2
	fi
	echo "$name|${proved:-0} / ${total:-?}|$((end - start))s" >"$dir/row"
	echo "$v" >"$dir/verdict"
}

# job COMMAND...: COMMAND in the background, at most one job per core.
jobs_max=$(nproc_or_2) jobs_started=0
job() {
	while [ "$(jobs -pr | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
	"$@" &
	jobs_started=$((jobs_started + 1))
}
run_wp_reported() { run_wp "$@" >"$out/wp-$1/report" 2>&1; }

# The order jobs start in: the longest analyses first, each its larger
# sizes first, so that the short ones fill the cores at the end (two cores:
# started in list order, the last long job ran alone for minutes).
LONGEST_FIRST="indirect packed queue"
in_start_order() {
	local n a
	for n in $LONGEST_FIRST; do
		for a in "${ANALYSES[@]}"; do [ "${a%%|*}" = "$n" ] && echo "$a"; done
	done
	for a in "${ANALYSES[@]}"; do
		[[ " $LONGEST_FIRST " == *" ${a%%|*} "* ]] || echo "$a"
	done
}

total_start=$(date +%s)
eva_names=() eva_headers=() eva_reach=()
while IFS= read -r a; do
	IFS='|' read -r name driver sources slevel defines reach <<<"$a"
	if [ ${#only[@]} -gt 0 ]; then
		printf '%s\n' "${only[@]}" | grep -qx "$name" || continue
	elif [ "$all" = 0 ] && [[ " $GATED " != *" $name "* ]]; then
		continue
	fi
	mkdir -p "$out/$name"
	eva_names+=("$name") eva_reach+=("$reach")
	eva_headers+=("eva: $name (proofs/drivers/$driver; sizes 1 .. 2^$log2_sizes)")
	while read -r from to; do
		job eva_part "$out/$name/eva-$from-$to.log" "$from" "$to" "$driver" "$sources" "$slevel" "$defines" </dev/null
	done < <(size_ranges "$driver" | tac)
done < <(in_start_order)
wp_dirs=()
if [ "$wp" = 1 ]; then
	for j in "${WP_JOBS[@]}"; do
		IFS='|' read -r name file fcts props <<<"$j"
		wanted_wp "$name" || continue
		mkdir -p "$out/wp-$name"
		echo "wp: $name (proofs/wp/$file: $fcts, $props)" >"$out/wp-$name/header"
		wp_dirs+=("$out/wp-$name")
		job run_wp_reported "$name" "$file" "$fcts" "$props"
	done
fi
say "$jobs_started jobs, $jobs_max at a time"
wait

failed=0 broken=0
for i in "${!eva_names[@]}"; do
	say "${eva_headers[$i]}"
	v=0
	eva_verdict "${eva_names[$i]}" "${eva_reach[$i]}" || v=$?
	case $v in
	0) ;;
	1) failed=1 ;;
	*) broken=1 ;;
	esac
done
for dir in "${wp_dirs[@]}"; do
	say "$(cat "$dir/header")"
	cat "$dir/report"
	case "$(cat "$dir/verdict" 2>/dev/null || echo 3)" in
	0) ;;
	1) failed=1 ;;
	*) broken=1 ;;
	esac
done

row() { cat "$out/$1/row" 2>/dev/null; }
printf '\n%-8s %9s %7s %9s %6s\n' analysis functions alarms justified time
for a in "${ANALYSES[@]}"; do
	name=${a%%|*}
	[ -n "$(row "$name")" ] || continue
	IFS='|' read -r n f al j t <<<"$(row "$name")"
	printf '%-8s %9s %7s %9s %6s\n' "$n" "$f" "$al" "$j" "$t"
done
for j in "${WP_JOBS[@]}"; do
	name=${j%%|*}
	[ -n "$(row "wp-$name")" ] || continue
	IFS='|' read -r n g t <<<"$(row "wp-$name")"
	printf 'wp %-5s %-26s %6s\n' "$n" "goals proved: $g" "$t"
done
echo "total time: $(($(date +%s) - total_start))s"

if [ "$broken" = 1 ]; then
	echo "PROVE: FAILED (an analysis did not run to completion)"
	exit 3
fi
if [ "$failed" = 1 ]; then
	echo "PROVE: FAILED (new alarms or failed goals above; fix the code, or justify an alarm in proofs/false-alarms.md)"
	exit 1
fi
echo "PROVE: PASSED (no unjustified alarm, every goal proved)"

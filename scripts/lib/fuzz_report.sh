# shellcheck shell=bash
# Failure reports of scripts/fuzz.sh: what a run's artifacts are, why each
# failed, which operation failed, a minimised input, how to reproduce and
# inspect it. Every function here tolerates missing or odd log lines: a
# report must never die half-way (the fuzz job's worst failure is a silent one).
#
# Uses these variables of fuzz.sh: engine timeout rss minimize_time summary VIRTQ_ROOT;
# sets failing_inputs.
# shellcheck disable=SC2154 # those variables are fuzz.sh's
# shellcheck disable=SC2034 # failing_inputs is for fuzz.sh

# fuzz_stat LOG REGEX: the number in the last match of REGEX ("cov: 123") in
# LOG, or nothing
fuzz_stat() {
	{ grep -a -oE "$2" "$1" 2>/dev/null || true; } | tail -1 | grep -oE '[0-9]+$' || true
}

# fuzz_exec_per_sec LOG: executions per second of a libFuzzer run, single
# process or -fork (where it is total runs over all workers / seconds)
fuzz_exec_per_sec() {
	local v runs secs
	v=$(fuzz_stat "$1" 'average_exec_per_sec: *[0-9]+')
	if [ -z "$v" ]; then
		# fork mode: "#12345: cov: ... time: 30s job: 7 ..."
		runs=$(fuzz_stat "$1" '^#[0-9]+' | tail -1)
		secs=$({ grep -a -oE '^#[0-9]+: .* time: [0-9]+s' "$1" 2>/dev/null || true; } |
			tail -1 | grep -oE '[0-9]+s$' | tr -d s || true)
		if [ -n "$runs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ]; then
			v=$((runs / secs))
		fi
	fi
	[ -n "$v" ] || v=$(fuzz_stat "$1" 'exec/s:? [0-9]+')
	if [ "${v:-0}" = 0 ]; then
		# stopped within its first second: say how many inputs it ran
		runs=$(fuzz_stat "$1" 'number_of_executed_units: *[0-9]+')
		[ -z "$runs" ] || v="$runs/<1s"
	fi
	printf '%s' "${v:-?}"
}

# failure_kind ARTIFACT: crash, timeout, oom, leak, ... from libFuzzer's prefix
failure_kind() {
	local name
	name=$(basename "$1")
	case "$name" in
	crash-*|timeout-*|oom-*|leak-*|slow-unit-*) printf '%s' "${name%%-*}" ;;
	id:*) printf 'crash' ;; # AFL++ (hangs are copied with a timeout- prefix)
	*) printf 'failure' ;;
	esac
}

# failure_reason RERUN_LOG: the one line that says why: the oracle's message,
# else UBSan's runtime error, else the sanitizer's or libFuzzer's SUMMARY
failure_reason() {
	local line
	line=$(grep -a -m1 '^oracle failed' "$1" 2>/dev/null ||
		grep -a -m1 'runtime error:' "$1" 2>/dev/null ||
		grep -a -m1 -o 'libFuzzer: out-of-memory.*' "$1" 2>/dev/null ||
		grep -a -m1 -o 'ALARM: working on the last Unit for [0-9]* seconds' "$1" 2>/dev/null ||
		grep -a -m1 '^SUMMARY: ' "$1" 2>/dev/null ||
		grep -a -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' "$1" 2>/dev/null) || true
	# paths inside the tree, or inside a patched copy of it, are noise here
	line=${line//$VIRTQ_ROOT\//}
	printf '%s' "$line" | sed -E 's#build/fuzz-patched/[^/]+/src/##g'
}

# reason_in_log LOG ARTIFACT: the reason given in the fuzzing log just
# before libFuzzer wrote ARTIFACT
reason_in_log() {
	local tmp
	tmp=$(mktemp)
	awk -v a="$(basename "$2")" '{ buf[NR % 400] = $0 } index($0, a) { for (i = NR - 399; i <= NR; i++) if (i > 0) print buf[i % 400]; exit }' \
		"$1" >"$tmp" 2>/dev/null || true
	failure_reason "$tmp"
	rm -f "$tmp"
}

# failed_op RERUN_LOG: index of the operation that was running, from the
# harness's VIRTQ_FUZZ_TRACE=ops lines; "final" for the checks after the
# last one; nothing if the target has no operations
failed_op() {
	local last
	last=$({ grep -a -E '^(op [0-9]+: |final checks$)' "$1" 2>/dev/null || true; } | tail -1)
	case "$last" in
	"final checks") printf 'final' ;;
	op*) last=${last#op }; printf '%s' "${last%%:*}" ;;
	esac
}

# inspect_command TARGET FILE OP: how to read the input
inspect_command() {
	local t=$1 f=$2 op=$3
	if [ "$t" = fuzz_state ]; then
		printf 'scripts/scenario print-state %s' "$f"
	elif [ "$op" = final ]; then
		printf 'scripts/scenario print --mark final %s' "$f"
	elif [ -n "$op" ]; then
		printf 'scripts/scenario print --mark %s %s' "$op" "$f"
	else
		printf 'scripts/scenario print %s' "$f"
	fi
}

# rerun BIN ARTIFACT LOG: runs one input again, tracing operations; prints
# its exit status. Bounded: a hang stops at the per-input timeout.
# (AFL++'s driver takes no libFuzzer flags: engine=afl runs the input bare.)
rerun() {
	local rc=0 flags=(-timeout="$timeout" -rss_limit_mb="$rss")
	[ "${engine:-libfuzzer}" = libfuzzer ] || flags=()
	VIRTQ_FUZZ_TRACE=ops timeout $((timeout * 2 + 30)) "$1" "${flags[@]}" "$2" >"$3" 2>&1 || rc=$?
	[ "$rc" -ne 124 ] || echo "SUMMARY: timeout: still running after $((timeout * 2 + 30)) s" >>"$3"
	printf '%s' "$rc"
}

# minimise BIN ARTIFACT OUT LOG: a smaller input that still fails (libFuzzer
# -minimize_crash), within minimize_time seconds; prints "OUT (A -> B bytes)"
# or why there is none
minimise() {
	local bin=$1 in=$2 out=$3 log=$4
	if [ "$minimize_time" -eq 0 ]; then
		printf 'skipped (--minimize-time 0)'
		return
	fi
	timeout $((minimize_time + 60)) "$bin" -minimize_crash=1 -max_total_time="$minimize_time" \
		-timeout="$timeout" -rss_limit_mb="$rss" -exact_artifact_path="$out" "$in" \
		>"$log" 2>&1 || true
	if [ -s "$out" ]; then
		printf '%s (%s -> %s bytes)' "$out" "$(wc -c <"$in")" "$(wc -c <"$out")"
	else
		printf 'none: libFuzzer could not minimise it (log: %s)' "$log"
	fi
}

# origin_of ARTIFACT: the input directory file with the same bytes ("found
# while loading the corpus"), else "mutation"; needs corpus_sha from
# index_inputs
origin_of() {
	local sum
	sum=$(sha1sum <"$1" | cut -d' ' -f1)
	if [ -n "${corpus_sha[$sum]+set}" ]; then
		printf 'an input already in the corpus: %s' "${corpus_sha[$sum]#"$VIRTQ_ROOT"/}"
	else
		printf 'a mutation (no input of the corpus has these bytes)'
	fi
}

# index_inputs DIR...: corpus_sha[sha1] = path, for origin_of
declare -A corpus_sha=()
index_inputs() {
	local sum path
	corpus_sha=()
	while read -r sum path; do
		corpus_sha[$sum]=$path
	done < <(find "$@" -maxdepth 1 -type f -exec sha1sum {} + 2>/dev/null || true)
}

# signature REASON: what makes two failures the same bug: the kind and the
# place (an oracle's file:line, a sanitizer's SUMMARY), not the values
signature() {
	local r=$1
	case "$r" in
	*": oracle failed at "*) r=${r#*oracle failed at }; printf '%s: oracle %s' "${1%%: *}" "${r%%: *}" ;;
	*) printf '%s' "$r" ;;
	esac
}

# explain BIN ARTIFACT LOG RUN: the failure's reason, from a re-run (LOG)
explain() {
	local rc reason
	rc=$(rerun "$1" "$2" "$3")
	reason=$(failure_reason "$3")
	if [ "$rc" = 0 ]; then
		# (an RSS limit is checked once a second: one input rarely trips it)
		reason="$(reason_in_log "$4/log" "$2") (did not fail again when re-run alone; the fuzzing log: $4/log)"
	fi
	[ -n "$reason" ] || reason="exit status $rc, no sanitizer or oracle message (log: $3)"
	printf '%s: %s' "$(failure_kind "$2")" "$reason"
}

# report_one TARGET RUN BIN ARTIFACT REASON COUNT: one failure's block
report_one() {
	local t=$1 run=$2 bin=$3 f=$4 reason=$5 count=$6 logs op min small small_op
	logs=$run/reruns/$(basename "$f")
	op=$(failed_op "$logs.log")
	small=$run/minimized/$(basename "$f") small_op=$op
	min=$(minimise "$bin" "$f" "$small" "$logs.minimize.log")
	if [ -s "$small" ]; then
		# the minimised input must fail the same way; its failing op may differ
		local again
		again=$(explain "$bin" "$small" "$logs.minimized.log" "$run")
		if [ "$(signature "$again")" = "$(signature "$reason")" ]; then
			small_op=$(failed_op "$logs.minimized.log")
		else
			min="$min, but it fails differently: ${again#*: }"
			small=$f
		fi
	else
		small=$f
	fi
	printf '  %s\n' "$reason"
	[ "$count" -eq 1 ] || printf '    inputs:    %d fail at the same place; the smallest:\n' "$count"
	printf '    artifact:  %s\n' "$f"
	printf '    found by:  %s\n' "$(origin_of "$f")"
	case "$op" in
	final) printf '    failed in: the checks after the last operation\n' ;;
	?*) printf '    failed in: operation %s\n' "$op" ;;
	esac
	printf '    minimised: %s\n' "$min"
	printf '    reproduce: %s %s\n' "$bin" "$f"
	printf '    inspect:   %s\n' "$(inspect_command "$t" "$small" "$small_op")"
}

# report_failures TARGET RUN_DIR BIN: one block per distinct failure among
# the run's artifacts, also in RUN_DIR/report.txt; sets failing_inputs to
# the number of failing inputs (0: nothing failed)
report_failures() {
	local t=$1 run=$2 bin=$3 f n=0 reason sig budget_end=$((SECONDS + 120)) skipped=0
	local -A first_of=() reason_of=() count_of=()
	local -a order=()
	mkdir -p "$run/reruns" "$run/minimized"
	# smallest first: the representative of a failure is its smallest input
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		n=$((n + 1))
		if [ "$SECONDS" -ge "$budget_end" ]; then
			skipped=$((skipped + 1))
			continue
		fi
		reason=$(explain "$bin" "$f" "$run/reruns/$(basename "$f").log" "$run")
		sig=$(signature "$reason")
		if [ -z "${first_of[$sig]+set}" ]; then
			first_of[$sig]=$f reason_of[$sig]=$reason count_of[$sig]=0
			order+=("$sig")
		fi
		count_of[$sig]=$((count_of[$sig] + 1))
	done < <(find "$run/artifacts" -maxdepth 1 -type f -printf '%s %p\n' 2>/dev/null | sort -n |
		cut -d' ' -f2-)
	failing_inputs=$n
	[ "$n" -gt 0 ] || return 0
	{
		printf 'FAILED %s: %d failing input(s), %d distinct failure(s)\n' "$t" "$n" "${#order[@]}"
		for sig in "${order[@]}"; do
			report_one "$t" "$run" "$bin" "${first_of[$sig]}" "${reason_of[$sig]}" "${count_of[$sig]}"
		done
		[ "$skipped" -eq 0 ] ||
			printf '  %d more input(s) not re-run (2 minutes went to the smaller ones): %s/artifacts\n' \
				"$skipped" "$run"
	} | tee "$run/report.txt"
	summary_block "$run/report.txt"
}

# summary_line TEXT: appends a line to the Markdown summary (--summary)
summary_line() {
	[ -z "$summary" ] || printf '%s\n' "$*" >>"$summary"
}

# summary_block FILE: appends a file to the Markdown summary as a code block
summary_block() {
	[ -z "$summary" ] && return 0
	{
		printf '\n```\n'
		cat "$1"
		printf '```\n\n'
	} >>"$summary"
}

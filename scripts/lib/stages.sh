# shellcheck shell=bash
# Named, timed stages for .ci/run: each stage prints its name when it starts;
# the run ends with a table of stages and their durations and one verdict
# line. The first failing stage ends the run and is named in the verdict.
#
#   source scripts/lib/stages.sh
#   stage lint scripts/lint.sh
#   stage tests scripts/test.sh --release
#   stages_passed

stage_names=() stage_times=() stage_results=()
stages_start=$SECONDS

# mmss SECONDS: "3m07s"
mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

stages_table() {
	local i
	printf '\n%-28s %8s  %s\n' stage time result
	for i in "${!stage_names[@]}"; do
		printf '%-28s %8s  %s\n' "${stage_names[$i]}" "$(mmss "${stage_times[$i]}")" "${stage_results[$i]}"
	done
	printf '%-28s %8s\n' total "$(mmss $((SECONDS - stages_start)))"
}

# stage NAME COMMAND...: runs COMMAND as stage NAME; on failure prints the
# table and the verdict naming NAME, and exits 1
stage() {
	local name=$1 start=$SECONDS rc=0
	shift
	printf '\n\033[1m==== stage %s: %s\033[0m\n' "$name" "$*" >&2
	"$@" || rc=$?
	stage_names+=("$name")
	stage_times+=($((SECONDS - start)))
	if [ "$rc" -ne 0 ]; then
		stage_results+=("FAILED (exit $rc)")
		stages_table
		echo "VERDICT: FAILED in stage '$name' (exit $rc) after $(mmss $((SECONDS - stages_start)));" \
			"its output is above the table"
		exit 1
	fi
	stage_results+=(ok)
	printf '\033[1m==== stage %s: ok in %s\033[0m\n' "$name" "$(mmss "${stage_times[-1]}")" >&2
}

# stages_passed: the table and the verdict of a run whose stages all passed
stages_passed() {
	stages_table
	echo "VERDICT: PASSED, ${#stage_names[@]} stages in $(mmss $((SECONDS - stages_start)))"
}

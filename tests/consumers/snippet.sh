# shellcheck shell=bash
# readme_snippet README NAME: prints the fenced code block that follows the
# line "<!-- snippet:NAME -->" in README, without its fences; fails (status 1,
# a message on stderr) if there is no such block. Sourced by the consumer
# tests and scripts/package.sh, so they build what README.md shows.
readme_snippet() {
	local out
	out=$(awk -v tag="<!-- snippet:$2 -->" '
		$0 == tag { armed = 1; next }
		armed == 1 && /^```/ { armed = 2; next }
		armed == 2 && /^```/ { found = 1; exit }
		armed == 2 { print }
		armed == 1 && NF { exit }   # text between the tag and the block
		END { exit !found }' "$1") || {
		echo "error: no snippet '$2' in $1" >&2
		return 1
	}
	printf '%s\n' "$out"
}

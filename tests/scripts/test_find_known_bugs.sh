#!/usr/bin/env bash
# scripts/find-known-bugs on its failure paths (no fuzzing, no builds): bad
# options and unknown bugs are usage errors (exit 2) that say what is wrong;
# --check passes on the tree and fails, naming the patch, on a copy where a
# mutant no longer applies; --help documents the mutation check.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
script=$root/scripts/find-known-bugs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# expect STATUS PATTERN CMD...: CMD exits with STATUS and prints PATTERN
expect() {
	local want=$1 pattern=$2 got=0
	shift 2
	"$@" >"$tmp/out" 2>&1 || got=$?
	[ "$got" = "$want" ] || { cat "$tmp/out" >&2; fail "$* exited $got, expected $want"; }
	grep -q -- "$pattern" "$tmp/out" || { cat "$tmp/out" >&2; fail "$* did not print '$pattern'"; }
}

expect 2 "--runs takes a number" bash "$script" --runs x
expect 2 "--corpus is seeds or empty" bash "$script" --corpus nothing
expect 2 "unknown option '--bogus'" bash "$script" --bogus
expect 2 "no fuzz/mutants/no-such-mutant.patch" bash "$script" --mutants no-such-mutant
expect 2 "no fuzz/known-bugs/pop-nested-indirect.patch" bash "$script" pop-nested-indirect
expect 0 "--caught-by" bash "$script" --help
expect 0 "bug patches apply" bash "$script" --check

# A copy of the tree in which one mutant's context is gone from src/.
mkdir -p "$tmp/tree"
(cd "$root" && tar -cf - --exclude=./build --exclude=./.git .) | tar -xf - -C "$tmp/tree"
sed -i 's/if (VIRTQ_UNLIKELY(d.next >= limit))/if (VIRTQ_UNLIKELY(limit <= d.next))/' "$tmp/tree/src/pop.c"
expect 1 "fuzz/mutants/pop-next-bound-off-by-one.patch no longer applies" \
	bash "$tmp/tree/scripts/find-known-bugs" --check
echo "find-known-bugs: failure paths ok"

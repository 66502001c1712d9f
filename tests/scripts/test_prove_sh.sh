#!/usr/bin/env bash
# scripts/prove.sh on its failure paths: a deliberately reintroduced bug (the
# chain walk following an unchecked `next`) gives a failed proof, a non-zero
# exit and a message naming it; an analysis that cannot run, or whose driver
# never reaches the part it exists for (a resume that cannot succeed), is
# reported as such;
# bad options exit 2; the unpatched queue analysis passes, its two sizes as
# two jobs. Runs the queue analysis at queue sizes 1 and 2 at most, so it
# takes a few minutes.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
expect() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
has() { grep -q -E -- "$2" "$1"; }
prove() { "$root/scripts/prove.sh" "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; cat "$tmp/out" "$tmp/err" >"$tmp/all"; }
rc() { cat "$tmp/rc"; }

prove --bogus
expect "unknown option: exit 2" test "$(rc)" = 2
prove --only nosuch
expect "unknown analysis: exit 2" test "$(rc)" = 2
expect "... named" has "$tmp/all" "unknown analysis: nosuch"
prove --list
expect "--list: exit 0, every analysis listed" test "$(rc)" = 0
expect "... the queue analysis, gated" has "$tmp/all" '^queue +gated '
expect "... each WP proof by its --only name" has "$tmp/all" '^wp-walk +gated '

# Eva takes walk_chain()'s loop invariant (i < limit) as given once it
# evaluated it, so with the check gone the bug shows where that invariant is
# proved: WP's proof "walk" fails.
prove --only queue --only wp-walk --sizes 0 --patch "$root/proofs/negative/unchecked-next.patch"
expect "unchecked next: exit 1" test "$(rc)" = 1
expect "... --only wp-walk: that proof alone" bash -c "! grep -q 'wp: decode' '$tmp/all'"
expect "... the failed goal named" has "$tmp/all" 'FAILED GOAL\(S\) in wp walk'
expect "... the loop invariant that no longer holds" has "$tmp/all" 'walk_chain_loop_invariant.*preserved'
expect "... verdict FAILED, last" has <(tail -1 "$tmp/out") '^PROVE: FAILED \(new alarms or failed goals'

prove --only queue --sizes 0 --patch "$root/proofs/negative/resume-after-reset.patch"
expect "a driver whose resume cannot succeed: exit 3" test "$(rc)" = 3
expect "... the unanalysed part named" has "$tmp/all" 'FAILED: queue: datapath_after_resume was never reached'

cat >"$tmp/unparsable.patch" <<'PATCH'
--- a/src/vsock_hdr.c
+++ b/src/vsock_hdr.c
@@ -6,2 +6,3 @@
  */
 #include "virtq/vsock.h"
+this is not C;
PATCH
prove --only vsock --patch "$tmp/unparsable.patch"
expect "an analysis that does not run: exit 3" test "$(rc)" = 3
expect "... reported" has "$tmp/all" 'FAILED to run: vsock'

prove --only queue --sizes 1
expect "unpatched queue analysis: exit 0" test "$(rc)" = 0
expect "... sizes 1 and 2 as two jobs" test -f "$root/build/prove/queue/eva-0-0.log" -a -f "$root/build/prove/queue/eva-1-1.log"
expect "... a table row with functions, alarms, justified, time" \
	has "$tmp/out" '^queue +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+s$'
expect "... verdict PASSED" has <(tail -1 "$tmp/out") '^PROVE: PASSED'

[ "$failures" -eq 0 ] || { echo "$failures check(s) of prove.sh failed" >&2; exit 1; }
echo "prove.sh: failure paths checked"

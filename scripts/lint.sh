#!/usr/bin/env bash
# Static checks that need no build: shellcheck on every shell script.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_packages shellcheck
cd "$VIRTQ_ROOT"
mapfile -t scripts < <(git ls-files '*.sh' 'scripts/*' '.ci/*' | sort -u |
	while read -r f; do [ -f "$f" ] && head -1 "$f" | grep -q '^#!.*sh' && echo "$f"; done)
say "shellcheck ${#scripts[@]} scripts"
shellcheck -x "${scripts[@]}"

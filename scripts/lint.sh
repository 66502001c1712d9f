#!/usr/bin/env bash
# Static checks that need no build: shellcheck on every shell script, and every
# GitHub workflow against GitHub's schema (npm's @action-validator/cli; Debian
# has no actionlint), so a broken workflow fails here, not on GitHub.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_packages shellcheck git
cd "$VIRTQ_ROOT"
mapfile -t scripts < <(git ls-files '*.sh' 'scripts/*' '.ci/*' 'tests/*' | sort -u |
	while read -r f; do [ -f "$f" ] && head -1 "$f" | grep -q '^#!.*sh' && echo "$f"; done)
say "shellcheck ${#scripts[@]} scripts"
shellcheck -x "${scripts[@]}"

command -v npm >/dev/null || ensure_packages nodejs npm
tools="$VIRTQ_ROOT/build/tools/npm"
validator="$tools/node_modules/.bin/action-validator"
if [ ! -x "$validator" ]; then
	say "installing @action-validator/cli (npm) into $tools"
	npm install --silent --no-audit --no-fund --prefix "$tools" @action-validator/cli@0 >/dev/null
fi
mapfile -t workflows < <(git ls-files '.github/workflows/*.yml')
say "validating ${#workflows[@]} workflows"
for w in "${workflows[@]}"; do
	"$validator" "$w" || die "$w does not validate"
done

#!/usr/bin/env bash
# A bounded exploration for CI: every scenario of the library, every oracle but `expect`,
# a fixed seed and about 60 s of draws (docs/explore.md). `expect` applies a base's
# [[expect]] lines, which describe that base's own outage, to draws of any other fault:
# they fail by design there, so a finding would not mean a defect. Prints the path of
# each finding's minimal scenario and exits non-zero on a finding (1), or on bad input (2).
# Usage: scripts/explore-ci.sh [FAILOVER_BINARY] [OUT_DIR] [SECONDS]
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
failover=${1:-$here/build/release/failover}
out=${2:-$here/build/explore-ci}
seconds=${3:-60}
"$failover" explore "$here/scenarios" --seed 20260508 --time "${seconds}s" --keep-going --shrink-steps 40 --no-oracle expect --out "$out"
code=$?
if [ "$code" -ne 0 ]; then
  echo "explore-ci: exit $code; minimal scenarios:" >&2
  ls "$out"/findings/*.toml 2>/dev/null || true
fi
exit "$code"

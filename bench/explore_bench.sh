#!/usr/bin/env bash
# Explorer throughput: one-hour draws per minute of `failover explore` on the headline
# scenario held at 2,400 requests/minute (an [explore] table fixes horizon = 1h and the
# rate multiplier at 1; faults, spikes, tokens and capacity still vary), every oracle on
# (each draw: the policy with faults, `direct` with faults, the policy without faults),
# at --jobs 1 and --jobs 2 with --keep-going and no shrinking; then shrink steps per
# minute on the case-study client's first finding. Wall time is measured here, outside
# the program. Benchmarks never assert: compare the printed figures between commits.
# Usage: bench/explore_bench.sh [FAILOVER_BINARY] [DRAWS]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
failover=${1:-$here/build/release/failover}
draws=${2:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=$work/hour.toml
cat "$here/scenarios/claude-503-storm-2026-05-08.toml" > "$base"
cat >> "$base" <<'TOML'

[explore]
horizon = ["1h", "1h"]
rate = [1.0, 1.0]
recovery = "10m"
TOML

seconds() {  # seconds CMD...: wall time of one run
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

echo "explore benchmark: $draws one-hour draws at 2,400 requests/minute, every oracle"
echo "machine: $(nproc) hardware threads ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
for jobs in 1 2; do
  t=$(seconds "$failover" explore "$base" --budget "$draws" --keep-going --shrink-steps 0 --jobs "$jobs" --out "$work/j$jobs")
  awk -v n="$draws" -v t="$t" -v j="$jobs" 'BEGIN { printf "--jobs %d: %.1f s, %.1f draws/min\n", j, t, 60 * n / t }'
done
if cmp -s "$work/j1/findings.json" "$work/j2/findings.json"; then echo "jobs 1 and 2: identical findings.json"; else echo "jobs 1 and 2: findings.json DIFFER"; fi

steps=40
t=$(seconds "$failover" explore "$base" --policy case-study --oracle do-no-harm --budget 50 --shrink-steps "$steps" --jobs 1 --out "$work/shrink")
d=$(grep -c '"index"' "$work/shrink/findings.json" || true)
s=$(grep -o '"shrink_steps": [0-9]*' "$work/shrink/findings.json" | awk '{ s += $2 } END { print s + 0 }')
echo "shrinking (case-study, do-no-harm): $s steps in $t s including the draws up to the first finding: $(awk -v s="$s" -v t="$t" 'BEGIN { printf "%.1f", 60 * s / t }') steps/min (upper-bounded wall)"

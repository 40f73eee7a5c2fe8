#!/usr/bin/env bash
# Sweep throughput: points per second of `failover sweep` on the headline scenario at
# --jobs 1 and --jobs 2 (a fixed 2 x 3 grid of breaker settings, seeds 1..4, so 24
# simulations of the 2 h storm), and the speed-up. Each setting runs REPEAT times
# (default 3) and the fastest wall time counts. Wall time is measured here, outside the
# program; the outputs of the two settings must be identical (checked with cmp).
# Usage: bench/sweep_bench.sh [FAILOVER_BINARY] [REPEAT]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
failover=${1:-$here/build/release/failover}
repeat=${2:-3}
scenario=$here/scenarios/claude-503-storm-2026-05-08.toml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(--set breaker.consecutive_failures=3,5 --set breaker.open_base=30s,1m,2m --seeds 4)
points=6

best_seconds() {  # best_seconds JOBS: the fastest of $repeat runs
  local jobs=$1 best="" i start end t
  for ((i = 0; i < repeat; i++)); do
    start=$(date +%s.%N)
    "$failover" sweep "$scenario" "${args[@]}" --jobs "$jobs" --out "$work/j$jobs" >/dev/null 2>&1
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  echo "$best"
}

t1=$(best_seconds 1)
t2=$(best_seconds 2)
for f in points.csv points.json report.md; do
  cmp -s "$work/j1/$f" "$work/j2/$f" || { echo "error: --jobs 1 and --jobs 2 wrote different $f" >&2; exit 1; }
done
printf 'machine: %s, %s hardware threads, load average %s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
  "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'scenario: %s, %d points x 4 seeds (%d runs), best of %d\n' "$(basename "$scenario" .toml)" "$points" $((points * 4)) "$repeat"
printf -- '--jobs 1: %6.2f s  %6.3f points/s\n' "$t1" "$(awk -v p="$points" -v t="$t1" 'BEGIN { print p / t }')"
printf -- '--jobs 2: %6.2f s  %6.3f points/s\n' "$t2" "$(awk -v p="$points" -v t="$t2" 'BEGIN { print p / t }')"
printf 'speed-up: %.2fx\n' "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print a / b }')"

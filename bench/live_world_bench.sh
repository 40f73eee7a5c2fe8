#!/usr/bin/env bash
# CPU per request of the live world (`failover run SCENARIO --live`): fleet, transport,
# live driver and bookkeeping together, in one process, for a streamed and a
# non-streamed mix, with a baseline build of `failover` run in the same command, so that
# both see the same machine. Each case runs the baseline and then the build under test,
# each under /usr/bin/time, and prints CPU seconds (user + system), arrivals, CPU per
# arrival, the live availability and new/baseline. The CPU includes the run's start-up
# (a CA and a key made for the run, the fleet, the simulator's side of the comparison),
# the same for both builds. Record the output in reports/two-worlds.md.
#
# usage: bench/live_world_bench.sh BASELINE_FAILOVER [FAILOVER]   (default build/ci/failover)
#        environment: CASES, a list of "scenario time-scale until" triples separated by
#        ';' (default: the quiet day at K = 60 for 20 scenario minutes, 80% streamed;
#        tests/cli/short-storm.toml at K = 10 for 3 minutes, none streamed; the headline
#        at K = 4 for 2 minutes, 80% streamed)
set -euo pipefail

cd "$(dirname "$0")/.."
baseline=${1:?usage: bench/live_world_bench.sh BASELINE_FAILOVER [FAILOVER]}
failover=${2:-build/ci/failover}
cases=${CASES:-"scenarios/quiet-day.toml 60 20m;tests/cli/short-storm.toml 10 3m;scenarios/claude-503-storm-2026-05-08.toml 4 2m"}
for f in "$baseline" "$failover"; do
  [ -x "$f" ] || { echo "live_world_bench.sh: $f not found: cmake --build build/ci --target failover" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "live_world_bench.sh: /usr/bin/time not found" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && commit+=" (with uncommitted changes)"
echo "machine:  $(nproc) cores (shared with other jobs), $(lscpu | grep 'Model name' | sed 's/.*:[[:space:]]*//')"
echo "compiler: $(g++ --version | head -n 1)"
echo "baseline: $baseline"
echo "build:    $failover (commit $commit)"
echo

# Runs one build on one case: prints "cpu_seconds arrivals availability load".
run_one() {
  local binary=$1 scenario=$2 k=$3 until=$4 out=$work/out.txt
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f '%U %S' -o "$work/time.txt" "$binary" run "$scenario" --live --time-scale "$k" --until "$until" \
    >"$out" 2>"$work/err.txt" || true  # a failed expectation exits 1; the figures still count
  local cpu arrived availability
  cpu=$(awk 'END { printf "%.2f", $1 + $2 }' "$work/time.txt")  # after any exit-status line
  arrived=$(awk '$1 == "arrived" { print $3 }' "$out")
  availability=$(awk '$1 == "availability" { print $3 }' "$out")
  [ -n "$arrived" ] || { echo "live_world_bench.sh: $binary $scenario gave no two-worlds table:" >&2; tail -n 5 "$work/err.txt" >&2; exit 1; }
  echo "$cpu $arrived $availability $load"
}

printf '%-40s %-9s %9s %9s %11s %12s %6s\n' case build "CPU s" arrivals "CPU/arrival" availability load
IFS=';' read -r -a list <<<"$cases"
for c in "${list[@]}"; do
  read -r scenario k until <<<"$c"
  name="$(basename "$scenario" .toml) K=$k $until"
  read -r base_cpu base_n base_av base_load <<<"$(run_one "$baseline" "$scenario" "$k" "$until")"
  read -r new_cpu new_n new_av new_load <<<"$(run_one "$failover" "$scenario" "$k" "$until")"
  base_per=$(awk -v c="$base_cpu" -v n="$base_n" 'BEGIN { printf "%.2f ms", 1e3 * c / n }')
  new_per=$(awk -v c="$new_cpu" -v n="$new_n" 'BEGIN { printf "%.2f ms", 1e3 * c / n }')
  printf '%-40s %-9s %9s %9s %11s %12s %6s\n' "$name" baseline "$base_cpu" "$base_n" "$base_per" "$base_av" "$base_load"
  printf '%-40s %-9s %9s %9s %11s %12s %6s\n' "" new "$new_cpu" "$new_n" "$new_per" "$new_av" "$new_load"
  awk -v b="$base_cpu" -v bn="$base_n" -v n="$new_cpu" -v nn="$new_n" \
    'BEGIN { printf "%-40s new / baseline CPU per arrival: %.2f\n", "", (n / nn) / (b / bn) }'
done

#!/usr/bin/env bash
# Builds the benchmarks with the release preset and runs them, after printing what a
# result must be recorded with (STYLE §10): machine, compiler, preset and commit.
# Extra arguments go to every benchmark binary, e.g.
#   scripts/bench.sh --benchmark_filter=Cycle --benchmark_out=build/release/engine.json
# Benchmarks never assert: compare reports/bench-*.md to judge a regression.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly preset=release
readonly build_dir=build/${preset}
readonly benches=(engine_bench protocol_bench)

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  commit+=" (with uncommitted changes)"
fi
echo "machine:  $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/.*:[[:space:]]*//')"
echo "compiler: $(g++ --version | head -n 1)"
echo "preset:   ${preset}"
echo "commit:   ${commit}"
echo

cmake --preset "${preset}" >/dev/null
for bench in "${benches[@]}" sim_bench; do
  cmake --build --preset "${preset}" --target "${bench}" -j "$(nproc)"
done

for bench in "${benches[@]}"; do
  echo
  "${build_dir}/bench/${bench}" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "$@"
done

# The simulator's macro benchmark: the headline shape for 3 and 24 simulated hours
# (a plain program that prints its figures; see reports/bench-sim.md).
echo
"${build_dir}/bench/sim_bench"

#!/usr/bin/env bash
# The commands of the CI examples beside this file (github-actions.yml, gitlab-ci.yml) in
# one place, so that both run the same thing and tests/cli/ci_example_test.sh (ctest,
# label cli) runs it too: the examples cannot drift from what is tested. Run it from the
# repository's top folder.
#
#   examples/ci/replay.sh build [DIR]
#       installs what building needs (scripts/install-deps.sh --runtime: Debian 12 or
#       Ubuntu 24.04) and builds `failover` with the release preset, tests and benchmarks
#       off, into DIR (default build/release): DIR/failover.
#   examples/ci/replay.sh configure [DIR]
#       the build's configure step alone.
#   examples/ci/replay.sh run FAILOVER [SCENARIOS] [OUT]
#       replays every scenario of the folder SCENARIOS (default scenarios) with the
#       program FAILOVER and writes, for CI to publish:
#         OUT/junit.xml      one JUnit test suite per scenario, a test case per expectation
#         OUT/results.json   every scenario's results in one JSON document
#         OUT/reports/       per scenario: the Markdown report, SVG charts, JSON, JUnit
#       (default OUT: out). FAILOVER_JOBS: simulations at once (default: every core).
#       Exit code as `failover run`'s: 0 every scenario passed, 1 an expectation failed
#       or a request was lost, 2 a scenario that does not load or an output error.
set -euo pipefail

usage() {
  echo "usage: examples/ci/replay.sh build [DIR] | configure [DIR] | run FAILOVER [SCENARIOS] [OUT]" >&2
  exit 2
}

at_top() {
  if [ ! -f CMakePresets.json ] || [ ! -x scripts/install-deps.sh ]; then
    echo "replay.sh: run it from the failover repository's top folder (no CMakePresets.json here)" >&2
    exit 2
  fi
}

configure() {
  at_top
  cmake --preset release -DFAILOVER_DEVELOPER_MODE=OFF -B "$1"
}

[ $# -ge 1 ] || usage
command=$1
shift
case $command in
  build)
    dir=${1:-build/release}
    at_top
    scripts/install-deps.sh --runtime
    configure "$dir"
    cmake --build "$dir" --target failover
    ;;
  configure)
    configure "${1:-build/release}"
    ;;
  run)
    [ $# -ge 1 ] || usage
    failover=$1
    scenarios=${2:-scenarios}
    out=${3:-out}
    jobs=${FAILOVER_JOBS:-$(nproc 2>/dev/null || echo 2)}
    [ "$jobs" -le 256 ] || jobs=256
    rm -rf "$out/reports" # a report of a scenario removed since must not be published again
    "$failover" run "$scenarios" --jobs "$jobs" --junit "$out/junit.xml" --json "$out/results.json" \
      --report-dir "$out/reports"
    ;;
  *)
    usage
    ;;
esac

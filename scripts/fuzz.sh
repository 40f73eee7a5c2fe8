#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp) with clang++ in build/fuzz and
# runs each for SECONDS on a scratch copy of its seed corpus (tests/fuzz/corpus/<name>/,
# where <name> is the target without "_fuzz"). Exits non-zero if any target finds a
# crash, leak or sanitizer report; the reproducer is kept as build/fuzz/<target>-crash-*.
# Line tables only (-gline-tables-only): a report's stack needs file:line, and full debug
# information of the Boost-heavy sources only lengthens CI's build.
set -euo pipefail

seconds=${1:?usage: scripts/fuzz.sh SECONDS}
case $seconds in
  '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build/fuzz

cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
  -DFAILOVER_FUZZ=ON \
  -DFAILOVER_BUILD_BENCH=OFF

targets=()
for source in "$root"/tests/fuzz/*_fuzz.cpp; do
  targets+=("$(basename "$source" .cpp)")
done
cmake --build "$build" -j2 --target "${targets[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

status=0
for target in "${targets[@]}"; do
  name=${target%_fuzz}
  corpus=$scratch/$name
  mkdir -p "$corpus"
  if [ -d "$root/tests/fuzz/corpus/$name" ]; then
    cp "$root/tests/fuzz/corpus/$name/"* "$corpus/"
  fi
  echo "== $target: ${seconds}s"
  if ! ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
       "$build/tests/fuzz/$target" "$corpus" \
         -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
         -artifact_prefix="$build/$target-"; then
    echo "== $target FAILED: see the reproducer $build/$target-*" >&2
    status=1
  fi
done
exit $status

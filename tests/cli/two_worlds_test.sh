#!/usr/bin/env bash
# CTest check (label cli) of one policy file for both worlds and of the run-size gate:
# `failover check-config` on a scenario and --print-live; a scenario over a live config
# prints exactly the live config; the sweep's best-<scenario>.toml is a live config that
# loads; a run of a million requests per second for 720 hours is refused by `run`,
# `sweep` and `explore` at once, with the estimate. A few seconds in a Debug build.
# Usage: two_worlds_test.sh FAILOVER_BINARY SOURCE_DIR
set -uo pipefail

failover=${1:?usage: two_worlds_test.sh FAILOVER_BINARY SOURCE_DIR}
source_dir=${2:?usage: two_worlds_test.sh FAILOVER_BINARY SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect CODE NAME ARGS...: runs the binary, keeps stdout/stderr as $work/NAME.out/.err.
expect() {
  local expected=$1 name=$2
  shift 2
  timeout 60 "$failover" "$@" >"$work/$name.out" 2>"$work/$name.err"
  local code=$?
  if [ "$code" -ne "$expected" ]; then
    fail "$name: 'failover $*' exited $code, expected $expected"
    sed 's/^/  | /' "$work/$name.err" >&2
  fi
}

live=$source_dir/examples/live.toml
storm=$source_dir/examples/live-storm.toml
body() { tail -n +2 "$1"; }  # without the header comment naming the file

# 1. check-config takes a scenario, and --print-live of a scenario over live.toml is live.toml.
expect 0 check-scenario check-config "$storm"
grep -q 'the policy under test' "$work/check-scenario.out" || fail "check-config on a scenario: no policy line"
grep -q 'route complex:' "$work/check-scenario.out" || fail "check-config on a scenario: no routes"
expect 0 print-scenario check-config "$storm" --print-live
expect 0 print-live check-config "$live" --print-live
diff <(body "$work/print-scenario.out") <(body "$work/print-live.out") >&2 ||
  fail "the scenario's policy under test is not live.toml"
cp "$work/print-live.out" "$work/printed.toml"
expect 0 print-printed check-config "$work/printed.toml" --print-live
diff <(body "$work/print-printed.out") <(body "$work/print-live.out") >&2 || fail "--print-live does not load back to itself"

# 2. A scenario override shows in the printed config; an error names the scenario's line.
mkdir -p "$work/ci"
sed 's|^config = "live.toml"|config = "'"$live"'"|' "$storm" >"$work/ci/storm.toml"
printf '\n[policy.breaker]\nopen_base = "45s"\n' >>"$work/ci/storm.toml"
expect 0 print-override check-config "$work/ci/storm.toml" --print-live
changed=$(diff <(body "$work/print-override.out") <(body "$work/print-live.out") | grep '^[<>]')
[ "$changed" = $'< open_base = "45s"\n> open_base = "30s"' ] || fail "the override changed other than open_base: $changed"
printf 'open_max = "later"\n' >>"$work/ci/storm.toml"
line=$(grep -n 'open_max = "later"' "$work/ci/storm.toml" | cut -d: -f1)
expect 2 bad-override check-config "$work/ci/storm.toml"
grep -q "storm.toml:$line:12: policy.breaker.open_max" "$work/bad-override.err" || fail "the error does not name the line"

# 3. The sweep writes its best point as a live config that loads.
expect 0 sweep sweep "$storm" --set breaker.open_base=10s,20s --seeds 1 --jobs 1 --out "$work/sweep"
[ -f "$work/sweep/best-live-storm.toml" ] || fail "sweep wrote no best-live-storm.toml"
grep -q 'best point as a live config' "$work/sweep.out" || fail "sweep does not name the best live config"
expect 0 best check-config "$work/sweep/best-live-storm.toml" --print-live
grep -qE '^open_base = "(10|20)s"' "$work/best.out" || fail "the best live config lacks the point's value"

# 4. A million requests per second for 720 hours is refused at once, with the estimate.
cat >"$work/huge.toml" <<'TOML'
[scenario]
title = "a million requests per second for 720 hours"
duration = "720h"
seeds = [1]
[traffic]
rate_rpm = 60000000
[[traffic.classes]]
name = "c"
share = "100%"
route = "r"
prompt_tokens = 100
output_tokens = 10
[[providers]]
name = "a"
[[providers.models]]
id = "m"
[providers.sim]
latency = { constant = "100ms" }
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
TOML
expect 2 huge-run run "$work/huge.toml"
expect 2 huge-sweep sweep "$work/huge.toml" --set breaker.open_base=10s,20s --out "$work/huge-sweep"
expect 2 huge-explore explore "$work/huge.toml" --budget 2 --out "$work/huge-explore"
for name in huge-run huge-sweep huge-explore; do
  grep -q 'would simulate about .* requests and up to .* events' "$work/$name.err" || fail "$name: no estimate"
  grep -q -- '--allow-long' "$work/$name.err" || fail "$name: does not name --allow-long"
done
grep -q 'about 2.59e+12 requests' "$work/huge-run.err" || fail "huge-run: the estimate is not 2.59e+12 requests"
[ ! -e "$work/huge-sweep/points.csv" ] || fail "the refused sweep wrote outputs"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "two_worlds_test: all checks passed"

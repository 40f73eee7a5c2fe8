#!/usr/bin/env bash
# The live transport's throughput next to wrk's, against the same fleet on loopback.
# Makes a throwaway CA (scripts/make-test-ca.sh), serves bench/fleet-loopback.toml with
# TLS on 127.0.0.1 (`failover fleet`), runs wrk (keep-alive, -c64, no certificate check:
# the baseline) and then `failover live` (64 requests at once, the CA verified) against
# one provider path, and prints both throughputs, latencies and live/wrk. Goal:
# live >= 0.5 x wrk. Record the output in reports/bench-live.md.
#
# usage: bench/live_bench.sh [BUILD_DIR]   (default build/release; needs `failover`)
#        environment: REQUESTS (live requests, default 100000), DURATION (wrk, default 10s),
#        CONNECTIONS (default 64)
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir=${1:-build/release}
failover=${build_dir}/failover
requests=${REQUESTS:-100000}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
[ -x "$failover" ] || { echo "live_bench.sh: $failover not found: cmake --build $build_dir --target failover" >&2; exit 2; }
command -v wrk >/dev/null || { echo "live_bench.sh: wrk not found (scripts/install-deps.sh)" >&2; exit 2; }

work=$(mktemp -d)
fleet_pid=
cleanup() {
  [ -n "$fleet_pid" ] && kill "$fleet_pid" 2>/dev/null && wait "$fleet_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && commit+=" (with uncommitted changes)"
echo "machine:  $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/.*:[[:space:]]*//')"
echo "compiler: $(g++ --version | head -n 1)"
echo "build:    ${build_dir} ($(grep -E '^CMAKE_BUILD_TYPE' "${build_dir}/CMakeCache.txt" 2>/dev/null | cut -d= -f2))"
echo "commit:   ${commit}"
echo "wrk:      $(wrk --version 2>&1 | head -n 1)"
echo

scripts/make-test-ca.sh "$work/ca"
"$failover" fleet bench/fleet-loopback.toml --listen 127.0.0.1:0 \
  --tls-cert "$work/ca/server.pem" --tls-key "$work/ca/server.key" >"$work/fleet.log" 2>&1 &
fleet_pid=$!
base=
for _ in $(seq 1 100); do
  base=$(sed -n 's/^provider bench openai //p' "$work/fleet.log")
  [ -n "$base" ] && break
  sleep 0.05
done
[ -n "$base" ] || { echo "live_bench.sh: the fleet did not start:" >&2; cat "$work/fleet.log" >&2; exit 1; }
echo "fleet:    $base"

# The request both clients send: what `failover live` encodes for this prompt.
body='{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
wrk -t2 -c"$connections" -d"$duration" --latency -s "$work/post.lua" "$base/chat/completions" >"$work/wrk.txt"
wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
wrk_p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
wrk_p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
wrk_errors=$(grep -E 'Non-2xx|Socket errors' "$work/wrk.txt" || true)

cat >"$work/live.toml" <<TOML
[[providers]]
name = "bench"
base_url = "$base"
protocol = "openai"
concurrency_max = $connections
[[providers.models]]
id = "bench-model"
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0

[[routes]]
name = "bench"
targets = [{ provider = "bench", model = "bench-model" }]

[policy.queue]
depth_max = 100000
requests_max = 100000
TOML
awk -v n="$requests" 'BEGIN { for (i = 0; i < n; i++) print "{\"prompt\": \"Say hello.\", \"max_tokens\": 16}" }' \
  >"$work/in.jsonl"
"$failover" live --config "$work/live.toml" --input "$work/in.jsonl" --concurrency "$connections" \
  --ca-file "$work/ca/ca.pem" --json --quiet >"$work/live.jsonl" 2>"$work/live.err" || {
  echo "live_bench.sh: failover live failed:" >&2; tail -n 5 "$work/live.err" >&2; tail -n 1 "$work/live.jsonl" >&2; exit 1; }
summary=$(tail -n 1 "$work/live.jsonl")
field() { echo "$summary" | sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }
live_rps=$(field requests_per_second)
live_p50=$(echo "$summary" | sed -n 's/.*"p50": \([0-9.]*\).*/\1/p')
live_p99=$(echo "$summary" | sed -n 's/.*"p99": \([0-9.]*\).*/\1/p')
live_ok=$(field succeeded)
live_wall=$(field wall_seconds)

echo
printf '%-14s %12s %12s %12s  %s\n' client "requests/s" "p50" "p99" notes
printf '%-14s %12.0f %12s %12s  %s\n' wrk "$wrk_rps" "$wrk_p50" "$wrk_p99" "-t2 -c$connections -d$duration, keep-alive, no cert check ${wrk_errors:+; $wrk_errors}"
printf '%-14s %12.0f %11.2fms %11.2fms  %s\n' "failover live" "$live_rps" "$live_p50" "$live_p99" \
  "$live_ok/$requests ok in ${live_wall}s, --concurrency $connections, cert verified"
awk -v l="$live_rps" -v w="$wrk_rps" 'BEGIN { printf "live / wrk: %.2f (goal >= 0.50)\n", l / w }'

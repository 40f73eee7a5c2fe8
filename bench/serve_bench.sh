#!/usr/bin/env bash
# The gateway's throughput next to the fleet's own, in one command: makes a throwaway CA
# (scripts/make-test-ca.sh), serves bench/fleet-loopback.toml with TLS on 127.0.0.1
# (`failover fleet`), then runs wrk (keep-alive, -c64) first straight at the fleet (the
# baseline) and then at `failover serve` (TLS too, a gateway key, the CA verified
# upstream) in front of the same fleet. Prints both throughputs and latencies, the
# ratio, the p50/p99 the gateway adds, and the gateway's CPU time per request (its
# utime + stime over the run, from /proc). Record the output in reports/bench-serve.md.
#
# usage: bench/serve_bench.sh [BUILD_DIR]   (default build/release; needs `failover`)
#        environment: DURATION (each wrk run, default 10s), CONNECTIONS (default 64),
#        THREADS (the gateway's connection threads, default 1),
#        PERF=stat (also the gateway's context switches and page faults per request, from
#        `perf stat`: software counters, which work in a VM without hardware ones) or
#        PERF=record (also `perf record -g` the gateway's measured run into PERF_OUT,
#        default perf.data: `perf report -i perf.data`; sampled on cpu-clock; a
#        RelWithDebInfo build names the lines)
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir=${1:-build/release}
failover=${build_dir}/failover
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-1}
perf_mode=${PERF:-}
perf_out=${PERF_OUT:-perf.data}
case "$perf_mode" in
  ""|stat|record) ;;
  *) echo "serve_bench.sh: PERF must be stat or record (or unset)" >&2; exit 2 ;;
esac
[ -z "$perf_mode" ] || command -v perf >/dev/null || { echo "serve_bench.sh: perf not found" >&2; exit 2; }
[ -x "$failover" ] || { echo "serve_bench.sh: $failover not found: cmake --build $build_dir --target failover" >&2; exit 2; }
command -v wrk >/dev/null || { echo "serve_bench.sh: wrk not found (scripts/install-deps.sh)" >&2; exit 2; }

work=$(mktemp -d)
fleet_pid=
gateway_pid=
perf_pid=
cleanup() {
  [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
  [ -n "$fleet_pid" ] && kill "$fleet_pid" 2>/dev/null && wait "$fleet_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && commit+=" (with uncommitted changes)"
echo "machine:  $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/.*:[[:space:]]*//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "compiler: $(g++ --version | head -n 1)"
echo "build:    ${build_dir} ($(grep -E '^CMAKE_BUILD_TYPE' "${build_dir}/CMakeCache.txt" 2>/dev/null | cut -d= -f2))"
echo "commit:   ${commit}"
echo "wrk:      $(wrk --version 2>&1 | head -n 1)"
echo

# wait_line FILE SED_EXPR: the first match of SED_EXPR in FILE, within 10 s.
wait_line() {
  local out=
  for _ in $(seq 1 200); do
    out=$(sed -n "$2" "$1")
    [ -n "$out" ] && echo "$out" && return 0
    sleep 0.05
  done
  return 1
}

scripts/make-test-ca.sh "$work/ca" >/dev/null
"$failover" fleet bench/fleet-loopback.toml --listen 127.0.0.1:0 \
  --tls-cert "$work/ca/server.pem" --tls-key "$work/ca/server.key" >"$work/fleet.log" 2>&1 &
fleet_pid=$!
base=$(wait_line "$work/fleet.log" 's/^provider bench openai //p') || {
  echo "serve_bench.sh: the fleet did not start:" >&2; cat "$work/fleet.log" >&2; exit 1; }

key=sk-bench-gateway-key
# sed, not head: head exits after one line, and under pipefail the SIGPIPE that
# `serve --hash-key` then gets on its next lines ended the script silently now and then.
digest=$(printf '%s\n' "$key" | "$failover" serve --hash-key | sed -n 1p)
cat >"$work/gateway.toml" <<TOML
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

[serve]
api_key_sha256 = ["$digest"]
threads = $threads
TOML
"$failover" serve --config "$work/gateway.toml" --listen 127.0.0.1:0 --ca-file "$work/ca/ca.pem" \
  --tls-cert "$work/ca/server.pem" --tls-key "$work/ca/server.key" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
gateway=$(wait_line "$work/gateway.log" 's/^listening on //p') || {
  echo "serve_bench.sh: the gateway did not start:" >&2; cat "$work/gateway.log" >&2; exit 1; }
echo "fleet:    $base"
echo "gateway:  $gateway (threads $threads)"

body='{"model":"bench","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA

# run NAME URL: wrk into $work/NAME.txt.
run() {
  wrk -t2 -c"$connections" -d"$duration" --latency -s "$work/post.lua" "$2" >"$work/$1.txt"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }

sed -i "s/\"model\":\"bench\"/\"model\":\"bench-model\"/" "$work/post.lua"  # the fleet knows the model id only
run direct "$base/chat/completions"
sed -i "s/\"model\":\"bench-model\"/\"model\":\"bench\"/" "$work/post.lua"
run warmup "$gateway/v1/chat/completions" 2>/dev/null || true
# The profiler attaches to the gateway for its measured run only (not the warm-up).
perf_start() {
  case "$perf_mode" in
    stat) perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p "$gateway_pid" -o "$work/perf-stat.txt" & ;;
    record) perf record -q -e cpu-clock -g -F 1999 -p "$gateway_pid" -o "$perf_out" >/dev/null 2>&1 & ;;
    *) return 0 ;;
  esac
  perf_pid=$!
  sleep 0.5  # let it attach before the measured run starts
}
perf_stop() {
  [ -n "$perf_pid" ] || return 0
  kill -INT "$perf_pid" && wait "$perf_pid" || true
  perf_pid=
}
perf_start
before=$(cpu_ticks "$gateway_pid")
before_user=$(user_ticks "$gateway_pid")
run gateway "$gateway/v1/chat/completions"
after=$(cpu_ticks "$gateway_pid")
after_user=$(user_ticks "$gateway_pid")
perf_stop

stat() { awk -v k="$2" '$1 == k {print $2}' "$work/$1.txt"; }
rps() { awk '/^Requests\/sec:/ {print $2}' "$work/$1.txt"; }
requests() { awk '/requests in/ {print $1}' "$work/$1.txt"; }
errors() { grep -E 'Non-2xx|Socket errors' "$work/$1.txt" || true; }
ms() {  # wrk's "1.23ms" / "456.00us" / "1.02s" -> milliseconds
  echo "$1" | awk '/us$/ {sub("us", ""); print $1 / 1000; next} /ms$/ {sub("ms", ""); print $1; next} /s$/ {sub("s", ""); print $1 * 1000}'
}
hz=$(getconf CLK_TCK)

echo
printf '%-22s %12s %10s %10s  %s\n' target "requests/s" p50 p99 notes
printf '%-22s %12.0f %10s %10s  %s\n' "fleet, direct" "$(rps direct)" "$(stat direct 50%)" "$(stat direct 99%)" \
  "wrk -t2 -c$connections -d$duration, TLS, keep-alive $(errors direct)"
printf '%-22s %12.0f %10s %10s  %s\n' "gateway -> fleet" "$(rps gateway)" "$(stat gateway 50%)" "$(stat gateway 99%)" \
  "TLS both hops, key checked, CA verified upstream $(errors gateway)"
awk -v g="$(rps gateway)" -v d="$(rps direct)" 'BEGIN { printf "gateway / direct: %.2f\n", g / d }'
awk -v g="$(ms "$(stat gateway 50%)")" -v d="$(ms "$(stat direct 50%)")" -v g99="$(ms "$(stat gateway 99%)")" \
  -v d99="$(ms "$(stat direct 99%)")" 'BEGIN { printf "added latency: p50 %.2f ms, p99 %.2f ms\n", g - d, g99 - d99 }'
awk -v t=$((after - before)) -v hz="$hz" -v n="$(requests gateway)" \
  -v u=$((after_user - before_user)) 'BEGIN { printf "gateway CPU: %.1f s over %d requests = %.0f us per request (user %.0f, system %.0f)\n",
    t / hz, n, 1e6 * t / hz / n, 1e6 * u / hz / n, 1e6 * (t - u) / hz / n }'
if [ "$perf_mode" = stat ]; then
  awk -v n="$(requests gateway)" '$2 ~ /^(context-switches|cpu-migrations|page-faults)$/ {
      gsub(",", "", $1); printf "gateway %s: %.2f per request\n", $2, $1 / n }' "$work/perf-stat.txt"
fi
[ "$perf_mode" = record ] && echo "perf record of the gateway's run: $perf_out (perf report -i $perf_out)"
exit 0

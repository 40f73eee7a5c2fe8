#!/usr/bin/env bash
# CTest check of `failover derive` and `[traffic] replay` through the program (label cli):
# a gateway log made here with a known outage (provider p answers 503 to 80% of calls
# in minutes 3 to 5, q serves the rest) is derived into a scenario with and without a
# live config, and `failover run` accepts both; a generic CSV log replays; a bad log line
# and a provider the config lacks exit 2 with the file:line. The end-to-end recording
# through the real gateway is tests/serve/traffic_derive_test.cpp.
# Usage: derive_test.sh FAILOVER_BINARY
set -uo pipefail

failover=${1:?usage: derive_test.sh FAILOVER_BINARY}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# 10 minutes, 60 requests a minute, from 2026-05-08T11:00:00Z (1778238000 s).
mkdir -p "$work/logs" "$work/out"
log="$work/logs/requests.jsonl"
: >"$log"
for m in $(seq 0 9); do
  for i in $(seq 0 59); do
    at=$(( (1778238000 + m * 60 + i) * 1000000 ))
    if [ "$m" -ge 3 ] && [ "$m" -le 5 ] && [ "$i" -lt 48 ]; then
      tries='{"target": "p/pm", "outcome": "transient", "status": 503, "start_us": 10, "first_byte_us": 900, "duration_us": 1000}, {"target": "q/qm", "outcome": "success", "status": 200, "start_us": 1100, "first_byte_us": 200000, "duration_us": 210000}'
    else
      tries='{"target": "p/pm", "outcome": "success", "status": 200, "start_us": 10, "first_byte_us": 300000, "duration_us": 310000}'
    fi
    printf '{"v": 1, "ts_ms": %d, "arrived_us": %d, "id": "r%d-%d", "protocol": "openai", "route": "main", "stream": false, "prompt_tokens_est": 40, "prompt_tokens": 42, "output_tokens": 12, "outcome": "ok", "status": 200, "latency_us": 310000, "tries": [%s]}\n' \
      $((at / 1000 + 310)) "$at" "$m" "$i" "$tries" >>"$log"
  done
done

"$failover" derive "$log" -o "$work/out/derived.toml" >"$work/derive.out" 2>"$work/derive.err"
[ $? -eq 0 ] || fail "derive exited non-zero: $(cat "$work/derive.err")"
grep -q '^fault p http_error 503 from 3m for 3m: 144 of 180 attempts$' "$work/derive.out" ||
  fail "derive did not find the storm: $(cat "$work/derive.out")"
grep -q '^replay = "../logs/requests.jsonl"$' "$work/out/derived.toml" || fail "the replay path is not relative to the scenario"
grep -q '^intensity = "80%"  # 144 of 180 attempts$' "$work/out/derived.toml" || fail "no 80% window: $(cat "$work/out/derived.toml")"
"$failover" run "$work/out/derived.toml" --json "$work/run.json" >"$work/run.out" 2>&1
[ $? -eq 0 ] || fail "failover run refused the derived scenario: $(cat "$work/run.out")"
grep -q '"arrived": 600' "$work/run.json" || fail "the run did not replay the 600 requests: $(grep -m3 arrived "$work/run.json")"
# --live sizes a replay by the log's own peak (one request a second here): at time scale
# 1,000 that is 1,000 arrivals a real second, refused up front (its rate schedule says 0).
"$failover" run "$work/out/derived.toml" --live --time-scale 1000 >"$work/live.out" 2>&1
[ $? -eq 2 ] || fail "--live at time scale 1000 was not refused: $(cat "$work/live.out")"
grep -q 'up to 1000 arrivals per real second' "$work/live.out" || fail "--live refusal: $(cat "$work/live.out")"

# With the live config the log was recorded with (its [serve] table skipped).
cat >"$work/live.toml" <<'EOF'
[[providers]]
name = "p"
base_url = "https://p.example"
[[providers.models]]
id = "pm"
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0

[[providers]]
name = "q"
base_url = "https://q.example"
[[providers.models]]
id = "qm"

[[providers]]
name = "unused"
base_url = "https://u.example"
[[providers.models]]
id = "um"

[[routes]]
name = "main"
targets = [{ provider = "p", model = "pm" }, { provider = "q", model = "qm", priority = 1 }]

[serve]
allow_unauthenticated = true
EOF
"$failover" derive "$log" --config "$work/live.toml" -o "$work/out/with-config.toml" >"$work/derive2.out" 2>&1
[ $? -eq 0 ] || fail "derive --config exited non-zero: $(cat "$work/derive2.out")"
grep -q '^config = "../live.toml"$' "$work/out/with-config.toml" || fail "no config key: $(cat "$work/out/with-config.toml")"
grep -q 'placeholder' "$work/out/with-config.toml" || fail "the provider without traffic has no placeholder sim table"
"$failover" run "$work/out/with-config.toml" >"$work/run2.out" 2>&1
[ $? -eq 0 ] || fail "failover run refused the derived scenario with a config: $(cat "$work/run2.out")"

# A config that lacks a provider of the log.
cat >"$work/short.toml" <<'EOF'
[[providers]]
name = "p"
base_url = "https://p.example"
[[providers.models]]
id = "pm"

[[routes]]
name = "main"
targets = [{ provider = "p", model = "pm" }]
EOF
"$failover" derive "$log" --config "$work/short.toml" -o "$work/out/x.toml" >/dev/null 2>"$work/short.err"
[ $? -eq 2 ] || fail "a config without provider q: expected exit 2"
grep -q 'names provider "q", which this live config does not define' "$work/short.err" || fail "short config: $(cat "$work/short.err")"

# A bad line names the file and the line.
sed '3s/"arrived_us": [0-9]*/"arrived_us": "soon"/' "$log" >"$work/logs/bad.jsonl"
"$failover" derive "$work/logs/bad.jsonl" >/dev/null 2>"$work/bad.err"
[ $? -eq 2 ] || fail "a bad log line: expected exit 2"
grep -q 'bad.jsonl:3: arrived_us: expected an integer' "$work/bad.err" || fail "bad line: $(cat "$work/bad.err")"

# A generic CSV log replayed by a scenario, twice as fast, each request twice.
cat >"$work/logs/traffic.csv" <<'EOF'
timestamp,model,prompt_tokens,output_tokens,stream
2026-05-08T11:00:00Z,pm,100,20,false
2026-05-08T11:00:30Z,pm,100,,true
2026-05-08T11:01:00.5Z,pm,300,40,false
EOF
sed -e '/^\[traffic\]/,/^$/c\[traffic]\nreplay = "../logs/traffic.csv"\nspeed = 2\nmultiply = 2\n' \
  "$work/out/derived.toml" >"$work/out/csv.toml"
"$failover" run "$work/out/csv.toml" --json "$work/csv.json" >"$work/run3.out" 2>&1
[ $? -eq 0 ] || fail "the CSV replay did not run: $(cat "$work/run3.out")"
grep -q '"arrived": 6' "$work/csv.json" || fail "the CSV replay did not bring 6 arrivals: $(grep -m3 arrived "$work/csv.json")"

[ "$failures" -eq 0 ] && echo "derive_test: all checks passed"
exit $((failures > 0))

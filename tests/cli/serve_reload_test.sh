#!/usr/bin/env bash
# CTest check of `failover serve`'s SIGHUP reload (label cli), end to end: `failover
# fleet` serves tests/serve/fleet.toml on 127.0.0.1:0; the gateway's route "main" puts a
# provider that refuses connections ("dead", 127.0.0.1 port 1) before the fleet, so its
# breaker opens (open for 10 minutes). Then three bounded client loops send 90 requests
# while the config file is rewritten and SIGHUP sent three times: a good file (a new
# route), a bad one (refused with file:line:col, traffic goes on), a good one that
# changes provider "an" (that target starts fresh). Every request must get a 200; the
# dead target's breaker is still open after the reloads; GET /metrics counts 2 reloads
# and 1 refusal; SIGTERM ends it with exit 0.
# Usage: serve_reload_test.sh FAILOVER_BINARY
set -uo pipefail

failover=${1:?usage: serve_reload_test.sh FAILOVER_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

# request PORT METHOD PATH BODY: one request with the key; the response on stdout.
request() {
  http "$1" "$2" "$3" "$4" "authorization: Bearer $key\r\n"
}
chat() {
  request "$1" POST /v1/chat/completions "{\"model\":\"$2\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
}

key=serve-reload-test-credential-placeholder
digest=$(printf '%s\n' "$key" | "$failover" serve --hash-key | head -1)

"$failover" fleet "$here/../serve/fleet.toml" --listen 127.0.0.1:0 >"$work/fleet.out" 2>"$work/fleet.err" &
fleet_pid=$!
track "$fleet_pid"
fleet_port=$(wait_port "$work/fleet.out") || { fail "the fleet printed no port"; exit 1; }

# config AN_CONCURRENCY EXTRA_ROUTE: the gateway's config on stdout.
config() {
  cat <<EOF
[[providers]]
name = "dead"
base_url = "http://127.0.0.1:1"
protocol = "openai"
[[providers.models]]
id = "gpt-dead"

[[providers]]
name = "oa"
base_url = "http://127.0.0.1:$fleet_port/oa"
protocol = "openai"
api_key_env = "SERVE_TEST_PROVIDER_KEY"
[[providers.models]]
id = "gpt-test"

[[providers]]
name = "an"
base_url = "http://127.0.0.1:$fleet_port/an"
protocol = "anthropic"
api_key_env = "SERVE_TEST_PROVIDER_KEY"
concurrency_max = $1
[[providers.models]]
id = "claude-test"

[[routes]]
name = "main"
targets = [{ provider = "dead", model = "gpt-dead", priority = 0 }, { provider = "oa", model = "gpt-test", priority = 1 }]

[[routes]]
name = "claude"
targets = [{ provider = "an", model = "claude-test" }]
$2

[policy.breaker]
consecutive_failures = 2
open_base = "10m"
open_max = "10m"

[serve]
api_key_sha256 = ["$digest"]
EOF
}
# install FILE: replaces the config at once (a rename), so a reload never reads half a file.
install() {
  mv "$1" "$work/gateway.toml"
}

config 64 "" >"$work/gateway.toml"
SERVE_TEST_PROVIDER_KEY=placeholder-credential "$failover" serve --config "$work/gateway.toml" --listen 127.0.0.1:0 \
  >"$work/gateway.out" 2>"$work/gateway.err" &
gateway_pid=$!
track "$gateway_pid"
port=$(wait_port "$work/gateway.out") || { fail "the gateway printed no port: $(cat "$work/gateway.err")"; exit 1; }

for _ in 1 2 3; do chat "$port" main >/dev/null; done
page=$(request "$port" GET /metrics "")
echo "$page" | grep -q '^failover_breaker_state{target="dead/gpt-dead",state="open"} 1' ||
  fail "the dead target's breaker did not open: $page"

# The load: 3 loops x 30 requests, each status line kept.
loop_pids=()
for c in 1 2 3; do
  (
    for i in $(seq 1 30); do
      route=main
      [ $((i % 2)) -eq 0 ] && route=claude
      chat "$port" "$route" | head -1 | tr -d '\r' >>"$work/status.$c"
    done
  ) &
  loop_pids+=($!)
  track "$!"
done

wait_count "$work/status.1" '' 5 || fail "no traffic before the first reload"
config 64 '[[routes]]
name = "extra"
targets = [{ provider = "oa", model = "gpt-test" }]' >"$work/next.toml"
install "$work/next.toml"
kill -HUP "$gateway_pid"
wait_count "$work/gateway.out" '^reloaded ' 1 || fail "no 'reloaded' line after the first SIGHUP: $(cat "$work/gateway.out")"

wait_count "$work/status.1" '' 12
config 64 "" | sed 's/^consecutive_failures = 2$/consecutive_failures = "two"/' >"$work/next.toml"
bad_line=$(grep -n '^consecutive_failures' "$work/next.toml" | cut -d: -f1)
install "$work/next.toml"
kill -HUP "$gateway_pid"
wait_count "$work/gateway.err" 'reload refused' 1 || fail "the bad file was not refused: $(cat "$work/gateway.err")"
grep -q "reload refused, still serving the previous config: .*gateway.toml:$bad_line:" "$work/gateway.err" ||
  fail "the refusal does not name file:line:col (line $bad_line): $(cat "$work/gateway.err")"

wait_count "$work/status.1" '' 20
config 32 "" >"$work/next.toml"
install "$work/next.toml"
kill -HUP "$gateway_pid"
wait_count "$work/gateway.out" '^reloaded ' 2 || fail "no second 'reloaded' line: $(cat "$work/gateway.out")"
grep -q '^reloaded .*: 2 targets kept (dead/gpt-dead, oa/gpt-test), 1 fresh (an/claude-test);' "$work/gateway.out" ||
  fail "the changed provider's target is not fresh: $(cat "$work/gateway.out")"

for p in "${loop_pids[@]}"; do
  wait "$p"
  untrack "$p"
done
answered=$(cat "$work"/status.* | grep -c '^HTTP/1.1 200 OK$')
[ "$answered" -eq 90 ] || fail "expected 90 answers 200, got $answered: $(sort "$work"/status.* | uniq -c)"

page=$(request "$port" GET /metrics "")
echo "$page" | grep -q '^failover_breaker_state{target="dead/gpt-dead",state="open"} 1' ||
  fail "the kept target's breaker did not stay open across the reloads: $page"
echo "$page" | grep -q '^failover_config_reloads_total{result="ok"} 2' || fail "reloads ok: $page"
echo "$page" | grep -q '^failover_config_reloads_total{result="failed"} 1' || fail "reloads failed: $page"
chat "$port" extra | head -1 | grep -q '^HTTP/1.1 404 ' || fail "the route of the first reload outlived the third"

stop_process "$gateway_pid" gateway || cat "$work/gateway.err" >&2
stop_process "$fleet_pid" fleet
finish serve_reload_test

#!/usr/bin/env bash
# CTest check of `failover serve` (label cli), end to end with two processes: `failover
# fleet` serves tests/serve/fleet.toml over plain HTTP on 127.0.0.1:0, and the gateway,
# configured with that fleet as its providers and one inbound key made by
# `failover serve --hash-key`, listens on 127.0.0.1:0. Requests go through bash's
# /dev/tcp (no curl needed): a chat completion and a message are served with the
# x-failover-* headers, a call without the key is refused with 401, each request is one
# line of the --log file (no key in it); SIGTERM stops it with exit 0. Usage errors exit
# 2: allow_unauthenticated on a non-loopback listener, a plain-text key in the config
# (file:line:col), a missing --config; check-config accepts the [serve] table.
# Usage: serve_test.sh FAILOVER_BINARY
set -uo pipefail

failover=${1:?usage: serve_test.sh FAILOVER_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"

# call PORT PATH BODY [HEADER_LINES]: one POST; the whole response on stdout.
call() {
  http "$1" POST "$2" "$3" "${4:-}"
}

key=serve-test-credential-placeholder
digest=$(printf '%s\n' "$key" | "$failover" serve --hash-key | head -1)
[ "${#digest}" -eq 64 ] || fail "--hash-key printed '$digest', not a 64-digit digest"
env_digest=$(SERVE_TEST_KEY=$key "$failover" serve --hash-key --key-env SERVE_TEST_KEY | head -1)
[ "$digest" = "$env_digest" ] || fail "--hash-key from stdin and from --key-env differ"

: >"$work/fleet.out"
"$failover" fleet "$here/../serve/fleet.toml" --listen 127.0.0.1:0 >"$work/fleet.out" 2>"$work/fleet.err" &
fleet_pid=$!
track "$fleet_pid"
fleet_port=$(wait_port "$work/fleet.out") || { fail "the fleet printed no port"; cat "$work/fleet.err" >&2; exit 1; }

cat >"$work/gateway.toml" <<EOF
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
[[providers.models]]
id = "claude-test"

[[routes]]
name = "chat"
targets = [{ provider = "oa", model = "gpt-test" }]

[[routes]]
name = "claude"
targets = [{ provider = "an", model = "claude-test" }]

[serve]
api_key_sha256 = ["$digest"]
header_read_timeout = "5s"
EOF

"$failover" check-config "$work/gateway.toml" >"$work/check.out" 2>&1 || fail "check-config refused the [serve] table: $(cat "$work/check.out")"
grep -q '^serve: listen 127.0.0.1:8080, 1 key digests' "$work/check.out" || fail "check-config did not describe [serve]: $(cat "$work/check.out")"

: >"$work/gateway.out"
SERVE_TEST_PROVIDER_KEY=sk-provider-secret "$failover" serve --config "$work/gateway.toml" --listen 127.0.0.1:0 \
  --log "$work/requests.jsonl" >"$work/gateway.out" 2>"$work/gateway.err" &
gateway_pid=$!
track "$gateway_pid"
if port=$(wait_port "$work/gateway.out"); then
  response=$(call "$port" /v1/chat/completions '{"model":"chat","max_tokens":3,"messages":[{"role":"user","content":"hi"}],"tools":[]}' \
    "authorization: Bearer $key\r\nx-request-id: cli-1\r\n")
  echo "$response" | head -1 | grep -q '^HTTP/1.1 200 OK' || fail "chat: expected 200, got: $response"
  echo "$response" | grep -qi '^x-failover-target: oa/gpt-test' || fail "chat: no x-failover-target: $response"
  echo "$response" | grep -qi '^x-failover-attempts: 1' || fail "chat: no x-failover-attempts: $response"
  echo "$response" | grep -qi '^x-request-id: cli-1' || fail "chat: the request id was not propagated: $response"
  echo "$response" | grep -q '"content":"the fleet answers"' || fail "chat: unexpected body: $response"
  response=$(call "$port" /v1/messages '{"model":"claude-test","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}' \
    "x-api-key: $key\r\n")
  echo "$response" | head -1 | grep -q '^HTTP/1.1 200 OK' || fail "messages: expected 200, got: $response"
  echo "$response" | grep -q '"type":"message"' || fail "messages: unexpected body: $response"
  response=$(call "$port" /v1/chat/completions '{"model":"chat","messages":[]}')
  echo "$response" | head -1 | grep -q '^HTTP/1.1 401 ' || fail "no key: expected 401, got: $response"
  stop_process "$gateway_pid" gateway || cat "$work/gateway.err" >&2
  grep -q '^stopped: 3 requests' "$work/gateway.out" || fail "no 'stopped:' line: $(cat "$work/gateway.out")"
  [ "$(wc -l <"$work/requests.jsonl")" -eq 3 ] || fail "expected 3 log lines: $(cat "$work/requests.jsonl")"
  grep -q '"id": "cli-1"' "$work/requests.jsonl" || fail "the log lacks the request id"
  grep -q -e "$key" -e sk-provider-secret "$work/requests.jsonl" && fail "a key reached the log"
else
  fail "the gateway printed no port"
  cat "$work/gateway.err" >&2
fi

# Usage errors exit 2, with file:line:col where a file is wrong.
printf '[serve]\nallow_unauthenticated = true\n' >"$work/open.toml"
sed -n '1,24p' "$work/gateway.toml" >"$work/open-base.toml"
cat "$work/open-base.toml" "$work/open.toml" >"$work/open-full.toml"
"$failover" serve --config "$work/open-full.toml" --listen 0.0.0.0:0 >/dev/null 2>"$work/open.err"
[ $? -eq 2 ] || fail "allow_unauthenticated on 0.0.0.0: expected exit 2"
grep -q 'open-full.toml:26:25: serve.allow_unauthenticated' "$work/open.err" || fail "open proxy: $(cat "$work/open.err")"
printf '[serve]\napi_key_sha256 = ["%s"]\n' "$key" >"$work/plain.toml"
cat "$work/open-base.toml" "$work/plain.toml" >"$work/plain-full.toml"
"$failover" check-config "$work/plain-full.toml" >/dev/null 2>"$work/plain.err"
[ $? -eq 2 ] || fail "a plain-text key: expected exit 2"
grep -q 'plain-full.toml:26:19: serve.api_key_sha256\[0\]' "$work/plain.err" || fail "plain key: $(cat "$work/plain.err")"
"$failover" serve >/dev/null 2>&1
[ $? -eq 2 ] || fail "serve without --config: expected exit 2"

stop_process "$fleet_pid" fleet
finish serve_test

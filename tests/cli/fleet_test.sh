#!/usr/bin/env bash
# CTest check of `failover fleet` (label cli): it serves tests/serve/fleet.toml over plain
# HTTP on 127.0.0.1:0, prints the port it got in the documented format, answers a chat
# completion through bash's /dev/tcp (no curl needed), follows --start-at into the 503
# storm window, stops on SIGTERM with exit 0 and its request counts; and exits 2 on
# usage errors (a non-loopback --listen, a bad HOST:PORT, a missing scenario).
# Usage: fleet_test.sh FAILOVER_BINARY
set -uo pipefail

failover=${1:?usage: fleet_test.sh FAILOVER_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scenario=$here/../serve/fleet.toml
# shellcheck source=tests/cli/lib.sh
. "$here/lib.sh"
pid=

# start NAME ARGS...: starts the fleet in the background and sets $pid and $port.
start() {
  local name=$1
  shift
  : >"$work/$name.out"  # exists before the background job opens it
  "$failover" fleet "$scenario" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  track "$pid"
  port=$(wait_port "$work/$name.out" 5) && return 0
  fail "$name: no 'listening on' line within 5 s"
  cat "$work/$name.out" "$work/$name.err" >&2
  return 1
}

# stop NAME: SIGTERM, then the exit code must be 0 within 5 s.
stop() {
  stop_process "$pid" "$1" 5
  pid=
}

# chat PATH BODY: one request (with the anthropic-version header Anthropic routes
# require; OpenAI routes ignore it); the whole response on stdout.
chat() {
  http "$port" POST "$1" "$2" 'anthropic-version: 2023-06-01\r\n'
}

body='{"model":"gpt-test","max_tokens":3,"messages":[{"role":"user","content":"hello world!"}]}'

# 1. Serves a chat completion; prints seed, providers and the listening line.
if start plain --listen 127.0.0.1:0; then
  grep -qx 'seed 7' "$work/plain.out" || fail "plain: the first line is not 'seed 7'"
  grep -qx "provider oa openai http://127.0.0.1:$port/oa" "$work/plain.out" || fail "plain: no provider line for oa"
  grep -qx "provider an anthropic http://127.0.0.1:$port/an" "$work/plain.out" || fail "plain: no provider line for an"
  response=$(chat /oa/chat/completions "$body")
  echo "$response" | head -1 | grep -q '^HTTP/1.1 200 OK' || fail "plain: expected 200, got: $(echo "$response" | head -1)"
  echo "$response" | grep -q '"content":"the fleet answers"' || fail "plain: unexpected answer: $response"
  echo "$response" | grep -q '"prompt_tokens":4,"completion_tokens":3' || fail "plain: unexpected usage: $response"
  response=$(chat /oa/nowhere "$body")
  echo "$response" | head -1 | grep -q '^HTTP/1.1 404' || fail "plain: expected 404 for an unknown path"
  stop plain
  grep -qx 'stopped: 2 requests, 1 bad requests' "$work/plain.out" || fail "plain: no request counts after SIGTERM"
  grep -q '^provider oa: calls 1, succeeded 1' "$work/plain.out" || fail "plain: no per-provider counts"
fi

# 2. --start-at inside the 529 window of provider an.
if start storm --listen 127.0.0.1:0 --start-at 15m --time-scale 10; then
  anthropic='{"model":"claude-test","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}'
  response=$(chat /an/v1/messages "$anthropic")
  echo "$response" | head -1 | grep -q '^HTTP/1.1 529' || fail "storm: expected 529, got: $(echo "$response" | head -1)"
  echo "$response" | grep -q '"overloaded_error"' || fail "storm: no overloaded_error body: $response"
  stop storm
fi

# 3. Usage errors exit 2 and say why.
expect_usage() {
  local name=$1
  shift
  "$failover" fleet "$@" >"$work/$name.out" 2>"$work/$name.err"
  local code=$?
  [ "$code" -eq 2 ] || fail "$name: exited $code, expected 2"
  [ -s "$work/$name.err" ] || fail "$name: no message on stderr"
}
expect_usage non-loopback "$scenario" --listen 0.0.0.0:0
grep -q 'loopback' "$work/non-loopback.err" || fail "non-loopback: the message does not mention loopback"
expect_usage bad-listen "$scenario" --listen 127.0.0.1
expect_usage no-scenario "$here/no-such-scenario.toml" --listen 127.0.0.1:0
expect_usage cert-without-key "$scenario" --listen 127.0.0.1:0 --tls-cert "$scenario"
expect_usage time-scale-zero "$scenario" --listen 127.0.0.1:0 --time-scale 0

finish fleet_test

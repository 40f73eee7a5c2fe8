#!/usr/bin/env bash
# CTest check (label sdk): the official `openai` and `@anthropic-ai/sdk` npm clients
# against `failover serve`, the gateway, in front of `failover fleet`. The fleet serves
# tests/sdk/fleet.toml on 127.0.0.1:0 (plain HTTP: the hop between two loopback
# processes); the gateway, configured from tests/sdk/serve.toml.in with that fleet and the
# digest of a key made for the run, listens on 127.0.0.1:0 over TLS with a CA made at
# test time. conformance.mjs then runs the cases of tests/sdk/serve-cases.json with the
# gateway key (SDK_API_KEY) and the CA (NODE_EXTRA_CA_CERTS: verification stays on).
# Both servers are stopped by their pids. SDK_REPORT=FILE keeps what each SDK reported.
# Usage: run_serve.sh FAILOVER_BINARY
set -uo pipefail

failover=${1:?usage: run_serve.sh FAILOVER_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

command -v node >/dev/null || { echo "sdk: node (20 or newer) not found in PATH" >&2; exit 1; }
for package in openai @anthropic-ai/sdk; do
  if [ ! -f "$here/node_modules/$package/package.json" ]; then
    echo "sdk: $package is not installed in tests/sdk: run scripts/install-deps.sh (npm ci there)" >&2
    exit 1
  fi
done

work=$(mktemp -d)
fleet_pid=
gateway_pid=
stop() {  # stop PID NAME: SIGTERM, then its exit status (0 expected)
  kill -TERM "$1" 2>/dev/null
  wait "$1"
}
cleanup() {
  [ -n "$gateway_pid" ] && stop "$gateway_pid" 2>/dev/null
  [ -n "$fleet_pid" ] && stop "$fleet_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# wait_url FILE PID SCHEME: the URL of the "listening on SCHEME://127.0.0.1:PORT" line, within 10 s.
wait_url() {
  local file=$1 pid=$2 scheme=$3 url=
  for _ in $(seq 1 200); do
    url=$(sed -n "s|^listening on \\($scheme://127\\.0\\.0\\.1:[0-9][0-9]*\\)\$|\\1|p" "$file")
    [ -n "$url" ] && echo "$url" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

"$repo/scripts/make-test-ca.sh" "$work/ca" || exit 1
"$failover" fleet "$here/fleet.toml" --listen 127.0.0.1:0 >"$work/fleet.out" 2>"$work/fleet.err" &
fleet_pid=$!
fleet=$(wait_url "$work/fleet.out" "$fleet_pid" http) || {
  echo "sdk: the fleet printed no 'listening on' line within 10 s" >&2
  cat "$work/fleet.out" "$work/fleet.err" >&2
  exit 1
}

# A gateway key for this run only: its digest goes in the config, the key to the SDKs.
key="sk-failover-sdk-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
digest=$(printf '%s\n' "$key" | "$failover" serve --hash-key | head -1)
sed -e "s|@FLEET@|$fleet|g" -e "s|@KEY_SHA256@|$digest|" "$here/serve.toml.in" >"$work/serve.toml"

SDK_PROVIDER_KEY=sk-fleet-unused "$failover" serve --config "$work/serve.toml" --listen 127.0.0.1:0 \
  --tls-cert "$work/ca/server.pem" --tls-key "$work/ca/server.key" >"$work/serve.out" 2>"$work/serve.err" &
gateway_pid=$!
gateway=$(wait_url "$work/serve.out" "$gateway_pid" https) || {
  echo "sdk: the gateway printed no 'listening on' line within 10 s" >&2
  cat "$work/serve.out" "$work/serve.err" >&2
  exit 1
}

report=()
[ -n "${SDK_REPORT:-}" ] && report=(--report "$SDK_REPORT")
SDK_API_KEY=$key NODE_EXTRA_CA_CERTS="$work/ca/ca.pem" node "$here/conformance.mjs" "$here/serve-cases.json" \
  "$gateway" "${report[@]}"
code=$?

for name in gateway fleet; do
  pid_var=${name}_pid
  stop "${!pid_var}"
  stopped=$?
  printf -v "$pid_var" ''
  if [ "$stopped" -ne 0 ]; then
    echo "sdk: the $name exited $stopped after SIGTERM, expected 0" >&2
    cat "$work/$name.err" "$work/serve.err" 2>/dev/null | tail -20 >&2
    code=1
  fi
done
exit "$code"

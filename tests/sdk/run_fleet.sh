#!/usr/bin/env bash
# CTest check (label sdk): the official `openai` and `@anthropic-ai/sdk` npm clients
# against `failover fleet` over TLS. Makes a CA at test time, serves tests/sdk/fleet.toml
# on 127.0.0.1:0 with its server certificate, waits for the `listening on URL` line, runs
# conformance.mjs with the cases of tests/sdk/fleet-cases.json (the CA passed to node by
# NODE_EXTRA_CA_CERTS: verification stays on), then stops the fleet by its pid.
# The packages come from tests/sdk/package-lock.json (scripts/install-deps.sh runs
# `npm ci` there). SDK_REPORT=FILE keeps what each SDK reported, as JSON.
# Usage: run_fleet.sh FAILOVER_BINARY
set -uo pipefail

failover=${1:?usage: run_fleet.sh FAILOVER_BINARY}
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
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$repo/scripts/make-test-ca.sh" "$work/ca" || exit 1
: >"$work/fleet.out"
"$failover" fleet "$here/fleet.toml" --listen 127.0.0.1:0 --tls-cert "$work/ca/server.pem" \
  --tls-key "$work/ca/server.key" >"$work/fleet.out" 2>"$work/fleet.err" &
pid=$!
url=
for _ in $(seq 1 200); do
  url=$(sed -n 's|^listening on \(https://127\.0\.0\.1:[0-9][0-9]*\)$|\1|p' "$work/fleet.out")
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$url" ]; then
  echo "sdk: the fleet printed no 'listening on' line within 10 s" >&2
  cat "$work/fleet.out" "$work/fleet.err" >&2
  exit 1
fi

report=()
[ -n "${SDK_REPORT:-}" ] && report=(--report "$SDK_REPORT")
NODE_EXTRA_CA_CERTS="$work/ca/ca.pem" node "$here/conformance.mjs" "$here/fleet-cases.json" "$url" "${report[@]}"
code=$?

kill -TERM "$pid"
wait "$pid"
stopped=$?
pid=
if [ "$stopped" -ne 0 ]; then
  echo "sdk: the fleet exited $stopped after SIGTERM, expected 0" >&2
  cat "$work/fleet.err" >&2
  code=1
fi
exit "$code"

# shellcheck shell=bash
# Sourced by the CLI tests that start servers (fleet_test.sh, serve_test.sh,
# serve_reload_test.sh): one scratch folder, one failure count, the processes to stop on
# exit, and the waits and requests they share. Every wait polls a file or a process with
# a bounded deadline: a test reads a server's state only once the server has written it.
#
#   work                  a scratch folder, removed on exit
#   failures, fail MSG    counts a failure and prints it; finish() exits 1 if any
#   track PID             a process to kill on exit (stop_process untracks it)
#   wait_port FILE [S]    the port of FILE's "listening on http://127.0.0.1:PORT" line
#   wait_count FILE PATTERN N [S]   until FILE has N lines matching PATTERN
#   stop_process PID NAME [S]       SIGTERM, then its exit code must be 0
#   http PORT METHOD PATH BODY [HEADER_LINES]   one request over bash's /dev/tcp
#                         (no curl needed), `connection: close`; the response on stdout
#   finish NAME           exits 1 with the count if anything failed, else says all passed
# S is a deadline in seconds, 10 by default.

work=$(mktemp -d)
failures=0
tracked_pids=()

cleanup() {
  local p
  for p in "${tracked_pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

track() {
  tracked_pids+=("$1")
}

untrack() {
  local p kept=()
  for p in "${tracked_pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  tracked_pids=("${kept[@]}")
}

# Polls every 50 ms: the number of tries for a deadline of $1 seconds.
tries() {
  echo $(($1 * 20))
}

wait_port() {
  local file=$1 port=
  for _ in $(seq 1 "$(tries "${2:-10}")"); do
    port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$file")
    [ -n "$port" ] && echo "$port" && return 0
    sleep 0.05
  done
  return 1
}

wait_count() {
  for _ in $(seq 1 "$(tries "${4:-10}")"); do
    [ "$(grep -c -e "$2" "$1")" -ge "$3" ] && return 0
    sleep 0.05
  done
  return 1
}

stop_process() {
  local pid=$1 name=$2 code
  kill -TERM "$pid"
  for _ in $(seq 1 "$(tries "${3:-10}")"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  wait "$pid"
  code=$?
  untrack "$pid"
  [ "$code" -eq 0 ] || fail "$name: exited $code after SIGTERM, expected 0"
  return "$code"
}

http() {
  local port=$1 method=$2 path=$3 body=$4 extra=${5:-}
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s %s HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%bconnection: close\r\n\r\n%s' \
    "$method" "$path" "${#body}" "$extra" "$body" >&3
  timeout 10 cat <&3
  exec 3<&-
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$1: $failures failure(s)" >&2
    exit 1
  fi
  echo "$1: all checks passed"
}

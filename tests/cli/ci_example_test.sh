#!/usr/bin/env bash
# CTest check of the CI examples (label cli): examples/ci/github-actions.yml and
# examples/ci/gitlab-ci.yml must run exactly the two commands of examples/ci/replay.sh this
# test knows, and publish what it writes; the Dockerfile's build stage must run
# scripts/install-deps.sh --runtime and the same build command. Then it runs them here:
# `install-deps.sh --runtime` (a no-op where the full set of packages is installed:
# --runtime's are a subset, checked), the build's configure step with the release preset
# into a scratch folder (the compile itself is the tree's own), and `replay.sh run` with
# this build's program on two short scenarios -- one passing, one failing -- checking the
# exit code and the JUnit, JSON and report files a CI job publishes. So the examples
# cannot rot. Usage: ci_example_test.sh FAILOVER_BINARY SOURCE_DIR
set -uo pipefail

failover=${1:?usage: ci_example_test.sh FAILOVER_BINARY SOURCE_DIR}
src=${2:?usage: ci_example_test.sh FAILOVER_BINARY SOURCE_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$src" || exit 2

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

build_command='examples/ci/replay.sh build build/release'
run_command='examples/ci/replay.sh run build/release/failover scenarios out'

# 1. Both examples run those commands, in that order, and nothing else of replay.sh.
# The command lines of a CI file: GitHub's `run: CMD` and GitLab's `- CMD` lines.
commands_of() { sed -nE 's/^ *(- |run: )(.*examples\/ci\/replay\.sh.*)$/\2/p' "$1"; }
expected=$(printf '%s\n%s' "$build_command" "$run_command")
for f in examples/ci/github-actions.yml examples/ci/gitlab-ci.yml; do
  [ "$(commands_of "$f")" = "$expected" ] || fail "$f does not run exactly: $expected (it runs: $(commands_of "$f"))"
done
grep -qE '^ +path: out/$' examples/ci/github-actions.yml || fail "github-actions.yml does not upload out/"
grep -qE '^ +if: \$\{\{ !cancelled\(\) \}\}$' examples/ci/github-actions.yml ||
  fail "github-actions.yml does not publish when the replay failed"
grep -qE '^ +junit: out/junit.xml$' examples/ci/gitlab-ci.yml || fail "gitlab-ci.yml does not report out/junit.xml"
grep -qE '^ +when: always$' examples/ci/gitlab-ci.yml || fail "gitlab-ci.yml does not publish when the replay failed"
grep -qE '^ +(container|image): debian:12$' examples/ci/github-actions.yml || fail "github-actions.yml: not Debian 12"
grep -qE '^ +image: debian:12$' examples/ci/gitlab-ci.yml || fail "gitlab-ci.yml: not Debian 12"
if command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
  for f in examples/ci/github-actions.yml examples/ci/gitlab-ci.yml; do
    python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$f" || fail "$f is not YAML"
  done
fi

# 2. The Dockerfile's build stage: exactly install-deps.sh --runtime, then the same build.
grep -qxF 'RUN scripts/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/*' Dockerfile ||
  fail "Dockerfile: the build stage does not run scripts/install-deps.sh --runtime"
grep -qxF "RUN $build_command" Dockerfile || fail "Dockerfile: the build stage does not run '$build_command'"
grep -qx 'build/' .dockerignore || fail ".dockerignore does not leave out build/"

# 3. install-deps.sh --runtime: the names for Debian 12 and Ubuntu 24.04, each a subset of
# what CI installs here (Debian 12), and a no-op when they are installed.
printf 'ID=ubuntu\nVERSION_ID="24.04"\n' >"$work/ubuntu"
printf 'ID=debian\nVERSION_ID="12"\n' >"$work/debian"
printf 'ID=fedora\nVERSION_ID="40"\n' >"$work/fedora"
ubuntu=$(FAILOVER_OS_RELEASE=$work/ubuntu scripts/install-deps.sh --runtime --list | tr '\n' ' ')
debian=$(FAILOVER_OS_RELEASE=$work/debian scripts/install-deps.sh --runtime --list | tr '\n' ' ')
[ "$ubuntu" = "cmake ninja-build g++ libboost1.83-dev libboost-json1.83-dev libtomlplusplus-dev libssl-dev libcli11-dev " ] ||
  fail "--runtime on Ubuntu 24.04: $ubuntu"
[ "$debian" = "cmake ninja-build g++ libboost1.81-dev libboost-json1.81-dev libtomlplusplus-dev libssl-dev libcli11-dev " ] ||
  fail "--runtime on Debian 12: $debian"
FAILOVER_OS_RELEASE=$work/fedora scripts/install-deps.sh --runtime --list >/dev/null 2>"$work/fedora.err" &&
  fail "--runtime on Fedora: not refused"
grep -q 'knows Debian 12 and Ubuntu 24.04, not "fedora 40"' "$work/fedora.err" || fail "--runtime on Fedora: no reason given"
scripts/install-deps.sh --bogus >/dev/null 2>&1 && fail "install-deps.sh --bogus: not refused"
if grep -q '^VERSION_ID="12"' /etc/os-release && grep -q '^ID=debian' /etc/os-release; then
  missing=""
  for p in $debian; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    fail "--runtime packages not installed here, where the full set is:$missing"
  else  # all present: it must install nothing
    scripts/install-deps.sh --runtime >"$work/deps.out" 2>&1 || fail "install-deps.sh --runtime: $(cat "$work/deps.out")"
    grep -q '^install-deps: all 8 packages present$' "$work/deps.out" || fail "install-deps.sh --runtime: $(cat "$work/deps.out")"
  fi
fi

# 4. The build's configure step: the release preset, tests and benchmarks off.
examples/ci/replay.sh configure "$work/build" >"$work/configure.out" 2>&1 ||
  fail "replay.sh configure: $(tail -5 "$work/configure.out")"
grep -q '^FAILOVER_DEVELOPER_MODE:BOOL=OFF$' "$work/build/CMakeCache.txt" 2>/dev/null || fail "configure: developer mode is not off"
grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$work/build/CMakeCache.txt" 2>/dev/null || fail "configure: not a Release build"

# 5. The replay itself, with this build's program, into an output folder that does not
# exist yet: every scenario passing exits 0 and leaves what CI publishes.
mkdir -p "$work/scenarios"
cp "$here/short-storm.toml" "$work/scenarios/a-storm.toml"
cp "$here/short-storm.toml" "$work/scenarios/b-storm.toml"
FAILOVER_JOBS=2 examples/ci/replay.sh run "$failover" "$work/scenarios" "$work/out" >"$work/run.out" 2>&1
code=$?
[ "$code" -eq 0 ] || fail "replay.sh run exited $code: $(tail -5 "$work/run.out")"
[ "$(grep -c '<testsuite ' "$work/out/junit.xml" 2>/dev/null)" -eq 2 ] || fail "out/junit.xml: not 2 test suites"
for f in results.json reports/a-storm.md reports/a-storm.junit.xml reports/b-storm.md; do
  [ -s "$work/out/$f" ] || fail "out/$f missing"
done
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/out/results.json" || fail "out/results.json does not parse"
  python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$work/out/junit.xml" || fail "out/junit.xml does not parse"
fi
# A failing scenario exits 1 -- the job fails -- and still leaves the files to publish; a
# report of a scenario removed since is not published again.
rm "$work/scenarios/b-storm.toml"
{
  cat "$here/short-storm.toml"
  printf '\n[[expect]]\nmetric = "latency_p99"\nat_most = "1ms"\n'
} >"$work/scenarios/c-failing.toml"
FAILOVER_JOBS=2 examples/ci/replay.sh run "$failover" "$work/scenarios" "$work/out" >"$work/fail.out" 2>&1
code=$?
[ "$code" -eq 1 ] || fail "replay.sh run with a failing scenario exited $code, expected 1"
grep -q 'failures="1"' "$work/out/junit.xml" || fail "out/junit.xml does not count the failure"
[ -s "$work/out/reports/c-failing.md" ] || fail "the failing scenario's report is missing"
[ ! -e "$work/out/reports/b-storm.md" ] || fail "a removed scenario's report was left to publish"
examples/ci/replay.sh bogus >/dev/null 2>&1 && fail "replay.sh bogus: not refused"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "ci_example_test: all checks passed"

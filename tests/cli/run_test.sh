#!/usr/bin/env bash
# CTest check of `failover run` (label cli): exit codes, --jobs independence of every
# output but wall times, folders, --json, --junit, --seeds, --check-determinism, and the
# error that names file:line:col. Runs the short scenario next to this script (five
# simulated minutes, two seeds): a few seconds in a Debug build.
# Usage: run_test.sh FAILOVER_BINARY
set -uo pipefail

failover=${1:?usage: run_test.sh FAILOVER_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scenario=$here/short-storm.toml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run EXPECTED_CODE NAME ARGS...: runs the binary, keeps stdout/stderr as $work/NAME.out/.err.
run() {
  local expected=$1 name=$2
  shift 2
  "$failover" run "$@" >"$work/$name.out" 2>"$work/$name.err"
  local code=$?
  if [ "$code" -ne "$expected" ]; then
    fail "$name: 'failover run $*' exited $code, expected $expected"
    sed 's/^/  | /' "$work/$name.err" >&2
  fi
}

# Output with wall times taken out: "0.004 s  62208x" in the table, wall_seconds in JSON.
strip_wall() { sed -E -e 's/[0-9]+\.[0-9]+ s +([0-9]+x|-) /WALL /' -e 's/"wall_seconds": [0-9.]+/"wall_seconds": W/g' "$1"; }

expectations=$(grep -c '^\[\[expect\]\]' "$scenario")

# 1. Passes, and --jobs changes nothing but wall times.
run 0 jobs1 "$scenario" --jobs 1 --json "$work/jobs1.json" --junit "$work/jobs1.xml"
run 0 jobs2 "$scenario" --jobs 2 --json "$work/jobs2.json" --junit "$work/jobs2.xml"
grep -q 'short-storm: PASS' "$work/jobs1.out" || fail "jobs1: no 'short-storm: PASS' line"
digests() { grep -Eo '\b[0-9a-f]{16}\b' "$1"; }
[ "$(digests "$work/jobs1.out" | wc -l)" -eq 4 ] || fail "jobs1: expected 4 digests (2 policies x 2 seeds)"
[ "$(digests "$work/jobs1.out")" = "$(digests "$work/jobs2.out")" ] || fail "--jobs 1 and --jobs 2 print different digests"
diff <(strip_wall "$work/jobs1.out") <(strip_wall "$work/jobs2.out") >&2 || fail "--jobs 1 and --jobs 2 print different tables"
diff <(strip_wall "$work/jobs1.json") <(strip_wall "$work/jobs2.json") >&2 || fail "--jobs 1 and --jobs 2 write different JSON"
cmp -s "$work/jobs1.xml" "$work/jobs2.xml" || fail "--jobs 1 and --jobs 2 write different JUnit XML"

# 2. The JSON holds the documented fields, once per run.
for key in '"format": "failover-run/1"' '"scenario": "short-storm"' '"sim": {"requests": ' '"events": ' \
           '"wall_seconds": ' '"availability": ' '"overflow_at_seconds": null' '"peak_queue": ' \
           '"time_to_failover_seconds": ' '"latency_ms": {"p50": ' '"p999": ' '"attempts_per_request": ' \
           '"cost_usd": ' '"expectations": ' '"measured": ' '"pass": true'; do
  grep -qF "$key" "$work/jobs1.json" || fail "JSON lacks $key"
done
[ "$(grep -c '"digest": ' "$work/jobs1.json")" -eq 4 ] || fail "JSON: expected 4 runs with a digest"
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/jobs1.json" || fail "JSON does not parse"
fi
run 0 json-stdout "$scenario" --json -
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["passed"] is True' <"$work/json-stdout.out" ||
    fail "--json - does not print one JSON document on stdout"
fi

# 3. JUnit: one testcase per expectation, plus conservation.
[ "$(grep -c '<testcase classname="short-storm\.' "$work/jobs1.xml")" -eq "$expectations" ] ||
  fail "JUnit: expected $expectations expectation testcases"
grep -q '<testcase classname="short-storm" name="conservation"' "$work/jobs1.xml" || fail "JUnit: no conservation testcase"
[ "$(grep -c '<testsuites ' "$work/jobs1.xml")" -eq 1 ] || fail "JUnit: expected one <testsuites> root"

# 4. A folder: every *.toml in it, in name order; a scenario that fails makes it exit 1.
mkdir -p "$work/folder" "$work/failing"
cp "$scenario" "$work/folder/b-storm.toml"
cp "$scenario" "$work/folder/a-storm.toml"
echo "not a scenario" >"$work/folder/notes.txt"
run 0 folder "$work/folder" --junit "$work/folder.xml" --report-dir "$work/reports"
[ "$(grep '^scenario: ' "$work/folder.out" | cut -d' ' -f2 | tr '\n' ' ')" = "a-storm b-storm " ] ||
  fail "folder: expected scenarios a-storm then b-storm"
grep -q '2 scenarios: 2 passed, 0 failed' "$work/folder.out" || fail "folder: no summary line"
[ "$(grep -c '<testsuite ' "$work/folder.xml")" -eq 2 ] || fail "folder: expected 2 test suites in the JUnit file"
for f in a-storm.md a-storm.json a-storm.junit.xml b-storm.md; do
  [ -s "$work/reports/$f" ] || fail "--report-dir: $f missing"
done

{
  cat "$scenario"
  printf '\n[[expect]]\npolicy = "direct"\nmetric = "latency_p99"\nat_most = "1s"\n'
} >"$work/failing/failing.toml"
run 1 failing "$work/failing/failing.toml" --junit "$work/failing.xml"
grep -Eq 'FAIL  direct +latency_p99' "$work/failing.out" || fail "failing: no FAIL line for the latency expectation"
grep -q 'failures="1"' "$work/failing.xml" || fail "failing: JUnit does not count one failure"
run 1 mixed "$work/folder" "$work/failing"
grep -q '3 scenarios: 2 passed, 1 failed (failing)' "$work/mixed.out" || fail "mixed: no summary naming the failing scenario"

# 5. Load and usage errors exit 2 and name what is wrong.
line=$(grep -n '^rate_rpm = ' "$scenario" | cut -d: -f1)
sed 's/^rate_rpm = .*/rate_rpm = -5/' "$scenario" >"$work/bad.toml"
run 2 bad "$scenario" "$work/bad.toml"
grep -q "bad.toml:$line:[0-9]*: traffic.rate_rpm" "$work/bad.err" || fail "bad: the error does not name bad.toml:$line:col"
[ ! -s "$work/bad.out" ] || fail "bad: ran scenarios although one file does not load"
mkdir -p "$work/empty"
run 2 empty "$work/empty"
grep -q 'no \*.toml scenario' "$work/empty.err" || fail "empty: the error does not say the folder holds no scenario"
run 2 missing "$work/no-such.toml"
# --junit and --json into a folder that does not exist yet: it is made (a fresh CI checkout
# writes `--junit out/junit.xml`); one that cannot be made is named, before anything runs.
run 0 new-folder "$scenario" --seed 1 --junit "$work/new/deeper/x.xml" --json "$work/new2/x.json"
[ -s "$work/new/deeper/x.xml" ] || fail "--junit DIR/x.xml: DIR was not created"
[ -s "$work/new2/x.json" ] || fail "--json DIR/x.json: DIR was not created"
touch "$work/a-file"
run 2 junit-under-file "$scenario" --junit "$work/a-file/x.xml"
grep -q -- "--junit $work/a-file/x.xml: cannot create the folder $work/a-file" "$work/junit-under-file.err" ||
  fail "--junit under a file: the error does not name the folder"
[ ! -s "$work/junit-under-file.out" ] || fail "--junit under a file: ran scenarios before the output was checked"
run 2 jobs0 "$scenario" --jobs 0
run 2 both-seeds "$scenario" --seed 1 --seeds 2
run 2 no-policy "$scenario" --policy nonesuch
# A seed outside [0, 2^64 - 1] is refused, not wrapped or saturated into another seed.
run 2 seed-negative "$scenario" --seed -1
grep -q 'not a whole number from 0 to 18446744073709551615' "$work/seed-negative.err" || fail "--seed -1: not refused"
run 2 seed-overflow "$scenario" --seed 18446744073709551616
grep -q 'not a whole number' "$work/seed-overflow.err" || fail "--seed 2^64: not refused"
run 0 seed-max "$scenario" --seed 18446744073709551615 --policy policy
grep -q '^seeds: 18446744073709551615$' "$work/seed-max.out" || fail "--seed 2^64-1: not run"

# 6. --seeds N runs seeds 1..N; --seed and --policy select; --check-determinism holds.
run 0 seeds "$scenario" --seeds 3 --policy policy --check-determinism --jobs 2
grep -q '^seeds: 1, 2, 3$' "$work/seeds.out" || fail "--seeds 3: not seeds 1, 2, 3"
grep -q 'determinism: every run repeated twice with the same digest' "$work/seeds.out" || fail "--check-determinism: no verdict"
grep -q '^direct ' "$work/seeds.out" && fail "--policy policy: the direct baseline still ran"
run 0 seed "$scenario" --seed 7 --out "$work/out-alias"
grep -q '^seeds: 7$' "$work/seed.out" || fail "--seed 7: not seed 7"
[ -s "$work/out-alias/short-storm.md" ] || fail "--out: the report was not written"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all failover run checks passed"

#!/usr/bin/env bash
# CTest check of `failover sweep` and `failover merge` (label cli): a small sweep of the
# short scenario next to this script, run unsharded and as 3 shards merged, must write
# the same points.csv, points.json, report.md and pareto SVG byte for byte, whatever
# --jobs is; and the exit codes of a bad --set, a bad --shard, and a merge with a shard
# missing, given twice or from another sweep. A few seconds in a Debug build.
# Usage: sweep_test.sh FAILOVER_BINARY
set -uo pipefail

failover=${1:?usage: sweep_test.sh FAILOVER_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scenario=$here/short-storm.toml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect CODE NAME COMMAND ARGS...: runs `failover COMMAND ARGS...`, keeps its stdout/stderr.
expect() {
  local expected=$1 name=$2
  shift 2
  "$failover" "$@" >"$work/$name.out" 2>"$work/$name.err"
  local code=$?
  if [ "$code" -ne "$expected" ]; then
    fail "$name: 'failover $*' exited $code, expected $expected"
    sed 's/^/  | /' "$work/$name.err" >&2
  fi
}

grid=(--set breaker.consecutive_failures=1,3,5 --set breaker.open_base=10s..30s:10s --set breaker.half_open_probes=1,2)
outputs=(points.csv points.json report.md pareto-short-storm.svg)

# 1. Unsharded on 1 and 2 threads; 3 shards (each on its own) merged.
expect 0 whole "sweep" "$scenario" "${grid[@]}" --jobs 2 --out "$work/whole"
expect 0 whole-j1 "sweep" "$scenario" "${grid[@]}" --jobs 1 --out "$work/whole-j1"
for i in 0 1 2; do
  expect 0 "shard$i" "sweep" "$scenario" "${grid[@]}" --jobs 1 --shard "$i/3" --out "$work/shards"
done
[ "$(ls "$work/shards" | wc -l)" -eq 3 ] || fail "3 shards should write exactly 3 files, wrote: $(ls "$work/shards")"
expect 0 merge "merge" "$work/shards" --out "$work/merged"
for f in "${outputs[@]}"; do
  [ -s "$work/whole/$f" ] || fail "the unsharded run wrote no $f"
  cmp -s "$work/whole/$f" "$work/merged/$f" || fail "$f: 3 shards merged differ from the unsharded run"
  cmp -s "$work/whole/$f" "$work/whole-j1/$f" || fail "$f: --jobs 1 and --jobs 2 differ"
done

# 2. What the outputs hold: 18 points x 2 seeds, the ranking, the frontier, the TOML.
[ "$(($(wc -l <"$work/whole/points.csv") - 1))" -eq 36 ] || fail "points.csv should hold 36 runs"
head -1 "$work/whole/points.csv" | grep -q '^scenario,point,breaker.consecutive_failures,breaker.open_base,breaker.half_open_probes,seed,passed,availability_pct' ||
  fail "points.csv header"
grep -q '^short-storm,17,5,30s,2,2,' "$work/whole/points.csv" || fail "points.csv lacks the last point's second seed"
for key in '### Ranking' '### Pareto frontier' '### Best policy' '```toml' '[policy.breaker]' 'pareto-short-storm.svg'; do
  grep -qF -- "$key" "$work/whole/report.md" || fail "report.md lacks $key"
done
grep -q '<svg' "$work/whole/pareto-short-storm.svg" || fail "the scatter is not an SVG"
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["scenarios"][0]["points"]) == 18' "$work/whole/points.json" ||
    fail "points.json does not parse or lacks points"
fi
grep -q 'short-storm: 18 of 18 points pass every seed' "$work/whole.out" || fail "the summary line"

# 3. Random points: deterministic from the sweep seed, a different set for another seed.
expect 0 random-a "sweep" "$scenario" "${grid[@]}" --random 5 --sweep-seed 7 --out "$work/random-a"
expect 0 random-b "sweep" "$scenario" "${grid[@]}" --random 5 --sweep-seed 7 --out "$work/random-b"
cmp -s "$work/random-a/points.csv" "$work/random-b/points.csv" || fail "--random with one sweep seed differs between runs"
[ "$(($(wc -l <"$work/random-a/points.csv") - 1))" -eq 10 ] || fail "--random 5 should run 5 points x 2 seeds"

# 4. Usage errors exit 2 and say why.
expect 2 bad-key "sweep" "$scenario" --set breaker.no_such_key=1,2 --out "$work/bad"
grep -q 'policy.breaker.no_such_key: unknown key' "$work/bad-key.err" || fail "bad key: the error does not name the key"
expect 2 bad-value "sweep" "$scenario" --set breaker.open_base=5s,soon --out "$work/bad"
expect 2 bad-range "sweep" "$scenario" --set breaker.consecutive_failures=1..9:0 --out "$work/bad"
expect 2 no-value "sweep" "$scenario" --set breaker.consecutive_failures= --out "$work/bad"
expect 2 huge-grid "sweep" "$scenario" --set breaker.consecutive_failures=1..1000:1 --set breaker.window_calls_min=1..1000:1 --out "$work/bad"
expect 2 bad-shard "sweep" "$scenario" "${grid[@]}" --shard 3/3 --out "$work/bad"
expect 2 bad-shard2 "sweep" "$scenario" "${grid[@]}" --shard 1 --out "$work/bad"
[ ! -e "$work/bad" ] || fail "a rejected sweep wrote outputs"
# An --out that cannot be a folder is refused before any simulation runs.
: >"$work/a-file"
expect 2 bad-out "sweep" "$scenario" "${grid[@]}" --out "$work/a-file/sub"
grep -q -- '--out .*cannot create the folder' "$work/bad-out.err" || fail "bad --out: the error does not name --out"
! grep -q '^sweep: ' "$work/bad-out.err" || fail "bad --out: the sweep ran before --out was checked"
expect 2 out-is-file "sweep" "$scenario" "${grid[@]}" --out "$work/a-file"
grep -q -- "--out $work/a-file: cannot" "$work/out-is-file.err" || fail "--out naming a file: the error does not name it"
! grep -q '^sweep: ' "$work/out-is-file.err" || fail "--out naming a file: the sweep ran before --out was checked"

# 4b. Provider limits and the first-byte timeout sweep like policy keys; a provider no entry
# is named is refused before anything runs.
expect 0 limits "sweep" "$scenario" --set providers.backup.concurrency_max=100,20 --set timeouts.first_byte=15s,5s \
  --jobs 2 --out "$work/limits"
head -1 "$work/limits/points.csv" | grep -q '^scenario,point,providers.backup.concurrency_max,timeouts.first_byte,' ||
  fail "limits: points.csv header"
# Every point passes with equal figures or not; point 0 (the file's own 100 and the default
# 15s) changes no key, so on a tie it wins; the best config carries its values in place.
grep -q '| keys changed |' "$work/limits/report.md" || fail "limits: the ranking has no keys-changed column"
grep -q '"changed_keys": 0' "$work/limits/points.json" || fail "limits: no point changes 0 keys"
grep -q '"changed_keys": 2' "$work/limits/points.json" || fail "limits: no point changes 2 keys"
[ -s "$work/limits/best-short-storm.toml" ] || fail "limits: no best config"
expect 2 nobody "sweep" "$scenario" --set providers.nobody.concurrency_max=8,16 --out "$work/bad"
grep -q 'no \[\[providers\]\] entry is named "nobody" (the providers: primary, backup)' "$work/nobody.err" ||
  fail "an unknown provider: the error does not name it and the providers there are"

# 4c. No point passes: the report and the console say which expectation fails most and
# which key moves it most.
{
  cat "$scenario"
  printf '\n[[expect]]\nmetric = "latency_p99"\nat_most = "1ms"\n'
} >"$work/impossible.toml"
expect 1 impossible "sweep" "$work/impossible.toml" --set breaker.consecutive_failures=1,5 --jobs 2 --out "$work/impossible"
grep -q 'impossible: 0 of 2 points pass every seed; .*; fails most: latency_p99 <= 1 ms (4/4 runs)' "$work/impossible.out" ||
  fail "no point passes: the console line does not name the expectation failing most"
grep -q '^### Why no point passes' "$work/impossible/report.md" || fail "no point passes: report.md does not say why"

# 5. merge refuses a missing shard, a shard given twice and a shard of another sweep.
mkdir -p "$work/two"
cp "$work/shards/shard-0-of-3.toml" "$work/shards/shard-2-of-3.toml" "$work/two/"
expect 2 merge-missing "merge" "$work/two" --out "$work/bad"
grep -q 'shard 1 of 3 (shard-1-of-3.toml) is missing' "$work/merge-missing.err" || fail "merge: the error does not name the missing shard"
expect 2 merge-twice "merge" "$work/shards" "$work/shards/shard-1-of-3.toml" --out "$work/bad"
expect 0 other "sweep" "$scenario" --set breaker.consecutive_failures=2,4 --jobs 1 --shard 1/3 --out "$work/other"
expect 2 merge-other "merge" "$work/two" "$work/other/shard-1-of-3.toml" --out "$work/bad"
grep -q 'belongs to another sweep' "$work/merge-other.err" || fail "merge: the error does not say the shard is another sweep's"
expect 2 merge-nothing "merge" "$work/nowhere" --out "$work/bad"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "sweep_test: all checks passed"

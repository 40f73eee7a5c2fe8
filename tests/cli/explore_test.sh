#!/bin/sh
# `failover explore` end to end: the same seed gives the same files byte for byte on
# --jobs 1 and --jobs 2 and from 3 shards merged; a weak policy exits 1 with a finding
# that `failover run` loads; bad input exits 2 naming the file.
set -eu
failover=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
here=$(dirname "$0")
base="$dir/storm.toml"
cp "$here/short-storm.toml" "$base"
cat >> "$base" <<'TOML'

[explore]
horizon = ["5m", "8m"]
recovery = "1m"
TOML

# A weak policy: the case study's client against direct on the short storm.
sed 's/^\[baselines\]$/[baselines]\ncase_study = true/' "$base" > "$dir/weak.toml"
grep -q '^\[baselines\]' "$dir/weak.toml" || printf '\n[baselines]\ncase_study = true\ndirect = true\n' >> "$dir/weak.toml"
"$failover" explore "$dir/weak.toml" --policy case-study --budget 12 --seed 3 --keep-going --shrink-steps 20 --jobs 1 --out "$dir/j1" >/dev/null 2>&1 || test $? -eq 1
"$failover" explore "$dir/weak.toml" --policy case-study --budget 12 --seed 3 --keep-going --shrink-steps 20 --jobs 2 --out "$dir/j2" >/dev/null 2>&1 || test $? -eq 1
for i in 0 1 2; do
  "$failover" explore "$dir/weak.toml" --policy case-study --budget 12 --seed 3 --keep-going --shrink-steps 20 --jobs 1 --shard "$i/3" --out "$dir/shards" >/dev/null 2>&1
done
"$failover" explore --merge "$dir/shards" --out "$dir/merged" >/dev/null 2>&1 || test $? -eq 1
ls "$dir"/j1/findings/*.toml >/dev/null  # the comparison covers findings
diff -r "$dir/j1" "$dir/j2"
rm -f "$dir"/merged/explore-shard-*
diff -r "$dir/j1" "$dir/merged"


set +e
"$failover" explore "$dir/weak.toml" --policy case-study --oracle do-no-harm --budget 50 --out "$dir/weak" >/dev/null 2>&1
code=$?
set -e
test "$code" -eq 1 || { echo "weak policy: expected exit 1, got $code"; exit 1; }
finding=$(ls "$dir"/weak/findings/*.toml | head -1)
set +e
"$failover" run "$finding" >/dev/null 2>&1
code=$?
set -e
test "$code" -eq 1 || { echo "finding $finding: expected failover run to fail (1), got $code"; exit 1; }

# Bad input: exit 2, the file named.
printf '[scenario]\ntitle = 5\n' > "$dir/bad.toml"
set +e
"$failover" explore "$dir/bad.toml" --budget 1 --out "$dir/bad" 2>"$dir/err"
code=$?
set -e
test "$code" -eq 2 || { echo "bad file: expected exit 2, got $code"; exit 1; }
grep -q 'bad.toml:' "$dir/err"
set +e
"$failover" explore "$base" --oracle nope --out "$dir/bad" 2>/dev/null
code=$?
set -e
test "$code" -eq 2
echo "explore CLI: OK"

#!/usr/bin/env bash
# Fails when the committed headline report in reports/ is not what the current code
# writes. Runs are deterministic, so any difference means the report is stale.
set -u
failover=${1:?usage: report_current.sh FAILOVER SOURCE_DIR WORK_DIR}
src=${2:?}
work=${3:?}
scenario=claude-503-storm-2026-05-08
rm -rf "$work" && mkdir -p "$work"
cd "$src" || exit 2
if ! "$failover" run "scenarios/$scenario.toml" --out "$work" > "$work/run.log" 2>&1; then
  echo "the headline scenario failed:"; cat "$work/run.log"; exit 1
fi
status=0
for fresh in "$work/$scenario"*; do
  name=$(basename "$fresh")
  if ! cmp -s "$fresh" "$src/reports/$name"; then
    echo "reports/$name differs from what the code writes now:"
    diff "$src/reports/$name" "$fresh" | head -20
    status=1
  fi
done
if [ $status -ne 0 ]; then
  echo "regenerate: ./build/release/failover run scenarios/$scenario.toml --out reports"
else
  echo "reports/$scenario.* are current"
fi
exit $status

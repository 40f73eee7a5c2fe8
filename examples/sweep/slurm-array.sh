#!/usr/bin/env bash
# A policy sweep as a Slurm job array: task I of the array runs shard I of N of the grid
# and writes shard-I-of-N.toml to a shared folder; a merge job that depends on the whole
# array combines them into points.csv, points.json, report.md and the Pareto SVGs --
# byte for byte what one machine would write (docs/sweep.md).
#
#   mkdir -p sweep-out/logs
#   sbatch --array=0-7 examples/sweep/slurm-array.sh          # 8 shards: N = the array's size, 0-based and without gaps
#   sbatch --dependency=afterok:<array job id> --wrap \
#     "failover merge $PWD/sweep-out/shards --out $PWD/sweep-out/report"
#
# or let the script submit both: `SUBMIT=1 examples/sweep/slurm-array.sh`.
# Collect the outputs from sweep-out/report/ (the shards stay in sweep-out/shards/; a
# failed task is rerun with `sbatch --array=<I> examples/sweep/slurm-array.sh`, and
# `failover merge` names any shard that is missing or belongs to another sweep).
#SBATCH --job-name=failover-sweep
#SBATCH --cpus-per-task=4
#SBATCH --mem=2G
#SBATCH --time=02:00:00
#SBATCH --output=sweep-out/logs/shard-%a.log
set -euo pipefail

out=${OUT:-$PWD/sweep-out}
if [ "${SUBMIT:-0}" = 1 ]; then
  mkdir -p "$out/logs"
  array=$(sbatch --parsable --array=0-7 "$0")
  sbatch --dependency="afterok:$array" --output="$out/logs/merge.log" \
    --wrap "failover merge '$out/shards' --out '$out/report'"
  exit 0
fi

: "${SLURM_ARRAY_TASK_ID:?run this script with sbatch --array=0-(N-1)}"
shards=${SLURM_ARRAY_TASK_COUNT:?}
failover sweep scenarios/claude-503-storm-2026-05-08.toml scenarios/flapping-primary.toml \
  --set breaker.consecutive_failures=1,3,5,10,20 \
  --set breaker.open_base=5s,30s,2m \
  --set breaker.half_open_probes=1,5,20 \
  --seeds 20 \
  --jobs "${SLURM_CPUS_PER_TASK:-1}" \
  --shard "$SLURM_ARRAY_TASK_ID/$shards" \
  --out "$out/shards"

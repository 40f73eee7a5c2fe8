#!/usr/bin/env bash
# Fails when a tracked C++ file is not formatted as .clang-format says (120 columns,
# Google style). The tree was formatted once; this keeps it so. To fix what it lists:
#   git ls-files '*.cpp' '*.h' | xargs clang-format -i
# Usage: scripts/check-format.sh [SOURCE_DIR]
set -euo pipefail
src=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$src"
if ! command -v clang-format >/dev/null; then
  echo "check-format: clang-format is not installed (./scripts/install-deps.sh installs it)" >&2
  exit 2
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-format: $src is not a git work tree; the files checked are git's tracked ones" >&2
  exit 2
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h')
if [ "${#files[@]}" -eq 0 ]; then
  echo "check-format: no C++ file tracked under $src" >&2
  exit 2
fi
# One clang-format for every file (a process per file cost most of the check's time): it
# reports each line that would change as "FILE:LINE:COL: error: code should be
# clang-formatted", so the files that differ are the report's distinct FILE parts.
report=$(clang-format --dry-run --Werror "${files[@]}" 2>&1 >/dev/null) && status=0 || status=$?
mapfile -t bad < <(printf '%s\n' "$report" | sed -n 's/^\(.*\):[0-9][0-9]*:[0-9][0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
if [ "$status" -ne 0 ] && [ "${#bad[@]}" -eq 0 ]; then
  echo "check-format: clang-format failed:" >&2
  printf '%s\n' "$report" >&2
  exit 2
fi
if [ "${#bad[@]}" -gt 0 ]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files differ from clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -1):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"

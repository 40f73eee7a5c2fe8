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
bad=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [ "${#bad[@]}" -gt 0 ]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files differ from clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -1):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"

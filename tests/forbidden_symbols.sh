#!/usr/bin/env bash
# Fails when policy or simulation code reads a clock, the environment, starts a thread,
# or uses a std:: random distribution; or when the engine includes a non-standard library.
set -u
root=${1:?usage: forbidden_symbols.sh SOURCE_DIR}
cd "$root" || exit 2
status=0
pattern='system_clock|steady_clock|high_resolution_clock|[^_a-z]time\(|getenv|std::thread|std::jthread|std::async|sleep_for|sleep_until|usleep|random_device|[^a-z_]rand\(|srand\(|std::(uniform_(int|real)|normal|lognormal|exponential|poisson|bernoulli|discrete|geometric|gamma)_distribution|std::shuffle|std::sample|std::mt19937|default_random_engine'
hits=$(grep -rnE "$pattern" core sim --include='*.h' --include='*.cpp' | grep -v '^core/transport/' || true)
if [ -n "$hits" ]; then
  echo "forbidden symbols in core/ or sim/ (only core/transport/ may read a clock):"
  echo "$hits"
  status=1
fi
hits=$(grep -rnE '#include *[<"](boost|toml)' core/engine || true)
if [ -n "$hits" ]; then
  echo "core/engine/ must use the standard library only:"
  echo "$hits"
  status=1
fi
[ $status -eq 0 ] && echo "forbidden_symbols: clean"
exit $status

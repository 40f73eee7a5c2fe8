// FAILOVER_ASSERT: an invariant check that stays on in every build type. A broken
// invariant in the engine is a bug, and a bug must stop the process with the file
// and line rather than route traffic on corrupted state.
#pragma once

namespace failover::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
}  // namespace failover::detail

#define FAILOVER_ASSERT(cond)                                       \
  do {                                                              \
    if (!(cond)) [[unlikely]] {                                     \
      ::failover::detail::assert_failed(#cond, __FILE__, __LINE__); \
    }                                                               \
  } while (false)

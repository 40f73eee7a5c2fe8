#include "core/engine/assert.h"

#include <cstdio>
#include <cstdlib>

namespace failover::detail {
void assert_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "%s:%d: FAILOVER_ASSERT(%s) failed\n", file, line, expr);
  std::fflush(stderr);
  std::abort();
}
}  // namespace failover::detail

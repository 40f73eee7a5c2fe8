// Heap allocation counting for the benchmark binaries: alloc_counter.cpp replaces the
// global operator new/delete of every bench executable it is linked into, so a
// benchmark can report allocations (and bytes) per request in steady state.
#pragma once

#include <cstdint>

namespace failover::bench {

struct AllocCount {
  std::uint64_t allocs = 0;
  std::uint64_t bytes = 0;
};

// Allocations and bytes requested since the program started.
AllocCount alloc_count() noexcept;

}  // namespace failover::bench

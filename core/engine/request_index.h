// RequestIndex: which request slot holds each request id the engine holds, so that
// submit can check its caller's promise that an id is not reused while held. A
// fixed-capacity open-addressing table sized at construction (linear probing, at most
// half full, backward-shift deletion), so the hot path neither allocates nor leaves
// tombstones behind: a probe walks at most the cluster its id hashes into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/request.h"

namespace failover {

class RequestIndex {
 public:
  static constexpr std::uint32_t kAbsent = 0xffff'ffffU;

  // Room for `slots_max` ids at once, in a table at least twice that size.
  explicit RequestIndex(std::uint32_t slots_max = 0) {
    FAILOVER_ASSERT(slots_max < (std::uint32_t{1} << 30));
    std::uint32_t size = 2;
    while (size < 2 * slots_max) size *= 2;
    shift_ = 64;
    for (std::uint32_t s = size; s > 1; s /= 2) --shift_;
    ids_.assign(size, 0);
    slots_.assign(size, kAbsent);
    slots_max_ = slots_max;
  }

  // The slot holding `id`, or kAbsent.
  [[nodiscard]] std::uint32_t find(RequestId id) const noexcept { return slots_[position(id)]; }

  // Precondition: `id` is not held, and fewer than slots_max ids are.
  void insert(RequestId id, std::uint32_t slot) noexcept {
    FAILOVER_ASSERT(slot != kAbsent);
    FAILOVER_ASSERT(size_ < slots_max_);
    const std::size_t i = position(id);
    FAILOVER_ASSERT(slots_[i] == kAbsent);  // `id` is held already
    ids_[i] = id;
    slots_[i] = slot;
    ++size_;
  }

  // Precondition: `id` is held, by `slot`.
  void erase(RequestId id, std::uint32_t slot) noexcept {
    FAILOVER_ASSERT(slot != kAbsent);
    std::size_t hole = position(id);
    FAILOVER_ASSERT(slots_[hole] == slot);
    // Backward shift: pull each later entry of the cluster that may live at the hole
    // (its home is not cyclically after the hole) into it, so no probe stops early.
    const std::size_t mask = slots_.size() - 1;
    std::size_t next = hole;
    for (std::size_t n = 0; n < slots_.size(); ++n) {
      next = (next + 1) & mask;
      if (slots_[next] == kAbsent) break;
      const std::size_t from_home = (next - home(ids_[next])) & mask;
      if (from_home < ((next - hole) & mask)) continue;  // it may not move before its home
      ids_[hole] = ids_[next];
      slots_[hole] = slots_[next];
      hole = next;
    }
    slots_[hole] = kAbsent;
    FAILOVER_ASSERT(size_ > 0);
    --size_;
  }

  [[nodiscard]] std::uint32_t size() const noexcept { return size_; }

 private:
  // Where `id` is, or the free entry where its probe ends. The table is at most half
  // full, so a probe meets a free entry within its size.
  [[nodiscard]] std::size_t position(RequestId id) const noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(id);
    for (std::size_t n = 0; n < slots_.size() && slots_[i] != kAbsent && ids_[i] != id; ++n) i = (i + 1) & mask;
    return i;
  }

  // Fibonacci hashing: the top bits of id * 2^64/phi, which spreads consecutive ids.
  [[nodiscard]] std::size_t home(RequestId id) const noexcept {
    return static_cast<std::size_t>((id * 0x9e37'79b9'7f4a'7c15ULL) >> shift_);
  }

  std::vector<RequestId> ids_;
  std::vector<std::uint32_t> slots_;  // kAbsent: the entry is free
  std::uint32_t slots_max_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t shift_ = 63;
};

}  // namespace failover

// TimerHeap: a fixed-capacity indexed min-heap of (time, id) keys, one slot per id, so
// that a timer can be moved or removed in O(log n) without leaving stale entries
// behind. Ties break on id, which makes the order of simultaneous timers deterministic.
#pragma once

#include <cstdint>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/time.h"

namespace failover {

class TimerHeap {
 public:
  static constexpr std::uint32_t kAbsent = 0xffff'ffffU;

  explicit TimerHeap(std::uint32_t ids = 0) : pos_(ids, kAbsent), at_(ids, kTimeNever) {
    heap_.reserve(ids);
  }

  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t capacity_ids() const noexcept { return pos_.size(); }
  [[nodiscard]] std::uint32_t top() const noexcept {
    FAILOVER_ASSERT(!heap_.empty());
    return heap_[0];
  }
  [[nodiscard]] Time top_time() const noexcept { return empty() ? kTimeNever : at_[heap_[0]]; }
  [[nodiscard]] bool armed(std::uint32_t id) const noexcept { return pos_[id] != kAbsent; }
  [[nodiscard]] Time at(std::uint32_t id) const noexcept { return at_[id]; }

  // Arms id at t, or moves it there; kTimeNever disarms.
  void set(std::uint32_t id, Time t) noexcept {
    FAILOVER_ASSERT(id < pos_.size());
    if (t == kTimeNever) {
      remove(id);
      return;
    }
    if (pos_[id] == kAbsent) {
      FAILOVER_ASSERT(heap_.size() < pos_.size());
      at_[id] = t;
      pos_[id] = static_cast<std::uint32_t>(heap_.size());
      heap_.push_back(id);
      sift_up(pos_[id]);
      return;
    }
    const Time old = at_[id];
    at_[id] = t;
    if (t < old) {
      sift_up(pos_[id]);
    } else {
      sift_down(pos_[id]);
    }
  }

  void remove(std::uint32_t id) noexcept {
    FAILOVER_ASSERT(id < pos_.size());
    const std::uint32_t p = pos_[id];
    if (p == kAbsent) return;
    const std::uint32_t last = heap_.back();
    heap_.pop_back();
    pos_[id] = kAbsent;
    at_[id] = kTimeNever;
    if (last == id) return;
    heap_[p] = last;
    pos_[last] = p;
    sift_up(p);
    sift_down(pos_[last]);
  }

 private:
  [[nodiscard]] bool less(std::uint32_t a, std::uint32_t b) const noexcept {
    return at_[a] < at_[b] || (at_[a] == at_[b] && a < b);
  }
  void place(std::uint32_t p, std::uint32_t id) noexcept {
    heap_[p] = id;
    pos_[id] = p;
  }
  void sift_up(std::uint32_t p) noexcept {
    const std::uint32_t id = heap_[p];
    while (p > 0) {  // bounded by the heap's height
      const std::uint32_t parent = (p - 1) / 2;
      if (!less(id, heap_[parent])) break;
      place(p, heap_[parent]);
      p = parent;
    }
    place(p, id);
  }
  void sift_down(std::uint32_t p) noexcept {
    const auto n = static_cast<std::uint32_t>(heap_.size());
    const std::uint32_t id = heap_[p];
    for (;;) {  // bounded by the heap's height
      std::uint32_t child = 2 * p + 1;
      if (child >= n) break;
      if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
      if (!less(heap_[child], id)) break;
      place(p, heap_[child]);
      p = child;
    }
    place(p, id);
  }

  std::vector<std::uint32_t> pos_;
  std::vector<Time> at_;
  std::vector<std::uint32_t> heap_;
};

}  // namespace failover

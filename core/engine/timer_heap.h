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

  explicit TimerHeap(std::uint32_t ids = 0) : pos_(ids, kAbsent) { heap_.reserve(ids); }

  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t capacity_ids() const noexcept { return pos_.size(); }
  [[nodiscard]] std::uint32_t top() const noexcept {
    FAILOVER_ASSERT(!heap_.empty());
    return heap_[0].id;
  }
  [[nodiscard]] Time top_time() const noexcept { return empty() ? kTimeNever : heap_[0].at; }
  [[nodiscard]] bool armed(std::uint32_t id) const noexcept { return pos_[id] != kAbsent; }
  [[nodiscard]] Time at(std::uint32_t id) const noexcept { return armed(id) ? heap_[pos_[id]].at : kTimeNever; }

  // Arms id at t, or moves it there; kTimeNever disarms.
  void set(std::uint32_t id, Time t) noexcept {
    FAILOVER_ASSERT(id < pos_.size());
    if (t == kTimeNever) {
      remove(id);
      return;
    }
    if (pos_[id] == kAbsent) {
      FAILOVER_ASSERT(heap_.size() < pos_.size());
      heap_.push_back(Node{t, id});
      sift_up(static_cast<std::uint32_t>(heap_.size() - 1), Node{t, id});
      return;
    }
    const std::uint32_t p = pos_[id];
    const Time old = heap_[p].at;
    if (t < old) {
      sift_up(p, Node{t, id});
    } else {
      sift_down(p, Node{t, id});
    }
  }

  void remove(std::uint32_t id) noexcept {
    FAILOVER_ASSERT(id < pos_.size());
    const std::uint32_t p = pos_[id];
    if (p == kAbsent) return;
    const Node last = heap_.back();
    heap_.pop_back();
    pos_[id] = kAbsent;
    if (last.id == id) return;
    // `last` takes the hole; it moves up or down from there, never both.
    if (p > 0 && less(last, heap_[(p - 1) / 2])) {
      sift_up(p, last);
    } else {
      sift_down(p, last);
    }
  }

 private:
  // The key sits in the heap next to its id: a comparison reads the node it already
  // holds instead of looking the time up by id, a load from anywhere in the table.
  struct Node {
    Time at;
    std::uint32_t id = 0;
  };

  [[nodiscard]] static bool less(const Node& a, const Node& b) noexcept {
    return a.at < b.at || (a.at == b.at && a.id < b.id);
  }
  void place(std::uint32_t p, const Node& node) noexcept {
    heap_[p] = node;
    pos_[node.id] = p;
  }
  // Moves `node` from the hole at p towards the root to its place.
  void sift_up(std::uint32_t p, const Node& node) noexcept {
    FAILOVER_ASSERT(p < heap_.size());
    while (p > 0) {  // bounded by the heap's height
      const std::uint32_t parent = (p - 1) / 2;
      if (!less(node, heap_[parent])) break;
      place(p, heap_[parent]);
      p = parent;
    }
    place(p, node);
  }
  // Moves `node` from the hole at p towards the leaves to its place.
  void sift_down(std::uint32_t p, const Node& node) noexcept {
    const auto n = static_cast<std::uint32_t>(heap_.size());
    FAILOVER_ASSERT(p < n);
    for (;;) {  // bounded by the heap's height
      std::uint32_t child = 2 * p + 1;
      if (child >= n) break;
      if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
      if (!less(heap_[child], node)) break;
      place(p, heap_[child]);
      p = child;
    }
    place(p, node);
  }

  std::vector<std::uint32_t> pos_;  // by id: its node's index in heap_, or kAbsent
  std::vector<Node> heap_;
};

}  // namespace failover

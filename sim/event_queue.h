// EventQueue: the simulator's agenda, a binary min-heap of events keyed by (time,
// insertion sequence). It decides only the order in which events come out -- earliest
// first, and among events at the same time the one pushed first -- so that a run never
// depends on pointer or hash order; what an event means is left to the event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/time.h"

namespace failover::sim {

// The loop's default event: a kind code and two 64-bit payload words (a request id,
// an attempt id, a provider index...). Small and trivially copyable on purpose.
struct SimEvent {
  std::uint32_t kind = 0;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  friend bool operator==(const SimEvent&, const SimEvent&) = default;
};

template <typename Event = SimEvent>
class EventQueue {
 public:
  struct Entry {
    Time at;
    std::uint64_t sequence = 0;  // 0 for the first event ever pushed
    Event event;
  };

  // `size_max` bounds the events held at once (a leak of events is a bug, not load);
  // `reserve` (at most size_max) is allocated up front so that a run in steady state
  // does not allocate.
  explicit EventQueue(std::size_t size_max, std::size_t reserve = 4'096) : size_max_(size_max) {
    FAILOVER_ASSERT(size_max > 0);
    FAILOVER_ASSERT(size_max <= (std::size_t{1} << 40));
    heap_.reserve(reserve < size_max ? reserve : size_max);
  }

  // Schedules `event` at `at`. Precondition: `at` is not before the last popped event
  // (nothing is scheduled in the past) and the queue is below size_max.
  void push(Time at, const Event& event) {
    FAILOVER_ASSERT(at >= now_);
    FAILOVER_ASSERT(heap_.size() < size_max_);
    heap_.push_back(Entry{at, sequence_, event});
    ++sequence_;
    sift_up(heap_.size() - 1);
  }

  // Removes and returns the earliest event; ties go to the one pushed first.
  Entry pop() {
    FAILOVER_ASSERT(!heap_.empty());
    Entry top = heap_.front();
    const Entry last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) refill_root(last);
    FAILOVER_ASSERT(top.at >= now_);
    now_ = top.at;
    return top;
  }

  [[nodiscard]] const Entry& top() const {
    FAILOVER_ASSERT(!heap_.empty());
    return heap_.front();
  }
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  // The time of the earliest event; kTimeNever when the queue is empty.
  [[nodiscard]] Time next_time() const noexcept { return heap_.empty() ? kTimeNever : heap_.front().at; }
  // Events pushed since construction: the next event's sequence number.
  [[nodiscard]] std::uint64_t pushed() const noexcept { return sequence_; }
  // The time of the last popped event: the loop's virtual "now".
  [[nodiscard]] Time now() const noexcept { return now_; }

 private:
  static bool before(const Entry& x, const Entry& y) noexcept {
    if (x.at != y.at) return x.at < y.at;
    return x.sequence < y.sequence;
  }

  // The sifts move a hole rather than swap entries: each level then copies one 40-byte
  // entry instead of three, which is most of what the heap costs the event loop.
  void sift_up(std::size_t i) {
    FAILOVER_ASSERT(i < heap_.size());
    const Entry moving = heap_[i];
    // Each step halves i: at most 64 iterations.
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!before(moving, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = moving;
  }

  // Puts `last` (the entry taken off the end) where the popped root was. Floyd's
  // bottom-up variant: the hole goes down to a leaf along the earlier child at each
  // level, one comparison per level, and `last` -- usually among the latest events --
  // climbs back the few levels it needs; a top-down sift would compare it at every level.
  void refill_root(const Entry& last) {
    const std::size_t n = heap_.size();
    FAILOVER_ASSERT(n > 0);
    std::size_t i = 0;
    // Each step at least doubles i: at most 64 iterations.
    for (std::size_t child = 1; child < n; child = 2 * i + 1) {
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = last;
    sift_up(i);
  }

  std::vector<Entry> heap_;
  std::uint64_t sequence_ = 0;
  std::size_t size_max_;
  Time now_ = kTimeZero;
};

}  // namespace failover::sim

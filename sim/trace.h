// The trace digest: one 64-bit fingerprint of a run's ordered event trace, printed
// with every run, so that "same scenario + seed -> same run" is checked by comparing
// 16 hex digits. It decides the hash and, with a TraceRecorder, how two runs are
// compared to name their first diverging event; which events are traced, and what
// their kind codes and payload words mean, is left to the event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/time.h"

namespace failover::sim {

// One traced event: its position in the trace, its virtual time, a kind code and two
// payload words (ids, indices, status codes...).
struct TraceEvent {
  std::uint64_t index = 0;
  Time at;
  std::uint32_t kind = 0;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  friend bool operator==(const TraceEvent&, const TraceEvent&) = default;
};

inline constexpr std::uint64_t kTraceGolden = 0x9e3779b97f4a7c15ULL;

// splitmix64's output function (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
// Inline, as the digest folds six of them into every event of every run: called out of
// line they cost more than the rest of the hash.
inline std::uint64_t mix64(std::uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The hash of one event: starting from h = 0x9e3779b97f4a7c15, each of the five words
// (index, time in µs as two's complement, kind, a, b) in that order is folded as
// h = mix64(h ^ word) + 0x9e3779b97f4a7c15. Independent of byte order by construction.
inline std::uint64_t event_hash(const TraceEvent& event) noexcept {
  const std::uint64_t words[5] = {event.index, static_cast<std::uint64_t>(to_us(event.at)), event.kind, event.a,
                                  event.b};
  std::uint64_t h = kTraceGolden;
  for (const std::uint64_t word : words) h = mix64(h ^ word) + kTraceGolden;
  return h;
}

// Keeps the first `events_max` events of a trace (memory stays bounded however long the
// run), and counts the rest.
class TraceRecorder {
 public:
  explicit TraceRecorder(std::size_t events_max);

  void record(const TraceEvent& event);
  [[nodiscard]] const std::vector<TraceEvent>& events() const noexcept { return events_; }
  [[nodiscard]] std::uint64_t seen() const noexcept { return seen_; }
  // True when events past events_max were counted but not kept.
  [[nodiscard]] bool truncated() const noexcept { return seen_ > events_.size(); }

 private:
  std::size_t events_max_;
  std::vector<TraceEvent> events_;
  std::uint64_t seen_ = 0;
};

// The first position where two recorded traces differ. An event missing on one side
// (one trace is a prefix of the other) is empty there.
struct Divergence {
  std::uint64_t index = 0;
  std::optional<TraceEvent> left;
  std::optional<TraceEvent> right;
};

// Compares the kept events in order. Empty when they agree over every kept event and
// both saw the same number of events; when the traces differ only past the kept window
// the divergence is reported at the end of the shorter window with both sides empty.
std::optional<Divergence> first_divergence(const TraceRecorder& left, const TraceRecorder& right);

// The running digest: D starts at 0 and each event folds in as
// D = mix64(D ^ event_hash(event)) + 0x9e3779b97f4a7c15, so the digest depends on
// every event and on their order.
class TraceDigest {
 public:
  // `recorder` (optional, not owned) also receives every event.
  explicit TraceDigest(TraceRecorder* recorder = nullptr) noexcept : recorder_(recorder) {}

  // Appends the next event; its index is the number of events added before it.
  // Precondition: `at` is not before the previous event's time. Inline: the event loop
  // calls it several times per request.
  void add(Time at, std::uint32_t kind, std::uint64_t a, std::uint64_t b) {
    FAILOVER_ASSERT(at >= last_);
    const TraceEvent event{events_, at, kind, a, b};
    digest_ = mix64(digest_ ^ event_hash(event)) + kTraceGolden;
    ++events_;
    last_ = at;
    if (recorder_ != nullptr) recorder_->record(event);
    FAILOVER_ASSERT(events_ > event.index);
  }

  [[nodiscard]] std::uint64_t value() const noexcept { return digest_; }
  [[nodiscard]] std::uint64_t events() const noexcept { return events_; }
  // The digest as 16 lower-case hex digits.
  [[nodiscard]] std::string hex() const;

 private:
  TraceRecorder* recorder_;
  std::uint64_t digest_ = 0;
  std::uint64_t events_ = 0;
  Time last_ = kTimeZero;
};

// 16 lower-case hex digits, most significant first.
std::string to_hex16(std::uint64_t value);

}  // namespace failover::sim

#include "sim/trace.h"

#include <algorithm>

#include "core/engine/assert.h"

namespace failover::sim {

TraceRecorder::TraceRecorder(std::size_t events_max) : events_max_(events_max) {
  FAILOVER_ASSERT(events_max > 0);
  FAILOVER_ASSERT(events_max <= (std::size_t{1} << 32));
  events_.reserve(std::min<std::size_t>(events_max, 1 << 16));
}

void TraceRecorder::record(const TraceEvent& event) {
  FAILOVER_ASSERT(event.index == seen_);
  FAILOVER_ASSERT(events_.size() <= events_max_);
  ++seen_;
  if (events_.size() < events_max_) events_.push_back(event);
}

std::optional<Divergence> first_divergence(const TraceRecorder& left, const TraceRecorder& right) {
  const std::vector<TraceEvent>& l = left.events();
  const std::vector<TraceEvent>& r = right.events();
  const std::size_t common = std::min(l.size(), r.size());
  for (std::size_t i = 0; i < common; ++i) {
    FAILOVER_ASSERT(l[i].index == i);
    if (!(l[i] == r[i])) return Divergence{i, l[i], r[i]};
  }
  if (l.size() != r.size()) {
    // One kept window is a prefix of the other: the shorter trace either ended here or
    // kept no more; name the event that only one side has.
    Divergence d{common, std::nullopt, std::nullopt};
    if (l.size() > common) d.left = l[common];
    if (r.size() > common) d.right = r[common];
    return d;
  }
  if (left.seen() != right.seen()) return Divergence{common, std::nullopt, std::nullopt};
  FAILOVER_ASSERT(left.seen() >= common);
  return std::nullopt;
}

std::string TraceDigest::hex() const {
  return to_hex16(digest_);
}

std::string to_hex16(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    out[15 - i] = kDigits[value & 0xf];
    value >>= 4;
  }
  FAILOVER_ASSERT(value == 0);
  return out;
}

}  // namespace failover::sim

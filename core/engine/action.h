// Actions: what the engine asks its driver to do, or tells it happened. Plain values
// (no callbacks, no pointers into the engine), collected in a fixed-capacity buffer
// the driver drains after every input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/config.h"
#include "core/engine/request.h"
#include "core/engine/time.h"

namespace failover {

// Encodes (generation << 32 | slot) so that a stale id is detected, not misrouted.
using AttemptId = std::uint64_t;

struct SendAttempt {
  AttemptId attempt = 0;
  RequestId request = 0;
  Index target = kNoIndex;    // Config::targets index
  Index provider = kNoIndex;  // Config::providers index
  Index model = kNoIndex;     // index into that provider's models: its own model id
  std::int32_t number = 0;    // 1 for the first attempt of the request
  bool hedge = false;
  Time deadline;  // the engine times the attempt out here at the latest
  // A half-open breaker's probe. It runs to its verdict even when its request ends
  // first: its request's Complete may then come while it is still in flight, and the
  // driver still reports its end (on_response), which only the breaker hears.
  bool probe = false;
};

// Why the engine cancels an attempt: it ran past its own timeout, its request's
// deadline passed, its hedge twin won (or its stream committed elsewhere), or its
// request's caller went away (Engine::cancel).
enum class CancelReason : std::uint8_t { timeout, deadline, hedge_lost, caller_gone };

struct CancelAttempt {
  AttemptId attempt = 0;
  RequestId request = 0;
  CancelReason reason = CancelReason::timeout;
};

enum class RequestStatus : std::uint8_t { succeeded, failed, dropped };

enum class EndReason : std::uint8_t {
  ok,
  queue_full,          // dropped: the queue (or the request table) was full; or a waiting request
                       // evicted for another route's newcomer (failed, if it had attempts)
  deadline,            // dropped: no attempt could start (and answer) before the deadline
  deadline_exceeded,   // failed: the deadline passed after attempts had started
  attempts_exhausted,  // failed: attempts_max reached, or no target left to try
  retry_budget,        // failed: the shared retry budget was empty
  cost_budget,         // dropped: the cost budget ran out (on_exhausted = reject)
  no_target,           // failed: every target unavailable and when_unavailable = fail
  caller_error,        // failed: the provider said the request is wrong (400/413/422)
  capability,          // failed: refused for context length / content policy, no route left
  stream_interrupted,  // failed: a stream broke after bytes reached the caller
  rate_limited,        // failed: Retry-After beyond retry_after_max and nowhere else to go
  invalid_request,     // dropped: unknown route/tier, or too large for every target
  misconfigured,       // failed: every target left answered 401/403/404 or a redirect (a configuration error)
  cancelled,           // dropped: its caller went away (Engine::cancel), whatever it had started
};
inline constexpr std::size_t kEndReasonCount = 15;

struct Complete {
  RequestId request = 0;
  RequestStatus status = RequestStatus::succeeded;
  EndReason reason = EndReason::ok;
  Index target = kNoIndex;    // the target that served it, if any
  std::int32_t attempts = 0;  // attempts started, hedges included
  Duration latency{0};        // from submit to completion, queue wait included
  std::int64_t cost_micro_usd = 0;
  bool downgraded = false;  // served by a cheaper tier because the budget ran out
};

enum class ChargeKind : std::uint8_t {
  usage,            // from the usage the provider reported
  estimated,        // success without usage: estimated from the request
  possibly_billed,  // timed out or cancelled after sending: may be billed, counted worst case
};

struct Charge {
  RequestId request = 0;
  AttemptId attempt = 0;
  Index target = kNoIndex;
  std::int64_t cost_micro_usd = 0;
  ChargeKind kind = ChargeKind::usage;
};

enum class BreakerState : std::uint8_t { closed, open, half_open };

struct BreakerChanged {
  Index target = kNoIndex;
  BreakerState from = BreakerState::closed;
  BreakerState to = BreakerState::closed;
  Time at;
};

using Action = std::variant<SendAttempt, CancelAttempt, Complete, Charge, BreakerChanged>;

// A bounded buffer of actions, allocated once. The engine never fills it past
// capacity: when it has more to say it stops and reports next_deadline() == now,
// and the driver calls on_timeout() again after draining.
class ActionBuffer {
 public:
  static constexpr std::size_t kCapacityMin = 64;
  explicit ActionBuffer(std::size_t capacity = 1'024) : capacity_(capacity) {
    FAILOVER_ASSERT(capacity >= kCapacityMin);
    actions_.reserve(capacity);
  }
  void push(const Action& a) {
    FAILOVER_ASSERT(actions_.size() < capacity_);
    actions_.push_back(a);
  }
  [[nodiscard]] std::size_t room() const noexcept { return capacity_ - actions_.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return actions_.size(); }
  [[nodiscard]] bool empty() const noexcept { return actions_.empty(); }
  [[nodiscard]] const Action& operator[](std::size_t i) const { return actions_[i]; }
  [[nodiscard]] auto begin() const noexcept { return actions_.begin(); }
  [[nodiscard]] auto end() const noexcept { return actions_.end(); }
  void clear() noexcept { actions_.clear(); }

 private:
  std::size_t capacity_;
  std::vector<Action> actions_;
};

const char* to_string(EndReason r) noexcept;
const char* to_string(RequestStatus s) noexcept;
const char* to_string(BreakerState s) noexcept;

}  // namespace failover

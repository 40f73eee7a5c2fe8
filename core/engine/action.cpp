#include "core/engine/action.h"

namespace failover {

// A new EndReason must be named below and counted in kEndReasonCount, which sizes
// the per-reason tallies of reports.
static_assert(kEndReasonCount == static_cast<std::size_t>(EndReason::cancelled) + 1,
              "kEndReasonCount must match the EndReason enumeration");

const char* to_string(EndReason r) noexcept {
  switch (r) {
    case EndReason::ok:
      return "ok";
    case EndReason::queue_full:
      return "queue_full";
    case EndReason::deadline:
      return "deadline";
    case EndReason::deadline_exceeded:
      return "deadline_exceeded";
    case EndReason::attempts_exhausted:
      return "attempts_exhausted";
    case EndReason::retry_budget:
      return "retry_budget";
    case EndReason::cost_budget:
      return "cost_budget";
    case EndReason::no_target:
      return "no_target";
    case EndReason::caller_error:
      return "caller_error";
    case EndReason::capability:
      return "capability";
    case EndReason::stream_interrupted:
      return "stream_interrupted";
    case EndReason::rate_limited:
      return "rate_limited";
    case EndReason::invalid_request:
      return "invalid_request";
    case EndReason::misconfigured:
      return "misconfigured";
    case EndReason::cancelled:
      return "cancelled";
  }
  // Only a value outside the enumeration gets here, and that is a bug.
  FAILOVER_ASSERT(static_cast<std::size_t>(r) < kEndReasonCount);
  return "invalid";
}

const char* to_string(RequestStatus s) noexcept {
  switch (s) {
    case RequestStatus::succeeded:
      return "succeeded";
    case RequestStatus::failed:
      return "failed";
    case RequestStatus::dropped:
      return "dropped";
  }
  FAILOVER_ASSERT(static_cast<int>(s) <= static_cast<int>(RequestStatus::dropped));
  return "invalid";
}

const char* to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
  }
  FAILOVER_ASSERT(static_cast<int>(s) <= static_cast<int>(BreakerState::half_open));
  return "invalid";
}

}  // namespace failover

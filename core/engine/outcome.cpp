#include "core/engine/outcome.h"

#include "core/engine/assert.h"

namespace failover {
namespace {

// The built-in table for an HTTP status no override claimed. A redirect is a
// configuration error (the base URL is wrong, and the same URL redirects again), as
// are 401/403/404. Anything else unexpected (1xx, a status outside 100..599) is
// transient: the target misbehaved, and the request itself is not known to be at fault.
OutcomeClass classify_status(std::int32_t status) noexcept {
  if (status >= 200 && status <= 299) return OutcomeClass::success;
  if (status >= 300 && status <= 399) return OutcomeClass::credential;
  switch (status) {
    case 408:
      return OutcomeClass::timeout;
    case 429:
      return OutcomeClass::rate_limited;
    case 401:
    case 403:
    case 404:
      return OutcomeClass::credential;
    default:
      break;
  }
  // 400, 413, 422 and every other 4xx: the request is wrong, and no target would take it.
  if (status >= 400 && status <= 499) return OutcomeClass::caller_error;
  // 5xx, Anthropic's 529 "overloaded" among them, and anything else.
  return OutcomeClass::transient;
}

OutcomeClass classify_http(const Outcome& outcome, const ClassifyPolicy& policy) noexcept {
  // Overrides win over everything, refusals included; the table is a handful of rows.
  for (const StatusOverride& o : policy.status_overrides) {
    if (o.status == outcome.http_status) return o.cls;
  }
  if (outcome.refusal == Refusal::context_length || outcome.refusal == Refusal::content_policy) {
    return OutcomeClass::capability;
  }
  return classify_status(outcome.http_status);
}

}  // namespace

OutcomeClass classify(const Outcome& outcome, const ClassifyPolicy& policy) noexcept {
  switch (outcome.kind) {
    case OutcomeKind::success:
      return OutcomeClass::success;
    case OutcomeKind::http_status:
      return classify_http(outcome, policy);
    case OutcomeKind::connect_error:
    case OutcomeKind::reset:
      return OutcomeClass::transient;
    case OutcomeKind::timeout:
      return OutcomeClass::timeout;
    case OutcomeKind::malformed:
    case OutcomeKind::truncated:
      return OutcomeClass::malformed;
    case OutcomeKind::cancelled:
      return OutcomeClass::cancelled;
    // Retrying the same target verifies the same certificate again: fail over, and let
    // a person fix the CA file or the host name (the target rests as misconfigured).
    case OutcomeKind::tls_verify:
      return OutcomeClass::credential;
  }
  // Only a value outside the enumeration gets here: a corrupted Outcome is a bug.
  FAILOVER_ASSERT(static_cast<int>(outcome.kind) <= static_cast<int>(OutcomeKind::tls_verify));
  return OutcomeClass::transient;
}

}  // namespace failover

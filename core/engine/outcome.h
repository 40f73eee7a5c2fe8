// Outcome: how one attempt ended, as the driver saw it (a status code, a reset, a
// timeout, a body that did not decode), and classify(), which turns it into exactly
// one OutcomeClass under the configured overrides. A provider failure is data here,
// never an error or an exception.
#pragma once

#include <cstdint>
#include <optional>

#include "core/engine/config.h"
#include "core/engine/time.h"

namespace failover {

enum class OutcomeKind : std::uint8_t {
  success,        // 2xx with a body that decoded
  http_status,    // any non-2xx status
  connect_error,  // refused, DNS, TLS handshake: nothing was sent
  reset,          // the connection broke after the request was sent
  timeout,        // the transport's own connect / first-byte / idle timer
  malformed,      // 2xx with a body that does not decode
  truncated,      // a stream that ended before its end marker
  cancelled,
  tls_verify,  // the server's certificate did not verify (wrong CA or host): a configuration error
};

enum class TimeoutKind : std::uint8_t { connect, first_byte, idle, total };
enum class Refusal : std::uint8_t { none, context_length, content_policy };

struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  bool reported = false;  // false: the response carried no usage; cost is estimated
};

struct Outcome {
  OutcomeKind kind = OutcomeKind::success;
  std::int32_t http_status = 0;
  TimeoutKind timeout = TimeoutKind::total;
  Refusal refusal = Refusal::none;
  Usage usage;
  // Back-pressure the driver read from Retry-After, retry-after-ms or a rate-limit
  // reset header (see core/protocol/retry_after.h), as a delay from the time of the response.
  std::optional<Duration> retry_after;

  static Outcome ok(Usage usage) { return {OutcomeKind::success, 200, {}, {}, usage, {}}; }
  static Outcome http(std::int32_t status, std::optional<Duration> retry_after = {}) {
    return {OutcomeKind::http_status, status, {}, {}, {}, retry_after};
  }
  static Outcome refused(std::int32_t status, Refusal why) {
    return {OutcomeKind::http_status, status, {}, why, {}, {}};
  }
  static Outcome of(OutcomeKind kind) { return {kind, 0, {}, {}, {}, {}}; }
  static Outcome timed_out(TimeoutKind which) { return {OutcomeKind::timeout, 0, which, {}, {}, {}}; }
};

// Decides the class of an outcome: overrides first, then the built-in table
// (2xx success; 400/413/422 and other 4xx caller_error; 401/403/404 credential;
// 408 timeout; 429 rate_limited; 5xx and 529 transient).
OutcomeClass classify(const Outcome& outcome, const ClassifyPolicy& policy) noexcept;

}  // namespace failover

// Request: one logical call from the application, as the engine sees it -- which
// route or tier it takes, how many tokens it will need, by when it must end. The
// payload itself stays with the driver, keyed by the request id.
#pragma once

#include <cstdint>
#include <optional>

#include "core/engine/config.h"
#include "core/engine/time.h"

namespace failover {

using RequestId = std::uint64_t;

struct Request {
  RequestId id = 0;        // the caller's; unique among requests not yet completed
  Index route = kNoIndex;  // exactly one of route and tier is set
  Index tier = kNoIndex;
  std::int64_t prompt_tokens = 0;  // estimate, for the context-window check and cost reservation
  std::int64_t output_tokens_max = 0;
  std::optional<Time> deadline;  // absolute; default: submit time + timeouts.request
  bool stream = false;           // the caller receives bytes as they come
};

}  // namespace failover

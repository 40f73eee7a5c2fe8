// Writing the JSON bodies the providers send, piece by piece into one string. Internal to
// failover_protocol (not installed). Strings go through Boost.JSON's serializer, which
// escapes quotes, backslashes and control characters and leaves UTF-8 intact; numbers
// are written with std::to_chars so that 0.7 reads "0.7" as the providers' SDKs send it,
// not Boost.JSON's "7E-1".
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/engine/assert.h"
#include "core/engine/outcome.h"

namespace failover::protocol::detail {

// A JSON string literal, quotes included.
inline void put_string(std::string& out, std::string_view s) {
  out += boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

// A string literal, or null for an empty string (finish_reason, stop_reason, code).
inline void put_string_or_null(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "null";
  } else {
    put_string(out, s);
  }
}

inline void put_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  FAILOVER_ASSERT(r.ec == std::errc());
  out.append(buf, r.ptr);
}

// The shortest decimal that reads back as `v`. Precondition: v is finite (JSON has no
// NaN or infinity).
inline void put_double(std::string& out, double v) {
  FAILOVER_ASSERT(std::isfinite(v));
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  FAILOVER_ASSERT(r.ec == std::errc());
  out.append(buf, r.ptr);
}

// `"usage":{...}` as OpenAI sends it (prompt, completion and total tokens, and the token
// details its SDK types declare: nothing cached, no audio, no reasoning, no prediction).
inline void put_openai_usage(std::string& out, const Usage& usage) {
  FAILOVER_ASSERT(usage.input_tokens >= 0 && usage.output_tokens >= 0);
  out += R"("usage":{"prompt_tokens":)";
  put_int(out, usage.input_tokens);
  out += R"(,"completion_tokens":)";
  put_int(out, usage.output_tokens);
  out += R"(,"total_tokens":)";
  put_int(out, usage.input_tokens + usage.output_tokens);
  out += R"(,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0})";
  out += R"(,"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,)";
  out += R"("accepted_prediction_tokens":0,"rejected_prediction_tokens":0}})";
}

// `"usage":{...}` of an Anthropic message (and message_start) with its cache counts
// (no prompt caching: zeros) and service tier, as the API sends them.
inline void put_anthropic_usage(std::string& out, std::int64_t input_tokens, std::int64_t output_tokens) {
  FAILOVER_ASSERT(input_tokens >= 0 && output_tokens >= 0);
  out += R"("usage":{"input_tokens":)";
  put_int(out, input_tokens);
  out += R"(,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,)";
  out += R"("cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":)";
  put_int(out, output_tokens);
  out += R"(,"service_tier":"standard"})";
}

}  // namespace failover::protocol::detail

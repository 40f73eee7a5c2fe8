// How a fake provider's decision goes on the wire: turns a sim::Reply (an Outcome at
// scenario times) into the bytes a real provider would send and the scenario times at
// which to send them -- a 200 with a JSON body, an SSE stream paced between first
// byte and done, an error status with the protocol's error body and Retry-After
// headers, a cut or undecodable body -- and how the connection ends (kept alive,
// closed, reset, or held open for a hang). Pure functions over values: the server
// (fleet_server.cpp) owns the sockets, the clock and the timers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/time.h"
#include "core/protocol/codec.h"
#include "sim/fleet.h"

namespace failover::serve {

// The longest answer served (max_tokens above it is a 400): a 100,000-word body is
// about 700 KB, and the FakeProvider's own bound is kTokensMax.
inline constexpr std::int64_t kAnswerTokensMax = 100'000;
// A stream carries at most this many text deltas (each delta then holds several words),
// so that pacing needs a bounded number of timers per answer.
inline constexpr std::size_t kStreamPiecesMax = 64;
inline constexpr std::int64_t kTimeScaleMax = 1'000'000;
static_assert(kAnswerTokensMax <= sim::kTokensMax);

// What the server knows of one decoded request, besides the FakeProvider's Reply.
struct WireRequest {
  Protocol protocol = Protocol::openai;
  std::string model;               // the model id as the client sent it
  std::int64_t prompt_tokens = 1;  // estimate_prompt_tokens
  std::int64_t output_tokens = 1;  // the request's max_tokens
  std::int64_t context_window_tokens = 0;
  bool stream = false;
  bool keep_alive = true;       // the client's HTTP keep-alive
  std::uint64_t sequence = 0;   // numbers the response ids ("chatcmpl-fleet-<n>")
  std::int64_t time_scale = 1;  // K: Retry-After values are divided by it
};

// How the connection ends once the steps are written.
enum class WireEnd : std::uint8_t {
  keep_alive,  // ready for the next request (or closed gracefully if the client asked)
  close,       // closed gracefully (TLS close_notify, then FIN)
  cut,         // closed gracefully mid-body: the client sees the body end early
  abort,       // closed abortively (SO_LINGER 0: an RST), nothing sent
  hold,        // nothing sent; held open until the client closes (a hang)
};

// One write: `bytes` (possibly empty: only a wait) once scenario time reaches `at`.
struct WireStep {
  Time at = kTimeZero;
  std::string bytes;
};

struct WirePlan {
  std::vector<WireStep> steps;  // in non-decreasing `at`
  WireEnd end = WireEnd::keep_alive;
};

// Prompt tokens for the fake provider: protocol::estimate_prompt_tokens, at most
// sim::kTokensMax (what a FakeProvider accepts).
std::int64_t estimate_prompt_tokens(const protocol::ChatRequest& request);

// The deterministic answer of `tokens` words (one word per output token, separated by
// single spaces), cycling through a fixed list.
std::string answer_text(std::int64_t tokens);

// The full answer a success carries: id, model, answer_text, usage as reported.
protocol::ChatResponse answer(const WireRequest& request);

// The response plan for `reply`, decided at scenario time `now`. Precondition:
// reply.outcome.kind is not cancelled; request token counts within [1, kAnswerTokensMax]
// for the output and [1, sim::kTokensMax] for the prompt.
WirePlan plan_reply(const WireRequest& request, const sim::Reply& reply, Time now);

// A whole error response: status line, headers (content-type, content-length,
// `connection: close` unless keep_alive, then `extra`) and the protocol's error body.
std::string error_response(Protocol protocol, std::int32_t http_status, const protocol::ErrorInfo& error,
                           bool keep_alive, const std::vector<protocol::Header>& extra = {});

// The retry-after and retry-after-ms headers for a scenario delay seen in real time
// scaled by K: whole seconds rounded up, and milliseconds rounded up (both at least 0).
std::vector<protocol::Header> retry_after_headers(Duration scenario_delay, std::int64_t time_scale);

// The error body a provider sends when prompt + max_tokens exceed the context window
// (OpenAI: code context_length_exceeded; Anthropic: invalid_request_error).
protocol::ErrorInfo context_length_error(Protocol protocol, std::int64_t prompt_tokens, std::int64_t output_tokens,
                                         std::int64_t context_window_tokens);

}  // namespace failover::serve

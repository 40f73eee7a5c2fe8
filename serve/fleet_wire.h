// How a fake provider's decision goes on the wire: turns a sim::Reply (an Outcome at
// scenario times) into the bytes a real provider would send and the scenario times at
// which to send them -- a 200 with a JSON body, an SSE stream paced between first
// byte and done, an error status with the protocol's error body and Retry-After
// headers, a cut or undecodable body, a stream broken by an error event, a missing end
// marker or a stall -- and how the connection ends (kept alive, closed, reset, or held
// open for a hang); and what the real APIs put around every answer: request ids,
// rate-limit headers, the models listing. Pure functions over values: the server
// (fleet_server.cpp) owns the sockets, the clocks and the timers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/prng.h"
#include "core/engine/time.h"
#include "core/protocol/codec.h"
#include "sim/fleet.h"
#include "sim/traffic.h"

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
  // The answer's length, at most output_tokens: all of it is a stop at the token limit
  // (finish_reason `length`, stop_reason `max_tokens`).
  std::int64_t answer_tokens = 1;
  std::int64_t context_window_tokens = 0;
  bool stream = false;
  bool include_usage = true;  // OpenAI streams: the client asked for the usage chunk
  // The first tool the request offered (requested_tool); empty: none. A success then
  // calls it after the text (fixed arguments, fragmented when streamed), with the stop
  // reason tool_calls / tool_use, so that clients see tool calls in both protocols.
  std::string tool;
  bool keep_alive = true;       // the client's HTTP keep-alive
  std::uint64_t sequence = 0;   // numbers the response ids ("chatcmpl-fleet-<n>")
  std::int64_t time_scale = 1;  // K: Retry-After values are divided by it
  std::int64_t created = 0;     // Unix seconds when the request arrived (OpenAI `created`)
  std::string request_id;       // also in an Anthropic error body's `request_id`
  // The least real time between two paced writes of one answer (0: a write per step):
  // plan_reply merges closer steps (coalesce_steps).
  Duration write_gap{0};
  // Sent in the head of whatever answers the request: its request id, rate limits.
  std::vector<protocol::Header> headers;
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

// The name of the first tool a request body offers (OpenAI `tools[0].function.name`,
// Anthropic `tools[0].name`), unless its tool_choice is none; empty otherwise.
std::string requested_tool(Protocol protocol, std::string_view body);

// The deterministic answer of `tokens` words (one word per output token, separated by
// single spaces), cycling through a fixed list.
std::string answer_text(std::int64_t tokens);

// The full answer a success carries: id, model, answer_text, usage as reported.
protocol::ChatResponse answer(const WireRequest& request);

// `plan` with each step that falls due less than `gap` (scenario time) after the last
// step kept merged into that step, its bytes sent earlier; the plan's last step is
// always kept at its own time. A paced write costs both ends a timer, a wake-up, a
// system call and a TLS record, and at a high time scale the pieces of a stream are a
// few real milliseconds apart: merging them bounds that cost per real second, not per
// piece. What a client measures stays: the bytes in order, the first byte no later
// than before (never before the plan's first step), the end at its time.
WirePlan coalesce_steps(WirePlan plan, Duration gap);

// The response plan for `reply`, decided at scenario time `now`. Precondition:
// reply.outcome.kind is not cancelled; request token counts within [1, kAnswerTokensMax]
// for the output and [1, sim::kTokensMax] for the prompt.
WirePlan plan_reply(const WireRequest& request, const sim::Reply& reply, Time now);

// A whole error response: status line, headers (content-type, content-length,
// `connection: close` unless keep_alive, then `extra`) and the protocol's error body
// (with `request_id` in an Anthropic body when given).
std::string error_response(Protocol protocol, std::int32_t http_status, const protocol::ErrorInfo& error,
                           bool keep_alive, const std::vector<protocol::Header>& extra = {},
                           std::string_view request_id = {});

// The retry-after-ms header for a scenario delay seen in real time scaled by K
// (milliseconds, rounded up), and retry-after (delay-seconds) only when that is a whole
// number of seconds: retry-after cannot say less than a second, and a rounded-up one
// would contradict retry-after-ms (clients take either, some the larger).
std::vector<protocol::Header> retry_after_headers(Duration scenario_delay, std::int64_t time_scale);

// A request id unique to this fleet (seed) and request: "req_" and 32 hex digits.
std::string request_id(std::uint64_t seed, std::uint64_t sequence);

// The header a provider sends its request id in: x-request-id (OpenAI), request-id (Anthropic).
protocol::Header request_id_header(Protocol protocol, std::string id);

// The rate-limit headers of a provider's RPM and TPM state (a limit of 0 sends none of
// its headers). OpenAI: x-ratelimit-{limit,remaining,reset}-{requests,tokens}, the reset
// a Go duration ("1s", "6m0s", "120ms"); Anthropic:
// anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}, the reset an RFC 3339
// UTC time ("2026-12-06T18:45:12Z", rounded up to the second) after `wall_now_unix_ms`.
// Limits and remaining are per scenario minute; the resets are divided by K.
std::vector<protocol::Header> rate_limit_headers(Protocol protocol, const sim::RateLimitState& limits,
                                                 std::int64_t time_scale, std::int64_t wall_now_unix_ms);

// A Go time.Duration string of a delay rounded up to the millisecond, as OpenAI sends
// its resets: "0s", "999ms", "1s", "1.5s", "6m0s", "1h0m0.25s".
std::string go_duration(Duration d);

// Unix seconds as RFC 3339 in UTC: "2026-12-06T18:45:12Z". Precondition: >= 0.
std::string rfc3339_utc(std::int64_t unix_seconds);

// A provider's models as its list-models endpoint answers (OpenAI GET /models:
// {"object":"list","data":[{"id","object":"model","created","owned_by"}]}; Anthropic GET
// /v1/models: {"data":[{"type":"model","id","display_name","created_at"}],"has_more",
// "first_id","last_id"}), and one of them as the retrieve endpoint answers it.
std::string models_body(Protocol protocol, const std::vector<ModelConfig>& models);
std::string model_body(Protocol protocol, const ModelConfig& model);

// A whole 200 JSON response (content-length, `connection: close` unless keep_alive).
std::string json_response(const std::string& body, bool keep_alive, const std::vector<protocol::Header>& extra);

// The lengths of the fleet's answers: each drawn from the output-token distribution of
// a traffic class of the scenario picked by weight (the same mix the simulator's
// arrivals come from), capped by the request's max_tokens. Deterministic: the n-th
// answer of a fleet seeded S has the same length whatever the requests' times. A
// scenario without traffic classes answers max_tokens.
class AnswerLengths {
 public:
  AnswerLengths(const sim::TrafficSpec& traffic, std::uint64_t seed);
  std::int64_t next(std::int64_t max_tokens);

 private:
  std::vector<sim::TrafficClass> classes_;  // the scenario's, in order
  std::int64_t total_weight_ = 0;
  Prng prng_;
};

// The error body a provider sends when prompt + max_tokens exceed the context window
// (OpenAI: code context_length_exceeded; Anthropic: invalid_request_error).
protocol::ErrorInfo context_length_error(Protocol protocol, std::int64_t prompt_tokens, std::int64_t output_tokens,
                                         std::int64_t context_window_tokens);

}  // namespace failover::serve

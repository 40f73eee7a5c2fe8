#include "serve/fleet_wire.h"

#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "core/engine/assert.h"

namespace failover::serve {
namespace {

namespace http = boost::beast::http;
using protocol::Header;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kEventStream = "text/event-stream";
constexpr std::string_view kTerminator = "0\r\n\r\n";

std::string status_line(std::int32_t status) {
  FAILOVER_ASSERT(status >= 100);
  FAILOVER_ASSERT(status <= 999);
  const http::status s = http::int_to_status(static_cast<unsigned>(status));
  // 529 is Anthropic's own "Overloaded"; Beast knows the registered codes.
  const std::string_view reason = status == 529                ? std::string_view{"Overloaded"}
                                  : s == http::status::unknown ? std::string_view{"Unknown"}
                                                               : std::string_view{http::obsolete_reason(s)};
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
}

// Status line and headers up to the blank line. Without a length the body is chunked.
std::string head(std::int32_t status, std::string_view content_type, std::optional<std::size_t> length, bool keep_alive,
                 const std::vector<Header>& extra = {}) {
  std::string out = status_line(status);
  out += "server: failover-fleet\r\n";
  out += "content-type: ";
  out += content_type;
  out += "\r\n";
  if (length) {
    out += "content-length: " + std::to_string(*length) + "\r\n";
  } else {
    out += "transfer-encoding: chunked\r\ncache-control: no-cache\r\n";
  }
  if (!keep_alive) out += "connection: close\r\n";
  for (const Header& h : extra) out += h.name + ": " + h.value + "\r\n";
  out += "\r\n";
  return out;
}

// One chunk of a chunked body; an empty piece would end the body, so it is skipped.
std::string chunk(std::string_view data) {
  if (data.empty()) return {};
  static constexpr std::array<char, 16> kHex{'0', '1', '2', '3', '4', '5', '6', '7',
                                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string size;
  for (std::size_t n = data.size(); n > 0; n /= 16) size.insert(size.begin(), kHex[n % 16]);
  std::string out;
  out.reserve(size.size() + data.size() + 4);
  out += size;
  out += "\r\n";
  out += data;
  out += "\r\n";
  return out;
}

// The scenario time of event j of `count` spread evenly over [first, done].
Time event_time(Time first, Time done, std::size_t j, std::size_t count) {
  FAILOVER_ASSERT(done >= first);
  FAILOVER_ASSERT(j < count);
  if (count <= 1) return first;
  const std::int64_t span = to_us(done - first);
  // span < 2^63 / 64 in any scenario (at most 30 days of faults plus latencies).
  return first + us(span / static_cast<std::int64_t>(count - 1) * static_cast<std::int64_t>(j) +
                    span % static_cast<std::int64_t>(count - 1) * static_cast<std::int64_t>(j) /
                        static_cast<std::int64_t>(count - 1));
}

std::vector<std::string> stream_events(const WireRequest& request) {
  const auto pieces = static_cast<std::size_t>(
      std::clamp<std::int64_t>(request.output_tokens, 1, static_cast<std::int64_t>(kStreamPiecesMax)));
  std::vector<std::string> events = protocol::encode_stream(request.protocol, answer(request), pieces);
  FAILOVER_ASSERT(!events.empty());
  return events;
}

// Events [0, count) of a stream: the head with event 0 at `first`, the others spread
// up to `last_at`; the caller appends what ends the body.
WirePlan stream_prefix(const WireRequest& request, const std::vector<std::string>& events, std::size_t count,
                       Time first, Time last_at) {
  FAILOVER_ASSERT(count >= 1);
  FAILOVER_ASSERT(count <= events.size());
  WirePlan plan;
  plan.steps.push_back({first, head(200, kEventStream, std::nullopt, request.keep_alive) + chunk(events[0])});
  for (std::size_t j = 1; j < count; ++j)
    plan.steps.push_back({event_time(first, last_at, j, count), chunk(events[j])});
  return plan;
}

WirePlan plan_success(const WireRequest& request, const sim::Reply& reply) {
  if (!request.stream) {
    const std::string body = protocol::encode_response(request.protocol, answer(request));
    return {{{reply.done_at, head(200, kJson, body.size(), request.keep_alive) + body}}, WireEnd::keep_alive};
  }
  const std::vector<std::string> events = stream_events(request);
  WirePlan plan = stream_prefix(request, events, events.size(), reply.first_byte_at, reply.done_at);
  if (events.size() == 1) {
    plan.steps.push_back({reply.done_at, std::string(kTerminator)});
  } else {
    plan.steps.back().bytes += kTerminator;
  }
  plan.end = WireEnd::keep_alive;
  return plan;
}

WirePlan plan_http_status(const WireRequest& request, const sim::Reply& reply) {
  const Outcome& o = reply.outcome;
  const protocol::ErrorInfo error = o.refusal == Refusal::context_length
                                        ? context_length_error(request.protocol, request.prompt_tokens,
                                                               request.output_tokens, request.context_window_tokens)
                                        : protocol::error_for_status(request.protocol, o.http_status);
  std::vector<Header> extra;
  if (o.retry_after) extra = retry_after_headers(*o.retry_after, request.time_scale);
  return {{{reply.done_at, error_response(request.protocol, o.http_status, error, request.keep_alive, extra)}},
          WireEnd::keep_alive};
}

// A 200 whose body does not decode: non-streamed, the first half of the JSON answer
// with a content-length that matches it; streamed, a first real event and then an
// event whose data is cut JSON, in a well-formed chunked body.
WirePlan plan_malformed(const WireRequest& request, const sim::Reply& reply) {
  if (!request.stream) {
    const std::string whole = protocol::encode_response(request.protocol, answer(request));
    const std::string body = whole.substr(0, std::max<std::size_t>(whole.size() / 2, 1));
    return {{{reply.done_at, head(200, kJson, body.size(), request.keep_alive) + body}}, WireEnd::keep_alive};
  }
  const std::vector<std::string> events = stream_events(request);
  WirePlan plan = stream_prefix(request, events, 1, reply.first_byte_at, reply.first_byte_at);
  const std::string broken =
      request.protocol == Protocol::anthropic
          ? "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"de\n\n"
          : "data: {\"id\":\"chatcmpl-fleet\",\"choices\":[{\"delta\":{\"content\n\n";
  plan.steps.push_back({reply.done_at, chunk(broken) + std::string(kTerminator)});
  plan.end = WireEnd::keep_alive;
  return plan;
}

// A body cut short: non-streamed, the head with the full content-length and half the
// body; streamed, the events up to the cut token and half of the next one. Then the
// connection closes without the rest (or the terminating chunk).
WirePlan plan_truncated(const WireRequest& request, const sim::Reply& reply) {
  if (!request.stream) {
    const std::string body = protocol::encode_response(request.protocol, answer(request));
    const std::string half = body.substr(0, body.size() / 2);
    return {{{reply.done_at, head(200, kJson, body.size(), request.keep_alive) + half}}, WireEnd::cut};
  }
  const std::vector<std::string> events = stream_events(request);
  const std::size_t n = events.size();
  FAILOVER_ASSERT(n >= 2);  // both protocols end a stream with a marker event of its own
  // Whole events sent, in proportion to the tokens delivered (< output_tokens): at
  // least the first, at most n - 2, so never the end marker.
  const auto delivered =
      static_cast<std::size_t>(std::clamp<std::int64_t>(reply.tokens_delivered, 0, request.output_tokens - 1));
  const std::size_t whole = 1 + (n - 2) * delivered / static_cast<std::size_t>(request.output_tokens);
  FAILOVER_ASSERT(whole < n);
  WirePlan plan = stream_prefix(request, events, whole, reply.first_byte_at, reply.done_at);
  // Half of the next event: the client's SSE parser is left mid-event.
  const std::string_view next = events[whole];
  plan.steps.push_back({reply.done_at, chunk(next.substr(0, std::max<std::size_t>(next.size() / 2, 1)))});
  plan.end = WireEnd::cut;
  return plan;
}

}  // namespace

std::int64_t estimate_prompt_tokens(const protocol::ChatRequest& request) {
  return std::min(protocol::estimate_prompt_tokens(request.messages), sim::kTokensMax);
}

std::string answer_text(std::int64_t tokens) {
  FAILOVER_ASSERT(tokens >= 1);
  FAILOVER_ASSERT(tokens <= kAnswerTokensMax);
  static constexpr std::array<std::string_view, 16> kWords{"the",   "fleet",   "answers", "every", "call",   "with",
                                                           "words", "counted", "one",     "per",   "output", "token",
                                                           "in",    "a",       "steady",  "cycle"};
  std::string text;
  text.reserve(static_cast<std::size_t>(tokens) * 6);
  for (std::int64_t i = 0; i < tokens; ++i) {
    if (i > 0) text += ' ';
    text += kWords[static_cast<std::size_t>(i) % kWords.size()];
  }
  return text;
}

protocol::ChatResponse answer(const WireRequest& request) {
  FAILOVER_ASSERT(request.output_tokens >= 1);
  FAILOVER_ASSERT(request.prompt_tokens >= 1);
  protocol::ChatResponse r;
  const std::string n = std::to_string(request.sequence);
  r.id = request.protocol == Protocol::anthropic ? "msg_fleet_" + n : "chatcmpl-fleet-" + n;
  r.model = request.model;
  r.text = answer_text(request.output_tokens);
  r.stop_reason = request.protocol == Protocol::anthropic ? "end_turn" : "stop";
  r.usage = Usage{request.prompt_tokens, request.output_tokens, true};
  return r;
}

WirePlan plan_reply(const WireRequest& request, const sim::Reply& reply, Time now) {
  FAILOVER_ASSERT(request.output_tokens >= 1 && request.output_tokens <= kAnswerTokensMax);
  FAILOVER_ASSERT(request.time_scale >= 1 && request.time_scale <= kTimeScaleMax);
  WirePlan plan;
  switch (reply.outcome.kind) {
    case OutcomeKind::success:
      plan = plan_success(request, reply);
      break;
    case OutcomeKind::http_status:
      plan = plan_http_status(request, reply);
      break;
    case OutcomeKind::malformed:
      plan = plan_malformed(request, reply);
      break;
    case OutcomeKind::truncated:
      plan = plan_truncated(request, reply);
      break;
    case OutcomeKind::timeout:
      plan.end = WireEnd::hold;
      break;
    case OutcomeKind::connect_error:
    case OutcomeKind::reset:
      plan.steps.push_back({reply.done_at, {}});
      plan.end = WireEnd::abort;
      break;
    case OutcomeKind::cancelled:
    case OutcomeKind::tls_verify:
      FAILOVER_ASSERT(false && "a FakeProvider never answers cancelled or with a TLS verification failure");
      break;
  }
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    FAILOVER_ASSERT(plan.steps[i].at >= now);
    FAILOVER_ASSERT(i == 0 || plan.steps[i].at >= plan.steps[i - 1].at);
  }
  return plan;
}

std::string error_response(Protocol protocol, std::int32_t http_status, const protocol::ErrorInfo& error,
                           bool keep_alive, const std::vector<Header>& extra) {
  FAILOVER_ASSERT(http_status >= 400);
  const std::string body = protocol::encode_error(protocol, http_status, error);
  return head(http_status, kJson, body.size(), keep_alive, extra) + body;
}

std::vector<Header> retry_after_headers(Duration scenario_delay, std::int64_t time_scale) {
  FAILOVER_ASSERT(time_scale >= 1);
  const std::int64_t real_us = std::max<std::int64_t>(to_us(scenario_delay), 0);
  const std::int64_t real_ms = (real_us / time_scale + (real_us % time_scale != 0 ? 1 : 0) + 999) / 1'000;
  const std::int64_t real_s = (real_ms + 999) / 1'000;
  FAILOVER_ASSERT(real_ms >= 0);
  return {{"retry-after", std::to_string(real_s)}, {"retry-after-ms", std::to_string(real_ms)}};
}

protocol::ErrorInfo context_length_error(Protocol protocol, std::int64_t prompt_tokens, std::int64_t output_tokens,
                                         std::int64_t context_window_tokens) {
  protocol::ErrorInfo e = protocol::error_for_status(protocol, 400);
  const std::string p = std::to_string(prompt_tokens);
  const std::string o = std::to_string(output_tokens);
  const std::string w = std::to_string(context_window_tokens);
  if (protocol == Protocol::openai) {
    e.type = "invalid_request_error";
    e.code = "context_length_exceeded";
    e.message = "This model's maximum context length is " + w + " tokens. However, you requested " +
                std::to_string(prompt_tokens + output_tokens) + " tokens (" + p + " in the messages, " + o +
                " in the completion). Please reduce the length of the messages or completion.";
  } else {
    e.type = "invalid_request_error";
    e.code.clear();
    // refusal_of() recognises Anthropic's context refusals by "prompt is too long".
    e.message = "prompt is too long: " + std::to_string(prompt_tokens + output_tokens) + " tokens > " + w +
                " maximum (input " + p + " + max_tokens " + o + ")";
  }
  return e;
}

}  // namespace failover::serve

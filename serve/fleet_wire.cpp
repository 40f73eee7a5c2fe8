#include "serve/fleet_wire.h"

#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/engine/assert.h"
#include "sim/json_writer.h"

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
      std::clamp<std::int64_t>(request.answer_tokens, 1, static_cast<std::int64_t>(kStreamPiecesMax)));
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
  plan.steps.push_back(
      {first, head(200, kEventStream, std::nullopt, request.keep_alive, request.headers) + chunk(events[0])});
  for (std::size_t j = 1; j < count; ++j)
    plan.steps.push_back({event_time(first, last_at, j, count), chunk(events[j])});
  return plan;
}

// The call of the request's tool that follows the answer's text (WireRequest::tool):
// its id and arguments, the same every time, the arguments in three fragments when streamed.
constexpr std::string_view kToolArguments = R"({"city": "Paris", "days": 3})";
constexpr std::array<std::string_view, 3> kToolFragments{R"({"city": )", R"("Paris", "days")", R"(: 3})"};

std::string tool_call_id(const WireRequest& request) {
  return (request.protocol == Protocol::anthropic ? "toolu_fleet_" : "call_fleet_") + std::to_string(request.sequence);
}

// A whole answer's body with the tool call added: OpenAI message.tool_calls, an
// Anthropic tool_use block after the text.
std::string with_tool_call(const WireRequest& request, const std::string& body) {
  boost::json::object o = boost::json::parse(body).as_object();
  if (request.protocol == Protocol::anthropic) {
    o["content"].as_array().push_back(boost::json::object{{"type", "tool_use"},
                                                          {"id", tool_call_id(request)},
                                                          {"name", request.tool},
                                                          {"input", boost::json::parse(kToolArguments)}});
  } else {
    boost::json::object fn{{"name", request.tool}, {"arguments", kToolArguments}};
    boost::json::object& message = o["choices"].as_array()[0].as_object()["message"].as_object();
    message["tool_calls"] =
        boost::json::array{boost::json::object{{"id", tool_call_id(request)}, {"type", "function"}, {"function", fn}}};
  }
  return boost::json::serialize(o);
}

// A stream's events with the tool call's inserted before the stop reason: OpenAI chunks
// (the first with id and name, then the arguments' fragments), or an Anthropic tool_use
// block (index 1, after the text block) with input_json_delta fragments.
std::vector<std::string> with_tool_call(const WireRequest& request, std::vector<std::string> events) {
  const bool anthropic = request.protocol == Protocol::anthropic;
  std::vector<std::string> tool;
  const auto openai_chunk = [&](boost::json::object call) {
    boost::json::object delta{{"tool_calls", boost::json::array{std::move(call)}}};
    boost::json::object c{{"id", "chatcmpl-fleet-" + std::to_string(request.sequence)},
                          {"object", "chat.completion.chunk"},
                          {"created", request.created},
                          {"model", request.model},
                          {"choices", boost::json::array{boost::json::object{
                                          {"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}}}};
    return "data: " + boost::json::serialize(c) + "\n\n";
  };
  const auto anthropic_event = [](std::string_view name, const boost::json::object& data) {
    return "event: " + std::string(name) + "\ndata: " + boost::json::serialize(data) + "\n\n";
  };
  if (anthropic) {
    tool.push_back(anthropic_event("content_block_start", {{"type", "content_block_start"},
                                                           {"index", 1},
                                                           {"content_block",
                                                            {{"type", "tool_use"},
                                                             {"id", tool_call_id(request)},
                                                             {"name", request.tool},
                                                             {"input", boost::json::object{}}}}}));
  } else {
    tool.push_back(openai_chunk({{"index", 0},
                                 {"id", tool_call_id(request)},
                                 {"type", "function"},
                                 {"function", {{"name", request.tool}, {"arguments", ""}}}}));
  }
  for (const std::string_view f : kToolFragments) {
    tool.push_back(anthropic ? anthropic_event("content_block_delta",
                                               {{"type", "content_block_delta"},
                                                {"index", 1},
                                                {"delta", {{"type", "input_json_delta"}, {"partial_json", f}}}})
                             : openai_chunk({{"index", 0}, {"function", {{"arguments", f}}}}));
  }
  if (anthropic) tool.push_back(anthropic_event("content_block_stop", {{"type", "content_block_stop"}, {"index", 1}}));
  // Anthropic: before message_delta and message_stop; OpenAI: before the finish chunk,
  // the usage chunk (when asked for) and [DONE].
  const std::size_t from_end = anthropic ? 2 : (answer(request).usage.reported ? 3 : 2);
  FAILOVER_ASSERT(events.size() > from_end);
  events.insert(events.end() - static_cast<std::ptrdiff_t>(from_end), tool.begin(), tool.end());
  FAILOVER_ASSERT(events.size() > tool.size());
  return events;
}

WirePlan plan_success(const WireRequest& request, const sim::Reply& reply) {
  if (!request.stream) {
    std::string body = protocol::encode_response(request.protocol, answer(request));
    if (!request.tool.empty()) body = with_tool_call(request, body);
    return {{{reply.done_at, head(200, kJson, body.size(), request.keep_alive, request.headers) + body}},
            WireEnd::keep_alive};
  }
  std::vector<std::string> events = stream_events(request);
  if (!request.tool.empty()) events = with_tool_call(request, std::move(events));
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
  std::vector<Header> extra = request.headers;
  if (o.retry_after) {
    for (Header& h : retry_after_headers(*o.retry_after, request.time_scale)) extra.push_back(std::move(h));
  }
  return {{{reply.done_at,
            error_response(request.protocol, o.http_status, error, request.keep_alive, extra, request.request_id)}},
          WireEnd::keep_alive};
}

// A 200 whose body does not decode: non-streamed, the first half of the JSON answer
// with a content-length that matches it; streamed, a first real event and then an
// event whose data is cut JSON, in a well-formed chunked body.
WirePlan plan_malformed(const WireRequest& request, const sim::Reply& reply) {
  if (!request.stream) {
    const std::string whole = protocol::encode_response(request.protocol, answer(request));
    const std::string body = whole.substr(0, std::max<std::size_t>(whole.size() / 2, 1));
    return {{{reply.done_at, head(200, kJson, body.size(), request.keep_alive, request.headers) + body}},
            WireEnd::keep_alive};
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
    return {{{reply.done_at, head(200, kJson, body.size(), request.keep_alive, request.headers) + half}}, WireEnd::cut};
  }
  const std::vector<std::string> events = stream_events(request);
  const std::size_t n = events.size();
  FAILOVER_ASSERT(n >= 2);  // both protocols end a stream with a marker event of its own
  // Whole events sent, in proportion to the tokens delivered (< output_tokens): at
  // least the first, at most n - 2, so never the end marker.
  const auto delivered =
      static_cast<std::size_t>(std::clamp<std::int64_t>(reply.tokens_delivered, 0, request.answer_tokens - 1));
  const std::size_t whole = 1 + (n - 2) * delivered / static_cast<std::size_t>(request.answer_tokens);
  FAILOVER_ASSERT(whole < n);
  WirePlan plan = stream_prefix(request, events, whole, reply.first_byte_at, reply.done_at);
  // Half of the next event: the client's SSE parser is left mid-event.
  const std::string_view next = events[whole];
  plan.steps.push_back({reply.done_at, chunk(next.substr(0, std::max<std::size_t>(next.size() / 2, 1)))});
  plan.end = WireEnd::cut;
  return plan;
}

// A stream broken after `tokens` words, in parts: the head events (before any text),
// the deltas of the words before the break, those of the words after it, and the tail
// (stop reason, usage, end marker). Concatenated, they are the whole stream (with its
// text split at the break); each side carries at most kStreamPiecesMax / 2 deltas.
struct SplitStream {
  std::vector<std::string> head;
  std::vector<std::string> before;
  std::vector<std::string> after;
  std::vector<std::string> tail;
};

SplitStream split_stream(const WireRequest& request, std::int64_t tokens) {
  FAILOVER_ASSERT(tokens >= 0 && tokens <= request.answer_tokens);
  const protocol::ChatResponse whole = answer(request);
  // message_start, content_block_start and ping; OpenAI's role chunk.
  const std::size_t head_count = request.protocol == Protocol::anthropic ? 3 : 1;
  std::size_t cut = 0;  // the byte where word `tokens` starts (one space between words)
  for (std::int64_t k = 0; k < tokens; ++k) {
    const std::size_t space = whole.text.find(' ', cut);
    cut = space == std::string::npos ? whole.text.size() : space + 1;
  }
  const auto deltas = [&](std::string_view text, std::int64_t words) {
    std::vector<std::string> out;
    if (text.empty()) return out;
    protocol::ChatResponse part = whole;
    part.text = std::string(text);
    const auto n =
        static_cast<std::size_t>(std::clamp<std::int64_t>(words, 1, static_cast<std::int64_t>(kStreamPiecesMax / 2)));
    const std::vector<std::string> events = protocol::encode_stream(request.protocol, part, n);
    FAILOVER_ASSERT(events.size() > head_count + n);
    out.assign(events.begin() + static_cast<std::ptrdiff_t>(head_count),
               events.begin() + static_cast<std::ptrdiff_t>(head_count + n));
    return out;
  };
  const std::vector<std::string> all = protocol::encode_stream(request.protocol, whole, 1);
  FAILOVER_ASSERT(all.size() > head_count + 1);
  SplitStream s;
  s.head.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(head_count));
  s.tail.assign(all.begin() + static_cast<std::ptrdiff_t>(head_count + 1), all.end());
  s.before = deltas(std::string_view(whole.text).substr(0, cut), tokens);
  s.after = deltas(std::string_view(whole.text).substr(cut), request.answer_tokens - tokens);
  return s;
}

// `events` spread evenly over [from, to], appended to `plan` (the head already in it).
void append_spread(WirePlan& plan, const std::vector<std::string>& events, Time from, Time to) {
  for (std::size_t j = 0; j < events.size(); ++j) {
    plan.steps.push_back({event_time(from, to, j, events.size()), chunk(events[j])});
  }
}

// The stream's head and the deltas before the break, from `first` to `broken_at`.
WirePlan stream_until_break(const WireRequest& request, const SplitStream& s, Time first, Time broken_at) {
  std::vector<std::string> events = s.head;
  events.insert(events.end(), s.before.begin(), s.before.end());
  return stream_prefix(request, events, events.size(), first, broken_at);
}

// The error event a provider sends inside a 200 stream: Anthropic `event: error`, OpenAI
// (and compatible servers) a data line holding {"error": ...}. Its type is Anthropic's for
// the status in both protocols (overloaded_error, rate_limit_error, api_error): the one
// a client maps back to the status (core/transport's status_of_error_type).
std::string error_event(Protocol protocol, std::int32_t status, std::string_view request_id) {
  const protocol::ErrorInfo error = protocol::error_for_status(Protocol::anthropic, status);
  const std::string body = protocol::encode_error(protocol, status, error, request_id);
  return (protocol == Protocol::anthropic ? "event: error\ndata: " : "data: ") + body + "\n\n";
}

WirePlan plan_broken_stream(const WireRequest& request, const sim::Reply& reply) {
  FAILOVER_ASSERT(request.stream);
  const std::int64_t tokens = std::min(reply.break_after_tokens, request.answer_tokens);
  const SplitStream s = split_stream(request, tokens);
  if (reply.stream_break != sim::StreamBreak::stall) {
    const Time first = reply.first_byte_at != kTimeNever ? reply.first_byte_at : reply.done_at;
    WirePlan plan = stream_until_break(request, s, first, reply.done_at);
    if (reply.stream_break == sim::StreamBreak::error_event) {
      FAILOVER_ASSERT(reply.outcome.kind == OutcomeKind::http_status);
      plan.steps.push_back(
          {reply.done_at, chunk(error_event(request.protocol, reply.outcome.http_status, request.request_id))});
    }
    plan.steps.back().bytes += kTerminator;  // a clean end of the body, without the end marker
    plan.end = WireEnd::keep_alive;
    return plan;
  }
  FAILOVER_ASSERT(reply.stall_from != kTimeNever && reply.stall_until > reply.stall_from);
  const Time first = tokens > 0 ? reply.first_byte_at : reply.stall_from;
  WirePlan plan = stream_until_break(request, s, first, reply.stall_from);
  if (reply.outcome.kind != OutcomeKind::success) {
    plan.steps.push_back({reply.stall_until, {}});  // silence, then an RST
    plan.end = WireEnd::abort;
    return plan;
  }
  std::vector<std::string> rest = s.after;
  rest.insert(rest.end(), s.tail.begin(), s.tail.end());
  append_spread(plan, rest, reply.stall_until, reply.done_at);
  plan.steps.back().bytes += kTerminator;
  plan.end = WireEnd::keep_alive;
  return plan;
}

// A plan's steps are due no earlier than `now`, in order.
WirePlan checked(WirePlan plan, Time now) {
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    FAILOVER_ASSERT(plan.steps[i].at >= now);
    FAILOVER_ASSERT(i == 0 || plan.steps[i].at >= plan.steps[i - 1].at);
  }
  return plan;
}

}  // namespace

WirePlan coalesce_steps(WirePlan plan, Duration gap) {
  FAILOVER_ASSERT(gap >= Duration{0});
  const std::size_t before = plan.steps.size();
  if (gap == Duration{0} || before <= 2) return plan;
  std::vector<WireStep>& steps = plan.steps;
  // Compacts in place: steps [0, kept] are the result so far, `kept` the last write.
  std::size_t kept = 0;
  for (std::size_t i = 1; i < before; ++i) {  // bounded by the plan's steps
    const bool last = i + 1 == before;
    if (!last && steps[i].at - steps[kept].at < gap) {
      steps[kept].bytes += steps[i].bytes;
      continue;
    }
    ++kept;
    if (kept != i) steps[kept] = std::move(steps[i]);
  }
  steps.resize(kept + 1);
  FAILOVER_ASSERT(steps.size() >= 2);
  FAILOVER_ASSERT(steps.size() <= before);
  return plan;
}

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

std::string requested_tool(Protocol protocol, std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  const boost::json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr) return {};
  const boost::json::value* choice = o->if_contains("tool_choice");
  const bool none = choice != nullptr && (choice->is_string() ? choice->as_string() == "none"
                                          : choice->is_object() && choice->as_object().contains("type")
                                              ? choice->as_object().at("type") == "none"
                                              : false);
  const boost::json::value* tools = o->if_contains("tools");
  if (none || tools == nullptr || !tools->is_array() || tools->as_array().empty()) return {};
  const boost::json::object* tool = tools->as_array()[0].if_object();
  if (tool == nullptr) return {};
  const boost::json::value* name = tool->if_contains("name");  // Anthropic
  if (protocol == Protocol::openai) {
    const boost::json::value* fn = tool->if_contains("function");
    name = fn != nullptr && fn->is_object() ? fn->as_object().if_contains("name") : nullptr;
  }
  return name != nullptr && name->is_string() ? std::string(name->as_string()) : std::string();
}

protocol::ChatResponse answer(const WireRequest& request) {
  FAILOVER_ASSERT(request.answer_tokens >= 1);
  FAILOVER_ASSERT(request.answer_tokens <= request.output_tokens);
  FAILOVER_ASSERT(request.prompt_tokens >= 1);
  const bool anthropic = request.protocol == Protocol::anthropic;
  const bool at_limit = request.answer_tokens == request.output_tokens;
  protocol::ChatResponse r;
  const std::string n = std::to_string(request.sequence);
  r.id = anthropic ? "msg_fleet_" + n : "chatcmpl-fleet-" + n;
  r.model = request.model;
  r.text = answer_text(request.answer_tokens);
  r.stop_reason = anthropic ? (at_limit ? "max_tokens" : "end_turn") : (at_limit ? "length" : "stop");
  if (!request.tool.empty()) r.stop_reason = anthropic ? "tool_use" : "tool_calls";
  // An OpenAI stream carries usage only when the client asked for it.
  const bool usage = anthropic || !request.stream || request.include_usage;
  r.usage = Usage{request.prompt_tokens, request.answer_tokens, usage};
  r.created = request.created;
  return r;
}

WirePlan plan_reply(const WireRequest& request, const sim::Reply& reply, Time now) {
  FAILOVER_ASSERT(request.output_tokens >= 1 && request.output_tokens <= kAnswerTokensMax);
  FAILOVER_ASSERT(request.answer_tokens >= 1 && request.answer_tokens <= request.output_tokens);
  FAILOVER_ASSERT(request.time_scale >= 1 && request.time_scale <= kTimeScaleMax);
  WirePlan plan;
  const Duration gap = request.write_gap * request.time_scale;  // in scenario time
  if (reply.stream_break != sim::StreamBreak::none) {
    return checked(coalesce_steps(plan_broken_stream(request, reply), gap), now);
  }
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
  return checked(coalesce_steps(std::move(plan), gap), now);
}

std::string error_response(Protocol protocol, std::int32_t http_status, const protocol::ErrorInfo& error,
                           bool keep_alive, const std::vector<Header>& extra, std::string_view request_id) {
  FAILOVER_ASSERT(http_status >= 400);
  const std::string body = protocol::encode_error(protocol, http_status, error, request_id);
  return head(http_status, kJson, body.size(), keep_alive, extra) + body;
}

std::vector<Header> retry_after_headers(Duration scenario_delay, std::int64_t time_scale) {
  FAILOVER_ASSERT(time_scale >= 1);
  const std::int64_t real_us = std::max<std::int64_t>(to_us(scenario_delay), 0);
  const std::int64_t real_ms = (real_us / time_scale + (real_us % time_scale != 0 ? 1 : 0) + 999) / 1'000;
  FAILOVER_ASSERT(real_ms >= 0);
  std::vector<Header> out;
  if (real_ms % 1'000 == 0) out.push_back({"retry-after", std::to_string(real_ms / 1'000)});
  out.push_back({"retry-after-ms", std::to_string(real_ms)});
  return out;
}

std::string request_id(std::uint64_t seed, std::uint64_t sequence) {
  std::array<char, 40> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), "req_%016llx%016llx", static_cast<unsigned long long>(seed),
                              static_cast<unsigned long long>(sequence));
  FAILOVER_ASSERT(n == 36);
  return {buf.data(), static_cast<std::size_t>(n)};
}

Header request_id_header(Protocol protocol, std::string id) {
  return {protocol == Protocol::anthropic ? "request-id" : "x-request-id", std::move(id)};
}

std::string go_duration(Duration d) {
  const std::int64_t ms = (std::max<std::int64_t>(to_us(d), 0) + 999) / 1'000;
  if (ms == 0) return "0s";
  if (ms < 1'000) return std::to_string(ms) + "ms";
  std::string out;
  const std::int64_t hours = ms / 3'600'000;
  const std::int64_t minutes = ms / 60'000 % 60;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += std::to_string(ms / 1'000 % 60);
  if (const std::int64_t frac = ms % 1'000; frac != 0) {
    std::string digits = std::to_string(1'000 + frac).substr(1);  // three digits, leading zeros kept
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "s";
}

std::string rfc3339_utc(std::int64_t unix_seconds) {
  FAILOVER_ASSERT(unix_seconds >= 0);
  using namespace std::chrono;
  const sys_seconds t{seconds(unix_seconds)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  std::array<char, 32> buf{};
  const int n = std::snprintf(
      buf.data(), buf.size(), "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<long long>(hms.hours().count()),
      static_cast<long long>(hms.minutes().count()), static_cast<long long>(hms.seconds().count()));
  FAILOVER_ASSERT(n == 20);
  return {buf.data(), static_cast<std::size_t>(n)};
}

std::vector<Header> rate_limit_headers(Protocol protocol, const sim::RateLimitState& limits, std::int64_t time_scale,
                                       std::int64_t wall_now_unix_ms) {
  FAILOVER_ASSERT(time_scale >= 1);
  FAILOVER_ASSERT(wall_now_unix_ms >= 0);
  std::vector<Header> out;
  const auto add = [&](std::string_view name, const sim::LimitState& s) {
    if (s.limit <= 0) return;
    const Duration reset = us((to_us(s.until_full) + time_scale - 1) / time_scale);
    if (protocol == Protocol::openai) {
      const std::string suffix(name);
      out.push_back({"x-ratelimit-limit-" + suffix, std::to_string(s.limit)});
      out.push_back({"x-ratelimit-remaining-" + suffix, std::to_string(s.remaining)});
      out.push_back({"x-ratelimit-reset-" + suffix, go_duration(reset)});
      return;
    }
    const std::string prefix = "anthropic-ratelimit-" + std::string(name);
    const std::int64_t reset_ms = wall_now_unix_ms + (to_us(reset) + 999) / 1'000;
    out.push_back({prefix + "-limit", std::to_string(s.limit)});
    out.push_back({prefix + "-remaining", std::to_string(s.remaining)});
    out.push_back({prefix + "-reset", rfc3339_utc((reset_ms + 999) / 1'000)});
  };
  add("requests", limits.requests);
  add("tokens", limits.tokens);
  return out;
}

namespace {

// When every model was "created", in both protocols' shapes: a fixed date, 2025-01-01.
constexpr std::int64_t kModelCreatedUnix = 1'735'689'600;

void write_model(sim::JsonWriter& w, Protocol protocol, const ModelConfig& model) {
  if (protocol == Protocol::openai) {
    w.text("id", model.id);
    w.text("object", "model");
    w.integer("created", kModelCreatedUnix);
    w.text("owned_by", "failover-fleet");
  } else {
    w.text("type", "model");
    w.text("id", model.id);
    w.text("display_name", model.id);
    w.text("created_at", rfc3339_utc(kModelCreatedUnix));
  }
}

}  // namespace

std::string models_body(Protocol protocol, const std::vector<ModelConfig>& models) {
  FAILOVER_ASSERT(!models.empty());
  sim::JsonWriter w;
  w.open("", '{');
  if (protocol == Protocol::openai) w.text("object", "list");
  w.open("data", '[');
  for (const ModelConfig& m : models) {
    w.open_inline("", '{');
    write_model(w, protocol, m);
    w.close('}');
  }
  w.close(']');
  if (protocol == Protocol::anthropic) {
    w.boolean("has_more", false);
    w.text("first_id", models.front().id);
    w.text("last_id", models.back().id);
  }
  w.close('}');
  return w.finish();
}

std::string model_body(Protocol protocol, const ModelConfig& model) {
  sim::JsonWriter w;
  w.open("", '{');
  write_model(w, protocol, model);
  w.close('}');
  return w.finish();
}

std::string json_response(const std::string& body, bool keep_alive, const std::vector<Header>& extra) {
  return head(200, kJson, body.size(), keep_alive, extra) + body;
}

AnswerLengths::AnswerLengths(const sim::TrafficSpec& traffic, std::uint64_t seed)
    : classes_(traffic.classes), prng_(Prng(seed).fork("fleet/answers")) {
  for (const sim::TrafficClass& c : classes_) {
    FAILOVER_ASSERT(c.weight > 0);
    total_weight_ += c.weight;
  }
}

std::int64_t AnswerLengths::next(std::int64_t max_tokens) {
  FAILOVER_ASSERT(max_tokens >= 1);
  if (classes_.empty()) return max_tokens;
  // The class by weight, then its length (a constant length draws nothing).
  std::int64_t pick = static_cast<std::int64_t>(prng_.below(static_cast<std::uint64_t>(total_weight_)));
  std::size_t i = 0;
  while (pick >= classes_[i].weight) {
    pick -= classes_[i].weight;
    ++i;
  }
  FAILOVER_ASSERT(i < classes_.size());
  return std::clamp<std::int64_t>(classes_[i].output_tokens.sample(prng_), 1, max_tokens);
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

// Streamed answers of both protocols (see sse.h and codec.h): StreamDecoder turns the
// events of one body into text, usage and a verdict; encode_stream writes the events a
// provider would send for a whole answer. Each event's data is parsed on its own, so
// one event's JSON is bounded by kSseEventMax and the text of a stream by kBodyMax.
#include <algorithm>

#include "core/engine/assert.h"
#include "core/protocol/codec.h"
#include "core/protocol/detail/json_read.h"
#include "core/protocol/detail/json_write.h"
#include "core/protocol/sse.h"

namespace failover::protocol {
namespace {

using detail::object_at;
using detail::Presence;
using detail::put_int;
using detail::put_string;
using detail::put_string_or_null;
using detail::read_count_at;
using detail::read_string;
namespace json = detail::json;

constexpr std::string_view kOpenAiDone = "[DONE]";

// A count member into `out` when present; false when present but not a count, or when
// required and absent.
bool read_usage_count(const json::object& o, std::string_view key, Presence presence, std::int64_t& out,
                      bool& reported) {
  bool present = false;
  if (!read_count_at(o, key, presence, out, present)) return false;
  reported = reported || present;
  return true;
}

// The text of one delta appended to the answer; false when the answer would exceed kBodyMax.
bool append_text(std::string_view delta, ChatResponse& response, std::string& text_out) {
  if (response.text.size() + delta.size() > kBodyMax) return false;
  response.text += delta;
  text_out += delta;
  return true;
}

// Whether an OpenAI delta carries a tool call or reasoning (OpenAI-compatible servers'
// `reasoning_content`): the answer has begun even though it has no text yet.
bool openai_answering(const json::object& delta) {
  if (const json::array* calls = detail::array_at(delta, "tool_calls")) return !calls->empty();
  const json::value* reasoning = delta.if_contains("reasoning_content");
  const json::string* s = reasoning != nullptr ? reasoning->if_string() : nullptr;
  return s != nullptr && !s->empty();
}

// OpenAI: one chat.completion.chunk (or {"error":...} some servers send mid-stream).
// Returns false when the chunk is not one. `answering` turns true with a tool call or reasoning.
bool openai_chunk(const json::object& o, ChatResponse& r, std::optional<ErrorInfo>& error, std::string& text,
                  bool& answering) {
  if (const json::object* e = object_at(o, "error")) {
    ErrorInfo info;
    if (!read_string(*e, "message", Presence::optional, info.message)) return false;
    if (!read_string(*e, "type", Presence::optional, info.type)) return false;
    if (!read_string(*e, "code", Presence::optional, info.code)) info.code.clear();
    error = std::move(info);
    return true;
  }
  if (!read_string(o, "id", Presence::optional, r.id)) return false;
  if (!read_string(o, "model", Presence::optional, r.model)) return false;
  const json::array* choices = detail::array_at(o, "choices");
  if (choices == nullptr) return false;
  if (!choices->empty()) {
    const json::object* choice = (*choices)[0].if_object();
    if (choice == nullptr) return false;
    if (!detail::absent_or_null(*choice, "delta")) {
      const json::object* delta = object_at(*choice, "delta");
      if (delta == nullptr) return false;
      std::string content;
      if (!read_string(*delta, "content", Presence::optional, content)) return false;
      if (!append_text(content, r, text)) return false;
      answering = answering || openai_answering(*delta);
    }
    if (!read_string(*choice, "finish_reason", Presence::optional, r.stop_reason)) return false;
  }
  if (detail::absent_or_null(o, "usage")) return true;
  const json::object* usage = object_at(o, "usage");
  if (usage == nullptr) return false;
  return read_usage_count(*usage, "prompt_tokens", Presence::required, r.usage.input_tokens, r.usage.reported) &&
         read_usage_count(*usage, "completion_tokens", Presence::required, r.usage.output_tokens, r.usage.reported);
}

bool anthropic_message_start(const json::object& o, ChatResponse& r) {
  const json::object* message = object_at(o, "message");
  if (message == nullptr) return false;
  if (!read_string(*message, "id", Presence::optional, r.id)) return false;
  if (!read_string(*message, "model", Presence::optional, r.model)) return false;
  if (detail::absent_or_null(*message, "usage")) return true;
  const json::object* usage = object_at(*message, "usage");
  if (usage == nullptr) return false;
  return read_usage_count(*usage, "input_tokens", Presence::required, r.usage.input_tokens, r.usage.reported) &&
         read_usage_count(*usage, "output_tokens", Presence::optional, r.usage.output_tokens, r.usage.reported);
}

bool anthropic_message_delta(const json::object& o, ChatResponse& r) {
  const json::object* delta = object_at(o, "delta");
  if (delta == nullptr) return false;
  if (!read_string(*delta, "stop_reason", Presence::optional, r.stop_reason)) return false;
  if (detail::absent_or_null(o, "usage")) return true;
  const json::object* usage = object_at(o, "usage");
  if (usage == nullptr) return false;
  // output_tokens is cumulative; newer API versions repeat input_tokens here too.
  return read_usage_count(*usage, "output_tokens", Presence::required, r.usage.output_tokens, r.usage.reported) &&
         read_usage_count(*usage, "input_tokens", Presence::optional, r.usage.input_tokens, r.usage.reported);
}

// content_block_start carries a block's initial text; content_block_delta a text_delta.
// Other block and delta types (tool use, thinking) carry no answer text, but the answer
// has begun with them: `answering` turns true.
bool anthropic_block(const json::object& o, std::string_view member, std::string_view text_type, ChatResponse& r,
                     std::string& text, bool& answering) {
  const json::object* block = object_at(o, member);
  if (block == nullptr) return false;
  std::string type;
  if (!read_string(*block, "type", Presence::required, type)) return false;
  if (type != text_type) {
    answering = true;
    return true;
  }
  std::string delta;
  if (!read_string(*block, "text", Presence::required, delta)) return false;
  return append_text(delta, r, text);
}

bool anthropic_error(const json::object& o, std::optional<ErrorInfo>& error) {
  const json::object* e = object_at(o, "error");
  if (e == nullptr) return false;
  ErrorInfo info;
  if (!read_string(*e, "type", Presence::required, info.type)) return false;
  if (!read_string(*e, "message", Presence::optional, info.message)) return false;
  error = std::move(info);
  return true;
}

// One Anthropic event; `name` is its `event:` field, which must match the data's type.
bool anthropic_data(std::string_view name, const json::object& o, ChatResponse& r, std::optional<ErrorInfo>& error,
                    bool& done, std::string& text, bool& answering) {
  std::string type;
  if (!read_string(o, "type", Presence::required, type)) return false;
  if (!name.empty() && name != type) return false;
  if (type == "message_start") return anthropic_message_start(o, r);
  if (type == "content_block_start") return anthropic_block(o, "content_block", "text", r, text, answering);
  if (type == "content_block_delta") return anthropic_block(o, "delta", "text_delta", r, text, answering);
  if (type == "message_delta") return anthropic_message_delta(o, r);
  if (type == "error") return anthropic_error(o, error);
  if (type == "message_stop") done = true;
  // content_block_stop, ping and event types added later carry nothing we use.
  return true;
}

// ---- encoding --------------------------------------------------------------------

bool utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U;
}

// `text` in `pieces` parts of about equal size, never cutting a UTF-8 sequence.
std::vector<std::string_view> split_text(std::string_view text, std::size_t pieces) {
  const std::size_t n = std::clamp<std::size_t>(pieces, 1, kStreamPiecesMax);
  std::vector<std::string_view> parts;
  parts.reserve(n);
  std::size_t prev = 0;
  for (std::size_t k = 1; k <= n; ++k) {
    std::size_t cut = k == n ? text.size() : text.size() / n * k + text.size() % n * k / n;
    cut = std::max(cut, prev);
    while (cut < text.size() && utf8_continuation(text[cut])) ++cut;
    parts.push_back(text.substr(prev, cut - prev));
    prev = cut;
  }
  FAILOVER_ASSERT(prev == text.size());
  FAILOVER_ASSERT(parts.size() == n);
  return parts;
}

// `data: {"id":..,"object":"chat.completion.chunk",...,"choices":[CHOICES]...}` + blank
// line; `usage` is appended after the choices (`"usage":null` on every chunk but the
// last when the client asked for usage, nothing otherwise).
std::string openai_chunk_event(const ChatResponse& r, std::string_view choices, std::string_view usage) {
  std::string e = R"(data: {"id":)";
  put_string(e, r.id);
  e += R"(,"object":"chat.completion.chunk","created":)";
  put_int(e, r.created);
  e += R"(,"model":)";
  put_string(e, r.model);
  e += R"(,"service_tier":"default","system_fingerprint":)";
  put_string(e, kSystemFingerprint);
  e += R"(,"choices":[)";
  e += choices;
  e += ']';
  if (!usage.empty()) {
    e += ',';
    e += usage;
  }
  e += "}\n\n";
  return e;
}

std::string openai_delta_choice(std::string_view delta, std::string_view finish_reason) {
  std::string c = R"({"index":0,"delta":)";
  c += delta;
  c += R"(,"logprobs":null,"finish_reason":)";
  put_string_or_null(c, finish_reason);
  c += '}';
  return c;
}

std::vector<std::string> encode_openai_stream(const ChatResponse& r, std::size_t pieces) {
  const std::string_view no_usage = r.usage.reported ? R"("usage":null)" : "";
  std::vector<std::string> events;
  events.push_back(
      openai_chunk_event(r, openai_delta_choice(R"({"role":"assistant","content":"","refusal":null})", ""), no_usage));
  for (std::string_view part : split_text(r.text, pieces)) {
    std::string delta = R"({"content":)";
    put_string(delta, part);
    delta += '}';
    events.push_back(openai_chunk_event(r, openai_delta_choice(delta, ""), no_usage));
  }
  if (!r.stop_reason.empty()) {
    events.push_back(openai_chunk_event(r, openai_delta_choice("{}", r.stop_reason), no_usage));
  }
  if (r.usage.reported) {
    std::string usage;
    detail::put_openai_usage(usage, r.usage);
    events.push_back(openai_chunk_event(r, "", usage));
  }
  events.emplace_back("data: [DONE]\n\n");
  return events;
}

std::string anthropic_event(std::string_view name, std::string_view data) {
  std::string e = "event: ";
  e += name;
  e += "\ndata: ";
  e += data;
  e += "\n\n";
  return e;
}

std::string anthropic_message_start_data(const ChatResponse& r) {
  std::string d = R"({"type":"message_start","message":{"id":)";
  put_string(d, r.id);
  d += R"(,"type":"message","role":"assistant","model":)";
  put_string(d, r.model);
  d += R"(,"content":[],"stop_reason":null,"stop_sequence":null)";
  if (r.usage.reported) {
    d += ',';
    detail::put_anthropic_usage(d, r.usage.input_tokens, 1);
  }
  d += "}}";
  return d;
}

std::vector<std::string> encode_anthropic_stream(const ChatResponse& r, std::size_t pieces) {
  std::vector<std::string> events;
  events.push_back(anthropic_event("message_start", anthropic_message_start_data(r)));
  events.push_back(anthropic_event(
      "content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"));
  events.push_back(anthropic_event("ping", R"({"type": "ping"})"));
  for (std::string_view part : split_text(r.text, pieces)) {
    std::string d = R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":)";
    put_string(d, part);
    d += "}}";
    events.push_back(anthropic_event("content_block_delta", d));
  }
  events.push_back(anthropic_event("content_block_stop", R"({"type":"content_block_stop","index":0})"));
  std::string d = R"({"type":"message_delta","delta":{"stop_reason":)";
  put_string_or_null(d, r.stop_reason);
  d += R"(,"stop_sequence":null})";
  if (r.usage.reported) {
    d += R"(,"usage":{"output_tokens":)";
    put_int(d, r.usage.output_tokens);
    d += '}';
  }
  d += '}';
  events.push_back(anthropic_event("message_delta", d));
  events.push_back(anthropic_event("message_stop", R"({"type":"message_stop"})"));
  return events;
}

}  // namespace

std::vector<std::string> encode_stream(Protocol protocol, const ChatResponse& response, std::size_t pieces) {
  if (response.usage.reported) {
    FAILOVER_ASSERT(response.usage.input_tokens >= 0);
    FAILOVER_ASSERT(response.usage.input_tokens <= kTokensMax);
    FAILOVER_ASSERT(response.usage.output_tokens >= 0);
    FAILOVER_ASSERT(response.usage.output_tokens <= kTokensMax);
  }
  return protocol == Protocol::anthropic ? encode_anthropic_stream(response, pieces)
                                         : encode_openai_stream(response, pieces);
}

StreamDecoder::StreamDecoder(Protocol protocol) : protocol_(protocol) {}

std::string StreamDecoder::feed(std::string_view bytes) {
  std::string text;
  if (malformed_ || error_) return text;
  events_.clear();
  const bool ok = parser_.feed(bytes, events_);
  for (const SseEvent& e : events_) {  // bounded by this chunk's size
    if (malformed_ || error_) break;
    if (done_) break;  // nothing after the end marker is part of the answer
    event(e, text);
  }
  events_.clear();
  if (!ok && !error_) malformed_ = true;  // a line or event beyond the parser's limits
  return text;
}

StreamEnd StreamDecoder::finish() const noexcept {
  if (malformed_) return StreamEnd::malformed;
  if (error_) return StreamEnd::error;
  if (parser_.failed()) return StreamEnd::malformed;
  if (done_ && !parser_.pending()) return StreamEnd::complete;
  return StreamEnd::truncated;
}

void StreamDecoder::event(const SseEvent& e, std::string& text_out) {
  FAILOVER_ASSERT(!done_);
  FAILOVER_ASSERT(!malformed_);
  if (protocol_ == Protocol::openai && e.data == kOpenAiDone) {
    done_ = true;
    started_ = true;
    return;
  }
  unsigned char arena_buffer[detail::kArenaBytes];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  const std::optional<json::value> v = detail::parse_json(e.data, kSseEventMax, &arena);
  const json::object* o = v ? v->if_object() : nullptr;
  if (o == nullptr) {
    malformed_ = true;
    return;
  }
  const std::size_t text_before = text_out.size();
  const bool ok = protocol_ == Protocol::openai
                      ? openai_chunk(*o, response_, error_, text_out, answering_)
                      : anthropic_data(e.event, *o, response_, error_, done_, text_out, answering_);
  answering_ = answering_ || (ok && text_out.size() > text_before);
  malformed_ = !ok;
  started_ = started_ || ok;
}

}  // namespace failover::protocol

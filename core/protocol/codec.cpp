// The OpenAI chat-completions and Anthropic messages codecs (see codec.h): requests,
// responses and error bodies in both directions. Decoders parse with Boost.JSON into a
// DOM bounded by kBodyMax and kJsonDepthMax and check every member they read; encoders
// write the bodies directly, in the providers' own member order.
#include "core/protocol/codec.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/engine/assert.h"
#include "core/protocol/detail/json_read.h"
#include "core/protocol/detail/json_write.h"

namespace failover::protocol {
namespace {

using detail::absent_or_null;
using detail::array_at;
using detail::object_at;
using detail::Presence;
using detail::put_int;
using detail::put_string;
using detail::put_string_or_null;
using detail::read_count_at;
using detail::read_string;
using detail::read_text;
namespace json = detail::json;

constexpr std::string_view kOpenAiPath = "/chat/completions";
constexpr std::string_view kAnthropicPath = "/v1/messages";

// OpenAI accepts a temperature in [0, 2], Anthropic in [0, 1].
constexpr double kOpenAiTemperatureMax = 2.0;
constexpr double kAnthropicTemperatureMax = 1.0;

Error bad(std::string where, std::string what) {
  return Error{std::move(where), std::move(what)};
}

std::string indexed(std::string_view base, std::size_t i, std::string_view member) {
  std::string s(base);
  s += '[';
  s += std::to_string(i);
  s += ']';
  s += member;
  return s;
}

// The body as a JSON object, or nullptr.
const json::object* as_object(const std::optional<json::value>& v) noexcept {
  return v ? v->if_object() : nullptr;
}

// ---- requests ----------------------------------------------------------------------

void put_message(std::string& body, std::string_view role, std::string_view content) {
  body += R"({"role":)";
  put_string(body, role);
  body += R"(,"content":)";
  put_string(body, content);
  body += '}';
}

std::string encode_openai_request(const ChatRequest& r) {
  std::string body;
  body.reserve(128 + r.model.size() + r.messages.size() * 32);
  body += R"({"model":)";
  put_string(body, r.model);
  body += R"(,"messages":[)";
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    if (i > 0) body += ',';
    put_message(body, r.messages[i].role, r.messages[i].content);
  }
  body += R"(],"max_tokens":)";
  put_int(body, r.max_tokens);
  if (r.temperature && std::isfinite(*r.temperature)) {
    body += R"(,"temperature":)";
    detail::put_double(body, std::clamp(*r.temperature, 0.0, kOpenAiTemperatureMax));
  }
  if (r.stream) body += R"(,"stream":true,"stream_options":{"include_usage":true})";
  body += '}';
  return body;
}

std::string encode_anthropic_request(const ChatRequest& r) {
  std::string system;
  bool has_system = false;
  for (const Message& m : r.messages) {
    if (m.role != "system") continue;
    if (has_system) system += "\n\n";
    system += m.content;
    has_system = true;
  }
  std::string body;
  body.reserve(128 + r.model.size() + system.size() + r.messages.size() * 32);
  body += R"({"model":)";
  put_string(body, r.model);
  body += R"(,"max_tokens":)";
  put_int(body, r.max_tokens);
  if (has_system) {
    body += R"(,"system":)";
    put_string(body, system);
  }
  body += R"(,"messages":[)";
  bool first = true;
  for (const Message& m : r.messages) {
    if (m.role == "system") continue;
    if (!first) body += ',';
    put_message(body, m.role, m.content);
    first = false;
  }
  body += ']';
  if (r.temperature && std::isfinite(*r.temperature)) {
    body += R"(,"temperature":)";
    detail::put_double(body, std::clamp(*r.temperature, 0.0, kAnthropicTemperatureMax));
  }
  if (r.stream) body += R"(,"stream":true)";
  body += '}';
  return body;
}

// The members both protocols share: model, temperature, stream.
Status decode_request_common(const json::object& o, double temperature_max, ChatRequest& out) {
  if (!read_string(o, "model", Presence::required, out.model)) {
    return bad("request.model", "missing or not a string");
  }
  if (const json::value* t = o.if_contains("temperature"); t != nullptr && !t->is_null()) {
    if (!t->is_number()) return bad("request.temperature", "not a number");
    const double v = t->is_double()  ? t->get_double()
                     : t->is_int64() ? static_cast<double>(t->get_int64())
                                     : static_cast<double>(t->get_uint64());
    if (!(v >= 0.0 && v <= temperature_max)) {
      std::string what = "out of range [0, ";
      detail::put_double(what, temperature_max);
      return bad("request.temperature", what + "]");
    }
    out.temperature = v;
  }
  if (const json::value* s = o.if_contains("stream"); s != nullptr && !s->is_null()) {
    if (!s->is_bool()) return bad("request.stream", "not a boolean");
    out.stream = s->get_bool();
  }
  return Ok{};
}

// OpenAI's stream_options: {"include_usage": bool}, absent or null allowed.
Status decode_stream_options(const json::object& o, ChatRequest& out) {
  if (absent_or_null(o, "stream_options")) return Ok{};
  const json::object* options = object_at(o, "stream_options");
  if (options == nullptr) return bad("request.stream_options", "not an object");
  if (const json::value* u = options->if_contains("include_usage"); u != nullptr && !u->is_null()) {
    if (!u->is_bool()) return bad("request.stream_options.include_usage", "not a boolean");
    out.include_usage = u->get_bool();
  }
  return Ok{};
}

Status decode_max_tokens(const json::object& o, std::string_view key, Presence presence, ChatRequest& out) {
  bool present = false;
  std::int64_t v = 0;
  const std::string where = "request." + std::string(key);
  if (!read_count_at(o, key, presence, v, present)) {
    return bad(where, "missing, or not an integer in [1, " + std::to_string(kTokensMax) + "]");
  }
  if (!present) return Ok{};
  if (v < 1) return bad(where, "must be at least 1");
  out.max_tokens = v;
  return Ok{};
}

// messages: a non-empty array of at most kMessagesMax {"role","content"} objects whose
// role passes `role_ok`; content is a string or text blocks (OpenAI also allows null).
template <typename RoleOk>
Status decode_messages(const json::object& o, bool null_content_ok, RoleOk role_ok, ChatRequest& out) {
  const json::array* messages = array_at(o, "messages");
  if (messages == nullptr) return bad("request.messages", "missing or not an array");
  if (messages->empty()) return bad("request.messages", "empty");
  if (messages->size() > kMessagesMax) {
    return bad("request.messages", "more than " + std::to_string(kMessagesMax) + " messages");
  }
  out.messages.reserve(out.messages.size() + messages->size());
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const json::object* m = (*messages)[i].if_object();
    if (m == nullptr) return bad(indexed("request.messages", i, ""), "not an object");
    Message message;
    if (!read_string(*m, "role", Presence::required, message.role) || !role_ok(message.role)) {
      return bad(indexed("request.messages", i, ".role"), "missing or not a role of this protocol");
    }
    const json::value* content = m->if_contains("content");
    const bool null_ok = null_content_ok && content != nullptr && content->is_null();
    if (!null_ok && (content == nullptr || !read_text(*content, message.content))) {
      return bad(indexed("request.messages", i, ".content"), "missing, or not a string or text blocks");
    }
    out.messages.push_back(std::move(message));
  }
  return Ok{};
}

Result<ChatRequest> decode_openai_request(const json::object& o) {
  ChatRequest out;
  if (Status s = decode_request_common(o, kOpenAiTemperatureMax, out); !s) return s.error();
  if (Status s = decode_stream_options(o, out); !s) return s.error();
  // max_completion_tokens is the newer name; a body carries one or the other.
  const bool newer = !absent_or_null(o, "max_completion_tokens");
  if (Status s = decode_max_tokens(o, newer ? "max_completion_tokens" : "max_tokens", Presence::optional, out); !s) {
    return s.error();
  }
  auto role_ok = [](std::string& role) {
    if (role == "developer") role = "system";  // the newer name for system instructions
    return role == "system" || role == "user" || role == "assistant";
  };
  if (Status s = decode_messages(o, true, role_ok, out); !s) return s.error();
  return out;
}

Result<ChatRequest> decode_anthropic_request(const json::object& o) {
  ChatRequest out;
  if (Status s = decode_request_common(o, kAnthropicTemperatureMax, out); !s) return s.error();
  if (Status s = decode_max_tokens(o, "max_tokens", Presence::required, out); !s) return s.error();
  if (const json::value* v = o.if_contains("system"); v != nullptr && !v->is_null()) {
    Message system{"system", {}};
    if (!read_text(*v, system.content)) {
      return bad("request.system", "not a string or text blocks");
    }
    out.messages.push_back(std::move(system));
  }
  auto role_ok = [](const std::string& role) { return role == "user" || role == "assistant"; };
  if (Status s = decode_messages(o, false, role_ok, out); !s) return s.error();
  return out;
}

// ---- responses -------------------------------------------------------------------

// usage {in_key, out_key}: absent or null leaves `usage` unreported.
Status decode_usage(const json::object& o, std::string_view in_key, std::string_view out_key, Usage& usage) {
  if (absent_or_null(o, "usage")) return Ok{};
  const json::object* u = object_at(o, "usage");
  if (u == nullptr) return bad("response.usage", "not an object");
  bool present = false;
  if (!read_count_at(*u, in_key, Presence::required, usage.input_tokens, present)) {
    return bad("response.usage." + std::string(in_key), "missing, or not a count in [0, 1e8]");
  }
  if (!read_count_at(*u, out_key, Presence::required, usage.output_tokens, present)) {
    return bad("response.usage." + std::string(out_key), "missing, or not a count in [0, 1e8]");
  }
  usage.reported = true;
  return Ok{};
}

Status decode_id_model(const json::object& o, ChatResponse& out) {
  if (!read_string(o, "id", Presence::optional, out.id)) return bad("response.id", "not a string");
  if (!read_string(o, "model", Presence::optional, out.model)) return bad("response.model", "not a string");
  return Ok{};
}

Result<ChatResponse> decode_openai_response(const json::object& o) {
  ChatResponse out;
  if (Status s = decode_id_model(o, out); !s) return s.error();
  const json::array* choices = array_at(o, "choices");
  if (choices == nullptr) return bad("response.choices", "missing or not an array");
  if (choices->empty()) return bad("response.choices", "empty");
  const json::object* choice = (*choices)[0].if_object();
  if (choice == nullptr) return bad("response.choices[0]", "not an object");
  const json::object* message = object_at(*choice, "message");
  if (message == nullptr) return bad("response.choices[0].message", "missing or not an object");
  // content is null when the answer was filtered or is a tool call: an empty text.
  if (!read_string(*message, "content", Presence::nullable, out.text)) {
    return bad("response.choices[0].message.content", "missing, or not a string or null");
  }
  if (!read_string(*choice, "finish_reason", Presence::nullable, out.stop_reason)) {
    return bad("response.choices[0].finish_reason", "missing, or not a string or null");
  }
  if (Status s = decode_usage(o, "prompt_tokens", "completion_tokens", out.usage); !s) return s.error();
  return out;
}

Result<ChatResponse> decode_anthropic_response(const json::object& o) {
  ChatResponse out;
  std::string type;
  if (!read_string(o, "type", Presence::required, type) || type != "message") {
    return bad("response.type", "missing or not \"message\"");
  }
  if (Status s = decode_id_model(o, out); !s) return s.error();
  const json::value* content = o.if_contains("content");
  if (content == nullptr || !content->is_array() || !read_text(*content, out.text)) {
    return bad("response.content", "missing, or not an array of content blocks");
  }
  if (!read_string(o, "stop_reason", Presence::nullable, out.stop_reason)) {
    return bad("response.stop_reason", "missing, or not a string or null");
  }
  if (Status s = decode_usage(o, "input_tokens", "output_tokens", out.usage); !s) return s.error();
  return out;
}

std::string encode_openai_response(const ChatResponse& r) {
  std::string body;
  body.reserve(512 + r.text.size() + r.id.size() + r.model.size());
  body += R"({"id":)";
  put_string(body, r.id);
  body += R"(,"object":"chat.completion","created":)";
  put_int(body, r.created);
  body += R"(,"model":)";
  put_string(body, r.model);
  body += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
  put_string(body, r.text);
  body += R"(,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":)";
  put_string_or_null(body, r.stop_reason);
  body += "}]";
  if (r.usage.reported) {
    FAILOVER_ASSERT(r.usage.input_tokens <= kTokensMax);
    FAILOVER_ASSERT(r.usage.output_tokens <= kTokensMax);
    body += ',';
    detail::put_openai_usage(body, r.usage);
  }
  body += R"(,"service_tier":"default","system_fingerprint":)";
  put_string(body, kSystemFingerprint);
  body += '}';
  return body;
}

std::string encode_anthropic_response(const ChatResponse& r) {
  std::string body;
  body.reserve(256 + r.text.size() + r.id.size() + r.model.size());
  body += R"({"id":)";
  put_string(body, r.id);
  body += R"(,"type":"message","role":"assistant","model":)";
  put_string(body, r.model);
  body += R"(,"content":[{"type":"text","text":)";
  put_string(body, r.text);
  body += R"(}],"stop_reason":)";
  put_string_or_null(body, r.stop_reason);
  body += R"(,"stop_sequence":null)";
  if (r.usage.reported) {
    body += ',';
    detail::put_anthropic_usage(body, r.usage.input_tokens, r.usage.output_tokens);
  }
  body += '}';
  return body;
}

// ---- errors ----------------------------------------------------------------------

std::optional<ErrorInfo> decode_openai_error(const json::object& o) {
  const json::object* e = object_at(o, "error");
  if (e == nullptr) return std::nullopt;
  ErrorInfo info;
  if (!read_string(*e, "message", Presence::required, info.message)) return std::nullopt;
  if (!read_string(*e, "type", Presence::optional, info.type)) return std::nullopt;
  // code is a string, null, or (from some OpenAI-compatible servers) a number.
  const json::value* code = e->if_contains("code");
  if (code != nullptr && code->is_int64()) {
    info.code = std::to_string(code->get_int64());
  } else if (!read_string(*e, "code", Presence::optional, info.code)) {
    return std::nullopt;
  }
  return info;
}

std::optional<ErrorInfo> decode_anthropic_error(const json::object& o) {
  std::string type;
  if (!read_string(o, "type", Presence::required, type) || type != "error") return std::nullopt;
  const json::object* e = object_at(o, "error");
  if (e == nullptr) return std::nullopt;
  ErrorInfo info;
  if (!read_string(*e, "type", Presence::required, info.type)) return std::nullopt;
  if (!read_string(*e, "message", Presence::optional, info.message)) return std::nullopt;
  return info;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

ErrorInfo openai_error_for(std::int32_t status) {
  switch (status) {
    case 400:
      return {"invalid_request_error", "", "The request was invalid."};
    case 401:
      return {"authentication_error", "invalid_api_key", "Incorrect API key provided."};
    case 403:
      return {"permission_error", "", "You are not allowed to use this model."};
    case 404:
      return {"invalid_request_error", "model_not_found", "The model does not exist."};
    case 408:
      return {"timeout", "", "Request timed out."};
    case 413:
      return {"invalid_request_error", "request_too_large", "The request is too large."};
    case 429:
      return {"requests", "rate_limit_exceeded", "Rate limit reached for requests."};
    case 503:
      return {"server_error", "", "The server is overloaded or not ready yet."};
    default:
      break;
  }
  if (status >= 500) return {"server_error", "", "The server had an error while processing your request."};
  return {"invalid_request_error", "", "The request was invalid."};
}

ErrorInfo anthropic_error_for(std::int32_t status) {
  switch (status) {
    case 400:
      return {"invalid_request_error", "", "There was an issue with the request."};
    case 401:
      return {"authentication_error", "", "invalid x-api-key"};
    case 403:
      return {"permission_error", "", "Your API key does not have permission to use this resource."};
    case 404:
      return {"not_found_error", "", "The requested resource was not found."};
    case 408:
      return {"timeout_error", "", "Request timed out."};
    case 413:
      return {"request_too_large", "", "Request exceeds the maximum allowed number of bytes."};
    case 429:
      return {"rate_limit_error", "", "Number of requests has exceeded your rate limit."};
    case 529:
      return {"overloaded_error", "", "Overloaded"};
    default:
      break;
  }
  if (status >= 500) return {"api_error", "", "Internal server error"};
  return {"invalid_request_error", "", "There was an issue with the request."};
}

}  // namespace

EncodedRequest encode_request(Protocol protocol, const ChatRequest& request) {
  EncodedRequest out;
  out.path = std::string(request_path(protocol));
  out.headers.push_back({"content-type", "application/json"});
  if (request.stream) out.headers.push_back({"accept", "text/event-stream"});
  if (protocol == Protocol::anthropic) {
    out.headers.push_back({"anthropic-version", std::string(kAnthropicVersion)});
    out.body = encode_anthropic_request(request);
  } else {
    out.body = encode_openai_request(request);
  }
  FAILOVER_ASSERT(!out.body.empty());
  FAILOVER_ASSERT(out.body.front() == '{');
  return out;
}

Header credential_header(Protocol protocol, std::string_view api_key) {
  if (protocol == Protocol::anthropic) return {"x-api-key", std::string(api_key)};
  std::string value = "Bearer ";
  value += api_key;
  return {"authorization", std::move(value)};
}

std::string_view request_path(Protocol protocol) {
  return protocol == Protocol::anthropic ? kAnthropicPath : kOpenAiPath;
}

Result<ChatRequest> decode_request(Protocol protocol, std::string_view body) {
  if (body.size() > kBodyMax) return bad("request", "body larger than " + std::to_string(kBodyMax) + " bytes");
  unsigned char arena_buffer[detail::kArenaBytes];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  const std::optional<json::value> v = detail::parse_json(body, kBodyMax, &arena);
  const json::object* o = as_object(v);
  if (o == nullptr) return bad("request", "not a JSON object");
  return protocol == Protocol::anthropic ? decode_anthropic_request(*o) : decode_openai_request(*o);
}

Result<ChatResponse> decode_response(Protocol protocol, std::string_view body) {
  if (body.size() > kBodyMax) return bad("response", "body larger than " + std::to_string(kBodyMax) + " bytes");
  unsigned char arena_buffer[detail::kArenaBytes];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  const std::optional<json::value> v = detail::parse_json(body, kBodyMax, &arena);
  const json::object* o = as_object(v);
  if (o == nullptr) return bad("response", "not a JSON object");
  return protocol == Protocol::anthropic ? decode_anthropic_response(*o) : decode_openai_response(*o);
}

std::optional<ErrorInfo> decode_error(Protocol protocol, std::string_view body) {
  unsigned char arena_buffer[detail::kArenaBytes];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  const std::optional<json::value> v = detail::parse_json(body, kBodyMax, &arena);
  const json::object* o = as_object(v);
  if (o == nullptr) return std::nullopt;
  return protocol == Protocol::anthropic ? decode_anthropic_error(*o) : decode_openai_error(*o);
}

std::int64_t estimate_prompt_tokens(const std::vector<Message>& messages) noexcept {
  std::int64_t bytes = 0;
  for (const Message& m : messages) {
    bytes += static_cast<std::int64_t>(m.role.size() + m.content.size());
    if (bytes >= 4 * kTokensMax) return kTokensMax;
  }
  return std::max<std::int64_t>((bytes + 3) / 4, 1);
}

Refusal refusal_of(Protocol protocol, std::int32_t http_status, const std::optional<ErrorInfo>& error) {
  // Refusals are client errors about this request's content; 429 is back-pressure.
  if (!error || http_status < 400 || http_status >= 500 || http_status == 429) return Refusal::none;
  const ErrorInfo& e = *error;
  if (protocol == Protocol::openai) {
    if (e.code == "context_length_exceeded" || contains(e.message, "maximum context length")) {
      return Refusal::context_length;
    }
    if (e.code == "content_policy_violation" || e.code == "content_filter") return Refusal::content_policy;
    return Refusal::none;
  }
  // Anthropic has no codes: "prompt is too long: 210000 tokens > 200000 maximum".
  if (e.type != "invalid_request_error") return Refusal::none;
  if (contains(e.message, "prompt is too long")) return Refusal::context_length;
  if (contains(e.message, "content filtering policy") || contains(e.message, "content policy")) {
    return Refusal::content_policy;
  }
  return Refusal::none;
}

std::string encode_response(Protocol protocol, const ChatResponse& response) {
  return protocol == Protocol::anthropic ? encode_anthropic_response(response) : encode_openai_response(response);
}

std::string encode_error(Protocol protocol, std::int32_t http_status, const ErrorInfo& error,
                         std::string_view request_id) {
  FAILOVER_ASSERT(http_status >= 100);
  FAILOVER_ASSERT(http_status <= 999);
  std::string body;
  body.reserve(96 + error.message.size() + error.type.size() + error.code.size() + request_id.size());
  if (protocol == Protocol::anthropic) {
    body += R"({"type":"error","error":{"type":)";
    put_string(body, error.type);
    body += R"(,"message":)";
    put_string(body, error.message);
    body += '}';
    if (!request_id.empty()) {
      body += R"(,"request_id":)";
      put_string(body, request_id);
    }
    body += '}';
    return body;
  }
  body += R"({"error":{"message":)";
  put_string(body, error.message);
  body += R"(,"type":)";
  put_string_or_null(body, error.type);
  body += R"(,"param":null,"code":)";
  put_string_or_null(body, error.code);
  body += "}}";
  return body;
}

ErrorInfo error_for_status(Protocol protocol, std::int32_t http_status) {
  FAILOVER_ASSERT(http_status >= 100);
  FAILOVER_ASSERT(http_status <= 999);
  return protocol == Protocol::anthropic ? anthropic_error_for(http_status) : openai_error_for(http_status);
}

}  // namespace failover::protocol

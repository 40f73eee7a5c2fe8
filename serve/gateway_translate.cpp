#include "serve/gateway_translate.h"

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <string_view>

#include "core/protocol/codec.h"

namespace failover::serve {
namespace {

namespace json = boost::json;

// Keys each side may carry over; anything else is not translated (the request stays on
// targets of its own protocol). "model" and "stream" are the driver's.
constexpr std::array<std::string_view, 14> kOpenAiKeys{
    "model", "messages",    "max_tokens", "max_completion_tokens", "temperature", "top_p",    "stop",
    "tools", "tool_choice", "stream",     "stream_options",        "user",        "metadata", "parallel_tool_calls"};
constexpr std::array<std::string_view, 11> kAnthropicKeys{"model",       "messages", "system",         "max_tokens",
                                                          "temperature", "top_p",    "stop_sequences", "tools",
                                                          "tool_choice", "stream",   "metadata"};
// Anthropic requires max_tokens; an OpenAI caller may leave it out.
constexpr std::int64_t kDefaultMaxTokens = 4'096;

struct Refused {
  std::string why;
};

[[noreturn]] void refuse(std::string why) {
  throw Refused{std::move(why)};
}

template <std::size_t N>
void only_keys(const json::object& o, const std::array<std::string_view, N>& allowed, std::string_view side) {
  for (const auto& [key, value] : o) {
    bool ok = false;
    for (const std::string_view a : allowed) ok = ok || a == key;
    if (!ok) refuse("the field \"" + std::string(key) + "\" has no " + std::string(side) + " counterpart");
  }
}

const json::string& str(const json::value& v, std::string_view what) {
  if (!v.is_string()) refuse(std::string(what) + " must be a string");
  return v.as_string();
}

const json::object& obj(const json::value& v, std::string_view what) {
  if (!v.is_object()) refuse(std::string(what) + " must be an object");
  return v.as_object();
}

const json::array& arr(const json::value& v, std::string_view what) {
  if (!v.is_array()) refuse(std::string(what) + " must be an array");
  return v.as_array();
}

std::string text_of(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

bool streamed(const json::object& o) {
  const json::value* v = o.if_contains("stream");
  return v != nullptr && v->is_bool() && v->as_bool();
}

// ---- OpenAI -> Anthropic (request) ---------------------------------------------------

// stream_options: only include_usage has a counterpart (the translated stream's last
// chunk carries the usage that Anthropic's message events report anyway).
void check_stream_options(const json::object& in) {
  const json::value* options = in.if_contains("stream_options");
  if (options == nullptr || options->is_null()) return;
  for (const auto& [key, value] : obj(*options, "stream_options")) {
    if (key != "include_usage") refuse("stream_options." + std::string(key) + " has no Anthropic counterpart");
  }
}

// An OpenAI image part as an Anthropic image block: a data URL becomes base64.
json::object image_block(const json::object& part) {
  const std::string url(str(obj(part.at("image_url"), "image_url").at("url"), "image_url.url"));
  json::object source;
  if (url.rfind("data:", 0) == 0) {
    const std::size_t semi = url.find(";base64,");
    if (semi == std::string::npos) refuse("an image data URL that is not base64");
    source["type"] = "base64";
    source["media_type"] = url.substr(5, semi - 5);
    source["data"] = url.substr(semi + 8);
  } else {
    source["type"] = "url";
    source["url"] = url;
  }
  return {{"type", "image"}, {"source", std::move(source)}};
}

// OpenAI message content (a string or parts) as Anthropic content blocks.
json::array blocks_of(const json::value& content) {
  json::array out;
  if (content.is_string()) {
    out.push_back(json::object{{"type", "text"}, {"text", content.as_string()}});
    return out;
  }
  if (content.is_null()) return out;
  for (const json::value& p : arr(content, "content")) {
    const json::object& part = obj(p, "a content part");
    const std::string type(str(part.at("type"), "a content part's type"));
    if (type == "text") {
      out.push_back(json::object{{"type", "text"}, {"text", str(part.at("text"), "text")}});
    } else if (type == "image_url") {
      out.push_back(image_block(part));
    } else {
      refuse("a content part of type \"" + type + "\"");
    }
  }
  return out;
}

std::string system_text(const json::value& content) {
  if (content.is_string()) return std::string(content.as_string());
  std::string out;
  for (const json::value& b : blocks_of(content)) {
    if (b.as_object().at("type") != "text") refuse("a system message with an image");
    if (!out.empty()) out += "\n";
    out += str(b.as_object().at("text"), "text");
  }
  return out;
}

// Appends `block` to the last message when it has `role`, else starts a message: the
// Anthropic API wants user and assistant turns to alternate.
void append(json::array& messages, std::string_view role, json::array blocks) {
  if (!messages.empty() && text_of(messages.back().as_object().at("role")) == role) {
    json::array& content = messages.back().as_object()["content"].as_array();
    for (json::value& b : blocks) content.push_back(std::move(b));
    return;
  }
  messages.push_back(json::object{{"role", role}, {"content", std::move(blocks)}});
}

json::object openai_to_anthropic(const json::object& in) {
  only_keys(in, kOpenAiKeys, "Anthropic");
  check_stream_options(in);
  json::object out;
  std::string system;
  json::array messages;
  for (const json::value& m : arr(in.at("messages"), "messages")) {
    const json::object& msg = obj(m, "a message");
    const std::string role(str(msg.at("role"), "role"));
    const json::value* content = msg.if_contains("content");
    const json::value none;
    if (role == "system" || role == "developer") {
      if (!system.empty()) system += "\n";
      system += system_text(content != nullptr ? *content : none);
    } else if (role == "user") {
      append(messages, "user", blocks_of(content != nullptr ? *content : none));
    } else if (role == "assistant") {
      json::array blocks = blocks_of(content != nullptr ? *content : none);
      if (const json::value* calls = msg.if_contains("tool_calls")) {
        for (const json::value& c : arr(*calls, "tool_calls")) {
          const json::object& call = obj(c, "a tool call");
          const json::object& fn = obj(call.at("function"), "function");
          boost::system::error_code ec;
          json::value input = json::parse(str(fn.at("arguments"), "arguments"), ec);
          if (ec || !input.is_object()) refuse("tool call arguments that are not a JSON object");
          blocks.push_back(json::object{{"type", "tool_use"},
                                        {"id", str(call.at("id"), "id")},
                                        {"name", str(fn.at("name"), "name")},
                                        {"input", std::move(input)}});
        }
      }
      append(messages, "assistant", std::move(blocks));
    } else if (role == "tool") {
      json::array result{json::object{{"type", "tool_result"},
                                      {"tool_use_id", str(msg.at("tool_call_id"), "tool_call_id")},
                                      {"content", blocks_of(content != nullptr ? *content : none)}}};
      append(messages, "user", std::move(result));
    } else {
      refuse("a message with role \"" + role + "\"");
    }
  }
  if (!system.empty()) out["system"] = system;
  out["messages"] = std::move(messages);
  std::int64_t max_tokens = kDefaultMaxTokens;
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (const json::value* v = in.if_contains(key); v != nullptr && v->is_int64()) max_tokens = v->as_int64();
  }
  out["max_tokens"] = max_tokens;
  for (const char* key : {"temperature", "top_p"}) {
    if (const json::value* v = in.if_contains(key); v != nullptr && !v->is_null()) out[key] = *v;
  }
  if (const json::value* stop = in.if_contains("stop"); stop != nullptr && !stop->is_null()) {
    out["stop_sequences"] = stop->is_string() ? json::value(json::array{*stop}) : *stop;
  }
  if (const json::value* tools = in.if_contains("tools")) {
    json::array list;
    for (const json::value& t : arr(*tools, "tools")) {
      const json::object& tool = obj(t, "a tool");
      if (tool.at("type") != "function") refuse("a tool that is not a function");
      const json::object& fn = obj(tool.at("function"), "function");
      json::object a{{"name", fn.at("name")}};
      if (const json::value* d = fn.if_contains("description")) a["description"] = *d;
      const json::value* schema = fn.if_contains("parameters");
      a["input_schema"] = schema != nullptr ? *schema : json::value(json::object{{"type", "object"}});
      list.push_back(std::move(a));
    }
    out["tools"] = std::move(list);
  }
  if (const json::value* choice = in.if_contains("tool_choice")) {
    if (choice->is_string()) {
      const std::string c(choice->as_string());
      out["tool_choice"] = json::object{{"type", c == "required" ? "any" : c == "none" ? "none" : "auto"}};
    } else {
      out["tool_choice"] = json::object{
          {"type", "tool"}, {"name", obj(obj(*choice, "tool_choice").at("function"), "function").at("name")}};
    }
  }
  if (const json::value* parallel = in.if_contains("parallel_tool_calls");
      parallel != nullptr && parallel->is_bool() && !parallel->as_bool()) {
    json::value& choice = out["tool_choice"];
    if (choice.is_null()) choice = json::object{{"type", "auto"}};
    choice.as_object()["disable_parallel_tool_use"] = true;
  }
  if (const json::value* user = in.if_contains("user"); user != nullptr && user->is_string()) {
    out["metadata"] = json::object{{"user_id", *user}};
  }
  if (streamed(in)) out["stream"] = true;
  return out;
}

// ---- Anthropic -> OpenAI (request) ---------------------------------------------------

json::array parts_of(const json::array& blocks, json::array& tool_calls, json::array& tool_results) {
  json::array parts;
  for (const json::value& b : blocks) {
    const json::object& block = obj(b, "a content block");
    const std::string type(str(block.at("type"), "a block's type"));
    if (type == "text") {
      parts.push_back(json::object{{"type", "text"}, {"text", block.at("text")}});
    } else if (type == "image") {
      const json::object& source = obj(block.at("source"), "source");
      const std::string kind(str(source.at("type"), "source.type"));
      std::string url;
      if (kind == "base64") {
        url = "data:" + std::string(str(source.at("media_type"), "media_type")) + ";base64," +
              std::string(str(source.at("data"), "data"));
      } else if (kind == "url") {
        url = std::string(str(source.at("url"), "url"));
      } else {
        refuse("an image source of type \"" + kind + "\"");
      }
      parts.push_back(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", url}}}});
    } else if (type == "tool_use") {
      tool_calls.push_back(json::object{
          {"id", block.at("id")},
          {"type", "function"},
          {"function", json::object{{"name", block.at("name")}, {"arguments", json::serialize(block.at("input"))}}}});
    } else if (type == "tool_result") {
      const json::value* content = block.if_contains("content");
      std::string text;
      if (content != nullptr && content->is_string()) {
        text = std::string(content->as_string());
      } else if (content != nullptr) {
        for (const json::value& c : arr(*content, "tool_result content")) {
          if (obj(c, "a block").at("type") != "text") refuse("a tool result that is not text");
          text += text_of(c.as_object().at("text"));
        }
      }
      tool_results.push_back(
          json::object{{"role", "tool"}, {"tool_call_id", block.at("tool_use_id")}, {"content", text}});
    } else {
      refuse("a content block of type \"" + type + "\"");
    }
  }
  return parts;
}

json::object anthropic_to_openai(const json::object& in) {
  only_keys(in, kAnthropicKeys, "OpenAI");
  json::array messages;
  if (const json::value* system = in.if_contains("system")) {
    std::string text;
    if (system->is_string()) {
      text = std::string(system->as_string());
    } else {
      for (const json::value& b : arr(*system, "system")) {
        if (!text.empty()) text += "\n";
        text += text_of(obj(b, "a system block").at("text"));
      }
    }
    messages.push_back(json::object{{"role", "system"}, {"content", text}});
  }
  for (const json::value& m : arr(in.at("messages"), "messages")) {
    const json::object& msg = obj(m, "a message");
    const std::string role(str(msg.at("role"), "role"));
    if (role != "user" && role != "assistant") refuse("a message with role \"" + role + "\"");
    const json::value& content = msg.at("content");
    if (content.is_string()) {
      messages.push_back(json::object{{"role", role}, {"content", content}});
      continue;
    }
    json::array calls;
    json::array results;
    json::array parts = parts_of(arr(content, "content"), calls, results);
    for (json::value& r : results) messages.push_back(std::move(r));  // tool results answer the previous turn
    if (parts.empty() && calls.empty()) continue;
    json::object out{{"role", role}};
    if (role == "assistant") {  // assistant content is text only on the OpenAI side
      std::string text;
      for (const json::value& p : parts) {
        if (p.as_object().at("type") != "text") refuse("an assistant message with an image");
        text += text_of(p.as_object().at("text"));
      }
      out["content"] = parts.empty() ? json::value(nullptr) : json::value(text);
      if (!calls.empty()) out["tool_calls"] = std::move(calls);
    } else {
      out["content"] = std::move(parts);
    }
    messages.push_back(std::move(out));
  }
  json::object out{{"messages", std::move(messages)}};
  if (const json::value* v = in.if_contains("max_tokens")) out["max_tokens"] = *v;
  for (const char* key : {"temperature", "top_p"}) {
    if (const json::value* v = in.if_contains(key)) out[key] = *v;
  }
  if (const json::value* stop = in.if_contains("stop_sequences")) out["stop"] = *stop;
  if (const json::value* tools = in.if_contains("tools")) {
    json::array list;
    for (const json::value& t : arr(*tools, "tools")) {
      const json::object& tool = obj(t, "a tool");
      if (const json::value* type = tool.if_contains("type"); type != nullptr && *type != "custom") {
        refuse("the server tool \"" + std::string(str(*type, "type")) + "\"");
      }
      json::object fn{{"name", tool.at("name")}};
      if (const json::value* d = tool.if_contains("description")) fn["description"] = *d;
      if (const json::value* s = tool.if_contains("input_schema")) fn["parameters"] = *s;
      list.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    out["tools"] = std::move(list);
  }
  if (const json::value* choice = in.if_contains("tool_choice")) {
    const json::object& c = obj(*choice, "tool_choice");
    const std::string type(str(c.at("type"), "tool_choice.type"));
    if (type == "tool") {
      out["tool_choice"] = json::object{{"type", "function"}, {"function", json::object{{"name", c.at("name")}}}};
    } else {
      out["tool_choice"] = type == "any" ? "required" : type == "none" ? "none" : "auto";
    }
    if (const json::value* d = c.if_contains("disable_parallel_tool_use"); d != nullptr && d->is_bool()) {
      out["parallel_tool_calls"] = !d->as_bool();
    }
  }
  if (const json::value* metadata = in.if_contains("metadata")) {
    if (const json::value* user = obj(*metadata, "metadata").if_contains("user_id")) out["user"] = *user;
  }
  if (streamed(in)) {  // the usage chunk gives message_delta its output tokens
    out["stream"] = true;
    out["stream_options"] = json::object{{"include_usage", true}};
  }
  return out;
}

// ---- responses -----------------------------------------------------------------------

std::int64_t int_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

json::object anthropic_response_to_openai(const json::object& in) {
  std::string text;
  json::array calls;
  for (const json::value& b : arr(in.at("content"), "content")) {
    const json::object& block = obj(b, "a content block");
    const json::value& type = block.at("type");
    if (type == "text") {
      text += text_of(block.at("text"));
    } else if (type == "tool_use") {
      calls.push_back(json::object{
          {"id", block.at("id")},
          {"type", "function"},
          {"function", json::object{{"name", block.at("name")}, {"arguments", json::serialize(block.at("input"))}}}});
    }  // thinking blocks have no OpenAI counterpart in a chat completion: left out
  }
  json::object message{{"role", "assistant"},
                       {"content", text.empty() && !calls.empty() ? json::value() : json::value(text)}};
  if (!calls.empty()) message["tool_calls"] = std::move(calls);
  const json::value* stop = in.if_contains("stop_reason");
  const std::string finish =
      finish_reason_of(stop != nullptr && stop->is_string() ? std::string_view(stop->as_string()) : "");
  const json::object& usage = obj(in.at("usage"), "usage");
  const std::int64_t prompt = int_at(usage, "input_tokens");
  const std::int64_t completion = int_at(usage, "output_tokens");
  return {
      {"id", in.at("id")},
      {"object", "chat.completion"},
      {"created", 0},
      {"model", in.at("model")},
      {"choices", json::array{json::object{{"index", 0}, {"message", std::move(message)}, {"finish_reason", finish}}}},
      {"usage",
       json::object{
           {"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}}}};
}

json::object openai_response_to_anthropic(const json::object& in) {
  const json::array& choices = arr(in.at("choices"), "choices");
  if (choices.empty()) refuse("a response without choices");
  const json::object& choice = obj(choices[0], "a choice");
  const json::object& message = obj(choice.at("message"), "message");
  json::array content;
  if (const json::value* text = message.if_contains("content"); text != nullptr && text->is_string()) {
    if (!text->as_string().empty()) content.push_back(json::object{{"type", "text"}, {"text", *text}});
  }
  if (const json::value* calls = message.if_contains("tool_calls")) {
    for (const json::value& c : arr(*calls, "tool_calls")) {
      const json::object& fn = obj(obj(c, "a tool call").at("function"), "function");
      boost::system::error_code ec;
      json::value input = json::parse(str(fn.at("arguments"), "arguments"), ec);
      if (ec || !input.is_object()) refuse("tool call arguments that are not a JSON object");
      content.push_back(json::object{
          {"type", "tool_use"}, {"id", c.as_object().at("id")}, {"name", fn.at("name")}, {"input", std::move(input)}});
    }
  }
  const json::value* finish = choice.if_contains("finish_reason");
  const json::value* usage_v = in.if_contains("usage");
  const json::object usage = usage_v != nullptr && usage_v->is_object() ? usage_v->as_object() : json::object{};
  return {{"id", in.at("id")},
          {"type", "message"},
          {"role", "assistant"},
          {"model", in.at("model")},
          {"content", std::move(content)},
          {"stop_reason",
           stop_reason_of(finish != nullptr && finish->is_string() ? std::string_view(finish->as_string()) : "")},
          {"stop_sequence", nullptr},
          {"usage", json::object{{"input_tokens", int_at(usage, "prompt_tokens")},
                                 {"output_tokens", int_at(usage, "completion_tokens")}}}};
}

}  // namespace

std::string finish_reason_of(std::string_view stop_reason) {
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

std::string stop_reason_of(std::string_view finish_reason) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";
}

Result<json::object> translate_request(Protocol from, const json::object& body) {
  try {
    return from == Protocol::openai ? openai_to_anthropic(body) : anthropic_to_openai(body);
  } catch (const Refused& r) {
    return Error{"translate", r.why};
  } catch (const std::exception& e) {  // json::object::at on a missing key
    return Error{"translate", std::string("a required field is missing (") + e.what() + ")"};
  }
}

Result<std::string> translate_response(Protocol from, std::string_view body) {
  try {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return Error{"translate", "the response is not a JSON object"};
    const json::object out = from == Protocol::anthropic ? anthropic_response_to_openai(v.as_object())
                                                         : openai_response_to_anthropic(v.as_object());
    return json::serialize(out);
  } catch (const Refused& r) {
    return Error{"translate", r.why};
  } catch (const std::exception& e) {
    return Error{"translate", std::string("a required field is missing (") + e.what() + ")"};
  }
}

std::string translate_error(Protocol from, unsigned status, std::string_view body) {
  const Protocol to = from == Protocol::openai ? Protocol::anthropic : Protocol::openai;
  protocol::ErrorInfo error = protocol::error_for_status(to, static_cast<std::int32_t>(status));
  if (const std::optional<protocol::ErrorInfo> decoded = protocol::decode_error(from, body)) {
    error.message = decoded->message;
  } else {
    error.message = "the provider answered HTTP " + std::to_string(status);
  }
  return protocol::encode_error(to, static_cast<std::int32_t>(status), error);
}

}  // namespace failover::serve

#include "serve/gateway_stream_translate.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/engine/assert.h"
#include "serve/gateway_translate.h"

namespace failover::serve {

namespace json = boost::json;

namespace {

// map_ entries of an Anthropic upstream's blocks that are not tool calls.
constexpr std::int32_t kText = -1;
constexpr std::int32_t kSkipped = -2;  // thinking, redacted_thinking and block types added later
static_assert(kStreamBlocksMax <= 1'024, "the index map is a small table");

std::string string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

// A count member, or `otherwise` when absent or not a count.
std::int64_t count_at(const json::object& o, std::string_view key, std::int64_t otherwise) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() && v->as_int64() >= 0 ? v->as_int64() : otherwise;
}

// An OpenAI error type as the Anthropic error type a client tells apart.
std::string anthropic_error_type(std::string_view openai_type) {
  if (openai_type == "invalid_request_error") return "invalid_request_error";
  if (openai_type.find("rate_limit") != std::string_view::npos) return "rate_limit_error";
  if (openai_type.find("overloaded") != std::string_view::npos) return "overloaded_error";
  return "api_error";
}

void put_event(std::string& out, std::string_view name, const json::object& data) {
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += json::serialize(data);
  out += "\n\n";
}

void put_data(std::string& out, const json::object& data) {
  out += "data: ";
  out += json::serialize(data);
  out += "\n\n";
}

}  // namespace

// The two directions, over the translator's state. Each function handles one upstream
// event type and appends what the caller's protocol says for it.
struct StreamTranslation {
  // ---- Anthropic upstream -> OpenAI caller -------------------------------------------

  // One chat.completion.chunk with `delta` and `finish` ("" : null) in choices[0].
  static void chunk(StreamTranslator& t, json::object delta, std::string_view finish, std::string& out) {
    json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
    choice["finish_reason"] = finish.empty() ? json::value(nullptr) : json::value(finish);
    json::object c{{"id", t.id_},
                   {"object", "chat.completion.chunk"},
                   {"created", t.options_.created},
                   {"model", t.model_},
                   {"choices", json::array{std::move(choice)}}};
    if (t.options_.include_usage) c["usage"] = nullptr;  // as OpenAI sends it until the usage chunk
    put_data(out, c);
  }

  static void message_start(StreamTranslator& t, const json::object& o, std::string& out) {
    const json::object* message = object_at(o, "message");
    if (message == nullptr) return t_fail(t, "message_start without a message");
    t.id_ = string_at(*message, "id");
    t.model_ = string_at(*message, "model");
    if (const json::object* usage = object_at(*message, "usage")) {
      t.input_tokens_ = count_at(*usage, "input_tokens", 0);
      t.output_tokens_ = count_at(*usage, "output_tokens", 0);
    }
    if (t.started_) return;
    t.started_ = true;
    chunk(t, json::object{{"role", "assistant"}, {"content", ""}}, "", out);
  }

  static void block_start(StreamTranslator& t, const json::object& o, std::string& out) {
    const json::object* block = object_at(o, "content_block");
    const std::int64_t index = count_at(o, "index", -1);
    if (block == nullptr || index < 0) return t_fail(t, "content_block_start without a block or index");
    if (static_cast<std::size_t>(index) >= kStreamBlocksMax) return t_fail(t, "more content blocks than the limit");
    if (t.map_.size() <= static_cast<std::size_t>(index)) t.map_.resize(static_cast<std::size_t>(index) + 1, kSkipped);
    const std::string type = string_at(*block, "type");
    if (type == "text") {
      t.map_[static_cast<std::size_t>(index)] = kText;
      const std::string text = string_at(*block, "text");
      if (!text.empty()) chunk(t, json::object{{"content", text}}, "", out);
      return;
    }
    if (type != "tool_use") return;  // thinking and later block types: left out, as in a whole answer
    const std::int32_t call = t.tools_++;
    t.map_[static_cast<std::size_t>(index)] = call;
    json::object fn{{"name", string_at(*block, "name")}, {"arguments", ""}};
    json::object tool{{"index", call}, {"id", string_at(*block, "id")}, {"type", "function"}, {"function", fn}};
    chunk(t, json::object{{"tool_calls", json::array{std::move(tool)}}}, "", out);
  }

  static void block_delta(StreamTranslator& t, const json::object& o, std::string& out) {
    const json::object* delta = object_at(o, "delta");
    const std::int64_t index = count_at(o, "index", -1);
    if (delta == nullptr || index < 0) return t_fail(t, "content_block_delta without a delta or index");
    if (static_cast<std::size_t>(index) >= t.map_.size()) return t_fail(t, "a delta of a block never started");
    const std::int32_t kind = t.map_[static_cast<std::size_t>(index)];
    const std::string type = string_at(*delta, "type");
    if (type == "text_delta" && kind == kText) {
      chunk(t, json::object{{"content", string_at(*delta, "text")}}, "", out);
    } else if (type == "input_json_delta" && kind >= 0) {
      const std::string part = string_at(*delta, "partial_json");
      if (part.empty()) return;  // Anthropic opens with an empty fragment; OpenAI sends none
      json::object tool{{"index", kind}, {"function", json::object{{"arguments", part}}}};
      chunk(t, json::object{{"tool_calls", json::array{std::move(tool)}}}, "", out);
    }  // thinking_delta, signature_delta, citations_delta: no counterpart in a chunk
  }

  static void message_delta(StreamTranslator& t, const json::object& o, std::string& out) {
    const json::object* delta = object_at(o, "delta");
    if (delta == nullptr) return t_fail(t, "message_delta without a delta");
    if (const json::object* usage = object_at(o, "usage")) {
      t.output_tokens_ = count_at(*usage, "output_tokens", t.output_tokens_);  // cumulative
      t.input_tokens_ = count_at(*usage, "input_tokens", t.input_tokens_);
    }
    const std::string stop = string_at(*delta, "stop_reason");
    if (stop.empty()) return;
    t.stop_reason_ = finish_reason_of(stop);
    chunk(t, json::object{}, t.stop_reason_, out);
  }

  static void message_stop(StreamTranslator& t, std::string& out) {
    if (t.options_.include_usage) {
      json::object usage{{"prompt_tokens", t.input_tokens_},
                         {"completion_tokens", t.output_tokens_},
                         {"total_tokens", t.input_tokens_ + t.output_tokens_}};
      put_data(out, json::object{{"id", t.id_},
                                 {"object", "chat.completion.chunk"},
                                 {"created", t.options_.created},
                                 {"model", t.model_},
                                 {"choices", json::array{}},
                                 {"usage", std::move(usage)}});
    }
    out += "data: [DONE]\n\n";
    t.state_ = StreamTranslateState::finished;
  }

  static void anthropic_error(StreamTranslator& t, const json::object& o, std::string& out) {
    const json::object* e = object_at(o, "error");
    json::object error{{"message", e != nullptr ? string_at(*e, "message") : std::string("upstream error")},
                       {"type", e != nullptr ? string_at(*e, "type") : std::string("api_error")},
                       {"param", nullptr},
                       {"code", nullptr}};
    put_data(out, json::object{{"error", std::move(error)}});
    t.state_ = StreamTranslateState::errored;
  }

  static void from_anthropic(StreamTranslator& t, const json::object& o, std::string& out) {
    const std::string type = string_at(o, "type");
    if (type == "message_start") return message_start(t, o, out);
    if (type == "content_block_start") return block_start(t, o, out);
    if (type == "content_block_delta") return block_delta(t, o, out);
    if (type == "message_delta") return message_delta(t, o, out);
    if (type == "message_stop") return message_stop(t, out);
    if (type == "error") return anthropic_error(t, o, out);
    // content_block_stop, ping and event types added later: nothing to say in a chunk.
  }

  // ---- OpenAI upstream -> Anthropic caller -------------------------------------------

  static void open_message(StreamTranslator& t, std::string& out) {
    if (t.started_) return;
    t.started_ = true;
    // An OpenAI stream reports the prompt's tokens only at its end: message_start says
    // 0 (the SDKs take message_delta's input_tokens when present), message_delta the count.
    json::object message{{"id", t.id_},
                         {"type", "message"},
                         {"role", "assistant"},
                         {"model", t.model_},
                         {"content", json::array{}},
                         {"stop_reason", nullptr},
                         {"stop_sequence", nullptr},
                         {"usage", json::object{{"input_tokens", t.input_tokens_}, {"output_tokens", 0}}}};
    put_event(out, "message_start", json::object{{"type", "message_start"}, {"message", std::move(message)}});
  }

  static void close_block(StreamTranslator& t, std::string& out) {
    if (t.open_block_ < 0) return;
    put_event(out, "content_block_stop", json::object{{"type", "content_block_stop"}, {"index", t.open_block_}});
    t.open_block_ = -1;
  }

  static bool open_block(StreamTranslator& t, json::object block, std::string& out) {
    close_block(t, out);
    if (static_cast<std::size_t>(t.blocks_) >= kStreamBlocksMax) {
      t_fail(t, "more content blocks than the limit");
      return false;
    }
    t.open_block_ = t.blocks_++;
    put_event(out, "content_block_start",
              json::object{{"type", "content_block_start"}, {"index", t.open_block_}, {"content_block", block}});
    return true;
  }

  static void block_delta_event(std::int32_t index, json::object delta, std::string& out) {
    put_event(out, "content_block_delta",
              json::object{{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(delta)}});
  }

  static void text(StreamTranslator& t, const std::string& text, std::string& out) {
    if (text.empty()) return;
    if (t.open_block_ < 0 || !t.open_is_text_) {
      if (!open_block(t, json::object{{"type", "text"}, {"text", ""}}, out)) return;
      t.open_is_text_ = true;
    }
    block_delta_event(t.open_block_, json::object{{"type", "text_delta"}, {"text", text}}, out);
  }

  // One entry of delta.tool_calls: a new call (it has an id) opens a tool_use block; its
  // arguments' fragments become input_json_delta events of that block. OpenAI sends one
  // call's fragments before the next call's; fragments of a call whose block was closed
  // cannot be placed in an Anthropic stream, and fail the translation.
  static void tool_call(StreamTranslator& t, const json::object& call, std::string& out) {
    const std::int64_t index = count_at(call, "index", -1);
    if (index < 0 || static_cast<std::size_t>(index) >= kStreamBlocksMax) return t_fail(t, "a tool call index");
    if (t.map_.size() <= static_cast<std::size_t>(index)) t.map_.resize(static_cast<std::size_t>(index) + 1, kSkipped);
    std::int32_t& block = t.map_[static_cast<std::size_t>(index)];
    const json::object* fn = object_at(call, "function");
    if (block == kSkipped) {
      json::object start{{"type", "tool_use"},
                         {"id", string_at(call, "id")},
                         {"name", fn != nullptr ? string_at(*fn, "name") : std::string()},
                         {"input", json::object{}}};
      if (!open_block(t, std::move(start), out)) return;
      t.open_is_text_ = false;
      block = t.open_block_;
    }
    const std::string arguments = fn != nullptr ? string_at(*fn, "arguments") : std::string();
    if (arguments.empty()) return;
    if (block != t.open_block_) return t_fail(t, "tool call arguments interleaved with another call's");
    block_delta_event(block, json::object{{"type", "input_json_delta"}, {"partial_json", arguments}}, out);
  }

  static void choice(StreamTranslator& t, const json::object& c, std::string& out) {
    if (const json::object* delta = object_at(c, "delta")) {
      text(t, string_at(*delta, "content"), out);
      text(t, string_at(*delta, "refusal"), out);  // the words the caller would read
      if (const json::value* calls = delta->if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
        for (const json::value& call : calls->as_array()) {  // bounded by the event's size
          if (!call.is_object()) return t_fail(t, "a tool call that is not an object");
          tool_call(t, call.as_object(), out);
          if (t.state_ != StreamTranslateState::open) return;
        }
      }
    }
    const std::string finish = string_at(c, "finish_reason");
    if (finish.empty()) return;
    close_block(t, out);
    t.stop_reason_ = stop_reason_of(finish);
  }

  static void openai_error(StreamTranslator& t, const json::object& e, std::string& out) {
    open_message(t, out);  // an Anthropic stream's error follows its message_start
    json::object error{{"type", anthropic_error_type(string_at(e, "type"))}, {"message", string_at(e, "message")}};
    put_event(out, "error", json::object{{"type", "error"}, {"error", std::move(error)}});
    t.state_ = StreamTranslateState::errored;
  }

  static void from_openai(StreamTranslator& t, const json::object& o, std::string& out) {
    if (const json::object* e = object_at(o, "error")) return openai_error(t, *e, out);
    if (t.id_.empty()) t.id_ = string_at(o, "id");
    if (t.model_.empty()) t.model_ = string_at(o, "model");
    if (const json::object* usage = object_at(o, "usage")) {
      t.input_tokens_ = count_at(*usage, "prompt_tokens", t.input_tokens_);
      t.output_tokens_ = count_at(*usage, "completion_tokens", t.output_tokens_);
    }
    const json::value* choices = o.if_contains("choices");
    if (choices == nullptr || !choices->is_array()) return t_fail(t, "a chunk without choices");
    open_message(t, out);
    if (choices->as_array().empty()) return;  // the usage chunk
    const json::object* first = choices->as_array()[0].if_object();
    if (first == nullptr) return t_fail(t, "a choice that is not an object");
    choice(t, *first, out);
  }

  static void done(StreamTranslator& t, std::string& out) {
    open_message(t, out);
    close_block(t, out);
    json::object delta{{"stop_reason", t.stop_reason_.empty() ? std::string("end_turn") : t.stop_reason_},
                       {"stop_sequence", nullptr}};
    json::object usage{{"input_tokens", t.input_tokens_}, {"output_tokens", t.output_tokens_}};
    put_event(out, "message_delta",
              json::object{{"type", "message_delta"}, {"delta", std::move(delta)}, {"usage", std::move(usage)}});
    put_event(out, "message_stop", json::object{{"type", "message_stop"}});
    t.state_ = StreamTranslateState::finished;
  }

  static void t_fail(StreamTranslator& t, std::string why) {
    FAILOVER_ASSERT(t.state_ == StreamTranslateState::open);
    t.state_ = StreamTranslateState::failed;
    t.failure_ = std::move(why);
    FAILOVER_ASSERT(!t.failure_.empty());
  }
};

StreamTranslator::StreamTranslator(Protocol from, StreamTranslateOptions options) : from_(from), options_(options) {
  map_.reserve(8);
}

void StreamTranslator::feed(std::string_view bytes, std::string& out) {
  if (state_ != StreamTranslateState::open) return;
  parsed_.clear();
  const bool ok = parser_.feed(bytes, parsed_);
  for (const protocol::SseEvent& e : parsed_) {  // bounded by this piece's size
    if (state_ != StreamTranslateState::open) break;
    event(e, out);
  }
  parsed_.clear();
  if (!ok && state_ == StreamTranslateState::open) StreamTranslation::t_fail(*this, "an event beyond the SSE limits");
}

void StreamTranslator::event(const protocol::SseEvent& e, std::string& out) {
  if (state_ != StreamTranslateState::open) return;
  FAILOVER_ASSERT(map_.size() <= kStreamBlocksMax);
  const std::size_t before = out.size();
  if (from_ == Protocol::openai && e.data == "[DONE]") {
    StreamTranslation::done(*this, out);
    FAILOVER_ASSERT(out.size() > before);
    return;
  }
  boost::system::error_code ec;
  const json::value v = json::parse(e.data, ec);
  if (ec || !v.is_object()) return StreamTranslation::t_fail(*this, "an event whose data is not a JSON object");
  if (from_ == Protocol::anthropic) {
    StreamTranslation::from_anthropic(*this, v.as_object(), out);
  } else {
    StreamTranslation::from_openai(*this, v.as_object(), out);
  }
  FAILOVER_ASSERT(state_ != StreamTranslateState::failed || !failure_.empty());
}

}  // namespace failover::serve

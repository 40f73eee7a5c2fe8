// Streamed answers across protocols (serve/gateway_stream_translate.h): an Anthropic
// target's events as OpenAI chunks and an OpenAI target's chunks as Anthropic events --
// text, tool calls with fragmented arguments, several tool calls, usage, every stop
// reason, an error event, thinking left out, input cut at every byte -- read back the
// way the SDKs' stream helpers accumulate them.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/protocol/sse.h"
#include "serve/gateway_stream_translate.h"
#include "serve/gateway_translate.h"

namespace failover::serve {
namespace {

namespace json = boost::json;

std::string anthropic_event(const std::string& data) {
  const json::object o = json::parse(data).as_object();
  return "event: " + std::string(o.at("type").as_string()) + "\ndata: " + data + "\n\n";
}

std::string openai_event(const std::string& data) {
  return "data: " + data + "\n\n";
}

// An Anthropic stream as the API sends it: message_start, a ping, `blocks` (each a
// start, its deltas, a stop), message_delta with `stop_reason`, message_stop.
std::string anthropic_stream(const std::vector<std::string>& blocks, const std::string& stop_reason) {
  std::string s = anthropic_event(
      R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}})");
  s += anthropic_event(R"({"type":"ping"})");
  for (const std::string& b : blocks) s += b;
  s += anthropic_event(R"({"type":"message_delta","delta":{"stop_reason":")" + stop_reason +
                       R"(","stop_sequence":null},"usage":{"output_tokens":12}})");
  s += anthropic_event(R"({"type":"message_stop"})");
  return s;
}

std::string text_block(int index, const std::vector<std::string>& parts) {
  const std::string i = std::to_string(index);
  std::string s = anthropic_event(R"({"type":"content_block_start","index":)" + i +
                                  R"(,"content_block":{"type":"text","text":""}})");
  for (const std::string& p : parts) {
    s += anthropic_event(R"({"type":"content_block_delta","index":)" + i + R"(,"delta":{"type":"text_delta","text":)" +
                         json::serialize(json::value(p)) + "}}");
  }
  return s + anthropic_event(R"({"type":"content_block_stop","index":)" + i + "}");
}

std::string tool_block(int index, const std::string& id, const std::string& name,
                       const std::vector<std::string>& fragments) {
  const std::string i = std::to_string(index);
  std::string s = anthropic_event(R"({"type":"content_block_start","index":)" + i +
                                  R"(,"content_block":{"type":"tool_use","id":")" + id + R"(","name":")" + name +
                                  R"(","input":{}}})");
  s += anthropic_event(R"({"type":"content_block_delta","index":)" + i +
                       R"(,"delta":{"type":"input_json_delta","partial_json":""}})");
  for (const std::string& f : fragments) {
    s += anthropic_event(R"({"type":"content_block_delta","index":)" + i +
                         R"(,"delta":{"type":"input_json_delta","partial_json":)" + json::serialize(json::value(f)) +
                         "}}");
  }
  return s + anthropic_event(R"({"type":"content_block_stop","index":)" + i + "}");
}

std::vector<protocol::SseEvent> events_of(const std::string& bytes) {
  protocol::SseParser parser;
  std::vector<protocol::SseEvent> out;
  EXPECT_TRUE(parser.feed(bytes, out));
  EXPECT_FALSE(parser.pending()) << "every event ends: " << bytes;
  return out;
}

std::string translate(Protocol from, const std::string& upstream, StreamTranslateOptions options = {},
                      StreamTranslateState want = StreamTranslateState::finished) {
  StreamTranslator t(from, options);
  std::string out;
  t.feed(upstream, out);
  EXPECT_EQ(t.state(), want) << t.failure();
  return out;
}

// What the OpenAI SDK's ChatCompletionStream makes of chunks: content, tool calls by
// index (id, name, arguments joined), finish_reason, usage; and that [DONE] ends them.
struct OpenAiRead {
  std::string role;
  std::string content;
  std::map<std::int64_t, json::object> calls;  // index -> {id, name, arguments}
  std::string finish;
  json::object usage;
  json::object error;
  int chunks = 0;
  bool done = false;
};

OpenAiRead read_openai(const std::string& bytes) {
  OpenAiRead r;
  for (const protocol::SseEvent& e : events_of(bytes)) {
    EXPECT_FALSE(r.done) << "nothing after [DONE]";
    EXPECT_TRUE(e.event.empty()) << "OpenAI streams have no event names";
    if (e.data == "[DONE]") {
      r.done = true;
      continue;
    }
    const json::object c = json::parse(e.data).as_object();
    if (c.contains("error")) {
      r.error = c.at("error").as_object();
      continue;
    }
    ++r.chunks;
    EXPECT_EQ(c.at("object"), "chat.completion.chunk");
    EXPECT_EQ(c.at("id"), "msg_01");
    EXPECT_EQ(c.at("model"), "claude-x");
    if (const json::value* u = c.if_contains("usage"); u != nullptr && u->is_object()) r.usage = u->as_object();
    const json::array& choices = c.at("choices").as_array();
    if (choices.empty()) continue;
    const json::object& choice = choices[0].as_object();
    const json::object& delta = choice.at("delta").as_object();
    if (const json::value* role = delta.if_contains("role")) r.role = role->as_string();
    if (const json::value* content = delta.if_contains("content")) r.content += content->as_string();
    if (const json::value* calls = delta.if_contains("tool_calls")) {
      for (const json::value& v : calls->as_array()) {
        const json::object& call = v.as_object();
        json::object& acc = r.calls[call.at("index").as_int64()];
        if (const json::value* id = call.if_contains("id")) acc["id"] = *id;
        const json::object& fn = call.at("function").as_object();
        if (const json::value* name = fn.if_contains("name")) acc["name"] = *name;
        std::string args = acc.contains("arguments") ? std::string(acc["arguments"].as_string()) : std::string();
        args += fn.at("arguments").as_string();
        acc["arguments"] = args;
      }
    }
    if (choice.at("finish_reason").is_string()) r.finish = choice.at("finish_reason").as_string();
  }
  return r;
}

// What the Anthropic SDK's MessageStream makes of events: the message, its content
// blocks by index (text joined, tool input from the JSON fragments), stop reason, usage.
struct AnthropicRead {
  std::vector<std::string> names;
  json::object message;
  std::vector<json::object> blocks;
  std::vector<std::string> json_parts;  // per block
  std::string stop_reason;
  json::object usage;
  json::object error;
  bool stopped = false;
};

AnthropicRead read_anthropic(const std::string& bytes) {
  AnthropicRead r;
  int open = -1;
  for (const protocol::SseEvent& e : events_of(bytes)) {
    EXPECT_FALSE(r.stopped) << "nothing after message_stop";
    const json::object o = json::parse(e.data).as_object();
    EXPECT_EQ(std::string(o.at("type").as_string()), e.event) << "the event name is the data's type";
    r.names.push_back(e.event);
    if (e.event == "message_start") {
      EXPECT_TRUE(r.message.empty()) << "one message_start";
      r.message = o.at("message").as_object();
    } else if (e.event == "content_block_start") {
      EXPECT_EQ(open, -1) << "a block starts after the previous one stopped";
      open = static_cast<int>(o.at("index").as_int64());
      EXPECT_EQ(open, static_cast<int>(r.blocks.size())) << "indexes count up from 0";
      r.blocks.push_back(o.at("content_block").as_object());
      r.json_parts.emplace_back();
    } else if (e.event == "content_block_delta") {
      EXPECT_EQ(o.at("index").as_int64(), open);
      const json::object& d = o.at("delta").as_object();
      json::object& block = r.blocks.at(static_cast<std::size_t>(open));
      if (d.at("type") == "text_delta") {
        block["text"] = std::string(block["text"].as_string()) + std::string(d.at("text").as_string());
      } else {
        EXPECT_EQ(d.at("type"), "input_json_delta");
        r.json_parts.at(static_cast<std::size_t>(open)) += d.at("partial_json").as_string();
      }
    } else if (e.event == "content_block_stop") {
      EXPECT_EQ(o.at("index").as_int64(), open);
      open = -1;
    } else if (e.event == "message_delta") {
      r.stop_reason = o.at("delta").as_object().at("stop_reason").as_string();
      r.usage = o.at("usage").as_object();
    } else if (e.event == "message_stop") {
      EXPECT_EQ(open, -1) << "every block stopped";
      r.stopped = true;
    } else if (e.event == "error") {
      r.error = o.at("error").as_object();
    }
  }
  return r;
}

// ---- Anthropic target, OpenAI caller -------------------------------------------------

TEST(StreamTranslate, AnAnthropicTextStreamBecomesOpenAiChunksWithTheUsageChunkWhenAsked) {
  const std::string upstream =
      anthropic_stream({text_block(0, {"Hello", " there, ", "\xC3\xA9t\xC3\xA9 \"quoted\""})}, "end_turn");
  StreamTranslateOptions options;
  options.include_usage = true;
  options.created = 1'765'000'000;
  const std::string out = translate(Protocol::anthropic, upstream, options);
  const OpenAiRead r = read_openai(out);
  EXPECT_EQ(r.role, "assistant");
  EXPECT_EQ(r.content, "Hello there, \xC3\xA9t\xC3\xA9 \"quoted\"");
  EXPECT_EQ(r.finish, "stop");
  EXPECT_EQ(r.usage.at("prompt_tokens").as_int64(), 25);
  EXPECT_EQ(r.usage.at("completion_tokens").as_int64(), 12);
  EXPECT_EQ(r.usage.at("total_tokens").as_int64(), 37);
  EXPECT_TRUE(r.done);
  EXPECT_NE(out.find("\"created\":1765000000"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 14), "data: [DONE]\n\n");
}

TEST(StreamTranslate, WithoutIncludeUsageNoUsageChunkIsSent) {
  const std::string out = translate(Protocol::anthropic, anthropic_stream({text_block(0, {"hi"})}, "end_turn"));
  const OpenAiRead r = read_openai(out);
  EXPECT_EQ(r.content, "hi");
  EXPECT_TRUE(r.usage.empty());
  EXPECT_EQ(out.find("usage"), std::string::npos) << out;
  EXPECT_TRUE(r.done);
}

TEST(StreamTranslate, AnthropicToolUseBlocksBecomeToolCallsWithTheirArgumentFragments) {
  const std::string upstream = anthropic_stream(
      {text_block(0, {"Let me look."}), tool_block(1, "toolu_a", "get_weather", {"{\"city\": ", "\"Par", "is\"}"}),
       tool_block(2, "toolu_b", "get_time", {"{\"tz\":\"Europe/Paris\"", "}"})},
      "tool_use");
  const OpenAiRead r = read_openai(translate(Protocol::anthropic, upstream));
  EXPECT_EQ(r.content, "Let me look.");
  ASSERT_EQ(r.calls.size(), 2U);
  EXPECT_EQ(r.calls.at(0).at("id"), "toolu_a");
  EXPECT_EQ(r.calls.at(0).at("name"), "get_weather");
  EXPECT_EQ(json::parse(r.calls.at(0).at("arguments").as_string()), json::parse(R"({"city":"Paris"})"));
  EXPECT_EQ(r.calls.at(1).at("id"), "toolu_b");
  EXPECT_EQ(r.calls.at(1).at("name"), "get_time");
  EXPECT_EQ(json::parse(r.calls.at(1).at("arguments").as_string()), json::parse(R"({"tz":"Europe/Paris"})"));
  EXPECT_EQ(r.finish, "tool_calls");
}

TEST(StreamTranslate, EachAnthropicStopReasonBecomesItsFinishReason) {
  const std::vector<std::pair<std::string, std::string>> cases{{"end_turn", "stop"},
                                                               {"max_tokens", "length"},
                                                               {"tool_use", "tool_calls"},
                                                               {"stop_sequence", "stop"},
                                                               {"refusal", "content_filter"}};
  for (const auto& [stop, finish] : cases) {
    const OpenAiRead r = read_openai(translate(Protocol::anthropic, anthropic_stream({text_block(0, {"x"})}, stop)));
    EXPECT_EQ(r.finish, finish) << stop;
  }
}

TEST(StreamTranslate, ThinkingBlocksAreLeftOutOfTheChunks) {
  const std::string thinking =
      anthropic_event(R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})") +
      anthropic_event(
          R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"secret plan"}})") +
      anthropic_event(
          R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"x"}})") +
      anthropic_event(R"({"type":"content_block_stop","index":0})");
  const std::string out =
      translate(Protocol::anthropic, anthropic_stream({thinking, text_block(1, {"answer"})}, "end_turn"));
  EXPECT_EQ(read_openai(out).content, "answer");
  EXPECT_EQ(out.find("secret plan"), std::string::npos) << out;
}

TEST(StreamTranslate, AnAnthropicErrorEventBecomesAnOpenAiErrorAndEndsTheTranslation) {
  std::string upstream = anthropic_stream({}, "end_turn");
  upstream = upstream.substr(0, upstream.find("event: ping"));  // message_start only
  upstream += text_block(0, {"partial"});
  upstream += anthropic_event(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  upstream += anthropic_event(R"({"type":"message_stop"})");  // ignored: the stream errored
  const std::string out = translate(Protocol::anthropic, upstream, {}, StreamTranslateState::errored);
  const OpenAiRead r = read_openai(out);
  EXPECT_EQ(r.content, "partial");
  EXPECT_EQ(r.error.at("type"), "overloaded_error");
  EXPECT_EQ(r.error.at("message"), "Overloaded");
  EXPECT_FALSE(r.done) << "an errored stream has no [DONE]";
}

// ---- OpenAI target, Anthropic caller -------------------------------------------------

std::string openai_chunk(const std::string& delta, const std::string& finish = "null") {
  return openai_event(
      R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":)" +
      delta + R"(,"logprobs":null,"finish_reason":)" + finish + "}],\"usage\":null}");
}

std::string openai_usage_and_done(int prompt, int completion) {
  return openai_event(
             R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[],"usage":{"prompt_tokens":)" +
             std::to_string(prompt) + R"(,"completion_tokens":)" + std::to_string(completion) + R"(,"total_tokens":)" +
             std::to_string(prompt + completion) + "}}") +
         "data: [DONE]\n\n";
}

TEST(StreamTranslate, AnOpenAiTextStreamBecomesAnthropicEventsWithUsageInMessageDelta) {
  const std::string upstream = openai_chunk(R"({"role":"assistant","content":"","refusal":null})") +
                               openai_chunk(R"({"content":"Hello"})") + openai_chunk(R"({"content":" world"})") +
                               openai_chunk("{}", "\"stop\"") + openai_usage_and_done(30, 2);
  const AnthropicRead r = read_anthropic(translate(Protocol::openai, upstream));
  const std::vector<std::string> names{"message_start",       "content_block_start", "content_block_delta",
                                       "content_block_delta", "content_block_stop",  "message_delta",
                                       "message_stop"};
  EXPECT_EQ(r.names, names);
  EXPECT_EQ(r.message.at("id"), "chatcmpl-1");
  EXPECT_EQ(r.message.at("model"), "gpt-x");
  EXPECT_EQ(r.message.at("role"), "assistant");
  ASSERT_EQ(r.blocks.size(), 1U);
  EXPECT_EQ(r.blocks[0].at("text"), "Hello world");
  EXPECT_EQ(r.stop_reason, "end_turn");
  EXPECT_EQ(r.usage.at("output_tokens").as_int64(), 2);
  EXPECT_EQ(r.usage.at("input_tokens").as_int64(), 30);
  EXPECT_TRUE(r.stopped);
}

TEST(StreamTranslate, OpenAiToolCallsBecomeToolUseBlocksWithInputJsonDeltas) {
  const std::string upstream =
      openai_chunk(R"({"role":"assistant","content":null})") + openai_chunk(R"({"content":"Checking."})") +
      openai_chunk(
          R"({"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]})") +
      openai_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]})") +
      openai_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Oslo\"}"}}]})") +
      openai_chunk(
          R"({"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]})") +
      openai_chunk("{}", "\"tool_calls\"") + openai_usage_and_done(50, 20);
  const AnthropicRead r = read_anthropic(translate(Protocol::openai, upstream));
  ASSERT_EQ(r.blocks.size(), 3U);
  EXPECT_EQ(r.blocks[0].at("type"), "text");
  EXPECT_EQ(r.blocks[0].at("text"), "Checking.");
  EXPECT_EQ(r.blocks[1].at("type"), "tool_use");
  EXPECT_EQ(r.blocks[1].at("id"), "call_a");
  EXPECT_EQ(r.blocks[1].at("name"), "get_weather");
  EXPECT_EQ(json::parse(r.json_parts[1]), json::parse(R"({"city":"Oslo"})"));
  EXPECT_EQ(r.blocks[2].at("id"), "call_b");
  EXPECT_EQ(r.blocks[2].at("name"), "get_time");
  EXPECT_EQ(json::parse(r.json_parts[2]), json::parse("{}"));
  EXPECT_EQ(r.stop_reason, "tool_use");
}

TEST(StreamTranslate, EachOpenAiFinishReasonBecomesItsStopReason) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"stop", "end_turn"}, {"length", "max_tokens"}, {"tool_calls", "tool_use"}, {"content_filter", "refusal"}};
  for (const auto& [finish, stop] : cases) {
    const std::string upstream =
        openai_chunk(R"({"content":"x"})") + openai_chunk("{}", "\"" + finish + "\"") + "data: [DONE]\n\n";
    const AnthropicRead r = read_anthropic(translate(Protocol::openai, upstream));
    EXPECT_EQ(r.stop_reason, stop) << finish;
    EXPECT_EQ(r.usage.at("output_tokens").as_int64(), 0) << "no usage chunk: 0";
  }
}

TEST(StreamTranslate, AnOpenAiErrorChunkBecomesAnAnthropicErrorEventAfterMessageStart) {
  const std::string upstream = openai_chunk(R"({"content":"par"})") +
                               openai_event(R"({"error":{"message":"Rate limited","type":"rate_limit_exceeded"}})") +
                               "data: [DONE]\n\n";
  const AnthropicRead r = read_anthropic(translate(Protocol::openai, upstream, {}, StreamTranslateState::errored));
  ASSERT_FALSE(r.names.empty());
  EXPECT_EQ(r.names.front(), "message_start");
  EXPECT_EQ(r.names.back(), "error");
  EXPECT_EQ(r.error.at("type"), "rate_limit_error");
  EXPECT_EQ(r.error.at("message"), "Rate limited");
  EXPECT_FALSE(r.stopped);
}

// ---- both ----------------------------------------------------------------------------

TEST(StreamTranslate, InputCutAtEveryByteTranslatesAsTheWholeDoes) {
  const std::string anthropic =
      anthropic_stream({text_block(0, {"h\xC3\xA9llo"}), tool_block(1, "toolu_a", "f", {"{\"a\":", "1}"})}, "tool_use");
  const std::string openai =
      openai_chunk(R"({"content":"h\u00e9llo"})") +
      openai_chunk(R"({"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]})") +
      openai_chunk("{}", "\"tool_calls\"") + openai_usage_and_done(3, 4);
  for (const auto& [from, upstream] :
       {std::pair{Protocol::anthropic, anthropic}, std::pair{Protocol::openai, openai}}) {
    const std::string whole = translate(from, upstream);
    StreamTranslator t(from, {});
    std::string pieces;
    for (const char c : upstream) t.feed(std::string_view(&c, 1), pieces);
    EXPECT_EQ(t.state(), StreamTranslateState::finished);
    EXPECT_EQ(pieces, whole);
  }
}

TEST(StreamTranslate, AnEventThatDoesNotDecodeFailsTheTranslationAndEmitsNothingMore) {
  StreamTranslator t(Protocol::anthropic, {});
  std::string out;
  t.feed(anthropic_stream({}, "end_turn").substr(0, 200), out);
  t.feed("event: content_block_delta\ndata: {not json\n\n", out);
  EXPECT_EQ(t.state(), StreamTranslateState::failed);
  EXPECT_FALSE(t.failure().empty());
  const std::size_t size = out.size();
  t.feed(text_block(0, {"late"}), out);
  EXPECT_EQ(out.size(), size) << "nothing after a failure";
}

TEST(StreamTranslate, ToolCallArgumentsInterleavedAcrossCallsCannotBeTranslated) {
  const std::string upstream =
      openai_chunk(R"({"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]})") +
      openai_chunk(R"({"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{"}}]})") +
      openai_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"}"}}]})");
  translate(Protocol::openai, upstream, {}, StreamTranslateState::failed);
}

TEST(StreamTranslate, MoreBlocksThanTheLimitFailTheTranslation) {
  std::string upstream;
  for (std::size_t i = 0; i <= kStreamBlocksMax; ++i) {
    upstream += openai_chunk(R"({"tool_calls":[{"index":)" + std::to_string(i) +
                             R"(,"id":"c","function":{"name":"f","arguments":"{}"}}]})");
  }
  translate(Protocol::openai, upstream, {}, StreamTranslateState::failed);
  const std::string beyond =
      anthropic_event(R"({"type":"content_block_start","index":)" + std::to_string(kStreamBlocksMax) +
                      R"(,"content_block":{"type":"text","text":""}})");
  translate(Protocol::anthropic, beyond, {}, StreamTranslateState::failed);
}

// ---- the streamed request ------------------------------------------------------------

TEST(StreamTranslate, AStreamedRequestAsksAnOpenAiTargetForUsageAndKeepsStreamTowardsAnthropic) {
  const json::object anthropic_caller =
      json::parse(R"({"model":"m","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]})")
          .as_object();
  const Result<json::object> to_openai = translate_request(Protocol::anthropic, anthropic_caller);
  ASSERT_TRUE(to_openai.has_value()) << to_openai.error().what;
  EXPECT_EQ(to_openai->at("stream"), true);
  EXPECT_EQ(to_openai->at("stream_options").as_object().at("include_usage"), true);
  const json::object openai_caller =
      json::parse(
          R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})")
          .as_object();
  const Result<json::object> to_anthropic = translate_request(Protocol::openai, openai_caller);
  ASSERT_TRUE(to_anthropic.has_value()) << to_anthropic.error().what;
  EXPECT_EQ(to_anthropic->at("stream"), true);
  EXPECT_FALSE(to_anthropic->contains("stream_options"));
  json::object other = openai_caller;
  other["stream_options"] = json::object{{"include_obfuscation", false}};
  const Result<json::object> refused = translate_request(Protocol::openai, other);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().what.find("stream_options.include_obfuscation"), std::string::npos);
}

}  // namespace
}  // namespace failover::serve

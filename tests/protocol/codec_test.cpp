// The request, response and error codecs of both protocols: round trips, the exact
// wire shapes the providers document, what the decoders reject, and refusals.
#include <gtest/gtest.h>

#include <string>

#include "core/protocol/codec.h"

namespace failover::protocol {
namespace {

constexpr Protocol kBoth[] = {Protocol::openai, Protocol::anthropic};

std::string name(Protocol p) {
  return p == Protocol::openai ? "openai" : "anthropic";
}

std::string header(const EncodedRequest& r, std::string_view key) {
  for (const Header& h : r.headers) {
    if (h.name == key) return h.value;
  }
  return "<absent>";
}

ChatRequest sample_request() {
  ChatRequest r;
  r.model = "model-x";
  r.messages = {{"system", "Be brief."},
                {"user", "h\xC3\xA9llo \xE2\x80\x94 \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x8E\x89"},
                {"assistant", "Quote \" backslash \\ newline \n tab \t nul-free."},
                {"user", "Again?"}};
  r.max_tokens = 300;
  return r;
}

// ---- requests ------------------------------------------------------------------

TEST(Request, OpenAiRoundTripKeepsEverything) {
  for (bool stream : {false, true}) {
    for (std::optional<double> t : {std::optional<double>{}, std::optional<double>{0.7}, std::optional<double>{0.0}}) {
      ChatRequest r = sample_request();
      r.stream = stream;
      r.temperature = t;
      const EncodedRequest e = encode_request(Protocol::openai, r);
      EXPECT_EQ(e.path, "/chat/completions");
      auto d = decode_request(Protocol::openai, e.body);
      ASSERT_TRUE(d.has_value()) << d.error().message() << "\n" << e.body;
      EXPECT_EQ(d->model, r.model);
      ASSERT_EQ(d->messages.size(), r.messages.size());
      for (std::size_t i = 0; i < r.messages.size(); ++i) {
        EXPECT_EQ(d->messages[i].role, r.messages[i].role);
        EXPECT_EQ(d->messages[i].content, r.messages[i].content);
      }
      EXPECT_EQ(d->max_tokens, 300);
      EXPECT_EQ(d->temperature, t);
      EXPECT_EQ(d->stream, stream);
    }
  }
}

TEST(Request, OpenAiWireShape) {
  ChatRequest r = sample_request();
  r.messages.resize(2);
  r.temperature = 0.7;
  r.stream = true;
  const EncodedRequest e = encode_request(Protocol::openai, r);
  EXPECT_EQ(e.body, R"({"model":"model-x","messages":[{"role":"system","content":"Be brief."},)"
                    R"({"role":"user","content":"h)"
                    "\xC3\xA9"
                    R"(llo )"
                    "\xE2\x80\x94 \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x8E\x89"
                    R"("}],"max_tokens":300,"temperature":0.7,"stream":true,"stream_options":{"include_usage":true}})");
  EXPECT_EQ(header(e, "content-type"), "application/json");
  EXPECT_EQ(header(e, "accept"), "text/event-stream");
  EXPECT_EQ(header(e, "anthropic-version"), "<absent>");
  r.stream = false;
  const EncodedRequest plain = encode_request(Protocol::openai, r);
  EXPECT_EQ(header(plain, "accept"), "<absent>");
  EXPECT_EQ(plain.body.find("stream"), std::string::npos);
}

TEST(Request, AnthropicLiftsSystemMessagesIntoSystem) {
  ChatRequest r = sample_request();
  r.messages.push_back({"system", "Second rule."});
  r.temperature = 0.25;
  r.stream = true;
  const EncodedRequest e = encode_request(Protocol::anthropic, r);
  EXPECT_EQ(e.path, "/v1/messages");
  EXPECT_EQ(header(e, "anthropic-version"), "2023-06-01");
  EXPECT_EQ(header(e, "accept"), "text/event-stream");
  EXPECT_NE(e.body.find(R"("system":"Be brief.\n\nSecond rule.")"), std::string::npos) << e.body;
  EXPECT_NE(e.body.find(R"("stream":true)"), std::string::npos);
  auto d = decode_request(Protocol::anthropic, e.body);
  ASSERT_TRUE(d.has_value()) << d.error().message();
  ASSERT_EQ(d->messages.size(), 4U);
  EXPECT_EQ(d->messages[0].role, "system");
  EXPECT_EQ(d->messages[0].content, "Be brief.\n\nSecond rule.");
  EXPECT_EQ(d->messages[1].role, "user");
  EXPECT_EQ(d->messages[1].content, r.messages[1].content);
  EXPECT_EQ(d->messages[2].content, r.messages[2].content);
  EXPECT_EQ(d->messages[3].content, "Again?");
  EXPECT_EQ(d->temperature, 0.25);
  EXPECT_TRUE(d->stream);
  EXPECT_EQ(d->max_tokens, 300);
}

TEST(Request, AnthropicWithoutSystemOrTemperatureOrStream) {
  ChatRequest r;
  r.model = "claude";
  r.messages = {{"user", "hi"}};
  const EncodedRequest e = encode_request(Protocol::anthropic, r);
  EXPECT_EQ(e.body, R"({"model":"claude","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(header(e, "accept"), "<absent>");
  auto d = decode_request(Protocol::anthropic, e.body);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->messages.size(), 1U);
  EXPECT_FALSE(d->temperature.has_value());
  EXPECT_FALSE(d->stream);
}

TEST(Request, AnthropicTemperatureIsCappedAtOne) {
  ChatRequest r = sample_request();
  r.temperature = 1.5;  // valid for OpenAI, above Anthropic's range
  auto d = decode_request(Protocol::anthropic, encode_request(Protocol::anthropic, r).body);
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->temperature, 1.0);
}

TEST(Request, AnthropicAcceptsContentAndSystemAsTextBlocks) {
  const auto d = decode_request(Protocol::anthropic, R"({"model":"m","max_tokens":10,
      "system":[{"type":"text","text":"Rule one. "},{"type":"text","text":"Rule two."}],
      "messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{}},
                                           {"type":"text","text":"b"}]},
                  {"role":"assistant","content":"c"}]})");
  ASSERT_TRUE(d.has_value()) << d.error().message();
  ASSERT_EQ(d->messages.size(), 3U);
  EXPECT_EQ(d->messages[0].role, "system");
  EXPECT_EQ(d->messages[0].content, "Rule one. Rule two.");
  EXPECT_EQ(d->messages[1].content, "ab");
  EXPECT_EQ(d->messages[2].content, "c");
  EXPECT_EQ(d->max_tokens, 10);
}

TEST(Request, OpenAiAcceptsContentPartsNullContentAndNewerNames) {
  const auto d = decode_request(Protocol::openai, R"({"model":"m","max_completion_tokens":64,
      "messages":[{"role":"developer","content":"sys"},
                  {"role":"user","content":[{"type":"text","text":"x"},{"type":"text","text":"y"}]},
                  {"role":"assistant","content":null}]})");
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->max_tokens, 64);
  ASSERT_EQ(d->messages.size(), 3U);
  EXPECT_EQ(d->messages[0].role, "system");
  EXPECT_EQ(d->messages[1].content, "xy");
  EXPECT_EQ(d->messages[2].content, "");
}

TEST(Request, DecoderRejectsBadBodies) {
  struct Case {
    Protocol protocol;
    const char* body;
    const char* where;
  };
  const Case cases[] = {
      {Protocol::openai, "not json", "request"},
      {Protocol::openai, "[]", "request"},
      {Protocol::openai, R"({"messages":[{"role":"user","content":"x"}]})", "request.model"},
      {Protocol::openai, R"({"model":1,"messages":[{"role":"user","content":"x"}]})", "request.model"},
      {Protocol::openai, R"({"model":"m"})", "request.messages"},
      {Protocol::openai, R"({"model":"m","messages":[]})", "request.messages"},
      {Protocol::openai, R"({"model":"m","messages":{}})", "request.messages"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user"}]})", "request.messages[0].content"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"tool","content":"x"}]})", "request.messages[0].role"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":7}]})", "request.messages[0].content"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-1})",
       "request.max_tokens"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})",
       "request.max_tokens"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1e9})",
       "request.max_tokens"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":100000001})",
       "request.max_tokens"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"})",
       "request.temperature"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":2.5})",
       "request.temperature"},
      {Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})",
       "request.stream"},
      {Protocol::anthropic, R"({"model":"m","messages":[{"role":"user","content":"x"}]})", "request.max_tokens"},
      {Protocol::anthropic, R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})",
       "request.messages[0].role"},
      {Protocol::anthropic, R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":null}]})",
       "request.messages[0].content"},
      {Protocol::anthropic, R"({"model":"m","max_tokens":5,"system":5,"messages":[{"role":"user","content":"x"}]})",
       "request.system"},
      {Protocol::anthropic,
       R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":1}]}]})",
       "request.messages[0].content"},
      {Protocol::anthropic,
       R"({"model":"m","max_tokens":5,"temperature":1.5,"messages":[{"role":"user","content":"x"}]})",
       "request.temperature"},
  };
  const auto hot =
      decode_request(Protocol::openai, R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":2.5})");
  ASSERT_FALSE(hot.has_value());
  EXPECT_EQ(hot.error().what, "out of range [0, 2]");
  for (const Case& c : cases) {
    const auto d = decode_request(c.protocol, c.body);
    ASSERT_FALSE(d.has_value()) << name(c.protocol) << " accepted " << c.body;
    EXPECT_EQ(d.error().where, c.where) << c.body << " -> " << d.error().message();
  }
}

TEST(Request, DecoderRejectsTooManyMessagesAndInvalidUtf8) {
  std::string body = R"({"model":"m","max_tokens":5,"messages":[)";
  for (std::size_t i = 0; i <= kMessagesMax; ++i)
    body += std::string(i ? "," : "") + R"({"role":"user","content":"x"})";
  body += "]}";
  for (Protocol p : kBoth) EXPECT_FALSE(decode_request(p, body).has_value()) << name(p);
  EXPECT_FALSE(
      decode_request(Protocol::openai, "{\"model\":\"\xFF\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
          .has_value());
}

TEST(Request, DeeplyNestedJsonIsRejectedNotRecursedInto) {
  const std::string body = std::string(100'000, '[') + std::string(100'000, ']');
  for (Protocol p : kBoth) EXPECT_FALSE(decode_request(p, body).has_value());
}

TEST(Request, CredentialHeaders) {
  const Header o = credential_header(Protocol::openai, "k-123");
  EXPECT_EQ(o.name, "authorization");
  EXPECT_EQ(o.value, "Bearer k-123");
  const Header a = credential_header(Protocol::anthropic, "k-456");
  EXPECT_EQ(a.name, "x-api-key");
  EXPECT_EQ(a.value, "k-456");
  EXPECT_EQ(request_path(Protocol::openai), "/chat/completions");
  EXPECT_EQ(request_path(Protocol::anthropic), "/v1/messages");
}

// ---- responses -----------------------------------------------------------------

ChatResponse sample_response() {
  ChatResponse r;
  r.id = "id-1";
  r.model = "model-y";
  r.text = "Paris \xE2\x80\x94 \"the\" city\n";
  r.stop_reason = "stop";
  r.usage = Usage{17, 42, true};
  return r;
}

void expect_same_response(const ChatResponse& a, const ChatResponse& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.stop_reason, b.stop_reason);
  EXPECT_EQ(a.usage.reported, b.usage.reported);
  EXPECT_EQ(a.usage.input_tokens, b.usage.input_tokens);
  EXPECT_EQ(a.usage.output_tokens, b.usage.output_tokens);
}

TEST(Response, RoundTripsForBothProtocols) {
  for (Protocol p : kBoth) {
    ChatResponse r = sample_response();
    if (p == Protocol::anthropic) r.stop_reason = "end_turn";
    auto d = decode_response(p, encode_response(p, r));
    ASSERT_TRUE(d.has_value()) << name(p) << ": " << d.error().message();
    expect_same_response(*d, r);
    r.usage = Usage{};
    r.stop_reason.clear();
    r.text.clear();
    d = decode_response(p, encode_response(p, r));
    ASSERT_TRUE(d.has_value()) << name(p) << ": " << d.error().message();
    expect_same_response(*d, r);
  }
}

TEST(Response, DecodesTheDocumentedOpenAiBody) {
  const auto d = decode_response(Protocol::openai, R"({
    "id": "chatcmpl-123", "object": "chat.completion", "created": 1677652288, "model": "gpt-4o-mini",
    "system_fingerprint": "fp_44709d6fcb",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there, how may I assist you today?"},
                 "logprobs": null, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21,
              "completion_tokens_details": {"reasoning_tokens": 0}}})");
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->id, "chatcmpl-123");
  EXPECT_EQ(d->text, "Hello there, how may I assist you today?");
  EXPECT_EQ(d->stop_reason, "stop");
  EXPECT_EQ(d->usage.input_tokens, 9);
  EXPECT_EQ(d->usage.output_tokens, 12);
  EXPECT_TRUE(d->usage.reported);
}

TEST(Response, OpenAiNullContentAndNoUsage) {
  const auto d = decode_response(Protocol::openai, R"({"id":"x","object":"chat.completion","model":"m",
      "choices":[{"index":0,"message":{"role":"assistant","content":null},"finish_reason":"content_filter"}]})");
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->text, "");
  EXPECT_EQ(d->stop_reason, "content_filter");
  EXPECT_FALSE(d->usage.reported);
}

TEST(Response, DecodesTheDocumentedAnthropicBody) {
  const auto d = decode_response(Protocol::anthropic, R"({
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
    "content": [{"type": "text", "text": "Hi! "}, {"type": "tool_use", "id": "t", "name": "f", "input": {}},
                {"type": "text", "text": "My name is Claude."}],
    "stop_reason": "end_turn", "stop_sequence": null,
    "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_read_input_tokens": 0}})");
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->text, "Hi! My name is Claude.");
  EXPECT_EQ(d->stop_reason, "end_turn");
  EXPECT_EQ(d->usage.input_tokens, 2095);
  EXPECT_EQ(d->usage.output_tokens, 503);
}

TEST(Response, DecoderRejectsBadBodies) {
  struct Case {
    Protocol protocol;
    const char* body;
  };
  const Case cases[] = {
      {Protocol::openai, ""},
      {Protocol::openai, "<html>502 Bad Gateway</html>"},
      {Protocol::openai, R"({"id":"x"})"},
      {Protocol::openai, R"({"choices":[]})"},
      {Protocol::openai, R"({"choices":"no"})"},
      {Protocol::openai, R"({"choices":[{"finish_reason":"stop"}]})"},
      {Protocol::openai, R"({"choices":[{"message":{"role":"assistant"},"finish_reason":"stop"}]})"},
      {Protocol::openai, R"({"choices":[{"message":{"content":1},"finish_reason":"stop"}]})"},
      {Protocol::openai, R"({"choices":[{"message":{"content":"a"}}]})"},
      {Protocol::openai, R"({"id":7,"choices":[{"message":{"content":"a"},"finish_reason":"stop"}]})"},
      {Protocol::openai,
       R"({"choices":[{"message":{"content":"a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":-1,"completion_tokens":1}})"},
      {Protocol::openai,
       R"({"choices":[{"message":{"content":"a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":18446744073709551615}})"},
      {Protocol::openai,
       R"({"choices":[{"message":{"content":"a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2.0}})"},
      {Protocol::openai,
       R"({"choices":[{"message":{"content":"a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}})"},
      {Protocol::openai, R"({"choices":[{"message":{"content":"a"},"finish_reason":"stop"}],"usage":5})"},
      {Protocol::anthropic, R"({"content":[{"type":"text","text":"a"}],"stop_reason":"end_turn"})"},
      {Protocol::anthropic, R"({"type":"message","stop_reason":"end_turn"})"},
      {Protocol::anthropic, R"({"type":"message","content":"a","stop_reason":"end_turn"})"},
      {Protocol::anthropic, R"({"type":"message","content":[{"type":"text"}],"stop_reason":"end_turn"})"},
      {Protocol::anthropic, R"({"type":"message","content":[{"text":"a"}],"stop_reason":"end_turn"})"},
      {Protocol::anthropic,
       R"({"type":"message","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":-5}})"},
      {Protocol::anthropic,
       R"({"type":"message","content":[],"stop_reason":"end_turn","usage":{"input_tokens":"1","output_tokens":5}})"},
      {Protocol::anthropic, R"({"type":"message","content":[]})"},
      {Protocol::anthropic, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(decode_response(c.protocol, c.body).has_value()) << name(c.protocol) << " accepted " << c.body;
  }
}

TEST(Response, TokenCountsAtTheBoundsAreAccepted) {
  ChatResponse r = sample_response();
  r.usage = Usage{0, kTokensMax, true};
  for (Protocol p : kBoth) {
    const auto d = decode_response(p, encode_response(p, r));
    ASSERT_TRUE(d.has_value()) << d.error().message();
    EXPECT_EQ(d->usage.output_tokens, kTokensMax);
  }
}

TEST(Response, OversizedBodyIsRejectedBeforeParsing) {
  const std::string body(kBodyMax + 1, ' ');
  const auto d = decode_response(Protocol::openai, body);
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().what.find("larger"), std::string::npos);
}

// ---- errors --------------------------------------------------------------------

TEST(ErrorBody, RoundTripsForBothProtocols) {
  for (Protocol p : kBoth) {
    for (std::int32_t status : {400, 401, 403, 404, 413, 429, 500, 503, 529}) {
      const ErrorInfo info = error_for_status(p, status);
      EXPECT_FALSE(info.type.empty());
      EXPECT_FALSE(info.message.empty());
      const auto d = decode_error(p, encode_error(p, status, info));
      ASSERT_TRUE(d.has_value()) << name(p) << " " << status;
      EXPECT_EQ(d->type, info.type);
      EXPECT_EQ(d->message, info.message);
      EXPECT_EQ(d->code, p == Protocol::openai ? info.code : "");
    }
  }
}

TEST(ErrorBody, StatusesMapToTheProvidersTypes) {
  EXPECT_EQ(error_for_status(Protocol::anthropic, 429).type, "rate_limit_error");
  EXPECT_EQ(error_for_status(Protocol::anthropic, 529).type, "overloaded_error");
  EXPECT_EQ(error_for_status(Protocol::anthropic, 500).type, "api_error");
  EXPECT_EQ(error_for_status(Protocol::anthropic, 503).type, "api_error");
  EXPECT_EQ(error_for_status(Protocol::anthropic, 400).type, "invalid_request_error");
  EXPECT_EQ(error_for_status(Protocol::anthropic, 401).type, "authentication_error");
  EXPECT_EQ(error_for_status(Protocol::anthropic, 403).type, "permission_error");
  EXPECT_EQ(error_for_status(Protocol::anthropic, 404).type, "not_found_error");
  EXPECT_EQ(error_for_status(Protocol::anthropic, 413).type, "request_too_large");
  EXPECT_EQ(error_for_status(Protocol::openai, 429).code, "rate_limit_exceeded");
  EXPECT_EQ(error_for_status(Protocol::openai, 500).type, "server_error");
  EXPECT_EQ(error_for_status(Protocol::openai, 503).type, "server_error");
  EXPECT_EQ(error_for_status(Protocol::openai, 400).type, "invalid_request_error");
  EXPECT_EQ(error_for_status(Protocol::openai, 401).type, "authentication_error");
}

TEST(ErrorBody, WireShapes) {
  EXPECT_EQ(encode_error(Protocol::anthropic, 529, {"overloaded_error", "", "Overloaded"}),
            R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(
      encode_error(Protocol::openai, 400, {"invalid_request_error", "context_length_exceeded", "Too long."}),
      R"({"error":{"message":"Too long.","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}})");
  EXPECT_EQ(encode_error(Protocol::openai, 500, {"server_error", "", "Oops"}),
            R"({"error":{"message":"Oops","type":"server_error","param":null,"code":null}})");
  // Anthropic's request_id sits next to `error`; OpenAI carries its id in a header only.
  EXPECT_EQ(encode_error(Protocol::anthropic, 529, {"overloaded_error", "", "Overloaded"}, "req_1"),
            R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})");
  EXPECT_EQ(encode_error(Protocol::openai, 500, {"server_error", "", "Oops"}, "req_1"),
            R"({"error":{"message":"Oops","type":"server_error","param":null,"code":null}})");
}

TEST(Request, DecodesWhetherAnOpenAiStreamAsksForUsage) {
  const auto asked = decode_request(Protocol::openai, encode_request(Protocol::openai,
                                                                     [] {
                                                                       ChatRequest r;
                                                                       r.model = "m";
                                                                       r.messages.push_back({"user", "hi"});
                                                                       r.stream = true;
                                                                       return r;
                                                                     }())
                                                          .body);
  ASSERT_TRUE(asked.has_value());
  EXPECT_TRUE(asked->include_usage);
  const auto plain =
      decode_request(Protocol::openai, R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->include_usage);
  const auto off = decode_request(
      Protocol::openai,
      R"({"model":"m","stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE(off->include_usage);
  EXPECT_FALSE(decode_request(Protocol::openai,
                              R"({"model":"m","stream_options":3,"messages":[{"role":"user","content":"hi"}]})")
                   .has_value());
  EXPECT_FALSE(
      decode_request(
          Protocol::openai,
          R"({"model":"m","stream_options":{"include_usage":"yes"},"messages":[{"role":"user","content":"hi"}]})")
          .has_value());
}

TEST(ErrorBody, DecodesTheDocumentedBodies) {
  const auto o = decode_error(Protocol::openai, R"({"error": {"message": "Rate limit reached for gpt-4o",
      "type": "requests", "param": null, "code": "rate_limit_exceeded"}})");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->type, "requests");
  EXPECT_EQ(o->code, "rate_limit_exceeded");
  EXPECT_EQ(o->message, "Rate limit reached for gpt-4o");
  const auto a =
      decode_error(Protocol::anthropic,
                   R"({"type":"error","error":{"type":"not_found_error","message":"model: x"},"request_id":"r"})");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->type, "not_found_error");
  EXPECT_EQ(a->message, "model: x");
  EXPECT_EQ(a->code, "");
}

TEST(ErrorBody, NotTheProtocolsShapeIsNullopt) {
  for (Protocol p : kBoth) {
    EXPECT_FALSE(decode_error(p, "<html><body>502 Bad Gateway</body></html>").has_value());
    EXPECT_FALSE(decode_error(p, "").has_value());
    EXPECT_FALSE(decode_error(p, "{}").has_value());
    EXPECT_FALSE(decode_error(p, R"({"error":"string"})").has_value());
    EXPECT_FALSE(decode_error(p, R"({"error":{"type":5,"message":"m"}})").has_value());
  }
  EXPECT_FALSE(decode_error(Protocol::anthropic, R"({"error":{"type":"x","message":"m"}})").has_value());
  EXPECT_FALSE(decode_error(Protocol::openai, R"({"error":{"type":"x"}})").has_value());
}

// ---- refusals ------------------------------------------------------------------

TEST(PromptEstimate, IsAQuarterOfTheRoleAndContentBytesRoundedUp) {
  std::vector<Message> m{{"user", "hello world!"}};  // 4 + 12 bytes
  EXPECT_EQ(estimate_prompt_tokens(m), 4);
  m.push_back({"system", "x"});  // 7 more: 23 bytes
  EXPECT_EQ(estimate_prompt_tokens(m), 6);
  m.push_back({"user", std::string(4'000, 'x')});  // 4'027 bytes
  EXPECT_EQ(estimate_prompt_tokens(m), 1'007);
  EXPECT_EQ(estimate_prompt_tokens({}), 1);
}

TEST(Refusal, OpenAiContextLengthAndContentPolicy) {
  const ErrorInfo context{"invalid_request_error", "context_length_exceeded",
                          "This model's maximum context length is 128000 tokens."};
  EXPECT_EQ(refusal_of(Protocol::openai, 400, context), Refusal::context_length);
  EXPECT_EQ(refusal_of(Protocol::openai, 400, ErrorInfo{"invalid_request_error", "content_policy_violation", "no"}),
            Refusal::content_policy);
  EXPECT_EQ(refusal_of(Protocol::openai, 400, ErrorInfo{"invalid_request_error", "content_filter", "no"}),
            Refusal::content_policy);
  EXPECT_EQ(refusal_of(Protocol::openai, 400, ErrorInfo{"invalid_request_error", "", "Invalid 'messages'."}),
            Refusal::none);
  EXPECT_EQ(refusal_of(Protocol::openai, 500, context), Refusal::none);  // not a client error
  EXPECT_EQ(refusal_of(Protocol::openai, 400, std::nullopt), Refusal::none);
}

TEST(Refusal, AnthropicPromptTooLongAndContentPolicy) {
  const auto too_long = decode_error(Protocol::anthropic, R"({"type":"error","error":{"type":"invalid_request_error",
      "message":"prompt is too long: 210000 tokens > 200000 maximum"}})");
  EXPECT_EQ(refusal_of(Protocol::anthropic, 400, too_long), Refusal::context_length);
  EXPECT_EQ(refusal_of(Protocol::anthropic, 400,
                       ErrorInfo{"invalid_request_error", "", "Output blocked by content filtering policy"}),
            Refusal::content_policy);
  EXPECT_EQ(refusal_of(Protocol::anthropic, 400, ErrorInfo{"invalid_request_error", "", "max_tokens: required"}),
            Refusal::none);
  EXPECT_EQ(refusal_of(Protocol::anthropic, 429, ErrorInfo{"rate_limit_error", "", "prompt is too long"}),
            Refusal::none);
  EXPECT_EQ(refusal_of(Protocol::anthropic, 529, ErrorInfo{"overloaded_error", "", "Overloaded"}), Refusal::none);
}

}  // namespace
}  // namespace failover::protocol

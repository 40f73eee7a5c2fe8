// Cross-protocol translation (serve/gateway_translate.h): what carries over between an
// OpenAI chat completion and an Anthropic message -- system prompt, images, tools, tool
// calls and results, stop sequences, usage, stop reasons -- and what is refused.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>

#include "serve/gateway_translate.h"

namespace failover::serve {
namespace {

namespace json = boost::json;

json::object parse(const std::string& text) {
  return json::parse(text).as_object();
}

TEST(GatewayTranslate, AnOpenAiRequestBecomesAnAnthropicOne) {
  const json::object in = parse(R"({
    "model": "route", "max_completion_tokens": 50, "temperature": 0.2, "stop": "END", "user": "u-1",
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "What is in this image?"},
                                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
      {"role": "assistant", "content": null,
       "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"zoom\":2}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "a cat"}
    ],
    "tools": [{"type": "function", "function": {"name": "look", "description": "Look closer",
               "parameters": {"type": "object", "properties": {"zoom": {"type": "integer"}}}}}],
    "tool_choice": "required"
  })");
  const Result<json::object> out = translate_request(Protocol::openai, in);
  ASSERT_TRUE(out) << out.error().what;
  const json::object expected = parse(R"({
    "system": "Be brief.",
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "What is in this image?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
      {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "look", "input": {"zoom": 2}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1",
                                    "content": [{"type": "text", "text": "a cat"}]}]}
    ],
    "max_tokens": 50, "temperature": 0.2, "stop_sequences": ["END"],
    "tools": [{"name": "look", "description": "Look closer",
               "input_schema": {"type": "object", "properties": {"zoom": {"type": "integer"}}}}],
    "tool_choice": {"type": "any"},
    "metadata": {"user_id": "u-1"}
  })");
  EXPECT_EQ(*out, expected) << json::serialize(*out);
}

TEST(GatewayTranslate, AnAnthropicRequestBecomesAnOpenAiOne) {
  const json::object in = parse(R"({
    "model": "route", "max_tokens": 64, "system": [{"type": "text", "text": "Be brief."}],
    "stop_sequences": ["END"], "metadata": {"user_id": "u-2"},
    "messages": [
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": [{"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C"}]}
    ],
    "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "tool", "name": "weather"}
  })");
  const Result<json::object> out = translate_request(Protocol::anthropic, in);
  ASSERT_TRUE(out) << out.error().what;
  const json::object expected = parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "Checking.", "tool_calls": [{"id": "toolu_1", "type": "function",
        "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "toolu_1", "content": "18 C"}
    ],
    "max_tokens": 64, "stop": ["END"],
    "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
    "tool_choice": {"type": "function", "function": {"name": "weather"}},
    "user": "u-2"
  })");
  EXPECT_EQ(*out, expected) << json::serialize(*out);
}

TEST(GatewayTranslate, RefusesWhatHasNoCounterpart) {
  const Result<json::object> n =
      translate_request(Protocol::openai, parse(R"({"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]})"));
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().what.find("\"n\""), std::string::npos) << n.error().what;
  const Result<json::object> format = translate_request(
      Protocol::openai,
      parse(R"({"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_FALSE(format);
  const Result<json::object> top_k =
      translate_request(Protocol::anthropic,
                        parse(R"({"model":"m","max_tokens":5,"top_k":3,"messages":[{"role":"user","content":"hi"}]})"));
  EXPECT_FALSE(top_k);
  const Result<json::object> audio = translate_request(
      Protocol::openai,
      parse(R"({"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})"));
  ASSERT_FALSE(audio);
  EXPECT_NE(audio.error().what.find("input_audio"), std::string::npos);
  const Result<json::object> missing = translate_request(Protocol::openai, parse(R"({"model":"m"})"));
  EXPECT_FALSE(missing);
}

TEST(GatewayTranslate, AnswersComeBackWithToolCallsUsageAndStopReasons) {
  const Result<std::string> openai = translate_response(Protocol::anthropic, R"({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
    "content": [{"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_1", "name": "look", "input": {"zoom": 2}}],
    "stop_reason": "tool_use", "usage": {"input_tokens": 12, "output_tokens": 7}})");
  ASSERT_TRUE(openai) << openai.error().what;
  const json::object o = parse(*openai);
  const json::object& choice = o.at("choices").as_array().at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  EXPECT_EQ(choice.at("message").as_object().at("content"), "Let me look.");
  const json::object& call = choice.at("message").as_object().at("tool_calls").as_array().at(0).as_object();
  EXPECT_EQ(call.at("id"), "toolu_1");
  EXPECT_EQ(call.at("function").as_object().at("arguments"), R"({"zoom":2})");
  EXPECT_EQ(o.at("usage").as_object().at("total_tokens"), 19);

  const Result<std::string> anthropic = translate_response(Protocol::openai, R"({
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-x",
    "choices": [{"index": 0, "finish_reason": "length",
                 "message": {"role": "assistant", "content": "Partial answ",
                             "tool_calls": [{"id": "call_9", "type": "function",
                                             "function": {"name": "f", "arguments": "{}"}}]}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})");
  ASSERT_TRUE(anthropic) << anthropic.error().what;
  const json::object a = parse(*anthropic);
  EXPECT_EQ(a.at("type"), "message");
  EXPECT_EQ(a.at("stop_reason"), "max_tokens");
  EXPECT_EQ(a.at("content").as_array().size(), 2U);
  EXPECT_EQ(a.at("content").as_array().at(1).as_object().at("type"), "tool_use");
  EXPECT_EQ(a.at("usage").as_object().at("input_tokens"), 5);
  EXPECT_FALSE(translate_response(Protocol::openai, R"({"id":"x","choices":[]})"));
  EXPECT_FALSE(translate_response(Protocol::anthropic, "not json"));
}

TEST(GatewayTranslate, ErrorsTakeTheCallersShape) {
  const std::string anthropic = translate_error(
      Protocol::openai, 400, R"({"error":{"message":"bad role","type":"invalid_request_error","code":null}})");
  const json::object a = parse(anthropic);
  EXPECT_EQ(a.at("type"), "error");
  EXPECT_EQ(a.at("error").as_object().at("message"), "bad role");
  const json::object o = parse(translate_error(Protocol::anthropic, 529, "<html>overloaded</html>"));
  EXPECT_TRUE(o.at("error").is_object());
}

}  // namespace
}  // namespace failover::serve

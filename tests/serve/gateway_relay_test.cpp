// `failover serve` relaying real calls: the Gateway over loopback TLS in front of the
// fake fleet (tests/transport/faults.toml, TLS with the test CA) or a scripted upstream
// that records what reached it. Bodies pass through but for the model id, streams are
// relayed as they come and end with an error event when they break after content, and
// the gateway's own answers (503/429 with Retry-After, 504, 401) are in the caller's
// protocol's error shape.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/codec.h"
#include "tests/serve/gateway_fixture.h"
#include "tests/serve/log_file.h"

namespace failover::test {
namespace {

Index target_of(const Config& c, const std::string& provider) {
  const std::optional<Index> p = c.provider_index(provider);
  EXPECT_TRUE(p.has_value()) << provider;
  for (std::size_t t = 0; t < c.targets.size(); ++t) {
    if (c.targets[t].provider == *p) return static_cast<Index>(t);
  }
  ADD_FAILURE() << "no target for " << provider;
  return 0;
}

void add_route(Config& c, const std::string& name, const std::string& provider) {
  RouteConfig r;
  r.name = name;
  r.targets.push_back(RouteTarget{target_of(c, provider), 0, 1});
  c.routes.push_back(r);
}

// A 200 answer as an upstream sends it (close-delimited).
std::string json_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

std::string stream_response(const std::string& events) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + events;
}

std::vector<std::string> openai_events(const std::string& text) {
  protocol::ChatResponse r;
  r.id = "chatcmpl-scripted";
  r.model = "upstream-model";
  r.text = text;
  r.stop_reason = "stop";
  r.usage = {10, 4, true};
  return protocol::encode_stream(Protocol::openai, r, 4);
}

// One provider per name, all served by `upstream`, one route "r" over them in order.
Config scripted_config(const ScriptedUpstream& upstream, const std::vector<std::string>& names) {
  Config c;
  RouteConfig route;
  route.name = "r";
  for (const std::string& name : names) {
    ProviderConfig p;
    p.name = name;
    p.base_url = upstream.base_url();
    p.api_key_env = kProviderKeyEnv;
    p.models.push_back(ModelConfig{"upstream-model", 1'000'000, 1'000'000, 0});
    c.providers.push_back(p);
    const auto i = static_cast<Index>(c.providers.size() - 1);
    route.targets.push_back(RouteTarget{c.intern_target(i, 0), static_cast<std::int32_t>(i), 1});
  }
  c.routes.push_back(route);
  return c;
}

TEST(GatewayRelay, PassesTheWholeBodyThroughWithOnlyTheModelRewritten) {
  const std::string answer =
      R"({"id":"chatcmpl-1","object":"chat.completion","model":"upstream-model","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"system_fingerprint":"fp_x"})";
  ScriptedUpstream upstream({json_response(answer)});
  TestGateway gateway(scripted_config(upstream, {"p"}), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const std::string body =
      R"({"model":"r","max_tokens":8,"messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],)"
      R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],)"
      R"("tool_choice":"auto","response_format":{"type":"json_object"},"top_p":0.5,"stop":["END"],"seed":7,"x_vendor_field":{"a":[1,2]}})";
  const HttpExchange r = gateway.post("/v1/chat/completions", body, "default");
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(r.body, answer);  // the provider's bytes, untouched
  EXPECT_EQ(r.field("x-failover-target"), "p/upstream-model");
  EXPECT_EQ(r.field("x-failover-attempts"), "1");
  EXPECT_FALSE(r.field("x-request-id").empty());
  const std::vector<std::string> seen = upstream.requests();
  ASSERT_EQ(seen.size(), 1U);
  const std::string& head = seen[0].substr(0, seen[0].find("\r\n\r\n"));
  EXPECT_NE(head.find("POST /chat/completions HTTP/1.1"), std::string::npos) << head;
  EXPECT_NE(head.find("Bearer provider-credential-placeholder"), std::string::npos) << "the provider key is sent";
  EXPECT_EQ(seen[0].find(kGatewayKey), std::string::npos) << "the caller's gateway key must not reach the provider";
  boost::json::value sent = boost::json::parse(seen[0].substr(seen[0].find("\r\n\r\n") + 4));
  boost::json::value expected = boost::json::parse(body);
  expected.as_object()["model"] = "upstream-model";
  EXPECT_EQ(sent, expected) << boost::json::serialize(sent);
}

TEST(GatewayRelay, RelaysTheProvidersOwnRefusalOfABadRequest) {
  const std::string refusal =
      R"({"error":{"message":"Invalid 'messages[0].role': 'wizard'","type":"invalid_request_error","code":null}})";
  ScriptedUpstream upstream({"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(refusal.size()) + "\r\nConnection: close\r\n\r\n" + refusal});
  TestGateway gateway(scripted_config(upstream, {"p", "q"}), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("r"));
  EXPECT_EQ(r.status, 400U);
  EXPECT_EQ(r.body, refusal);
  EXPECT_EQ(upstream.requests().size(), 1U) << "a caller error is not retried elsewhere";
}

TEST(GatewayRelay, ServesBothProtocolsFromTheFleetAndMapsModelIdsToRoutes) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  TestGateway gateway(fleet_config(fleet), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange o = gateway.post("/v1/chat/completions", openai_body("ok"));
  ASSERT_EQ(o.status, 200U) << o.body;
  EXPECT_NE(o.body.find("\"object\":\"chat.completion\""), std::string::npos) << o.body;
  EXPECT_EQ(o.field("x-failover-target"), "ok/gpt-ok");
  const HttpExchange by_model = gateway.post("/v1/chat/completions", openai_body("gpt-ok"));
  EXPECT_EQ(by_model.status, 200U) << by_model.body;
  EXPECT_EQ(by_model.field("x-failover-target"), "ok/gpt-ok");
  const HttpExchange a = gateway.post("/v1/messages", anthropic_body("okant"));
  ASSERT_EQ(a.status, 200U) << a.body;
  EXPECT_NE(a.body.find("\"type\":\"message\""), std::string::npos) << a.body;
  EXPECT_EQ(a.field("x-failover-target"), "okant/claude-ok");
  const HttpExchange unknown = gateway.post("/v1/chat/completions", openai_body("gpt-nowhere"));
  EXPECT_EQ(unknown.status, 404U);
  EXPECT_NE(unknown.body.find("\"error\""), std::string::npos);
  // An OpenAI caller streaming from an Anthropic-only route: the stream is translated.
  const HttpExchange cross = gateway.post("/v1/chat/completions", openai_body("okant", true));
  EXPECT_EQ(cross.status, 200U) << cross.body;
  EXPECT_EQ(cross.field("content-type"), "text/event-stream");
  EXPECT_EQ(cross.body.find("event: "), std::string::npos) << "OpenAI chunks, not Anthropic events: " << cross.body;
  EXPECT_NE(cross.body.find("\"object\":\"chat.completion.chunk\""), std::string::npos) << cross.body;
  EXPECT_EQ(cross.body.substr(cross.body.size() - 14), "data: [DONE]\n\n") << cross.body;
  // A request that cannot be translated (n has no Anthropic counterpart) has no target there.
  const HttpExchange kept = gateway.post("/v1/chat/completions", openai_body("okant", true, R"(,"n":2)"));
  EXPECT_EQ(kept.status, 400U) << kept.body;
  EXPECT_NE(kept.body.find("not translated (the field \\\"n\\\" has no Anthropic counterpart)"), std::string::npos)
      << kept.body;
}

TEST(GatewayRelay, TranslatesAnOpenAiCallForAnAnthropicTargetAndBack) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config config = fleet_config(fleet);
  RouteConfig mixed;  // the OpenAI storm first, the Anthropic target behind it
  mixed.name = "mixed";
  mixed.targets = {RouteTarget{target_of(config, "storm"), 0, 1}, RouteTarget{target_of(config, "okant"), 1, 1}};
  config.routes.push_back(mixed);
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  TestGateway gateway(config, test_serve_config(), log);
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post(
      "/v1/chat/completions",
      R"({"model":"mixed","max_tokens":8,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello"}]})");
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(r.field("x-failover-target"), "okant/claude-ok");
  EXPECT_EQ(r.field("x-failover-attempts"), "2");
  const boost::json::object answer = boost::json::parse(r.body).as_object();
  EXPECT_EQ(answer.at("object"), "chat.completion") << r.body;
  const boost::json::object& choice = answer.at("choices").as_array().at(0).as_object();
  EXPECT_FALSE(choice.at("message").as_object().at("content").as_string().empty()) << r.body;
  // The fleet's answer uses all 8 tokens: Anthropic's max_tokens reads as OpenAI's length
  // (the natural end, end_turn -> stop, is the SDK suite's gpt-by-claude case).
  EXPECT_EQ(choice.at("finish_reason"), "length") << "max_tokens is length: " << r.body;
  EXPECT_GT(answer.at("usage").as_object().at("prompt_tokens").as_int64(), 0) << r.body;
  // A field with no Anthropic counterpart keeps the request on the OpenAI storm: 503.
  // The x-failover-route header picks the route whatever the model says.
  const HttpExchange kept =
      gateway.post("/v1/chat/completions", openai_body("gpt-ok", false, R"(,"n":2)"),
                   std::string("authorization: Bearer ") + kGatewayKey + "\r\nx-failover-route: mixed\r\n");
  EXPECT_EQ(kept.status, 503U) << kept.body;
  gateway.gateway().stop();
  const std::string text = read_all(log);
  std::fclose(log);
  EXPECT_NE(text.find("\"translated\": true"), std::string::npos) << text;
  EXPECT_NE(text.find("okant/claude-ok (anthropic) skipped: not translated (the field \\\"n\\\" has no Anthropic "
                      "counterpart)"),
            std::string::npos)
      << text;
}

TEST(GatewayRelay, TranslatesAnAnthropicCallForAnOpenAiTargetAndBack) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config config = fleet_config(fleet);
  config.policy.retry.retry_after_max = sec(1);  // the limited target's 30 s: fail over at once
  RouteConfig mixed;
  mixed.name = "mixed";
  mixed.targets = {RouteTarget{target_of(config, "limited"), 0, 1}, RouteTarget{target_of(config, "ok"), 1, 1}};
  config.routes.push_back(mixed);
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post(
      "/v1/messages",
      R"({"model":"mixed","max_tokens":8,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"hello"}]}]})");
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(r.field("x-failover-target"), "ok/gpt-ok");
  const boost::json::object answer = boost::json::parse(r.body).as_object();
  EXPECT_EQ(answer.at("type"), "message") << r.body;
  EXPECT_FALSE(answer.at("content").as_array().at(0).as_object().at("text").as_string().empty()) << r.body;
  // The fleet's answer uses all 8 tokens: OpenAI's length reads as Anthropic's max_tokens.
  EXPECT_EQ(answer.at("stop_reason"), "max_tokens") << "length is max_tokens: " << r.body;
  EXPECT_GT(answer.at("usage").as_object().at("input_tokens").as_int64(), 0) << r.body;
}

TEST(GatewayRelay, FailsOverA503StormAndTheBreakerStopsTryingThePrimary) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  TestGateway gateway(fleet_config(fleet), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  std::vector<std::string> attempts;
  for (int i = 0; i < 12; ++i) {
    const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("main", i % 2 == 1));
    ASSERT_EQ(r.status, 200U) << r.body;
    EXPECT_EQ(r.field("x-failover-target"), "ok/gpt-ok");
    if (i % 2 == 1) {
      EXPECT_EQ(r.field("content-type"), "text/event-stream");
      EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos) << r.body;
      EXPECT_EQ(r.body.find("error"), std::string::npos) << "the storm's 503 is never relayed: " << r.body;
    }
    attempts.push_back(r.field("x-failover-attempts"));
  }
  EXPECT_EQ(attempts.front(), "2");
  EXPECT_EQ(attempts.back(), "1") << "the primary's breaker opened";
  EXPECT_LT(fleet.requests(), 12 + 8) << "the open breaker keeps requests off the storm";
}

TEST(GatewayRelay, RelaysAnthropicStreamsEventByEvent) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  TestGateway gateway(fleet_config(fleet), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post("/v1/messages", anthropic_body("okant", true));
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.field("content-type"), "text/event-stream");
  EXPECT_EQ(r.field("x-failover-target"), "okant/claude-ok");
  const std::size_t start = r.body.find("event: message_start");
  const std::size_t delta = r.body.find("event: content_block_delta");
  const std::size_t stop = r.body.find("event: message_stop");
  ASSERT_NE(start, std::string::npos) << r.body;
  ASSERT_NE(delta, std::string::npos) << r.body;
  ASSERT_NE(stop, std::string::npos) << r.body;
  EXPECT_LT(start, delta);
  EXPECT_LT(delta, stop);
}

TEST(GatewayRelay, AStreamThatFailsBeforeContentFailsOverUnseen) {
  std::string good;
  for (const std::string& e : openai_events("served by the fallback")) good += e;
  ScriptedUpstream upstream(
      {stream_response("data: {\"error\":{\"message\":\"overloaded upstream\",\"type\":\"server_error\"}}\n\n"),
       stream_response(good)});
  TestGateway gateway(scripted_config(upstream, {"a", "b"}), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("r", true));
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.field("x-failover-target"), "b/upstream-model");
  EXPECT_EQ(r.body, good) << "exactly the fallback's events, none of the first attempt's";
}

TEST(GatewayRelay, AStreamThatBreaksAfterContentEndsWithAnErrorEvent) {
  const std::vector<std::string> events = openai_events("one two three four");
  ASSERT_GE(events.size(), 4U);
  const std::string sent = events[0] + events[1];  // content, then the connection is cut mid-event
  ScriptedUpstream upstream({stream_response(sent + events[2].substr(0, events[2].size() / 2))});
  TestGateway gateway(scripted_config(upstream, {"a", "b"}), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("r", true));
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_TRUE(r.complete) << "the caller's stream is ended properly, not cut";
  ASSERT_EQ(r.body.substr(0, sent.size()), sent) << "the content already relayed stays";
  const std::string rest = r.body.substr(sent.size());
  EXPECT_EQ(rest.rfind("data: {\"error\":", 0), 0U) << rest;
  EXPECT_EQ(rest.substr(rest.size() - 2), "\n\n");
  EXPECT_EQ(upstream.requests().size(), 1U) << "a committed stream does not fail over";
}

// An Anthropic target's streamed tool call, as an OpenAI caller gets it.
std::string anthropic_tool_stream() {
  const auto e = [](const std::string& type, const std::string& data) {
    return "event: " + type + "\ndata: " + data + "\n\n";
  };
  return e("message_start",
           R"({"type":"message_start","message":{"id":"msg_s","type":"message","role":"assistant","model":"upstream-model","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":1}}})") +
         e("content_block_start",
           R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
         e("content_block_delta",
           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Looking."}})") +
         e("content_block_stop", R"({"type":"content_block_stop","index":0})") +
         e("content_block_start",
           R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}})") +
         e("content_block_delta",
           R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":"}})") +
         e("content_block_delta",
           R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"x\"}"}})") +
         e("content_block_stop", R"({"type":"content_block_stop","index":1})") +
         e("message_delta",
           R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":7}})") +
         e("message_stop", R"({"type":"message_stop"})");
}

TEST(GatewayRelay, TranslatesAStreamedToolCallFromAnAnthropicTargetForAnOpenAiCaller) {
  ScriptedUpstream upstream({stream_response(anthropic_tool_stream())});
  Config config = scripted_config(upstream, {"a"});
  config.providers[0].protocol = Protocol::anthropic;
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post(
      "/v1/chat/completions",
      R"({"model":"r","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]})");
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_TRUE(r.complete);
  ASSERT_EQ(upstream.requests().size(), 1U);
  const std::string sent = upstream.requests()[0];
  EXPECT_NE(sent.find("POST /v1/messages"), std::string::npos) << sent;
  EXPECT_NE(sent.find("\"stream\":true"), std::string::npos) << sent;
  EXPECT_NE(sent.find("\"input_schema\""), std::string::npos) << "the tool went across: " << sent;
  EXPECT_NE(
      r.body.find(
          R"("tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"lookup","arguments":""}}])"),
      std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("arguments":"{\"q\":")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("finish_reason":"tool_calls")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16})"), std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.substr(r.body.size() - 14), "data: [DONE]\n\n");
}

TEST(GatewayRelay, TranslatesAStreamedToolCallFromAnOpenAiTargetForAnAnthropicCaller) {
  const auto chunk = [](const std::string& delta, const std::string& finish) {
    return R"(data: {"id":"chatcmpl-s","object":"chat.completion.chunk","created":1,"model":"upstream-model","choices":[{"index":0,"delta":)" +
           delta + R"(,"finish_reason":)" + finish + "}]}\n\n";
  };
  const std::string events =
      chunk(R"({"role":"assistant","content":"Looking."})", "null") +
      chunk(
          R"({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":"}}]})",
          "null") +
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"x\"}"}}]})", "null") +
      chunk("{}", R"("tool_calls")") +
      R"(data: {"id":"chatcmpl-s","object":"chat.completion.chunk","created":1,"model":"upstream-model","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}})" +
      "\n\ndata: [DONE]\n\n";
  ScriptedUpstream upstream({stream_response(events)});
  TestGateway gateway(scripted_config(upstream, {"a"}), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post(
      "/v1/messages",
      R"({"model":"r","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"lookup","input_schema":{"type":"object"}}]})");
  ASSERT_EQ(r.status, 200U) << r.body;
  ASSERT_EQ(upstream.requests().size(), 1U);
  const std::string sent = upstream.requests()[0];
  EXPECT_NE(sent.find("POST /chat/completions"), std::string::npos) << sent;
  EXPECT_NE(sent.find(R"("stream_options":{"include_usage":true})"), std::string::npos) << sent;
  EXPECT_NE(r.body.find("event: message_start"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("content_block":{"type":"tool_use","id":"call_1","name":"lookup","input":{}})"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("delta":{"type":"input_json_delta","partial_json":"{\"q\":"})"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("stop_reason":"tool_use")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("usage":{"input_tokens":9,"output_tokens":7})"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.substr(r.body.size() - 51), "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
}

TEST(GatewayRelay, ATranslatedStreamThatFailsBeforeContentFailsOverUnseen) {
  std::string good;
  for (const std::string& e : openai_events("served by the fallback")) good += e;
  ScriptedUpstream upstream(
      {stream_response(anthropic_tool_stream().substr(0, anthropic_tool_stream().find("event: content_block_start")) +
                       "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                       "\"message\":\"Overloaded\"}}\n\n"),
       stream_response(good)});
  Config config = scripted_config(upstream, {"a", "b"});
  config.providers[0].protocol = Protocol::anthropic;
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("r", true));
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(r.field("x-failover-target"), "b/upstream-model");
  EXPECT_EQ(r.body, good) << "exactly the fallback's events, none of the translated first attempt's";
}

// One streamed answer that never ends by itself: a content event every 10 ms, up to
// kEvents, until a write fails. Records how many it wrote.
class DripUpstream {
 public:
  static constexpr int kEvents = 1'000;
  DripUpstream() : acceptor_(io_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~DripUpstream() { thread_.join(); }
  DripUpstream(const DripUpstream&) = delete;
  DripUpstream& operator=(const DripUpstream&) = delete;
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Waits, for at most `limit`, until the drip has stopped; the events it wrote.
  int written_when_stopped(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!stopped_ && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return stopped_ ? written_.load() : -1;
  }

 private:
  void serve() {
    namespace asio = boost::asio;
    boost::system::error_code ec;
    asio::ip::tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    asio::streambuf in(1 << 20);
    if (!ec) asio::read_until(socket, in, "\r\n\r\n", ec);
    if (!ec)
      asio::write(socket,
                  asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                           "Connection: close\r\n\r\n")),
                  ec);
    const std::string event =
        R"(data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"upstream-model","choices":[{"index":0,"delta":{"content":"w "},"finish_reason":null}]})"
        "\n\n";
    for (int i = 0; i < kEvents && !ec; ++i) {
      asio::write(socket, asio::buffer(event), ec);
      if (!ec) ++written_;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the provider generating
    }
    stopped_ = true;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::atomic<int> written_{0};
  std::atomic<bool> stopped_{false};
};

TEST(GatewayRelay, AStreamWhoseCallerLeavesIsStoppedUpstream) {
  DripUpstream upstream;
  Config config;
  ProviderConfig p;
  p.name = "drip";
  p.base_url = upstream.base_url();
  p.api_key_env = kProviderKeyEnv;
  p.models.push_back(ModelConfig{"upstream-model", 0, 0, 0});
  config.providers.push_back(p);
  RouteConfig route;
  route.name = "r";
  route.targets.push_back(RouteTarget{config.intern_target(0, 0), 0, 1});
  config.routes.push_back(route);
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  TestGateway gateway(config, test_serve_config(), log);
  ASSERT_TRUE(gateway.ok());
  {
    // The caller reads the head and its first events, then hangs up.
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(test_ca().ca_file);
    asio::ssl::stream<asio::ip::tcp::socket> stream(io, ctx);
    stream.set_verify_mode(asio::ssl::verify_peer);
    stream.next_layer().connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), gateway.port()));
    stream.handshake(asio::ssl::stream_base::client);
    asio::write(stream, asio::buffer(test::post("/v1/chat/completions", openai_body("r", true),
                                                std::string("authorization: Bearer ") + kGatewayKey + "\r\n")));
    asio::streambuf in;
    asio::read_until(stream, in, "w ");  // the first content arrived
    stream.next_layer().close();
  }
  const int written = upstream.written_when_stopped(std::chrono::milliseconds(8'000));
  ASSERT_GE(written, 1) << "the drip did not stop in time";
  EXPECT_LT(written, DripUpstream::kEvents) << "the upstream stream was read to its end for nobody";
  gateway.gateway().stop();
  const std::string text = read_all(log);
  std::fclose(log);
  EXPECT_NE(text.find("the caller closed its connection mid-stream"), std::string::npos) << text;
  EXPECT_NE(text.find("\"outcome\": \"cancelled\""), std::string::npos) << text;
}

TEST(GatewayRelay, RefusesCallersWithoutAValidKey) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  TestGateway gateway(fleet_config(fleet), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange none = gateway.post("/v1/chat/completions", openai_body("ok"), "");
  EXPECT_EQ(none.status, 401U);
  EXPECT_NE(none.body.find("\"error\""), std::string::npos);
  const HttpExchange wrong = gateway.post("/v1/messages", anthropic_body("okant"), "x-api-key: sk-wrong\r\n");
  EXPECT_EQ(wrong.status, 401U);
  EXPECT_NE(wrong.body.find("\"type\":\"error\""), std::string::npos) << "Anthropic's error shape: " << wrong.body;
  const HttpExchange bearer = gateway.post("/v1/messages", anthropic_body("okant"),
                                           std::string("authorization: Bearer ") + kGatewayKey + "\r\n");
  EXPECT_EQ(bearer.status, 200U) << bearer.body;
  const HttpExchange api_key = gateway.post("/v1/messages", anthropic_body("okant"));
  EXPECT_EQ(api_key.status, 200U) << api_key.body;
  EXPECT_EQ(fleet.requests(), 2) << "refused calls never reach a provider";
}

TEST(GatewayRelay, AnswersServiceUnavailableWithRetryAfterWhenEveryTargetIsOpen) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config config = fleet_config(fleet);
  add_route(config, "stormonly", "storm");
  config.policy.queue.when_unavailable = WhenUnavailable::fail;
  config.policy.breaker.min_available_targets = 0;
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  HttpExchange r;
  for (int i = 0; i < 10; ++i) {  // attempts_max 3: the breaker opens within two requests
    r = gateway.post("/v1/chat/completions", openai_body("stormonly"));
    ASSERT_EQ(r.status, 503U) << r.body;
    EXPECT_FALSE(r.field("retry-after").empty());
    if (r.field("x-failover-attempts") == "0") break;
  }
  ASSERT_EQ(r.field("x-failover-attempts"), "0") << "the breaker never opened";
  const int retry_after = std::stoi(r.field("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 5) << "open_base is 5 s";
  EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
}

TEST(GatewayRelay, AnswersTooManyRequestsWithTheProvidersRetryAfter) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config config = fleet_config(fleet);
  add_route(config, "limitedonly", "limited");
  config.policy.retry.retry_after_max = sec(1);  // the fleet's 30 s is beyond it: no waiting
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post("/v1/messages", anthropic_body("limitedonly"));
  ASSERT_EQ(r.status, 429U) << r.body;
  const int retry_after = std::stoi(r.field("retry-after"));
  EXPECT_GE(retry_after, 20);
  EXPECT_LE(retry_after, 40);
  EXPECT_NE(r.body.find("\"type\":\"error\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("rate_limit_error"), std::string::npos) << r.body;
}

TEST(GatewayRelay, AnswersGatewayTimeoutWhenTheDeadlinePasses) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config config = fleet_config(fleet);
  config.policy.timeouts.request = ms(300);
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("hang"));
  EXPECT_EQ(r.status, 504U) << r.body;
  EXPECT_NE(r.body.find("deadline"), std::string::npos) << r.body;
  EXPECT_LT(r.elapsed.count(), 3'000);
}

// The engine's timer is moved only when a deadline comes earlier (gateway_core.cpp,
// rearm): a request that ended leaves it armed at its own, earlier deadline. The hung
// request's later deadline must still be kept: the timer fires early, finds nothing due,
// and is set again.
TEST(GatewayRelay, AnswersGatewayTimeoutAfterTheTimerFiredEarlyForAFinishedRequest) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config config = fleet_config(fleet);
  config.policy.timeouts.request = ms(400);
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const HttpExchange ok = gateway.post("/v1/chat/completions", openai_body("ok"));
  ASSERT_EQ(ok.status, 200U) << ok.body;
  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("hang"));
  EXPECT_EQ(r.status, 504U) << r.body;
  EXPECT_NE(r.body.find("deadline"), std::string::npos) << r.body;
  EXPECT_GE(r.elapsed.count(), 300);  // its own deadline, not the finished request's
  EXPECT_LT(r.elapsed.count(), 3'000);
}

TEST(GatewayRelay, LogsOneLinePerRequestWithItsIdAndNeverAKey) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  {
    TestGateway gateway(fleet_config(fleet), test_serve_config(), log);
    ASSERT_TRUE(gateway.ok());
    const HttpExchange a =
        gateway.post("/v1/chat/completions", openai_body("main"),
                     std::string("authorization: Bearer ") + kGatewayKey + "\r\nx-request-id: trace-abc.123\r\n");
    EXPECT_EQ(a.field("x-request-id"), "trace-abc.123");
    const HttpExchange b = gateway.post("/v1/chat/completions", openai_body("ok"), "");
    EXPECT_EQ(b.status, 401U);
    gateway.gateway().stop();  // every line written
  }
  const std::string text = read_all(log);
  std::fclose(log);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_NE(text.find("\"id\": \"trace-abc.123\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"route\": \"main\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"target\": \"ok/gpt-ok\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"attempts\": 2"), std::string::npos) << text;
  EXPECT_NE(text.find("\"outcome\": \"refused\""), std::string::npos) << text;
  EXPECT_EQ(text.find(kGatewayKey), std::string::npos);
  EXPECT_EQ(text.find("sk-provider-secret"), std::string::npos);
}

}  // namespace
}  // namespace failover::test

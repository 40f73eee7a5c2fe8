// The fleet served over real TLS (and plain TCP) on loopback: each fault kind of
// tests/serve/fleet.toml as a client sees it on the wire. The tests choose the fault by
// starting the server's scenario clock inside its window (FleetOptions::start_at);
// every wait is bounded by the client's own short timeout.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/codec.h"
#include "core/protocol/retry_after.h"
#include "core/protocol/sse.h"
#include "serve/fleet_server.h"
#include "serve/fleet_wire.h"
#include "sim/scenario_load.h"
#include "tests/serve/http_test_client.h"
#include "tests/support/test_ca.h"

namespace failover::serve {
namespace {

using test::http_exchange;
using test::HttpExchange;
using test::post;

const sim::Scenario& fixture() {
  static const sim::Scenario scenario = [] {
    Result<sim::Scenario> s = sim::load_scenario_file(FAILOVER_SOURCE_DIR "/tests/serve/fleet.toml");
    if (!s) {
      ADD_FAILURE() << s.error().message();
      std::abort();
    }
    return std::move(*s);
  }();
  return scenario;
}

std::string chat_body(Protocol protocol, const std::string& model, std::int64_t max_tokens, bool stream,
                      const std::string& text = "hello world!") {
  protocol::ChatRequest r;
  r.model = model;
  r.messages.push_back({"user", text});
  r.max_tokens = max_tokens;
  r.stream = stream;
  return protocol::encode_request(protocol, r).body;
}

const char* kOpenAi = "/oa/chat/completions";
const char* kAnthropic = "/an/v1/messages";
const std::string kVersion = "anthropic-version: 2023-06-01\r\n";

// A POST with the headers an SDK sends: anthropic-version on Anthropic routes.
std::string post_chat(const std::string& target, const std::string& body) {
  return post(target, body, target.find("/v1/messages") != std::string::npos ? kVersion : "");
}

class FleetServerTest : public ::testing::Test {
 protected:
  void start(Duration start_at, std::int64_t time_scale = 1, bool tls = true) {
    FleetOptions o;
    o.start_at = start_at;
    o.time_scale = time_scale;
    o.seed = 7;
    o.idle_timeout = idle_timeout_;
    if (tls) {
      o.tls_cert_file = test::test_ca().server_cert_file;
      o.tls_key_file = test::test_ca().server_key_file;
    }
    tls_ = tls;
    Result<std::unique_ptr<FleetServer>> s = FleetServer::start(io_, fixture(), o);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    server_ = std::move(*s);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  HttpExchange call(const std::string& raw, std::chrono::milliseconds timeout = std::chrono::milliseconds(3'000)) {
    return http_exchange(server_->port(), raw, {tls_, timeout});
  }
  HttpExchange chat(const char* target, Protocol protocol, const std::string& model, std::int64_t max_tokens,
                    bool stream) {
    return call(post_chat(target, chat_body(protocol, model, max_tokens, stream)));
  }
  // The per-provider counters, read on the server's thread.
  std::vector<ProviderServeStats> provider_stats() {
    std::promise<std::vector<ProviderServeStats>> p;
    boost::asio::post(io_, [&] { p.set_value(server_->provider_stats()); });
    return p.get_future().get();
  }

  // The counters once `ready` holds of them, polled on the server's thread for at most
  // 5 s (then the last ones read, for the test to report): wait for state, never race it.
  template <class Ready>
  std::vector<ProviderServeStats> provider_stats_when(Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::vector<ProviderServeStats> stats = provider_stats();
    while (!ready(stats) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      stats = provider_stats();
    }
    return stats;
  }

  boost::asio::io_context io_;
  std::unique_ptr<FleetServer> server_;
  std::thread thread_;
  bool tls_ = true;
  Duration idle_timeout_ = sec(60);
};

TEST_F(FleetServerTest, AnswersAChatCompletionWithUsageOfTheRequest) {
  start(Duration{0});
  const HttpExchange r = chat(kOpenAi, Protocol::openai, "gpt-test", 12, false);
  ASSERT_TRUE(r.complete) << r.error.message();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.field("content-type"), "application/json");
  const Result<protocol::ChatResponse> body = protocol::decode_response(Protocol::openai, r.body);
  ASSERT_TRUE(body.has_value()) << body.error().message();
  EXPECT_EQ(body->model, "gpt-test");
  EXPECT_EQ(body->text, answer_text(12));
  EXPECT_TRUE(body->usage.reported);
  // "user" + "hello world!" = 16 bytes: 4 prompt tokens; max_tokens output tokens.
  EXPECT_EQ(body->usage.input_tokens, 4);
  EXPECT_EQ(body->usage.output_tokens, 12);
}

TEST_F(FleetServerTest, AnswersAnthropicMessagesOneAfterAnotherOnAKeptAliveConnection) {
  start(Duration{0});
  const std::string one = post_chat(kAnthropic, chat_body(Protocol::anthropic, "claude-test", 5, false));
  const std::string two = post_chat(kAnthropic, chat_body(Protocol::anthropic, "claude-test", 7, true));
  const HttpExchange r = http_exchange(server_->port(), one + two, {true, std::chrono::milliseconds(3'000), 2});
  ASSERT_TRUE(r.complete) << r.error.message();
  ASSERT_EQ(r.statuses.size(), 2u);
  EXPECT_EQ(r.statuses[0], 200u);
  EXPECT_EQ(r.statuses[1], 200u);
  const Result<protocol::ChatResponse> body = protocol::decode_response(Protocol::anthropic, r.bodies[0]);
  ASSERT_TRUE(body.has_value()) << body.error().message();
  EXPECT_EQ(body->text, answer_text(5));
  EXPECT_EQ(body->usage.output_tokens, 5);
  protocol::StreamDecoder decoder(Protocol::anthropic);
  EXPECT_EQ(decoder.feed(r.bodies[1]), answer_text(7));
  EXPECT_EQ(decoder.finish(), protocol::StreamEnd::complete);
  EXPECT_EQ(server_->stats().requests, 2);
  EXPECT_EQ(server_->stats().bad_requests, 0);
}

TEST_F(FleetServerTest, StreamsBothProtocolsToACompleteEnd) {
  start(Duration{0});
  for (const auto& [target, protocol, model] : {std::tuple{kOpenAi, Protocol::openai, "gpt-test"},
                                                std::tuple{kAnthropic, Protocol::anthropic, "claude-test"}}) {
    // The fixture's answers are 50 tokens long: under max_tokens 100, a natural stop.
    const HttpExchange r = chat(target, protocol, model, 100, true);
    ASSERT_TRUE(r.complete) << target << ": " << r.error.message();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.field("content-type"), "text/event-stream");
    EXPECT_EQ(r.field("transfer-encoding"), "chunked");
    protocol::StreamDecoder decoder(protocol);
    const std::string text = decoder.feed(r.body);
    EXPECT_EQ(decoder.finish(), protocol::StreamEnd::complete) << target;
    EXPECT_EQ(text, answer_text(50)) << target;
    EXPECT_EQ(decoder.response().usage.output_tokens, 50) << target;
    EXPECT_EQ(decoder.response().usage.input_tokens, 4) << target;
    EXPECT_EQ(decoder.response().stop_reason, protocol == Protocol::openai ? "stop" : "end_turn") << target;
  }
}

TEST_F(FleetServerTest, AnswersTheStormsShareOfCallsWith503AndItsErrorBody) {
  start(minutes(11));
  constexpr int kCalls = 40;
  int errors = 0;
  for (int i = 0; i < kCalls; ++i) {
    const HttpExchange r = chat(kOpenAi, Protocol::openai, "gpt-test", 3, false);
    ASSERT_TRUE(r.complete) << r.error.message();
    if (r.status == 200) continue;
    ASSERT_EQ(r.status, 503u);
    ++errors;
    const std::optional<protocol::ErrorInfo> e = protocol::decode_error(Protocol::openai, r.body);
    ASSERT_TRUE(e.has_value()) << r.body;
    EXPECT_EQ(e->type, protocol::error_for_status(Protocol::openai, 503).type);
  }
  // A 50% storm: with 40 draws, 8..32 hits is far outside any plausible deviation.
  EXPECT_GE(errors, 8);
  EXPECT_LE(errors, 32);
  // The client may read its answer before the server has released the slot: wait for it.
  const std::vector<ProviderServeStats> stats = provider_stats_when([](const auto& s) { return s[0].inflight == 0; });
  EXPECT_EQ(stats[0].stats.http_errors, errors);
  EXPECT_EQ(stats[0].stats.calls, kCalls);
  EXPECT_EQ(stats[0].inflight, 0);
}

TEST_F(FleetServerTest, Answers529WithAnAnthropicOverloadedBody) {
  start(minutes(15));
  const HttpExchange r = chat(kAnthropic, Protocol::anthropic, "claude-test", 3, false);
  ASSERT_TRUE(r.complete) << r.error.message();
  EXPECT_EQ(r.status, 529u);
  const std::optional<protocol::ErrorInfo> e = protocol::decode_error(Protocol::anthropic, r.body);
  ASSERT_TRUE(e.has_value()) << r.body;
  EXPECT_EQ(e->type, protocol::error_for_status(Protocol::anthropic, 529).type);
}

TEST_F(FleetServerTest, Sends429WithRetryAfterInSecondsAndMilliseconds) {
  start(minutes(31));
  const HttpExchange r = chat(kOpenAi, Protocol::openai, "gpt-test", 3, false);
  ASSERT_TRUE(r.complete) << r.error.message();
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.field("retry-after"), "30");
  EXPECT_EQ(r.field("retry-after-ms"), "30000");
  const std::optional<protocol::ErrorInfo> e = protocol::decode_error(Protocol::openai, r.body);
  ASSERT_TRUE(e.has_value()) << r.body;
}

TEST_F(FleetServerTest, DividesRetryAfterAndLatencyByTheTimeScale) {
  start(minutes(31), 20);
  const HttpExchange r = chat(kOpenAi, Protocol::openai, "gpt-test", 3, false);
  ASSERT_TRUE(r.complete) << r.error.message();
  EXPECT_EQ(r.status, 429u);
  // 30 s / 20 = 1.5 s: no whole-second retry-after could agree with it.
  EXPECT_EQ(r.fields.count("retry-after"), 0u);
  EXPECT_EQ(r.field("retry-after-ms"), "1500");
  // The slow provider's 2 s time to first token takes 100 ms at K = 20.
  const HttpExchange slow = chat("/slow/chat/completions", Protocol::openai, "slow-model", 3, false);
  ASSERT_TRUE(slow.complete) << slow.error.message();
  EXPECT_EQ(slow.status, 200u);
  EXPECT_GE(slow.elapsed.count(), 95);
  EXPECT_LT(slow.elapsed.count(), 1'500);
}

TEST_F(FleetServerTest, FollowsTheTimelineAsScenarioTimePasses) {
  // 9m55s at K = 10: a call within 500 ms of real time lands before the 529 window at
  // 10m, and from 600 ms on (10m01s) every call is inside it.
  start(minutes(9) + sec(55), 10);
  const auto started = std::chrono::steady_clock::now();
  const HttpExchange before = chat(kAnthropic, Protocol::anthropic, "claude-test", 3, false);
  ASSERT_TRUE(before.complete) << before.error.message();
  ASSERT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500)) << "too slow to tell";
  EXPECT_EQ(before.status, 200u);
  std::this_thread::sleep_until(started + std::chrono::milliseconds(600));
  const HttpExchange after = chat(kAnthropic, Protocol::anthropic, "claude-test", 3, false);
  ASSERT_TRUE(after.complete) << after.error.message();
  EXPECT_EQ(after.status, 529u);
}

TEST_F(FleetServerTest, HangsUntilTheClientGivesUpAndThenFreesTheSlot) {
  start(minutes(51));
  const HttpExchange r =
      call(post_chat(kOpenAi, chat_body(Protocol::openai, "gpt-test", 3, false)), std::chrono::milliseconds(300));
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.headers);
  // The client closed its socket on leaving http_exchange; the server notices soon.
  const std::vector<ProviderServeStats> stats = provider_stats_when([](const auto& s) { return s[0].inflight == 0; });
  EXPECT_EQ(stats[0].stats.hangs, 1);
  EXPECT_EQ(stats[0].inflight, 0);
}

TEST_F(FleetServerTest, SendsA200WhoseBodyDoesNotDecode) {
  start(minutes(71));
  const HttpExchange r = chat(kOpenAi, Protocol::openai, "gpt-test", 20, false);
  ASSERT_TRUE(r.complete) << r.error.message();
  EXPECT_EQ(r.status, 200u);
  EXPECT_FALSE(protocol::decode_response(Protocol::openai, r.body).has_value());
  for (const auto& [target, protocol, model] : {std::tuple{kOpenAi, Protocol::openai, "gpt-test"},
                                                std::tuple{kAnthropic, Protocol::anthropic, "claude-test"}}) {
    const HttpExchange s = chat(target, protocol, model, 20, true);
    ASSERT_TRUE(s.complete) << target << ": " << s.error.message();
    protocol::StreamDecoder decoder(protocol);
    decoder.feed(s.body);
    EXPECT_EQ(decoder.finish(), protocol::StreamEnd::malformed) << target;
  }
}

TEST_F(FleetServerTest, ResetsTheConnectionWithoutAResponse) {
  start(minutes(91));
  for (const auto& [target, protocol, model] : {std::tuple{kOpenAi, Protocol::openai, "gpt-test"},
                                                std::tuple{kAnthropic, Protocol::anthropic, "claude-test"}}) {
    const HttpExchange r = chat(target, protocol, model, 3, false);
    EXPECT_TRUE(r.connected) << target;
    EXPECT_FALSE(r.timed_out) << target;
    EXPECT_FALSE(r.headers) << target;
    EXPECT_EQ(r.error, boost::asio::error::connection_reset) << target << ": " << r.error.message();
  }
}

TEST_F(FleetServerTest, CutsStreamsAndBodiesShort) {
  start(minutes(111));
  for (const auto& [target, protocol, model] : {std::tuple{kOpenAi, Protocol::openai, "gpt-test"},
                                                std::tuple{kAnthropic, Protocol::anthropic, "claude-test"}}) {
    const HttpExchange s = chat(target, protocol, model, 40, true);
    EXPECT_TRUE(s.headers) << target;
    EXPECT_FALSE(s.complete) << target;
    EXPECT_EQ(s.error, boost::beast::http::error::partial_message) << target << ": " << s.error.message();
    protocol::StreamDecoder decoder(protocol);
    decoder.feed(s.body);
    EXPECT_EQ(decoder.finish(), protocol::StreamEnd::truncated) << target;

    const HttpExchange b = chat(target, protocol, model, 40, false);
    EXPECT_TRUE(b.headers) << target;
    EXPECT_EQ(b.status, 200u) << target;
    EXPECT_EQ(b.error, boost::beast::http::error::partial_message) << target << ": " << b.error.message();
    EXPECT_LT(b.body.size(), std::stoul(b.field("content-length"))) << target;
  }
}

TEST_F(FleetServerTest, RefusesAPromptBeyondTheContextWindowAsTheProviderWould) {
  start(Duration{0});
  const HttpExchange r = chat(kOpenAi, Protocol::openai, "gpt-test", 2'000, false);
  ASSERT_TRUE(r.complete) << r.error.message();
  EXPECT_EQ(r.status, 400u);
  const std::optional<protocol::ErrorInfo> e = protocol::decode_error(Protocol::openai, r.body);
  ASSERT_TRUE(e.has_value()) << r.body;
  EXPECT_EQ(protocol::refusal_of(Protocol::openai, 400, e), Refusal::context_length);
}

TEST_F(FleetServerTest, AnswersUnknownPathsMethodsBodiesAndModelsInTheProtocolsErrorShape) {
  start(Duration{0});
  struct Case {
    std::string raw;
    unsigned status;
    Protocol protocol;
  };
  const std::vector<Case> cases{
      {post("/nobody/chat/completions", "{}"), 404, Protocol::openai},
      {post("/an/chat/completions", "{}"), 404, Protocol::anthropic},
      {"GET /oa/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n", 405, Protocol::openai},
      {post_chat(kAnthropic, "not json"), 400, Protocol::anthropic},
      {post(kAnthropic, chat_body(Protocol::anthropic, "claude-test", 3, false)), 400, Protocol::anthropic},
      {"GET /an/v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n", 400, Protocol::anthropic},
      {"GET /oa/models/gpt-nope HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n", 404, Protocol::openai},
      {post("/oa/models", "{}"), 405, Protocol::openai},
      {post(kOpenAi, chat_body(Protocol::openai, "gpt-nope", 3, false)), 404, Protocol::openai},
      {post(kOpenAi, chat_body(Protocol::openai, "gpt-test", kAnswerTokensMax + 1, false)), 400, Protocol::openai},
  };
  for (const Case& c : cases) {
    const HttpExchange r = call(c.raw);
    ASSERT_TRUE(r.complete) << c.raw << ": " << r.error.message();
    EXPECT_EQ(r.status, c.status) << c.raw;
    EXPECT_TRUE(protocol::decode_error(c.protocol, r.body).has_value()) << c.raw << " -> " << r.body;
  }
  EXPECT_EQ(server_->stats().bad_requests, static_cast<std::int64_t>(cases.size()));
}

TEST_F(FleetServerTest, Answers413ToABodyOverTheLimitWithoutReadingIt) {
  start(Duration{0});
  const HttpExchange r =
      call("POST /oa/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2000000\r\n\r\n{\"model\":");
  ASSERT_TRUE(r.headers) << r.error.message();
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.field("connection"), "close");
  EXPECT_TRUE(protocol::decode_error(Protocol::openai, r.body).has_value()) << r.body;
}

TEST_F(FleetServerTest, ServesPlainHttpWithoutACertificate) {
  start(Duration{0}, 1, false);
  EXPECT_EQ(server_->base_url("oa").rfind("http://127.0.0.1:", 0), 0u) << server_->base_url("oa");
  const HttpExchange r = chat(kOpenAi, Protocol::openai, "gpt-test", 4, true);
  ASSERT_TRUE(r.complete) << r.error.message();
  EXPECT_EQ(r.status, 200u);
  protocol::StreamDecoder decoder(Protocol::openai);
  EXPECT_EQ(decoder.feed(r.body), answer_text(4));
  EXPECT_EQ(decoder.finish(), protocol::StreamEnd::complete);
}

TEST_F(FleetServerTest, ClosesAKeptAliveConnectionLeftIdle) {
  idle_timeout_ = ms(200);
  start(Duration{0}, 1, false);
  // One request, then the client waits for a second answer that never comes: the
  // server closes the idle connection after 200 ms, long before the client's 3 s.
  const std::string one = post(kOpenAi, chat_body(Protocol::openai, "gpt-test", 3, false));
  const HttpExchange r = http_exchange(server_->port(), one, {false, std::chrono::milliseconds(3'000), 2});
  ASSERT_EQ(r.statuses.size(), 1u);
  EXPECT_EQ(r.statuses[0], 200u);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(r.error) << "the server closed the connection";
  EXPECT_GE(r.elapsed, std::chrono::milliseconds(150));
  EXPECT_LT(r.elapsed, std::chrono::milliseconds(2'500));
}

TEST_F(FleetServerTest, KeepsAnIdleConnectionWithoutAnIdleTimeout) {
  idle_timeout_ = Duration{0};
  start(Duration{0}, 1, false);
  const std::string one = post(kOpenAi, chat_body(Protocol::openai, "gpt-test", 3, false));
  const HttpExchange r = http_exchange(server_->port(), one, {false, std::chrono::milliseconds(600), 2});
  ASSERT_EQ(r.statuses.size(), 1u);
  EXPECT_TRUE(r.timed_out) << r.error.message();  // still open when the client gave up
}

// Issue 13: 1,024 idle connections shut every other client out for a minute. Now the
// oldest idle connection gives way, and one address holds at most its share.
TEST_F(FleetServerTest, IdleConnectionsPastTheCapsDoNotShutOutANormalRequest) {
  constexpr int kFirst = 300;                       // from 127.0.0.2: past the per-address cap
  constexpr int kIdle = 1'100;                      // in all: past the global cap
  constexpr rlim_t kFilesNeeded = 2 * kIdle + 256;  // both ends live in this process
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < kFilesNeeded) {
    if (files.rlim_max != RLIM_INFINITY && files.rlim_max < kFilesNeeded)
      GTEST_SKIP() << "needs " << kFilesNeeded << " descriptors";
    files.rlim_cur = kFilesNeeded;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
  }
  start(Duration{0}, 1, false);
  namespace ip = boost::asio::ip;
  boost::asio::io_context client_io;
  std::vector<ip::tcp::socket> idle;
  idle.reserve(kIdle);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 0; i < kIdle && std::chrono::steady_clock::now() < deadline; ++i) {
    const int host = i < kFirst ? 2 : 3 + i % 4;  // then 200 each from 127.0.0.3 to .6
    ip::tcp::socket s(client_io);
    boost::system::error_code ec;
    s.open(ip::tcp::v4(), ec);
    if (!ec) s.bind(ip::tcp::endpoint(ip::make_address_v4("127.0.0." + std::to_string(host)), 0), ec);
    if (!ec) s.connect(ip::tcp::endpoint(ip::make_address_v4("127.0.0.1"), server_->port()), ec);
    ASSERT_FALSE(ec) << "connection " << i << ": " << ec.message();
    idle.push_back(std::move(s));
  }
  ASSERT_EQ(idle.size(), static_cast<std::size_t>(kIdle));
  // Accepted in order: once this request is answered, every idle connection was admitted.
  const HttpExchange r =
      call(post(kOpenAi, chat_body(Protocol::openai, "gpt-test", 3, false)), std::chrono::milliseconds(1'000));
  ASSERT_TRUE(r.complete) << r.error.message();
  EXPECT_EQ(r.status, 200u);
  EXPECT_LT(r.elapsed, std::chrono::milliseconds(1'000));
  // The oldest idle connection was closed by the server: the client reads its end.
  pollfd first{idle.front().native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&first, 1, 2'000), 1) << "the oldest idle connection is still open";
  char byte = 0;
  EXPECT_LE(::recv(idle.front().native_handle(), &byte, 1, 0), 0);
}

TEST_F(FleetServerTest, NamesEveryAnswerWithARequestIdHeaderAndAnthropicErrorBodiesToo) {
  start(minutes(15));  // an: every call 529
  const HttpExchange oa = chat(kOpenAi, Protocol::openai, "gpt-test", 3, false);
  ASSERT_TRUE(oa.complete) << oa.error.message();
  EXPECT_EQ(oa.field("x-request-id").rfind("req_", 0), 0u) << oa.field("x-request-id");
  const HttpExchange an = chat(kAnthropic, Protocol::anthropic, "claude-test", 3, false);
  ASSERT_TRUE(an.complete) << an.error.message();
  EXPECT_EQ(an.status, 529u);
  const std::string id = an.field("request-id");
  EXPECT_EQ(id.rfind("req_", 0), 0u) << id;
  EXPECT_NE(id, oa.field("x-request-id"));
  EXPECT_NE(an.body.find(R"("request_id":")" + id + "\""), std::string::npos) << an.body;
  // A refusal before any provider decides has one too.
  const HttpExchange bad = call(post(kAnthropic, chat_body(Protocol::anthropic, "claude-test", 3, false)));
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("anthropic-version: header is required"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find(R"("request_id":")" + bad.field("request-id") + "\""), std::string::npos) << bad.body;
}

TEST_F(FleetServerTest, SendsRateLimitHeadersFromTheProvidersBuckets) {
  start(Duration{0});
  // "user" + "hello world!": 4 prompt tokens, and an answer of 3: 7 tokens each.
  const HttpExchange first = chat(kOpenAi, Protocol::openai, "gpt-test", 3, false);
  const HttpExchange second = chat(kOpenAi, Protocol::openai, "gpt-test", 3, false);
  ASSERT_TRUE(first.complete && second.complete);
  EXPECT_EQ(first.field("x-ratelimit-limit-requests"), "6000");
  EXPECT_EQ(first.field("x-ratelimit-remaining-requests"), "5999");
  // 100 requests a second come back: the 10 ms answer in between may have returned one.
  EXPECT_TRUE(second.field("x-ratelimit-remaining-requests") == "5998" ||
              second.field("x-ratelimit-remaining-requests") == "5999")
      << second.field("x-ratelimit-remaining-requests");
  EXPECT_EQ(first.field("x-ratelimit-limit-tokens"), "1000000");
  EXPECT_EQ(first.field("x-ratelimit-remaining-tokens"), "999993");
  // One request refills in 10 ms of scenario time; "1ms".."10ms" after the first.
  const std::vector<protocol::Header> h{{"x-ratelimit-reset-requests", first.field("x-ratelimit-reset-requests")}};
  const std::optional<Duration> reset = protocol::retry_after_from_headers(h, 0);
  ASSERT_TRUE(reset.has_value()) << h[0].value;
  EXPECT_GT(*reset, Duration{0});
  EXPECT_LE(*reset, ms(10));
  const HttpExchange an = chat(kAnthropic, Protocol::anthropic, "claude-test", 3, false);
  ASSERT_TRUE(an.complete);
  EXPECT_EQ(an.field("anthropic-ratelimit-requests-limit"), "6000");
  EXPECT_EQ(an.field("anthropic-ratelimit-requests-remaining"), "5999");
  EXPECT_EQ(an.field("anthropic-ratelimit-tokens-remaining"), "999993");
  const std::string at = an.field("anthropic-ratelimit-tokens-reset");
  ASSERT_EQ(at.size(), 20u) << at;  // 2026-12-06T18:45:12Z
  EXPECT_EQ(at.back(), 'Z');
  EXPECT_EQ(at[10], 'T');
}

TEST_F(FleetServerTest, StopsAtMaxTokensAndStampsCreatedInUnixSeconds) {
  start(Duration{0});
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const HttpExchange oa = chat(kOpenAi, Protocol::openai, "gpt-test", 3, false);
  const Result<protocol::ChatResponse> body = protocol::decode_response(Protocol::openai, oa.body);
  ASSERT_TRUE(body.has_value()) << oa.body;
  EXPECT_EQ(body->stop_reason, "length");  // 3 of the fixture's 50 tokens
  const std::size_t created = oa.body.find(R"("created":)");
  ASSERT_NE(created, std::string::npos);
  const long long stamp = std::stoll(oa.body.substr(created + 10));
  EXPECT_GE(stamp, now_s - 1);
  EXPECT_LE(stamp, now_s + 60);
  const HttpExchange an = chat(kAnthropic, Protocol::anthropic, "claude-test", 3, true);
  protocol::StreamDecoder decoder(Protocol::anthropic);
  EXPECT_EQ(decoder.feed(an.body), answer_text(3));
  EXPECT_EQ(decoder.finish(), protocol::StreamEnd::complete);
  EXPECT_EQ(decoder.response().stop_reason, "max_tokens");
}

TEST_F(FleetServerTest, SendsTheUsageChunkOnlyToAClientThatAskedForIt) {
  start(Duration{0});
  const std::string asked = chat_body(Protocol::openai, "gpt-test", 5, true);  // encode_request asks
  ASSERT_NE(asked.find(R"("include_usage":true)"), std::string::npos);
  const std::string not_asked =
      R"({"model":"gpt-test","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]})";
  for (const bool ask : {true, false}) {
    const HttpExchange r = call(post(kOpenAi, ask ? asked : not_asked));
    ASSERT_TRUE(r.complete) << r.error.message();
    protocol::StreamDecoder decoder(Protocol::openai);
    EXPECT_EQ(decoder.feed(r.body), answer_text(5));
    EXPECT_EQ(decoder.finish(), protocol::StreamEnd::complete);
    EXPECT_EQ(decoder.response().usage.reported, ask) << r.body;
  }
}

TEST_F(FleetServerTest, ListsAndRetrievesTheScenariosModelsInBothShapes) {
  start(Duration{0});
  const HttpExchange oa = call("GET /oa/models HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
  ASSERT_TRUE(oa.complete) << oa.error.message();
  EXPECT_EQ(oa.status, 200u);
  EXPECT_EQ(oa.body, models_body(Protocol::openai, fixture().providers[0].models));
  EXPECT_NE(oa.field("x-request-id"), "");
  const HttpExchange an = call("GET /an/v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\n" + kVersion + "\r\n");
  EXPECT_EQ(an.status, 200u);
  EXPECT_NE(an.body.find(R"("id": "claude-test")"), std::string::npos) << an.body;
  const HttpExchange one = call("GET /an/v1/models/claude-test HTTP/1.1\r\nhost: 127.0.0.1\r\n" + kVersion + "\r\n");
  EXPECT_EQ(one.status, 200u);
  EXPECT_EQ(one.body, model_body(Protocol::anthropic, fixture().providers[1].models[0]));
  EXPECT_EQ(server_->stats().bad_requests, 0);
}

TEST_F(FleetServerTest, NamesTheBaseUrlOfEachProvider) {
  start(Duration{0});
  const std::string port = std::to_string(server_->port());
  EXPECT_NE(server_->port(), 0);
  EXPECT_EQ(server_->base_url("oa"), "https://127.0.0.1:" + port + "/oa");
  EXPECT_EQ(server_->base_url("an"), "https://127.0.0.1:" + port + "/an");
}

TEST(FleetServerStart, RefusesANonLoopbackAddress) {
  boost::asio::io_context io;
  for (const char* host : {"0.0.0.0", "192.0.2.1", "::", "example.com"}) {
    FleetOptions o;
    o.host = host;
    const Result<std::unique_ptr<FleetServer>> s = FleetServer::start(io, fixture(), o);
    ASSERT_FALSE(s.has_value()) << host;
    EXPECT_NE(s.error().message().find(host), std::string::npos) << s.error().message();
  }
}

TEST(FleetServerStart, RefusesACertificateWithoutKeyAndUnreadableFiles) {
  boost::asio::io_context io;
  FleetOptions o;
  o.tls_cert_file = test::test_ca().server_cert_file;
  EXPECT_FALSE(FleetServer::start(io, fixture(), o).has_value());
  o.tls_key_file = test::test_ca().dir + "/no-such.key";
  const Result<std::unique_ptr<FleetServer>> missing = FleetServer::start(io, fixture(), o);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("no-such.key"), std::string::npos) << missing.error().message();
  o.tls_key_file = test::test_ca().wrong_host_key_file;  // a key of another certificate
  EXPECT_FALSE(FleetServer::start(io, fixture(), o).has_value());
  o.tls_key_file = test::test_ca().server_key_file;
  o.time_scale = 0;
  EXPECT_FALSE(FleetServer::start(io, fixture(), o).has_value());
}

}  // namespace
}  // namespace failover::serve

// LiveDriver (core/transport/live_driver.h): the engine driven on an io_context against
// the fleet served over TLS on loopback -- answers, failover away from a 503 storm,
// Retry-After honoured, hangs ended by the engine's timeouts, and start-up errors.
#include "core/transport/live_driver.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "serve/fleet_wire.h"
#include "tests/transport/fleet_fixture.h"

namespace failover::transport {
namespace {

using test::Fleet;
using test::test_ca;

constexpr const char* kKeyEnv = "FAILOVER_TRANSPORT_TEST_KEY";

struct DriverRun {
  explicit DriverRun(const Config& config) {
    setenv(kKeyEnv, "transport-test-key", 1);
    LiveOptions o;
    o.tls.ca_file = test_ca().ca_file;
    o.tls.system_trust_store = false;
    o.log = [this](std::string_view line) { log.emplace_back(line); };
    Result<std::unique_ptr<LiveDriver>> d = LiveDriver::create(io, config, o);
    EXPECT_TRUE(d) << (d ? "" : d.error().message());
    if (d) driver = std::move(*d);
  }

  LiveRequest request(const std::string& route, std::int64_t max_tokens = 8, bool stream = false) const {
    LiveRequest r;
    r.messages.push_back(protocol::Message{"user", "Tell me something."});
    r.max_tokens = max_tokens;
    r.stream = stream;
    r.route = *driver->config().route_index(route);
    return r;
  }

  RequestId submit(LiveRequest r) {
    ++submitted;
    return driver->submit(std::move(r), [this](LiveResult&& result) { results.push_back(std::move(result)); });
  }

  // Runs the io_context until `condition` holds, at most `limit`; whether it held.
  bool run_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // Runs until every submitted request ended, at most `limit`.
  bool wait(std::chrono::milliseconds limit = std::chrono::milliseconds(20'000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (results.size() < submitted && std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_one_for(std::chrono::milliseconds(50));
    }
    return results.size() == submitted;
  }

  // One request at a time, each submitted after the previous one ended.
  bool sequential(const std::string& route, int count) {
    for (int i = 0; i < count; ++i) {
      submit(request(route));
      if (!wait()) return false;
    }
    return true;
  }

  const TargetHealth& target(const std::string& provider) const {
    static const TargetHealth kNone;
    const Config& c = driver->config();
    for (const TargetHealth& t : health.targets) {
      if (c.provider_of(t.target).name == provider) return t;
    }
    return kNone;
  }

  boost::asio::io_context io;
  std::unique_ptr<LiveDriver> driver;
  std::vector<LiveResult> results;
  std::vector<std::string> log;
  std::size_t submitted = 0;
  HealthReport health;
};

TEST(LiveDriver, AnswerComesBackThroughTheEngineWithItsTargetAndCost) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  DriverRun run(fleet.live_config(kKeyEnv));
  ASSERT_TRUE(run.driver);
  run.submit(run.request("ok", 16));
  ASSERT_TRUE(run.wait());
  const LiveResult& r = run.results.at(0);
  EXPECT_EQ(r.status, RequestStatus::succeeded) << r.last_error;
  EXPECT_EQ(r.provider, "ok");
  EXPECT_EQ(r.model, "gpt-ok");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.text, serve::answer_text(16));
  EXPECT_GT(r.cost_micro_usd, 0);
  EXPECT_GT(r.latency, Duration{0});
  EXPECT_EQ(run.driver->unfinished(), 0u);
}

TEST(LiveDriver, StreamedAnswerComesBackWhole) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  DriverRun run(fleet.live_config(kKeyEnv));
  ASSERT_TRUE(run.driver);
  run.submit(run.request("okant", 30, true));
  ASSERT_TRUE(run.wait());
  EXPECT_EQ(run.results.at(0).status, RequestStatus::succeeded) << run.results.at(0).last_error;
  EXPECT_EQ(run.results.at(0).text, serve::answer_text(30));
}

TEST(LiveDriver, StreamedTextReachesTheCallerDeltaByDelta) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  DriverRun run(fleet.live_config(kKeyEnv));
  ASSERT_TRUE(run.driver);
  for (const char* route : {"ok", "okant"}) {
    std::vector<std::string> deltas;
    LiveRequest r = run.request(route, 30, true);
    r.on_text = [&deltas](std::string_view text) { deltas.emplace_back(text); };
    run.submit(std::move(r));
    ASSERT_TRUE(run.wait());
    std::string joined;
    for (const std::string& d : deltas) joined += d;
    EXPECT_GT(deltas.size(), 1u) << route;
    EXPECT_EQ(joined, serve::answer_text(30)) << route;
    EXPECT_EQ(run.results.back().text, joined) << route;
  }
}

TEST(LiveDriver, ServerErrorStormOnThePrimaryFailsOverToTheSecondary) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  DriverRun run(fleet.live_config(kKeyEnv));
  ASSERT_TRUE(run.driver);
  ASSERT_TRUE(run.sequential("main", 10));
  for (const LiveResult& r : run.results) {
    EXPECT_EQ(r.status, RequestStatus::succeeded) << r.last_error;
    EXPECT_EQ(r.provider, "ok");
  }
  run.health = run.driver->health();
  const TargetHealth& storm = run.target("storm");
  EXPECT_GE(storm.failures, 5);
  EXPECT_EQ(storm.successes, 0);
  EXPECT_EQ(storm.breaker, BreakerState::open);  // five consecutive failures trip it
  EXPECT_LT(storm.attempts, 10);                 // once open, requests go straight to the secondary
  ASSERT_FALSE(run.log.empty());
  EXPECT_NE(run.log.front().find("storm/gpt-storm: closed -> open"), std::string::npos) << run.log.front();
}

// A 401 on the only target is a configuration error: the request fails at once,
// naming the target and the status, instead of waiting out its deadline.
TEST(LiveDriver, A401OnTheOnlyTargetFailsAtOnceNamingIt) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  DriverRun run(fleet.live_config(kKeyEnv));
  ASSERT_TRUE(run.driver);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run.sequential("denied", 1));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(run.results.size(), 1U);
  const LiveResult& r = run.results.front();
  EXPECT_EQ(r.status, RequestStatus::failed);
  EXPECT_EQ(r.reason, EndReason::misconfigured);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_NE(r.last_error.find("denied: HTTP 401"), std::string::npos) << r.last_error;
  EXPECT_LT(took, std::chrono::seconds(5));  // the deadline is 60 s; it takes ~20 ms here
}

TEST(LiveDriver, RetryAfterBlocksTheTargetAndRequestsGoElsewhere) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  DriverRun run(fleet.live_config(kKeyEnv));
  ASSERT_TRUE(run.driver);
  ASSERT_TRUE(run.sequential("limited", 5));
  for (const LiveResult& r : run.results) {
    EXPECT_EQ(r.status, RequestStatus::succeeded) << r.last_error;
    EXPECT_EQ(r.provider, "okant");
  }
  run.health = run.driver->health();
  const TargetHealth& limited = run.target("limited");
  EXPECT_EQ(limited.attempts, 1);  // the 429's Retry-After (30 s) kept the others away
  EXPECT_EQ(limited.rate_limited, 1);
  EXPECT_EQ(limited.failures, 0);  // back-pressure is not ill health
  EXPECT_GT(limited.blocked_until, run.driver->now() + sec(20));
  EXPECT_EQ(limited.breaker, BreakerState::closed);
}

TEST(LiveDriver, HangIsEndedByTheEnginesAttemptTimeout) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config c = fleet.live_config(kKeyEnv);
  c.policy.timeouts.attempt = ms(300);
  c.policy.timeouts.first_byte = ms(300);
  c.policy.retry.attempts_max = 2;
  c.policy.retry.backoff_base = ms(10);
  DriverRun run(c);
  ASSERT_TRUE(run.driver);
  const auto t0 = std::chrono::steady_clock::now();
  run.submit(run.request("hang"));
  ASSERT_TRUE(run.wait());
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  const LiveResult& r = run.results.at(0);
  EXPECT_EQ(r.status, RequestStatus::failed);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_NE(r.last_error.find("timed out"), std::string::npos) << r.last_error;
  EXPECT_GE(elapsed, std::chrono::milliseconds(550));
  EXPECT_LT(elapsed, std::chrono::milliseconds(5'000));
  EXPECT_EQ(run.driver->totals().attempts_cancelled, 2);
  run.io.restart();
  run.io.run_for(std::chrono::milliseconds(100));
  const Index hang = *run.driver->config().provider_index("hang");
  EXPECT_EQ(run.driver->pool_stats(hang).open, 0);  // cancelled attempts' connections are closed
}

TEST(LiveDriver, MalformedResetAndTruncatedAnswersFailWithTheirReason) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config c = fleet.live_config(kKeyEnv);
  c.policy.retry.attempts_max = 1;
  DriverRun run(c);
  ASSERT_TRUE(run.driver);
  run.submit(run.request("garbled"));
  run.submit(run.request("reset"));
  run.submit(run.request("cut", 40, true));
  ASSERT_TRUE(run.wait());
  std::vector<std::string> errors(4);
  for (const LiveResult& r : run.results) {
    EXPECT_NE(r.status, RequestStatus::succeeded);
    // Nothing served a failed request: no target or provider is named as if it had.
    EXPECT_EQ(r.target, kNoIndex);
    EXPECT_TRUE(r.provider.empty()) << r.provider;
    errors.at(r.id) = r.last_error;
  }
  EXPECT_NE(errors[1].find("garbled: undecodable body"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("reset: "), std::string::npos) << errors[2];
  EXPECT_NE(errors[3].find("cut: the stream ended before its end marker"), std::string::npos) << errors[3];
}

TEST(LiveDriver, PlainHttpToAHostOtherThanLoopbackIsRefusedAtStart) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config c = fleet.live_config(kKeyEnv);
  c.providers[0].base_url = "http://api.example.com/v1";
  boost::asio::io_context io;
  Result<std::unique_ptr<LiveDriver>> d = LiveDriver::create(io, c, LiveOptions{});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("http://"), std::string::npos) << d.error().message();
}

TEST(LiveDriver, MissingOrEmptyKeyIsAnErrorNamingTheVariableAndProvider) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config c = fleet.live_config("FAILOVER_TRANSPORT_TEST_UNSET");
  unsetenv("FAILOVER_TRANSPORT_TEST_UNSET");
  boost::asio::io_context io;
  Result<std::unique_ptr<LiveDriver>> d = LiveDriver::create(io, c, LiveOptions{});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("FAILOVER_TRANSPORT_TEST_UNSET"), std::string::npos) << d.error().message();
  EXPECT_NE(d.error().message().find("\"ok\""), std::string::npos) << d.error().message();
  EXPECT_NE(d.error().message().find("not set"), std::string::npos) << d.error().message();
  setenv("FAILOVER_TRANSPORT_TEST_UNSET", "", 1);
  d = LiveDriver::create(io, c, LiveOptions{});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("empty"), std::string::npos) << d.error().message();
  unsetenv("FAILOVER_TRANSPORT_TEST_UNSET");
}

TEST(LiveDriver, KeyWithACrLfIsRefusedWithoutPrintingIt) {
  Config c;
  c.providers.emplace_back();
  c.providers[0].name = "p";
  c.providers[0].api_key_env = "FAILOVER_TRANSPORT_TEST_CRLF";
  for (const char* key : {"sk-secret\r\nX-Injected: yes", "sk-secret\n", "sk-\x01secret", "sk-secret\x7f"}) {
    setenv("FAILOVER_TRANSPORT_TEST_CRLF", key, 1);
    const Result<std::vector<std::string>> keys = read_api_keys(c);
    ASSERT_FALSE(keys) << "accepted a key with a control character";
    EXPECT_NE(keys.error().message().find("FAILOVER_TRANSPORT_TEST_CRLF"), std::string::npos) << keys.error().message();
    EXPECT_NE(keys.error().message().find("control character"), std::string::npos) << keys.error().message();
    EXPECT_EQ(keys.error().message().find("secret"), std::string::npos) << keys.error().message();
  }
  setenv("FAILOVER_TRANSPORT_TEST_CRLF", "sk-fine", 1);
  EXPECT_TRUE(read_api_keys(c));
  unsetenv("FAILOVER_TRANSPORT_TEST_CRLF");
}

TEST(LiveDriver, CancelEndsARequestWhoseCallerGaveUpAndClosesItsUpstreamCall) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  DriverRun run(fleet.live_config(kKeyEnv));
  ASSERT_TRUE(run.driver);
  const RequestId id = run.submit(run.request("hang"));
  ASSERT_TRUE(run.run_until([&] { return fleet.inflight("hang") == 1; })) << "the call never reached the fleet";
  run.driver->cancel(id);
  ASSERT_EQ(run.results.size(), 1u) << "`done` runs inside cancel()";
  const LiveResult& r = run.results.at(0);
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.status, RequestStatus::dropped);
  EXPECT_EQ(r.reason, EndReason::cancelled);
  EXPECT_FALSE(r.aborted);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(run.driver->totals().attempts_cancelled, 1);
  EXPECT_EQ(run.driver->unfinished(), 0u);
  run.driver->cancel(id);  // ended already: a no-op
  EXPECT_EQ(run.results.size(), 1u);
  EXPECT_TRUE(run.run_until([&] { return fleet.inflight("hang") == 0; })) << "the upstream call was left open";
  EXPECT_EQ(fleet.requests(), 1) << "no retry for a request its caller gave up";
}

TEST(LiveDriver, AbortEndsEveryUnfinishedRequest) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  DriverRun run(fleet.live_config(kKeyEnv));
  ASSERT_TRUE(run.driver);
  for (int i = 0; i < 3; ++i) run.submit(run.request("hang"));
  run.io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(run.results.size(), 0u);
  run.driver->abort();
  ASSERT_EQ(run.results.size(), 3u);
  for (const LiveResult& r : run.results) {
    EXPECT_TRUE(r.aborted);
    EXPECT_GE(r.attempts, 1) << "an aborted request reports the attempts it sent";
    EXPECT_GT(r.latency, Duration{0}) << "an aborted request reports how long it ran";
  }
  EXPECT_EQ(run.driver->unfinished(), 0u);
  run.submit(run.request("ok"));  // no request is accepted after abort
  ASSERT_EQ(run.results.size(), 4u);
  EXPECT_TRUE(run.results.back().aborted);
}

}  // namespace
}  // namespace failover::transport

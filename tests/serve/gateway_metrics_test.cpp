// GET /metrics: the page parses as Prometheus text format 0.0.4 (checked by promtool, the
// Prometheus project's own parser and linter), and its numbers say exactly what the
// gateway did -- N requests served, one failover, one refusal. Every count is made on the
// engine's thread in the same turn that hands the answer to the connection, and the page
// is rendered on that thread afterwards, so a scrape after the answers sees them all.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "serve/gateway_metrics.h"
#include "tests/serve/gateway_fixture.h"

namespace failover::test {
namespace {

HttpExchange get(std::uint16_t port, const std::string& path, const std::string& auth) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nhost: 127.0.0.1\r\n" + auth + "connection: close\r\n\r\n");
}

std::string bearer() {
  return std::string("authorization: Bearer ") + kGatewayKey + "\r\n";
}

// promtool's verdict on `page`: its exit code and what it printed.
std::pair<int, std::string> promtool_check(const std::string& page) {
  if (std::string(FAILOVER_PROMTOOL).empty()) {
    return {-1,
            "promtool was not found when the build was configured: scripts/install-deps.sh installs it "
            "(Debian package prometheus)"};
  }
  const std::string file = ::testing::TempDir() + "metrics_page.txt";
  {
    std::ofstream out(file, std::ios::binary);
    out << page;
  }
  const std::string command = std::string(FAILOVER_PROMTOOL) + " check metrics < " + file + " 2>&1";
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "cannot run " + command};
  std::string said;
  std::array<char, 512> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) said += buffer.data();
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, said};
}

// The page's samples: "name{labels}" as written -> value. Comment lines are checked for
// form only (promtool checks the rest).
std::map<std::string, double> samples(const std::string& page) {
  std::map<std::string, double> out;
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    const std::string key = line.substr(0, space);
    EXPECT_EQ(out.count(key), 0U) << "a series twice: " << key;
    out[key] = std::stod(line.substr(space + 1));
  }
  return out;
}

// The value of `key`, or -1 when the page has no such series.
double value(const std::map<std::string, double>& s, const std::string& key) {
  const auto it = s.find(key);
  return it == s.end() ? -1 : it->second;
}

int series_count(const std::map<std::string, double>& s, const std::string& prefix) {
  int n = 0;
  for (const auto& [key, v] : s) n += key.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

TEST(GatewayMetrics, ThePageParsesAndCountsExactlyWhatHappened) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  TestGateway gateway(fleet_config(fleet), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  constexpr int kServed = 5;
  for (int i = 0; i < kServed; ++i) {
    const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("ok", i % 2 == 1));
    ASSERT_EQ(r.status, 200U) << r.body;
  }
  const HttpExchange failover = gateway.post("/v1/chat/completions", openai_body("main"));  // storm 503, then ok
  ASSERT_EQ(failover.status, 200U) << failover.body;
  ASSERT_EQ(failover.field("x-failover-attempts"), "2");
  const HttpExchange refused = gateway.post("/v1/chat/completions", openai_body("ok"), "");
  ASSERT_EQ(refused.status, 401U);

  const HttpExchange page = get(gateway.port(), "/metrics", bearer());
  ASSERT_EQ(page.status, 200U) << page.body;
  EXPECT_EQ(page.field("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto [code, said] = promtool_check(page.body);
  EXPECT_EQ(code, 0) << "promtool check metrics: " << said << "\n" << page.body;

  const std::map<std::string, double> s = samples(page.body);
  EXPECT_EQ(value(s, R"(failover_requests_total{route="ok",result="ok"})"), kServed);
  EXPECT_EQ(value(s, R"(failover_requests_total{route="main",result="ok"})"), 1);
  EXPECT_EQ(value(s, R"(failover_requests_total{route="",result="refused"})"), 1);
  EXPECT_EQ(series_count(s, "failover_requests_total{"), 3) << page.body;
  EXPECT_EQ(value(s, R"(failover_attempts_total{target="ok/gpt-ok",outcome="success"})"), kServed + 1);
  EXPECT_EQ(value(s, R"(failover_attempts_total{target="storm/gpt-storm",outcome="transient"})"), 1);
  EXPECT_EQ(series_count(s, "failover_attempts_total{"), 2) << page.body;
  EXPECT_EQ(value(s, "failover_retries_total"), 1);
  EXPECT_EQ(value(s, "failover_hedges_total"), 0);

  // Histograms: cumulative buckets ending in +Inf = _count, one observation per request.
  EXPECT_EQ(value(s, R"(failover_request_duration_seconds_count{route="ok"})"), kServed);
  EXPECT_EQ(value(s, R"(failover_request_duration_seconds_bucket{route="ok",le="+Inf"})"), kServed);
  EXPECT_EQ(value(s, R"(failover_request_duration_seconds_count{route="main"})"), 1);
  EXPECT_GT(value(s, R"(failover_request_duration_seconds_sum{route="ok"})"), 0);
  EXPECT_EQ(value(s, R"(failover_time_to_first_token_seconds_count{route="ok"})"), kServed);
  EXPECT_LE(value(s, R"(failover_time_to_first_token_seconds_sum{route="ok"})"),
            value(s, R"(failover_request_duration_seconds_sum{route="ok"})"));
  double previous = 0;
  for (const std::int64_t bound : serve::Histogram::kBoundsUs) {
    std::ostringstream le;
    le << static_cast<double>(bound) / 1e6;
    const double v = value(s, R"(failover_request_duration_seconds_bucket{route="ok",le=")" + le.str() + "\"}");
    ASSERT_GE(v, previous) << "le=" << le.str() << " missing or not cumulative:\n" << page.body;
    previous = v;
  }
  EXPECT_LE(previous, kServed);

  // Gauges after the traffic: nothing queued or in flight, the storm's breaker not open
  // after a single failure, costs from the fleet's usage at the config's prices.
  EXPECT_EQ(value(s, "failover_queue_depth"), 0);
  EXPECT_EQ(value(s, "failover_requests_in_progress"), 0);
  EXPECT_EQ(value(s, R"(failover_inflight_attempts{target="ok/gpt-ok"})"), 0);
  EXPECT_EQ(value(s, R"(failover_breaker_state{target="ok/gpt-ok",state="closed"})"), 1);
  EXPECT_EQ(value(s, R"(failover_breaker_state{target="ok/gpt-ok",state="open"})"), 0);
  EXPECT_EQ(value(s, R"(failover_breaker_open_until_seconds{target="ok/gpt-ok"})"), 0);
  EXPECT_GT(value(s, R"(failover_cost_usd_total{target="ok/gpt-ok"})"), 0);
  EXPECT_EQ(value(s, R"(failover_cost_usd_total{target="storm/gpt-storm"})"), 0);
  EXPECT_EQ(value(s, R"(failover_possibly_billed_usd_total{target="ok/gpt-ok"})"), 0);
  EXPECT_GE(value(s, "failover_connections"), 1) << "the scrape's own connection";
}

TEST(GatewayMetrics, AnOpenBreakerShowsItsStateAndWhenItLetsAProbeThrough) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  TestGateway gateway(fleet_config(fleet), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  for (int i = 0; i < 12; ++i) {
    const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("main"));
    ASSERT_EQ(r.status, 200U) << r.body;
  }
  const double before = static_cast<double>(std::time(nullptr));
  const HttpExchange page = get(gateway.port(), "/metrics", bearer());
  ASSERT_EQ(page.status, 200U);
  const std::map<std::string, double> s = samples(page.body);
  EXPECT_EQ(value(s, R"(failover_breaker_state{target="storm/gpt-storm",state="open"})"), 1) << page.body;
  EXPECT_EQ(value(s, R"(failover_breaker_state{target="storm/gpt-storm",state="closed"})"), 0);
  EXPECT_EQ(value(s, R"(failover_breaker_trips_total{target="storm/gpt-storm"})"), 1);
  const double until = value(s, R"(failover_breaker_open_until_seconds{target="storm/gpt-storm"})");
  EXPECT_GT(until, before) << "open_until is a Unix time in the future";
  EXPECT_LT(until, before + 3'600);
  const double storm = value(s, R"(failover_attempts_total{target="storm/gpt-storm",outcome="transient"})");
  EXPECT_EQ(value(s, R"(failover_requests_total{route="main",result="ok"})"), 12);
  EXPECT_EQ(value(s, "failover_retries_total"), storm) << "each storm failure was followed by one more attempt";
  EXPECT_EQ(value(s, R"(failover_attempts_total{target="ok/gpt-ok",outcome="success"})"), 12);
}

TEST(GatewayMetrics, TheScrapeNeedsAKeyAndAGet) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  TestGateway gateway(fleet_config(fleet), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  EXPECT_EQ(get(gateway.port(), "/metrics", "").status, 401U);
  EXPECT_EQ(get(gateway.port(), "/metrics", "authorization: Bearer wrong\r\n").status, 401U);
  const HttpExchange post = http_exchange(gateway.port(), test::post("/metrics", "{}", bearer()));
  EXPECT_EQ(post.status, 405U);
}

TEST(GatewayMetrics, LabelValuesAreEscapedAndCountersSurviveARebind) {
  // A unit test of the page alone: a provider name with a quote and a backslash.
  Config config;
  ProviderConfig p;
  p.name = "we\"ird\\name";
  p.models.push_back(ModelConfig{});
  p.models.back().id = "m";
  config.providers.push_back(p);
  config.targets.push_back(TargetKey{0, 0});
  serve::GatewayMetrics metrics;
  const serve::GatewayMetrics::Targets before = metrics.bind(config);
  serve::GatewayMetrics::attempt_ended(before, 0, "success");
  const serve::GatewayMetrics::Targets after = metrics.bind(config);  // a reload keeping the target
  serve::GatewayMetrics::attempt_ended(after, 0, "success");
  HealthReport health;
  serve::MetricsSnapshot snapshot;
  snapshot.config = &config;
  snapshot.health = &health;
  const std::string page = metrics.render(snapshot);
  EXPECT_NE(page.find(R"(failover_attempts_total{target="we\"ird\\name/m",outcome="success"} 2)"), std::string::npos)
      << page;
  const auto [code, said] = promtool_check(page);
  EXPECT_EQ(code, 0) << said << page;
}

}  // namespace
}  // namespace failover::test

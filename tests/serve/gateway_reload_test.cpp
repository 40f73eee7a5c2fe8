// Gateway::reload (SIGHUP in `failover serve`): a new config swapped in while traffic
// flows -- every request answered, a kept target's open breaker still open, a changed
// target fresh, a config that cannot run refused with traffic going on, the new keys
// applied at once. tests/cli/serve_reload_test.sh does the same through the real
// signal and a rewritten file.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/serve/gateway_fixture.h"

namespace failover::test {
namespace {

HttpExchange scrape(std::uint16_t port) {
  return http_exchange(port, std::string("GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ") +
                                 kGatewayKey + "\r\nconnection: close\r\n\r\n");
}

bool has_line(const std::string& page, const std::string& line) {
  return page.find("\n" + line + "\n") != std::string::npos;
}

// Opens the storm's breaker: route "main" fails over from it until it trips.
void trip_storm(TestGateway& gateway) {
  for (int i = 0; i < 12; ++i) {
    const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("main"));
    ASSERT_EQ(r.status, 200U) << r.body;
  }
  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("main"));
  ASSERT_EQ(r.field("x-failover-attempts"), "1") << "the storm's breaker is open";
}

TEST(GatewayReload, AKeptTargetsOpenBreakerStaysOpenAndAChangedTargetStartsFresh) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  const Config config = fleet_config(fleet);
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  trip_storm(gateway);

  Config next = config;
  for (ProviderConfig& p : next.providers) {
    if (p.name == "hang") p.concurrency_max += 1;  // a changed definition: that target starts fresh
  }
  const Result<serve::ReloadReport> report = gateway.gateway().reload(serve::GatewayConfig{next, test_serve_config()});
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_NE(std::find(report->kept.begin(), report->kept.end(), "storm/gpt-storm"), report->kept.end());
  EXPECT_EQ(report->fresh, std::vector<std::string>{"hang/gpt-hang"});

  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("main"));
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(r.field("x-failover-attempts"), "1") << "the kept breaker is still open after the reload";
  const HttpExchange page = scrape(gateway.port());
  ASSERT_EQ(page.status, 200U);
  EXPECT_TRUE(has_line(page.body, R"(failover_breaker_state{target="storm/gpt-storm",state="open"} 1)")) << page.body;
  EXPECT_TRUE(has_line(page.body, R"(failover_config_reloads_total{result="ok"} 1)")) << page.body;
  EXPECT_TRUE(has_line(page.body, R"(failover_requests_total{route="main",result="ok"} 14)"))
      << "counters go on across the reload:\n"
      << page.body;
}

TEST(GatewayReload, AConfigThatCannotRunIsRefusedAndTrafficGoesOn) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  const Config config = fleet_config(fleet);
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  trip_storm(gateway);

  Config unset_key = config;
  unset_key.providers.front().api_key_env = "FAILOVER_RELOAD_TEST_UNSET_VARIABLE";
  const Result<serve::ReloadReport> bad =
      gateway.gateway().reload(serve::GatewayConfig{unset_key, test_serve_config()});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("FAILOVER_RELOAD_TEST_UNSET_VARIABLE"), std::string::npos)
      << bad.error().message();
  serve::ServeConfig open = test_serve_config();
  open.key_sha256.clear();  // neither keys nor allow_unauthenticated: an open proxy, refused
  EXPECT_FALSE(gateway.gateway().reload(serve::GatewayConfig{config, open}).has_value());
  gateway.gateway().reload_refused();  // as the CLI says when the file does not even load

  const HttpExchange r = gateway.post("/v1/chat/completions", openai_body("main"));
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(r.field("x-failover-attempts"), "1") << "the old config, breaker and all, still serves";
  EXPECT_EQ(gateway.post("/v1/chat/completions", openai_body("ok"), "").status, 401U) << "the old keys still apply";
  const HttpExchange page = scrape(gateway.port());
  EXPECT_TRUE(has_line(page.body, R"(failover_config_reloads_total{result="failed"} 3)")) << page.body;
  EXPECT_TRUE(has_line(page.body, R"(failover_config_reloads_total{result="ok"} 0)")) << page.body;
}

TEST(GatewayReload, NewKeysApplyAtOnce) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  TestGateway gateway(fleet_config(fleet), test_serve_config());
  ASSERT_TRUE(gateway.ok());
  serve::ServeConfig rotated = test_serve_config();
  rotated.key_sha256 = {serve::sha256_hex("sk-gateway-next-key")};
  rotated.idle_timeout = sec(5);  // not applied on reload: a note says so
  const Result<serve::ReloadReport> report =
      gateway.gateway().reload(serve::GatewayConfig{fleet_config(fleet), rotated});
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_EQ(report->notes,
            std::vector<std::string>{"[serve] idle_timeout changed: it applies after a restart, not on reload"});
  EXPECT_EQ(gateway.post("/v1/chat/completions", openai_body("ok")).status, 401U) << "the old key is gone";
  const HttpExchange r =
      gateway.post("/v1/chat/completions", openai_body("ok"), "authorization: Bearer sk-gateway-next-key\r\n");
  EXPECT_EQ(r.status, 200U) << r.body;
}

TEST(GatewayReload, ReloadsUnderLoadLoseNoRequest) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  const Config config = fleet_config(fleet);
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  constexpr int kClients = 4;
  constexpr int kPerClient = 40;  // bounded: 160 requests, a few ms each
  std::atomic<int> done{0};
  std::atomic<int> answered_ok{0};
  std::vector<std::string> failures[kClients];
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kPerClient; ++i) {
        const bool stream = (i + c) % 3 == 0;
        const std::string route = c % 2 == 0 ? "main" : "ok";
        const HttpExchange r = gateway.post("/v1/chat/completions", openai_body(route, stream));
        if (r.status == 200 && r.complete) {
          ++answered_ok;
        } else {
          failures[c].push_back(std::to_string(r.status) + " " + r.body);
        }
        ++done;
      }
    });
  }
  // Reloads while the clients run: each waits for some traffic first (bounded), then swaps.
  int reloads = 0;
  for (int k = 1; k <= 5; ++k) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (done.load() < k * kClients * kPerClient / 6 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Config next = config;
    if (k % 2 == 1) next.providers.back().concurrency_max += k;  // alternately one target changed
    const Result<serve::ReloadReport> report =
        gateway.gateway().reload(serve::GatewayConfig{next, test_serve_config()});
    EXPECT_TRUE(report.has_value()) << report.error().message();  // no ASSERT: the clients must be joined
    reloads += report.has_value() ? 1 : 0;
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(reloads, 5);
  EXPECT_EQ(answered_ok.load(), kClients * kPerClient);
  for (int c = 0; c < kClients; ++c) EXPECT_TRUE(failures[c].empty()) << failures[c].front();
  EXPECT_EQ(gateway.gateway().core_stats().unfinished, 0);
  const HttpExchange page = scrape(gateway.port());
  EXPECT_TRUE(has_line(page.body, R"(failover_config_reloads_total{result="ok"} 5)")) << page.body;
}

}  // namespace
}  // namespace failover::test

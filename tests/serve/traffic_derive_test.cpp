// Replay your own traffic, end to end (docs/traffic-log.md): the fleet serves a known
// outage (tests/transport/recorded-outage.toml: a 503 burst, then a 429 window, at time
// scale 30), a client sends 100 requests a second through the gateway with its traffic
// log on, and `failover derive`'s timeline, taken from that log alone, must match the
// fleet's within a minute and within 5 points of intensity; the derived scenario then
// loads and replays the recorded arrivals. Real components throughout: the fleet, the
// gateway, the transport client; every wait is bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "core/transport/http_client.h"
#include "core/transport/tls.h"
#include "core/transport/url.h"
#include "sim/derive.h"
#include "sim/scenario_load.h"
#include "sim/simulation.h"
#include "sim/traffic_log.h"
#include "tests/serve/gateway_fixture.h"

namespace failover::test {
namespace {

constexpr std::int64_t kTimeScale = 30;
constexpr int kRequests = 1'900;  // 19 s at 100 a second: 9m30s of the fleet's 10 minutes
constexpr auto kGap = std::chrono::milliseconds(10);

// Sends kRequests chat completions for route "main" to the gateway, one every kGap, on
// keep-alive TLS connections (the transport's own client); returns how many got an answer.
int drive(std::uint16_t port) {
  namespace asio = boost::asio;
  asio::io_context io;
  transport::TlsOptions tls_options;
  tls_options.ca_file = test_ca().ca_file;
  Result<std::shared_ptr<asio::ssl::context>> tls = transport::make_tls_context(tls_options);
  if (!tls) {
    ADD_FAILURE() << tls.error().message();
    return 0;
  }
  Result<transport::Url> url = transport::parse_url("https://127.0.0.1:" + std::to_string(port));
  if (!url) {
    ADD_FAILURE() << url.error().message();
    return 0;
  }
  transport::ClientOptions options;
  // Below the gateway's 64 connections per client address: past that it closes idle ones
  // or refuses (serve.connections_per_client_max), and under load the requests in flight
  // grow; the client queues for a connection instead.
  options.connections_max = 48;
  options.total_timeout = sec(20);
  transport::ProviderClient client(io, *tls, *url, Protocol::openai, options);
  int answered = 0;
  int done = 0;
  int sent = 0;
  asio::steady_timer timer(io);
  const auto start = std::chrono::steady_clock::now();
  std::function<void()> send_next = [&] {
    if (sent == kRequests) return;
    transport::HttpAttempt a;
    a.path = "/v1/chat/completions";
    a.headers.push_back({"content-type", "application/json"});
    a.headers.push_back({"authorization", std::string("Bearer ") + kGatewayKey});
    a.body = openai_body("main");
    transport::AttemptCallbacks callbacks;
    callbacks.on_done = [&](transport::AttemptResult&& r) {
      if (r.outcome.http_status != 0) ++answered;
      if (++done == kRequests) io.stop();
    };
    client.start(std::move(a), std::move(callbacks));
    ++sent;
    timer.expires_at(start + kGap * sent);  // on a schedule: a late send does not push the rest back
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) send_next();
    });
  };
  asio::post(io, send_next);
  io.run_for(std::chrono::seconds(40));  // bounded: the schedule takes 19 s, then the last answers
  client.shutdown();
  return answered;
}

// The window of `kind` (and status) on `provider` whose start is nearest `f`'s.
const sim::DerivedFault* match(const std::vector<sim::DerivedFault>& derived, const std::string& provider,
                               const sim::Fault& f) {
  const sim::DerivedFault* best = nullptr;
  for (const sim::DerivedFault& d : derived) {
    if (d.provider != provider || d.fault.kind != f.kind || d.fault.status != f.status) continue;
    if (best == nullptr || std::abs(to_us(d.fault.start - f.start)) < std::abs(to_us(best->fault.start - f.start))) {
      best = &d;
    }
  }
  return best;
}

TEST(TrafficLogDerive, TheDerivedTimelineMatchesTheFleetsWithinAMinuteAndFivePoints) {
  Fleet fleet("recorded-outage.toml", false, kTimeScale);
  ASSERT_TRUE(fleet.ok());
  // The fleet's clock started a moment ago, as its constructor returned: the derived
  // minutes are counted from here (derive --from), not from the first request, which a
  // loaded machine delays by seconds of scenario time.
  const std::int64_t fleet_start_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("traffic-derive-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string log_path = (dir / "requests.jsonl").string();
  std::FILE* log = std::fopen(log_path.c_str(), "w");
  ASSERT_NE(log, nullptr);
  {
    TestGateway gateway(fleet_config(fleet), test_serve_config(), log);
    ASSERT_TRUE(gateway.ok());
    EXPECT_EQ(drive(gateway.port()), kRequests);
    gateway.gateway().stop();  // every line is written once stop() returns
  }
  std::fclose(log);

  const Result<sim::TrafficLog> parsed = sim::read_traffic_log_file(log_path);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  ASSERT_EQ(parsed->requests.size(), static_cast<std::size_t>(kRequests));
  EXPECT_EQ(parsed->form, sim::LogForm::gateway);
  EXPECT_TRUE(parsed->requests.back().output_tokens.has_value());  // the usage the fleet reported

  sim::DeriveOptions options;
  options.time_scale = kTimeScale;
  options.origin_us = fleet_start_us;
  const sim::Derived derived = sim::derive_timeline(*parsed, options);
  for (const sim::DerivedFault& d : derived.faults) {
    std::printf("derived: %s kind %d status %d from %s for %s: %lld of %lld\n", d.provider.c_str(),
                static_cast<int>(d.fault.kind), d.fault.status, duration_text(d.fault.start - kTimeZero).c_str(),
                duration_text(d.fault.duration).c_str(), static_cast<long long>(d.hits),
                static_cast<long long>(d.attempts));
  }
  const sim::Scenario& known = fleet.scenario();
  std::size_t expected_windows = 0;
  for (std::size_t p = 0; p < known.providers.size(); ++p) {
    const std::string& name = known.policies.front().config.providers[p].name;
    for (const sim::Fault& f : known.providers[p].faults) {
      ++expected_windows;
      const sim::DerivedFault* d = match(derived.faults, name, f);
      ASSERT_NE(d, nullptr) << name << ": no derived window for the fault at " << duration_text(f.start - kTimeZero);
      EXPECT_LE(std::abs(to_us(d->fault.start - f.start)), to_us(minutes(1))) << name;
      EXPECT_LE(std::abs(to_us((d->fault.start + d->fault.duration) - (f.start + f.duration))), to_us(minutes(1)))
          << name;
      const double known_share = static_cast<double>(f.intensity.num) / static_cast<double>(f.intensity.den);
      const double derived_share =
          static_cast<double>(d->fault.intensity.num) / static_cast<double>(d->fault.intensity.den);
      EXPECT_NEAR(derived_share, known_share, 0.05) << name << " " << f.status;
    }
  }
  // Anything else derived is an edge minute a fault only partly covered, next to its window.
  for (const sim::DerivedFault& d : derived.faults) {
    bool known_window = false;
    for (std::size_t p = 0; p < known.providers.size(); ++p) {
      for (const sim::Fault& f : known.providers[p].faults) {
        const std::string& name = known.policies.front().config.providers[p].name;
        if (match(derived.faults, name, f) == &d) known_window = true;
      }
    }
    // The fleet's latency is constant, but a loaded machine's is not: the gateway may see
    // slow minutes, and saying so is right. Only the error windows are held to the timeline.
    if (known_window || d.fault.kind == sim::FaultKind::latency) continue;
    EXPECT_EQ(d.fault.duration, minutes(1)) << "a stray window on " << d.provider;
    EXPECT_LT(d.fault.intensity.num * 5, d.fault.intensity.den) << "a stray window on " << d.provider;
  }
  EXPECT_GE(derived.faults.size(), expected_windows);

  // The scenario derived from it loads, and replays the recorded arrivals.
  sim::DeriveText text;
  text.title = "recorded";
  text.log_path = "requests.jsonl";
  text.time_scale = kTimeScale;
  text.command = "failover derive requests.jsonl --time-scale 30";
  const Result<std::string> scenario = sim::derived_scenario_text(derived, text);
  ASSERT_TRUE(scenario.has_value()) << scenario.error().message();
  const Result<sim::Scenario> s = sim::load_scenario_string(*scenario, (dir / "derived.toml").string());
  ASSERT_TRUE(s.has_value()) << s.error().message() << "\n" << *scenario;
  const sim::RunResult run = sim::run_simulation(s->run_spec(s->policies.front(), 1));
  EXPECT_EQ(run.arrived, kRequests);
  EXPECT_TRUE(run.conserved);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace failover::test

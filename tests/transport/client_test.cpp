// ProviderClient (core/transport/http_client.h) against the fleet served over TLS on
// loopback: each behaviour of the fake providers must come back as the right Outcome,
// connections must be pooled and bounded, and cancelled attempts must stay silent.
#include "core/transport/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "core/transport/tls.h"
#include "serve/fleet_wire.h"
#include "sim/fleet.h"
#include "tests/transport/fleet_fixture.h"

namespace failover::transport {
namespace {

using test::Fleet;
using test::test_ca;

// Trusts the test CA only.
TlsOptions test_tls() {
  TlsOptions o;
  o.ca_file = test_ca().ca_file;
  o.system_trust_store = false;
  return o;
}

struct Harness {
  Harness(const Fleet& fleet, const std::string& provider_name, ClientOptions options = {},
          const TlsOptions& tls_options = test_tls())
      : config(fleet.live_config()) {
    Result<std::shared_ptr<boost::asio::ssl::context>> ctx = make_tls_context(tls_options);
    EXPECT_TRUE(ctx);
    tls = *ctx;
    const auto p = config.provider_index(provider_name);
    EXPECT_TRUE(p.has_value()) << provider_name;
    provider = config.providers.at(*p);
    Result<Url> url = parse_url(provider.base_url);
    EXPECT_TRUE(url) << provider.base_url;
    client = std::make_unique<ProviderClient>(io, tls, *url, provider.protocol, options);
  }

  HttpAttempt encode(std::int64_t max_tokens, bool stream) const {
    protocol::ChatRequest chat;
    chat.model = provider.models.front().id;
    chat.messages.push_back(protocol::Message{"user", "Say something."});
    chat.max_tokens = max_tokens;
    chat.stream = stream;
    protocol::EncodedRequest e = protocol::encode_request(provider.protocol, chat);
    HttpAttempt a;
    a.path = client->url().path + e.path;
    a.headers = e.headers;
    a.body = e.body;
    a.stream = stream;
    return a;
  }

  AttemptHandle start(std::int64_t max_tokens = 8, bool stream = false) {
    const std::size_t slot = results.size();
    results.emplace_back();
    AttemptCallbacks cb;
    cb.on_first_byte = [this] { ++first_bytes; };
    cb.on_done = [this, slot](AttemptResult&& r) { results[slot] = std::move(r); };
    return client->start(encode(max_tokens, stream), std::move(cb));
  }

  // Runs the io_context until every started attempt is done, at most `limit`.
  bool wait_all(std::chrono::milliseconds limit = std::chrono::milliseconds(10'000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      bool all = true;
      for (const auto& r : results) all = all && r.has_value();
      if (all) return true;
      io.restart();
      io.run_one_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void run_for(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      io.restart();
      io.run_one_for(std::chrono::milliseconds(20));
    }
  }

  AttemptResult one(std::int64_t max_tokens = 8, bool stream = false) {
    start(max_tokens, stream);
    EXPECT_TRUE(wait_all());
    return results.back().value_or(AttemptResult{});
  }

  Config config;
  ProviderConfig provider;
  boost::asio::io_context io;
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::unique_ptr<ProviderClient> client;
  std::vector<std::optional<AttemptResult>> results;
  int first_bytes = 0;
};

TEST(Client, OpenAiAnswerIsSuccessWithUsageAndText) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "ok");
  const AttemptResult r = h.one(8);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::success) << r.detail;
  EXPECT_TRUE(r.outcome.usage.reported);
  EXPECT_GT(r.outcome.usage.input_tokens, 0);
  EXPECT_EQ(r.outcome.usage.output_tokens, 8);
  EXPECT_EQ(r.text, serve::answer_text(8));
  EXPECT_EQ(h.first_bytes, 1);
}

TEST(Client, AnthropicAnswerIsSuccessWithUsageAndText) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "okant");
  const AttemptResult r = h.one(12);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::success) << r.detail;
  EXPECT_EQ(r.outcome.usage.output_tokens, 12);
  EXPECT_EQ(r.text, serve::answer_text(12));
}

TEST(Client, StreamedAnswersOfBothProtocolsDecodeToTheSameText) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  for (const char* provider : {"ok", "okant"}) {
    Harness h(fleet, provider);
    const AttemptResult r = h.one(40, true);
    EXPECT_EQ(r.outcome.kind, OutcomeKind::success) << provider << ": " << r.detail;
    EXPECT_EQ(r.text, serve::answer_text(40)) << provider;
    EXPECT_TRUE(r.outcome.usage.reported) << provider;
    EXPECT_EQ(r.outcome.usage.output_tokens, 40) << provider;
    EXPECT_EQ(h.first_bytes, 1) << provider;
  }
}

TEST(Client, KeepAliveConnectionIsReusedForTheNextAttempt) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "ok");
  const AttemptResult first = h.one();
  const AttemptResult second = h.one();
  EXPECT_EQ(first.outcome.kind, OutcomeKind::success);
  EXPECT_EQ(second.outcome.kind, OutcomeKind::success);
  EXPECT_FALSE(first.reused_connection);
  EXPECT_TRUE(second.reused_connection);
  EXPECT_EQ(h.client->stats().connections_made, 1);
  EXPECT_EQ(h.client->stats().idle, 1);
}

TEST(Client, PoolOpensAtMostConnectionsMax) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  ClientOptions o;
  o.connections_max = 2;
  Harness h(fleet, "ok", o);
  for (int i = 0; i < 8; ++i) h.start();
  ASSERT_TRUE(h.wait_all());
  for (const auto& r : h.results) EXPECT_EQ(r->outcome.kind, OutcomeKind::success) << r->detail;
  EXPECT_LE(h.client->stats().connections_made, 2);
  EXPECT_LE(h.client->stats().open, 2);
  EXPECT_GE(h.client->stats().reuses, 6);
}

TEST(Client, ServerErrorIsHttpStatus) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "storm");
  const AttemptResult r = h.one();
  EXPECT_EQ(r.outcome.kind, OutcomeKind::http_status);
  EXPECT_EQ(r.outcome.http_status, 503);
  EXPECT_EQ(r.outcome.refusal, Refusal::none);
  EXPECT_NE(r.detail.find("503"), std::string::npos) << r.detail;
  // An error response keeps the connection: the next attempt reuses it.
  const AttemptResult again = h.one();
  EXPECT_EQ(again.outcome.http_status, 503);
  EXPECT_TRUE(again.reused_connection);
}

TEST(Client, RateLimitCarriesRetryAfter) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "limited");
  const AttemptResult r = h.one();
  EXPECT_EQ(r.outcome.kind, OutcomeKind::http_status);
  EXPECT_EQ(r.outcome.http_status, 429);
  ASSERT_TRUE(r.outcome.retry_after.has_value());
  EXPECT_EQ(*r.outcome.retry_after, sec(30));
}

TEST(Client, UndecodableBodyIsMalformed) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "garbled");
  const AttemptResult r = h.one();
  EXPECT_EQ(r.outcome.kind, OutcomeKind::malformed) << r.detail;
  Harness s(fleet, "garbled");
  const AttemptResult streamed = s.one(20, true);
  EXPECT_EQ(streamed.outcome.kind, OutcomeKind::malformed) << streamed.detail;
}

TEST(Client, ConnectionResetAfterSendingIsReset) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "reset");
  const AttemptResult r = h.one();
  EXPECT_EQ(r.outcome.kind, OutcomeKind::reset) << r.detail;
  EXPECT_EQ(h.client->stats().open, 0);  // a broken connection is closed, not pooled
}

TEST(Client, StreamCutBeforeItsEndMarkerIsTruncated) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "cut");
  const AttemptResult r = h.one(40, true);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::truncated) << r.detail;
  EXPECT_EQ(h.first_bytes, 1);  // part of the stream arrived
}

// The outcome the simulator gives the engine for the first call to `provider` of the
// fixture: what the live client must read off the fleet's wire for the same fault.
Outcome simulated(const Fleet& fleet, const std::string& provider, std::int64_t max_tokens) {
  const sim::Scenario& s = fleet.scenario();
  for (const sim::ProviderSpec& p : s.providers) {
    if (p.name != provider) continue;
    sim::FakeProvider fake(p, Prng(1));
    return fake.start(kTimeZero, sim::AttemptSpec{0, 20, max_tokens, true}).outcome;
  }
  ADD_FAILURE() << "no provider " << provider;
  return {};
}

TEST(Client, StreamFaultsReadAsTheSimulatorClassifiesThem) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  struct Case {
    const char* provider;
    OutcomeKind kind;
    std::int32_t status;
    int first_bytes;  // content arrived before the fault: the engine commits the stream
  };
  for (const Case& c :
       {Case{"erroring", OutcomeKind::http_status, 529, 1}, Case{"erroring-oa", OutcomeKind::http_status, 429, 0},
        Case{"endless", OutcomeKind::truncated, 0, 1}, Case{"stalling", OutcomeKind::success, 200, 1},
        Case{"dying", OutcomeKind::truncated, 0, 1}}) {
    Harness h(fleet, c.provider);
    const AttemptResult r = h.one(40, true);
    EXPECT_EQ(r.outcome.kind, c.kind) << c.provider << ": " << r.detail;
    if (c.kind == OutcomeKind::http_status) {
      EXPECT_EQ(r.outcome.http_status, c.status) << c.provider;
    }
    EXPECT_EQ(h.first_bytes, c.first_bytes) << c.provider;
    const Outcome sim = simulated(fleet, c.provider, 40);
    EXPECT_EQ(sim.kind, r.outcome.kind) << c.provider;
    if (c.kind == OutcomeKind::http_status) {
      EXPECT_EQ(sim.http_status, r.outcome.http_status) << c.provider;
    }
    if (c.kind == OutcomeKind::success) {
      EXPECT_EQ(r.text, serve::answer_text(40)) << c.provider;
    }
  }
}

TEST(Client, BodyCutShortOfItsLengthIsReset) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "cut");
  const AttemptResult r = h.one(40, false);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::reset) << r.detail;
}

TEST(Client, ResponseLargerThanTheLimitIsMalformed) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  ClientOptions o;
  o.response_bytes_max = 1'024;
  Harness h(fleet, "ok", o);
  const AttemptResult r = h.one(2'000);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::malformed) << r.detail;
  EXPECT_NE(r.detail.find("too large"), std::string::npos) << r.detail;
}

TEST(Client, HangEndsAtTheTotalTimeout) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  ClientOptions o;
  o.total_timeout = ms(300);
  Harness h(fleet, "hang", o);
  const auto t0 = std::chrono::steady_clock::now();
  const AttemptResult r = h.one();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.outcome.kind, OutcomeKind::timeout) << r.detail;
  EXPECT_EQ(r.outcome.timeout, TimeoutKind::total);
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  EXPECT_LT(elapsed, std::chrono::milliseconds(5'000));
}

TEST(Client, CancelledAttemptIsNeverReportedAndItsConnectionCloses) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "hang");
  const AttemptHandle a = h.start();
  h.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(h.client->stats().open, 1);
  h.client->cancel(a);
  h.run_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(h.results[0].has_value());
  EXPECT_EQ(h.client->stats().open, 0);
  EXPECT_EQ(h.client->stats().idle, 0);
  h.client->cancel(a);  // a second cancel is a no-op
}

TEST(Client, CertificateForAnotherHostIsRefused) {
  Fleet fleet("faults.toml", /*wrong_host=*/true);
  ASSERT_TRUE(fleet.ok());
  Harness h(fleet, "ok");
  const AttemptResult r = h.one();
  EXPECT_EQ(r.outcome.kind, OutcomeKind::tls_verify) << r.detail;  // a configuration error, not a blip
  EXPECT_NE(r.detail.find("TLS handshake"), std::string::npos) << r.detail;
}

TEST(Client, CertificateFromAnUnknownCaIsRefused) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  const TlsOptions system_only;  // the system trust store, which does not hold the test CA
  Harness h(fleet, "ok", {}, system_only);
  const AttemptResult r = h.one();
  EXPECT_EQ(r.outcome.kind, OutcomeKind::tls_verify) << r.detail;
}

TEST(Client, RefusedConnectionIsConnectError) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  // A port nobody listens on: bind one, note it, close it.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::uint16_t port = probe.local_endpoint().port();
  probe.close();
  Harness h(fleet, "ok");
  Url url = h.client->url();
  url.port = port;
  h.client = std::make_unique<ProviderClient>(h.io, h.tls, url, Protocol::openai, ClientOptions{});
  const AttemptResult r = h.one();
  EXPECT_EQ(r.outcome.kind, OutcomeKind::connect_error) << r.detail;
}

TEST(Tls, MissingCaFileIsAnErrorNamingIt) {
  TlsOptions o;
  o.ca_file = "/nonexistent/ca.pem";
  Result<std::shared_ptr<boost::asio::ssl::context>> ctx = make_tls_context(o);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error().where, "/nonexistent/ca.pem");
}

TEST(StreamErrorType, MapsToTheStatusOfTheSameError) {
  EXPECT_EQ(status_of_error_type("overloaded_error"), 529);
  EXPECT_EQ(status_of_error_type("rate_limit_error"), 429);
  EXPECT_EQ(status_of_error_type("api_error"), 500);
  EXPECT_EQ(status_of_error_type(""), 500);
}

}  // namespace
}  // namespace failover::transport

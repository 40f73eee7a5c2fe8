// A caller that goes away before its answer: the gateway notices its connection
// closing while the request waits -- queued or with an attempt out -- and cancels the
// request in the engine (Engine::cancel). The attempt's upstream connection is closed
// (the fleet's hung call gives its slot back), a queued request never reaches a
// provider and its place goes to the next, and the log and metrics say `cancelled`.
// A caller that sends its next request early (pipelining) is not gone. Real sockets
// throughout: the Gateway over loopback TLS in front of the fake fleet; every wait
// polls a condition against a deadline.
#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "tests/serve/gateway_fixture.h"
#include "tests/serve/log_file.h"

namespace failover::test {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// Polls `condition` every 5 ms until it holds or `limit` passes; whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string auth() {
  return std::string("authorization: Bearer ") + kGatewayKey + "\r\n";
}

// The value of the sample `series` ("name{labels}" as the page writes it) on the
// gateway's metrics page; -1 when the page has no such line.
double metric(std::uint16_t port, const std::string& series) {
  const HttpExchange page =
      http_exchange(port, "GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n" + auth() + "connection: close\r\n\r\n");
  const std::string needle = "\n" + series + " ";
  const std::size_t at = page.body.find(needle);
  if (at == std::string::npos) return -1;
  return std::stod(page.body.substr(at + needle.size()));
}

ssl::context trusting_test_ca() {
  ssl::context tls(ssl::context::tls_client);
  tls.load_verify_file(test_ca().ca_file);
  tls.set_verify_mode(ssl::verify_peer);
  return tls;
}

// A caller on its own TLS connection, written by hand so that it can hang up at a
// moment of the test's choosing. A read waits 5 s at most: no test hangs.
class Caller {
 public:
  explicit Caller(std::uint16_t port) : tls_(trusting_test_ca()), stream_(io_, tls_) {
    stream_.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream_.handshake(ssl::stream_base::client);
  }
  void send(const std::string& raw) { asio::write(stream_, asio::buffer(raw)); }
  // The next response's status; 0 when none came within 5 s.
  unsigned read_status() {
    http::response<http::string_body> response;
    boost::system::error_code ec = asio::error::timed_out;
    bool done = false;
    http::async_read(stream_, buffer_, response, [&](const boost::system::error_code& e, std::size_t) {
      ec = e;
      done = true;
    });
    io_.restart();
    io_.run_for(std::chrono::seconds(5));
    if (!done) {  // give up: the read ends, aborted, before `response` goes away
      hang_up();
      io_.restart();
      io_.run();
      return 0U;
    }
    return ec ? 0U : response.result_int();
  }
  // Hangs up without a word: the TCP connection closes under the TLS session.
  void hang_up() {
    boost::system::error_code ignored;
    stream_.next_layer().close(ignored);
  }

 private:
  asio::io_context io_;
  ssl::context tls_;
  ssl::stream<tcp::socket> stream_;
  boost::beast::flat_buffer buffer_;
};

Config patient_config(const Fleet& fleet) {
  Config config = fleet_config(fleet);
  config.policy.timeouts.request = sec(60);  // nothing but the caller ends these requests
  config.policy.timeouts.attempt = sec(60);
  return config;
}

TEST(GatewayCancel, ACallerThatHangsUpWhileItsAttemptIsOutIsCancelledAndTheUpstreamCallClosed) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  TestGateway gateway(patient_config(fleet), test_serve_config(), log);
  ASSERT_TRUE(gateway.ok());
  {
    Caller caller(gateway.port());
    caller.send(post("/v1/chat/completions", openai_body("hang"), auth()));
    ASSERT_TRUE(eventually([&] { return fleet.inflight("hang") == 1; })) << "the call never reached the fleet";
    caller.hang_up();
  }
  EXPECT_TRUE(eventually([&] { return fleet.inflight("hang") == 0; }))
      << "the upstream call was left running for nobody";
  EXPECT_TRUE(eventually(
      [&] { return metric(gateway.port(), R"(failover_requests_total{route="hang",result="cancelled"})") == 1; }));
  EXPECT_EQ(metric(gateway.port(), R"(failover_attempts_total{target="hang/gpt-hang",outcome="cancelled"})"), 1);
  EXPECT_EQ(fleet.requests(), 1) << "no retry for a caller that left";
  gateway.gateway().stop();
  const std::string text = read_all(log);
  std::fclose(log);
  EXPECT_NE(text.find("\"outcome\": \"cancelled\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"status\": 499"), std::string::npos) << text;
  EXPECT_NE(text.find("the caller closed its connection"), std::string::npos) << text;
}

TEST(GatewayCancel, AQueuedCallerThatHangsUpNeverReachesAProviderAndItsPlaceGoesToTheNext) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config config = patient_config(fleet);
  const std::optional<Index> hang = config.provider_index("hang");
  ASSERT_TRUE(hang.has_value());
  config.providers[*hang].concurrency_max = 1;  // one call at a time: the next one waits
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  const std::uint16_t port = gateway.port();
  const std::string request = post("/v1/chat/completions", openai_body("hang"), auth());
  auto first = std::make_unique<Caller>(port);
  first->send(request);
  ASSERT_TRUE(eventually([&] { return fleet.inflight("hang") == 1; }));
  {
    Caller queued(port);
    queued.send(request);
    ASSERT_TRUE(eventually([&] { return metric(port, "failover_queue_depth") == 1; }));
    queued.hang_up();
  }
  EXPECT_TRUE(eventually([&] { return metric(port, "failover_queue_depth") == 0; }));
  EXPECT_TRUE(
      eventually([&] { return metric(port, R"(failover_requests_total{route="hang",result="cancelled"})") == 1; }));
  EXPECT_EQ(fleet.requests(), 1) << "a request whose caller left while it waited reached a provider";
  // The first caller leaves too: its slot goes to the one waiting behind it.
  Caller next(port);
  next.send(request);
  ASSERT_TRUE(eventually([&] { return metric(port, "failover_queue_depth") == 1; }));
  first->hang_up();
  EXPECT_TRUE(fleet.wait_for_requests(2)) << "the freed slot went to nobody";
  EXPECT_TRUE(eventually([&] { return fleet.inflight("hang") == 1; }));
  EXPECT_TRUE(
      eventually([&] { return metric(port, R"(failover_requests_total{route="hang",result="cancelled"})") == 2; }));
  next.hang_up();
  EXPECT_TRUE(eventually([&] { return fleet.inflight("hang") == 0; }));
  EXPECT_TRUE(
      eventually([&] { return metric(port, R"(failover_requests_total{route="hang",result="cancelled"})") == 3; }));
}

TEST(GatewayCancel, ACallerThatSendsItsNextRequestBeforeItsAnswerIsNotGone) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  Config config = fleet_config(fleet);
  config.policy.timeouts.request = ms(600);  // the hung call ends 504 by itself
  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  Caller caller(gateway.port());
  caller.send(post("/v1/chat/completions", openai_body("hang"), auth()));
  ASSERT_TRUE(eventually([&] { return fleet.inflight("hang") == 1; }));
  // The next request arrives while the first still waits: bytes to read, not a hang-up.
  caller.send(post("/v1/chat/completions", openai_body("ok"), auth()));
  EXPECT_EQ(caller.read_status(), 504U) << "the first request was cancelled as if its caller had gone";
  EXPECT_EQ(caller.read_status(), 200U) << "the pipelined request was not served";
  EXPECT_EQ(metric(gateway.port(), R"(failover_requests_total{route="hang",result="cancelled"})"), -1);
}

}  // namespace
}  // namespace failover::test

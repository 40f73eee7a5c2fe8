// Hostile clients at the scale: 1,100 idle connections (more than connections_max,
// from 22 loopback addresses so that the per-client cap is not what saves the day), TLS
// clients that send their head slowly, and clients that send oversized bodies -- all at
// once -- and a normal request is still served within a second. Bounded: 1,100 + 20
// connections, every wait capped; the gateway listens on 127.0.0.1, the idle clients
// come from other addresses of the loopback range (127.0.0.10..31).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/serve/gateway_fixture.h"

namespace failover::test {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr int kIdle = 1'100;
constexpr int kAddresses = 22;  // 50 idle connections each: under connections_per_client_max (64)

// A TLS client of the gateway, made by hand so that it can misbehave.
struct TlsClient {
  TlsClient(asio::io_context& io, ssl::context& tls, std::uint16_t port) : stream(io, tls) {
    stream.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (!ec) stream.handshake(ssl::stream_base::client, ec);
  }
  ssl::stream<tcp::socket> stream;
  boost::system::error_code ec;
};

std::unique_ptr<ssl::context> client_tls() {
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_client);
  tls->load_verify_file(test_ca().ca_file);
  tls->set_verify_mode(ssl::verify_peer);
  return tls;
}

TEST(GatewayHostile, IdleSlowAndOversizedClientsAtScaleDoNotStopANormalRequest) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  serve::ServeConfig settings = test_serve_config();
  settings.header_read_timeout = sec(5);  // the slow clients are still there when the normal request comes
  settings.body_bytes_max = 64 * 1'024;
  TestGateway gateway(fleet_config(fleet), settings);
  ASSERT_TRUE(gateway.ok());
  ASSERT_EQ(settings.connections_max, 1'024) << "the default cap, below the idle crowd";

  // 1,100 connections that never even start TLS.
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> idle;
  const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), gateway.port());
  for (int i = 0; i < kIdle; ++i) {
    auto socket = std::make_unique<tcp::socket>(io);
    boost::system::error_code ec;
    socket->open(tcp::v4(), ec);
    const std::string from = "127.0.0." + std::to_string(10 + i % kAddresses);
    if (!ec) socket->bind(tcp::endpoint(asio::ip::make_address(from), 0), ec);
    if (!ec) socket->connect(server, ec);
    ASSERT_FALSE(ec) << "idle connection " << i << " from " << from << ": " << ec.message();
    idle.push_back(std::move(socket));
  }

  // 10 TLS clients that dribble their head, one header line every 100 ms.
  std::unique_ptr<ssl::context> tls = client_tls();
  std::vector<std::unique_ptr<TlsClient>> slow;
  for (int i = 0; i < 10; ++i) {
    slow.push_back(std::make_unique<TlsClient>(io, *tls, gateway.port()));
    ASSERT_FALSE(slow.back()->ec) << slow.back()->ec.message();
    boost::system::error_code ec;
    asio::write(slow.back()->stream, asio::buffer(std::string("POST /v1/chat/completions HTTP/1.1\r\n")), ec);
  }
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    for (int tick = 0; tick < 40 && !stop.load(); ++tick) {  // at most 4 s
      for (auto& c : slow) {
        boost::system::error_code ec;
        asio::write(c->stream, asio::buffer(std::string("x-slow: 1\r\n")), ec);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the misbehaviour under test: a slow client
    }
  });

  // 10 TLS clients announcing and sending bodies far over body_bytes_max: each is refused.
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    TlsClient big(io, *tls, gateway.port());
    ASSERT_FALSE(big.ec) << big.ec.message();
    const std::string head = std::string("POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n") +
                             "authorization: Bearer " + kGatewayKey + "\r\ncontent-type: application/json\r\n" +
                             "content-length: " + std::to_string(std::int64_t{1} << 30) + "\r\n\r\n";
    boost::system::error_code ec;
    asio::write(big.stream, asio::buffer(head), ec);
    asio::write(big.stream, asio::buffer(std::string(16 * 1'024, 'x')), ec);  // the server may cut it short
    std::string answer(12, '\0');
    asio::read(big.stream, asio::buffer(answer), ec);
    refused += answer.rfind("HTTP/1.1 413", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(refused, 10);

  const HttpExchange normal = gateway.post("/v1/chat/completions", openai_body("ok"));
  EXPECT_EQ(normal.status, 200U) << normal.body;
  EXPECT_LT(normal.elapsed.count(), 1'000) << "served within a second, connection and TLS included";
  EXPECT_LE(gateway.gateway().connections(), 1'024);

  stop = true;
  dribble.join();
  EXPECT_EQ(fleet.requests(), 1) << "only the normal request went upstream";
}

}  // namespace
}  // namespace failover::test

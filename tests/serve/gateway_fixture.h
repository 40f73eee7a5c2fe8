// The gateway under test: `failover serve`'s Gateway in process, over TLS on 127.0.0.1
// with the test CA's certificate, in front of either the fake fleet (tests/transport/
// faults.toml, over TLS too) or a ScriptedUpstream that records what reached it. Every
// wait is bounded; every server is stopped by its owner.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve/gateway_server.h"
#include "tests/serve/http_test_client.h"
#include "tests/support/test_ca.h"
#include "tests/transport/fleet_fixture.h"

namespace failover::test {

inline constexpr const char* kGatewayKey = "sk-gateway-test-key";
inline constexpr const char* kProviderKeyEnv = "FAILOVER_GATEWAY_TEST_PROVIDER_KEY";

// Serves `responses` in order, one per connection, on 127.0.0.1 over plain HTTP, and
// records each request's head and body. Bounded: at most responses.size() connections.
class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(std::vector<std::string> responses)
      : responses_(std::move(responses)),
        acceptor_(io_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedUpstream() {
    stopping_ = true;  // a blocking accept is woken by one last connection
    boost::system::error_code ec;
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket wake(io);
    wake.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_), ec);
    wake.close(ec);
    thread_.join();
  }
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::vector<std::string> requests() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    namespace asio = boost::asio;
    for (const std::string& response : responses_) {
      boost::system::error_code ec;
      asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      asio::streambuf in(1 << 20);
      const std::size_t head = asio::read_until(socket, in, "\r\n\r\n", ec);
      if (ec) return;
      std::string request(asio::buffers_begin(in.data()),
                          asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(head));
      std::size_t length = 0;
      std::string lower = request;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::size_t at = lower.find("content-length: ");
      if (at != std::string::npos) length = std::strtoul(lower.c_str() + at + 16, nullptr, 10);
      in.consume(head);
      if (in.size() < length) asio::read(socket, in, asio::transfer_exactly(length - in.size()), ec);
      request += std::string(asio::buffers_begin(in.data()), asio::buffers_end(in.data()));
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
      }
      asio::write(socket, asio::buffer(response), ec);
      socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  std::vector<std::string> responses_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::atomic<bool> stopping_{false};
};

// The serve settings of the tests: one accepted key.
inline serve::ServeConfig test_serve_config() {
  serve::ServeConfig s;
  s.present = true;
  s.source = "test";
  s.key_sha256.push_back(serve::sha256_hex(kGatewayKey));
  s.threads = 1;
  return s;
}

// A Gateway on 127.0.0.1:0 over TLS (the test CA's server certificate), trusting the
// test CA upstream. `log` receives the JSON lines when not null.
class TestGateway {
 public:
  TestGateway(const Config& config, const serve::ServeConfig& settings, std::FILE* log = nullptr) {
    setenv(kProviderKeyEnv, "provider-credential-placeholder", 1);
    serve::GatewayOptions options;
    options.listen = {"127.0.0.1", 0};
    options.tls_cert_file = test_ca().server_cert_file;
    options.tls_key_file = test_ca().server_key_file;
    options.core.tls.ca_file = test_ca().ca_file;
    options.core.log = log;
    Result<std::unique_ptr<serve::Gateway>> g = serve::Gateway::start(serve::GatewayConfig{config, settings}, options);
    if (!g) {
      ADD_FAILURE() << g.error().message();
      return;
    }
    gateway_ = std::move(*g);
  }
  [[nodiscard]] bool ok() const { return gateway_ != nullptr; }
  [[nodiscard]] serve::Gateway& gateway() { return *gateway_; }
  [[nodiscard]] std::uint16_t port() const { return gateway_->port(); }

  // One POST with the test key (as the protocol of `path` sends it) unless `auth` overrides.
  HttpExchange post(const std::string& path, const std::string& body, std::string auth = "default",
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) const {
    if (auth == "default") {
      auth = path == "/v1/messages" ? std::string("x-api-key: ") + kGatewayKey + "\r\n"
                                    : std::string("authorization: Bearer ") + kGatewayKey + "\r\n";
    }
    ClientOptions options;
    options.timeout = timeout;
    return http_exchange(port(), test::post(path, body, auth + "connection: close\r\n"), options);
  }

 private:
  std::unique_ptr<serve::Gateway> gateway_;
};

// The fleet's config with every provider's key from kProviderKeyEnv.
inline Config fleet_config(const Fleet& fleet) {
  return fleet.live_config(kProviderKeyEnv);
}

inline std::string openai_body(const std::string& model, bool stream = false, const std::string& extra = "") {
  return "{\"model\":\"" + model + "\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]" +
         (stream ? ",\"stream\":true" : "") + extra + "}";
}

inline std::string anthropic_body(const std::string& model, bool stream = false) {
  return "{\"model\":\"" + model + "\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]" +
         (stream ? ",\"stream\":true" : "") + "}";
}

}  // namespace failover::test

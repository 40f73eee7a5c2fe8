// ProviderClient over plain HTTP to loopback against a hand-written server that closes
// a keep-alive connection right after answering (as a server's idle timeout does): the
// next attempt, on the stale pooled connection, must be replayed once on a new
// connection instead of failing with a reset.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "core/transport/http_client.h"
#include "core/transport/tls.h"

namespace failover::transport {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// Answers `connections` connections, one request each, then closes each without saying
// so; with answer = false it reads the request and closes without a word.
class ClosingServer {
 public:
  explicit ClosingServer(int connections, bool answer = true)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), answer_(answer) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; ++i) serve_one();
    });
  }
  ~ClosingServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  void serve_one() {
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    if (!answer_) {
      socket.close(ec);
      return;
    }
    protocol::ChatResponse answer;
    answer.id = "chatcmpl-1";
    answer.model = "m";
    answer.text = "fresh";
    answer.stop_reason = "stop";
    answer.usage = Usage{3, 1, true};
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = protocol::encode_response(Protocol::openai, answer);
    res.keep_alive(true);  // says keep-alive, then closes anyway
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  bool answer_ = true;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

std::optional<AttemptResult> run_one(asio::io_context& io, ProviderClient& client) {
  std::optional<AttemptResult> result;
  protocol::ChatRequest chat;
  chat.model = "m";
  chat.messages.push_back(protocol::Message{"user", "hi"});
  protocol::EncodedRequest e = protocol::encode_request(Protocol::openai, chat);
  HttpAttempt a{client.url().path + e.path, e.headers, e.body, false};
  AttemptCallbacks cb;
  cb.on_done = [&result](AttemptResult&& r) { result = std::move(r); };
  client.start(std::move(a), std::move(cb));
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!result && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return result;
}

TEST(ClientReplay, StaleKeepAliveConnectionIsReplayedOnceOnANewOne) {
  ClosingServer server(2);
  Result<Url> url = parse_url("http://127.0.0.1:" + std::to_string(server.port()) + "/v1");
  ASSERT_TRUE(url);
  TlsOptions tls_options;
  tls_options.system_trust_store = false;
  Result<std::shared_ptr<asio::ssl::context>> tls = make_tls_context(tls_options);
  ASSERT_TRUE(tls);
  asio::io_context io;
  ProviderClient client(io, *tls, *url, Protocol::openai, ClientOptions{});
  const std::optional<AttemptResult> first = run_one(io, client);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->outcome.kind, OutcomeKind::success) << first->detail;
  EXPECT_EQ(first->text, "fresh");
  EXPECT_EQ(client.stats().idle, 1);                           // pooled: the server said keep-alive
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the server's close arrives
  const std::optional<AttemptResult> second = run_one(io, client);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->outcome.kind, OutcomeKind::success) << second->detail;
  EXPECT_FALSE(second->reused_connection);  // it ended on the new connection
  EXPECT_EQ(client.stats().replays, 1);
  EXPECT_EQ(client.stats().connections_made, 2);
}

TEST(ClientReplay, AFreshConnectionThatBreaksIsNotReplayed) {
  ClosingServer server(1, /*answer=*/false);
  Result<Url> url = parse_url("http://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(url);
  TlsOptions tls_options;
  tls_options.system_trust_store = false;
  Result<std::shared_ptr<asio::ssl::context>> tls = make_tls_context(tls_options);
  ASSERT_TRUE(tls);
  asio::io_context io;
  ProviderClient client(io, *tls, *url, Protocol::openai, ClientOptions{});
  const std::optional<AttemptResult> r = run_one(io, client);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome.kind, OutcomeKind::reset) << r->detail;
  EXPECT_EQ(client.stats().open, 0);
  EXPECT_EQ(client.stats().replays, 0);
}

}  // namespace
}  // namespace failover::transport

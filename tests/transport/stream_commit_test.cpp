// Streaming failover is decided by content, not bytes: a 200 stream whose first event
// is an error, a stream cut before any content, or a body that is no SSE must fail over
// to the next target; only the first content delta delivered to the caller commits the
// request. Driven end to end (LiveDriver, ProviderClient, the engine) against a scripted
// plain-HTTP server on 127.0.0.1 that answers each connection with the next canned
// response.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/codec.h"
#include "core/transport/live_driver.h"

namespace failover::transport {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr const char* kKeyEnv = "FAILOVER_STREAM_COMMIT_TEST_KEY";

// Serves `responses` in order, one per connection, on 127.0.0.1 (an ephemeral port),
// then stops. Each request is read to its end (headers and Content-Length body) before
// the answer is written and the connection closed. Bounded: at most responses.size()
// connections, each read limited to 1 MiB.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::string> responses)
      : responses_(std::move(responses)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    // A blocking accept is not woken by closing the acceptor: connect once, so that a
    // server still waiting for a client that never came sees it and stops.
    stopping_ = true;
    boost::system::error_code ec;
    asio::io_context io;
    tcp::socket wake(io);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    wake.close(ec);
    thread_.join();
  }
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int served() const { return served_; }

 private:
  void serve() {
    for (const std::string& response : responses_) {
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      asio::streambuf in(1 << 20);
      const std::size_t head = asio::read_until(socket, in, "\r\n\r\n", ec);
      if (ec) return;
      std::string headers(asio::buffers_begin(in.data()),
                          asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(head));
      std::size_t length = 0;
      const std::size_t at = headers.find("Content-Length: ");
      if (at != std::string::npos) length = std::strtoul(headers.c_str() + at + 16, nullptr, 10);
      in.consume(head);
      if (in.size() < length) asio::read(socket, in, asio::transfer_exactly(length - in.size()), ec);
      // Counted before the first byte is written: the client cannot see this answer end
      // (and the test read the count) before the count includes it.
      ++served_;
      asio::write(socket, asio::buffer(response), ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  std::vector<std::string> responses_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::atomic<int> served_{0};
  std::atomic<bool> stopping_{false};
};

std::string stream_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body;
}

std::string good_stream() {
  protocol::ChatResponse r;
  r.id = "chatcmpl-good";
  r.model = "m-b";
  r.text = "served by the fallback";
  r.stop_reason = "stop";
  r.usage = {10, 4, true};
  std::string body;
  for (const std::string& e : protocol::encode_stream(Protocol::openai, r, 3)) body += e;
  return stream_response(body);
}

// Providers a (priority 0) and b (priority 1), both served by `server`.
Config two_targets(const ScriptedServer& server) {
  Config c;
  RouteConfig route;
  route.name = "main";
  for (const char* name : {"a", "b"}) {
    ProviderConfig p;
    p.name = name;
    p.base_url = server.base_url();
    p.api_key_env = kKeyEnv;
    p.models.push_back(ModelConfig{std::string("m-") + name, 1'000'000, 1'000'000, 0});
    c.providers.push_back(p);
    const auto i = static_cast<std::int32_t>(c.providers.size() - 1);
    route.targets.push_back(RouteTarget{c.intern_target(static_cast<Index>(i), 0), i, 1});
  }
  c.routes.push_back(route);
  return c;
}

struct Outcomes {
  LiveResult result;
  std::string delivered;  // every delta the caller saw
};

Outcomes run_one(const Config& config) {
  setenv(kKeyEnv, "stream-commit-test-key", 1);
  asio::io_context io;
  Result<std::unique_ptr<LiveDriver>> driver = LiveDriver::create(io, config, LiveOptions{});
  EXPECT_TRUE(driver) << (driver ? "" : driver.error().message());
  Outcomes out;
  if (!driver) return out;
  LiveRequest r;
  r.messages.push_back(protocol::Message{"user", "Stream something."});
  r.max_tokens = 16;
  r.stream = true;
  r.route = 0;
  r.on_text = [&out](std::string_view text) { out.delivered += text; };
  bool done = false;
  (*driver)->submit(std::move(r), [&](LiveResult&& result) {
    out.result = std::move(result);
    done = true;
  });
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(done) << "the request did not end within 20 s";
  return out;
}

void expect_failed_over(const std::string& first_response, const char* what) {
  SCOPED_TRACE(what);
  ScriptedServer server({first_response, good_stream()});
  const Outcomes o = run_one(two_targets(server));
  EXPECT_EQ(o.result.status, RequestStatus::succeeded) << o.result.last_error;
  EXPECT_EQ(o.result.provider, "b");
  EXPECT_EQ(o.result.attempts, 2);
  EXPECT_EQ(o.result.text, "served by the fallback");
  EXPECT_EQ(o.delivered, "served by the fallback");  // nothing of the failed stream reached the caller
  EXPECT_EQ(server.served(), 2);
}

TEST(StreamCommit, AStreamWhoseFirstEventIsAnErrorFailsOver) {
  expect_failed_over(
      stream_response("data: {\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"),
      "error event first");
}

TEST(StreamCommit, AStreamCutBeforeAnyContentFailsOver) {
  // A role-only first chunk carries no content; then the connection closes.
  expect_failed_over(stream_response("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-a\","
                                     "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"),
                     "cut before content");
}

TEST(StreamCommit, ABodyThatIsNoSseFailsOver) {
  expect_failed_over(stream_response("<html>Bad gateway</html>\n\n"), "not SSE");
}

TEST(StreamCommit, AStreamCutAfterContentEndsTheRequestInterrupted) {
  protocol::ChatResponse r;
  r.text = "partial answer that will be cut";
  std::vector<std::string> events = protocol::encode_stream(Protocol::openai, r, 3);
  ScriptedServer server({stream_response(events[0] + events[1]), good_stream()});
  const Outcomes o = run_one(two_targets(server));
  EXPECT_EQ(o.result.status, RequestStatus::failed);
  EXPECT_EQ(o.result.reason, EndReason::stream_interrupted);  // committed: never replayed elsewhere
  EXPECT_FALSE(o.delivered.empty());
  EXPECT_EQ(server.served(), 1);
}

// An answer that opens with a tool call has begun as surely as one that opens with text:
// the stream commits there, so a cut after it ends the request, never replaying elsewhere
// what the caller's tool loop may already have acted on (and a long tool call is not a
// first-byte timeout).
TEST(StreamCommit, AStreamCutAfterAToolCallBeganEndsTheRequestInterrupted) {
  const std::string tool_call =
      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-a\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
      "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\"}}]}}]}\n\n";
  ScriptedServer server({stream_response(tool_call), good_stream()});
  const Outcomes o = run_one(two_targets(server));
  EXPECT_EQ(o.result.status, RequestStatus::failed);
  EXPECT_EQ(o.result.reason, EndReason::stream_interrupted);
  EXPECT_EQ(server.served(), 1);
}

// A redirect is a configuration error (engine issue "liveness"): the request fails on
// its first attempt, naming where the redirect points, and the URL is not asked again.
TEST(Redirect, A307FailsOnItsFirstAttemptNamingTheRedirect) {
  ScriptedServer server(
      {"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://user:pw@elsewhere.example/v1\r\n"
       "Content-Length: 0\r\nConnection: close\r\n\r\n"});
  Config c = two_targets(server);
  c.routes[0].targets.pop_back();  // the redirecting target alone
  const Outcomes o = run_one(c);
  EXPECT_EQ(o.result.status, RequestStatus::failed);
  EXPECT_EQ(o.result.reason, EndReason::misconfigured);
  EXPECT_EQ(o.result.attempts, 1);
  EXPECT_NE(o.result.last_error.find("HTTP 307 redirect to ***@elsewhere.example/v1"), std::string::npos)
      << o.result.last_error;
  EXPECT_EQ(o.result.last_error.find("pw"), std::string::npos) << "userinfo printed";
  EXPECT_EQ(server.served(), 1);
}

}  // namespace
}  // namespace failover::transport

// A small HTTP/1.1 client for the fleet server tests: one request per connection, over
// TLS (verifying the test CA and the host name 127.0.0.1) or plain TCP, on its own
// io_context run for at most a given real time. It keeps whatever arrived -- status,
// headers, the body so far -- and the error that ended the exchange, so that a test can
// tell a reset from a cut body from a hang.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_ca.h"

namespace failover::test {

struct HttpExchange {
  bool connected = false;
  bool timed_out = false;  // nothing ended the exchange within the time allowed
  bool headers = false;    // a response head arrived
  bool complete = false;   // the whole body arrived
  unsigned status = 0;
  std::map<std::string, std::string> fields;  // lower-case names
  std::string body;                           // decoded from chunks; what arrived when cut short
  std::vector<unsigned> statuses;             // every response read on the connection, in order
  std::vector<std::string> bodies;
  boost::system::error_code error;  // what ended a failed exchange
  std::chrono::milliseconds elapsed{0};

  [[nodiscard]] std::string field(const std::string& name) const {
    const auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  }
};

struct ClientOptions {
  bool tls = true;
  std::chrono::milliseconds timeout{3'000};
  int responses = 1;  // read this many responses on the connection (pipelined requests)
};

namespace detail {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// Reads one response into `out`; false when the exchange ended in an error.
template <class Stream>
asio::awaitable<bool> read_response(Stream& stream, boost::beast::flat_buffer& buffer, HttpExchange& out) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  boost::system::error_code ec;
  co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error = ec;
    co_return false;
  }
  out.headers = true;
  out.status = parser.get().result_int();
  out.fields.clear();
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.fields[name] = std::string(f.value());
  }
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  out.body = parser.get().body();
  out.complete = !ec;
  out.error = ec;
  out.statuses.push_back(out.status);
  out.bodies.push_back(out.body);
  co_return !ec;
}

template <class Stream>
asio::awaitable<void> exchange(Stream& stream, const std::string& raw, int responses, HttpExchange& out, bool& done) {
  boost::system::error_code ec;
  co_await asio::async_write(stream, asio::buffer(raw), asio::redirect_error(asio::use_awaitable, ec));
  // A write error (the server closed first) still lets the response be read.
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < responses; ++i) {
    out.complete = false;
    if (!co_await read_response(stream, buffer, out)) break;
  }
  if (!out.headers && !out.error) out.error = ec;
  done = true;
}

}  // namespace detail

// Sends `raw` (a whole HTTP/1.1 request) to 127.0.0.1:port and reads one response.
inline HttpExchange http_exchange(std::uint16_t port, const std::string& raw, const ClientOptions& options = {}) {
  namespace asio = boost::asio;
  namespace ssl = boost::asio::ssl;
  using tcp = asio::ip::tcp;
  HttpExchange out;
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(test_ca().ca_file);
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<tcp::socket> stream(io, ctx);
  stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  bool done = false;
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        co_await stream.next_layer().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          out.error = ec;
          done = true;
          co_return;
        }
        out.connected = true;
        if (!options.tls) {
          co_await detail::exchange(stream.next_layer(), raw, options.responses, out, done);
          co_return;
        }
        co_await stream.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          out.error = ec;
          done = true;
          co_return;
        }
        co_await detail::exchange(stream, raw, options.responses, out, done);
      },
      asio::detached);
  io.run_for(options.timeout);
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  out.timed_out = !done;
  boost::system::error_code ignored;
  stream.next_layer().close(ignored);  // the hang's client gives up: the server sees the close
  return out;
}

// A POST request with a JSON body (and any extra header lines, each ending in CRLF).
inline std::string post(const std::string& target, const std::string& body, const std::string& extra = "") {
  std::ostringstream os;
  os << "POST " << target << " HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
     << "content-length: " << body.size() << "\r\n"
     << extra << "\r\n"
     << body;
  return os.str();
}

}  // namespace failover::test

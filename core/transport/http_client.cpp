#include "core/transport/http_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <deque>
#include <exception>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/engine/assert.h"
#include "core/protocol/retry_after.h"
#include "core/protocol/sse.h"
#include "core/transport/clock.h"

namespace failover::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kUserAgent = "failover/0.1";

// One pooled connection: TLS over TCP, or plain TCP to loopback.
struct Connection {
  Connection(asio::io_context& io, ssl::context* tls) : resolver(io), resolve_timer(io) {
    if (tls != nullptr) {
      secure.emplace(io, *tls);
      // Asio sets SSL_MODE_RELEASE_BUFFERS: OpenSSL would free and reallocate this
      // connection's 16 KiB record buffers around every request it carries. A pooled
      // connection is reused, so it keeps them (about 34 KiB while open).
      SSL_clear_mode(secure->native_handle(), SSL_MODE_RELEASE_BUFFERS);
    } else {
      plain.emplace(io);
    }
  }
  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  void close() {
    usable = false;
    resolver.cancel();
    resolve_timer.cancel();
    tcp().close();
  }

  tcp::resolver resolver;
  asio::steady_timer resolve_timer;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool usable = true;  // false once it errored or was cancelled: never reused
  bool resolve_timed_out = false;
};

struct AttemptState {
  AttemptHandle handle = 0;
  HttpAttempt request;
  AttemptCallbacks callbacks;
  std::shared_ptr<Connection> conn;
  std::chrono::steady_clock::time_point started;
  bool cancelled = false;
  bool conn_retired = false;
};

// What one exchange on one connection gave: a result, and whether the connection may
// be kept. `replayable`: it failed before any response byte on a reused connection.
struct Exchange {
  AttemptResult result;
  bool keep_alive = false;
  bool replayable = false;
};

bool is_ip_address(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

bool is_broken_connection(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

AttemptResult failure(Outcome outcome, std::string detail) {
  AttemptResult r;
  r.outcome = outcome;
  r.detail = std::move(detail);
  return r;
}

// A transport error while sending or reading: what the engine sees.
AttemptResult read_failure(const error_code& ec, std::string_view stage) {
  const std::string detail = std::string(stage) + ": " + ec.message();
  if (ec == beast::error::timeout) return failure(Outcome::timed_out(TimeoutKind::total), detail);
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return failure(Outcome::of(OutcomeKind::malformed), "response too large (" + detail + ")");
  }
  if (is_broken_connection(ec)) return failure(Outcome::of(OutcomeKind::reset), detail);
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return failure(Outcome::of(OutcomeKind::malformed), "not HTTP/1.1 (" + detail + ")");
  }
  return failure(Outcome::of(OutcomeKind::reset), detail);
}

std::optional<Duration> retry_after_of(const http::response<http::string_body>& res) {
  std::vector<protocol::Header> headers;
  for (const auto& field : res) {
    const auto name = field.name_string();
    const auto value = field.value();
    protocol::Header& h = headers.emplace_back(
        protocol::Header{std::string(name.data(), name.size()), std::string(value.data(), value.size())});
    // protocol::Header keeps names in lower case; HTTP compares them without case anyway.
    for (char& c : h.name) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (headers.size() >= 256) break;  // bounded: the back-pressure headers come early
  }
  return protocol::retry_after_from_headers(headers, wall_now_unix_ms());
}

// A complete response with a non-2xx status.
AttemptResult status_result(Protocol protocol, const http::response<http::string_body>& res) {
  const auto status = static_cast<std::int32_t>(res.result_int());
  const std::optional<protocol::ErrorInfo> error = protocol::decode_error(protocol, res.body());
  Outcome outcome = Outcome::http(status, retry_after_of(res));
  outcome.refusal = protocol::refusal_of(protocol, status, error);
  std::string detail = "HTTP " + std::to_string(status);
  if (error && !error->type.empty()) detail += " " + error->type;
  if (status >= 300 && status <= 399) {
    // A redirect is a configuration error: name where it points, so that the base URL
    // can be fixed (without any userinfo, and bounded).
    const auto location = res.find(http::field::location);
    std::string where = location == res.end() ? std::string("(no Location)") : std::string(location->value());
    const std::size_t at = where.find('@');
    if (at != std::string::npos) where = "***" + where.substr(at);
    if (where.size() > 200) where = where.substr(0, 200) + "...";
    detail += " redirect to " + where + ": fix the provider's base_url";
  }
  return failure(outcome, detail);
}

// A complete 2xx body that is not a stream.
AttemptResult body_result(Protocol protocol, const std::string& body) {
  Result<protocol::ChatResponse> decoded = protocol::decode_response(protocol, body);
  if (!decoded) return failure(Outcome::of(OutcomeKind::malformed), "undecodable body: " + decoded.error().what);
  AttemptResult r;
  r.outcome = Outcome::ok(decoded->usage);
  r.text = std::move(decoded->text);
  return r;
}

// The verdict on a 2xx stream once its body ended (cleanly or not).
AttemptResult stream_result(const protocol::StreamDecoder& decoder, std::string text) {
  switch (decoder.finish()) {
    case protocol::StreamEnd::complete: {
      AttemptResult r;
      r.outcome = Outcome::ok(decoder.response().usage);
      r.text = std::move(text);
      return r;
    }
    case protocol::StreamEnd::truncated:
      return failure(Outcome::of(OutcomeKind::truncated), "the stream ended before its end marker");
    case protocol::StreamEnd::error: {
      const std::string type = decoder.error() ? decoder.error()->type : std::string();
      return failure(Outcome::http(status_of_error_type(type)), "error event in the stream: " + type);
    }
    case protocol::StreamEnd::malformed:
      break;
  }
  return failure(Outcome::of(OutcomeKind::malformed), "an event of the stream did not decode");
}

}  // namespace

std::int32_t status_of_error_type(std::string_view type) noexcept {
  if (type == "overloaded_error") return 529;
  if (type == "rate_limit_error") return 429;
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  if (type == "request_too_large") return 413;
  return 500;
}

class ProviderClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, std::shared_ptr<ssl::context> tls, Url url, Protocol protocol,
       const ClientOptions& options)
      : io_(io),
        tls_(std::move(tls)),
        url_(std::move(url)),
        protocol_(protocol),
        options_(options),
        host_header_(url_.authority()),
        port_text_(std::to_string(url_.port)),
        sni_(url_.tls && !is_ip_address(url_.host)) {}

  AttemptHandle start(HttpAttempt attempt, AttemptCallbacks callbacks) {
    FAILOVER_ASSERT(callbacks.on_done != nullptr);
    auto st = std::make_shared<AttemptState>();
    st->handle = next_handle_++;
    st->request = std::move(attempt);
    st->callbacks = std::move(callbacks);
    st->started = std::chrono::steady_clock::now();
    live_.emplace(st->handle, st);
    waiting_.push_back(st);
    schedule_pump();
    return st->handle;
  }

  void cancel(AttemptHandle handle) {
    const auto it = live_.find(handle);
    if (it == live_.end()) return;
    const std::shared_ptr<AttemptState> st = it->second;
    live_.erase(it);
    st->cancelled = true;             // callbacks stay: this may run inside one of them; finish() checks the flag
    if (st->conn) st->conn->close();  // its coroutine wakes with operation_aborted and retires it
    schedule_pump();
  }

  void shutdown() {
    shut_down_ = true;
    std::vector<AttemptHandle> handles;
    handles.reserve(live_.size());
    for (const auto& [handle, st] : live_) handles.push_back(handle);
    for (const AttemptHandle h : handles) cancel(h);
    waiting_.clear();
    for (const std::shared_ptr<Connection>& c : idle_) {
      c->close();
      --open_;
    }
    idle_.clear();
    FAILOVER_ASSERT(live_.empty());
  }

  [[nodiscard]] PoolStats stats() const noexcept {
    PoolStats s = stats_;
    s.open = open_;
    s.idle = static_cast<std::int32_t>(idle_.size());
    s.waiting = static_cast<std::int64_t>(waiting_.size());
    return s;
  }
  [[nodiscard]] const Url& url() const noexcept { return url_; }

 private:
  void schedule_pump() {
    if (pump_posted_) return;
    pump_posted_ = true;
    asio::post(io_, [self = shared_from_this()] {
      self->pump_posted_ = false;
      self->pump();
    });
  }

  // Starts waiting attempts while a connection is idle or may be opened. LIFO reuse:
  // the most recently used connection is the warmest and the least likely to be stale.
  void pump() {
    while (!waiting_.empty() && !shut_down_) {
      std::shared_ptr<AttemptState> st = waiting_.front();
      if (st->cancelled) {
        waiting_.pop_front();
        continue;
      }
      std::shared_ptr<Connection> conn;
      bool fresh = false;
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
        ++stats_.reuses;
      } else if (open_ < options_.connections_max) {
        conn = new_connection();
        fresh = true;
      } else {
        return;  // every connection is busy: wait for one to be released
      }
      waiting_.pop_front();
      st->conn = conn;
      asio::co_spawn(io_, run(shared_from_this(), st, fresh), asio::detached);
    }
  }

  std::shared_ptr<Connection> new_connection() {
    ++open_;
    ++stats_.connections_made;
    FAILOVER_ASSERT(open_ <= options_.connections_max);
    return std::make_shared<Connection>(io_, url_.tls ? tls_.get() : nullptr);
  }

  // Returns the attempt's connection to the pool or closes it; exactly once per connection use.
  void retire(AttemptState& st, bool keep) {
    FAILOVER_ASSERT(!st.conn_retired);
    FAILOVER_ASSERT(st.conn != nullptr);
    st.conn_retired = true;
    std::shared_ptr<Connection> conn = std::move(st.conn);
    if (keep && conn->usable && !st.cancelled && !shut_down_) {
      idle_.push_back(std::move(conn));
    } else {
      conn->close();
      --open_;
    }
    FAILOVER_ASSERT(open_ >= 0);
    schedule_pump();
  }

  void finish(const std::shared_ptr<AttemptState>& st, AttemptResult&& result) {
    if (st->cancelled) return;
    live_.erase(st->handle);
    AttemptCallbacks callbacks = std::move(st->callbacks);
    st->callbacks = {};
    callbacks.on_done(std::move(result));
  }

  static asio::awaitable<void> run(std::shared_ptr<Impl> self, std::shared_ptr<AttemptState> st, bool fresh) {
    std::optional<AttemptResult> crashed;
    try {
      co_await self->attempt(st, fresh);
    } catch (const std::exception& e) {
      crashed = failure(Outcome::of(OutcomeKind::connect_error), std::string("client error: ") + e.what());
    }
    if (crashed) {  // an exception (allocation, an invalid header value): reported, never thrown past here
      if (!st->conn_retired && st->conn) self->retire(*st, false);
      self->finish(st, std::move(*crashed));
    }
  }

  asio::awaitable<void> attempt(std::shared_ptr<AttemptState> st, bool fresh) {
    // At most two passes: a stale keep-alive connection gets one replay on a new one.
    for (int pass = 0; pass < 2; ++pass) {
      if (fresh) {
        std::optional<AttemptResult> failed = co_await open(*st->conn);
        if (st->cancelled) {
          retire(*st, false);
          co_return;
        }
        if (failed) {
          retire(*st, false);
          finish(st, std::move(*failed));
          co_return;
        }
      }
      // Not a conditional expression around co_await: GCC 12 miscompiles that (its temporaries).
      Exchange ex;
      if (st->conn->secure) {
        ex = co_await exchange(*st->conn->secure, st);
      } else {
        ex = co_await exchange(*st->conn->plain, st);
      }
      if (st->cancelled) {
        retire(*st, false);
        co_return;
      }
      if (ex.replayable && !fresh && pass == 0) {
        retire(*st, false);
        ++stats_.replays;
        st->conn_retired = false;
        st->conn = new_connection();
        fresh = true;
        continue;
      }
      ex.result.reused_connection = !fresh;
      retire(*st, ex.keep_alive);
      finish(st, std::move(ex.result));
      co_return;
    }
  }

  // DNS, TCP connect and the TLS handshake under the connect timeout. Empty on success.
  asio::awaitable<std::optional<AttemptResult>> open(Connection& conn) {
    conn.resolve_timer.expires_after(std::chrono::microseconds(to_us(options_.connect_timeout)));
    conn.resolve_timer.async_wait([&conn](const error_code& ec) {
      if (ec) return;
      conn.resolve_timed_out = true;
      conn.resolver.cancel();
    });
    auto [rec, endpoints] = co_await conn.resolver.async_resolve(url_.host, port_text_, kTuple);
    conn.resolve_timer.cancel();
    if (conn.resolve_timed_out) co_return failure(Outcome::timed_out(TimeoutKind::connect), "DNS timed out");
    if (rec) co_return failure(Outcome::of(OutcomeKind::connect_error), "DNS: " + rec.message());
    conn.tcp().expires_after(std::chrono::microseconds(to_us(options_.connect_timeout)));
    auto [cec, endpoint] = co_await conn.tcp().async_connect(endpoints, kTuple);
    (void)endpoint;
    if (cec == beast::error::timeout) co_return failure(Outcome::timed_out(TimeoutKind::connect), "connect timed out");
    if (cec) co_return failure(Outcome::of(OutcomeKind::connect_error), "connect: " + cec.message());
    error_code nodelay_ec;
    conn.tcp().socket().set_option(tcp::no_delay(true), nodelay_ec);
    if (!conn.secure) co_return std::nullopt;
    // SNI (SSL_set_tlsext_host_name, spelled out: the macro casts C-style). Not for an IP literal.
    if (sni_ && SSL_ctrl(conn.secure->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         static_cast<void*>(const_cast<char*>(url_.host.c_str()))) != 1) {
      co_return failure(Outcome::of(OutcomeKind::connect_error), "TLS: cannot set the server name");
    }
    conn.secure->set_verify_mode(ssl::verify_peer);
    conn.secure->set_verify_callback(ssl::host_name_verification(url_.host));
    auto [hec] = co_await conn.secure->async_handshake(ssl::stream_base::client, kTuple);
    if (hec == beast::error::timeout)
      co_return failure(Outcome::timed_out(TimeoutKind::connect), "TLS handshake timed out");
    if (hec) {
      // A certificate that does not verify is a configuration error, not a blip.
      const bool unverified =
          hec.category() == asio::error::get_ssl_category() &&
          ERR_GET_REASON(static_cast<unsigned long>(hec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
      co_return failure(Outcome::of(unverified ? OutcomeKind::tls_verify : OutcomeKind::connect_error),
                        "TLS handshake: " + hec.message());
    }
    co_return std::nullopt;
  }

  http::request<http::string_body> build_request(const HttpAttempt& a) const {
    http::request<http::string_body> req{http::verb::post, a.path, 11};
    req.set(http::field::host, host_header_);
    req.set(http::field::user_agent, kUserAgent);
    for (const protocol::Header& h : a.headers) req.set(h.name, h.value);
    req.body() = a.body;
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  template <typename Stream>
  asio::awaitable<Exchange> exchange(Stream& stream, std::shared_ptr<AttemptState> st) {
    Connection& conn = *st->conn;
    if (options_.total_timeout > Duration{0}) {
      conn.tcp().expires_at(st->started + std::chrono::microseconds(to_us(options_.total_timeout)));
    } else {
      conn.tcp().expires_never();
    }
    Exchange ex;
    http::request<http::string_body> req = build_request(st->request);
    auto [wec, written] = co_await http::async_write(stream, req, kTuple);
    (void)written;
    if (st->cancelled) co_return ex;
    if (wec) {
      ex.result = read_failure(wec, "sending the request");
      ex.replayable = is_broken_connection(wec);
      co_return ex;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.response_bytes_max);
    parser.header_limit(static_cast<std::uint32_t>(kHeaderBytesMax));
    auto [hec, header_bytes] = co_await http::async_read_header(stream, conn.buffer, parser, kTuple);
    (void)header_bytes;
    if (st->cancelled) co_return ex;
    if (hec) {
      ex.result = read_failure(hec, "reading the response");
      ex.replayable = is_broken_connection(hec) && !parser.got_some();
      co_return ex;
    }
    const auto status = static_cast<std::int32_t>(parser.get().result_int());
    const bool ok_status = status >= 200 && status < 300;
    if (ok_status && st->request.stream) {
      Exchange streamed = co_await read_stream(stream, st, parser);
      co_return streamed;
    }
    if (!st->request.stream && !first_byte(*st)) co_return ex;  // a stream's first byte is its first event
    auto [bec, body_bytes] = co_await http::async_read(stream, conn.buffer, parser, kTuple);
    (void)body_bytes;
    if (st->cancelled) co_return ex;
    if (bec) {
      ex.result = read_failure(bec, "reading the body");
      co_return ex;
    }
    ex.keep_alive = parser.get().keep_alive();
    ex.result = ok_status ? body_result(protocol_, parser.get().body()) : status_result(protocol_, parser.get());
    if (st->request.keep_body) ex.result.body = std::move(parser.get().body());
    co_return ex;
  }

  // Calls on_first_byte; false when the callback cancelled this very attempt.
  static bool first_byte(AttemptState& st) {
    if (st.callbacks.on_first_byte) st.callbacks.on_first_byte();
    return !st.cancelled;
  }

  template <typename Stream>
  asio::awaitable<Exchange> read_stream(Stream& stream, std::shared_ptr<AttemptState> st,
                                        http::response_parser<http::string_body>& parser) {
    Exchange ex;
    protocol::StreamDecoder decoder(protocol_);
    std::string text;
    bool started = false;
    // Bounded: every pass consumes input, and the body is capped at response_bytes_max.
    while (!parser.is_done()) {
      auto [ec, n] = co_await http::async_read_some(stream, st->conn->buffer, parser, kTuple);
      (void)n;
      if (st->cancelled) co_return ex;
      std::string& chunk = parser.get().body();
      if (!chunk.empty()) {
        const std::string delta = decoder.feed(chunk);
        // The first *content* (text, a tool call or reasoning: StreamDecoder::answering)
        // is the stream's first byte for the engine, the point where it commits the
        // request to this attempt: a stream whose first event is an error
        // (OpenAI-compatible servers, Anthropic's overloaded_error after message_start),
        // that is cut before any content, or that is no SSE at all fails over instead.
        if (decoder.answering() && !started) {
          started = true;
          if (!first_byte(*st)) co_return ex;
        }
        if (st->callbacks.on_bytes) {
          st->callbacks.on_bytes(chunk);
          if (st->cancelled) co_return ex;
        }
        if (!delta.empty() && st->callbacks.on_text) {
          st->callbacks.on_text(delta);
          if (st->cancelled) co_return ex;
        }
        text += delta;
        chunk.clear();
      }
      if (ec == http::error::body_limit || ec == beast::error::timeout) {
        ex.result = read_failure(ec, "reading the stream");
        co_return ex;
      }
      if (ec) break;  // the connection ended: the decoder says whether the stream was complete
    }
    ex.keep_alive = parser.is_done() && parser.get().keep_alive();
    ex.result = stream_result(decoder, std::move(text));
    co_return ex;
  }

  asio::io_context& io_;
  std::shared_ptr<ssl::context> tls_;  // shared: a connection may outlive the client that opened it
  Url url_;
  Protocol protocol_;
  ClientOptions options_;
  std::string host_header_;
  std::string port_text_;
  bool sni_ = false;
  std::unordered_map<AttemptHandle, std::shared_ptr<AttemptState>> live_;  // lookup only
  std::deque<std::shared_ptr<AttemptState>> waiting_;                      // FIFO
  std::vector<std::shared_ptr<Connection>> idle_;                          // LIFO
  std::int32_t open_ = 0;
  AttemptHandle next_handle_ = 1;
  PoolStats stats_;
  bool pump_posted_ = false;
  bool shut_down_ = false;
};

ProviderClient::ProviderClient(asio::io_context& io, std::shared_ptr<ssl::context> tls, Url url, Protocol protocol,
                               const ClientOptions& options) {
  FAILOVER_ASSERT(tls != nullptr);
  FAILOVER_ASSERT(options.connections_max >= 1);
  FAILOVER_ASSERT(options.connections_max <= kConnectionsMax);
  FAILOVER_ASSERT(options.response_bytes_max >= 1 && options.response_bytes_max <= kResponseBytesMaxLimit);
  FAILOVER_ASSERT(options.connect_timeout > Duration{0});
  impl_ = std::make_shared<Impl>(io, std::move(tls), std::move(url), protocol, options);
}

ProviderClient::~ProviderClient() {
  impl_->shutdown();
}

AttemptHandle ProviderClient::start(HttpAttempt attempt, AttemptCallbacks callbacks) {
  return impl_->start(std::move(attempt), std::move(callbacks));
}

void ProviderClient::cancel(AttemptHandle handle) {
  impl_->cancel(handle);
}
void ProviderClient::shutdown() {
  impl_->shutdown();
}
PoolStats ProviderClient::stats() const noexcept {
  return impl_->stats();
}
const Url& ProviderClient::url() const noexcept {
  return impl_->url();
}

}  // namespace failover::transport

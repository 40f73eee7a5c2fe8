#include "serve/gateway_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/engine/assert.h"
#include "serve/gateway_translate.h"

namespace failover::serve {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kWriteTimeout = std::chrono::seconds(30);  // a caller that stops reading is dropped
constexpr auto kCloseTimeout = std::chrono::seconds(2);
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);
// How often a waiting caller with unread bytes (a pipelined request, a TLS record) is
// looked at again for a hang-up: its socket stays readable, so only a timer can tell.
constexpr auto kPeekInterval = std::chrono::milliseconds(50);
constexpr std::size_t kRequestIdBytesMax = 128;
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";  // Prometheus text format

std::chrono::microseconds micros(Duration d) {
  return std::chrono::microseconds(to_us(d));
}

// A caller's x-request-id is kept when it is a plain token; anything else is replaced.
bool is_token(std::string_view s) {
  if (s.empty() || s.size() > kRequestIdBytesMax) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// A request id's 12 random bytes, drawn from OpenSSL's generator 64 ids at a time:
// OpenSSL 3 calls getpid() in every RAND_bytes() (to notice a fork), and that system
// call per request was a measurable part of the gateway's CPU (reports/bench-serve.md).
// One pool per connection thread, so no lock; the ids stay as unpredictable as before
// (the gateway never forks, so no two processes share a pool).
class RequestIdBytes {
 public:
  static constexpr std::size_t kIdBytes = 12;
  static constexpr std::size_t kIdsPerDraw = 64;

  const unsigned char* next() {
    if (used_ == pool_.size()) {
      FAILOVER_ASSERT(RAND_bytes(pool_.data(), static_cast<int>(pool_.size())) == 1);
      used_ = 0;
    }
    const unsigned char* out = pool_.data() + used_;
    used_ += kIdBytes;
    FAILOVER_ASSERT(used_ <= pool_.size());
    return out;
  }

 private:
  std::array<unsigned char, kIdBytes * kIdsPerDraw> pool_{};
  std::size_t used_ = pool_.size();  // empty: the first id draws
};

std::string new_request_id() {
  thread_local RequestIdBytes pool;
  const unsigned char* bytes = pool.next();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "req_";
  out.reserve(4 + 2 * RequestIdBytes::kIdBytes);
  for (std::size_t i = 0; i < RequestIdBytes::kIdBytes; ++i) {
    const unsigned char b = bytes[i];
    out += kHex[b >> 4U];
    out += kHex[b & 0x0fU];
  }
  return out;
}

std::string status_line(unsigned status) {
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason.data(), reason.size()) + "\r\n";
}

std::string whole_response(unsigned status, const std::string& headers, const std::string& body, bool close,
                           std::string_view content_type = kJson) {
  std::string out = status_line(status);
  out += "content-type: ";
  out += content_type;
  out += "\r\ncontent-length: " + std::to_string(body.size()) + "\r\n";
  out += headers;
  if (close) out += "connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string chunk(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string size;
  for (std::size_t n = data.size(); n > 0; n >>= 4U) size.insert(size.begin(), kHex[n & 0x0fU]);
  std::string out;
  out.reserve(size.size() + data.size() + 4);
  out += size;
  out += "\r\n";
  out += data;
  out += "\r\n";
  return out;
}

// Raises the soft limit on open files to the hard limit: the soft one is often 1024,
// below connections_max's default plus the upstream pools, and a gateway out of
// descriptors can accept no one. A note when even the hard limit is below `needed`.
std::optional<std::string> raise_open_files_limit(std::uint64_t needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return std::nullopt;
  return "the process may open " + std::to_string(limit.rlim_cur) + " files (RLIMIT_NOFILE), fewer than the " +
         std::to_string(needed) +
         " that connections_max, the providers' concurrency_max and a margin may need: raise the hard limit "
         "(ulimit -Hn, LimitNOFILE= in a systemd unit) or lower connections_max";
}

// What a caller's socket says while its answer is pending, found without reading
// anything from it (so neither the TLS session nor a next request is disturbed).
enum class Peer : std::uint8_t {
  quiet,  // nothing to read: a spurious wake-up
  bytes,  // unread bytes: the next request sent early, or a TLS record -- the caller is there
  gone,   // end of stream (it closed, or shut down its sending side), a reset, or its FIN
          // queued behind unread bytes: nobody will read the answer
};

Peer peer_state(int fd) {
  char c = 0;
  const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return Peer::gone;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Peer::quiet : Peer::gone;
#ifdef __linux__
  // Bytes first, then a FIN (a TLS close_notify alert and the close behind it): the
  // connection has left ESTABLISHED (CLOSE_WAIT) though the bytes still read.
  tcp_info info{};
  socklen_t size = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) == 0 && info.tcpi_state != TCP_ESTABLISHED) {
    return Peer::gone;
  }
#endif
  return Peer::bytes;
}

// Asio turns on SSL_MODE_RELEASE_BUFFERS for every TLS stream: OpenSSL then frees a
// connection's 16 KiB read and write record buffers whenever they drain and allocates
// them again for the next record -- on a keep-alive connection, twice per request each
// way. With the upstream side's, those blocks were most of the 122 KB the gateway
// allocated per request, and they churned glibc's heap (malloc_consolidate, trims;
// reports/bench-serve.md). Kept instead: about 34 KiB per open connection, at most
// connections_max of them.
void keep_record_buffers(SSL* ssl) {
  FAILOVER_ASSERT(ssl != nullptr);
  SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  FAILOVER_ASSERT((SSL_get_mode(ssl) & SSL_MODE_RELEASE_BUFFERS) == 0);
}

// What the engine's thread hands a connection: a whole answer, or a stream's pieces.
struct Piece {
  enum class Kind : std::uint8_t { whole, head, bytes, end } kind = Kind::whole;
  unsigned status = 200;
  std::string headers;
  std::string data;
  std::string_view content_type = kJson;  // of a whole answer
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void shut() = 0;  // from any thread: close now
  [[nodiscard]] bool idle() const { return !busy_.load(std::memory_order_acquire); }
  [[nodiscard]] std::uint64_t idle_since() const { return idle_since_.load(std::memory_order_acquire); }

 protected:
  std::atomic<bool> busy_{false};  // an answer is under way
  std::atomic<std::uint64_t> idle_since_{0};
};

// The state every connection shares: the caps, the keys, the routes and the core.
class Shared {
 public:
  Shared(asio::io_context& io, GatewayCore& gateway_core, const ServeConfig& settings)
      : engine_io(io), core(gateway_core), serve(settings), access_(std::make_shared<const Access>(settings)) {}

  // Admits a connection from `address`, evicting the oldest idle one at a cap; false:
  // every connection at the cap is busy, refuse the newcomer.
  bool admit(std::uint64_t id, const std::shared_ptr<SessionBase>& session, const asio::ip::address& address) {
    std::vector<std::shared_ptr<SessionBase>> evicted;
    bool ok = true;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      const auto mine = per_address_.find(address);
      const bool address_full =
          mine != per_address_.end() && mine->second >= static_cast<std::size_t>(serve.connections_per_client_max);
      if (address_full) ok = evict_oldest_idle(address, evicted);
      if (ok && sessions_.size() >= static_cast<std::size_t>(serve.connections_max)) {
        ok = evict_oldest_idle(std::nullopt, evicted);
      }
      if (ok) {
        sessions_.emplace(id, Entry{session, address});
        ++per_address_[address];
      }
    }
    for (const auto& s : evicted) s->shut();  // outside the lock: shut() only posts
    return ok;
  }

  void forget(std::uint64_t id) {
    const std::lock_guard<std::mutex> lock(mutex_);
    forget_locked(id);
  }

  std::vector<std::shared_ptr<SessionBase>> all() {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::shared_ptr<SessionBase>> out;
    for (const auto& [id, e] : sessions_) {
      if (auto s = e.session.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  std::int64_t count() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<std::int64_t>(sessions_.size());
  }

  // Whether `key` is one of the configured keys: its SHA-256 compared with each digest
  // in constant time.
  [[nodiscard]] bool accepts(std::string_view key) const {
    const std::shared_ptr<const Access> access = access_.load(std::memory_order_acquire);
    if (access->allow_unauthenticated) return true;
    if (key.empty()) return false;
    const std::string digest = sha256_hex(key);
    bool found = false;
    for (const std::string& d : access->key_sha256) {
      found = (CRYPTO_memcmp(d.data(), digest.data(), digest.size()) == 0) || found;
    }
    return found;
  }

  std::uint64_t next_idle_mark() { return idle_marks_.fetch_add(1, std::memory_order_relaxed) + 1; }

  // Who may call: a reload swaps in the new file's keys.
  void set_access(const ServeConfig& settings) {
    access_.store(std::make_shared<const Access>(settings), std::memory_order_release);
  }

  asio::io_context& engine_io;
  GatewayCore& core;         // on engine_io's thread only
  const ServeConfig& serve;  // the limits, as started (a reload changes only the keys)
  // The current config's routes, swapped by a reload on the engine's thread and read by
  // every connection: a request keeps the table it picked its route from, and runs on
  // that config's engine (GatewayCore::reload).
  std::atomic<std::shared_ptr<const RouteTable>> routes;

 private:
  struct Access {
    explicit Access(const ServeConfig& s) : key_sha256(s.key_sha256), allow_unauthenticated(s.allow_unauthenticated) {}
    std::vector<std::string> key_sha256;
    bool allow_unauthenticated = false;
  };
  struct Entry {
    std::weak_ptr<SessionBase> session;
    asio::ip::address address;
  };

  bool evict_oldest_idle(const std::optional<asio::ip::address>& address,
                         std::vector<std::shared_ptr<SessionBase>>& evicted) {
    std::optional<std::uint64_t> oldest_id;
    std::shared_ptr<SessionBase> oldest;
    for (const auto& [id, e] : sessions_) {  // at most connections_max entries
      if (address && e.address != *address) continue;
      std::shared_ptr<SessionBase> s = e.session.lock();
      if (!s || !s->idle()) continue;
      if (!oldest || s->idle_since() < oldest->idle_since()) {
        oldest = std::move(s);
        oldest_id = id;
      }
    }
    if (!oldest) return false;
    forget_locked(*oldest_id);
    evicted.push_back(std::move(oldest));
    return true;
  }

  void forget_locked(std::uint64_t id) {
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    const auto count = per_address_.find(it->second.address);
    FAILOVER_ASSERT(count != per_address_.end() && count->second > 0);
    if (--count->second == 0) per_address_.erase(count);
    sessions_.erase(it);
  }

  std::mutex mutex_;  // guards sessions_ and per_address_: connections come and go on several threads
  std::map<std::uint64_t, Entry> sessions_;
  std::map<asio::ip::address, std::size_t> per_address_;
  std::atomic<std::uint64_t> idle_marks_{0};
  std::atomic<std::shared_ptr<const Access>> access_;
};

// One caller connection. Stream: beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(std::shared_ptr<Shared> shared, std::uint64_t id, Stream stream)
      : shared_(std::move(shared)),
        id_(id),
        stream_(std::move(stream)),
        wake_(stream_.get_executor()),
        peek_timer_(stream_.get_executor()) {
    idle_since_.store(shared_->next_idle_mark(), std::memory_order_release);
  }
  ~Session() override { shared_->forget(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() { asio::co_spawn(stream_.get_executor(), run(this->shared_from_this()), asio::detached); }

  void shut() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close_now(); });
  }

  // From the engine's thread: queue a piece for this connection's strand.
  void deliver(Piece piece) {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), piece = std::move(piece)]() mutable {
      self->pieces_.push_back(std::move(piece));
      self->wake_.cancel();
    });
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    caller_gone_.store(true, std::memory_order_release);
    ErrorCode ec;
    lowest().socket().close(ec);  // wakes every pending operation
    wake_.cancel();
    shared_->forget(id_);
  }

  static asio::awaitable<void> run(std::shared_ptr<Session> self) {
    try {
      co_await self->serve_connection();
    } catch (const std::exception&) {
      // An allocation failure or the like: this connection ends, the others go on.
    }
    self->close_now();
  }

  asio::awaitable<void> serve_connection() {
    const ServeConfig& sc = shared_->serve;
    if constexpr (kTls) {
      lowest().expires_after(micros(sc.header_read_timeout));
      auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, kTuple);
      if (ec || closed_) co_return;
    }
    bool first = true;
    for (;;) {
      if (buffer_.size() == 0) {  // waiting for a request to begin: the idle timeout
        lowest().expires_after(micros(first ? sc.header_read_timeout : sc.idle_timeout));
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4'096), kTuple);
        if (ec || closed_) co_return;
        buffer_.commit(n);
      }
      first = false;
      const bool keep = co_await one_request();
      if (!keep || closed_) break;
    }
    co_await graceful_close();
  }

  // Reads, answers and writes one request; false when the connection must close.
  asio::awaitable<bool> one_request() {
    const ServeConfig& sc = shared_->serve;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(sc.header_bytes_max));
    parser.body_limit(static_cast<std::uint64_t>(sc.body_bytes_max));
    lowest().expires_after(micros(sc.header_read_timeout));
    auto [hec, hn] = co_await http::async_read_header(stream_, buffer_, parser, kTuple);
    (void)hn;
    if (closed_) co_return false;
    if (hec == http::error::header_limit) co_return co_await refuse_raw(431, "request header fields too large");
    if (hec == http::error::body_limit) co_return co_await refuse_raw(413, "request body too large");
    if (hec) {
      if (hec == beast::error::timeout || hec == asio::error::eof || hec == asio::error::connection_reset ||
          hec == http::error::end_of_stream)
        co_return false;
      co_return co_await refuse_raw(400, "malformed HTTP request");
    }
    const auto expect = parser.get().find(http::field::expect);
    if (expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      lowest().expires_after(kWriteTimeout);
      auto [wec, wn] = co_await asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
      (void)wn;
      if (wec) co_return false;
    }
    lowest().expires_after(micros(sc.body_read_timeout));
    auto [bec, bn] = co_await http::async_read(stream_, buffer_, parser, kTuple);
    (void)bn;
    if (closed_) co_return false;
    if (bec == http::error::body_limit) co_return co_await refuse_raw(413, "request body too large");
    if (bec) co_return false;
    busy_.store(true, std::memory_order_release);
    http::request<http::string_body> request = parser.release();
    const bool keep_alive = request.keep_alive();
    const bool ok = co_await answer(request, keep_alive);
    idle_since_.store(shared_->next_idle_mark(), std::memory_order_release);
    busy_.store(false, std::memory_order_release);
    co_return ok&& keep_alive;
  }

  asio::awaitable<bool> write(std::string bytes) {
    if (closed_) co_return false;
    lowest().expires_after(kWriteTimeout);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), kTuple);
    (void)n;
    co_return !ec && !closed_;
  }

  // An answer to a request that did not parse: plain JSON (its protocol is unknown), close.
  asio::awaitable<bool> refuse_raw(unsigned status, const std::string& message) {
    (void)co_await write(whole_response(status, "", error_body(Protocol::openai, status, message), true));
    co_return false;
  }

  asio::awaitable<bool> answer(http::request<http::string_body>& request, bool keep_alive) {
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    CallerRequest caller;
    caller.arrived = SteadyClock::now();
    const auto rid = request.find("x-request-id");
    caller.request_id = rid != request.end() && is_token(rid->value()) ? std::string(rid->value()) : new_request_id();
    const std::string id_header = request_id_headers(caller.request_id);
    if (path == "/healthz" || path == "/readyz") {
      co_return co_await write(whole_response(200, id_header, "{\"status\":\"ok\"}", !keep_alive));
    }
    if (path == "/metrics") co_return co_await metrics(request, id_header, keep_alive);
    if (path == "/v1/chat/completions") {
      caller.protocol = Protocol::openai;
    } else if (path == "/v1/messages") {
      caller.protocol = Protocol::anthropic;
    } else {
      co_return co_await refuse(
          caller, 404,
          "no such endpoint: " + std::string(path) + " (the gateway serves POST /v1/chat/completions and /v1/messages)",
          keep_alive);
    }
    if (request.method() != http::verb::post) {
      co_return co_await refuse(caller, 405, "method not allowed: use POST", keep_alive);
    }
    if (!shared_->accepts(presented_key(request))) {
      co_return co_await refuse(
          caller, 401, "invalid or missing API key (send it as Authorization: Bearer or x-api-key)", keep_alive);
    }
    if (const std::optional<std::string> problem = read_body(request, caller)) {
      co_return co_await refuse(caller, caller.route.name.empty() ? 400 : 404, *problem, keep_alive);
    }
    co_return co_await relay(std::move(caller), keep_alive);
  }

  static std::string_view presented_key(const http::request<http::string_body>& request) {
    const auto auth = request.find(http::field::authorization);
    if (auth != request.end()) {
      const std::string_view v(auth->value().data(), auth->value().size());
      if (v.size() > 7 && beast::iequals(v.substr(0, 7), "bearer ")) return v.substr(7);
    }
    const auto key = request.find("x-api-key");
    if (key == request.end()) return {};
    return {key->value().data(), key->value().size()};
  }

  // Parses the JSON body and picks the route; the problem when it cannot. A route name
  // left in caller.route.name with a problem means: the model names nothing (404).
  std::optional<std::string> read_body(const http::request<http::string_body>& request, CallerRequest& caller) {
    ErrorCode ec;
    boost::json::value body = boost::json::parse(request.body(), ec);
    if (ec || !body.is_object()) return "the body must be a JSON object";
    boost::json::object& object = body.as_object();
    const boost::json::value* model = object.if_contains("model");
    if (model == nullptr || !model->is_string()) return "the body needs a \"model\" string";
    const auto stream = object.if_contains("stream");
    if (stream != nullptr && !stream->is_bool() && !stream->is_null()) return "\"stream\" must be a boolean";
    caller.stream = stream != nullptr && stream->is_bool() && stream->as_bool();
    for (const char* key : {"max_tokens", "max_completion_tokens"}) {
      const boost::json::value* v = object.if_contains(key);
      if (v != nullptr && v->is_int64() && v->as_int64() >= 1 && v->as_int64() <= protocol::kTokensMax) {
        caller.output_tokens_max = v->as_int64();
      }
    }
    caller.prompt_tokens =
        std::clamp<std::int64_t>(static_cast<std::int64_t>(request.body().size() / 4), 1, protocol::kTokensMax);
    const auto header = request.find("x-failover-route");
    const std::string name = header != request.end() ? std::string(header->value()) : std::string(model->as_string());
    std::shared_ptr<const RouteTable> routes = shared_->routes.load(std::memory_order_acquire);
    const RouteChoice* choice = routes->find(name, caller.protocol);
    if (choice == nullptr) {
      caller.route.name = name;
      return "model '" + name + "' is not a route, tier or model id of this gateway";
    }
    caller.route = *choice;
    caller.routes = std::move(routes);
    if (!choice->cross.empty()) route_across(object, caller);
    if (caller.route.route == kNoIndex) {
      caller.route.name.clear();
      return "route '" + choice->name + "' has no target speaking the " + protocol_name(caller.protocol) +
             " protocol, and " + caller.skipped;
    }
    for (const char* h : {"anthropic-version", "anthropic-beta"}) {
      const auto f = request.find(h);
      if (f != request.end() && caller.protocol == Protocol::anthropic) {
        caller.forward.push_back({h, std::string(f->value())});
      }
    }
    caller.body = std::move(object);
    return std::nullopt;
  }

  // A route with targets of the other protocol: a request that translates may go to all
  // of them; one that does not keeps to its own protocol's, the others named in the log.
  // Streams included: their events are translated per attempt (gateway_stream_translate.h).
  static void route_across(const boost::json::object& body, CallerRequest& caller) {
    Result<boost::json::object> translated = translate_request(caller.protocol, body);
    if (translated) {
      caller.translated = std::move(*translated);
      caller.route.route = caller.route.any;
      caller.route.tier = caller.route.tier_any;  // kNoIndex unless the name is a tier
      return;
    }
    caller.skipped = caller.route.cross + " skipped: not translated (" + translated.error().what + ")";
  }

  asio::awaitable<bool> refuse(const CallerRequest& caller, unsigned status, const std::string& message,
                               bool keep_alive) {
    asio::post(shared_->engine_io,
               [shared = shared_, caller, status, message] { shared->core.log_refused(caller, status, message); });
    const std::string headers = request_id_headers(caller.request_id);
    co_return co_await write(
        whole_response(status, headers, error_body(caller.protocol, status, message), !keep_alive));
  }

  class Sink final : public ReplySink {
   public:
    explicit Sink(std::shared_ptr<Session> session) : session_(std::move(session)) {}
    void respond(unsigned status, std::string headers, std::string body) override {
      session_->deliver({Piece::Kind::whole, status, std::move(headers), std::move(body), kJson});
    }
    void begin(std::string headers) override {
      session_->deliver({Piece::Kind::head, 200, std::move(headers), {}, kJson});
    }
    void bytes(std::string events) override {
      session_->deliver({Piece::Kind::bytes, 200, {}, std::move(events), kJson});
    }
    void end() override { session_->deliver({Piece::Kind::end, 200, {}, {}, kJson}); }
    [[nodiscard]] bool gone() const noexcept override { return session_->caller_gone_.load(std::memory_order_acquire); }

   private:
    std::shared_ptr<Session> session_;
  };

  // GET /metrics: the page is rendered on the engine's thread, where the counters live
  // (gateway_metrics.h). It needs a key like the API (it names targets and their costs;
  // Prometheus sends one with `authorization`), and is not a request of the log.
  asio::awaitable<bool> metrics(const http::request<http::string_body>& request, const std::string& id_header,
                                bool keep_alive) {
    if (request.method() != http::verb::get) {
      co_return co_await write(whole_response(
          405, id_header, error_body(Protocol::openai, 405, "method not allowed: use GET"), !keep_alive));
    }
    if (!shared_->accepts(presented_key(request))) {
      co_return co_await write(whole_response(
          401, id_header,
          error_body(Protocol::openai, 401, "invalid or missing API key (send it as Authorization: Bearer)"),
          !keep_alive));
    }
    pieces_.clear();
    asio::post(shared_->engine_io, [shared = shared_, self = this->shared_from_this(), id_header] {
      self->deliver({Piece::Kind::whole, 200, id_header, shared->core.metrics_text(shared->count()), kMetricsType});
    });
    co_return co_await write_pieces(keep_alive);
  }

  // Hands the request to the engine's thread and writes what comes back, as it comes,
  // watching meanwhile for the caller hanging up.
  asio::awaitable<bool> relay(CallerRequest caller, bool keep_alive) {
    pieces_.clear();
    auto sink = std::make_shared<Sink>(this->shared_from_this());
    awaited_ = sink;
    asio::post(shared_->engine_io, [shared = shared_, caller = std::move(caller), sink = std::move(sink)]() mutable {
      shared->core.submit(std::move(caller), std::move(sink));
    });
    start_watch();
    const bool ok = co_await write_pieces(keep_alive);
    stop_watch();
    awaited_.reset();
    co_return ok;
  }

  // A caller that goes away while its request waits -- queued, retried, or streaming --
  // is noticed by watching its socket for readability without reading it: end of
  // stream or a reset means it is gone (a caller that only shut down its sending side
  // is taken as gone too, as nginx takes it: HTTP clients do not half-close to wait);
  // unread bytes mean it sent its next request early (or a TLS record) and is there,
  // and are looked at again every kPeekInterval for the close that may follow them.
  // One wait is outstanding at most; one left over when the answer is written is
  // harmless (it completes with the next request's bytes, or the close, and sees that
  // nothing is watched).
  void start_watch() {
    watching_ = true;
    if (!wait_pending_) wait_readable();
  }

  void stop_watch() {
    watching_ = false;
    peek_timer_.cancel();
  }

  void wait_readable() {
    wait_pending_ = true;
    lowest().socket().async_wait(tcp::socket::wait_read, [self = this->shared_from_this()](const ErrorCode& ec) {
      self->wait_pending_ = false;
      self->look_at_caller(ec);
    });
  }

  void look_at_caller(const ErrorCode& ec) {
    if (!watching_ || closed_) return;
    const Peer peer = ec ? Peer::gone : peer_state(lowest().socket().native_handle());
    if (peer == Peer::gone) {
      caller_left();
    } else if (peer == Peer::quiet) {
      wait_readable();
    } else {
      peek_timer_.expires_after(kPeekInterval);
      peek_timer_.async_wait([self = this->shared_from_this()](const ErrorCode& timer_ec) {
        if (!timer_ec) self->look_at_caller({});
      });
    }
  }

  // The caller hung up while its request waited: the engine's thread cancels the
  // request (GatewayCore::caller_gone), and this connection closes.
  void caller_left() {
    watching_ = false;
    caller_gone_.store(true, std::memory_order_release);
    tell_engine_gone();
    close_now();
  }

  void tell_engine_gone() {
    std::shared_ptr<ReplySink> sink = awaited_.lock();
    if (!sink) return;
    asio::post(shared_->engine_io, [shared = shared_, sink = std::move(sink)] { shared->core.caller_gone(sink); });
  }

  // Writes the pieces the engine's thread delivers, until a whole answer or a stream's end.
  asio::awaitable<bool> write_pieces(bool keep_alive) {
    bool ok = true;
    for (;;) {
      while (pieces_.empty()) {
        if (closed_) co_return false;
        wake_.expires_at(SteadyClock::time_point::max());
        (void)co_await wake_.async_wait(kTuple);
      }
      Piece piece = std::move(pieces_.front());
      pieces_.pop_front();
      if (!ok) {  // the caller is gone: drain what the engine still sends
        if (piece.kind == Piece::Kind::whole || piece.kind == Piece::Kind::end) co_return false;
        continue;
      }
      switch (piece.kind) {
        case Piece::Kind::whole:
          co_return co_await write(
              whole_response(piece.status, piece.headers, piece.data, !keep_alive, piece.content_type));
        case Piece::Kind::head: {
          std::string head = status_line(200);
          head += "content-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n";
          head += piece.headers;
          if (!keep_alive) head += "connection: close\r\n";
          head += "\r\n";
          ok = co_await write(std::move(head));
          break;
        }
        case Piece::Kind::bytes:
          if (!piece.data.empty()) ok = co_await write(chunk(piece.data));
          break;
        case Piece::Kind::end:
          co_return co_await write("0\r\n\r\n");
      }
      // A failed write means the caller is gone: the engine's thread stops the upstream.
      if (!ok) {
        caller_gone_.store(true, std::memory_order_release);
        tell_engine_gone();
      }
    }
  }

  asio::awaitable<void> graceful_close() {
    if (closed_) co_return;
    lowest().expires_after(kCloseTimeout);
    if constexpr (kTls) {
      (void)co_await stream_.async_shutdown(kTuple);
    } else {
      ErrorCode ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      std::array<char, 512> sink{};
      for (int i = 0; i < 64; ++i) {  // until the client's FIN, bounded by the timeout
        auto [rec, n] = co_await lowest().async_read_some(asio::buffer(sink), kTuple);
        (void)n;
        if (rec) break;
      }
    }
  }

  std::shared_ptr<Shared> shared_;
  std::uint64_t id_;
  Stream stream_;
  asio::steady_timer wake_;        // a condition variable on the strand: cancelled when a piece arrives
  asio::steady_timer peek_timer_;  // looks again at a waiting caller with unread bytes
  beast::flat_buffer buffer_;
  std::deque<Piece> pieces_;
  std::weak_ptr<ReplySink> awaited_;  // the sink of the request awaiting its answer: the engine's key to it
  bool watching_ = false;             // a request awaits its answer: a hang-up cancels it
  bool wait_pending_ = false;         // a readability wait is outstanding on the socket
  bool closed_ = false;
  std::atomic<bool> caller_gone_{false};  // read by the engine's thread (Sink::gone)
};

class Server final : public Gateway {
 public:
  Server(const GatewayConfig& config, const GatewayOptions& options)
      : config_(config),
        options_(options),
        engine_work_(asio::make_work_guard(engine_io_)),
        net_work_(asio::make_work_guard(net_io_)),
        acceptor_(asio::make_strand(net_io_)),
        retry_timer_(acceptor_.get_executor()) {}

  ~Server() override { Server::stop(); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status init() {
    Result<RouteTable> routes = RouteTable::build(config_.config);
    if (!routes) return routes.error();
    for (const std::string& r : routes->resume_disabled()) {
      notes_.push_back("route " + r +
                       ": stream_resume is off in the gateway (a relayed stream cannot resume "
                       "at another target)");
    }
    std::uint64_t needed = static_cast<std::uint64_t>(config_.serve.connections_max) + 64;
    for (const ProviderConfig& p : config_.config.providers) needed += static_cast<std::uint64_t>(p.concurrency_max);
    if (std::optional<std::string> note = raise_open_files_limit(needed)) notes_.push_back(std::move(*note));
    Result<std::unique_ptr<GatewayCore>> core = GatewayCore::create(engine_io_, std::move(*routes), options_.core);
    if (!core) return core.error();
    core_ = std::move(*core);
    shared_ = std::make_shared<Shared>(engine_io_, *core_, config_.serve);
    shared_->routes.store(core_->routes());
    if (!options_.tls_cert_file.empty()) {
      if (Status tls = use_tls(); !tls) return tls;
    }
    return listen();
  }

  void run_threads() {
    threads_.emplace_back([this] { engine_io_.run(); });
    const std::int32_t n = options_.threads > 0 ? options_.threads : config_.serve.threads;
    for (std::int32_t i = 0; i < n; ++i) threads_.emplace_back([this] { net_io_.run(); });
    asio::post(acceptor_.get_executor(), [this] { accept(); });
  }

  [[nodiscard]] std::uint16_t port() const noexcept override { return port_; }
  [[nodiscard]] std::string url() const override {
    const std::string& host = options_.listen.host;
    const bool v6 = host.find(':') != std::string::npos;
    return std::string(tls_ ? "https" : "http") + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port_);
  }

  void stop_accepting() override {
    std::promise<void> done;
    asio::post(acceptor_.get_executor(), [&] {
      accepting_ = false;
      ErrorCode ec;
      acceptor_.close(ec);
      retry_timer_.cancel();
      done.set_value();
    });
    done.get_future().wait_for(std::chrono::seconds(5));
  }

  [[nodiscard]] CoreStats core_stats() const override {
    std::promise<CoreStats> stats;
    asio::post(engine_io_, [&] { stats.set_value(core_->stats()); });
    auto future = stats.get_future();
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return {};
    return future.get();
  }

  [[nodiscard]] std::int64_t connections() const override { return shared_ ? shared_->count() : 0; }

  Result<ReloadReport> reload(const GatewayConfig& next) override {
    Result<ReloadReport> report = build_and_swap(next);
    if (!report) {
      reload_refused();
      return report;
    }
    shared_->set_access(next.serve);
    for (const char* key : restart_only(next.serve)) {
      report->notes.push_back(std::string("[serve] ") + key + " changed: it applies after a restart, not on reload");
    }
    return report;
  }

  void reload_refused() override {
    asio::post(engine_io_, [this] { core_->reload_refused(); });
  }
  [[nodiscard]] const std::vector<std::string>& notes() const noexcept override { return notes_; }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (!threads_.empty()) {
      stop_accepting();
      std::promise<void> answered;
      asio::post(engine_io_, [&] {
        core_->shutdown();
        answered.set_value();
      });
      answered.get_future().wait_for(std::chrono::seconds(5));
      for (const auto& s : shared_->all()) s->shut();
    }
    engine_work_.reset();
    net_work_.reset();
    engine_io_.stop();
    net_io_.stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  Result<ReloadReport> build_and_swap(const GatewayConfig& next) {
    if (Status access = check_access(next.serve, options_.listen); !access) return access.error();
    Result<RouteTable> routes = RouteTable::build(next.config);
    if (!routes) return routes.error();
    std::vector<std::string> notes;
    for (const std::string& r : routes->resume_disabled()) {
      notes.push_back("route " + r + ": stream_resume is off in the gateway");
    }
    // The swap runs on the engine's thread, and the front's table changes in the same
    // turn: no request can pick a route from the new table before its engine exists.
    auto swapped = std::make_shared<std::promise<Result<ReloadReport>>>();
    auto future = swapped->get_future();
    asio::post(engine_io_, [this, swapped, table = std::move(*routes)]() mutable {
      Result<ReloadReport> r = core_->reload(std::move(table));
      if (r) shared_->routes.store(core_->routes(), std::memory_order_release);
      swapped->set_value(std::move(r));
    });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return Error{"reload", "the engine's thread did not take the new config within 10 s"};
    }
    Result<ReloadReport> report = future.get();
    if (report) report->notes.insert(report->notes.begin(), notes.begin(), notes.end());
    return report;
  }

  // The [serve] keys a reload does not apply (the listener, threads and limits are set up once).
  [[nodiscard]] std::vector<const char*> restart_only(const ServeConfig& next) const {
    const ServeConfig& now = config_.serve;
    std::vector<const char*> changed;
    if (next.listen != now.listen) changed.push_back("listen");
    if (next.threads != now.threads) changed.push_back("threads");
    if (next.connections_max != now.connections_max) changed.push_back("connections_max");
    if (next.connections_per_client_max != now.connections_per_client_max) {
      changed.push_back("connections_per_client_max");
    }
    if (next.header_bytes_max != now.header_bytes_max) changed.push_back("header_bytes_max");
    if (next.body_bytes_max != now.body_bytes_max) changed.push_back("body_bytes_max");
    if (next.header_read_timeout != now.header_read_timeout) changed.push_back("header_read_timeout");
    if (next.body_read_timeout != now.body_read_timeout) changed.push_back("body_read_timeout");
    if (next.idle_timeout != now.idle_timeout) changed.push_back("idle_timeout");
    return changed;
  }

  Status use_tls() {
    try {
      tls_.emplace(ssl::context::tls_server);
    } catch (const boost::system::system_error& e) {
      return Error{"tls", std::string("cannot make a TLS context: ") + e.what()};
    }
    ErrorCode ec;
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                      ec);
    if (ec || SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION) != 1) {
      return Error{"tls", "cannot require TLS 1.2 or newer"};
    }
    tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec) return Error{options_.tls_cert_file, "cannot load the certificate chain (PEM): " + ec.message()};
    tls_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec) return Error{options_.tls_key_file, "cannot load the private key (PEM): " + ec.message()};
    if (SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
      return Error{options_.tls_key_file, "the private key does not match the certificate " + options_.tls_cert_file};
    }
    return Ok{};
  }

  Status listen() {
    ErrorCode ec;
    const std::string host = options_.listen.host == "localhost" ? "127.0.0.1" : options_.listen.host;
    const asio::ip::address address = asio::ip::make_address(host, ec);
    if (ec) return Error{"listen", "'" + options_.listen.host + "' is not an IP address (or localhost)"};
    const tcp::endpoint endpoint(address, options_.listen.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) port_ = acceptor_.local_endpoint(ec).port();
    if (ec) {
      return Error{"listen", "cannot listen on " + options_.listen.host + ":" + std::to_string(options_.listen.port) +
                                 ": " + ec.message()};
    }
    return Ok{};
  }

  void accept() {
    if (!accepting_) return;
    acceptor_.async_accept(asio::make_strand(net_io_), [this](const ErrorCode& ec, tcp::socket socket) {
      if (!accepting_ || ec == asio::error::operation_aborted) return;
      if (!ec) {
        admit(std::move(socket));
        accept();
        return;
      }
      retry_timer_.expires_after(kAcceptRetry);  // out of descriptors or the like: not a spin
      retry_timer_.async_wait([this](const ErrorCode& wait_ec) {
        if (!wait_ec) accept();
      });
    });
  }

  void admit(tcp::socket socket) {
    ErrorCode ec;
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) return;
    socket.set_option(tcp::no_delay(true), ec);
    const std::uint64_t id = next_session_++;
    std::shared_ptr<SessionBase> base;
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
      keep_record_buffers(stream.native_handle());
      auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(shared_, id, std::move(stream));
      if (!shared_->admit(id, s, peer.address())) return;
      s->start();
    } else {
      auto s = std::make_shared<Session<beast::tcp_stream>>(shared_, id, beast::tcp_stream(std::move(socket)));
      if (!shared_->admit(id, s, peer.address())) return;
      s->start();
    }
  }

  GatewayConfig config_;
  GatewayOptions options_;
  mutable asio::io_context engine_io_{1};
  asio::io_context net_io_;
  asio::executor_work_guard<asio::io_context::executor_type> engine_work_;
  asio::executor_work_guard<asio::io_context::executor_type> net_work_;
  std::unique_ptr<GatewayCore> core_;
  std::shared_ptr<Shared> shared_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::optional<ssl::context> tls_;
  std::vector<std::thread> threads_;
  std::vector<std::string> notes_;
  std::uint16_t port_ = 0;
  std::uint64_t next_session_ = 0;  // on the acceptor's strand only
  bool accepting_ = true;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::start(const GatewayConfig& config, const GatewayOptions& options) {
  if (Status access = check_access(config.serve, options.listen); !access) return access.error();
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Error{"tls", "give both a certificate chain file and a key file, or neither (plain HTTP)"};
  }
  if (options.threads < 0 || options.threads > kServeThreadsMax) {
    return Error{"threads", "must be between 1 and " + std::to_string(kServeThreadsMax)};
  }
  auto server = std::make_unique<Server>(config, options);
  if (Status ok = server->init(); !ok) return ok.error();
  server->run_threads();
  return std::unique_ptr<Gateway>(std::move(server));
}

}  // namespace failover::serve

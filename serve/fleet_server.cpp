// The FleetServer: a Beast HTTP/1.1 server (plain TCP or TLS) on one io_context
// thread. Each connection keeps one read outstanding for its whole life, so a client
// that gives up mid-answer is noticed at once (its slot is freed then), and writes the
// WirePlan of each answer step by step on a steady_timer that maps scenario time to
// real time scaled by K. Everything runs on the caller's one io_context thread: the
// FakeProviders need no locks.
#include "serve/fleet_server.h"

#include <openssl/ssl.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/prng.h"
#include "core/protocol/codec.h"
#include "serve/fleet_wire.h"
#include "sim/fleet.h"

namespace failover::serve {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using HttpRequest = http::request<http::string_body>;

// The connection caps are FleetOptions::connections_max and connections_per_address_max:
// at the cap a new connection closes the oldest idle one (no answer under way) rather
// than being refused, so idle sockets cannot shut clients out.
constexpr std::uint64_t kBodyMax = 1 << 20;      // request body; beyond: 413
constexpr std::uint32_t kHeaderMax = 16 * 1024;  // request head; beyond: 400
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kPendingMax = 64 * 1024;  // read ahead while an answer is under way
// A TLS handshake, and a request from its first byte (or from the connection's start)
// to its end, are bounded on their own, well below the keep-alive idle timeout: a client
// that never finishes either holds a connection for seconds, not for a minute.
constexpr auto kHandshakeTimeout = std::chrono::seconds(5);
constexpr auto kRequestReadTimeout = std::chrono::seconds(10);
constexpr auto kCloseTimeout = std::chrono::seconds(2);  // waiting for the client's close_notify / FIN
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Where a protocol lists its models, after the provider's prefix (the SDKs append it
// to the base URL): GET /models (OpenAI), GET /v1/models (Anthropic), and /{id} under it.
std::string_view models_path(Protocol protocol) {
  return protocol == Protocol::anthropic ? "/v1/models" : "/models";
}

struct ServedProvider {
  std::string name;
  Protocol protocol = Protocol::openai;
  std::string path;  // "/" + name + request_path(protocol)
  std::vector<ModelConfig> models;
};

// What the server decided for one request: the plan and the provider whose slot the
// answer holds (FakeProvider::finish is owed once), if any.
struct Dispatch {
  WirePlan plan;
  std::optional<Index> slot;
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void start() = 0;
  virtual void shut() = 0;  // the server stops: close now, free any slot
  // Whether no answer is under way (handshaking, reading a request, or kept alive), and
  // since when, as a sequence number: the oldest idle session is closed first.
  [[nodiscard]] virtual bool idle() const = 0;
  [[nodiscard]] virtual std::uint64_t idle_since() const = 0;
};

class ServerState : public std::enable_shared_from_this<ServerState> {
 public:
  ServerState(asio::io_context& io, sim::Fleet fleet, std::vector<ServedProvider> providers,
              AnswerLengths answer_lengths, const FleetOptions& options)
      : io_(io),
        acceptor_(io),
        retry_timer_(io),
        fleet_(std::move(fleet)),
        providers_(std::move(providers)),
        answer_lengths_(std::move(answer_lengths)),
        seed_(options.seed),
        time_scale_(options.time_scale),
        write_gap_(options.write_gap),
        answer_max_tokens_(options.answer_max_tokens),
        connections_max_(options.connections_max),
        connections_per_address_max_(options.connections_per_address_max),
        idle_timeout_(std::chrono::microseconds(to_us(options.idle_timeout))),
        start_at_(kTimeZero + options.start_at),
        t0_(SteadyClock::now()),
        last_(start_at_) {}

  Status listen(const asio::ip::address& address, std::uint16_t port);
  Status use_tls(const std::string& cert_file, const std::string& key_file);
  void accept();
  void stop();

  // Scenario time now: start_at + (steady now - t0) x K, never going backwards.
  Time sim_now();
  // The steady instant at which scenario time reaches t (rounded up: never early).
  [[nodiscard]] SteadyClock::time_point steady_at(Time t) const;
  Dispatch dispatch(const HttpRequest& request, bool keep_alive);
  // The answer to a request that did not parse (400, or 413 over the body limit).
  std::string bad_message(std::string_view target, bool too_large);
  void finish(Index provider) { fleet_.provider(provider).finish(sim_now()); }
  // A session closed (or was destroyed): it no longer counts against the caps.
  void forget(std::uint64_t session);
  [[nodiscard]] std::uint64_t next_idle_mark() { return ++idle_marks_; }

  [[nodiscard]] asio::io_context& io() const { return io_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] SteadyClock::time_point origin() const { return t0_; }
  [[nodiscard]] bool tls() const { return tls_.has_value(); }
  [[nodiscard]] std::chrono::microseconds idle_timeout() const { return idle_timeout_; }
  [[nodiscard]] const std::vector<ServedProvider>& providers() const { return providers_; }
  [[nodiscard]] const sim::Fleet& fleet() const { return fleet_; }
  [[nodiscard]] FleetStats stats() const noexcept {
    return {requests_.load(std::memory_order_relaxed), bad_requests_.load(std::memory_order_relaxed)};
  }

 private:
  void admit(tcp::socket socket);
  // Closes the idle session idle the longest (of `address` only, when given); false if none.
  bool close_oldest_idle(const std::optional<asio::ip::address>& address);
  [[nodiscard]] std::optional<Index> provider_of(std::string_view path) const;
  Dispatch refuse(Protocol protocol, std::int32_t status, std::string message, bool keep_alive,
                  std::vector<protocol::Header> extra = {});
  Dispatch serve(Index provider, const protocol::ChatRequest& chat, std::string tool, Index model, bool keep_alive);
  // GET models (rest empty) or models/{id} (rest "/id") of a provider.
  Dispatch list_models(Index provider, std::string_view rest, bool keep_alive);
  static std::int64_t wall_now_unix_ms();

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::optional<ssl::context> tls_;
  sim::Fleet fleet_;
  std::vector<ServedProvider> providers_;
  AnswerLengths answer_lengths_;
  std::uint64_t seed_;
  std::int64_t time_scale_;
  Duration write_gap_;
  bool answer_max_tokens_;
  std::size_t connections_max_;
  std::size_t connections_per_address_max_;
  std::chrono::microseconds idle_timeout_;
  Time start_at_;
  SteadyClock::time_point t0_;
  Time last_;
  std::uint16_t port_ = 0;
  struct SessionEntry {
    std::weak_ptr<SessionBase> session;
    asio::ip::address address;
  };
  // Open sessions only: a session leaves at close, not when its last handler ends.
  std::map<std::uint64_t, SessionEntry> sessions_;
  std::map<asio::ip::address, std::size_t> per_address_;
  std::uint64_t idle_marks_ = 0;
  std::uint64_t next_session_ = 0;
  std::uint64_t next_request_ = 0;
  std::atomic<std::int64_t> requests_{0};
  std::atomic<std::int64_t> bad_requests_{0};
  bool stopped_ = false;
};

// One connection. Stream is tcp::socket or ssl::stream<tcp::socket>.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  Session(std::shared_ptr<ServerState> state, std::uint64_t id, Stream stream)
      : state_(std::move(state)), id_(id), stream_(std::move(stream)), timer_(state_->io()) {}
  ~Session() override { state_->forget(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() override;
  void shut() override { gone(); }
  [[nodiscard]] bool idle() const override { return !busy_ && !closed_; }
  [[nodiscard]] std::uint64_t idle_since() const override { return idle_since_; }

 private:
  tcp::socket& socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }
  // Runs `then` at `when` unless the session closes or re-arms the timer first.
  void arm(SteadyClock::time_point when, std::function<void()> then);
  void arm_idle();
  void arm_request_read();
  void read();
  void on_read(const ErrorCode& ec, std::size_t n);
  void parse();
  void respond(Dispatch dispatch);
  void next_step();
  void end_response();
  void release_slot();
  void graceful_close();
  void abort_close();
  void gone();

  std::shared_ptr<ServerState> state_;
  std::uint64_t id_;
  Stream stream_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  boost::beast::flat_buffer in_;
  std::optional<http::request_parser<http::string_body>> parser_;
  WirePlan plan_;
  std::size_t step_ = 0;
  std::string out_;  // the steps being written
  std::optional<Index> slot_;
  bool reading_ = false;
  bool writing_ = false;
  bool busy_ = false;  // an answer is under way
  bool keep_alive_ = true;
  bool continue_sent_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool awaiting_request_ = false;  // the keep-alive idle timer runs: no byte of a request yet
  std::uint64_t idle_since_ = 0;
};

// ---- ServerState -------------------------------------------------------------------

Status ServerState::listen(const asio::ip::address& address, std::uint16_t port) {
  const tcp::endpoint endpoint(address, port);
  ErrorCode ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) port_ = acceptor_.local_endpoint(ec).port();
  if (ec)
    return Error{"listen",
                 "cannot listen on " + address.to_string() + ":" + std::to_string(port) + ": " + ec.message()};
  FAILOVER_ASSERT(port_ != 0);
  return Ok{};
}

Status ServerState::use_tls(const std::string& cert_file, const std::string& key_file) {
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
  tls_->use_certificate_chain_file(cert_file, ec);
  if (ec) return Error{cert_file, "cannot load the certificate chain (PEM): " + ec.message()};
  tls_->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return Error{key_file, "cannot load the private key (PEM): " + ec.message()};
  if (SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
    return Error{key_file, "the private key does not match the certificate " + cert_file};
  }
  return Ok{};
}

void ServerState::accept() {
  if (stopped_) return;
  acceptor_.async_accept([self = shared_from_this()](const ErrorCode& ec, tcp::socket socket) {
    if (self->stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      self->admit(std::move(socket));
      self->accept();
      return;
    }
    // Out of descriptors or the like: try again shortly rather than spin.
    self->retry_timer_.expires_after(kAcceptRetry);
    self->retry_timer_.async_wait([self](const ErrorCode& wait_ec) {
      if (!wait_ec) self->accept();
    });
  });
}

void ServerState::admit(tcp::socket socket) {
  ErrorCode ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  const asio::ip::address address = peer.address();
  const auto mine = per_address_.find(address);
  const bool address_full = mine != per_address_.end() && mine->second >= connections_per_address_max_;
  if ((address_full && !close_oldest_idle(address)) ||
      (sessions_.size() >= connections_max_ && !close_oldest_idle(std::nullopt))) {
    socket.close(ec);  // every connection is busy answering: nothing to give way
    return;
  }
  FAILOVER_ASSERT(sessions_.size() < connections_max_);
  socket.set_option(tcp::no_delay(true), ec);
  const std::uint64_t id = next_session_++;
  std::shared_ptr<SessionBase> session;
  if (tls_) {
    session = std::make_shared<Session<ssl::stream<tcp::socket>>>(shared_from_this(), id,
                                                                  ssl::stream<tcp::socket>(std::move(socket), *tls_));
  } else {
    session = std::make_shared<Session<tcp::socket>>(shared_from_this(), id, std::move(socket));
  }
  sessions_.emplace(id, SessionEntry{session, address});
  const std::size_t from_address = ++per_address_[address];
  FAILOVER_ASSERT(sessions_.size() <= connections_max_);
  FAILOVER_ASSERT(from_address <= connections_per_address_max_);
  session->start();
}

bool ServerState::close_oldest_idle(const std::optional<asio::ip::address>& address) {
  std::shared_ptr<SessionBase> oldest;
  for (const auto& [id, entry] : sessions_) {  // at most connections_max entries
    if (address && entry.address != *address) continue;
    std::shared_ptr<SessionBase> s = entry.session.lock();
    if (!s || !s->idle()) continue;
    if (!oldest || s->idle_since() < oldest->idle_since()) oldest = std::move(s);
  }
  if (!oldest) return false;
  const std::size_t before = sessions_.size();
  oldest->shut();  // forgets itself
  FAILOVER_ASSERT(sessions_.size() + 1 == before);
  return true;
}

void ServerState::forget(std::uint64_t session) {
  const auto it = sessions_.find(session);
  if (it == sessions_.end()) return;  // closed before, and now destroyed
  const auto count = per_address_.find(it->second.address);
  FAILOVER_ASSERT(count != per_address_.end() && count->second > 0);
  if (--count->second == 0) per_address_.erase(count);
  sessions_.erase(it);
}

void ServerState::stop() {
  if (stopped_) return;
  stopped_ = true;
  ErrorCode ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  // Collect first: a session may be destroyed (and leave sessions_) when released.
  std::vector<std::shared_ptr<SessionBase>> live;
  live.reserve(sessions_.size());
  for (const auto& entry : sessions_) {
    if (std::shared_ptr<SessionBase> s = entry.second.session.lock()) live.push_back(std::move(s));
  }
  for (const std::shared_ptr<SessionBase>& s : live) s->shut();
}

Time ServerState::sim_now() {
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0_).count();
  FAILOVER_ASSERT(elapsed >= 0);
  const Time t = start_at_ + us(elapsed * time_scale_);
  last_ = std::max(last_, t);
  return last_;
}

SteadyClock::time_point ServerState::steady_at(Time t) const {
  FAILOVER_ASSERT(t != kTimeNever);
  const std::int64_t sim_us = std::max<std::int64_t>(to_us(t - start_at_), 0);
  const std::int64_t real_us = sim_us / time_scale_ + (sim_us % time_scale_ != 0 ? 1 : 0);
  return t0_ + std::chrono::microseconds(real_us);
}

std::optional<Index> ServerState::provider_of(std::string_view path) const {
  for (std::size_t i = 0; i < providers_.size(); ++i) {
    const std::string& name = providers_[i].name;
    if (path.size() > name.size() && path[0] == '/' && path.substr(1, name.size()) == name &&
        (path.size() == name.size() + 1 || path[name.size() + 1] == '/')) {
      return static_cast<Index>(i);
    }
  }
  return std::nullopt;
}

Dispatch ServerState::refuse(Protocol protocol, std::int32_t status, std::string message, bool keep_alive,
                             std::vector<protocol::Header> extra) {
  bad_requests_.fetch_add(1, std::memory_order_relaxed);
  protocol::ErrorInfo error = protocol::error_for_status(protocol, status);
  error.message = std::move(message);
  const std::string id = request_id(seed_, ++next_request_);
  extra.insert(extra.begin(), request_id_header(protocol, id));
  Dispatch d;
  d.plan.steps.push_back({sim_now(), error_response(protocol, status, error, keep_alive, extra, id)});
  d.plan.end = WireEnd::keep_alive;
  return d;
}

std::string ServerState::bad_message(std::string_view target, bool too_large) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  bad_requests_.fetch_add(1, std::memory_order_relaxed);
  const std::optional<Index> p = provider_of(target.substr(0, target.find('?')));
  const Protocol protocol = p ? providers_[*p].protocol : Protocol::openai;
  const std::int32_t status = too_large ? 413 : 400;
  protocol::ErrorInfo error = protocol::error_for_status(protocol, status);
  error.message =
      too_large ? "request body larger than " + std::to_string(kBodyMax) + " bytes" : "malformed HTTP request";
  const std::string id = request_id(seed_, ++next_request_);
  return error_response(protocol, status, error, false, {request_id_header(protocol, id)}, id);
}

Dispatch ServerState::dispatch(const HttpRequest& request, bool keep_alive) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const std::optional<Index> p = provider_of(path);
  if (!p) return refuse(Protocol::openai, 404, "no route for " + std::string(path), keep_alive);
  const ServedProvider& provider = providers_[*p];
  const std::string_view route = path.substr(provider.name.size() + 1);  // after "/P"
  const std::string_view listing = models_path(provider.protocol);
  const bool models =
      route.substr(0, listing.size()) == listing && (route.size() == listing.size() || route[listing.size()] == '/');
  if (path != provider.path && !models) {
    return refuse(provider.protocol, 404, "no route for " + std::string(path), keep_alive);
  }
  const http::verb method = models ? http::verb::get : http::verb::post;
  if (request.method() != method) {
    const char* name = models ? "GET" : "POST";
    return refuse(provider.protocol, 405, std::string("method not allowed: use ") + name, keep_alive,
                  {{"allow", name}});
  }
  // The real API refuses a request without a version before it reads the body.
  if (provider.protocol == Protocol::anthropic && request.find("anthropic-version") == request.end()) {
    return refuse(provider.protocol, 400, "anthropic-version: header is required", keep_alive);
  }
  if (models) return list_models(*p, route.substr(listing.size()), keep_alive);
  Result<protocol::ChatRequest> chat = protocol::decode_request(provider.protocol, request.body());
  if (!chat) return refuse(provider.protocol, 400, chat.error().message(), keep_alive);
  const auto model = std::find_if(provider.models.begin(), provider.models.end(),
                                  [&](const ModelConfig& m) { return m.id == chat->model; });
  if (model == provider.models.end()) {
    return refuse(provider.protocol, 404, "model '" + chat->model + "' not found on " + provider.name, keep_alive);
  }
  if (chat->max_tokens < 1 || chat->max_tokens > kAnswerTokensMax) {
    return refuse(provider.protocol, 400,
                  "max_tokens must be between 1 and " + std::to_string(kAnswerTokensMax) + " on this fleet",
                  keep_alive);
  }
  return serve(*p, *chat, requested_tool(provider.protocol, request.body()),
               static_cast<Index>(model - provider.models.begin()), keep_alive);
}

Dispatch ServerState::list_models(Index provider, std::string_view rest, bool keep_alive) {
  const ServedProvider& served = providers_[provider];
  std::string body;
  if (rest.empty()) {
    body = models_body(served.protocol, served.models);
  } else {
    FAILOVER_ASSERT(rest.front() == '/');
    const std::string_view id = rest.substr(1);
    const auto model =
        std::find_if(served.models.begin(), served.models.end(), [&](const ModelConfig& m) { return m.id == id; });
    if (model == served.models.end()) {
      return refuse(served.protocol, 404, "model '" + std::string(id) + "' not found on " + served.name, keep_alive);
    }
    body = model_body(served.protocol, *model);
  }
  const std::string id = request_id(seed_, ++next_request_);
  Dispatch d;
  d.plan.steps.push_back({sim_now(), json_response(body, keep_alive, {request_id_header(served.protocol, id)})});
  return d;
}

std::int64_t ServerState::wall_now_unix_ms() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::max<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count(), 0);
}

Dispatch ServerState::serve(Index provider, const protocol::ChatRequest& chat, std::string tool, Index model,
                            bool keep_alive) {
  const ServedProvider& served = providers_[provider];
  FAILOVER_ASSERT(model < served.models.size());
  const std::int64_t wall_ms = wall_now_unix_ms();
  WireRequest w;
  w.protocol = served.protocol;
  w.model = chat.model;
  w.prompt_tokens = estimate_prompt_tokens(chat);
  w.output_tokens = chat.max_tokens;
  w.answer_tokens = answer_max_tokens_ ? chat.max_tokens : answer_lengths_.next(chat.max_tokens);
  w.context_window_tokens = served.models[model].context_window_tokens;
  w.stream = chat.stream;
  w.include_usage = chat.include_usage;
  w.tool = std::move(tool);
  w.keep_alive = keep_alive;
  w.sequence = ++next_request_;
  w.time_scale = time_scale_;
  w.write_gap = write_gap_;
  w.created = wall_ms / 1'000;
  w.request_id = request_id(seed_, w.sequence);
  const Time now = sim_now();
  sim::FakeProvider& fake = fleet_.provider(provider);
  const sim::Reply reply =
      fake.start(now, sim::AttemptSpec{model, w.prompt_tokens, w.answer_tokens, w.stream, w.output_tokens});
  w.headers.push_back(request_id_header(w.protocol, w.request_id));
  for (protocol::Header& h : rate_limit_headers(w.protocol, fake.rate_limits(), time_scale_, wall_ms)) {
    w.headers.push_back(std::move(h));
  }
  Dispatch d;
  d.plan = plan_reply(w, reply, now);
  if (reply.holds_slot) d.slot = provider;
  return d;
}

// ---- Session -----------------------------------------------------------------------

template <class Stream>
void Session<Stream>::start() {
  idle_since_ = state_->next_idle_mark();
  if constexpr (kTls) {
    arm(SteadyClock::now() + kHandshakeTimeout, [this] { gone(); });
    stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](const ErrorCode& ec) {
      if (self->closed_) return;
      ++self->timer_generation_;
      self->timer_.cancel();
      if (ec) {
        self->gone();
        return;
      }
      self->arm_request_read();
      self->read();
    });
  } else {
    arm_request_read();
    read();
  }
}

template <class Stream>
void Session<Stream>::arm_request_read() {
  // A fresh connection owes its first request at once; within a short idle timeout, sooner.
  awaiting_request_ = false;
  auto limit = std::chrono::duration_cast<std::chrono::microseconds>(kRequestReadTimeout);
  if (state_->idle_timeout().count() > 0) limit = std::min(limit, state_->idle_timeout());
  arm(SteadyClock::now() + limit, [this] { gone(); });
}

template <class Stream>
void Session<Stream>::arm_idle() {
  // Replaces whatever the timer waited for; respond() takes the timer over again, and the
  // first byte of the next request swaps it for the request-read timer.
  awaiting_request_ = true;
  if (state_->idle_timeout().count() > 0) {
    arm(SteadyClock::now() + state_->idle_timeout(), [this] { gone(); });
  } else {
    ++timer_generation_;
    timer_.cancel();
  }
}

template <class Stream>
void Session<Stream>::arm(SteadyClock::time_point when, std::function<void()> then) {
  const std::uint64_t generation = ++timer_generation_;
  timer_.expires_at(when);
  timer_.async_wait([self = this->shared_from_this(), generation, then = std::move(then)](const ErrorCode& ec) {
    if (ec || self->closed_ || generation != self->timer_generation_) return;
    then();
  });
}

template <class Stream>
void Session<Stream>::read() {
  if (reading_ || closed_) return;
  if (closing_ && kTls) return;                    // async_shutdown does the reading now
  if (busy_ && in_.size() >= kPendingMax) return;  // resumed when the answer ends
  reading_ = true;
  stream_.async_read_some(in_.prepare(kReadChunk), [self = this->shared_from_this()](
                                                       const ErrorCode& ec, std::size_t n) { self->on_read(ec, n); });
}

template <class Stream>
void Session<Stream>::on_read(const ErrorCode& ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    gone();  // the client closed (or reset) the connection: free its slot now
    return;
  }
  in_.commit(n);
  if (awaiting_request_ && !busy_ && n > 0) arm_request_read();  // a request has begun
  if (closing_) {
    in_.consume(in_.size());
  } else {
    parse();
  }
  read();
}

template <class Stream>
void Session<Stream>::parse() {
  // Each pass consumes bytes or returns; the input is bounded, so is the loop.
  for (std::size_t pass = 0; pass <= kPendingMax + kReadChunk; ++pass) {
    if (busy_ || writing_ || closing_ || closed_ || in_.size() == 0) return;
    if (!parser_) {
      parser_.emplace();
      parser_->body_limit(kBodyMax);
      parser_->header_limit(kHeaderMax);
      parser_->eager(true);
      continue_sent_ = false;
    }
    ErrorCode ec;
    const std::size_t used = parser_->put(in_.data(), ec);
    in_.consume(used);
    if (ec && ec != http::error::need_more) {
      const std::string target(parser_->is_header_done() ? parser_->get().target() : "");
      const bool too_large = ec == http::error::body_limit;
      parser_.reset();
      respond(Dispatch{{{{state_->sim_now(), state_->bad_message(target, too_large)}}, WireEnd::close}, {}});
      return;
    }
    if (parser_->is_done()) {
      HttpRequest request = parser_->release();
      parser_.reset();
      keep_alive_ = request.keep_alive();
      respond(state_->dispatch(request, keep_alive_));
      return;
    }
    if (parser_->is_header_done() && !continue_sent_) {
      continue_sent_ = true;
      const auto expect = parser_->get().find(http::field::expect);
      if (expect != parser_->get().end() && boost::beast::iequals(expect->value(), "100-continue")) {
        writing_ = true;
        asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = this->shared_from_this()](const ErrorCode& wec, std::size_t) {
                            self->writing_ = false;
                            if (wec) {
                              self->gone();
                              return;
                            }
                            self->parse();
                          });
        return;
      }
    }
    if (used == 0) return;
  }
}

template <class Stream>
void Session<Stream>::respond(Dispatch dispatch) {
  FAILOVER_ASSERT(!busy_);
  FAILOVER_ASSERT(!slot_.has_value());
  busy_ = true;
  awaiting_request_ = false;
  ++timer_generation_;  // the idle timer no longer applies: an answer is under way
  timer_.cancel();
  plan_ = std::move(dispatch.plan);
  slot_ = dispatch.slot;
  step_ = 0;
  next_step();
}

template <class Stream>
void Session<Stream>::next_step() {
  if (closed_) return;
  // Every step whose time has come goes out in one write: at a high time scale a
  // stream's pieces fall due together, and a write each would cost the server a TLS
  // record and a system call per piece for bytes the client reads at once anyway.
  out_.clear();
  const SteadyClock::time_point now = SteadyClock::now();
  for (; step_ < plan_.steps.size(); ++step_) {
    const SteadyClock::time_point when = state_->steady_at(plan_.steps[step_].at);
    if (when > now) {
      if (out_.empty()) {
        arm(when, [this] { next_step(); });
        return;
      }
      break;
    }
    out_ += plan_.steps[step_].bytes;
  }
  if (out_.empty()) {
    end_response();
    return;
  }
  writing_ = true;
  asio::async_write(stream_, asio::buffer(out_), [self = this->shared_from_this()](const ErrorCode& ec, std::size_t) {
    self->writing_ = false;
    if (self->closed_) return;
    if (ec) {
      self->gone();
      return;
    }
    self->next_step();
  });
}

template <class Stream>
void Session<Stream>::end_response() {
  FAILOVER_ASSERT(step_ == plan_.steps.size());
  switch (plan_.end) {
    case WireEnd::keep_alive:
      release_slot();
      busy_ = false;
      idle_since_ = state_->next_idle_mark();
      plan_ = {};
      if (!keep_alive_) {
        graceful_close();
        return;
      }
      if (in_.size() > 0 || parser_) {
        arm_request_read();  // the next request has begun (pipelined)
      } else {
        arm_idle();
      }
      parse();
      read();
      return;
    case WireEnd::close:
    case WireEnd::cut:
      release_slot();
      graceful_close();
      return;
    case WireEnd::abort:
      release_slot();
      abort_close();
      return;
    case WireEnd::hold:
      return;  // the slot is freed when the client closes (gone)
  }
}

template <class Stream>
void Session<Stream>::release_slot() {
  if (!slot_) return;
  const Index provider = *slot_;
  slot_.reset();
  state_->finish(provider);
}

template <class Stream>
void Session<Stream>::graceful_close() {
  if (closing_ || closed_) return;
  closing_ = true;
  arm(SteadyClock::now() + kCloseTimeout, [this] { gone(); });
  if constexpr (kTls) {
    // Sends close_notify; the client sees a clean end of stream (mid-body for a cut).
    stream_.async_shutdown([self = this->shared_from_this()](const ErrorCode&) { self->gone(); });
  } else {
    ErrorCode ec;
    socket().shutdown(tcp::socket::shutdown_send, ec);
    read();  // until the client's FIN
  }
}

template <class Stream>
void Session<Stream>::abort_close() {
  if (closed_) return;
  ErrorCode ec;
  // SO_LINGER 0: close() sends an RST instead of a FIN, and no TLS close_notify.
  socket().set_option(asio::socket_base::linger(true, 0), ec);
  gone();
}

template <class Stream>
void Session<Stream>::gone() {
  if (closed_) return;
  closed_ = true;
  ++timer_generation_;
  timer_.cancel();
  release_slot();
  ErrorCode ec;
  socket().close(ec);
  state_->forget(id_);  // no longer counts against the connection caps
}

// ---- FleetServer -------------------------------------------------------------------

class Server final : public FleetServer {
 public:
  Server(std::shared_ptr<ServerState> state, std::string host) : state_(std::move(state)), host_(std::move(host)) {}
  ~Server() override { Server::stop(); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept override { return state_->port(); }
  [[nodiscard]] SteadyClock::time_point origin() const noexcept override { return state_->origin(); }
  [[nodiscard]] std::string base_url(std::string_view provider) const override {
    const bool v6 = host_.find(':') != std::string::npos;
    return std::string(state_->tls() ? "https" : "http") + "://" + (v6 ? "[" + host_ + "]" : host_) + ":" +
           std::to_string(state_->port()) + "/" + std::string(provider);
  }
  [[nodiscard]] FleetStats stats() const noexcept override { return state_->stats(); }
  [[nodiscard]] std::vector<ProviderServeStats> provider_stats() const override {
    std::vector<ProviderServeStats> out;
    for (std::size_t i = 0; i < state_->providers().size(); ++i) {
      const ServedProvider& p = state_->providers()[i];
      const sim::FakeProvider& fake = state_->fleet().provider(static_cast<Index>(i));
      out.push_back({p.name, p.protocol, fake.stats(), fake.inflight()});
    }
    return out;
  }
  void stop() override {
    if (stop_posted_) return;
    stop_posted_ = true;
    asio::post(state_->io(), [state = state_] { state->stop(); });
  }

 private:
  std::shared_ptr<ServerState> state_;
  std::string host_;
  bool stop_posted_ = false;
};

Result<asio::ip::address> loopback_address(const std::string& host) {
  ErrorCode ec;
  const asio::ip::address address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Error{"listen", "'" + host + "' is not an IP address (or localhost)"};
  if (!address.is_loopback()) {
    return Error{"listen", "refusing to listen on " + host +
                               ": the fleet serves fake providers on loopback only (127.0.0.1, ::1, localhost)"};
  }
  return address;
}

Result<std::vector<ServedProvider>> served_providers(const sim::Scenario& scenario) {
  if (scenario.policies.empty()) return Error{scenario.path, "the scenario has no policy (its config part)"};
  const std::vector<ProviderConfig>& configs = scenario.policies[0].config.providers;
  if (configs.size() != scenario.providers.size() || configs.empty()) {
    return Error{scenario.path, "the scenario's providers and its config's providers differ"};
  }
  std::vector<ServedProvider> out;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (configs[i].name != scenario.providers[i].name) {
      return Error{scenario.path, "provider " + std::to_string(i) + " is named differently in the config part"};
    }
    const std::string path = "/" + configs[i].name + std::string(protocol::request_path(configs[i].protocol));
    out.push_back({configs[i].name, configs[i].protocol, path, scenario.providers[i].models});
  }
  return out;
}

}  // namespace

Status check_listen_host(const std::string& host) {
  const Result<asio::ip::address> address = loopback_address(host);
  if (!address) return address.error();
  return Ok{};
}

Result<std::unique_ptr<FleetServer>> FleetServer::start(asio::io_context& io, const sim::Scenario& scenario,
                                                        const FleetOptions& options) {
  if (options.time_scale < 1 || options.time_scale > kTimeScaleMax) {
    return Error{"time_scale", "must be between 1 and " + std::to_string(kTimeScaleMax)};
  }
  if (options.start_at < Duration{0}) return Error{"start_at", "must not be negative"};
  if (options.connections_max < 2 || options.connections_max > kFleetConnectionsLimit ||
      options.connections_per_address_max < 1 || options.connections_per_address_max >= options.connections_max) {
    return Error{"connections", "connections_max must be 2.." + std::to_string(kFleetConnectionsLimit) +
                                    " and connections_per_address_max below it"};
  }
  if (options.idle_timeout < Duration{0}) return Error{"idle_timeout", "must not be negative"};
  if (options.write_gap < Duration{0} || options.write_gap > sec(1)) {
    return Error{"write_gap", "must be between 0 and 1 s"};
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Error{"tls", "give both a certificate chain file and a key file, or neither (plain HTTP)"};
  }
  Result<asio::ip::address> address = loopback_address(options.host);
  if (!address) return address.error();
  Result<std::vector<ServedProvider>> providers = served_providers(scenario);
  if (!providers) return providers.error();
  // Seeded as a simulation run of the same seed seeds its fleet (sim/simulation.cpp).
  sim::Fleet fleet(scenario.providers, Prng(options.seed));
  AnswerLengths lengths(scenario.traffic, options.seed);
  auto state = std::make_shared<ServerState>(io, std::move(fleet), std::move(*providers), std::move(lengths), options);
  if (!options.tls_cert_file.empty()) {
    if (Status tls = state->use_tls(options.tls_cert_file, options.tls_key_file); !tls) return tls.error();
  }
  if (Status listening = state->listen(*address, options.port); !listening) return listening.error();
  state->accept();
  return std::unique_ptr<FleetServer>(std::make_unique<Server>(std::move(state), options.host));
}

}  // namespace failover::serve

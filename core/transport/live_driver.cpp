#include "core/transport/live_driver.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <exception>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/engine/assert.h"
#include "core/transport/clock.h"
#include "core/transport/url.h"

namespace failover::transport {

namespace asio = boost::asio;

Result<std::vector<std::string>> read_api_keys(const Config& config) {
  std::vector<std::string> keys;
  keys.reserve(config.providers.size());
  for (std::size_t p = 0; p < config.providers.size(); ++p) {
    const ProviderConfig& provider = config.providers[p];
    if (provider.api_key_env.empty()) {
      keys.emplace_back();
      continue;
    }
    const char* value = std::getenv(provider.api_key_env.c_str());
    if (value == nullptr || *value == '\0') {
      return Error{"providers[" + std::to_string(p) + "].api_key_env",
                   "the environment variable " + provider.api_key_env + " (the API key of provider \"" + provider.name +
                       "\") is " + (value == nullptr ? "not set" : "empty")};
    }
    // A key goes into a header line: a CR or LF in it would add header lines of its own
    // (defence in depth; the config loader checks everything else that reaches the wire).
    // The message names the variable, never its value.
    if (config::has_control_character(value)) {
      return Error{"providers[" + std::to_string(p) + "].api_key_env",
                   "the environment variable " + provider.api_key_env + " (the API key of provider \"" + provider.name +
                       "\") holds a control character (a CR, LF or other byte below 0x20); refusing to send it"};
    }
    keys.emplace_back(value);
  }
  FAILOVER_ASSERT(keys.size() == config.providers.size());
  return keys;
}

namespace {

struct AttemptEntry {
  RequestId request = 0;
  Index provider = kNoIndex;
  AttemptHandle handle = 0;
};

struct RequestEntry {
  LiveRequest request;
  LiveDriver::Done done;
  std::string text;
  std::string last_error;
  Time submitted_at{};        // for the latency of a request that abort() ends
  std::int32_t attempts = 0;  // attempts sent so far, likewise
};

const char* state_name(BreakerState s) {
  return to_string(s);
}

}  // namespace

class LiveDriver::Impl {
 public:
  Impl(asio::io_context& io, const Config& config, const LiveOptions& options, std::shared_ptr<asio::ssl::context> tls,
       std::vector<Url> urls, std::vector<std::string> keys)
      : io_(io),
        config_(config),
        options_(options),
        tls_(std::move(tls)),
        urls_(std::move(urls)),
        keys_(std::move(keys)),
        engine_(config, options.engine_prng.value_or(Prng(options.seed))),
        timer_(io) {
    for (std::size_t p = 0; p < config_.providers.size(); ++p) {
      ClientOptions co;
      co.connections_max = config_.providers[p].concurrency_max;
      co.connect_timeout = config_.policy.timeouts.connect;
      co.response_bytes_max = options_.response_bytes_max;
      clients_.push_back(std::make_unique<ProviderClient>(io_, tls_, urls_[p], config_.providers[p].protocol, co));
    }
  }

  ~Impl() {
    for (auto& c : clients_) c->shutdown();
    timer_.cancel();
  }

  RequestId submit(LiveRequest request, Done done) {
    FAILOVER_ASSERT(done != nullptr);
    const RequestId id = next_request_++;
    if (aborted_) {
      LiveResult r;
      r.id = id;
      r.aborted = true;
      r.last_error = "the driver was stopped";
      done(std::move(r));
      return id;
    }
    const Time now = clock_.now();
    Request r;
    r.id = id;
    r.route = request.route;
    r.tier = request.tier;
    r.prompt_tokens = protocol::estimate_prompt_tokens(request.messages);
    r.output_tokens_max = request.max_tokens;
    r.stream = request.stream;
    if (request.timeout) r.deadline = add_sat(now, *request.timeout);
    requests_.emplace(id, RequestEntry{std::move(request), std::move(done), {}, {}, now, 0});
    engine_.submit(now, r, buffer_);
    drain();
    return id;
  }

  void cancel(RequestId id) {
    if (aborted_ || !requests_.contains(id)) return;
    engine_.cancel(clock_.now(), id, buffer_);
    drain();
    FAILOVER_ASSERT(!requests_.contains(id));  // its Complete came, and `done` ran
  }

  void abort() {
    aborted_ = true;
    for (auto& c : clients_) c->shutdown();
    attempts_.clear();
    timer_.cancel();
    // Every unfinished request ends now, in id order (the map is for lookup only).
    std::vector<RequestId> ids;
    ids.reserve(requests_.size());
    for (const auto& [id, entry] : requests_) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    const Time now = clock_.now();
    for (const RequestId id : ids) {
      auto node = requests_.extract(id);
      LiveResult r;
      r.id = id;
      r.aborted = true;
      // What the request had cost in time and tries when it was stopped, not zeros.
      r.attempts = node.mapped().attempts;
      r.latency = now - node.mapped().submitted_at;
      FAILOVER_ASSERT(r.latency >= Duration{0});
      r.last_error = node.mapped().last_error.empty() ? "aborted" : node.mapped().last_error;
      node.mapped().done(std::move(r));
    }
    FAILOVER_ASSERT(requests_.empty());
  }

  [[nodiscard]] std::size_t unfinished() const noexcept { return requests_.size(); }
  [[nodiscard]] HealthReport health() const { return engine_.health(clock_.now()); }
  [[nodiscard]] const LiveTotals& totals() const noexcept { return totals_; }
  [[nodiscard]] PoolStats pool_stats(Index p) const { return clients_.at(p)->stats(); }
  [[nodiscard]] const Config& config() const noexcept { return config_; }
  [[nodiscard]] Time now() const noexcept { return clock_.now(); }

 private:
  // Carries out what the engine said. The batch is copied out first: a Complete's
  // callback may submit the next request, which refills the buffer.
  void drain() {
    std::vector<Action> batch(buffer_.begin(), buffer_.end());
    buffer_.clear();
    for (const Action& action : batch) {
      if (options_.on_action) options_.on_action(action);
      std::visit([this](const auto& a) { handle(a); }, action);
    }
    rearm();
  }

  void handle(const SendAttempt& a) {
    const ProviderConfig& provider = config_.providers.at(a.provider);
    const auto req = requests_.find(a.request);
    FAILOVER_ASSERT(req != requests_.end());
    protocol::ChatRequest chat;
    chat.model = provider.models.at(a.model).id;  // the target provider's own id for the model
    chat.messages = req->second.request.messages;
    chat.max_tokens = req->second.request.max_tokens;
    chat.temperature = req->second.request.temperature;
    chat.stream = req->second.request.stream;
    protocol::EncodedRequest encoded = protocol::encode_request(provider.protocol, chat);
    HttpAttempt http;
    http.path = urls_[a.provider].path + encoded.path;
    http.headers = std::move(encoded.headers);
    if (!keys_[a.provider].empty())
      http.headers.push_back(protocol::credential_header(provider.protocol, keys_[a.provider]));
    http.body = std::move(encoded.body);
    http.stream = chat.stream;
    const AttemptId id = a.attempt;
    AttemptCallbacks callbacks;
    callbacks.on_first_byte = [this, id] { on_first_byte(id); };
    callbacks.on_done = [this, id](AttemptResult&& result) { on_done(id, std::move(result)); };
    if (chat.stream && req->second.request.on_text) {
      callbacks.on_text = [this, id](std::string_view text) { on_text(id, text); };
    }
    const AttemptHandle handle = clients_[a.provider]->start(std::move(http), std::move(callbacks));
    attempts_.emplace(id, AttemptEntry{a.request, a.provider, handle});
    ++req->second.attempts;
    ++totals_.attempts_sent;
  }

  void handle(const CancelAttempt& c) {
    const auto it = attempts_.find(c.attempt);
    if (it == attempts_.end()) return;  // already reported
    clients_[it->second.provider]->cancel(it->second.handle);
    const auto req = requests_.find(it->second.request);
    if (req != requests_.end() && c.reason == CancelReason::timeout) {
      req->second.last_error = config_.providers[it->second.provider].name + ": timed out";
    }
    attempts_.erase(it);
    ++totals_.attempts_cancelled;
  }

  void handle(const Complete& c) {
    auto node = requests_.extract(c.request);
    FAILOVER_ASSERT(!node.empty());
    LiveResult r;
    r.id = c.request;
    r.status = c.status;
    r.reason = c.reason;
    // Only a success was served by a target; for a failure the engine's target is the
    // last one tried, which last_error already names.
    r.target = c.status == RequestStatus::succeeded ? c.target : kNoIndex;
    if (r.target != kNoIndex) {
      r.provider = config_.provider_of(c.target).name;
      r.model = config_.model(c.target).id;
    }
    r.attempts = c.attempts;
    r.latency = c.latency;
    r.cost_micro_usd = c.cost_micro_usd;
    r.downgraded = c.downgraded;
    if (c.status == RequestStatus::succeeded) r.text = std::move(node.mapped().text);
    r.last_error = std::move(node.mapped().last_error);
    node.mapped().done(std::move(r));
  }

  void handle(const Charge& c) {
    totals_.charged_micro_usd += c.cost_micro_usd;
    if (c.kind == ChargeKind::possibly_billed) totals_.possibly_billed_micro_usd += c.cost_micro_usd;
  }

  void handle(const BreakerChanged& b) {
    ++totals_.breaker_changes;
    if (!options_.log) return;
    const std::string line = "breaker " + config_.provider_of(b.target).name + "/" + config_.model(b.target).id + ": " +
                             state_name(b.from) + " -> " + state_name(b.to);
    options_.log(line);
  }

  void on_first_byte(AttemptId id) {
    if (attempts_.find(id) == attempts_.end()) return;
    engine_.on_first_byte(clock_.now(), id, buffer_);
    drain();
  }

  // A delta of a streamed attempt: after its first byte, so the engine has committed
  // the request to it (and cancelled its hedge twin).
  void on_text(AttemptId id, std::string_view text) {
    const auto it = attempts_.find(id);
    if (it == attempts_.end()) return;
    const auto req = requests_.find(it->second.request);
    if (req != requests_.end() && req->second.request.on_text) req->second.request.on_text(text);
  }

  void on_done(AttemptId id, AttemptResult&& result) {
    const auto it = attempts_.find(id);
    if (it == attempts_.end()) return;  // cancelled meanwhile: never reported
    const AttemptEntry entry = it->second;
    attempts_.erase(it);
    const auto req = requests_.find(entry.request);
    if (req != requests_.end()) {
      if (result.outcome.kind == OutcomeKind::success) {
        req->second.text = std::move(result.text);
      } else {
        req->second.last_error = config_.providers[entry.provider].name + ": " + result.detail;
      }
    }
    engine_.on_response(clock_.now(), id, result.outcome, buffer_);
    drain();
  }

  // One timer follows next_deadline(). A deadline already due (the engine stopped for
  // lack of room in the buffer) is served from a posted handler, not recursively.
  void rearm() {
    const std::optional<Time> deadline = engine_.next_deadline();
    if (!deadline || aborted_) {
      if (armed_) timer_.cancel();
      armed_ = false;
      return;
    }
    if (armed_ && *deadline == armed_at_) return;
    armed_ = true;
    armed_at_ = *deadline;
    timer_.expires_at(clock_.to_steady(*deadline));
    timer_.async_wait([this, generation = ++timer_generation_](const boost::system::error_code& ec) {
      if (ec || generation != timer_generation_) return;
      armed_ = false;
      engine_.on_timeout(clock_.now(), buffer_);
      drain();
    });
  }

  asio::io_context& io_;
  Config config_;
  LiveOptions options_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::vector<Url> urls_;
  std::vector<std::string> keys_;  // secrets: only ever put into a credential header
  MonotonicClock clock_;
  Engine engine_;
  ActionBuffer buffer_{1'024};
  asio::steady_timer timer_;
  std::vector<std::unique_ptr<ProviderClient>> clients_;
  std::unordered_map<AttemptId, AttemptEntry> attempts_;  // lookup only
  std::unordered_map<RequestId, RequestEntry> requests_;  // lookup only
  LiveTotals totals_;
  RequestId next_request_ = 1;
  Time armed_at_;
  std::uint64_t timer_generation_ = 0;
  bool armed_ = false;
  bool aborted_ = false;
};

Result<std::unique_ptr<LiveDriver>> LiveDriver::create(asio::io_context& io, const Config& config,
                                                       const LiveOptions& options) {
  Status valid = validate(config);
  if (!valid) return valid.error();
  if (options.response_bytes_max < 1'024 || options.response_bytes_max > kResponseBytesMaxLimit) {
    return Error{"response_bytes_max", "must be between 1 KiB and 1 GiB"};
  }
  std::vector<Url> urls;
  for (std::size_t p = 0; p < config.providers.size(); ++p) {
    const ProviderConfig& provider = config.providers[p];
    const std::string where = "providers[" + std::to_string(p) + "].base_url";
    if (provider.base_url.empty()) {
      return Error{where, "provider \"" + provider.name + "\" has no base_url: live mode needs one"};
    }
    Result<Url> url = parse_url(provider.base_url);
    if (!url) return Error{where, "provider \"" + provider.name + "\": " + url.error().what};
    urls.push_back(std::move(*url));
  }
  Result<std::shared_ptr<asio::ssl::context>> tls = make_tls_context(options.tls);
  if (!tls) return tls.error();
  Result<std::vector<std::string>> keys = read_api_keys(config);
  if (!keys) return keys.error();
  try {
    auto impl = std::make_unique<Impl>(io, config, options, std::move(*tls), std::move(urls), std::move(*keys));
    return std::unique_ptr<LiveDriver>(new LiveDriver(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{"live", std::string("cannot start the live driver: ") + e.what()};
  }
}

LiveDriver::LiveDriver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LiveDriver::~LiveDriver() = default;

RequestId LiveDriver::submit(LiveRequest request, Done done) {
  return impl_->submit(std::move(request), std::move(done));
}
void LiveDriver::cancel(RequestId id) {
  impl_->cancel(id);
}
void LiveDriver::abort() {
  impl_->abort();
}
std::size_t LiveDriver::unfinished() const noexcept {
  return impl_->unfinished();
}
HealthReport LiveDriver::health() const {
  return impl_->health();
}
const LiveTotals& LiveDriver::totals() const noexcept {
  return impl_->totals();
}
PoolStats LiveDriver::pool_stats(Index provider) const {
  return impl_->pool_stats(provider);
}
const Config& LiveDriver::config() const noexcept {
  return impl_->config();
}
Time LiveDriver::now() const noexcept {
  return impl_->now();
}

}  // namespace failover::transport

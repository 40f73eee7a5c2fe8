#include "serve/gateway_core.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/engine/assert.h"
#include "core/engine/engine.h"
#include "core/transport/clock.h"
#include "core/transport/http_client.h"
#include "core/transport/live_driver.h"
#include "core/transport/url.h"
#include "serve/gateway_metrics.h"
#include "serve/gateway_stream_translate.h"
#include "serve/gateway_translate.h"
#include "sim/json_writer.h"
#include "sim/traffic_log.h"

namespace failover::serve {

namespace asio = boost::asio;
using transport::AttemptHandle;
using transport::AttemptResult;
using SteadyClock = std::chrono::steady_clock;

std::string request_id_headers(const std::string& request_id) {
  return "x-request-id: " + request_id + "\r\nrequest-id: " + request_id + "\r\n";
}

std::string error_body(Protocol protocol, unsigned status, const std::string& message) {
  protocol::ErrorInfo error = protocol::error_for_status(protocol, static_cast<std::int32_t>(status));
  error.message = message;
  return protocol::encode_error(protocol, static_cast<std::int32_t>(status), error);
}

std::string error_event(Protocol protocol, const std::string& message) {
  // The shape each provider uses for an error inside a 200 stream: OpenAI-compatible
  // servers send a data line holding an `error` object, Anthropic an `error` event.
  const std::string body = error_body(protocol, 500, message);
  if (protocol == Protocol::anthropic) return "event: error\ndata: " + body + "\n\n";
  return "data: " + body + "\n\n";
}

std::size_t complete_events_end(std::string_view s) noexcept {
  // An event ends at a blank line: "\n\n", or "\r\n\r\n" from a server that uses CRLF.
  for (std::size_t i = s.size(); i >= 2; --i) {
    if (s[i - 1] != '\n') continue;
    if (s[i - 2] == '\n') return i;
    if (i >= 4 && s[i - 2] == '\r' && s[i - 3] == '\n' && s[i - 4] == '\r') return i;
  }
  return 0;
}

namespace {

// One attempt as it went, for the request's log line.
struct TryRecord {
  Index target = kNoIndex;
  std::string outcome;  // the engine's class of the attempt's end, or "cancelled" by the engine
  std::int32_t status = 0;
  std::int64_t start_us = 0;  // after the request arrived
  std::int64_t first_byte_us = -1;
  std::int64_t duration_us = 0;
};

struct AttemptEntry {
  RequestId request = 0;
  Index provider = kNoIndex;
  Index target = kNoIndex;
  AttemptHandle handle = 0;
  std::string pending;     // stream bytes not yet relayed: all of them until committed
  bool committed = false;  // the engine committed the stream to this attempt
  // A stream from a target of the other protocol: its events in the caller's. One per
  // attempt, since each attempt's stream starts from its own message_start.
  std::optional<StreamTranslator> translator;
  SteadyClock::time_point started;
  std::int64_t first_byte_us = -1;
};

struct RequestEntry {
  CallerRequest caller;
  std::shared_ptr<ReplySink> sink;
  bool stream_started = false;
  std::string answer;  // a success: the body, or a stream's bytes not relayed yet
  unsigned refused_status = 0;
  std::string refused_body;  // the last provider error body, relayed for a caller error
  std::string last_error;
  std::string body_model;  // the model id `body_text` was serialized with
  std::string body_text;
  std::vector<TryRecord> tries;
  std::optional<Usage> usage;       // the successful attempt's, when the provider reported it
  std::int64_t first_byte_us = -1;  // from arrival to the serving attempt's first byte
  bool downgraded = false;          // the engine moved it to a cheaper tier (the cost budget ran out)
};

std::int64_t micros_since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t).count();
}

std::int64_t micros_between(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
}

// Microseconds since the Unix epoch at which the steady instant `t` was: the log's
// arrival time, on the wall clock so that logs of several gateways line up.
std::int64_t unix_us_at(SteadyClock::time_point t) {
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(wall).count() - micros_since(t);
}

// What every generation of the core shares, on the engine's thread: the options, the
// TLS context towards providers, the counters.
struct CoreShared {
  CoreOptions options;
  std::shared_ptr<asio::ssl::context> tls;
  GatewayMetrics metrics;
  CoreStats stats;
};

// What a config needs before an engine runs it: each provider's URL and key.
struct Upstreams {
  std::vector<transport::Url> urls;
  std::vector<std::string> keys;  // secrets: only ever put into a credential header
};

Result<Upstreams> upstreams_of(const Config& config) {
  Upstreams u;
  for (std::size_t p = 0; p < config.providers.size(); ++p) {
    const ProviderConfig& provider = config.providers[p];
    const std::string where = "providers[" + std::to_string(p) + "].base_url";
    if (provider.base_url.empty()) {
      return Error{where, "provider \"" + provider.name + "\" has no base_url: the gateway needs one"};
    }
    Result<transport::Url> url = transport::parse_url(provider.base_url);
    if (!url) return Error{where, "provider \"" + provider.name + "\": " + url.error().what};
    u.urls.push_back(std::move(*url));
  }
  Result<std::vector<std::string>> keys = transport::read_api_keys(config);
  if (!keys) return keys.error();
  u.keys = std::move(*keys);
  return u;
}

// One config's engine and everything that works for it: its routes, its timer, its
// connection pools, the requests and attempts it holds. A reload makes a new
// generation, which takes over the previous one's target state (Engine::take_over);
// the previous one keeps serving what it holds -- and requests whose route was picked
// from its table just before the swap -- and is dropped once it holds nothing.
class Generation {
 public:
  Generation(asio::io_context& io, std::shared_ptr<const RouteTable> routes, CoreShared& shared, Upstreams upstreams,
             const Generation* previous)
      : routes_(std::move(routes)),
        config_(routes_->engine_config()),
        shared_(shared),
        urls_(std::move(upstreams.urls)),
        keys_(std::move(upstreams.keys)),
        clock_(previous != nullptr ? previous->clock_ : transport::MonotonicClock()),
        engine_(config_, Prng(shared.options.seed)),
        timer_(io),
        targets_(shared.metrics.bind(config_)) {
    if (previous != nullptr) taken_ = engine_.take_over(clock_.now(), previous->engine_);
    for (std::size_t p = 0; p < config_.providers.size(); ++p) {
      transport::ClientOptions co;
      co.connections_max = config_.providers[p].concurrency_max;
      co.connect_timeout = config_.policy.timeouts.connect;
      co.response_bytes_max = shared_.options.response_bytes_max;
      clients_.push_back(
          std::make_unique<transport::ProviderClient>(io, shared_.tls, urls_[p], config_.providers[p].protocol, co));
    }
  }

  ~Generation() {
    for (auto& c : clients_) c->shutdown();
    timer_.cancel();
  }
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  [[nodiscard]] const std::shared_ptr<const RouteTable>& routes() const noexcept { return routes_; }
  [[nodiscard]] const TakeOver& taken() const noexcept { return taken_; }
  [[nodiscard]] std::int64_t unfinished() const noexcept { return static_cast<std::int64_t>(requests_.size()); }
  // Holds nothing, and no caller holds its route table (a request about to be submitted).
  [[nodiscard]] bool quiet() const noexcept {
    return requests_.empty() && attempts_.empty() && routes_.use_count() == 1;
  }
  // Called after each input while this generation drains: it may have become quiet.
  void on_quiet(std::function<void()> hook) { quiet_hook_ = std::move(hook); }

  void submit(CallerRequest caller, std::shared_ptr<ReplySink> sink) {
    FAILOVER_ASSERT(sink != nullptr);
    FAILOVER_ASSERT(caller.route.route < config_.routes.size());
    FAILOVER_ASSERT(caller.routes.get() == routes_.get());
    ++shared_.stats.requests;
    if (stopped_) {
      sink->respond(503, common_headers(caller.request_id, kNoIndex, 0, std::nullopt),
                    error_body(caller.protocol, 503, "the gateway is shutting down"));
      return;
    }
    const RequestId id = next_request_++;
    Request r;
    r.id = id;
    if (caller.route.tier != kNoIndex) {  // a tier: the engine may downgrade it (gateway_routes.h)
      FAILOVER_ASSERT(caller.route.tier < config_.tiers.size());
      r.tier = caller.route.tier;
    } else {
      r.route = caller.route.route;
    }
    r.prompt_tokens = caller.prompt_tokens;
    r.output_tokens_max = caller.output_tokens_max;
    r.stream = caller.stream;
    RequestEntry entry;
    entry.caller = std::move(caller);
    entry.sink = std::move(sink);
    by_sink_.emplace(entry.sink.get(), id);
    requests_.emplace(id, std::move(entry));
    engine_.submit(clock_.now(), r, buffer_);
    drain();
  }

  // The caller behind `sink` went away: its request ends in the engine, cancelled.
  // False when this generation holds no request of that sink.
  bool cancel(const ReplySink* sink) {
    const auto it = by_sink_.find(sink);
    if (it == by_sink_.end()) return false;
    const RequestId id = it->second;
    RequestEntry& e = requests_.at(id);
    e.last_error = e.stream_started ? "the caller closed its connection mid-stream"
                                    : "the caller closed its connection before its answer";
    engine_.cancel(clock_.now(), id, buffer_);
    drain();
    FAILOVER_ASSERT(!requests_.contains(id));  // the engine ended it: Complete, cancelled
    FAILOVER_ASSERT(!by_sink_.contains(sink));
    return true;
  }

  void shutdown() {
    stopped_ = true;
    for (auto& c : clients_) c->shutdown();
    attempts_.clear();
    by_sink_.clear();
    timer_.cancel();
    std::vector<RequestId> ids;
    ids.reserve(requests_.size());
    for (const auto& [id, entry] : requests_) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (const RequestId id : ids) {
      auto node = requests_.extract(id);
      RequestEntry& e = node.mapped();
      e.last_error = "the gateway shut down";
      if (e.stream_started) {
        e.sink->bytes(error_event(e.caller.protocol, "the gateway is shutting down"));
        e.sink->end();
      } else {
        e.sink->respond(
            503, common_headers(e.caller.request_id, kNoIndex, static_cast<std::int64_t>(e.tries.size()), std::nullopt),
            error_body(e.caller.protocol, 503, "the gateway is shutting down"));
      }
      ended(e, kNoIndex, "shutdown", 503);
    }
  }

  void log_refused(const CallerRequest& caller, unsigned status, const std::string& reason) {
    ++shared_.stats.requests;
    RequestEntry e;
    e.caller = caller;
    e.last_error = reason;
    ended(e, kNoIndex, "refused", status);
  }

  [[nodiscard]] std::string metrics_text(std::int64_t connections, std::int64_t unfinished) const {
    MetricsSnapshot snapshot;
    snapshot.now = clock_.now();
    snapshot.wall_now_ms = transport::wall_now_unix_ms();
    const HealthReport health = engine_.health(snapshot.now);
    snapshot.config = &config_;
    snapshot.health = &health;
    snapshot.connections = connections;
    snapshot.unfinished = unfinished;
    return shared_.metrics.render(snapshot);
  }

 private:
  // Carries out what the engine said. The batch is copied out first: a sink may run
  // code that submits again, which refills the buffer. The copy goes into spare_, whose
  // capacity is kept across drains (three per request) instead of a new vector each
  // time; a drain nested inside another finds spare_ taken and uses a vector of its own.
  void drain() {
    std::vector<Action> batch = std::move(spare_);
    spare_ = {};
    batch.assign(buffer_.begin(), buffer_.end());
    buffer_.clear();
    for (const Action& action : batch) std::visit([this](const auto& a) { handle(a); }, action);
    batch.clear();
    if (batch.capacity() > spare_.capacity()) spare_ = std::move(batch);
    FAILOVER_ASSERT(spare_.empty());
    rearm();
    if (quiet_hook_ && quiet()) quiet_hook_();
  }

  // The body for a target: the caller's, or its translation for the other protocol,
  // with the target's model id. Serialized once per (protocol, model) in a row.
  const std::string& body_for(RequestEntry& e, Protocol target, const std::string& model) {
    const std::string key = std::string(protocol_name(target)) + "/" + model;
    if (e.body_model != key || e.body_text.empty()) {
      const bool cross = target != e.caller.protocol;
      FAILOVER_ASSERT(!cross || e.caller.translated.has_value());
      boost::json::object& body = cross ? *e.caller.translated : e.caller.body;
      body["model"] = model;
      e.body_text = boost::json::serialize(body);
      e.body_model = key;
    }
    return e.body_text;
  }

  void handle(const SendAttempt& a) {
    const auto req = requests_.find(a.request);
    FAILOVER_ASSERT(req != requests_.end());
    RequestEntry& e = req->second;
    const ProviderConfig& provider = config_.providers.at(a.provider);
    const bool cross = provider.protocol != e.caller.protocol;
    FAILOVER_ASSERT(!cross || e.caller.translated.has_value());
    transport::HttpAttempt http;
    http.path = urls_[a.provider].path + std::string(protocol::request_path(provider.protocol));
    http.headers.push_back({"content-type", "application/json"});
    if (e.caller.stream) http.headers.push_back({"accept", "text/event-stream"});
    bool versioned = false;
    for (const protocol::Header& h : e.caller.forward) {
      if (cross) break;  // anthropic-* headers mean nothing to an OpenAI target, and are defaulted for an Anthropic one
      versioned = versioned || h.name == "anthropic-version";
      http.headers.push_back(h);
    }
    if (provider.protocol == Protocol::anthropic && !versioned) {
      http.headers.push_back({"anthropic-version", std::string(protocol::kAnthropicVersion)});
    }
    if (!keys_[a.provider].empty()) {
      http.headers.push_back(protocol::credential_header(provider.protocol, keys_[a.provider]));
    }
    http.body = body_for(e, provider.protocol, provider.models.at(a.model).id);
    http.stream = e.caller.stream;
    http.keep_body = true;
    const AttemptId id = a.attempt;
    transport::AttemptCallbacks callbacks;
    callbacks.on_first_byte = [this, id] { on_first_byte(id); };
    callbacks.on_done = [this, id](AttemptResult&& result) { on_done(id, std::move(result)); };
    if (e.caller.stream) callbacks.on_bytes = [this, id](std::string_view bytes) { on_bytes(id, bytes); };
    AttemptEntry entry;
    if (cross && e.caller.stream) entry.translator.emplace(provider.protocol, stream_options_of(e.caller));
    entry.request = a.request;
    entry.provider = a.provider;
    entry.target = a.target;
    entry.started = SteadyClock::now();
    entry.handle = clients_[a.provider]->start(std::move(http), std::move(callbacks));
    attempts_.emplace(id, std::move(entry));
    ++shared_.stats.attempts;
    shared_.metrics.attempt_started(a);
  }

  void handle(const CancelAttempt& c) {
    const auto it = attempts_.find(c.attempt);
    if (it == attempts_.end()) return;
    clients_[it->second.provider]->cancel(it->second.handle);
    const char* why = c.reason == CancelReason::hedge_lost ? "hedge_lost"
                      : c.reason == CancelReason::deadline ? "deadline"
                      : c.reason == CancelReason::timeout  ? "timeout"
                                                           : "cancelled";  // caller_gone
    GatewayMetrics::attempt_ended(targets_, it->second.target, why);
    const auto req = requests_.find(it->second.request);
    if (req != requests_.end()) {
      req->second.tries.push_back({it->second.target, why, 0,
                                   micros_between(req->second.caller.arrived, it->second.started),
                                   it->second.first_byte_us, micros_since(it->second.started)});
      const bool says_why = c.reason != CancelReason::hedge_lost && c.reason != CancelReason::caller_gone;
      if (says_why) req->second.last_error = target_name(it->second.target) + ": " + why;
    }
    attempts_.erase(it);
  }

  void handle(const Complete& c) {
    auto node = requests_.extract(c.request);
    FAILOVER_ASSERT(!node.empty());
    RequestEntry& e = node.mapped();
    by_sink_.erase(e.sink.get());
    e.downgraded = c.downgraded;
    if (c.reason == EndReason::cancelled) {
      ended(e, c.target, to_string(c.reason), 499);  // nobody to answer: the caller has gone
      return;
    }
    if (c.status == RequestStatus::succeeded) {
      answer_success(e, c);
      return;
    }
    if (e.stream_started) {
      // The caller holds bytes of this stream: it cannot fail over any more. End it the
      // way the provider would, with an error event, never silently.
      const std::string why = e.last_error.empty() ? to_string(c.reason) : e.last_error;
      e.sink->bytes(error_event(e.caller.protocol, "upstream failed mid-stream (" + why + ")"));
      e.sink->end();
      ended(e, c.target, to_string(c.reason), 200);
      return;
    }
    answer_failure(e, c);
  }

  void handle(const Charge& c) { GatewayMetrics::charged(targets_, c); }
  void handle(const BreakerChanged& b) { GatewayMetrics::breaker_changed(targets_, b); }

  void answer_success(RequestEntry& e, const Complete& c) {
    const std::string headers = common_headers(e.caller.request_id, c.target, c.attempts, std::nullopt);
    if (!e.caller.stream) {
      e.sink->respond(200, headers, std::move(e.answer));
    } else {
      if (!e.stream_started) e.sink->begin(headers);  // a stream with no content at all
      if (!e.answer.empty()) e.sink->bytes(std::move(e.answer));
      e.sink->end();
    }
    ended(e, c.target, "ok", 200);
  }

  void answer_failure(RequestEntry& e, const Complete& c) {
    const Protocol protocol = e.caller.protocol;
    const std::string why = e.last_error.empty() ? "" : " (last: " + e.last_error + ")";
    unsigned status = 503;
    std::optional<std::int64_t> retry_after;
    std::string body;
    switch (c.reason) {
      case EndReason::deadline:
      case EndReason::deadline_exceeded:
        status = 504;
        body = error_body(protocol, status, "the request's deadline passed before a target answered" + why);
        break;
      case EndReason::caller_error:
      case EndReason::capability:
        if (e.refused_status != 0) {  // the provider's own words about the request
          status = e.refused_status;
          body = std::move(e.refused_body);
        } else {
          status = 400;
          body = error_body(protocol, status, std::string("the request was refused: ") + to_string(c.reason) + why);
        }
        break;
      case EndReason::invalid_request:
        status = 400;
        body = error_body(protocol, status, "the request fits no target of its route (too large?)" + why);
        break;
      case EndReason::misconfigured:
        status = 502;
        body = error_body(protocol, status, "every target refused the gateway (credentials, model or URL)" + why);
        break;
      case EndReason::cost_budget:
        status = 429;
        body = error_body(protocol, status, "the gateway's cost budget is spent" + why);
        break;
      default: {  // no_target, attempts_exhausted, retry_budget, rate_limited, queue_full, stream_interrupted
        const Unavailable u = unavailable(e.caller.route.route);
        status = c.reason == EndReason::rate_limited || u.rate_limited ? 429 : 503;
        retry_after = u.seconds;
        body = error_body(protocol, status,
                          std::string("no target of route '") + e.caller.route.name + "' is available (" +
                              to_string(c.reason) + ")" + why);
        break;
      }
    }
    e.sink->respond(status, common_headers(e.caller.request_id, c.target, c.attempts, retry_after), std::move(body));
    ended(e, c.target, to_string(c.reason), status);
  }

  struct Unavailable {
    std::int64_t seconds = 1;   // Retry-After: until the earliest target frees up, at least 1
    bool rate_limited = false;  // every target is held back by a provider's Retry-After
  };

  // When the route's earliest target is free again: an open breaker's open_until, a
  // rate limit's blocked_until, whichever is later for that target.
  [[nodiscard]] Unavailable unavailable(Index route) const {
    const Time now = clock_.now();
    const HealthReport health = engine_.health(now);
    std::optional<Time> earliest;
    bool all_blocked = true;
    for (const RouteTarget& rt : config_.routes[route].targets) {
      const TargetHealth& h = health.targets.at(rt.target);
      Time free = now;
      if (h.breaker == BreakerState::open) free = std::max(free, h.open_until);
      if (h.blocked_until > now) {
        free = std::max(free, h.blocked_until);
      } else {
        all_blocked = false;
      }
      earliest = earliest ? std::min(*earliest, free) : free;
    }
    Unavailable u;
    u.rate_limited = all_blocked;
    if (earliest && *earliest > now) {
      const std::int64_t wait_us = to_us(*earliest - now);
      u.seconds = std::max<std::int64_t>(1, (wait_us + 999'999) / 1'000'000);
    }
    return u;
  }

  [[nodiscard]] std::string target_name(Index target) const {
    if (target == kNoIndex) return "";
    return config_.provider_of(target).name + "/" + config_.model(target).id;
  }

  [[nodiscard]] std::string common_headers(const std::string& request_id, Index target, std::int64_t attempts,
                                           std::optional<std::int64_t> retry_after) const {
    std::string h = request_id_headers(request_id);
    if (target != kNoIndex) h += "x-failover-target: " + target_name(target) + "\r\n";
    h += "x-failover-attempts: " + std::to_string(attempts) + "\r\n";
    if (retry_after) h += "retry-after: " + std::to_string(*retry_after) + "\r\n";
    return h;
  }

  void on_first_byte(AttemptId id) {
    if (attempts_.find(id) == attempts_.end()) return;
    engine_.on_first_byte(clock_.now(), id, buffer_);
    drain();
    const auto it = attempts_.find(id);
    if (it == attempts_.end()) return;  // the engine cancelled it (a deadline)
    AttemptEntry& a = it->second;
    a.first_byte_us = micros_since(a.started);
    const auto req = requests_.find(a.request);
    if (req == requests_.end() || !req->second.caller.stream) return;
    // A stream's first content: the engine committed the request to this attempt (and
    // cancelled any hedge twin). From here on its events go to the caller as they come.
    a.committed = true;
    RequestEntry& e = req->second;
    if (!e.stream_started) {
      e.stream_started = true;
      e.sink->begin(
          common_headers(e.caller.request_id, a.target, static_cast<std::int64_t>(e.tries.size()) + 1, std::nullopt));
    }
    relay(a, e);
  }

  void on_bytes(AttemptId id, std::string_view bytes) {
    const auto it = attempts_.find(id);
    if (it == attempts_.end()) return;
    it->second.pending.append(bytes);
    if (!it->second.committed) return;
    const auto req = requests_.find(it->second.request);
    if (req == requests_.end()) return;
    relay(it->second, req->second);
    // The caller of a committed stream went away (a write to it failed): stop reading
    // the stream -- the provider stops generating, and billing, when its connection
    // closes -- by cancelling the request, as when its connection is seen closing.
    if (req->second.sink->gone()) (void)cancel(req->second.sink.get());
  }

  // Sends the attempt's complete events (translated for a caller of the other
  // protocol); a partial one waits for its end.
  static void relay(AttemptEntry& a, RequestEntry& e) {
    const std::size_t end = complete_events_end(a.pending);
    if (end == 0) return;
    std::string events = a.pending.substr(0, end);
    a.pending.erase(0, end);
    if (a.translator) events = translated(*a.translator, events);
    if (!events.empty()) e.sink->bytes(std::move(events));
  }

  static std::string translated(StreamTranslator& translator, std::string_view events) {
    std::string out;
    translator.feed(events, out);
    return out;
  }

  // What a stream translated for an OpenAI caller says besides the events: whether it
  // asked for the usage chunk, and `created` (the wall clock is the driver's to read).
  static StreamTranslateOptions stream_options_of(const CallerRequest& caller) {
    StreamTranslateOptions o;
    o.created = transport::wall_now_unix_ms() / 1'000;
    if (const boost::json::value* so = caller.body.if_contains("stream_options"); so != nullptr && so->is_object()) {
      const boost::json::value* usage = so->as_object().if_contains("include_usage");
      o.include_usage = usage != nullptr && usage->is_bool() && usage->as_bool();
    }
    return o;
  }

  void on_done(AttemptId id, AttemptResult&& result) {
    const auto it = attempts_.find(id);
    if (it == attempts_.end()) return;  // cancelled meanwhile: never reported
    AttemptEntry entry = std::move(it->second);
    attempts_.erase(it);
    const auto req = requests_.find(entry.request);
    if (req != requests_.end()) {
      record(req->second, entry, result);
    } else {  // a probe that outlived its request: counted all the same
      GatewayMetrics::attempt_ended(targets_, entry.target,
                                    to_string(classify(result.outcome, config_.policy.classify)));
    }
    engine_.on_response(clock_.now(), id, result.outcome, buffer_);
    drain();
  }

  void record(RequestEntry& e, AttemptEntry& a, AttemptResult& result) {
    const Protocol target = config_.provider_of(a.target).protocol;
    if (a.translator) {
      translate_stream_end(a, result);
    } else if (target != e.caller.protocol) {
      translate_back(target, result);  // a whole answer, or the error body of either
    }
    const OutcomeClass cls = classify(result.outcome, config_.policy.classify);
    e.tries.push_back({a.target, std::string(to_string(cls)), result.outcome.http_status,
                       micros_between(e.caller.arrived, a.started), a.first_byte_us, micros_since(a.started)});
    GatewayMetrics::attempt_ended(targets_, a.target, to_string(cls));
    if (result.outcome.kind == OutcomeKind::success) {
      if (result.outcome.usage.reported) e.usage = result.outcome.usage;
      if (a.first_byte_us >= 0) {
        e.first_byte_us = std::chrono::duration_cast<std::chrono::microseconds>(a.started - e.caller.arrived).count() +
                          a.first_byte_us;
      }
      e.answer = e.caller.stream ? std::move(a.pending) : std::move(result.body);
      return;
    }
    e.last_error = target_name(a.target) + ": " + result.detail;
    if (result.outcome.kind == OutcomeKind::http_status && !result.body.empty()) {
      e.refused_status = static_cast<unsigned>(result.outcome.http_status);
      e.refused_body = std::move(result.body);
    }
  }

  // The rest of a translated stream that succeeded (held events, or all of them when no
  // content ever committed it) in the caller's protocol, in `pending` for the answer. A
  // stream the translator could not follow to its end is malformed for the engine: it
  // fails over, or if the caller already holds part of it, ends with an error event.
  static void translate_stream_end(AttemptEntry& a, AttemptResult& result) {
    FAILOVER_ASSERT(a.translator.has_value());
    if (result.outcome.kind != OutcomeKind::success) {
      translate_back(a.translator->from(), result);  // a refusal's error body
      return;
    }
    a.pending = translated(*a.translator, a.pending);
    if (a.translator->state() == StreamTranslateState::finished) return;
    result.outcome = Outcome::of(OutcomeKind::malformed);
    result.detail =
        "the stream does not translate: " +
        std::string(a.translator->state() == StreamTranslateState::failed ? a.translator->failure() : "it did not end");
    a.pending.clear();
  }

  // A translated request's answer in the caller's protocol. A success whose body does
  // not translate is malformed for the engine: it fails over.
  static void translate_back(Protocol target, AttemptResult& result) {
    if (result.outcome.kind == OutcomeKind::success) {
      Result<std::string> body = translate_response(target, result.body);
      if (body) {
        result.body = std::move(*body);
        return;
      }
      result.outcome = Outcome::of(OutcomeKind::malformed);
      result.detail = "the answer does not translate: " + body.error().what;
      result.body.clear();
      return;
    }
    if (result.outcome.kind == OutcomeKind::http_status && !result.body.empty()) {
      result.body = translate_error(target, static_cast<unsigned>(result.outcome.http_status), result.body);
    }
  }

  // Every request's end: counted, and logged.
  void ended(const RequestEntry& e, Index target, std::string_view outcome, unsigned status) {
    const bool routed = e.caller.route.route != kNoIndex;  // else `name` may be anything the caller sent
    const bool timed = outcome != "refused";
    shared_.metrics.request_ended(routed ? std::string_view(e.caller.route.name) : std::string_view(), outcome,
                                  timed ? micros_since(e.caller.arrived) : -1, outcome == "ok" ? e.first_byte_us : -1);
    if (e.downgraded) shared_.metrics.downgraded();
    log_line(e, target, outcome, status);
  }

  // One JSON line per request, version 1 of the traffic log (docs/traffic-log.md, which
  // `[traffic] replay` and `failover derive` read): never a prompt, never a key.
  void log_line(const RequestEntry& e, Index target, std::string_view outcome, unsigned status) {
    std::FILE* log = shared_.options.log;
    if (log == nullptr) return;
    sim::JsonWriter j;
    j.open_inline("", '{');
    j.integer("v", sim::kTrafficLogVersion);
    j.integer("ts_ms", transport::wall_now_unix_ms());
    j.integer("arrived_us", unix_us_at(e.caller.arrived));
    j.text("id", e.caller.request_id);
    j.text("protocol", protocol_name(e.caller.protocol));
    j.text("route", e.caller.route.name);
    if (!e.caller.route.tier_name.empty()) j.text("tier", e.caller.route.tier_name);
    if (e.downgraded) j.boolean("downgraded", true);
    j.boolean("stream", e.caller.stream);
    j.integer("prompt_tokens_est", e.caller.prompt_tokens);
    if (e.usage) {
      j.integer("prompt_tokens", e.usage->input_tokens);
      j.integer("output_tokens", e.usage->output_tokens);
    }
    if (target == kNoIndex) {
      j.null("target");
    } else {
      j.text("target", target_name(target));
    }
    j.integer("attempts", static_cast<std::int64_t>(e.tries.size()));
    j.text("outcome", outcome);
    j.integer("status", status);
    j.integer("latency_us", micros_since(e.caller.arrived));
    if (!e.last_error.empty() && outcome != "ok") j.text("error", e.last_error);
    if (!e.caller.skipped.empty()) j.text("skipped", e.caller.skipped);
    if (e.caller.translated) j.boolean("translated", true);
    j.open_inline("tries", '[');
    for (const TryRecord& t : e.tries) {
      j.open_inline("", '{');
      j.text("target", target_name(t.target));
      j.text("outcome", t.outcome);
      j.integer("status", t.status);
      j.integer("start_us", t.start_us);
      if (t.first_byte_us >= 0) j.integer("first_byte_us", t.first_byte_us);
      j.integer("duration_us", t.duration_us);
      j.close('}');
    }
    j.close(']');
    j.close('}');
    const std::string line = j.finish();
    std::fwrite(line.data(), 1, line.size(), log);
    std::fflush(log);
  }

  // One timer follows next_deadline(), as in the live driver, but it is moved only
  // when the deadline comes earlier. Under load every request's end moves the earliest
  // deadline later, and following it cost a cancel, a new wait and a timerfd_settime
  // system call per request (reports/bench-serve.md). A timer left earlier than the
  // deadline, or armed when nothing is pending any more, fires early: on_timeout() is
  // then a no-op (Engine's contract), and the drain() after it sets the timer again.
  void rearm() {
    if (stopped_) {
      if (armed_) timer_.cancel();
      armed_ = false;
      return;
    }
    const std::optional<Time> deadline = engine_.next_deadline();
    if (!deadline) return;
    if (armed_ && armed_at_ <= *deadline) return;
    FAILOVER_ASSERT(!armed_ || *deadline < armed_at_);
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

  std::shared_ptr<const RouteTable> routes_;  // shared with the front while current, and with requests
  const Config& config_;                      // the engine's: routes_ owns it
  CoreShared& shared_;
  std::vector<transport::Url> urls_;
  std::vector<std::string> keys_;    // secrets: only ever put into a credential header
  transport::MonotonicClock clock_;  // a reload's generation reads the same clock: engine times carry over
  Engine engine_;
  TakeOver taken_;
  ActionBuffer buffer_{1'024};
  std::vector<Action> spare_;  // drain()'s batch, kept for its capacity; empty between drains
  asio::steady_timer timer_;
  std::vector<std::unique_ptr<transport::ProviderClient>> clients_;
  std::unordered_map<AttemptId, AttemptEntry> attempts_;  // lookup only
  std::unordered_map<RequestId, RequestEntry> requests_;  // lookup only
  // The request each caller's sink waits for, to cancel it when that caller goes away.
  // Keyed by address: an entry lives exactly as long as its request, which holds the sink.
  std::unordered_map<const ReplySink*, RequestId> by_sink_;  // lookup only
  GatewayMetrics::Targets targets_;                          // this config's target counters (gateway_metrics.h)
  std::function<void()> quiet_hook_;
  RequestId next_request_ = 1;
  Time armed_at_;
  std::uint64_t timer_generation_ = 0;
  bool armed_ = false;
  bool stopped_ = false;
};

}  // namespace

// The generations: the current one takes every new request; the ones replaced by a
// reload drain. All on the engine's thread.
class GatewayCore::Impl {
 public:
  Impl(asio::io_context& io, std::shared_ptr<CoreShared> shared) : io_(io), shared_(std::move(shared)) {}

  Status start(std::shared_ptr<const RouteTable> routes) {
    Result<Upstreams> upstreams = upstreams_of(routes->engine_config());
    if (!upstreams) return upstreams.error();
    current_ = std::make_unique<Generation>(io_, std::move(routes), *shared_, std::move(*upstreams), nullptr);
    return Ok{};
  }

  Result<ReloadReport> reload(std::shared_ptr<const RouteTable> routes) {
    if (stopped_) return Error{"reload", "the gateway is shutting down"};
    Result<Upstreams> upstreams = upstreams_of(routes->engine_config());
    if (!upstreams) return upstreams.error();  // counted by the caller, with the other refusals
    auto next = std::make_unique<Generation>(io_, std::move(routes), *shared_, std::move(*upstreams), current_.get());
    ReloadReport report = report_of(*current_, *next);
    current_->on_quiet([this] { collect_later(); });
    draining_.push_back(std::move(current_));
    current_ = std::move(next);
    shared_->metrics.reloaded(true);
    collect();
    return report;
  }

  void submit(CallerRequest caller, std::shared_ptr<ReplySink> sink) {
    Generation* g = generation_of(caller.routes.get());
    if (g == nullptr) {  // cannot happen: the request holds its table, so its generation stays
      ++shared_->stats.requests;
      sink->respond(503, request_id_headers(caller.request_id),
                    error_body(caller.protocol, 503, "the gateway's config changed under the request: retry"));
      return;
    }
    g->submit(std::move(caller), std::move(sink));
    // A drained generation whose table a connection held until now (a request it then
    // refused) has no input of its own left to notice that it is quiet.
    if (!draining_.empty()) collect_later();
  }

  void log_refused(const CallerRequest& caller, unsigned status, const std::string& reason) {
    current_->log_refused(caller, status, reason);
  }

  void caller_gone(const std::shared_ptr<ReplySink>& sink) {
    if (current_->cancel(sink.get())) return;
    for (auto& g : draining_) {
      if (g->cancel(sink.get())) {
        collect_later();  // it may hold nothing now
        return;
      }
    }
  }

  void shutdown() {
    stopped_ = true;
    current_->shutdown();
    for (auto& g : draining_) g->shutdown();
  }

  [[nodiscard]] CoreStats stats() const noexcept {
    CoreStats s = shared_->stats;
    s.unfinished = unfinished();
    return s;
  }
  [[nodiscard]] std::shared_ptr<const RouteTable> routes() const noexcept { return current_->routes(); }
  [[nodiscard]] std::string metrics_text(std::int64_t connections) const {
    return current_->metrics_text(connections, unfinished());
  }
  [[nodiscard]] std::int64_t draining() const noexcept { return static_cast<std::int64_t>(draining_.size()); }
  void reload_refused() { shared_->metrics.reloaded(false); }

 private:
  [[nodiscard]] std::int64_t unfinished() const noexcept {
    std::int64_t n = current_->unfinished();
    for (const auto& g : draining_) n += g->unfinished();
    return n;
  }

  Generation* generation_of(const RouteTable* routes) {
    if (current_->routes().get() == routes) return current_.get();
    for (auto& g : draining_) {
      if (g->routes().get() == routes) return g.get();
    }
    return nullptr;
  }

  static ReloadReport report_of(const Generation& old, const Generation& next) {
    ReloadReport r;
    const Config& config = next.routes()->engine_config();
    for (Index t = 0; t < config.targets.size(); ++t) {
      (next.taken().targets[t] ? r.kept : r.fresh).push_back(target_label(config, t));
    }
    r.draining = old.unfinished();
    return r;
  }

  // A generation cannot be dropped inside its own handler: the check runs next.
  void collect_later() {
    if (collect_posted_) return;
    collect_posted_ = true;
    asio::post(io_, [this] {
      collect_posted_ = false;
      collect();
    });
  }

  void collect() {
    std::erase_if(draining_, [](const std::unique_ptr<Generation>& g) { return g->quiet(); });
  }

  asio::io_context& io_;
  std::shared_ptr<CoreShared> shared_;
  std::unique_ptr<Generation> current_;
  std::vector<std::unique_ptr<Generation>> draining_;  // replaced by reloads, finishing what they hold
  bool collect_posted_ = false;
  bool stopped_ = false;
};

Result<std::unique_ptr<GatewayCore>> GatewayCore::create(asio::io_context& io, RouteTable routes,
                                                         const CoreOptions& options) {
  Result<std::shared_ptr<asio::ssl::context>> tls = transport::make_tls_context(options.tls);
  if (!tls) return tls.error();
  auto shared = std::make_shared<CoreShared>();
  shared->options = options;
  shared->tls = std::move(*tls);
  try {
    auto impl = std::make_unique<Impl>(io, std::move(shared));
    if (Status ok = impl->start(std::make_shared<const RouteTable>(std::move(routes))); !ok) return ok.error();
    return std::unique_ptr<GatewayCore>(new GatewayCore(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{"serve", std::string("cannot start the gateway's engine: ") + e.what()};
  }
}

GatewayCore::GatewayCore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GatewayCore::~GatewayCore() = default;

void GatewayCore::submit(CallerRequest request, std::shared_ptr<ReplySink> sink) {
  impl_->submit(std::move(request), std::move(sink));
}
void GatewayCore::caller_gone(const std::shared_ptr<ReplySink>& sink) {
  impl_->caller_gone(sink);
}
void GatewayCore::log_refused(const CallerRequest& request, unsigned status, const std::string& reason) {
  impl_->log_refused(request, status, reason);
}
void GatewayCore::shutdown() {
  impl_->shutdown();
}
CoreStats GatewayCore::stats() const noexcept {
  return impl_->stats();
}
std::shared_ptr<const RouteTable> GatewayCore::routes() const noexcept {
  return impl_->routes();
}
Result<ReloadReport> GatewayCore::reload(RouteTable routes) {
  try {
    return impl_->reload(std::make_shared<const RouteTable>(std::move(routes)));
  } catch (const std::exception& e) {
    return Error{"reload", std::string("cannot start the new config's engine: ") + e.what()};
  }
}
std::int64_t GatewayCore::draining() const noexcept {
  return impl_->draining();
}
void GatewayCore::reload_refused() {
  impl_->reload_refused();
}
std::string GatewayCore::metrics_text(std::int64_t connections) const {
  return impl_->metrics_text(connections);
}

}  // namespace failover::serve

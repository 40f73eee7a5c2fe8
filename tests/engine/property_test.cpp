// Property tests: thousands of random interleavings of submits, cancels, responses, first bytes,
// time passing and timer calls, over random configs, from seeded generators. Whatever
// happens, every submitted request ends exactly once, no attempt is left behind, the
// limits hold at every step, and the same seed gives the same decisions.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "core/engine/prng.h"

namespace failover {
namespace {

// ---- random configs --------------------------------------------------------------------

Duration ms_between(Prng& g, std::int64_t lo, std::int64_t hi) {
  return ms(g.range(lo, hi));
}

void random_providers(Prng& g, Config& c) {
  const auto providers = static_cast<int>(g.range(1, 4));
  for (int p = 0; p < providers; ++p) {
    ProviderConfig pc;
    pc.name = "p" + std::to_string(p);
    pc.base_url = "https://p" + std::to_string(p) + ".example";
    pc.concurrency_max = static_cast<std::int32_t>(g.range(1, 4));
    if (g.chance(Ratio{1, 4})) pc.rpm_max = g.range(20, 600);
    if (g.chance(Ratio{1, 6})) pc.tpm_max = g.range(4'000, 100'000);
    const auto models = g.range(1, 2);
    for (std::int64_t m = 0; m < models; ++m) {
      ModelConfig mc;
      mc.id = "m" + std::to_string(p) + "-" + std::to_string(m);
      mc.input_micro_usd_per_mtok = g.range(0, 15) * 1'000'000;
      mc.output_micro_usd_per_mtok = g.range(0, 60) * 1'000'000;
      if (g.chance(Ratio{1, 4})) mc.context_window_tokens = g.range(1'500, 6'000);
      pc.models.push_back(mc);
    }
    c.providers.push_back(pc);
  }
}

RouteConfig random_route(Prng& g, Config& c, const std::string& name) {
  RouteConfig r;
  r.name = name;
  // 1-4 distinct (provider, model) targets, in a random order.
  std::vector<std::pair<Index, Index>> all;
  for (Index p = 0; p < c.providers.size(); ++p) {
    for (Index m = 0; m < c.providers[p].models.size(); ++m) all.emplace_back(p, m);
  }
  const std::int64_t most = std::min<std::int64_t>(4, static_cast<std::int64_t>(all.size()));
  const auto want = static_cast<std::size_t>(g.range(1, most));
  for (std::size_t i = 0; i < want; ++i) {
    const auto k = static_cast<std::size_t>(g.below(all.size()));
    const Index target = c.intern_target(all[k].first, all[k].second);
    all.erase(all.begin() + static_cast<std::ptrdiff_t>(k));
    r.targets.push_back(
        RouteTarget{target, static_cast<std::int32_t>(g.range(0, 2)), static_cast<std::int32_t>(g.range(1, 4))});
  }
  r.selection = static_cast<Selection>(g.below(3));
  if (g.chance(Ratio{1, 2})) r.hedge_after = ms_between(g, 20, 800);
  r.stream_resume = g.chance(Ratio{1, 4});
  return r;
}

void random_policy(Prng& g, Policy& p) {
  BreakerPolicy& b = p.breaker;
  b.consecutive_failures = static_cast<std::int32_t>(g.range(0, 4));
  b.failure_rate = g.chance(Ratio{1, 2}) ? Ratio{g.range(20, 80), 100} : Ratio{0, 1};
  b.window_calls_min = static_cast<std::int32_t>(g.range(1, 10));
  b.window = ms_between(g, 500, 20'000);
  b.slow_call_threshold = g.chance(Ratio{1, 3}) ? ms_between(g, 50, 1'000) : Duration{0};
  b.slow_call_rate = Ratio{g.range(30, 100), 100};
  b.open_base = ms_between(g, 50, 3'000);
  b.open_max = b.open_base * g.range(1, 5);
  b.healthy_period = ms_between(g, 500, 10'000);
  b.half_open_probes = static_cast<std::int32_t>(g.range(1, 3));
  b.min_available_targets = static_cast<std::int32_t>(g.range(0, 2));

  RetryPolicy& r = p.retry;
  r.attempts_max = static_cast<std::int32_t>(g.range(1, 4));
  r.backoff = static_cast<Backoff>(g.below(3));
  r.backoff_base = ms_between(g, 1, 200);
  r.backoff_max = r.backoff_base * g.range(1, 20);
  r.budget_ratio = Ratio{g.range(0, 100), 100};
  r.budget_min_per_second = static_cast<std::int32_t>(g.range(0, 5));
  r.budget_max = static_cast<std::int32_t>(g.range(0, 20));
  r.retry_after_max = ms_between(g, 0, 10'000);
  r.retry_after_jitter = Ratio{g.range(0, 50), 100};
  r.adaptive_throttle = g.chance(Ratio{1, 5});
  r.throttle_window = ms_between(g, 1'000, 30'000);

  p.timeouts.request = ms_between(g, 500, 8'000);
  p.timeouts.attempt = ms_between(g, 100, 4'000);
  p.timeouts.first_byte = g.chance(Ratio{1, 2}) ? ms_between(g, 50, 2'000) : Duration{0};

  p.queue.requests_max = static_cast<std::int32_t>(g.range(1, 24));
  // depth_max = 0 is left out: the engine then drops every request as queue_full,
  // even with idle targets (submit checks the depth before trying to dispatch).
  p.queue.depth_max = static_cast<std::int32_t>(g.range(1, p.queue.requests_max));
  p.queue.when_unavailable = g.chance(Ratio{1, 2}) ? WhenUnavailable::wait : WhenUnavailable::fail;
  p.concurrency.inflight_max = static_cast<std::int32_t>(g.range(1, 10));

  if (g.chance(Ratio{1, 2})) {
    p.cost.budget_micro_usd = g.range(1'000, 200'000);
    p.cost.budget_window = ms_between(g, 1'000, 60'000);
    p.cost.on_exhausted = static_cast<BudgetExhausted>(g.below(3));
  }
  p.health.ewma_weight = Ratio{g.range(1, 10), 10};
  p.health.misconfigured_cooldown = ms_between(g, 100, 5'000);
  if (g.chance(Ratio{1, 5})) p.classify.status_overrides.push_back({503, OutcomeClass::rate_limited});
}

Config random_config(Prng& g) {
  Config c;
  random_providers(g, c);
  const auto routes = g.range(1, 2);
  for (std::int64_t r = 0; r < routes; ++r) c.routes.push_back(random_route(g, c, "r" + std::to_string(r)));
  if (routes == 2 && g.chance(Ratio{1, 2})) c.routes[0].capability_fallback = 1;
  if (routes == 2 && g.chance(Ratio{1, 2})) {
    c.tiers.push_back(TierConfig{"complex", 0, 1});
    c.tiers.push_back(TierConfig{"simple", 1, kNoIndex});
  }
  random_policy(g, c.policy);
  return c;
}

// ---- the driver ------------------------------------------------------------------------

// What the runs reached, summed over runs: a generator that stopped reaching some
// state would make the properties hold vacuously.
struct Coverage {
  std::map<EndReason, std::int64_t> ends;
  std::int64_t succeeded = 0;
  std::int64_t hedges = 0;
  std::int64_t downgraded = 0;
  std::int64_t opened = 0;
  std::int64_t closed = 0;
  std::int64_t cancels_timeout = 0;
  std::int64_t cancels_hedge_lost = 0;
  std::int64_t cancels_caller_gone = 0;
  std::int64_t possibly_billed = 0;
  std::int64_t probes = 0;
  std::int64_t detached_probes = 0;  // probes still running when their request ended
};

struct LiveAttempt {
  RequestId request = 0;
  Index provider = kNoIndex;
  bool first_byte = false;
  bool probe = false;
};

struct RequestRecord {
  std::set<Index> allowed;  // every target its route, fallbacks and downgrades name
  std::int32_t sends = 0;
  std::int32_t live = 0;
  std::int32_t live_probes = 0;  // of `live`: probes, which may outlive the request
  std::int32_t completes = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens_max = 0;
};

std::string text(const Action& action) {
  std::ostringstream os;
  if (const auto* s = std::get_if<SendAttempt>(&action)) {
    os << "send a=" << s->attempt << " r=" << s->request << " t=" << s->target << " p=" << s->provider
       << " m=" << s->model << " n=" << s->number << " h=" << s->hedge << " d=" << to_us(s->deadline);
  } else if (const auto* c = std::get_if<CancelAttempt>(&action)) {
    os << "cancel a=" << c->attempt << " r=" << c->request << " why=" << static_cast<int>(c->reason);
  } else if (const auto* d = std::get_if<Complete>(&action)) {
    os << "complete r=" << d->request << " " << to_string(d->status) << " " << to_string(d->reason)
       << " t=" << d->target << " n=" << d->attempts << " lat=" << d->latency.count() << " cost=" << d->cost_micro_usd
       << " down=" << d->downgraded;
  } else if (const auto* ch = std::get_if<Charge>(&action)) {
    os << "charge r=" << ch->request << " a=" << ch->attempt << " t=" << ch->target << " cost=" << ch->cost_micro_usd
       << " kind=" << static_cast<int>(ch->kind);
  } else if (const auto* b = std::get_if<BreakerChanged>(&action)) {
    os << "breaker t=" << b->target << " " << to_string(b->from) << "->" << to_string(b->to) << " at=" << to_us(b->at);
  }
  return os.str();
}

// Plays the driver: feeds inputs, drains actions after each, fires timers at
// next_deadline(), and checks every invariant as it goes. ASSERT-style failures are
// recorded with ADD_FAILURE and stop the run through ok().
class Driver {
 public:
  Driver(const Config& config, std::uint64_t seed, std::size_t buffer, Coverage& coverage)
      : coverage_(coverage),
        config_(config),
        engine_(config, Prng(seed)),
        buffer_(buffer),
        provider_live_(config.providers.size(), 0),
        breaker_(config.targets.size(), BreakerState::closed) {}

  [[nodiscard]] bool ok() const { return failures_ == 0; }
  [[nodiscard]] Time now() const { return now_; }
  [[nodiscard]] const std::vector<std::string>& log() const { return log_; }
  [[nodiscard]] const std::map<AttemptId, LiveAttempt>& live() const { return live_; }
  [[nodiscard]] const std::map<RequestId, RequestRecord>& requests() const { return requests_; }
  Engine& engine() { return engine_; }

  void submit(const Request& r) {
    RequestRecord rec;
    rec.allowed = allowed_targets(r);
    rec.prompt_tokens = r.prompt_tokens;
    rec.output_tokens_max = r.output_tokens_max;
    requests_[r.id] = rec;
    ++submitted_;
    engine_.submit(now_, r, buffer_);
    drain("submit");
  }
  void respond(AttemptId a, const Outcome& o) {
    erase_live(a);
    engine_.on_response(now_, a, o, buffer_);
    drain("on_response");
  }
  void first_byte(AttemptId a) {
    live_.at(a).first_byte = true;
    engine_.on_first_byte(now_, a, buffer_);
    drain("on_first_byte");
  }
  // The caller of `id` went away: any id, held or not (a no-op then).
  void cancel(RequestId id) {
    engine_.cancel(now_, id, buffer_);
    drain("cancel");
  }
  // The driver's timer: on_timeout whenever next_deadline() has come.
  void fire() {
    for (int guard = 0; guard < 10'000; ++guard) {
      const std::optional<Time> d = engine_.next_deadline();
      if (!d || *d > now_) return;
      engine_.on_timeout(now_, buffer_);
      drain("on_timeout");
    }
    fail("on_timeout never caught up at " + std::to_string(to_us(now_)));
  }
  // An early or spurious timer call: must be harmless.
  void poke() {
    engine_.on_timeout(now_, buffer_);
    drain("on_timeout (early)");
  }
  // Moves time to `t`, firing the timers due on the way in order, or (lazy) only
  // setting the clock, as a driver whose timer has not run yet would.
  void advance_to(Time t, bool lazy) {
    if (!lazy) {
      for (int guard = 0; guard < 100'000; ++guard) {
        const std::optional<Time> d = engine_.next_deadline();
        if (!d || *d > t) break;
        now_ = std::max(now_, *d);
        fire();
      }
    }
    now_ = std::max(now_, t);
    if (!lazy) fire();
  }

  void check_end() {
    EXPECT_TRUE(live_.empty()) << live_.size() << " attempts left behind";
    for (const auto& [id, rec] : requests_) {
      EXPECT_EQ(rec.completes, 1) << "request " << id;
      EXPECT_EQ(rec.live, 0) << "request " << id;
    }
    const EngineTotals t = engine_.totals();
    EXPECT_EQ(t.active, 0);
    EXPECT_EQ(t.queued, 0);
    EXPECT_EQ(t.submitted, submitted_);
    EXPECT_EQ(t.succeeded + t.failed + t.dropped, submitted_);
    EXPECT_LE(t.cancelled, t.dropped);  // a cancelled request is counted dropped
    EXPECT_FALSE(engine_.next_deadline().has_value());
    const HealthReport h = engine_.health(now_);
    for (const TargetHealth& th : h.targets) EXPECT_EQ(th.inflight, 0) << "target " << th.target;
  }

 private:
  std::set<Index> allowed_targets(const Request& r) const {
    std::set<Index> out;
    std::vector<Index> routes;
    if (r.tier != kNoIndex && r.tier < config_.tiers.size()) {
      for (Index t = r.tier; t != kNoIndex && routes.size() < 64; t = config_.tiers[t].downgrade_to) {
        routes.push_back(config_.tiers[t].route);
      }
    } else if (r.route < config_.routes.size()) {
      routes.push_back(r.route);
    }
    for (std::size_t i = 0; i < routes.size() && i < 64; ++i) {
      const Index fb = config_.routes[routes[i]].capability_fallback;
      if (fb != kNoIndex && std::find(routes.begin(), routes.end(), fb) == routes.end()) routes.push_back(fb);
    }
    for (const Index route : routes) {
      for (const RouteTarget& rt : config_.routes[route].targets) out.insert(rt.target);
    }
    return out;
  }

  void fail(const std::string& what) {
    ++failures_;
    ADD_FAILURE() << what << " (at " << to_us(now_) << " us)";
  }

  void erase_live(AttemptId a) {
    const auto it = live_.find(a);
    if (it == live_.end()) {
      fail("attempt " + std::to_string(a) + " is not outstanding");
      return;
    }
    --provider_live_[it->second.provider];
    --requests_[it->second.request].live;
    if (it->second.probe) --requests_[it->second.request].live_probes;
    live_.erase(it);
  }

  void on_send(const SendAttempt& s) {
    auto& rec = requests_[s.request];
    if (rec.completes != 0) fail("send for a completed request " + std::to_string(s.request));
    if (!rec.allowed.contains(s.target)) fail("send to target " + std::to_string(s.target) + " outside the route");
    if (s.provider != config_.targets[s.target].provider || s.model != config_.targets[s.target].model) {
      fail("send names the wrong provider or model for its target");
    }
    if (live_.contains(s.attempt)) fail("attempt id reused while outstanding");
    ++rec.sends;
    ++rec.live;
    if (s.number != rec.sends) fail("attempt number " + std::to_string(s.number) + " != sends");
    if (rec.live > 2) fail("more than two live attempts for one request");
    if (s.deadline <= now_) fail("attempt deadline not in the future");
    if (breaker_[s.target] == BreakerState::open) fail("send to a target whose breaker is open");
    if (s.probe != (breaker_[s.target] == BreakerState::half_open)) {
      fail(s.probe ? "a probe to a target that is not half-open" : "a send that is no probe to a half-open target");
    }
    live_[s.attempt] = LiveAttempt{s.request, s.provider, false, s.probe};
    rec.live_probes += s.probe ? 1 : 0;
    coverage_.probes += s.probe ? 1 : 0;
    ++provider_live_[s.provider];
    coverage_.hedges += s.hedge ? 1 : 0;
  }

  void on_complete(const Complete& c) {
    auto it = requests_.find(c.request);
    if (it == requests_.end()) {
      fail("complete for an unknown request");
      return;
    }
    RequestRecord& rec = it->second;
    if (++rec.completes != 1) fail("request " + std::to_string(c.request) + " completed twice");
    if (c.attempts != rec.sends) {
      fail("request " + std::to_string(c.request) + ": Complete.attempts " + std::to_string(c.attempts) + " != sends " +
           std::to_string(rec.sends));
    }
    // Only a probe may outlive its request (SendAttempt::probe): it runs to its verdict.
    if (rec.live != rec.live_probes) {
      fail("request " + std::to_string(c.request) + " completed with attempts outstanding");
    }
    coverage_.detached_probes += rec.live_probes;
    if ((c.status == RequestStatus::succeeded) != (c.reason == EndReason::ok)) fail("status and reason disagree");
    if (c.status == RequestStatus::succeeded && !rec.allowed.contains(c.target)) fail("served by a foreign target");
    if (c.latency < Duration{0}) fail("negative latency");
    ++coverage_.ends[c.reason];
    coverage_.succeeded += c.status == RequestStatus::succeeded ? 1 : 0;
    coverage_.downgraded += c.downgraded ? 1 : 0;
  }

  void on_charge(const Charge& ch) {
    if (ch.cost_micro_usd <= 0) fail("a charge of nothing");
    coverage_.possibly_billed += ch.kind == ChargeKind::possibly_billed ? 1 : 0;
    const CostPolicy& cost = config_.policy.cost;
    if (cost.budget_micro_usd == 0 || cost.on_exhausted == BudgetExhausted::report) return;
    const std::int64_t window = to_us(now_) / to_us(cost.budget_window);
    spent_[window] += ch.cost_micro_usd;
    if (spent_[window] > cost.budget_micro_usd) {
      fail("spent " + std::to_string(spent_[window]) + " over the budget of " + std::to_string(cost.budget_micro_usd));
    }
  }

  void on_breaker(const BreakerChanged& b) {
    if (b.from != breaker_[b.target]) fail("breaker change from a state it was not in");
    if (b.from == b.to) fail("breaker change to the same state");
    breaker_[b.target] = b.to;
    coverage_.opened += b.to == BreakerState::open ? 1 : 0;
    coverage_.closed += b.to == BreakerState::closed ? 1 : 0;
  }

  void drain(const char* input) {
    for (const Action& a : buffer_) {
      log_.push_back(text(a));
      if (const auto* s = std::get_if<SendAttempt>(&a)) on_send(*s);
      if (const auto* c = std::get_if<CancelAttempt>(&a)) {
        erase_live(c->attempt);
        coverage_.cancels_timeout += c->reason == CancelReason::timeout ? 1 : 0;
        coverage_.cancels_hedge_lost += c->reason == CancelReason::hedge_lost ? 1 : 0;
        coverage_.cancels_caller_gone += c->reason == CancelReason::caller_gone ? 1 : 0;
      }
      if (const auto* d = std::get_if<Complete>(&a)) on_complete(*d);
      if (const auto* ch = std::get_if<Charge>(&a)) on_charge(*ch);
      if (const auto* b = std::get_if<BreakerChanged>(&a)) on_breaker(*b);
    }
    buffer_.clear();
    check_limits(input);
  }

  void check_limits(const char* input) {
    for (std::size_t p = 0; p < provider_live_.size(); ++p) {
      if (provider_live_[p] > config_.providers[p].concurrency_max) {
        fail(std::string("provider concurrency exceeded after ") + input);
      }
    }
    if (static_cast<std::int32_t>(live_.size()) > config_.policy.concurrency.inflight_max) {
      fail(std::string("global in-flight limit exceeded after ") + input);
    }
    const EngineTotals t = engine_.totals();
    if (t.active != submitted_ - (t.succeeded + t.failed + t.dropped)) fail("active does not add up");
    if (t.active > config_.policy.queue.requests_max) fail("more requests held than requests_max");
    if (t.queued < 0 || t.queued > t.active) fail("queued out of range");
    // Liveness: no target idles while a waiting request could go to it now.
    if (const std::optional<Index> idle = engine_.idle_target(now_)) {
      fail("target " + std::to_string(*idle) + " idles while a request waits for it, after " + input);
    }
  }

  Coverage& coverage_;
  Config config_;
  Engine engine_;
  ActionBuffer buffer_;
  Time now_{};
  std::map<AttemptId, LiveAttempt> live_;
  std::map<RequestId, RequestRecord> requests_;
  std::vector<std::int32_t> provider_live_;
  std::vector<BreakerState> breaker_;
  std::map<std::int64_t, std::int64_t> spent_;  // per budget window
  std::vector<std::string> log_;
  std::int64_t submitted_ = 0;
  int failures_ = 0;
};

// ---- random inputs -----------------------------------------------------------------------

Outcome random_outcome(Prng& g, const RequestRecord& rec) {
  const std::uint64_t roll = g.below(100);
  if (roll < 35) {
    // Usage within the request's estimate: the reservation covers it.
    return Outcome::ok({g.range(0, rec.prompt_tokens), g.range(0, rec.output_tokens_max), true});
  }
  if (roll < 40) return Outcome::ok({0, 0, false});
  if (roll < 55) return Outcome::http(503);
  if (roll < 58) return Outcome::http(529);
  if (roll < 68) {
    return g.chance(Ratio{3, 4}) ? Outcome::http(429, ms(g.range(0, 15'000))) : Outcome::http(429);
  }
  if (roll < 72) return Outcome::http(400);
  if (roll < 75) return Outcome::http(g.chance(Ratio{1, 2}) ? 401 : 404);
  if (roll < 79) {
    return Outcome::refused(400, g.chance(Ratio{1, 2}) ? Refusal::context_length : Refusal::content_policy);
  }
  if (roll < 84) return Outcome::of(OutcomeKind::reset);
  if (roll < 87) return Outcome::of(OutcomeKind::connect_error);
  if (roll < 90) return Outcome::of(OutcomeKind::malformed);
  if (roll < 93) return Outcome::of(OutcomeKind::truncated);
  if (roll < 97) return Outcome::timed_out(g.chance(Ratio{1, 2}) ? TimeoutKind::first_byte : TimeoutKind::idle);
  return Outcome::of(OutcomeKind::cancelled);
}

Request random_request(Prng& g, const Config& c, RequestId id, Time now) {
  Request r;
  r.id = id;
  if (!c.tiers.empty() && g.chance(Ratio{1, 2})) {
    r.tier = static_cast<Index>(g.below(c.tiers.size()));
  } else {
    r.route = static_cast<Index>(g.below(c.routes.size()));
    if (g.chance(Ratio{1, 100})) r.route = static_cast<Index>(c.routes.size());  // unknown
  }
  r.prompt_tokens = g.range(1, 3'000);
  r.output_tokens_max = g.range(1, 2'000);
  r.stream = g.chance(Ratio{1, 3});
  if (g.chance(Ratio{1, 3})) r.deadline = now + ms(g.range(0, 6'000));
  return r;
}

template <typename Map>
typename Map::const_iterator random_entry(Prng& g, const Map& m) {
  auto it = m.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(g.below(m.size())));
  return it;
}

// One run: a random config, `steps` random inputs, then time until nothing is left.
std::vector<std::string> run(std::uint64_t seed, int steps, Coverage& coverage) {
  Prng g(seed);
  Prng config_stream = g.fork("config");
  const Config config = random_config(config_stream);
  const Status valid = validate(config);
  EXPECT_TRUE(valid.has_value()) << (valid.has_value() ? "" : valid.error().message());
  if (!valid.has_value()) return {};
  const std::size_t buffers[] = {64, 128, 1'024};
  Driver d(config, seed, buffers[g.below(3)], coverage);
  RequestId next_id = 1;
  for (int step = 0; step < steps && d.ok(); ++step) {
    const std::uint64_t roll = g.below(100);
    if (roll < 25) {
      d.submit(random_request(g, config, next_id++, d.now()));
    } else if (roll < 55 && !d.live().empty()) {
      const auto it = random_entry(g, d.live());
      const RequestRecord& rec = d.requests().at(it->second.request);
      d.respond(it->first, random_outcome(g, rec));
    } else if (roll < 65 && !d.live().empty()) {
      const auto it = random_entry(g, d.live());
      if (!it->second.first_byte) d.first_byte(it->first);
    } else if (roll < 90) {
      const Duration jump = g.chance(Ratio{1, 10}) ? ms(g.range(0, 5'000)) : ms(g.range(0, 300));
      d.advance_to(d.now() + jump, g.chance(Ratio{1, 4}));
    } else if (roll < 95) {
      d.fire();
    } else if (roll < 97) {
      d.poke();
    } else {
      d.cancel(static_cast<RequestId>(g.range(1, static_cast<std::int64_t>(next_id))));  // next_id: never submitted
    }
  }
  // Drain: answer everything still out (mostly with success) and let time run until
  // the engine has nothing left to wait for.
  for (int guard = 0; guard < 100'000 && d.ok(); ++guard) {
    d.advance_to(d.now(), false);
    while (!d.live().empty() && d.ok()) {
      const auto it = d.live().begin();
      const RequestRecord& rec = d.requests().at(it->second.request);
      d.respond(it->first, g.chance(Ratio{4, 5}) ? Outcome::ok({1, 1, true}) : random_outcome(g, rec));
    }
    const std::optional<Time> next = d.engine().next_deadline();
    if (!next) break;
    d.advance_to(std::max(d.now(), *next) + ms(g.range(0, 50)), false);
  }
  if (d.ok()) d.check_end();
  return d.log();
}

std::vector<std::string> run(std::uint64_t seed, int steps) {
  Coverage ignored;
  return run(seed, steps, ignored);
}

TEST(Property, EveryRequestEndsExactlyOnceAndNothingIsLeftBehind) {
  Coverage coverage;
  for (std::uint64_t seed = 1; seed <= 256; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto log = run(seed, 3'000, coverage);
    EXPECT_FALSE(log.empty());
    if (HasFailure()) return;
  }
  // The runs went through the states the properties are about.
  EXPECT_GT(coverage.succeeded, 0);
  EXPECT_GT(coverage.hedges, 0);
  EXPECT_GT(coverage.downgraded, 0);
  EXPECT_GT(coverage.opened, 0);
  EXPECT_GT(coverage.closed, 0);
  EXPECT_GT(coverage.cancels_timeout, 0);
  EXPECT_GT(coverage.cancels_hedge_lost, 0);
  EXPECT_GT(coverage.cancels_caller_gone, 0);  // a caller left while its request had attempts out
  EXPECT_GT(coverage.probes, 0);
  EXPECT_GT(coverage.detached_probes, 0);  // a probe outliving its request is exercised
  EXPECT_GT(coverage.possibly_billed, 0);
  for (const EndReason reason :
       {EndReason::queue_full, EndReason::deadline, EndReason::deadline_exceeded, EndReason::attempts_exhausted,
        EndReason::retry_budget, EndReason::cost_budget, EndReason::no_target, EndReason::caller_error,
        EndReason::capability, EndReason::stream_interrupted, EndReason::rate_limited, EndReason::invalid_request,
        EndReason::cancelled}) {
    EXPECT_GT(coverage.ends[reason], 0) << "no request ended " << to_string(reason);
  }
}

TEST(Property, ManyShortRunsOverManyConfigsKeepEveryInvariant) {
  for (std::uint64_t seed = 10'000; seed < 10'400; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    run(seed, 150);
    if (HasFailure()) return;
  }
}

TEST(Property, TheSameSeedGivesTheSameActionLog) {
  for (const std::uint64_t seed : {7ULL, 4242ULL, 99'991ULL}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto first = run(seed, 3'000);
    const auto second = run(seed, 3'000);
    ASSERT_FALSE(first.empty());
    ASSERT_EQ(first.size(), second.size());
    for (std::size_t i = 0; i < first.size(); ++i) ASSERT_EQ(first[i], second[i]) << "action " << i;
  }
}

TEST(Property, DifferentSeedsGiveDifferentActionLogs) {
  EXPECT_NE(run(7, 500), run(8, 500));
}

}  // namespace
}  // namespace failover

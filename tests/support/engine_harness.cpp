#include "tests/support/engine_harness.h"

#include <algorithm>
#include <cstdio>

#include <gtest/gtest.h>

namespace failover::test {

Config make_config(int n, const std::string& route) {
  Config c;
  RouteConfig r;
  r.name = route;
  for (int i = 0; i < n; ++i) {
    ProviderConfig p;
    const std::string num = std::to_string(i);
    p.name = std::string("p").append(num);
    p.base_url = std::string("https://p").append(num).append(".example");
    p.api_key_env = std::string("P").append(num).append("_KEY");
    ModelConfig m;
    m.id = std::string("m").append(num);
    m.input_micro_usd_per_mtok = (i + 1) * 1'000'000;
    m.output_micro_usd_per_mtok = (i + 1) * 1'000'000;
    p.models.push_back(m);
    c.providers.push_back(p);
    const Index t = c.intern_target(static_cast<Index>(i), 0);
    r.targets.push_back(RouteTarget{t, i, 1});
  }
  c.routes.push_back(r);
  c.policy.queue.depth_max = 1'000;
  c.policy.queue.requests_max = 2'000;
  c.policy.concurrency.inflight_max = 1'000;
  return c;
}

namespace {
// The engine asserts on an invalid config; say why first, so a test's typo is plain.
const Config& valid(const Config& config) {
  const Status status = validate(config);
  if (!status.has_value()) {
    std::fprintf(stderr, "EngineHarness: invalid config: %s\n", status.error().message().c_str());
  }
  return config;
}
}  // namespace

EngineHarness::EngineHarness(const Config& config, std::uint64_t seed)
    : engine_(valid(config), Prng(seed)), buffer_(1'024) {}

std::vector<Action> EngineHarness::drain() {
  std::vector<Action> got(buffer_.begin(), buffer_.end());
  buffer_.clear();
  for (const Action& a : got) {
    if (const auto* c = std::get_if<CancelAttempt>(&a)) done_.insert(c->attempt);
  }
  log_.insert(log_.end(), got.begin(), got.end());
  return got;
}

void EngineHarness::fire_due(std::vector<Action>& acc) {
  for (int guard = 0; guard < 1'000'000; ++guard) {
    const std::optional<Time> d = engine_.next_deadline();
    if (!d || *d > now_) return;
    engine_.on_timeout(now_, buffer_);
    const auto got = drain();
    acc.insert(acc.end(), got.begin(), got.end());
  }
  ADD_FAILURE() << "on_timeout never caught up";
}

EngineHarness& EngineHarness::at(Duration t) {
  const Time target = kTimeZero + t;
  EXPECT_GE(target, now_) << "tests must not move time backwards";
  std::vector<Action> ignored;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    const std::optional<Time> d = engine_.next_deadline();
    if (!d || *d > target) break;
    now_ = std::max(now_, *d);
    fire_due(ignored);
  }
  now_ = target;
  fire_due(ignored);
  return *this;
}

std::vector<Action> EngineHarness::submit(const Request& r) {
  engine_.submit(now_, r, buffer_);
  auto got = drain();
  fire_due(got);
  return got;
}

std::vector<Action> EngineHarness::submit(RequestId id, Index route) {
  Request r;
  r.id = id;
  r.route = route;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  return submit(r);
}

std::vector<Action> EngineHarness::outcome(AttemptId attempt, const Outcome& o) {
  done_.insert(attempt);
  engine_.on_response(now_, attempt, o, buffer_);
  auto got = drain();
  fire_due(got);
  return got;
}

std::vector<Action> EngineHarness::first_byte(AttemptId attempt) {
  engine_.on_first_byte(now_, attempt, buffer_);
  auto got = drain();
  fire_due(got);
  return got;
}

std::vector<Action> EngineHarness::cancel(RequestId id) {
  engine_.cancel(now_, id, buffer_);
  auto got = drain();
  fire_due(got);
  return got;
}

template <typename T>
static std::vector<T> only(const std::vector<Action>& log) {
  std::vector<T> out;
  for (const Action& a : log) {
    if (const auto* x = std::get_if<T>(&a)) out.push_back(*x);
  }
  return out;
}

std::vector<SendAttempt> EngineHarness::sends() const {
  return only<SendAttempt>(log_);
}
std::vector<Complete> EngineHarness::completes() const {
  return only<Complete>(log_);
}
std::vector<CancelAttempt> EngineHarness::cancels() const {
  return only<CancelAttempt>(log_);
}
std::vector<Charge> EngineHarness::charges() const {
  return only<Charge>(log_);
}
std::vector<BreakerChanged> EngineHarness::breaker_changes() const {
  return only<BreakerChanged>(log_);
}

std::optional<Complete> EngineHarness::completion_of(RequestId id) const {
  for (const Complete& c : completes()) {
    if (c.request == id) return c;
  }
  return std::nullopt;
}

std::vector<SendAttempt> EngineHarness::outstanding() const {
  std::vector<SendAttempt> out;
  for (const SendAttempt& s : sends()) {
    if (!done_.contains(s.attempt)) out.push_back(s);
  }
  return out;
}

SendAttempt EngineHarness::last_send() const {
  for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
    if (const auto* s = std::get_if<SendAttempt>(&*it)) return *s;
  }
  ADD_FAILURE() << "no SendAttempt yet";
  return SendAttempt{};
}

std::vector<SendAttempt> EngineHarness::sends_of(RequestId id) const {
  std::vector<SendAttempt> out;
  for (const SendAttempt& s : sends()) {
    if (s.request == id) out.push_back(s);
  }
  return out;
}

std::vector<Action> EngineHarness::answer_all(const Outcome& o) {
  std::vector<Action> acc;
  for (int guard = 0; guard < 100'000; ++guard) {
    const std::vector<SendAttempt> open = outstanding();
    if (open.empty()) return acc;
    for (const SendAttempt& s : open) {
      if (done_.contains(s.attempt)) continue;  // cancelled by an earlier answer
      const auto got = outcome(s.attempt, o);
      acc.insert(acc.end(), got.begin(), got.end());
    }
  }
  ADD_FAILURE() << "answer_all never ran out of attempts";
  return acc;
}

}  // namespace failover::test

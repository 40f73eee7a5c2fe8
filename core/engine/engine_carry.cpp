// A config reload's hand-over (Engine::take_over): which state a new engine keeps from
// the one it replaces. It decides what "unchanged" means -- the settings a state was
// built under are equal -- and copies health, never work: requests, attempts, in-flight
// counts and reserved cost stay with the previous engine, which drains them.
#include <string_view>

#include "core/engine/engine_impl.h"

namespace failover {
namespace {

// A provider's own settings, its model list aside (each model is compared on its own).
bool same_provider(const ProviderConfig& a, const ProviderConfig& b) {
  return a.name == b.name && a.base_url == b.base_url && a.protocol == b.protocol && a.api_key_env == b.api_key_env &&
         a.concurrency_max == b.concurrency_max && a.rpm_max == b.rpm_max && a.tpm_max == b.tpm_max;
}

// The provider named `name` in `config`; kNoIndex when there is none. Names are unique (validate).
Index provider_named(const Config& config, std::string_view name) {
  for (Index p = 0; p < config.providers.size(); ++p) {
    if (config.providers[p].name == name) return p;
  }
  return kNoIndex;
}

// The target of `old` that is the same as target `t` of `now`, or kNoIndex.
Index same_target(const Config& now, Index t, const Config& old) {
  const ProviderConfig& provider = now.provider_of(t);
  const ModelConfig& model = now.model(t);
  const Index p = provider_named(old, provider.name);
  if (p == kNoIndex || !same_provider(provider, old.providers[p])) return kNoIndex;
  for (Index o = 0; o < old.targets.size(); ++o) {
    if (old.targets[o].provider == p && old.model(o) == model) return o;
  }
  return kNoIndex;
}

}  // namespace

TakeOver EngineImpl::take_over(Time now, const EngineImpl& previous) {
  FAILOVER_ASSERT(active_ == 0 && inflight_ == 0);  // a new engine, before its first request
  FAILOVER_ASSERT(now >= previous.now_);
  const Config& old = previous.config_;
  const Policy& policy = config_.policy;
  TakeOver kept;
  kept.targets.assign(targets_.size(), false);
  kept.providers.assign(providers_.size(), false);
  if (policy.breaker == old.policy.breaker) {
    for (Index t = 0; t < targets_.size(); ++t) {
      const Index o = same_target(config_, t, old);
      if (o == kNoIndex) continue;
      TargetState& mine = targets_[t];
      const TargetState& theirs = previous.targets_[o];
      std::vector<Index> routes = std::move(mine.routes);  // this config's routes
      const ThrottleWindow throttle = mine.throttle;
      mine = theirs;
      mine.routes = std::move(routes);
      mine.inflight = 0;
      mine.breaker = theirs.breaker.taken_over();
      if (policy.retry.throttle_window != old.policy.retry.throttle_window) mine.throttle = throttle;
      arm_target(now, t);  // an open breaker, a block or a rest ends at its time here too
      kept.targets[t] = true;
    }
  }
  if (policy.concurrency.adaptive == old.policy.concurrency.adaptive) {
    for (Index p = 0; p < providers_.size(); ++p) {
      const Index o = provider_named(old, config_.providers[p].name);
      if (o == kNoIndex || !same_provider(config_.providers[p], old.providers[o])) continue;
      providers_[p] = previous.providers_[o];
      providers_[p].inflight = 0;
      kept.providers[p] = true;
    }
  }
  const RetryPolicy& retry = policy.retry;
  const RetryPolicy& old_retry = old.policy.retry;
  if (retry.budget_ratio == old_retry.budget_ratio && retry.budget_min_per_second == old_retry.budget_min_per_second &&
      retry.budget_max == old_retry.budget_max) {
    retry_budget_ = previous.retry_budget_;
    kept.retry_budget = true;
  }
  if (policy.cost.budget_window == old.policy.cost.budget_window) {
    budget_window_ = previous.budget_window_;
    spent_window_micro_usd_ = previous.spent_window_micro_usd_;
    kept.cost_window = true;
  }
  advance(now);  // after the copies: a budget window that ended meanwhile starts empty, buckets refill
  return kept;
}

}  // namespace failover

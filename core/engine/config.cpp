// Lookups on Config and validate(), the single place that decides what a usable
// Config is. Key paths in errors use the TOML schema's names (docs/config.md), so a
// loader can point at the line that holds the offending value.
#include "core/engine/config.h"

#include <algorithm>
#include <cstddef>
#include <limits>

#include "core/engine/assert.h"

namespace failover {
namespace {

// Ratio::scale() computes x * num / den in 64 bits. Bounding the denominator (the
// loader never produces more than 10^6) and every duration (a month: a monthly cost
// budget fits) keeps duration * ratio and duration * small count far from overflow.
constexpr std::int64_t kRatioDenMax = 1'000'000;
constexpr Duration kDurationMax = minutes(60LL * 24 * 31);
static_assert(kDurationMax.count() < std::numeric_limits<std::int64_t>::max() / kRatioDenMax);
constexpr std::int32_t kWeightMax = 1'000'000;
constexpr std::int32_t kThrottleKMilliMin = 1'000;  // K < 1 rejects calls that all succeed
constexpr std::int32_t kThrottleKMilliMax = 1'000'000;
constexpr std::size_t kNameLengthMax = 256;

static_assert(kTargetsPerRouteMax * static_cast<std::size_t>(kWeightMax) <
              static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()));
static_assert(kTargetsMax < kNoIndex);

template <typename Table>
std::optional<Index> find_by_name(const std::vector<Table>& table, std::string_view name) {
  FAILOVER_ASSERT(table.size() < kNoIndex);
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i].name == name) return static_cast<Index>(i);
  }
  return std::nullopt;
}

std::string element(std::string_view table, std::size_t i) {
  return std::string(table) + "[" + std::to_string(i) + "]";
}

std::string key(std::string_view prefix, std::string_view name) {
  return std::string(prefix) + "." + std::string(name);
}

// Collects the first failed check; later checks are skipped once one has failed.
class Checks {
 public:
  bool check(bool ok, const std::string& where, std::string what) {
    if (ok || error_.has_value()) return ok && !error_.has_value();
    error_ = Error{where, std::move(what)};
    return false;
  }
  [[nodiscard]] bool failed() const { return error_.has_value(); }
  [[nodiscard]] Status status() const {
    if (error_.has_value()) return *error_;
    return Ok{};
  }

  void at_least(std::int64_t value, std::int64_t min, const std::string& where) {
    check(value >= min, where, "must be at least " + std::to_string(min) + " but is " + std::to_string(value));
  }
  void between(std::int64_t value, std::int64_t min, std::int64_t max, const std::string& where) {
    check(
        value >= min && value <= max, where,
        "must be between " + std::to_string(min) + " and " + std::to_string(max) + " but is " + std::to_string(value));
  }
  void ratio(Ratio r, const std::string& where) {
    const std::string value = std::to_string(r.num) + "/" + std::to_string(r.den);
    check(r.valid(), where, "must be a ratio between 0 and 1 (0% to 100%) but is " + value);
    check(r.den <= kRatioDenMax, where, "must have a denominator of at most 1000000 but is " + value);
  }
  // zero_allowed: the key documents 0 as "off".
  void duration(Duration d, bool zero_allowed, const std::string& where) {
    const Duration min = zero_allowed ? Duration{0} : Duration{1};
    check(d >= min, where,
          std::string(zero_allowed ? "must not be negative" : "must be positive") + " but is " + duration_text(d));
    check(d <= kDurationMax, where, "must be at most 31 days but is " + duration_text(d));
  }
  void name(std::string_view value, const std::string& where) {
    check(!value.empty(), where, "must not be empty");
    check(value.size() <= kNameLengthMax, where,
          "must be at most " + std::to_string(kNameLengthMax) + " characters long");
  }

 private:
  std::optional<Error> error_;
};

// Names in one table must be unique: a reference by name must mean one thing.
template <typename Table>
void unique_names(Checks& c, const std::vector<Table>& table, std::string_view table_name) {
  // The size checks ran first: past a limit the loop below does not start.
  FAILOVER_ASSERT(c.failed() || table.size() <= std::max({kProvidersMax, kRoutesMax, kTiersMax}));
  for (std::size_t i = 0; i < table.size() && !c.failed(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (!c.check(table[i].name != table[j].name, key(element(table_name, i), "name"),
                   "repeats the name '" + table[i].name + "' of " + element(table_name, j))) {
        break;
      }
    }
  }
}

bool env_var_name(std::string_view name) {
  if (name.empty()) return false;
  if (name.front() >= '0' && name.front() <= '9') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'; });
}

bool url_scheme_ok(std::string_view url) {
  return url.empty() || url.starts_with("https://") || url.starts_with("http://");
}

void check_model(Checks& c, const ModelConfig& m, const std::string& path) {
  c.name(m.id, key(path, "id"));
  c.at_least(m.input_micro_usd_per_mtok, 0, key(path, "input_usd_per_mtok"));
  c.at_least(m.output_micro_usd_per_mtok, 0, key(path, "output_usd_per_mtok"));
  c.at_least(m.context_window_tokens, 0, key(path, "context_window"));
}

void check_provider(Checks& c, const ProviderConfig& p, const std::string& path) {
  c.name(p.name, key(path, "name"));
  c.check(url_scheme_ok(p.base_url), key(path, "base_url"),
          "must start with https:// (or http:// for a loopback test server) but is '" + p.base_url + "'");
  c.check(p.api_key_env.empty() || env_var_name(p.api_key_env), key(path, "api_key_env"),
          "must name an environment variable (A-Z, 0-9 and _, not starting with a digit), "
          "never hold a key");
  c.between(p.concurrency_max, 1, kInflightMax, key(path, "concurrency_max"));
  c.at_least(p.rpm_max, 0, key(path, "rpm_max"));
  c.at_least(p.tpm_max, 0, key(path, "tpm_max"));
  const std::string models = key(path, "models");
  c.check(!p.models.empty(), models, "must list at least one model");
  c.check(p.models.size() <= kModelsPerProviderMax, models,
          "lists " + std::to_string(p.models.size()) + " models, more than the limit of " +
              std::to_string(kModelsPerProviderMax));
  for (std::size_t i = 0; i < p.models.size() && !c.failed(); ++i) {
    check_model(c, p.models[i], element(models, i));
    for (std::size_t j = 0; j < i && !c.failed(); ++j) {
      c.check(p.models[i].id != p.models[j].id, key(element(models, i), "id"),
              "repeats the model id '" + p.models[i].id + "' of " + element(models, j));
    }
  }
}

void check_providers(Checks& c, const Config& config) {
  c.check(!config.providers.empty(), "providers", "must list at least one provider");
  c.check(config.providers.size() <= kProvidersMax, "providers",
          "lists " + std::to_string(config.providers.size()) + " providers, more than the limit of " +
              std::to_string(kProvidersMax));
  for (std::size_t i = 0; i < config.providers.size() && !c.failed(); ++i) {
    check_provider(c, config.providers[i], element("providers", i));
  }
  unique_names(c, config.providers, "providers");
}

void check_targets(Checks& c, const Config& config) {
  c.check(config.targets.size() <= kTargetsMax, "targets",
          "routes name " + std::to_string(config.targets.size()) +
              " distinct (provider, model) targets, more than the limit of " + std::to_string(kTargetsMax));
  for (std::size_t i = 0; i < config.targets.size() && !c.failed(); ++i) {
    const TargetKey& t = config.targets[i];
    const std::string path = element("targets", i);
    if (!c.check(t.provider < config.providers.size(), key(path, "provider"),
                 "refers to a provider that does not exist")) {
      return;
    }
    c.check(t.model < config.providers[t.provider].models.size(), key(path, "model"),
            "refers to a model that provider '" + config.providers[t.provider].name + "' does not list");
    for (std::size_t j = 0; j < i && !c.failed(); ++j) {
      c.check(!(config.targets[j] == t), path, "repeats " + element("targets", j));
    }
  }
}

void check_route(Checks& c, const Config& config, Index r) {
  const RouteConfig& route = config.routes[r];
  const std::string path = element("routes", r);
  c.name(route.name, key(path, "name"));
  const std::string targets = key(path, "targets");
  c.check(!route.targets.empty(), targets, "must list at least one target");
  c.check(route.targets.size() <= kTargetsPerRouteMax, targets,
          "lists " + std::to_string(route.targets.size()) + " targets, more than the limit of " +
              std::to_string(kTargetsPerRouteMax));
  for (std::size_t i = 0; i < route.targets.size() && !c.failed(); ++i) {
    const RouteTarget& t = route.targets[i];
    const std::string tp = element(targets, i);
    c.check(t.target < config.targets.size(), tp, "refers to a target that does not exist");
    c.at_least(t.priority, 0, key(tp, "priority"));
    c.between(t.weight, 1, kWeightMax, key(tp, "weight"));
    for (std::size_t j = 0; j < i && !c.failed(); ++j) {
      c.check(route.targets[j].target != t.target, tp, "names the same provider and model as " + element(targets, j));
    }
  }
  c.duration(route.hedge_after, true, key(path, "hedge_after"));
  const std::string fallback = key(path, "capability_fallback");
  if (route.capability_fallback != kNoIndex) {
    c.check(route.capability_fallback < config.routes.size(), fallback, "refers to a route that does not exist");
    c.check(route.capability_fallback != r, fallback, "must name another route, not its own");
  }
}

// Follows `next` from `start` for at most `count` steps: a chain still going after
// that many steps has visited some element twice, so it loops.
template <typename Next>
bool chain_ends(Index start, std::size_t count, Next next) {
  Index at = start;
  for (std::size_t step = 0; step <= count; ++step) {
    if (at == kNoIndex) return true;
    FAILOVER_ASSERT(at < count);
    at = next(at);
  }
  return false;
}

void check_routes(Checks& c, const Config& config) {
  c.check(!config.routes.empty(), "routes", "must list at least one route");
  c.check(config.routes.size() <= kRoutesMax, "routes",
          "lists " + std::to_string(config.routes.size()) + " routes, more than the limit of " +
              std::to_string(kRoutesMax));
  for (std::size_t r = 0; r < config.routes.size() && !c.failed(); ++r) {
    check_route(c, config, static_cast<Index>(r));
  }
  unique_names(c, config.routes, "routes");
  const std::size_t n = config.routes.size();
  for (std::size_t r = 0; r < n && !c.failed(); ++r) {
    const bool ends =
        chain_ends(static_cast<Index>(r), n, [&](Index i) { return config.routes[i].capability_fallback; });
    c.check(ends, key(element("routes", r), "capability_fallback"),
            "starts a chain of capability fallbacks that loops back on itself");
  }
}

void check_tiers(Checks& c, const Config& config) {
  c.check(
      config.tiers.size() <= kTiersMax, "tiers",
      "lists " + std::to_string(config.tiers.size()) + " tiers, more than the limit of " + std::to_string(kTiersMax));
  const std::size_t n = config.tiers.size();
  for (std::size_t t = 0; t < n && !c.failed(); ++t) {
    const TierConfig& tier = config.tiers[t];
    const std::string path = element("tiers", t);
    c.name(tier.name, key(path, "name"));
    c.check(tier.route < config.routes.size(), key(path, "route"), "refers to a route that does not exist");
    if (tier.downgrade_to != kNoIndex) {
      c.check(tier.downgrade_to < n, key(path, "downgrade_to"), "refers to a tier that does not exist");
      c.check(tier.downgrade_to != t, key(path, "downgrade_to"), "must name another tier, not its own");
    }
  }
  unique_names(c, config.tiers, "tiers");
  for (std::size_t t = 0; t < n && !c.failed(); ++t) {
    const bool ends = chain_ends(static_cast<Index>(t), n, [&](Index i) { return config.tiers[i].downgrade_to; });
    c.check(ends, key(element("tiers", t), "downgrade_to"), "starts a downgrade chain that loops back on itself");
  }
}

void check_breaker(Checks& c, const BreakerPolicy& b) {
  const std::string p = "policy.breaker";
  c.at_least(b.consecutive_failures, 0, key(p, "consecutive_failures"));
  c.ratio(b.failure_rate, key(p, "failure_rate"));
  c.at_least(b.window_calls_min, 1, key(p, "window_calls_min"));
  c.duration(b.window, false, key(p, "window"));
  c.duration(b.slow_call_threshold, true, key(p, "slow_call_threshold"));
  c.ratio(b.slow_call_rate, key(p, "slow_call_rate"));
  c.duration(b.open_base, false, key(p, "open_base"));
  c.duration(b.open_max, false, key(p, "open_max"));
  c.check(b.open_base <= b.open_max, key(p, "open_base"),
          "must not exceed open_max (" + duration_text(b.open_max) + ") but is " + duration_text(b.open_base));
  c.duration(b.healthy_period, false, key(p, "healthy_period"));
  c.between(b.half_open_probes, 1, kInflightMax, key(p, "half_open_probes"));
  c.between(b.min_available_targets, 0, static_cast<std::int64_t>(kTargetsPerRouteMax),
            key(p, "min_available_targets"));
}

void check_retry(Checks& c, const RetryPolicy& r) {
  const std::string p = "policy.retry";
  c.between(r.attempts_max, 1, kAttemptsMax, key(p, "attempts_max"));
  // With backoff = "none" a zero base is meaningful: retry at once.
  c.duration(r.backoff_base, r.backoff == Backoff::none, key(p, "backoff_base"));
  c.duration(r.backoff_max, r.backoff == Backoff::none, key(p, "backoff_max"));
  c.check(r.backoff_base <= r.backoff_max, key(p, "backoff_base"),
          "must not exceed backoff_max (" + duration_text(r.backoff_max) + ") but is " + duration_text(r.backoff_base));
  c.ratio(r.budget_ratio, key(p, "budget_ratio"));
  c.at_least(r.budget_min_per_second, 0, key(p, "budget_min_per_second"));
  c.at_least(r.budget_max, 0, key(p, "budget_max"));
  c.duration(r.retry_after_max, true, key(p, "retry_after_max"));
  c.ratio(r.retry_after_jitter, key(p, "retry_after_jitter"));
  c.check(r.throttle_k_milli >= kThrottleKMilliMin && r.throttle_k_milli <= kThrottleKMilliMax, key(p, "throttle_k"),
          "must be between 1 and 1000 but is " + std::to_string(r.throttle_k_milli) + "/1000");
  c.duration(r.throttle_window, false, key(p, "throttle_window"));
}

void check_limits(Checks& c, const Policy& policy) {
  c.duration(policy.timeouts.request, false, "policy.timeouts.request");
  c.duration(policy.timeouts.attempt, false, "policy.timeouts.attempt");
  c.duration(policy.timeouts.first_byte, true, "policy.timeouts.first_byte");
  c.duration(policy.timeouts.connect, false, "policy.timeouts.connect");
  const QueuePolicy& q = policy.queue;
  c.between(q.depth_max, 0, kQueueDepthMax, "policy.queue.depth_max");
  c.between(q.requests_max, 1, kQueueDepthMax, "policy.queue.requests_max");
  c.check(
      q.depth_max <= q.requests_max, "policy.queue.depth_max",
      "must not exceed requests_max (" + std::to_string(q.requests_max) + ") but is " + std::to_string(q.depth_max));
  c.between(policy.concurrency.inflight_max, 1, kInflightMax, "policy.concurrency.inflight_max");
  c.at_least(policy.cost.budget_micro_usd, 0, "policy.cost.budget_usd");
  c.duration(policy.cost.budget_window, false, "policy.cost.budget_window");
  c.ratio(policy.health.ewma_weight, "policy.health.ewma_weight");
  c.check(policy.health.ewma_weight.num > 0, "policy.health.ewma_weight",
          "must be above 0, or latency would never be learned");
  c.duration(policy.health.misconfigured_cooldown, false, "policy.health.misconfigured_cooldown");
  c.duration(policy.health.ewma_idle_half_life, true, "policy.health.ewma_idle_half_life");
  c.duration(q.lifo_after, true, "policy.queue.lifo_after");
  c.ratio(q.lifo_share, "policy.queue.lifo_share");
}

void check_classify(Checks& c, const ClassifyPolicy& classify) {
  const ClassEffect& success = classify.effects[static_cast<std::size_t>(OutcomeClass::success)];
  c.check(!success.retry && !success.health && !success.fallback, "policy.classify.effects.success",
          "cannot be changed: a success is never retried");
  const ClassEffect& cancelled = classify.effects[static_cast<std::size_t>(OutcomeClass::cancelled)];
  c.check(!cancelled.retry, "policy.classify.effects.cancelled.retry",
          "must be false: the caller cancelled the request");
  const auto& overrides = classify.status_overrides;
  c.check(overrides.size() <= 500, "policy.classify.status", "lists more than 500 status codes");
  for (std::size_t i = 0; i < overrides.size() && !c.failed(); ++i) {
    const std::string path = element("policy.classify.status", i);
    c.between(overrides[i].status, 100, 599, key(path, "code"));
    c.check(overrides[i].cls != OutcomeClass::cancelled, key(path, "class"),
            "cannot be 'cancelled': only the caller cancels");
    for (std::size_t j = 0; j < i && !c.failed(); ++j) {
      c.check(overrides[i].status != overrides[j].status, key(path, "code"),
              "repeats status " + std::to_string(overrides[i].status) + " of " + element("policy.classify.status", j));
    }
  }
}

constexpr std::array<std::string_view, kOutcomeClassCount> kOutcomeClassNames = {
    "success",    "transient",  "rate_limited", "timeout",   "caller_error",
    "capability", "credential", "malformed",    "cancelled",
};
static_assert(static_cast<std::size_t>(OutcomeClass::cancelled) + 1 == kOutcomeClassCount);

}  // namespace

std::optional<Index> ProviderConfig::model_index(std::string_view id) const {
  FAILOVER_ASSERT(models.size() < kNoIndex);
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (models[i].id == id) return static_cast<Index>(i);
  }
  return std::nullopt;
}

std::optional<Index> Config::provider_index(std::string_view name) const {
  return find_by_name(providers, name);
}

std::optional<Index> Config::route_index(std::string_view name) const {
  return find_by_name(routes, name);
}

std::optional<Index> Config::tier_index(std::string_view name) const {
  return find_by_name(tiers, name);
}

Index Config::intern_target(Index provider, Index model) {
  FAILOVER_ASSERT(provider < providers.size());
  FAILOVER_ASSERT(model < providers[provider].models.size());
  const TargetKey wanted{provider, model};
  const auto found = std::find(targets.begin(), targets.end(), wanted);
  if (found != targets.end()) return static_cast<Index>(found - targets.begin());
  FAILOVER_ASSERT(targets.size() < kNoIndex - 1);
  targets.push_back(wanted);
  return static_cast<Index>(targets.size() - 1);
}

const ProviderConfig& Config::provider_of(Index target) const {
  FAILOVER_ASSERT(target < targets.size());
  FAILOVER_ASSERT(targets[target].provider < providers.size());
  return providers[targets[target].provider];
}

Status validate(const Config& config) {
  Checks c;
  // Sizes and references first: the quadratic and chain checks rely on them.
  check_providers(c, config);
  if (!c.failed()) check_targets(c, config);
  if (!c.failed()) check_routes(c, config);
  if (!c.failed()) check_tiers(c, config);
  check_breaker(c, config.policy.breaker);
  check_retry(c, config.policy.retry);
  check_limits(c, config.policy);
  check_classify(c, config.policy.classify);
  return c.status();
}

std::string_view to_string(OutcomeClass c) {
  const auto i = static_cast<std::size_t>(c);
  FAILOVER_ASSERT(i < kOutcomeClassCount);
  return kOutcomeClassNames[i];
}

std::optional<OutcomeClass> outcome_class_from(std::string_view name) {
  for (std::size_t i = 0; i < kOutcomeClassCount; ++i) {
    if (kOutcomeClassNames[i] == name) return static_cast<OutcomeClass>(i);
  }
  return std::nullopt;
}

}  // namespace failover

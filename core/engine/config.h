// The configuration the engine runs with: providers and their models (prices,
// context windows, limits), routes (ordered fallback chains of targets), tiers
// (request classes that select a route) and the policy blocks. One schema serves
// live mode and scenarios; core/config/ loads it from TOML, and validate() below is
// the single place that decides what a usable Config is. Standard library only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/assert.h"
#include "core/engine/ratio.h"
#include "core/engine/result.h"
#include "core/engine/time.h"

namespace failover {

using Index = std::uint32_t;
inline constexpr Index kNoIndex = 0xffff'ffffU;

// Hard limits on every table (STYLE §4): checked by validate(), so nothing grows
// without bound at run time.
inline constexpr std::size_t kProvidersMax = 32;
inline constexpr std::size_t kModelsPerProviderMax = 32;
inline constexpr std::size_t kRoutesMax = 64;
inline constexpr std::size_t kTargetsPerRouteMax = 16;
inline constexpr std::size_t kTiersMax = 64;
inline constexpr std::size_t kTargetsMax = 256;
inline constexpr std::int32_t kAttemptsMax = 16;
inline constexpr std::int32_t kQueueDepthMax = 1'000'000;
inline constexpr std::int32_t kInflightMax = 100'000;

enum class Protocol : std::uint8_t { openai, anthropic };

// Prices are micro-USD per million tokens: "$15.00 / 1M tokens" is 15'000'000.
struct ModelConfig {
  std::string id;  // the provider's model id, sent on the wire
  std::int64_t input_micro_usd_per_mtok = 0;
  std::int64_t output_micro_usd_per_mtok = 0;
  std::int64_t context_window_tokens = 0;  // 0: unknown, no pre-call check

  friend bool operator==(const ModelConfig&, const ModelConfig&) = default;
};

struct ProviderConfig {
  std::string name;
  std::string base_url;
  Protocol protocol = Protocol::openai;
  std::string api_key_env;            // the *name* of an environment variable, never a key
  std::int32_t concurrency_max = 64;  // attempts in flight at once (bulkhead)
  std::int64_t rpm_max = 0;           // client-side requests/minute; 0: no limit
  std::int64_t tpm_max = 0;           // client-side tokens/minute; 0: no limit
  std::vector<ModelConfig> models;

  [[nodiscard]] std::optional<Index> model_index(std::string_view id) const;
};

// A (provider, model) pair; the engine keeps breaker and health state per target.
struct TargetKey {
  Index provider = kNoIndex;
  Index model = kNoIndex;
  friend bool operator==(const TargetKey&, const TargetKey&) = default;
};

struct RouteTarget {
  Index target = kNoIndex;    // index into Config::targets
  std::int32_t priority = 0;  // lower is tried first
  std::int32_t weight = 1;    // weighted choice among eligible targets of one priority
};

enum class Selection : std::uint8_t {
  priority,       // first eligible priority level, weighted choice within it
  least_latency,  // lowest EWMA latency within the first eligible priority level
  cheapest,       // cheapest eligible target of the whole route (estimated cost)
};

struct RouteConfig {
  std::string name;
  std::vector<RouteTarget> targets;
  Selection selection = Selection::priority;
  Duration hedge_after{0};               // 0: no hedging on this route
  bool stream_resume = false;            // may a stream that already started resume elsewhere?
  Index capability_fallback = kNoIndex;  // route for context-length / content-policy refusals
};

struct TierConfig {
  std::string name;
  Index route = kNoIndex;
  Index downgrade_to = kNoIndex;  // tier used when the cost budget runs out (on_exhausted = downgrade)
};

// How an attempt ended, decided once (see outcome.h).
enum class OutcomeClass : std::uint8_t {
  success,
  transient,     // 5xx, 529, reset, connect failure
  rate_limited,  // 429
  timeout,       // connect, first byte, idle, total
  caller_error,  // 400, 413, 422: the request itself is wrong
  capability,    // context-length or content-policy refusal
  credential,    // 401, 403, 404: the target is misconfigured
  malformed,     // 2xx whose body does not decode, or a stream cut short
  cancelled,
};
inline constexpr std::size_t kOutcomeClassCount = 9;

// What the provider did, by class: facts, not policy, so no setting changes them.
// accepted: the provider took the call (adaptive throttling counts it as an accept);
// billing: what an attempt that ended so may have cost.
enum class Billing : std::uint8_t {
  usage,              // billed: its reported usage, or the reservation when none came
  none,               // refused before any work: nothing billed
  possibly,           // may have been billed without an answer: counted at the worst case
  possibly_if_begun,  // as `possibly` once a byte came back, else none
};
struct ClassFacts {
  bool accepted = false;
  Billing billing = Billing::none;
};
inline constexpr std::array<ClassFacts, kOutcomeClassCount> kClassFacts{{
    {true, Billing::usage},               // success
    {false, Billing::none},               // transient
    {false, Billing::none},               // rate_limited
    {false, Billing::possibly},           // timeout
    {true, Billing::none},                // caller_error
    {true, Billing::none},                // capability
    {false, Billing::none},               // credential
    {false, Billing::possibly_if_begun},  // malformed
    {false, Billing::possibly},           // cancelled
}};

// What one class of outcome does -- the policy, and the only place the engine reads
// it from. retry: the request may try again; health: it counts as a failure for the
// target's breaker; fallback: the next attempt prefers another target (for a
// capability refusal: moves to the route's capability_fallback).
struct ClassEffect {
  bool retry = true;
  bool health = true;
  bool fallback = true;
};

struct StatusOverride {
  std::int32_t status = 0;
  OutcomeClass cls = OutcomeClass::transient;
};

struct ClassifyPolicy {
  std::vector<StatusOverride> status_overrides;  // wins over the built-in table
  std::array<ClassEffect, kOutcomeClassCount> effects = default_effects();

  static constexpr std::array<ClassEffect, kOutcomeClassCount> default_effects() {
    return {{
        {false, false, false},  // success
        {true, true, true},     // transient
        {true, false, true},    // rate_limited: back-pressure, not ill health (blocked-until handles it)
        {true, true, true},     // timeout
        {false, false, false},  // caller_error: never retried, never penalises the target
        {true, false, true},    // capability: moves to the capability route
        {true, false, true},    // credential: fails over; the target is marked misconfigured
        {true, true, true},     // malformed
        {false, false, false},  // cancelled
    }};
  }
};

struct BreakerPolicy {
  std::int32_t consecutive_failures = 5;  // 0: rule off
  Ratio failure_rate{50, 100};            // over the sliding window; 0/1: rule off
  std::int32_t window_calls_min = 20;
  Duration window = sec(30);
  Duration slow_call_threshold{0};  // time to first byte; 0: rule off
  Ratio slow_call_rate{80, 100};
  Duration open_base = sec(5);             // open time = base x 2^(consecutive trips - 1), capped
  Duration open_max = minutes(1);          // the longest a recovered target waits to be probed
  Duration healthy_period = minutes(5);    // each healthy period forgives one trip
  std::int32_t half_open_probes = 1;       // probes admitted; all must succeed to close
  std::int32_t min_available_targets = 1;  // a trip may not leave a route with fewer

  friend bool operator==(const BreakerPolicy&, const BreakerPolicy&) = default;
};

enum class Backoff : std::uint8_t { none, full_jitter, decorrelated_jitter };

struct RetryPolicy {
  std::int32_t attempts_max = 3;  // per request, the first and hedges included
  Backoff backoff = Backoff::full_jitter;
  Duration backoff_base = ms(100);
  Duration backoff_max = sec(10);
  Ratio budget_ratio{20, 100};              // retries may add this share of requests...
  std::int32_t budget_min_per_second = 10;  // ...plus this floor per second
  std::int32_t budget_max = 100;            // tokens the bucket holds at most
  Duration retry_after_max = sec(60);       // longer than this: fail over, do not wait
  Ratio retry_after_jitter{10, 100};        // blocked-until spread so the herd does not return at once
  bool adaptive_throttle = false;           // Google SRE client-side throttling
  std::int32_t throttle_k_milli = 2'000;    // K = 2
  Duration throttle_window = minutes(2);
};

struct TimeoutPolicy {
  Duration request = sec(60);     // end-to-end deadline of a request that carries none
  Duration attempt = sec(30);     // total time of one attempt
  Duration first_byte = sec(15);  // until the first byte; 0: off
  Duration connect = sec(10);     // TCP connect + TLS handshake; the live transport's own timer (the engine ignores it)
};

enum class WhenUnavailable : std::uint8_t { wait, fail };

// The order a route's queue is served in. Adaptive LIFO (Facebook, "Fail at Scale",
// ACM Queue 2015): first in, first out while the queue drains; once its oldest request
// has spent lifo_share (90%) of the time it had left when it joined the queue (and at
// least lifo_after) waiting -- a standing queue -- the newest goes first, so the requests
// that can still meet their deadline are served instead of those that are nearly too
// late, and the oldest end at their deadline. The trigger is late in the deadline, not a
// fixed wait: any earlier switch starves the oldest requests of a spike that FIFO drains
// inside the callers' deadline (a fixed 5 s did, explore liveness-429-burst seed 8 draw
// 38; so did half the time left, a spike draining in 45 s of 60), while a queue whose
// head has burnt 90% of its time is one FIFO is about to serve too late.
enum class Discipline : std::uint8_t { fifo, adaptive_lifo };

struct QueuePolicy {
  std::int32_t depth_max = 10'000;     // requests waiting to be sent
  std::int32_t requests_max = 20'000;  // requests held at once in any state
  WhenUnavailable when_unavailable = WhenUnavailable::wait;
  Discipline discipline = Discipline::adaptive_lifo;
  Ratio lifo_share{9, 10};  // adaptive_lifo: a head that has waited this share of its time left...
  Duration lifo_after{0};   // ...and at least this long means a standing queue
};

struct ConcurrencyPolicy {
  std::int32_t inflight_max = 1'024;  // attempts in flight across all providers
  // Adaptive limit per provider (AIMD with slow start, as TCP Reno's congestion window
  // and Netflix's concurrency-limits): a 429 lowers the provider's limit to 90% of what
  // it had in flight (once per round trip) and growth slows there; while the provider is
  // busy and answering, the limit grows by one per success up to that mark (doubling
  // per round trip) and by one per round trip beyond it, up to concurrency_max. A
  // breaker closing restarts it low. A provider that sheds load is sent about what it
  // can take, and one coming back is ramped, not flooded.
  bool adaptive = true;
};

enum class BudgetExhausted : std::uint8_t { downgrade, reject, report };

struct CostPolicy {
  std::int64_t budget_micro_usd = 0;  // per window; 0: no budget
  Duration budget_window = minutes(60);
  BudgetExhausted on_exhausted = BudgetExhausted::report;
};

struct HealthPolicy {
  Ratio ewma_weight{2, 10};  // weight of a new latency sample
  // A latency estimate halves for every half-life without a new sample (0: never), so
  // a target skipped as too slow -- which therefore gets no samples -- is tried again.
  Duration ewma_idle_half_life = sec(10);
  Duration misconfigured_cooldown = minutes(5);  // a 401/403/404 target rests this long
};

struct Policy {
  BreakerPolicy breaker;
  RetryPolicy retry;
  TimeoutPolicy timeouts;
  QueuePolicy queue;
  ConcurrencyPolicy concurrency;
  CostPolicy cost;
  HealthPolicy health;
  ClassifyPolicy classify;
};

struct Config {
  std::vector<ProviderConfig> providers;
  std::vector<TargetKey> targets;  // every (provider, model) a route names, each once
  std::vector<RouteConfig> routes;
  std::vector<TierConfig> tiers;
  Policy policy;

  [[nodiscard]] std::optional<Index> provider_index(std::string_view name) const;
  [[nodiscard]] std::optional<Index> route_index(std::string_view name) const;
  [[nodiscard]] std::optional<Index> tier_index(std::string_view name) const;
  // The target for (provider, model), adding it to `targets` if it is new.
  Index intern_target(Index provider, Index model);
  // Inline: the engine asks it on every routing decision (context window, prices).
  [[nodiscard]] const ModelConfig& model(Index target) const {
    FAILOVER_ASSERT(target < targets.size());
    const TargetKey& key = targets[target];
    FAILOVER_ASSERT(key.provider < providers.size());
    FAILOVER_ASSERT(key.model < providers[key.provider].models.size());
    return providers[key.provider].models[key.model];
  }
  [[nodiscard]] const ProviderConfig& provider_of(Index target) const;
};

// Checks every limit, reference and value; the error names the key path.
Status validate(const Config& config);

std::string_view to_string(OutcomeClass c);
std::optional<OutcomeClass> outcome_class_from(std::string_view name);

}  // namespace failover

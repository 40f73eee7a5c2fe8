// Scenario: what one outage replay is -- where its numbers come from, how long it
// runs and on which seeds, the traffic, the fleet and its faults, the application's
// buffer, the policy under test and the baselines beside it, and what must hold.
// Loading it from TOML is scenario_load.h's; running it, expect.h's; drawing it,
// report.h's. This header also decides how the `direct` and `case-study` baselines
// are derived from the policy under test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/ratio.h"
#include "core/engine/time.h"
#include "sim/fleet.h"
#include "sim/simulation.h"
#include "sim/traffic.h"

namespace failover::sim {

inline constexpr std::size_t kSeedsMax = 1'000;
inline constexpr std::size_t kPoliciesMax = 16;
inline constexpr std::size_t kExpectationsMax = 256;

// One policy run side by side with the others on the same traffic and fleet.
struct NamedPolicy {
  std::string name;  // "policy" for the one under test; "direct", "case-study", or a custom name
  Config config;     // validated; same providers and targets as the scenario's
  std::string description;
};

// An expectation: a metric compared with a bound, for one policy (or all).
enum class Metric : std::uint8_t {
  availability,   // succeeded / arrived, over the replayed window
  dropped,        // requests dropped (buffer full + engine drops)
  overflow_at,    // minutes from `overflow_from` to the first buffer overflow (none: +inf)
  failover_time,  // seconds from a fault's start to the first bucket back above 99% success
  recovery_time,  // seconds from the last fault's end to recovery (breakers closed, backlog drained, success >= 99%)
  latency_p50,
  latency_p90,
  latency_p99,
  latency_p999,          // milliseconds, end to end
  attempts_per_request,  // attempts / arrived
  breaker_trips,         // total breaker openings
  cost_usd,              // total spend
  cost_ratio,            // spend / the all-primary plan's spend
  failed,                // requests that ended failed
};
inline constexpr std::size_t kMetricCount = 14;

// The metric's name as written in a scenario file ("availability", "latency_p99"...).
std::string_view metric_name(Metric metric);
std::optional<Metric> metric_from(std::string_view name);

enum class Bound : std::uint8_t { at_least, at_most, between, none_ };  // none_: "must not happen" (overflow_at)

struct Expectation {
  std::string policy;  // which policy it applies to
  Metric metric = Metric::availability;
  Bound bound = Bound::at_least;
  double lo = 0.0;   // at_least / between
  double hi = 0.0;   // at_most / between
  std::string text;  // as written in the scenario, for the report
};

// The bounds of `failover explore` (the scenario's optional [explore] table,
// docs/explore.md): which faults a draw may add, on which providers, how many at once,
// where and how strong, and how far traffic, token sizes, capacity and the horizon may
// move; plus the oracles' knobs. Multipliers are in permille, shares in ppm, so every
// draw is integer arithmetic. `failover run` ignores it.
struct ExploreSpec {
  std::vector<FaultKind> kinds;      // empty: every kind (rate_limit only on providers with limits)
  std::vector<Index> providers;      // may fail; empty: every provider
  std::int64_t faults_max = 3;       // faults in one draw, 1..16
  bool keep_healthy = true;          // every route keeps one target no fault touches
  Duration start_lo{0};              // fault starts in [start_lo, start_hi]
  std::optional<Duration> start_hi;  // empty: as late as the horizon allows
  Duration fault_duration_lo = sec(30);
  Duration fault_duration_hi = minutes(30);
  std::int64_t intensity_lo_ppm = 50'000;  // 5%
  std::int64_t intensity_hi_ppm = 1'000'000;
  std::int64_t rate_lo_permille = 500;  // traffic rate multiplier
  std::int64_t rate_hi_permille = 1'500;
  std::int64_t spike_chance_ppm = 200'000;  // a steady schedule becomes a spike
  std::int64_t spike_lo_permille = 1'500;   // the spike's peak, as a multiple of the rate
  std::int64_t spike_hi_permille = 3'000;
  std::int64_t tokens_lo_permille = 750;  // prompt and output token sizes
  std::int64_t tokens_hi_permille = 1'500;
  std::int64_t capacity_lo_permille = 500;  // providers' simulated concurrency_max
  std::int64_t capacity_hi_permille = 1'000;
  std::optional<Duration> horizon_lo;  // scenario.duration; empty: the base's
  std::optional<Duration> horizon_hi;
  Duration recovery = minutes(10);            // `recovers`: the bound after the last fault
  std::int64_t cost_factor_permille = 2'000;  // `cost`: at most k x the all-primary plan
  std::int64_t harm_tolerance_ppm = 1'000;    // `do-no-harm`: 0.1 point of availability
};

struct Scenario {
  std::string name;  // file stem
  std::string title;
  std::string description;  // what it replays
  std::string source;       // where its numbers come from
  std::string path;         // the file it was loaded from
  std::string config_path;  // [scenario] config: the live config its providers and policy come from; empty: none
  Duration duration{0};
  std::vector<std::uint64_t> seeds;
  Time overflow_from = kTimeZero;  // overflow_at is measured from here (the storm's start)
  TrafficSpec traffic;
  std::vector<ProviderSpec> providers;  // parallel to every policy's config.providers
  BufferSpec buffer;
  std::vector<NamedPolicy> policies;  // the policy under test first
  std::vector<Expectation> expectations;
  std::int64_t cost_budget_micro_usd = 0;  // for the report's cumulative-cost chart; 0: none
  Duration bucket = sec(10);               // resolution of the time series
  ExploreSpec explore;                     // [explore], or its defaults
  bool has_explore = false;                // the file has an [explore] table

  // What one run of `policy` on `seed` simulates. Precondition: `policy` is one of
  // this scenario's policies (its providers match `providers`).
  [[nodiscard]] RunSpec run_spec(const NamedPolicy& policy, std::uint64_t seed) const;
  // The policy of that name, or null.
  [[nodiscard]] const NamedPolicy* find_policy(std::string_view policy_name) const;
  // The earliest fault start, or empty without faults; the latest fault end likewise.
  [[nodiscard]] std::optional<Time> first_fault_start() const;
  [[nodiscard]] std::optional<Time> last_fault_end() const;
};

// The `direct` baseline: the application calling one provider with no failover. Each
// route keeps only its first target (lowest priority, then file order) and no
// capability fallback; one attempt per request, no hedging, both breaker rules off, no
// cost budget; the consumer waits as long as it takes (request deadline of 31 days);
// the engine's queue is as large as the application's buffer. Timeouts per attempt,
// client-side limits and targets (so indices match the policy's) are kept.
Config direct_baseline(const Config& policy, const BufferSpec& buffer);

// The `case-study` baseline: the client of the 2026-05-08 case study, as far as the
// engine can express it. Priority order over each route's targets; a breaker opening
// after 5 consecutive failures for 30 s, then letting every request through
// (half_open_probes at the maximum); its declared 10% error-rate threshold unused;
// every non-2xx outcome -- 4xx and 429 included -- counted as a failure and failed
// over; no retry budget, no backoff, Retry-After ignored; attempts = the longest
// route's target count; 30 s per attempt, no first-byte timeout, no overall deadline;
// a global semaphore of 100 and no per-provider limits; no cost budget. Model ids stay
// correct per provider (the case study's relay maps them).
Config case_study_baseline(const Config& policy, const BufferSpec& buffer);

}  // namespace failover::sim
